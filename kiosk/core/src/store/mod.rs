//! The booth's durable offline store: one SQLite file, `DATA/kiosk.sqlite3`.
//!
//! Every submission a villager hands in is committed here, with its receipt, before the
//! receipt number is shown; the sync client uploads from here and records the server's answer
//! here. WAL journal, `synchronous=FULL` (a commit is on disk when it returns), foreign keys
//! on, one connection per `Store` (the single writer of its process), `BEGIN IMMEDIATE` for
//! every write so concurrent kiosk processes queue on the busy timeout instead of failing.
//!
//! Map of the module:
//! - `open`: opening, pragmas, the unclean-shutdown `quick_check`, moving a
//!   damaged file aside.
//! - `schema`: the tables and their migrations (`PRAGMA user_version`).
//! - `outbox`: submitting, the sync client's queue operations, quarantine tools.
//! - `receipts`: the local receipts and the status changes applied to them.
//! - `feeds`: the catalogue and notice caches and the feed cursors.
//! - [`files`]: the pages a submission carries, on disk beside the database, their upload
//!   state and the disk budget for them.
//! - `settings`: the booth's identity, clock offset, retention, sequence counter.
//! - [`model`]: the values going in and out; [`error`]: [`StoreError`].
//! - [`closed`]: what the booth's updater does to a store no kiosk has open: read its
//!   schema, snapshot it, merge a failed release's queue back after a restore.
//!
//! Using it from async code: `Store` is `Send` (not `Sync`); keep it in an
//! `Arc<std::sync::Mutex<Store>>` and call it inside `tokio::task::spawn_blocking`, since a
//! write waits for an fsync.
//!
//! Nothing here logs. Personal data (name, ID number, address, phone, form fields, free text)
//! stays in the `submissions` row until the server acknowledges it, sealed to the county's key
//! once the booth knows it ([`Store::set_county_key`]; `outbox`), then it is dropped (after
//! `retention_after_ack`, default zero). Receipts only hold the masked ID
//! and, when the villager's card was read, a keyed hash of the ID number (`holder`) so the
//! same card can list its receipts later; the secret for that hash lives in its own file.

pub mod closed;
pub mod error;
mod feeds;
pub mod files;
#[cfg(test)]
mod files_tests;
mod holder;
pub mod model;
mod open;
mod outbox;
mod receipts;
mod schema;
mod settings;
mod sql;
pub mod technician_pin;
#[cfg(test)]
mod tests;

use std::cell::{Cell, OnceCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rusqlite::Connection;
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, Notice, StatusChange};
use sync_protocol::personal::CountyKey;
use sync_protocol::submission::{ItemResult, Submission};
use uuid::Uuid;

pub use error::StoreError;
pub use files::{NewPage, PendingFile};
pub use holder::SECRET_FILE as HOLDER_SECRET_FILE;
pub use model::{
    DeviceReport, DiscardRecord, Identity, LocalReceipt, NewSubmission, QueueItem, QueueStats,
    Receipt, StatusEntry, SubmissionState,
};
pub use open::DB_FILE;
pub use schema::{SCHEMA_READS, SCHEMA_WRITES};

use error::{Fault, SqlKind, classify};

/// The booth's database. See the module documentation.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    session_id: Option<String>,
    checked_after_unclean_shutdown: bool,
    /// Set when SQLite reported corruption: the session row then stays behind, so the next
    /// open runs `quick_check` and moves the file aside if needed.
    damaged: Cell<bool>,
    /// Loaded on first need; see `holder`.
    holder_secret: OnceCell<holder::HolderSecret>,
}

