//! The embedded SQLite store, the default backend.
//!
//! - [`connection`]: pragmas (WAL, `synchronous=FULL`, foreign keys, busy timeout) and value
//!   conversions.
//! - [`schema`]: versioned migrations.
//! - [`sealed`]: which columns hold sealed personal data, and the pass that seals or re-seals
//!   them under the newest at-rest key when the store opens.
//! - [`writer`]: the single writer thread that batches concurrent write jobs into one commit.
//! - [`readers`]: reused read connections on the blocking pool.
//! - [`kiosks`], [`submissions`], [`feeds`]: the SQL, as plain functions over a connection;
//!   [`staff`]: accounts, sessions and the audit log ([`audit`]: its hash chain), and
//!   [`review`]: review state, inbox and calendar; [`content`]: guide drafts and versions, and
//!   notices as staff edit them; [`ratings`]: rating counts and follow-ups; [`releases`]:
//!   releases, rollouts and their automatic pause; each with its part of the trait.
//!
//! Staff commands open the same file from another process while the server runs: WAL lets
//! their reads run beside the server, the busy timeout queues their writes behind its commits,
//! and the server reads revocations and everything else from the file on every request, so it
//! sees their changes at once.

mod attachments;
mod audit;
mod connection;
mod content;
mod feeds;
mod filter;
mod kiosks;
mod ratings;
mod readers;
mod releases;
mod review;
mod schema;
mod sealed;
mod staff;
mod submissions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange, SubmissionStatus};
use sync_protocol::heartbeat::Heartbeat;

use self::readers::Readers;
use self::writer::Writer;
use super::sealing::KeyRing;
use super::{
    EnrollClaim, EnrollRefusal, Enrollment, ImportReport, IngestItem, IngestOutcome, KioskRef,
    NewEnrollCode, NewNotice, RevokeOutcome, Store, StoreError, StoreFuture, StoreStats,
    SubmissionFilter, SubmissionRecord, SubmissionRef,
};
use crate::domain::fleet::KioskRecord;
pub use crate::store::sealed_columns::SealReport;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = schema::VERSION;

