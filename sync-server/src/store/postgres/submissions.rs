#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;

use crate::store::sealing::KeyRing;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::PostgresStore;
use crate::domain::fleet::KioskRecord;
use crate::store::*;

pub(super) async fn ingest(
    store: &PostgresStore,
    kiosk_id: &str,
    items: Vec<IngestItem>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    Err(super::not_yet("ingest"))
}

pub(super) async fn list_submissions(
    store: &PostgresStore,
    filter: &SubmissionFilter,
) -> StoreResult<Vec<SubmissionRecord>> {
    Err(super::not_yet("list_submissions"))
}

pub(super) async fn find_submission(
    store: &PostgresStore,
    submission: &SubmissionRef,
) -> StoreResult<Option<SubmissionRecord>> {
    Err(super::not_yet("find_submission"))
}

pub(super) async fn submission_history(
    store: &PostgresStore,
    id: uuid::Uuid,
) -> StoreResult<Vec<StatusChange>> {
    Err(super::not_yet("submission_history"))
}

pub(super) async fn set_status(
    store: &PostgresStore,
    submission: &SubmissionRef,
    status: SubmissionStatus,
    note: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<Option<StatusChange>> {
    Err(super::not_yet("set_status"))
}

// ── shared with the other modules (feeds, review, ratings) ──

/// The columns [`record`] reads, from `submissions s JOIN kiosks k USING (kiosk_id)`.
pub(super) const RECORD_COLUMNS: &str = "s.id, s.body, s.kiosk_id, k.kiosk_number, s.status, \
     s.received_at, s.status_changed_at";
/// How many columns [`RECORD_COLUMNS`] has: the columns after it start here.
pub(super) const RECORD_WIDTH: usize = 7;

/// The submission in a row selected with [`RECORD_COLUMNS`] first, its body opened.
pub(super) fn record(row: &Row, keys: &KeyRing) -> StoreResult<SubmissionRecord> {
    Err(super::not_yet("submissions::record"))
}

/// Appends a change to the statuses feed of `kiosk_id` (taking that kiosk number's feed lock,
/// so take it before the audit chain's), its note sealed to the change's number.
pub(super) async fn append_status_change(
    client: &impl GenericClient,
    keys: &KeyRing,
    change: &StatusChange,
    kiosk_id: &str,
) -> StoreResult<()> {
    Err(super::not_yet("submissions::append_status_change"))
}

pub(super) fn parse_status(text: &str) -> StoreResult<SubmissionStatus> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: format!("status `{text}`"),
    })
}