impl Store {
    /// Opens (creating if needed) `data_dir/kiosk.sqlite3`, migrating it to the current
    /// schema. After an unclean shutdown runs `PRAGMA quick_check` first; a damaged file is
    /// moved aside and [`StoreError::Corrupt`] names where: the caller decides what to do,
    /// the next `open` starts an empty database.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let opened = open::open(data_dir)?;
        // Pages of a submission that never committed, copies the server already holds.
        let _ = files::remove_orphans(&opened.conn, &files::dir_of(&opened.path));
        Ok(Self {
            conn: opened.conn,
            path: opened.path,
            session_id: opened.session_id,
            checked_after_unclean_shutdown: opened.checked_after_unclean_shutdown,
            damaged: Cell::new(false),
            holder_secret: OnceCell::new(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this open found a previous process's session left open (crash, kill, power
    /// cut) and ran `quick_check` (which passed, or `open` would have failed).
    pub fn checked_after_unclean_shutdown(&self) -> bool {
        self.checked_after_unclean_shutdown
    }

    // ── identity and settings ────────────────────────────────────────────────────────────

    /// The enrolled identity, `None` before enrollment.
    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        self.finish(settings::identity(&self.conn))
    }

    /// Stores the identity from an enrollment, replacing any earlier one. Submissions already
    /// in the outbox keep their receipt numbers (with the old kiosk number) and are uploaded
    /// under the new identity; the sequence counter continues, so receipt numbers stay unique.
    /// A different `server_id` resets all feed cursors and empties the catalogue and notice
    /// caches; a different `kiosk_id` resets the status feed's cursor.
    pub fn set_identity(&mut self, identity: &Identity) -> Result<(), StoreError> {
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            settings::set_identity(&tx, identity)?;
            tx.commit()?;
            Ok(())
        })();
        self.finish(result)
    }

    /// Server time minus booth time, in milliseconds, as last learned (0 if never).
    pub fn clock_offset_ms(&self) -> Result<i64, StoreError> {
        self.finish(settings::clock_offset_ms(&self.conn))
    }

    /// Stores the offset; writes (and syncs) only when it changed.
    pub fn set_clock_offset_ms(&mut self, offset_ms: i64) -> Result<(), StoreError> {
        self.finish(settings::set_clock_offset_ms(&self.conn, offset_ms))
    }

    /// The county's key submissions are sealed to, once the server told it.
    pub fn county_key(&self) -> Result<Option<CountyKey>, StoreError> {
        self.finish(settings::county_key(&self.conn))
    }

