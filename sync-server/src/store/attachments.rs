//! The files submissions list (`sync_protocol::attachment`): which a kiosk may upload, how
//! much of each the server holds, and which are complete. The bytes are not here: they are in
//! the file shelf (`crate::files`), by name; the store keeps the list and the upload's state,
//! so several instances on one database resume each other's uploads.
//!
//! A file belongs to the kiosk whose submission lists it, through the submission's current
//! kiosk (a replacement moves submissions, and so their files, to the new key).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreFuture;

/// One file as a submission lists it, and its upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub submission_id: Uuid,
    pub sha256: String,
    pub bytes: u64,
    pub sealed: bool,
    pub material: u16,
    pub page: u16,
    /// Bytes held so far (the next chunk's offset).
    pub received: u64,
    /// When the whole file was held and checked.
    pub complete_at: Option<DateTime<Utc>>,
}

/// What recording a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// The upload now holds `received` bytes.
    Advanced { received: u64 },
    /// The chunk does not start where the upload ends (`received`), or the file is complete:
    /// nothing changed.
    Elsewhere { received: u64, complete: bool },
    /// No submission of this kiosk lists the file.
    NotListed,
}

pub trait AttachmentStore {
    /// The file `sha256` as a submission of `kiosk_id` lists it (the oldest such listing when
    /// two submissions list the same bytes).
    fn listed_file<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
    ) -> StoreFuture<'a, Option<ListedFile>>;
    /// Moves the upload of `sha256` from `from` to `to` bytes, atomically: only when it holds
    /// exactly `from` and is not complete.
    fn advance_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        from: u64,
        to: u64,
    ) -> StoreFuture<'a, Advance>;
    /// Marks the file complete (every listing of it by this kiosk's submissions), kept
    /// sealed with at-rest key `sealed_with`.
    fn finish_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        sealed_with: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
    /// Starts the upload over (its bytes did not match its name).
    fn restart_upload<'a>(&'a self, kiosk_id: &'a str, sha256: &'a str) -> StoreFuture<'a, ()>;
    /// Every file a submission lists, by material and page.
    fn submission_files(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ListedFile>>;
}
