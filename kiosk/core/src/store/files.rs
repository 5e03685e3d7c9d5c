//! The pages a submission carries (申请材料), on the booth: written to `DATA/files/<sha256>`
//! (sealed to the county's key once the booth knows it, `sync_protocol::attachment`) and
//! listed in the `files` table before the submission that lists them commits; uploaded after
//! the server acknowledged that submission; deleted from disk once the server holds them.
//!
//! States of a listed file: `pending` → `held` (the server holds it whole; the local copy is
//! gone) or `refused` (the server refused it for good; kept for the technician). A file on
//! disk that no pending row lists (a crash between writing pages and committing) is removed
//! when the store opens.
//!
//! The disk budget: pages waiting to be uploaded may take at most `files_budget_bytes`
//! (default [`DEFAULT_BUDGET`]); a submission that would go past it is refused with
//! [`StoreError::FilesFull`] before anything is written, so the villager is told at once.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use sync_protocol::attachment::{AttachmentRef, seal_file, sha256_hex};
use sync_protocol::personal::CountyKey;
use uuid::Uuid;

use super::error::{Fault, StoreError};
use super::sql;

/// The folder beside the database.
pub const DIR: &str = "files";
/// Pages waiting to be uploaded may take this much disk unless set otherwise: about 500
/// pages of 500 KB.
pub const DEFAULT_BUDGET: u64 = 256 * 1024 * 1024;
const BUDGET_KEY: &str = "files_budget_bytes";

/// One page a villager photographed, as the apply flow hands it to `submit`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPage {
    /// The material's index in the catalogue item's list.
    pub material: u16,
    pub material_name: String,
    /// From 1 within the material.
    pub page: u16,
    /// The page's JPEG.
    pub jpeg: Vec<u8>,
}

impl std::fmt::Debug for NewPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NewPage(material {} page {}, {} bytes)",
            self.material,
            self.page,
            self.jpeg.len()
        )
    }
}

/// A listed file the uploader is to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFile {
    pub submission_id: Uuid,
    pub sha256: String,
    pub bytes: u64,
    pub path: PathBuf,
    pub attempts: u32,
}

/// The folder of a store's files.
pub(crate) fn dir_of(database: &Path) -> PathBuf {
    database.parent().unwrap_or(Path::new(".")).join(DIR)
}

/// The budget, and the bytes pending files take now.
pub(crate) fn budget(conn: &Connection) -> Result<(u64, u64), Fault> {
    let budget = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?1",
            [BUDGET_KEY],
            |row| row.get::<_, i64>(0),
        )
        .ok()
        .map_or(DEFAULT_BUDGET, |b| b.max(0) as u64);
    let used: i64 = conn.query_row(
        "SELECT COALESCE(SUM(bytes), 0) FROM (SELECT DISTINCT sha256, bytes FROM files WHERE state = 'pending')",
        [],
        |row| row.get(0),
    )?;
    Ok((budget, used.max(0) as u64))
}

pub(crate) fn set_budget(conn: &Connection, bytes: u64) -> Result<(), Fault> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![BUDGET_KEY, bytes.to_string()],
    )?;
    Ok(())
}

/// Seals (when the county's key is known) and writes each page, fsynced with its folder;
/// returns what the submission lists. Called inside `submit`'s transaction, before its commit.
pub(crate) fn write_pages(
    dir: &Path,
    submission: Uuid,
    key: Option<&CountyKey>,
    pages: &[NewPage],
) -> Result<Vec<AttachmentRef>, StoreError> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let io = |source| StoreError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut listed = Vec::with_capacity(pages.len());
    for page in pages {
        let bytes = match key {
            Some(key) => seal_file(key, submission, &page.jpeg),
            None => page.jpeg.clone(),
        };
        let sha256 = sha256_hex(&bytes);
        let path = dir.join(&sha256);
        let aside = dir.join(format!(".{sha256}.part"));
        let written = File::create(&aside)
            .and_then(|mut file| {
                file.write_all(&bytes)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&aside, &path));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&aside);
            return Err(if source.kind() == std::io::ErrorKind::StorageFull {
                StoreError::PagesDiskFull {
                    path: dir.to_path_buf(),
                    source,
                }
            } else {
                io(source)
            });
        }
        listed.push(AttachmentRef {
            sha256,
            bytes: bytes.len() as u64,
            material: page.material,
            material_name: page.material_name.clone(),
            page: page.page,
            sealed: key.is_some(),
        });
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(listed)
}

