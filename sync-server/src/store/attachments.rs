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
    /// When a villager's phone uploaded it (through the application's one-time phone
    /// upload); `None` for a page the booth sent.
    pub phone_at: Option<DateTime<Utc>>,
}

/// The application a phone upload token's hash opens, and whether the token was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneUploadSlot {
    pub submission_id: Uuid,
    /// When the upload was made and how many pages it brought; `None` while it is open.
    pub used: Option<(DateTime<Utc>, u16)>,
    /// The files the application lists now (the booth's and any uploaded from a phone).
    pub pages: u32,
}

/// A page a phone uploaded, already re-encoded, sealed at rest and kept in the file shelf
/// by the caller under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonePage {
    pub sha256: String,
    pub bytes: u64,
    /// The material's index in the item's list at the application's catalogue version.
    pub material: u16,
    /// Its name in that list, for the history.
    pub material_name: String,
    /// The at-rest key it is sealed with.
    pub sealed_with: u32,
}

/// What recording a phone upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneUploadOutcome {
    /// The token is used now; the pages are the application's, each numbered after the
    /// pages its material already had.
    Recorded { submission_id: Uuid, pages: u16 },
    /// No application offers the hash.
    Unknown,
    /// The token was used before: nothing changed.
    AlreadyUsed { at: DateTime<Utc>, pages: u16 },
    /// The application would list more than the cap: nothing changed.
    TooManyPages { held: u32 },
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

    // ── the one-time phone upload (`sync_protocol::phone_upload`) ──

    /// The application that offers a phone upload under `token_hash` (the first stored, if
    /// a booth ever offered one hash twice).
    fn phone_upload_slot<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> StoreFuture<'a, Option<PhoneUploadSlot>>;
    /// Uses the token, once, in one transaction: only while it is unused and the
    /// application's files with `pages` stay within `max_pages`, the token is marked used
    /// (with `now` and the number of pages), the pages are listed as complete files of the
    /// application (page numbers following its material's), and the case's review history
    /// gets a [`super::PHONE_UPLOAD_ACTION`] entry. Otherwise nothing changes.
    fn record_phone_upload<'a>(
        &'a self,
        token_hash: &'a str,
        pages: Vec<PhonePage>,
        max_pages: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, PhoneUploadOutcome>;
}
