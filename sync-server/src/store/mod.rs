//! The server's storage behind one trait, so a PostgreSQL store can join the SQLite one.
//!
//! - [`Store`]: what the HTTP API and the staff commands need, nothing backend-specific.
//! - [`model`]: the records the trait speaks in.
//! - [`staff`]: what the staff web app keeps (accounts, sessions, the audit log), a
//!   supertrait of [`Store`] with its own records, and [`audit_chain`]: the audit log's hash
//!   chain, its encoding and its walk, the same for every backend; [`review`]: review state, actions, the
//!   inbox and the working-day calendar, another; [`ratings`]: ratings counted for the
//!   dashboard and the follow-ups of bad ones, a third.
//! - [`releases`]: booth releases (their verified bundles' names and manifests) and rollouts,
//!   another supertrait.
//! - [`attachments`]: the files submissions list and the state of their uploads, another
//!   supertrait.
//! - [`content`]: guide drafts, published guide versions and notices as staff edit them,
//!   another supertrait.
//! - [`catalog_cache`]: catalogue feed pages kept in the process while the catalogue's
//!   version holds, for the booths that all read it.
//! - [`fleet_summaries`]: the fleet page's counts and alert list, kept a short while per
//!   scope (they read every booth of the scope).
//! - [`paging`]: the keys the staff lists page by (never an offset).
//! - [`sqlite`]: the default backend (one writer thread that batches commits, WAL, read
//!   connections).
//! - [`transfer`]: whole stores moved: SQLite into PostgreSQL (`migrate-store`), backups and
//!   restores, and the per-table digests that compare two stores.
//! - `conformance`: the behaviour every backend must show, run as tests against each (only
//!   in tests and behind the `conformance` feature).
//!
//! Why an async trait returning boxed futures: a PostgreSQL client is async, and the server
//! holds the store as `Arc<dyn Store>` so the backend is picked at start-up; `async fn` in a
//! trait is not object-safe, and boxing one future per call costs nothing next to the I/O.
//!
//! Rules for backends, so nothing above the trait depends on SQLite:
//! - Times are `DateTime<Utc>` with millisecond precision: a backend returns what it stored,
//!   so a duplicate's `received_at` equals the original's to the millisecond.
//! - Feed cursors are opaque strings. A backend must never hand out a cursor past a change that
//!   is not yet visible (SQLite's single writer gives this for free; PostgreSQL needs care with
//!   concurrent transactions, e.g. allocate change numbers under a lock).
//! - `ingest` claims each id and inserts it in one transaction: concurrent requests with the
//!   same id give one `Accepted` and `Duplicate`s.
//! - Enrollment codes are claimed atomically: of two enrollments with one code exactly one wins.
//!   A replacement (claim, new kiosk, old kiosk revoked, submissions and statuses moved) is
//!   one transaction too: the kiosk number has one active holder at any instant.

pub mod attachments;
pub mod audit_chain;
pub mod catalog_cache;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod content;
pub mod fleet_summaries;
pub mod model;
pub mod paging;
pub mod postgres;
pub mod ratings;
pub mod releases;
pub mod review;
pub mod sealed_columns;
pub mod sealing;
pub mod sqlite;
pub mod staff;
pub mod transfer;
pub mod values;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;

use crate::domain::fleet::KioskRecord;

pub use attachments::AttachmentStore;
pub use content::ContentStore;
pub use model::*;
pub use ratings::RatingsStore;
pub use releases::ReleaseStore;
pub use review::ReviewStore;
pub use staff::StaffStore;

/// The review action a supplement's arrival adds to its original's history (not one staff
/// take: `domain::review::Action` has no such action).
pub const SUPPLEMENT_ACTION: &str = "supplement_received";

/// The review action a phone upload adds to its application's history (its actor
/// [`PHONE_UPLOAD_ACTOR`], its comment the number of pages).
pub const PHONE_UPLOAD_ACTION: &str = "phone_upload";
/// Who the history says acted for a phone upload: the villager's phone, no one by name.
pub const PHONE_UPLOAD_ACTOR: &str = "phone";

/// What every store call returns.
pub type StoreResult<T> = Result<T, StoreError>;
/// The future of a store call; `'a` borrows the store and the arguments.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Why a store call failed. Cloneable, because one failed commit answers every job in it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    #[error("the store failed to {operation}: {source}")]
    Backend {
        operation: &'static str,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    #[error("the store holds a row it cannot read ({what}): the database was changed by hand")]
    Corrupt { what: String },
    #[error("feed cursor `{0}` is not one this server issued: restart the feed without `after`")]
    InvalidCursor(String),
    #[error("the store's writer has stopped: restart the server")]
    WriterStopped,
    #[error(
        "the store's schema version {found} is newer than this program's {supported}: upgrade sync-server"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error(
        "the store's schema version {found} is older than this program's {supported}: let this \
         sync-server open it once to migrate it (any staff command does), then try again"
    )]
    SchemaTooOld { found: i64, supported: i64 },
    #[error("the store was opened read-only and cannot {operation}")]
    ReadOnly { operation: &'static str },
    /// A sealed value that does not open: the wrong key file, or a row changed by hand.
    #[error("cannot open the sealed {place}: {source}")]
    Unsealable {
        place: String,
        #[source]
        source: sealing::SealError,
    },
    #[error(
        "the key file does not belong to this database ({detail}): pass the key file this database was sealed with (--key-file or SYNC_SERVER_KEY_FILE)"
    )]
    KeysDoNotMatch { detail: String },
}

