//! Opening the database file: durability pragmas, the unclean-shutdown check, migrations, and
//! moving a damaged file aside (never replacing it silently).
//!
//! Unclean shutdown: every open `Store` leaves a row in `open_sessions` (boot id, pid) and
//! deletes it when dropped. A row whose process is gone, or which was written in an earlier
//! boot, means a process died or the power was cut with the database open: then
//! `PRAGMA quick_check` runs before anything else touches the file.

use std::fs::{self, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, TransactionBehavior, params};

use super::error::{Fault, SqlKind, StoreError, classify};
use super::{schema, sql};

/// The database file inside the data directory.
pub const DB_FILE: &str = "kiosk.sqlite3";

/// How long a write waits for another kiosk process (the technician's CLI next to the running
/// app) before giving up with [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`open`] hands to the `Store`.
pub(crate) struct Opened {
    pub conn: Connection,
    pub path: PathBuf,
    /// `None` when the session row could not be written (disk full): reading still works.
    pub session_id: Option<String>,
    pub checked_after_unclean_shutdown: bool,
}

pub(crate) fn open(data_dir: &Path) -> Result<Opened, StoreError> {
    ensure_private_dir(data_dir)?;
    let path = data_dir.join(DB_FILE);
    create_private_file(&path)?;
    let mut conn = match Connection::open(&path) {
        Ok(conn) => conn,
        Err(error) => return Err(fail_open(&path, error)),
    };
    let checked = match prepare(&mut conn, &path) {
        Ok(checked) => checked,
        Err(Fault::Store(StoreError::Corrupt { detail, .. })) => {
            drop(conn);
            return Err(move_aside(&path, detail));
        }
        Err(Fault::Sql(error)) if classify(&error) == SqlKind::Corrupt => {
            drop(conn);
            return Err(move_aside(&path, error.to_string()));
        }
        Err(Fault::Sql(error)) => return Err(fail_open(&path, error)),
        Err(Fault::Store(error)) => return Err(error),
        Err(Fault::Decode { what, source }) => {
            return Err(StoreError::Decode { path, what, source });
        }
    };
    let session_id = match register_session(&mut conn) {
        Ok(id) => Some(id),
        // A full disk must not stop the technician from looking at the queue.
        Err(error) if classify(&error) == SqlKind::DiskFull => None,
        Err(error) => return Err(fail_open(&path, error)),
    };
    Ok(Opened {
        conn,
        path,
        session_id,
        checked_after_unclean_shutdown: checked,
    })
}

/// Pragmas, version check, unclean-shutdown check, migrations. Returns whether `quick_check`
/// ran.
fn prepare(conn: &mut Connection, path: &Path) -> Result<bool, Fault> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer. FULL: a commit is on disk when it returns (NORMAL
    // could lose the last commits on power loss, which would un-issue a printed receipt).
    // If the file system cannot do WAL the mode stays a rollback journal, which with FULL is
    // just as durable, only slower.
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Minimised personal data is overwritten with zeros instead of lingering in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;

    let version = schema::version(conn)?;
    if version > schema::READS_UP_TO {
        return Err(Fault::Store(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known: schema::READS_UP_TO,
        }));
    }
    let mut checked = false;
    if version >= 1 && !stale_sessions(conn)?.is_empty() {
        checked = true;
        let problems = quick_check(conn)?;
        if !problems.is_empty() {
            return Err(Fault::Store(StoreError::Corrupt {
                path: path.to_owned(),
                moved_to: PathBuf::new(),
                detail: problems.join("; "),
            }));
        }
    }
    schema::migrate(conn, version)?;
    Ok(checked)
}

/// Sessions whose process is gone: a different boot, or a pid that no longer runs.
fn stale_sessions(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let boot = boot_id();
    let mut statement = conn.prepare("SELECT session_id, boot_id, pid FROM open_sessions")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    let mut stale = Vec::new();
    for row in rows {
        let (id, row_boot, pid) = row?;
        if row_boot != boot || !process_alive(pid) {
            stale.push(id);
        }
    }
    Ok(stale)
}

/// `PRAGMA quick_check`'s complaints; empty when the file is sound.
fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare("PRAGMA quick_check(5)")?;
    let lines = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(if lines == ["ok"] { Vec::new() } else { lines })
}

/// Forgets the sessions of dead processes (their check is done) and records this one.
fn register_session(conn: &mut Connection) -> rusqlite::Result<String> {
    let stale = stale_sessions(conn)?;
    let session_id = uuid::Uuid::now_v7().to_string();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for id in &stale {
        tx.execute("DELETE FROM open_sessions WHERE session_id = ?1", [id])?;
    }
    tx.execute(
        "INSERT INTO open_sessions (session_id, boot_id, pid, opened_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            session_id,
            boot_id(),
            i64::from(std::process::id()),
            sql::time_text(Utc::now())
        ],
    )?;
    tx.commit()?;
    Ok(session_id)
}

/// Changes with every boot, so a row from before a power cut is recognised as stale even if
/// its pid is reused.
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|_| "unknown-boot".to_owned())
}

fn process_alive(pid: i64) -> bool {
    let proc_root = Path::new("/proc");
    // Without /proc nothing can be told apart; assume alive rather than check on every open.
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

/// The data holds personal data until acknowledged: only the kiosk user may enter.
fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StoreError::DataDir {
            path: dir.to_owned(),
            source,
        })
}

/// SQLite gives its `-wal` and `-shm` files the database file's mode, so creating the file
/// 0600 first keeps all three private.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::DataDir {
            path: path.to_owned(),
            source,
        }),
    }
}

fn fail_open(path: &Path, error: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match classify(&error) {
        SqlKind::DiskFull => StoreError::DiskFull {
            path,
            source: error,
        },
        SqlKind::Busy => StoreError::Busy {
            path,
            source: error,
        },
        SqlKind::Corrupt | SqlKind::Other => StoreError::Database {
            path,
            source: error,
        },
    }
}

/// Renames `kiosk.sqlite3` (and its `-wal`, `-shm`) to `kiosk.sqlite3.corrupt-<UTC time>`
/// (`-wal`, `-shm`), so SQLite tools opening the moved file still see its log.
fn move_aside(path: &Path, detail: String) -> StoreError {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let base = path.as_os_str().to_string_lossy().into_owned();
    let mut moved_to = PathBuf::from(format!("{base}.corrupt-{stamp}"));
    let mut attempt = 1;
    while moved_to.exists() {
        moved_to = PathBuf::from(format!("{base}.corrupt-{stamp}-{attempt}"));
        attempt += 1;
    }
    let moved = moved_to.as_os_str().to_string_lossy().into_owned();
    let result = fs::rename(path, &moved_to).and_then(|()| {
        for suffix in ["-wal", "-shm"] {
            match fs::rename(format!("{base}{suffix}"), format!("{moved}{suffix}")) {
                Err(error) if error.kind() != ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        match path.parent() {
            Some(dir) => fs::File::open(dir)?.sync_all(),
            None => Ok(()),
        }
    });
    match result {
        Ok(()) => StoreError::Corrupt {
            path: path.to_owned(),
            moved_to,
            detail,
        },
        Err(source) => StoreError::MoveAside {
            path: path.to_owned(),
            detail,
            source,
        },
    }
}
