#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;

use crate::domain::access::Scope;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use crate::domain::fleet::KioskRecord;
use crate::store::*;

pub(super) async fn server_id(store: &PostgresStore) -> StoreResult<String> {
    Err(super::not_yet("server_id"))
}

pub(super) async fn create_enroll_code(
    store: &PostgresStore,
    code: NewEnrollCode,
) -> StoreResult<()> {
    Err(super::not_yet("create_enroll_code"))
}

pub(super) async fn enroll_kiosk(
    store: &PostgresStore,
    claim: EnrollClaim,
) -> StoreResult<Result<Enrollment, EnrollRefusal>> {
    Err(super::not_yet("enroll_kiosk"))
}

pub(super) async fn find_kiosk(
    store: &PostgresStore,
    kiosk: &KioskRef,
) -> StoreResult<Option<KioskRecord>> {
    Err(super::not_yet("find_kiosk"))
}

pub(super) async fn list_kiosks(store: &PostgresStore) -> StoreResult<Vec<KioskRecord>> {
    Err(super::not_yet("list_kiosks"))
}

pub(super) async fn revoke_kiosk(
    store: &PostgresStore,
    kiosk: &KioskRef,
    now: DateTime<Utc>,
) -> StoreResult<RevokeOutcome> {
    Err(super::not_yet("revoke_kiosk"))
}

pub(super) async fn touch_kiosk(
    store: &PostgresStore,
    kiosk_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    Err(super::not_yet("touch_kiosk"))
}

pub(super) async fn record_heartbeat(
    store: &PostgresStore,
    kiosk_id: &str,
    heartbeat: &Heartbeat,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    Err(super::not_yet("record_heartbeat"))
}

pub(super) async fn stats(store: &PostgresStore) -> StoreResult<StoreStats> {
    Err(super::not_yet("stats"))
}

// ── shared with the other modules (staff, releases) ──

/// By number: the number's active kiosk, else the one enrolled last.
pub(super) async fn find(
    client: &impl GenericClient,
    kiosk: &KioskRef,
) -> StoreResult<Option<KioskRecord>> {
    Err(super::not_yet("kiosks::find"))
}

/// All kiosks, by number (a replaced kiosk before the one that took its number).
pub(super) async fn list(client: &impl GenericClient) -> StoreResult<Vec<KioskRecord>> {
    Err(super::not_yet("kiosks::list"))
}

/// The kiosks in `scope`, in [`list`]'s order.
pub(super) async fn list_in(
    client: &impl GenericClient,
    scope: &Scope,
) -> StoreResult<Vec<KioskRecord>> {
    Err(super::not_yet("kiosks::list_in"))
}

/// Revokes the number's active kiosk (inside the caller's transaction).
pub(super) async fn revoke(
    client: &impl GenericClient,
    kiosk: &KioskRef,
    now: DateTime<Utc>,
) -> StoreResult<RevokeOutcome> {
    Err(super::not_yet("kiosks::revoke"))
}

/// Stores a new enrollment code (inside the caller's transaction).
pub(super) async fn create_code(
    client: &impl GenericClient,
    code: &NewEnrollCode,
) -> StoreResult<()> {
    Err(super::not_yet("kiosks::create_code"))
}
