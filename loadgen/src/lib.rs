//! A fleet load generator for the county `sync-server`: simulated booths that enroll, sign
//! and sync the way `kiosk-core`'s engine does, for tests and capacity measurements on one
//! machine. Traffic goes to loopback only, and every run is bounded in time, booths and
//! requests.
//!
//! Booths are enrolled straight into the server's store through the [`sync_server::store::Store`]
//! trait (the way the staff commands open it), not over HTTP, so a production server has no
//! new route open. Their keys are derived from a seed and the booth's index: a later run finds
//! the same booths again without a key file.
//!
//! Map of the crate, one job per module:
//! - [`target`]: the server's address, refused unless it is loopback;
//! - [`store`]: opening the store behind `Arc<dyn Store>` (SQLite, or PostgreSQL by URL);
//! - [`keys`]: booth keys from the seed and the index;
//! - [`enroll`]: bulk enrollment and finding the fleet again (kiosk ids, numbers, sequences);
//! - [`cursors`]: where a booth that kept syncing stands in each feed;
//! - [`submissions`]: submissions the server accepts (receipt numbers, sealed personal part);
//! - [`api`]: signed requests over one shared HTTP client, each answer recorded; several
//!   server instances over one store, each booth always at the same one;
//! - [`booth`]: one simulated booth's sync pass (upload, feeds, heartbeat), as the engine does it;
//! - [`backoff`]: full-jitter exponential backoff floored by `Retry-After`;
//! - [`clock`]: simulated time (the compression factor) and the day's submission profile;
//! - [`steady`]: the steady-state run; [`storm`]: the reconnect storm;
//! - [`ledger`]: every submission's answers, for exactly-once; [`verify`]: the store's count;
//! - [`histogram`] and [`recorder`]: latencies and errors per endpoint;
//! - [`procstat`]: a server process's CPU time and resident memory; [`spawn`]: a server
//!   started by loadgen; [`scrape`]: the server's own `/metrics`;
//! - [`report`]: what a run measured, as text or JSON.

pub mod api;
pub mod backoff;
pub mod booth;
pub mod clock;
pub mod cursors;
pub mod enroll;
pub mod histogram;
pub mod keys;
pub mod ledger;
pub mod procstat;
pub mod recorder;
pub mod report;
pub mod scrape;
pub mod spawn;
pub mod steady;
pub mod store;
pub mod storm;
pub mod submissions;
pub mod target;
pub mod verify;

/// The most booths one run simulates: the kiosk numbers one server install has (receipt
/// numbers carry up to four base-32 symbols of it), so no store can hold more.
pub const MAX_BOOTHS: u32 = sync_protocol::receipt::MAX_KIOSK_NUMBER;

/// The most requests one run sends, whatever its duration: a mistyped rate cannot run away.
pub const MAX_REQUESTS: u64 = 50_000_000;

/// The longest run.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(4 * 3600);