    /// Stores the county's key (from enrollment or a heartbeat) and, in the same transaction,
    /// seals every queued submission still holding personal data in the clear; returns how
    /// many it sealed. Then checkpoints the WAL, whose older frames still hold their plain
    /// values (`secure_delete` has zeroed them in the file itself).
    pub fn set_county_key(&mut self, key: &CountyKey) -> Result<usize, StoreError> {
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            settings::set_county_key(&tx, key)?;
            let sealed = outbox::seal_backlog(&tx, key)?;
            tx.commit()?;
            if sealed > 0 {
                // Best effort: a reader in another process may hold the WAL; the next
                // checkpoint (at the latest when the last connection closes) empties it.
                let _ = self
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
            Ok(sealed)
        })();
        self.finish(result)
    }

    /// The devices as last checked, if ever.
    pub fn device_health(&self) -> Result<Option<DeviceReport>, StoreError> {
        self.finish(settings::device_health(&self.conn))
    }

    /// Records a device check for the next heartbeat.
    pub fn set_device_health(&mut self, report: &DeviceReport) -> Result<(), StoreError> {
        self.finish(settings::set_device_health(&self.conn, report))
    }

    /// The booth's clock corrected by the stored offset: what `submit` stamps.
    pub fn corrected_now(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(Utc::now() + TimeDelta::milliseconds(self.clock_offset_ms()?))
    }

    /// How long an acknowledged submission keeps the applicant's identity (default zero).
    pub fn retention_after_ack(&self) -> Result<Duration, StoreError> {
        self.finish(settings::retention_after_ack(&self.conn))
    }

    pub fn set_retention_after_ack(&mut self, keep: Duration) -> Result<(), StoreError> {
        self.finish(settings::set_retention_after_ack(&self.conn, keep))
    }

    // ── submitting ───────────────────────────────────────────────────────────────────────

    /// Issues the next sequence and receipt number, a UUIDv7 id, and stores the submission
    /// and its local receipt in one `BEGIN IMMEDIATE` transaction. Returns only after the
    /// commit, which with `synchronous=FULL` is on disk. Needs no network; needs an identity
    /// ([`StoreError::NotEnrolled`]). Refuses what the server would refuse for good
    /// ([`StoreError::Invalid`]). `created_at` is the corrected clock.
    ///
    /// `new.holder_id_number`, when given, is stored only as a keyed hash with the receipt, for
    /// [`Store::receipts_for_holder`]; the secret is made on first use
    /// ([`StoreError::HolderSecret`] if it cannot be).
    pub fn submit(&mut self, mut new: NewSubmission) -> Result<Receipt, StoreError> {
        let holder_key = match new.holder_id_number.take() {
            Some(number) => Some(holder::holder_key(&self.created_holder_secret()?, &number)),
            None => None,
        };
        let files_dir = files::dir_of(&self.path);
        let result = outbox::submit(
            &mut self.conn,
            &files_dir,
            new,
            holder_key.as_deref(),
            Utc::now(),
        );
        self.finish(result)
    }

    // ── the sync client's queue operations ───────────────────────────────────────────────
    //
    // `now` and `next_attempt_at` are in one clock: the corrected clock (server time, as
    // `corrected_now`), which `kiosk queue status` uses too. New and re-queued items are due at
    // once whatever that clock says.

    /// Pending or sent submissions whose next attempt is due, oldest (lowest seq) first, at
    /// most `limit`. Quarantined, acknowledged and discarded items never appear.
    pub fn due_submissions(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Submission>, StoreError> {
        self.finish(outbox::due_submissions(&self.conn, now, limit))
    }

    /// Marks items as handed to the network and counts the attempt. Optional: a crash after
    /// it leaves them `sent`, and `sent` items are retried like pending ones.
    pub fn mark_sent(&mut self, ids: &[Uuid]) -> Result<(), StoreError> {
        let result = outbox::mark_sent(&mut self.conn, ids);
        self.finish(result)
    }

    /// Records a batch's per-item results in one transaction: accepted or duplicate →
    /// acknowledged (with the server's `received_at`; the receipt shows "received"; identity
    /// minimised per retention); conflict or invalid → quarantined with the server's message.
    /// Other items are untouched. Unknown ids and already-settled items are ignored, so
    /// recording the same results twice is harmless.
    pub fn record_results(
        &mut self,
        results: &[ItemResult],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = outbox::record_results(&mut self.conn, results, now);
        self.finish(result)
    }

    /// A whole attempt failed (network, 5xx, 429): back to pending with the error and the
    /// next attempt time; the attempt is counted unless `mark_sent` counted it.
    pub fn record_failure(
        &mut self,
        ids: &[Uuid],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = outbox::record_failure(&mut self.conn, ids, error, next_attempt_at);
        self.finish(result)
    }

    /// The earliest next attempt among pending and sent items; `None` when nothing waits.
    /// New and re-queued items report the Unix epoch: due now.
    pub fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.finish(outbox::next_attempt_at(&self.conn))
    }

    /// Counts by state and the age of the oldest unacknowledged item against `now` (pass the
    /// corrected clock: `created_at` is stamped with it).
    pub fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        self.finish(outbox::queue_stats(&self.conn, now))
    }

    /// Drops the identity of acknowledged submissions whose retention has passed; returns
    /// how many. `record_results` does this too; call it periodically when the retention is
    /// not zero.
    pub fn minimise_due(&mut self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.finish(outbox::minimise_due(&self.conn, now))
    }

    // ── the pages submissions carry ──────────────────────────────────────────────────────

    /// Pages of acknowledged submissions waiting to be uploaded and due (`now` in the
    /// corrected clock), oldest submission first, at most `limit`.
    pub fn due_files(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingFile>, StoreError> {
        let dir = files::dir_of(&self.path);
        self.finish(files::due(&self.conn, &dir, now, limit))
    }

    /// The server holds the file whole: it is settled and its local copy deleted.
    pub fn record_file_held(&mut self, sha256: &str) -> Result<(), StoreError> {
        let dir = files::dir_of(&self.path);
        self.finish(files::record_held(&self.conn, &dir, sha256))
    }

    /// An upload attempt failed; `refused` when the server refused the file for good.
    pub fn record_file_failure(
        &mut self,
        sha256: &str,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        refused: bool,
    ) -> Result<(), StoreError> {
        self.finish(files::record_failure(
            &self.conn,
            sha256,
            error,
            next_attempt_at,
            refused,
        ))
    }

    /// Listed files by state: (pending, held by the server, refused).
    pub fn file_counts(&self) -> Result<(u64, u64, u64), StoreError> {
        self.finish(files::counts(&self.conn))
    }

    /// The disk budget for pages waiting to be uploaded, and the bytes they take now.
    pub fn files_budget(&self) -> Result<(u64, u64), StoreError> {
        self.finish(files::budget(&self.conn))
    }

    pub fn set_files_budget(&mut self, bytes: u64) -> Result<(), StoreError> {
        self.finish(files::set_budget(&self.conn, bytes))
    }

    // ── technician's quarantine tools ────────────────────────────────────────────────────

    /// Every outbox item, whatever its state, oldest first (no personal data in them).
    pub fn queue_items(&self) -> Result<Vec<QueueItem>, StoreError> {
        self.finish(outbox::all_items(&self.conn))
    }

    /// Quarantined items, oldest first.
    pub fn quarantined(&self) -> Result<Vec<QueueItem>, StoreError> {
        self.finish(outbox::items_in_state(
            &self.conn,
            SubmissionState::Quarantined,
        ))
    }

    /// One outbox item by id or receipt number (typed input: any case, dashes optional).
    pub fn queue_item(&self, id_or_receipt: &str) -> Result<QueueItem, StoreError> {
        self.finish(outbox::find(&self.conn, id_or_receipt))
    }

    /// Puts a quarantined item back in the queue, due at once, unchanged (same id, same
    /// content: the server answers the same unless its rules changed).
    pub fn requeue(&mut self, id_or_receipt: &str) -> Result<QueueItem, StoreError> {
        let result = outbox::requeue(&mut self.conn, id_or_receipt);
        self.finish(result)
    }

    /// Drops a quarantined item: its content is erased, an audit record keeps its id, receipt
    /// number, the time, the reason and the server's refusal.
    pub fn discard(
        &mut self,
        id_or_receipt: &str,
        reason: &str,
    ) -> Result<DiscardRecord, StoreError> {
        let result = outbox::discard(&mut self.conn, id_or_receipt, reason, Utc::now());
        self.finish(result)
    }

    /// The discard audit log, oldest first.
    pub fn discards(&self) -> Result<Vec<DiscardRecord>, StoreError> {
        self.finish(outbox::discards(&self.conn))
    }

    // ── receipts ─────────────────────────────────────────────────────────────────────────

    /// The local receipt for a number as typed (normalised, check symbol verified: a
    /// mistyped number is [`StoreError::ReceiptNumber`]); `None` if this booth never issued it.
    pub fn receipt(&self, number: &str) -> Result<Option<LocalReceipt>, StoreError> {
        self.finish(receipts::receipt(&self.conn, number))
    }

    /// The receipts handed in with this ID number on this booth, newest first (the number is
    /// only hashed with the booth's secret, never stored or compared in clear). Receipts keep
    /// their key after the submission is minimised, since statuses arrive after the upload;
    /// a discarded submission loses it.
    pub fn receipts_for_holder(&self, id_number: &str) -> Result<Vec<LocalReceipt>, StoreError> {
        let Some(secret) = self.holder_secret()? else {
            // No secret yet: no receipt was ever stored with a key.
            return Ok(Vec::new());
        };
        let key = holder::holder_key(&secret, id_number);
        self.finish(receipts::receipts_for_holder(&self.conn, &key))
    }

    /// Every status the receipt went through, oldest first (empty until the server has it).
    /// The number as typed, like [`Store::receipt`].
    pub fn status_history(&self, number: &str) -> Result<Vec<StatusEntry>, StoreError> {
        self.finish(receipts::status_history(&self.conn, number))
    }

    /// Like [`Store::receipt`], with an unknown number as [`StoreError::UnknownReceipt`].
    pub fn existing_receipt(&self, number: &str) -> Result<LocalReceipt, StoreError> {
        self.finish(receipts::existing_receipt(&self.conn, number))
    }

    // ── feeds ────────────────────────────────────────────────────────────────────────────

    /// The cursor to pass as `after`; `None` to start from the beginning.
    pub fn feed_cursor(&self, feed: Feed) -> Result<Option<String>, StoreError> {
        self.finish(feeds::cursor(&self.conn, feed))
    }

    /// Applies the items and advances the catalogue cursor in one transaction.
    pub fn apply_catalog_page(&mut self, page: &FeedPage<CatalogItem>) -> Result<(), StoreError> {
        let result = feeds::apply_catalog_page(&mut self.conn, page, Utc::now());
        self.finish(result)
    }

    /// Applies the items and advances the notices cursor in one transaction.
    pub fn apply_notice_page(&mut self, page: &FeedPage<Notice>) -> Result<(), StoreError> {
        let result = feeds::apply_notice_page(&mut self.conn, page, Utc::now());
        self.finish(result)
    }

    /// Applies the status changes to the local receipts and advances the statuses cursor in
    /// one transaction.
    pub fn apply_status_page(&mut self, page: &FeedPage<StatusChange>) -> Result<(), StoreError> {
        let result = feeds::apply_status_page(&mut self.conn, page, Utc::now());
        self.finish(result)
    }

    /// A cached catalogue item (withdrawn items are not kept).
    pub fn catalog_item(&self, code: &str) -> Result<Option<CatalogItem>, StoreError> {
        self.finish(feeds::catalog_item(&self.conn, code))
    }

    /// The whole cached catalogue, by code.
    pub fn catalog_items(&self) -> Result<Vec<CatalogItem>, StoreError> {
        self.finish(feeds::catalog_items(&self.conn))
    }

    /// Notices in force on `today` for `village` or for every village, newest first.
    /// Today in Beijing on the server-corrected clock: the day notices are in force on, whatever
    /// time zone the booth's system is set to (a booth set to UTC hid the day's notices from
    /// 16:00 to midnight UTC).
    pub fn beijing_today(&self) -> Result<NaiveDate, StoreError> {
        Ok(self
            .corrected_now()?
            .with_timezone(&crate::receipt_paper::beijing())
            .date_naive())
    }

    pub fn notices(&self, village: &str, today: NaiveDate) -> Result<Vec<Notice>, StoreError> {
        self.finish(feeds::notices(&self.conn, village, today))
    }

    /// The directory the database file is in.
    fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("."))
    }

    /// The holder secret if it exists (a missing one is looked for again next time: another
    /// process may create it).
    fn holder_secret(&self) -> Result<Option<holder::HolderSecret>, StoreError> {
        if let Some(secret) = self.holder_secret.get() {
            return Ok(Some(secret.clone()));
        }
        let secret = holder::load(self.data_dir())?;
        if let Some(secret) = &secret {
            let _ = self.holder_secret.set(secret.clone());
        }
        Ok(secret)
    }

    /// The holder secret, made on first use.
    fn created_holder_secret(&self) -> Result<holder::HolderSecret, StoreError> {
        if let Some(secret) = self.holder_secret.get() {
            return Ok(secret.clone());
        }
        let secret = holder::load_or_create(self.data_dir())?;
        let _ = self.holder_secret.set(secret.clone());
        Ok(secret)
    }

    /// Attaches the file's path to a failure and notes corruption for the next open.
    fn finish<T>(&self, result: Result<T, Fault>) -> Result<T, StoreError> {
        result.map_err(|fault| match fault {
            Fault::Store(error) => error,
            Fault::Decode { what, source } => StoreError::Decode {
                path: self.path.clone(),
                what,
                source,
            },
            Fault::Sql(source) => {
                let path = self.path.clone();
                match classify(&source) {
                    SqlKind::DiskFull => StoreError::DiskFull { path, source },
                    SqlKind::Busy => StoreError::Busy { path, source },
                    SqlKind::Corrupt => {
                        self.damaged.set(true);
                        StoreError::Damaged { path, source }
                    }
                    SqlKind::Other => StoreError::Database { path, source },
                }
            }
        })
    }
}

impl Drop for Store {
    /// A clean close: the session row goes, so the next open skips `quick_check`.
    fn drop(&mut self) {
        if let (Some(id), false) = (&self.session_id, self.damaged.get()) {
            // Best effort: if this fails the next open merely runs a quick_check.
            let _ = self
                .conn
                .execute("DELETE FROM open_sessions WHERE session_id = ?1", [id]);
        }
    }
}
