#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;

use deadpool_postgres::GenericClient;

use super::PostgresStore;
use crate::domain::fleet::KioskRecord;
use crate::store::*;

pub(super) async fn import_catalog(
    store: &PostgresStore,
    items: Vec<CatalogItem>,
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    Err(super::not_yet("import_catalog"))
}

pub(super) async fn add_notice(
    store: &PostgresStore,
    notice: NewNotice,
    now: DateTime<Utc>,
) -> StoreResult<Notice> {
    Err(super::not_yet("add_notice"))
}

pub(super) async fn catalog_page(
    store: &PostgresStore,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<CatalogItem>> {
    Err(super::not_yet("catalog_page"))
}

pub(super) async fn notices_page(
    store: &PostgresStore,
    village: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<Notice>> {
    Err(super::not_yet("notices_page"))
}

pub(super) async fn statuses_page(
    store: &PostgresStore,
    kiosk_id: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<StatusChange>> {
    Err(super::not_yet("statuses_page"))
}

// ── shared with content ──

/// Who `catalog_versions` names for a version that came from `sync-server catalog import`.
pub(super) const IMPORTED_BY: &str = "import";

/// The next change number of `feed` ("catalog" or "notices"); the caller holds the feed's lock.
pub(super) async fn next_seq(client: &impl GenericClient, feed: &str) -> StoreResult<i64> {
    Err(super::not_yet("feeds::next_seq"))
}

/// Puts `item` (version and withdrawal decided) in the catalogue feed with a new change number
/// and records the version in its history; takes the catalogue's feed lock.
pub(super) async fn publish_item(
    client: &impl GenericClient,
    item: &CatalogItem,
    now: DateTime<Utc>,
    published_by: &str,
) -> StoreResult<()> {
    Err(super::not_yet("feeds::publish_item"))
}

/// Stores a notice with the notices feed's next number (inside the caller's transaction).
pub(super) async fn insert_notice(
    client: &impl GenericClient,
    notice: NewNotice,
    now: DateTime<Utc>,
) -> StoreResult<Notice> {
    Err(super::not_yet("feeds::insert_notice"))
}