/// Lists a submission's files (in `submit`'s transaction).
pub(crate) fn list(
    conn: &Connection,
    submission: Uuid,
    files: &[AttachmentRef],
) -> Result<(), Fault> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO files (submission_id, sha256, bytes, material, material_name, page, sealed,
                            state, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)",
    )?;
    let id = submission.to_string();
    for file in files {
        insert.execute(params![
            id,
            file.sha256,
            file.bytes as i64,
            file.material,
            file.material_name,
            file.page,
            file.sealed,
            sql::time_text(sql::due_at_once()),
        ])?;
    }
    Ok(())
}

/// What a submission lists, in the order it was listed.
pub(crate) fn listed(conn: &Connection, submission: Uuid) -> Result<Vec<AttachmentRef>, Fault> {
    let mut statement = conn.prepare_cached(
        "SELECT sha256, bytes, material, material_name, page, sealed FROM files
         WHERE submission_id = ?1 ORDER BY rowid",
    )?;
    let rows = statement.query_map([submission.to_string()], |row| {
        Ok(AttachmentRef {
            sha256: row.get(0)?,
            bytes: row.get::<_, i64>(1)? as u64,
            material: row.get(2)?,
            material_name: row.get(3)?,
            page: row.get(4)?,
            sealed: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Pending files of acknowledged submissions whose next attempt is due, oldest first.
pub(crate) fn due(
    conn: &Connection,
    dir: &Path,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<PendingFile>, Fault> {
    let mut statement = conn.prepare_cached(
        "SELECT f.submission_id, f.sha256, f.bytes, f.attempts FROM files f
         JOIN submissions s ON s.id = f.submission_id
         WHERE f.state = 'pending' AND s.state = 'acknowledged' AND f.next_attempt_at <= ?1
         ORDER BY s.seq, f.rowid LIMIT ?2",
    )?;
    let rows = statement.query_map(
        params![
            sql::time_text(now),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, u32>(3)?,
            ))
        },
    )?;
    let mut due = Vec::new();
    for row in rows {
        let (id, sha256, bytes, attempts) = row?;
        due.push(PendingFile {
            submission_id: sql::parse_uuid(&id)?,
            path: dir.join(&sha256),
            sha256,
            bytes: bytes as u64,
            attempts,
        });
    }
    Ok(due)
}

/// The server holds the file: every listing of it is settled, and the local copy goes.
pub(crate) fn record_held(conn: &Connection, dir: &Path, sha256: &str) -> Result<(), Fault> {
    conn.execute(
        "UPDATE files SET state = 'held', last_error = NULL WHERE sha256 = ?1 AND state = 'pending'",
        [sha256],
    )?;
    // After the update is committed by the caller's statement (autocommit): a crash before the
    // removal leaves a file no pending row lists, removed at the next open.
    let _ = std::fs::remove_file(dir.join(sha256));
    Ok(())
}

/// An attempt failed: the file waits until `next_attempt_at`; `refused` settles it for good.
pub(crate) fn record_failure(
    conn: &Connection,
    sha256: &str,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    refused: bool,
) -> Result<(), Fault> {
    conn.execute(
        "UPDATE files SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
             state = CASE WHEN ?4 THEN 'refused' ELSE state END
         WHERE sha256 = ?1 AND state = 'pending'",
        params![sha256, error, sql::time_text(next_attempt_at), refused],
    )?;
    Ok(())
}

/// Counts by state: (pending, held, refused).
pub(crate) fn counts(conn: &Connection) -> Result<(u64, u64, u64), Fault> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'held'), 0),
                COALESCE(SUM(state = 'refused'), 0) FROM files",
        [],
        |row| {
            Ok((
                row.get::<_, i64>(0)? as u64,
                row.get::<_, i64>(1)? as u64,
                row.get::<_, i64>(2)? as u64,
            ))
        },
    )?)
}

/// Removes files on disk that no pending or refused row lists (pages of a submission that
/// never committed, copies the server already holds); returns how many.
pub(crate) fn remove_orphans(conn: &Connection, dir: &Path) -> Result<usize, Fault> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut keep =
        conn.prepare("SELECT 1 FROM files WHERE sha256 = ?1 AND state != 'held' LIMIT 1")?;
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let listed = keep.exists([name.as_str()])?;
        if !listed && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}