/// A SQLite database file used as the server's store.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Readers,
    keys: Arc<KeyRing>,
    sealed_at_open: SealReport,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`, refuses `keys` if they
    /// are not the database's, brings every personal value under the newest at-rest key
    /// (sealing a database written before sealing existed, finishing a rotation), and starts
    /// the writer. Blocking: call it before serving, or from `spawn_blocking`.
    pub fn open(path: &Path, keys: Arc<KeyRing>) -> Result<Self, StoreError> {
        let mut conn = connection::open_writer(path)?;
        schema::migrate(&mut conn)?;
        let sealed_at_open = sealed::bring_under_newest_key(&mut conn, &keys)?;
        let writer = Writer::start(conn).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            source: Arc::new(e),
        })?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            readers: Readers::new(path),
            keys,
            sealed_at_open,
        })
    }

    /// Opens an existing database only to read it: no migration, no writer (a write answers
    /// [`StoreError::ReadOnly`]), connections opened read-only. For checking a copy of the
    /// database, or the live one beside the server, without changing a byte of it. Its schema
    /// must be this program's.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = connection::open_read_only(path)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(connection::failed("read the schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < SCHEMA_VERSION {
            return Err(StoreError::SchemaTooOld {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            writer: Writer::read_only(),
            readers: Readers::read_only(path),
            // No key file: a read-only store checks what is kept in the clear (the audit
            // chain); a sealed value read through it does not open, as on any copy without
            // its keys.
            keys: Arc::new(KeyRing::generate()),
            sealed_at_open: SealReport::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write jobs queued on the single writer since the store was opened (each waits its
    /// turn behind every other write): tests show with it that a request wrote nothing.
    pub fn write_jobs(&self) -> u64 {
        self.writer.queued()
    }

    /// What opening sealed or re-sealed.
    pub fn sealed_at_open(&self) -> SealReport {
        self.sealed_at_open
    }

    /// How many stored values at-rest key `key_id` still opens: a key can leave the key file
    /// once this is zero.
    pub async fn count_sealed_with(&self, key_id: u32) -> Result<u64, StoreError> {
        self.readers
            .read(move |conn| sealed::count_sealed_with(conn, key_id))
            .await
    }

    fn keys(&self) -> Arc<KeyRing> {
        Arc::clone(&self.keys)
    }
}

impl Store for SqliteStore {
    fn server_id(&self) -> StoreFuture<'_, String> {
        Box::pin(self.readers.read(|conn| {
            conn.query_row(
                "SELECT value FROM meta WHERE key = 'server_id'",
                [],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(connection::failed("read the server id"))?
            .ok_or_else(|| StoreError::Corrupt {
                what: "the server id is missing".into(),
            })
        }))
    }

    fn create_enroll_code(&self, code: NewEnrollCode) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write("store an enrollment code", move |conn| {
            kiosks::create_enroll_code(conn, &code)
        }))
    }

    fn enroll_kiosk(
        &self,
        claim: EnrollClaim,
    ) -> StoreFuture<'_, Result<Enrollment, EnrollRefusal>> {
        Box::pin(
            self.writer
                .write("enroll a kiosk", move |conn| kiosks::enroll(conn, &claim)),
        )
    }

    fn find_kiosk<'a>(&'a self, kiosk: &'a KioskRef) -> StoreFuture<'a, Option<KioskRecord>> {
        let kiosk = kiosk.clone();
        Box::pin(self.readers.read(move |conn| kiosks::find(conn, &kiosk)))
    }

    fn list_kiosks(&self) -> StoreFuture<'_, Vec<KioskRecord>> {
        Box::pin(self.readers.read(kiosks::list))
    }

    fn revoke_kiosk<'a>(
        &'a self,
        kiosk: &'a KioskRef,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, RevokeOutcome> {
        let kiosk = kiosk.clone();
        Box::pin(self.writer.write("revoke a kiosk", move |conn| {
            kiosks::revoke(conn, &kiosk, now)
        }))
    }

    fn touch_kiosk<'a>(&'a self, kiosk_id: &'a str, now: DateTime<Utc>) -> StoreFuture<'a, ()> {
        let kiosk_id = kiosk_id.to_owned();
        Box::pin(
            self.writer
                .write("record when a kiosk was seen", move |conn| {
                    kiosks::touch(conn, &kiosk_id, now)
                }),
        )
    }

    fn record_heartbeat<'a>(
        &'a self,
        kiosk_id: &'a str,
        heartbeat: &'a Heartbeat,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        let kiosk_id = kiosk_id.to_owned();
        let heartbeat = heartbeat.clone();
        Box::pin(self.writer.write("record a heartbeat", move |conn| {
            kiosks::record_heartbeat(conn, &kiosk_id, &heartbeat, now)
        }))
    }

    fn ingest<'a>(
        &'a self,
        kiosk_id: &'a str,
        items: Vec<IngestItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Vec<IngestOutcome>> {
        let kiosk_id = kiosk_id.to_owned();
        let keys = self.keys();
        Box::pin(self.writer.write("store submissions", move |conn| {
            submissions::ingest(conn, &keys, &kiosk_id, &items, now)
        }))
    }

    fn list_submissions<'a>(
        &'a self,
        filter: &'a SubmissionFilter,
    ) -> StoreFuture<'a, Vec<SubmissionRecord>> {
        let filter = filter.clone();
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| submissions::list(conn, &keys, &filter)),
        )
    }

    fn find_submission<'a>(
        &'a self,
        submission: &'a SubmissionRef,
    ) -> StoreFuture<'a, Option<SubmissionRecord>> {
        let submission = submission.clone();
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| submissions::find(conn, &keys, &submission)),
        )
    }

    fn submission_history(&self, id: uuid::Uuid) -> StoreFuture<'_, Vec<StatusChange>> {
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| submissions::history(conn, &keys, id)),
        )
    }

    fn supplements(
        &self,
        original: uuid::Uuid,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SubmissionRecord>> {
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| submissions::supplements(conn, &keys, original, limit)),
        )
    }

    fn set_status<'a>(
        &'a self,
        submission: &'a SubmissionRef,
        status: SubmissionStatus,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, Option<StatusChange>> {
        let submission = submission.clone();
        let keys = self.keys();
        Box::pin(
            self.writer
                .write("change a submission's status", move |conn| {
                    submissions::set_status(conn, &keys, &submission, status, note, now)
                }),
        )
    }

    fn import_catalog(
        &self,
        items: Vec<CatalogItem>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, ImportReport> {
        Box::pin(self.writer.write("import the catalogue", move |conn| {
            feeds::import_catalog(conn, items, now)
        }))
    }

    fn add_notice(&self, notice: NewNotice, now: DateTime<Utc>) -> StoreFuture<'_, Notice> {
        Box::pin(self.writer.write("add a notice", move |conn| {
            feeds::add_notice(conn, notice, now)
        }))
    }

    fn catalog_page<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<CatalogItem>> {
        let after = after.map(str::to_owned);
        Box::pin(
            self.readers
                .read(move |conn| feeds::catalog_page(conn, after.as_deref(), limit)),
        )
    }

    fn catalog_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(self.readers.read(feeds::catalog_version))
    }

    fn notices_page<'a>(
        &'a self,
        village: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<Notice>> {
        let village = village.to_owned();
        let after = after.map(str::to_owned);
        Box::pin(
            self.readers
                .read(move |conn| feeds::notices_page(conn, &village, after.as_deref(), limit)),
        )
    }

    fn statuses_page<'a>(
        &'a self,
        kiosk_id: &'a str,
        after: Option<&'a str>,
        limit: u32,
    ) -> StoreFuture<'a, FeedPage<StatusChange>> {
        let kiosk_id = kiosk_id.to_owned();
        let after = after.map(str::to_owned);
        let keys = self.keys();
        Box::pin(self.readers.read(move |conn| {
            feeds::statuses_page(conn, &keys, &kiosk_id, after.as_deref(), limit)
        }))
    }

    fn sealed_at_open(&self) -> SealReport {
        self.sealed_at_open
    }

    fn at_rest_keys(&self) -> Arc<KeyRing> {
        self.keys()
    }

    fn count_sealed_with(&self, key_id: u32) -> StoreFuture<'_, u64> {
        Box::pin(SqliteStore::count_sealed_with(self, key_id))
    }

    fn stats(&self) -> StoreFuture<'_, StoreStats> {
        Box::pin(self.readers.read(|conn| {
            let (active, revoked): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*) FILTER (WHERE revoked_at IS NULL),
                            COUNT(*) FILTER (WHERE revoked_at IS NOT NULL)
                     FROM kiosks",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(connection::failed("count kiosks"))?;
            // Cases only. Supplements are taken off rather than filtered out: the first count
            // reads only the status index, the second only the few supplements' rows.
            let mut statement = conn
                .prepare(
                    "SELECT a.status, a.n - COALESCE(p.n, 0)
                     FROM (SELECT status, COUNT(*) AS n FROM submissions GROUP BY status) a
                     LEFT JOIN (SELECT status, COUNT(*) AS n FROM submissions
                                WHERE supplement_to IS NOT NULL GROUP BY status) p
                         USING (status)
                     WHERE a.n > COALESCE(p.n, 0)
                     ORDER BY a.status",
                )
                .map_err(connection::failed("count submissions"))?;
            let counts = statement
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .map_err(connection::failed("count submissions"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(connection::failed("count submissions"))?;
            Ok(StoreStats {
                kiosks_active: active.unsigned_abs(),
                kiosks_revoked: revoked.unsigned_abs(),
                submissions_by_status: counts
                    .into_iter()
                    .map(|(status, count)| {
                        Ok((submissions::parse_status(&status)?, count.unsigned_abs()))
                    })
                    .collect::<Result<_, StoreError>>()?,
            })
        }))
    }
}
