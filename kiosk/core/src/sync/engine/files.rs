//! Uploading the pages submissions carry (`sync_protocol::attachment`): its own task beside
//! the engine's loop, so a page on a slow link never holds up a submission, a feed or a
//! heartbeat.
//!
//! - Only files of acknowledged submissions go (`Store::due_files`): the server refuses a file
//!   no submission of this booth lists.
//! - Each file resumes where the server's copy ends (`GET` its status first), chunk by chunk,
//!   so a cut costs at most the chunk in flight, and a file the server holds is never sent.
//! - Before every chunk the task waits until no submission batch, feed pull or heartbeat is
//!   in flight ([`UploadsFirst`]): those wait at most one chunk behind a page. An optional
//!   pace caps the pages' share of the link.
//! - A file the server holds whole is settled and deleted; one it refuses for good (not
//!   listed, too large, not a page) is kept as refused for the technician; a mismatch (the
//!   server joined other bytes than ours) is sent again from the start, and a local copy that
//!   no longer hashes to its name is refused at once: it can never arrive intact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_protocol::ErrorCode;
use sync_protocol::attachment::{MAX_CHUNK_BYTES, sha256_hex};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::super::backoff::{Backoff, BackoffPolicy};
use super::super::client::Client;
use super::super::download::UploadsFirst;
use super::super::error::SyncError;
use super::{EngineError, SyncEvent};
use crate::store::{PendingFile, Store, StoreError};

/// How the page uploader paces itself.
#[derive(Debug, Clone)]
pub struct FilesConfig {
    /// Bytes per request, at most [`MAX_CHUNK_BYTES`].
    pub chunk_bytes: usize,
    /// Pages' bytes per second at most; `None`: as fast as the link takes them between the
    /// engine's own requests.
    pub bytes_per_s: Option<u64>,
    /// How often an idle uploader looks for newly acknowledged pages.
    pub idle_poll: Duration,
    pub backoff: BackoffPolicy,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            chunk_bytes: MAX_CHUNK_BYTES,
            bytes_per_s: None,
            idle_poll: Duration::from_secs(2),
            backoff: BackoffPolicy::default(),
        }
    }
}

/// What the uploader has sent, for the heartbeat's log and the tests' measure of bytes sent
/// twice.
#[derive(Debug, Default)]
pub struct FilesProgress {
    /// Chunk bytes put on the wire (a chunk cut off counts: it was sent).
    pub bytes_sent: AtomicU64,
    /// Files the server holds whole, as the uploader learned it.
    pub files_held: AtomicU64,
}

/// The uploader of one booth.
pub(super) struct FileUploader {
    pub(super) client: Arc<Client>,
    pub(super) store: Arc<Mutex<Store>>,
    pub(super) uploads_first: UploadsFirst,
    pub(super) wake: Arc<Notify>,
    pub(super) events: Option<mpsc::UnboundedSender<SyncEvent>>,
    pub(super) config: FilesConfig,
    pub(super) progress: Arc<FilesProgress>,
}

/// Why one file did not arrive this time.
enum FileFailure {
    /// Try again after a wait: the network, a busy server.
    Later(SyncError),
    /// The server joined other bytes than ours: send it again from the start, soon.
    Mismatch(String),
    /// It can never arrive: refused by the server for good, or damaged on this disk.
    Never(String),
}

impl FileUploader {
    /// Runs until aborted.
    pub(super) async fn run(self) {
        let mut backoff = Backoff::new(self.config.backoff);
        loop {
            match self.send_due().await {
                Ok(true) => backoff.reset(),
                Ok(false) => {
                    let _ = tokio::time::timeout(self.config.idle_poll, self.wake.notified()).await;
                }
                Err(error) => {
                    let delay = backoff.next_delay(error.retry_after());
                    tracing::info!(error = %error, retry_in_s = delay.total.as_secs(), "pages wait");
                    let _ = tokio::time::timeout(delay.total, self.wake.notified()).await;
                }
            }
        }
    }

    /// Sends every due file once; `Ok(false)` when none was due. A network failure ends the
    /// round (the next file would meet the same link).
    pub(super) async fn send_due(&self) -> Result<bool, SyncError> {
        let now = self.client.clock().server_now();
        let due = self
            .with_store(move |store| store.due_files(now, 16))
            .await
            .map_err(|e| self.store_trouble(&e))?;
        if due.is_empty() {
            return Ok(false);
        }
        for file in due {
            match self.send(&file).await {
                Ok(()) => {
                    let sha256 = file.sha256.clone();
                    self.with_store(move |store| store.record_file_held(&sha256))
                        .await
                        .map_err(|e| self.store_trouble(&e))?;
                    self.progress.files_held.fetch_add(1, Ordering::Relaxed);
                    self.emit(SyncEvent::PageSent { bytes: file.bytes });
                }
                Err(FileFailure::Later(error)) => {
                    self.settle_failure(&file, &error.to_string(), false)
                        .await?;
                    return Err(error);
                }
                Err(FileFailure::Mismatch(reason)) => {
                    self.settle_failure(&file, &reason, file.attempts >= 2)
                        .await?;
                }
                Err(FileFailure::Never(reason)) => {
                    self.settle_failure(&file, &reason, true).await?;
                    self.emit(SyncEvent::PageRefused { reason });
                }
            }
        }
        Ok(true)
    }

