//! What the booth's updater (`booth-update`, root) does to a store that no kiosk has open:
//! reads its schema version, takes a consistent one-file snapshot, and merges the queue of a
//! failed release back into a restored snapshot.
//!
//! None of these touch the live files: SQLite is only ever run on private copies. Opening the
//! live database as root, even read-only, could leave root-owned `-wal`/`-shm` files beside
//! it that the kiosk (user `booth`) then cannot open; and the updater promises that the store
//! file is never changed except by a restore.

use std::fs::{self, File};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// Why an operation on a closed store failed.
#[derive(Debug, thiserror::Error)]
pub enum ClosedError {
    #[error("cannot read or write {}: {source}; check the data partition", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the store copy {} cannot be read by SQLite: {source}; keep the file for recovery", .path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{} is not a SQLite database (its header is wrong): keep the file for recovery",
        .path.display()
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "the store copy {} failed its integrity check ({detail}): keep the file for recovery",
        .path.display()
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "cannot merge table {table}: its column {column} is required in the restored store and missing in the failed one; merge the failed store by hand"
    )]
    Unmergeable { table: &'static str, column: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ClosedError + '_ {
    move |source| ClosedError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sql_error(path: &Path) -> impl FnOnce(rusqlite::Error) -> ClosedError + '_ {
    move |source| ClosedError::Sql {
        path: path.to_owned(),
        source,
    }
}

/// `<db>-wal`, `<db>-shm`.
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

// ── the schema version, read from the files' bytes ─────────────────────────────────────────

const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// `PRAGMA user_version`: a big-endian u32 at this offset of page 1.
const USER_VERSION_AT: usize = 60;
const WAL_HEADER: usize = 32;
const WAL_FRAME_HEADER: usize = 24;

/// The schema version (`PRAGMA user_version`) of the database file `db`, as the last
/// committed transaction left it: from its write-ahead log when one is beside it (a kiosk
/// that crashed or lost power leaves one), else from the file. `None` when there is no
/// database yet (no file, or the empty file the kiosk makes before SQLite writes to it).
///
/// Read from the bytes because SQLite itself would have to open the live files (see the
/// module's documentation). The log is read as SQLite reads it on recovery: frames whose
/// salts match the log's header and whose running checksums verify, up to the last commit.
pub fn schema_on_disk(db: &Path) -> Result<Option<u32>, ClosedError> {
    let header = match read_prefix(db, 100) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_error(db)(err)),
    };
    let from_file = if header.is_empty() {
        None
    } else if header.len() < 100 || &header[..16] != HEADER_MAGIC {
        return Err(ClosedError::NotADatabase {
            path: db.to_owned(),
        });
    } else {
        Some(be32(&header[USER_VERSION_AT..]))
    };
    let wal_path = beside(db, "-wal");
    let wal = match fs::read(&wal_path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(from_file),
        Err(err) => return Err(io_error(&wal_path)(err)),
    };
    Ok(page1_in_wal(&wal)
        .map(|page| be32(&page[USER_VERSION_AT..]))
        .or(from_file))
}

