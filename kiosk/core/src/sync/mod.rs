//! The sync client: everything the booth does with the county server.
//!
//! Map of the module:
//! - [`client`]: the signed HTTP client of the kiosk API (reqwest, rustls); learns the clock
//!   offset from every `Date` header and re-signs once after `stale_timestamp`.
//! - `pinned`: trusting a county server by its certificate pin instead of the public roots.
//! - [`error`]: [`SyncError`], sorted by what the booth does about it (retry, or tell the
//!   technician).
//! - [`clock`]: the learned clock offset, HTTP dates, and the technician's clock warning.
//! - [`retry_after`]: `Retry-After` in seconds or as a date.
//! - [`backoff`]: exponential backoff with full jitter, floored by `Retry-After`.
//! - [`engine`]: the background task: uploads the outbox, pulls feeds, sends heartbeats, and
//!   resumes as soon as the server is reachable again.
//! - [`enroll`]: trading a one-time code for an identity, crash-safely.
//! - [`health`]: disk free and uptime for the heartbeat.
//! - `stub_server` (tests only): a small signature-checking kiosk-API server on loopback for
//!   this module's unit tests; the real `sync-server` is exercised from `tests/`.
//!
//! The store is synchronous SQLite; the engine reaches it only through
//! `tokio::task::spawn_blocking`, never holding its lock across an await.

pub mod backoff;
pub mod client;
pub mod clock;
pub mod download;
pub mod engine;
pub mod enroll;
pub mod error;
pub mod health;
mod pinned;
pub mod retry_after;
#[cfg(test)]
mod stub_server;

pub use backoff::{Backoff, BackoffPolicy};
pub use client::{Client, ClientConfig};
pub use clock::{ClockOffset, clock_warning};
pub use download::{DownloadError, DownloadProgress, Downloaded, UploadTurn, UploadsFirst};
pub use engine::{
    Engine, EngineConfig, EngineError, EngineHandle, FilesConfig, FilesProgress, OnceSummary,
    SyncEvent,
};
pub use enroll::{EnrollError, enroll, enroll_pinned, finish_pending};
pub use error::SyncError;
