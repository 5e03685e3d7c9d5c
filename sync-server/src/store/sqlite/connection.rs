//! Opening connections with the pragmas every one needs, and the conversions between SQLite
//! values and the store's types.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};

use crate::store::{StoreError, StoreResult};

/// How long a connection waits for another process's write lock (a staff command) before
/// failing. Staff commands hold it for milliseconds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        source: Arc::new(source),
    }
}

/// The write connection: WAL (readers never block the writer), `synchronous=FULL` (a commit the
/// server acknowledged to a booth survives a power cut), foreign keys on.
pub(super) fn open_writer(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    // journal_mode answers with a row, so it cannot go through execute_batch.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(
            path,
            rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, WAL is needed (is the file on a network filesystem?)"
            )),
        ));
    }
    // secure_delete: a value overwritten or deleted (plain text being sealed, a value being
    // re-sealed under a new key) is zeroed in the file, not left in a free slot.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
    )
    .map_err(|e| open_error(path, e))?;
    Ok(conn)
}

pub(super) fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        // Read-write without CREATE: a read-only handle depends on the WAL's shared-memory
        // file already existing; `query_only` keeps this one from writing.
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    conn.execute_batch("PRAGMA query_only = ON;")
        .map_err(|e| open_error(path, e))?;
    // Every booth request looks its kiosk up and most read a feed: their statements stay
    // prepared (compiling one costs more than running it), with room for the staff pages'.
    conn.set_prepared_statement_cache_capacity(READER_STATEMENT_CACHE);
    Ok(conn)
}

/// Statements a reader connection keeps prepared (rusqlite's default is 16).
const READER_STATEMENT_CACHE: usize = 64;

/// A connection that cannot write: for a copy of the database that must stay as it is. WAL
/// needs the `-shm` file; SQLite makes it if the folder is writable, or uses the one a running
/// server keeps.
pub(super) fn open_read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    conn.execute_batch("PRAGMA query_only = ON;")
        .map_err(|e| open_error(path, e))?;
    Ok(conn)
}

/// Maps a SQLite error to the operation that failed.
pub(super) fn failed(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::backend(operation, source)
}

/// Times are stored as Unix milliseconds.
pub(super) fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(super) fn time(millis: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| StoreError::Corrupt {
        what: format!("timestamp {millis}"),
    })
}

pub(super) use crate::store::values::{from_json, stored_now, to_json};