fn read_prefix(path: &Path, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// The newest committed copy of page 1 in a write-ahead log, if it holds one.
fn page1_in_wal(wal: &[u8]) -> Option<&[u8]> {
    if wal.len() < WAL_HEADER {
        return None;
    }
    let big_endian = match be32(&wal[0..]) {
        0x377f_0682 => false,
        0x377f_0683 => true,
        _ => return None,
    };
    let page_size = be32(&wal[8..]) as usize;
    if page_size < 512 || !page_size.is_power_of_two() || page_size < USER_VERSION_AT + 4 {
        return None;
    }
    let salts = &wal[16..24];
    let mut sum = wal_checksum(big_endian, &wal[..24], (0, 0));
    if sum != (be32(&wal[24..]), be32(&wal[28..])) {
        return None;
    }
    let mut page1 = None;
    let mut committed = None;
    let mut at = WAL_HEADER;
    while at + WAL_FRAME_HEADER + page_size <= wal.len() {
        let frame = &wal[at..at + WAL_FRAME_HEADER];
        let page = &wal[at + WAL_FRAME_HEADER..at + WAL_FRAME_HEADER + page_size];
        if &frame[8..16] != salts {
            break;
        }
        sum = wal_checksum(big_endian, &frame[..8], sum);
        sum = wal_checksum(big_endian, page, sum);
        if sum != (be32(&frame[16..]), be32(&frame[20..])) {
            break;
        }
        if be32(frame) == 1 {
            page1 = Some(page);
        }
        // A non-zero database size marks the last frame of a transaction.
        if be32(&frame[4..]) != 0 {
            committed = page1;
        }
        at += WAL_FRAME_HEADER + page_size;
    }
    committed
}

/// SQLite's WAL checksum: over 32-bit words in the log's byte order, two running sums.
fn wal_checksum(big_endian: bool, data: &[u8], (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    let word = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    for pair in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

// ── snapshots ──────────────────────────────────────────────────────────────────────────────

/// Writes a consistent, self-contained copy of the database `db` (and its write-ahead log,
/// if any) to `to`, which must not exist: the files are copied, then SQLite checkpoints the
/// copy's log into it and checks it, so `to` is one file. `to`'s directory should be private
/// (the copy holds personal data); `to` gets mode 0600 and is fsynced with its directory.
/// On error nothing is left at `to`.
pub fn snapshot(db: &Path, to: &Path) -> Result<(), ClosedError> {
    let made = (|| {
        copy_new(db, to)?;
        let wal = beside(db, "-wal");
        if wal.exists() {
            copy_new(&wal, &beside(to, "-wal"))?;
        }
        settle(to)?;
        sync_file_and_dir(to)
    })();
    if made.is_err() {
        remove_with_log(to);
    }
    made
}

/// Removes `db` and whatever SQLite left beside it.
pub fn remove_with_log(db: &Path) {
    for path in [db.to_owned(), beside(db, "-wal"), beside(db, "-shm")] {
        let _ = fs::remove_file(path);
    }
}

/// Copies `from` to the new file `to` with mode 0600.
fn copy_new(from: &Path, to: &Path) -> Result<(), ClosedError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut source = File::open(from).map_err(io_error(from))?;
    let mut target = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(io_error(to))?;
    io::copy(&mut source, &mut target).map_err(io_error(to))?;
    target.sync_all().map_err(io_error(to))
}

/// Checkpoints a private copy's log into it (leaving one file) and runs `quick_check`.
fn settle(db: &Path) -> Result<(), ClosedError> {
    let conn = open_copy(db)?;
    let problems: Vec<String> = {
        let mut statement = conn
            .prepare("PRAGMA quick_check(5)")
            .map_err(sql_error(db))?;
        statement
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect())
            .map_err(sql_error(db))?
    };
    if problems != ["ok"] {
        return Err(ClosedError::Damaged {
            path: db.to_owned(),
            detail: problems.join("; "),
        });
    }
    close_settled(conn, db)
}

fn open_copy(db: &Path) -> Result<Connection, ClosedError> {
    let header = read_prefix(db, 16).map_err(io_error(db))?;
    if header.as_slice() != HEADER_MAGIC {
        return Err(ClosedError::NotADatabase {
            path: db.to_owned(),
        });
    }
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql_error(db))
}

/// Empties the copy's log into it and closes it; the last close removes the log.
fn close_settled(conn: Connection, db: &Path) -> Result<(), ClosedError> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(sql_error(db))?;
    conn.close().map_err(|(_, source)| sql_error(db)(source))?;
    for leftover in [beside(db, "-wal"), beside(db, "-shm")] {
        match fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(io_error(&leftover)(err)),
        }
    }
    Ok(())
}

fn sync_file_and_dir(path: &Path) -> Result<(), ClosedError> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(io_error(path))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(io_error(dir))
}

// ── merging a failed release's queue back ──────────────────────────────────────────────────

/// What [`merge_unsent`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub submissions: usize,
    pub receipts: usize,
    pub status_changes: usize,
    pub files: usize,
}

/// The outbox's tables, parents first, each with the columns that identify a row.
const MERGED_TABLES: [(&str, &[&str]); 4] = [
    ("submissions", &["id"]),
    ("receipts", &["number"]),
    ("status_history", &["submission_id", "changed_at", "status"]),
    // The pages' bytes stay in DATA/files, which a restore does not touch.
    ("files", &["submission_id", "sha256"]),
];