    async fn settle_failure(
        &self,
        file: &PendingFile,
        reason: &str,
        refused: bool,
    ) -> Result<(), SyncError> {
        let sha256 = file.sha256.clone();
        let reason = reason.to_owned();
        // The wait is the uploader's own; the row's time only orders files for the next round.
        let next = self.client.clock().server_now();
        self.with_store(move |store| store.record_file_failure(&sha256, &reason, next, refused))
            .await
            .map_err(|e| self.store_trouble(&e))
    }

    /// One file, from where the server's copy ends.
    async fn send(&self, file: &PendingFile) -> Result<(), FileFailure> {
        let path = file.path.clone();
        let bytes = match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(error)) => {
                return Err(FileFailure::Never(format!(
                    "the page's copy {} cannot be read ({error}): photograph it again",
                    file.path.display()
                )));
            }
            Err(_) => return Err(FileFailure::Never("reading the page failed".into())),
        };
        if bytes.len() as u64 != file.bytes || sha256_hex(&bytes) != file.sha256 {
            return Err(FileFailure::Never(format!(
                "the page's copy {} was changed on this disk: photograph it again",
                file.path.display()
            )));
        }
        let mut status = self
            .client
            .attachment_status(&file.sha256)
            .await
            .map_err(classify)?;
        let started = Instant::now();
        let mut paced: u64 = 0;
        while !status.complete {
            // Submissions, feeds and heartbeats first: at most one chunk waits behind them.
            self.uploads_first.clear().await;
            let start = status.received.min(bytes.len() as u64) as usize;
            if start == bytes.len() {
                // Every byte is there but the server's check of the whole was cut short: asking
                // for the status finishes it.
                status = self
                    .client
                    .attachment_status(&file.sha256)
                    .await
                    .map_err(classify)?;
                if status.complete {
                    break;
                }
                return Err(FileFailure::Later(SyncError::Protocol {
                    server: self.client.server().to_owned(),
                    path: sync_protocol::paths::attachment(&file.sha256),
                    status: 200,
                    detail: "the server holds every byte but has not checked the file yet".into(),
                }));
            }
            let end = (start + self.config.chunk_bytes.clamp(1, MAX_CHUNK_BYTES)).min(bytes.len());
            if let Some(rate) = self.config.bytes_per_s.filter(|r| *r > 0) {
                let due = Duration::from_secs_f64(paced as f64 / rate as f64);
                tokio::time::sleep_until(started + due).await;
            }
            self.progress
                .bytes_sent
                .fetch_add((end - start) as u64, Ordering::Relaxed);
            paced += (end - start) as u64;
            status = match self
                .client
                .upload_chunk(&file.sha256, start as u64, &bytes[start..end])
                .await
            {
                Ok(status) => status,
                // The server holds more (or less) than we thought: an answer lost in a cut.
                Err(error) if error.code() == Some(ErrorCode::AttachmentOffset) => self
                    .client
                    .attachment_status(&file.sha256)
                    .await
                    .map_err(classify)?,
                Err(error) => return Err(classify(error)),
            };
        }
        Ok(())
    }

    async fn with_store<R, F>(&self, operation: F) -> Result<R, EngineError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        super::on_store(&self.store, operation).await
    }

    /// A store failure stops this round like an outage would; the store is the engine's to
    /// report.
    fn store_trouble(&self, error: &EngineError) -> SyncError {
        SyncError::Protocol {
            server: self.client.server().to_owned(),
            path: "(the booth's store)".into(),
            status: 0,
            detail: error.to_string(),
        }
    }

    fn emit(&self, event: SyncEvent) {
        super::emit_to(self.events.as_ref(), event);
    }
}

fn classify(error: SyncError) -> FileFailure {
    match error.code() {
        Some(ErrorCode::AttachmentHashMismatch) => FileFailure::Mismatch(error.to_string()),
        Some(
            ErrorCode::AttachmentNotListed
            | ErrorCode::AttachmentTooLarge
            | ErrorCode::InvalidRequest
            | ErrorCode::NotFound,
        ) => FileFailure::Never(error.to_string()),
        _ => FileFailure::Later(error),
    }
}
