//! The replay memory and guessing limits in PostgreSQL, for several server instances on one
//! database. The tables are the store's migration 2 (`store/postgres/schema.rs`): UNLOGGED,
//! because they are written on every request and a database crash that empties them forgets
//! no more than a server restart forgot when they lived in memory (the remembered devices,
//! written once per login, are an ordinary table).
//!
//! Every check-and-record is atomic across instances: a nonce by one `INSERT … ON CONFLICT`,
//! a limit by counting and recording in one transaction that holds an advisory lock on what
//! it counts (PostgreSQL runs transactions concurrently at READ COMMITTED, so a count read
//! without the lock could let two instances both take the last place). Times are the
//! database's clock, the one clock every instance shares.
//!
//! Expired rows are deleted a bounded batch at a time, every so many calls, by index order:
//! no request pays for a scan of the whole table.

mod enroll;
mod login;
mod nonces;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Pool};

pub use self::enroll::PgEnrollLimiter;
pub use self::login::PgLoginLimiter;
pub use self::nonces::PgNonces;
use crate::store::{StoreError, StoreResult};

/// Rows one sweep deletes at most: enough to keep up with the calls between sweeps, few
/// enough that the sweeping request is not held up.
const SWEEP_BATCH: i64 = 1000;

/// Maps a PostgreSQL error to the operation that failed.
fn failed(operation: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::backend(operation, source)
}

async fn connect(pool: &Pool) -> StoreResult<Object> {
    pool.get()
        .await
        .map_err(|source| StoreError::backend("get a PostgreSQL connection", source))
}

/// What an advisory lock guards. The numbers are the first key of PostgreSQL's two-key
/// advisory locks, apart from the store's feed locks (1 to 5).
#[derive(Debug, Clone, Copy)]
enum Lock {
    /// Every enrollment attempt: the global budget is one count all of them read.
    Enroll = 101,
    LoginAddress = 102,
    LoginName = 103,
    LoginDevice = 104,
}

/// Takes the lock on `key` of `lock`'s kind until the end of the transaction. The second key
/// is a hash of the schema and `key`: a collision only makes two keys wait for each other,
/// and tests in other schemas of the same database do not.
async fn lock(client: &impl GenericClient, lock: Lock, key: &str) -> StoreResult<()> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ' ' || $2::text))",
            &[&(lock as i32), &key],
        )
        .await
        .map_err(failed("lock a guessing limit"))?;
    Ok(())
}

/// The database's time, and the start of the window that ends at it (exclusive).
async fn clock(
    client: &impl GenericClient,
    window: Duration,
) -> StoreResult<(DateTime<Utc>, DateTime<Utc>)> {
    let row = client
        .query_one(
            "SELECT now, now - make_interval(secs => $1)
             FROM (SELECT clock_timestamp() AS now) AS clock",
            &[&window.as_secs_f64()],
        )
        .await
        .map_err(failed("read the database's clock"))?;
    Ok((row.get(0), row.get(1)))
}

/// How long ago `oldest` was at `now` (nothing if the database's clock stepped back).
fn elapsed(now: DateTime<Utc>, oldest: Option<DateTime<Utc>>) -> Duration {
    oldest
        .and_then(|oldest| (now - oldest).to_std().ok())
        .unwrap_or_default()
}

/// Whether a count read from the database has reached a limit.
fn reached(count: i64, limit: usize) -> bool {
    usize::try_from(count).unwrap_or(usize::MAX) >= limit
}

/// Says when a sweep is due: every `every`-th call of one instance.
#[derive(Debug)]
struct Sweeps {
    every: u64,
    calls: AtomicU64,
}

impl Sweeps {
    const fn new(every: u64) -> Self {
        Self {
            every,
            calls: AtomicU64::new(0),
        }
    }

    fn due(&self) -> bool {
        self.calls.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1
    }
}