impl StoreError {
    pub fn backend(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            operation,
            source: Arc::new(source),
        }
    }
}

/// Everything the server keeps. Methods take `now` where time matters, so tests and every
/// backend agree on it.
pub trait Store:
    StaffStore
    + ReviewStore
    + ContentStore
    + RatingsStore
    + ReleaseStore
    + AttachmentStore
    + Send
    + Sync
    + 'static
{
    /// The install's identity, generated once when the store is created.
    fn server_id(&self) -> StoreFuture<'_, String>;

    // ── enrollment and kiosks ──

    /// Stores a new one-time code (its `code_key`, never the code itself).
    fn create_enroll_code(&self, code: NewEnrollCode) -> StoreFuture<'_, ()>;
    /// Claims the code and creates the kiosk, atomically: with the next kiosk number, or
    /// taking over the number, submissions and statuses feed of the kiosk it replaces (see
    /// [`Replacement`] for when). Submissions keep the village they were handed in at, and
    /// so their scope, wherever the booth is enrolled next. A code already used by the same public key answers
    /// [`Enrollment::Repeated`] with that kiosk and changes nothing.
    fn enroll_kiosk(
        &self,
        claim: EnrollClaim,
    ) -> StoreFuture<'_, Result<Enrollment, EnrollRefusal>>;
    /// By number: the number's active kiosk, else the one enrolled last.
    fn find_kiosk<'a>(&'a self, kiosk: &'a KioskRef) -> StoreFuture<'a, Option<KioskRecord>>;
    /// All kiosks, by kiosk number (a replaced kiosk before the one that took its number).
    fn list_kiosks(&self) -> StoreFuture<'_, Vec<KioskRecord>>;
    /// By number: revokes the number's active kiosk.
    fn revoke_kiosk<'a>(
        &'a self,
        kiosk: &'a KioskRef,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, RevokeOutcome>;
    /// Records that a kiosk made a verified request.
    fn touch_kiosk<'a>(&'a self, kiosk_id: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ()>;
    /// Keeps the latest heartbeat (and counts as seen).
    fn record_heartbeat<'a>(
        &'a self,
        kiosk_id: &'a str,
        heartbeat: &'a Heartbeat,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;

    // ── submissions ──

    /// Claims and stores each item (one result per item, in order); a new one gets status
    /// `received` and an entry in the kiosk's statuses feed.
    ///
    /// A supplement (`supplement_to`) is stored only when its original is held (or is an
    /// earlier item of the batch) and is an application of the same item, whatever the
    /// original's status; it is linked to the original's case (the first original when it
    /// names another supplement), and the original's review history gets a
    /// [`SUPPLEMENT_ACTION`] entry in the same transaction. Otherwise it is
    /// [`IngestOutcome::Refused`] and nothing is stored.
    fn ingest<'a>(
        &'a self,
        kiosk_id: &'a str,
        items: Vec<IngestItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Vec<IngestOutcome>>;
    /// Newest first; cases only (no supplements: they are listed with their case).
    fn list_submissions<'a>(
        &'a self,
        filter: &'a SubmissionFilter,
    ) -> StoreFuture<'a, Vec<SubmissionRecord>>;
    fn find_submission<'a>(
        &'a self,
        submission: &'a SubmissionRef,
    ) -> StoreFuture<'a, Option<SubmissionRecord>>;
    /// Every status change of one submission, oldest first.
    fn submission_history(&self, id: uuid::Uuid) -> StoreFuture<'_, Vec<StatusChange>>;
    /// The supplements that joined `original`'s case, newest first, at most `limit`.
    fn supplements(
        &self,
        original: uuid::Uuid,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SubmissionRecord>>;
    /// Sets the status and appends the change to the owning kiosk's statuses feed; `None` when
    /// no such submission exists.
    fn set_status<'a>(
        &'a self,
        submission: &'a SubmissionRef,
        status: SubmissionStatus,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<StatusChange>>;

    // ── feeds ──

    /// Replaces the catalogue with `items` (their `version` and `withdrawn` are ignored):
    /// changed items get the next version, missing ones are withdrawn.
    fn import_catalog(
        &self,
        items: Vec<CatalogItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, ImportReport>;
    fn add_notice(&self, notice: NewNotice, now: DateTime<Utc>) -> StoreFuture<'_, Notice>;
    fn catalog_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<CatalogItem>>;
    /// The catalogue feed's newest change number, 0 while it is empty: every change the feed
    /// shows raises it, so a page read at one version is still the page while the version
    /// holds. One index lookup ([`catalog_cache`] asks it instead of reading pages).
    fn catalog_version(&self) -> StoreFuture<'_, i64>;
    /// Notices for every village and those naming `village`.
    fn notices_page<'a>(
        &'a self,
        village: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<Notice>>;
    /// Status changes of `kiosk_id`'s own submissions.
    fn statuses_page<'a>(
        &'a self,
        kiosk_id: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<StatusChange>>;

    /// Counts for `/metrics`.
    fn stats(&self) -> StoreFuture<'_, StoreStats>;

    // ── sealing ──

    /// What opening sealed or re-sealed.
    fn sealed_at_open(&self) -> sealed_columns::SealReport;
    /// The at-rest keys this store seals with, for what it keeps outside its tables (the file
    /// shelf's files).
    fn at_rest_keys(&self) -> Arc<sealing::KeyRing>;
    /// How many stored values at-rest key `key_id` still opens: a key can leave the key file
    /// once this is zero.
    fn count_sealed_with(&self, key_id: u32) -> StoreFuture<'_, u64>;
}