/// Copies into the database `into` every submission (with its receipt and status history)
/// that the database `from` holds and `into` does not, in one transaction, and moves
/// `into`'s receipt sequence past everything copied so no receipt number is issued twice.
/// Both must be private, self-contained snapshots ([`snapshot`]); `into` is left settled.
///
/// This is the replay after a restore: `into` is the store as backed up before an install,
/// `from` the store the failed release left. Rows present in both are kept as `into` has
/// them: an item the failed release already delivered is uploaded again and the server
/// answers `duplicate` (its ingest is idempotent by id), so nothing is lost or doubled.
/// Columns are matched by name; a column `into` requires that `from` lacks stops the merge.
pub fn merge_unsent(into: &Path, from: &Path) -> Result<Merged, ClosedError> {
    // Checked before SQLite attaches it: ATTACH would make an empty database of a missing file.
    open_copy(from)?;
    let mut conn = open_copy(into)?;
    let fail = sql_error(into);
    conn.execute("ATTACH DATABASE ?1 AS failed", [from.to_string_lossy()])
        .map_err(sql_error(into))?;
    let tx = conn.transaction().map_err(sql_error(into))?;
    let mut counts = [0usize; 4];
    for (count, (table, key)) in counts.iter_mut().zip(MERGED_TABLES) {
        *count = merge_table(&tx, table, key).map_err(|err| match err {
            MergeFault::Sql(source) => sql_error(into)(source),
            MergeFault::Missing(column) => ClosedError::Unmergeable { table, column },
        })?;
    }
    // The next receipt number comes after every sequence number either store issued.
    tx.execute(
        "INSERT INTO main.settings (key, value)
         SELECT 'last_seq', CAST(MAX(n) AS TEXT) FROM (
             SELECT CAST(value AS INTEGER) AS n FROM main.settings WHERE key = 'last_seq'
             UNION ALL SELECT CAST(value AS INTEGER) FROM failed.settings WHERE key = 'last_seq'
             UNION ALL SELECT MAX(seq) FROM main.submissions)
         WHERE n IS NOT NULL
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )
    .map_err(sql_error(into))?;
    tx.commit().map_err(sql_error(into))?;
    conn.execute("DETACH DATABASE failed", []).map_err(fail)?;
    close_settled(conn, into)?;
    sync_file_and_dir(into)?;
    let [submissions, receipts, status_changes, files] = counts;
    Ok(Merged {
        submissions,
        receipts,
        status_changes,
        files,
    })
}

enum MergeFault {
    Sql(rusqlite::Error),
    Missing(String),
}

impl From<rusqlite::Error> for MergeFault {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

/// (name, required: NOT NULL without a default) of each column of `schema.table`.
fn columns(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<Vec<(String, bool)>> {
    let mut statement = conn.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    statement
        .query_map([], |row| {
            let name: String = row.get(1)?;
            let not_null: bool = row.get(3)?;
            let default: Option<String> = row.get(4)?;
            let primary: i64 = row.get(5)?;
            Ok((name, (not_null || primary > 0) && default.is_none()))
        })?
        .collect()
}

fn merge_table(conn: &Connection, table: &str, key: &[&str]) -> Result<usize, MergeFault> {
    let into = columns(conn, "main", table)?;
    let from: Vec<String> = columns(conn, "failed", table)?
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    if from.is_empty() {
        // The failed release dropped the table: nothing of it to bring back.
        return Ok(0);
    }
    if into.is_empty() {
        // The restored store predates the table (an older release that never listed files):
        // nothing can hold its rows there.
        return Ok(0);
    }
    if let Some((missing, _)) = into
        .iter()
        .find(|(name, required)| *required && !from.contains(name))
    {
        return Err(MergeFault::Missing(missing.clone()));
    }
    let common: Vec<String> = into
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| from.contains(name))
        .map(|name| format!("\"{}\"", name.replace('"', "\"\"")))
        .collect();
    let list = common.join(", ");
    let same = key
        .iter()
        .map(|column| format!("m.{column} = f.{column}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let select = common
        .iter()
        .map(|column| format!("f.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Oldest first, as they were queued.
    let order = if table == "submissions" {
        "f.seq"
    } else {
        "f.rowid"
    };
    let copied = conn.execute(
        &format!(
            "INSERT INTO main.{table} ({list}) SELECT {select} FROM failed.{table} f
             WHERE NOT EXISTS (SELECT 1 FROM main.{table} m WHERE {same}) ORDER BY {order}"
        ),
        [],
    )?;
    Ok(copied)
}

#[cfg(test)]
mod tests;
