//! The files submissions list and their uploads (`store::attachments`).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::submission::Submission;
use uuid::Uuid;

use super::SqliteStore;
use super::connection::{failed, millis, time};
use crate::store::attachments::{Advance, AttachmentStore, ListedFile};
use crate::store::{StoreError, StoreFuture, StoreResult};

/// Lists a newly stored submission's files (inside its ingest's transaction).
pub(super) fn list_files(conn: &Connection, submission: &Submission) -> StoreResult<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO attachments (submission_id, sha256, bytes, sealed, material, page)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(failed("list a submission's files"))?;
    let id = submission.id.to_string();
    for file in &submission.attachments {
        insert
            .execute(params![
                id,
                file.sha256,
                file.bytes as i64,
                file.sealed,
                file.material,
                file.page
            ])
            .map_err(failed("list a submission's files"))?;
    }
    Ok(())
}

const COLUMNS: &str = "a.submission_id, a.sha256, a.bytes, a.sealed, a.material, a.page, \
                       a.received, a.complete_at";

fn listed(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
    ))
}

type Raw = (String, String, i64, bool, u16, u16, i64, Option<i64>);

fn to_file(raw: Raw) -> StoreResult<ListedFile> {
    let (id, sha256, bytes, sealed, material, page, received, complete_at) = raw;
    Ok(ListedFile {
        submission_id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt {
            what: format!("attachment of submission `{id}`"),
        })?,
        sha256,
        bytes: bytes as u64,
        sealed,
        material,
        page,
        received: received as u64,
        complete_at: complete_at.map(time).transpose()?,
    })
}

fn listed_file(conn: &Connection, kiosk_id: &str, sha256: &str) -> StoreResult<Option<ListedFile>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attachments a JOIN submissions s ON s.id = a.submission_id
         WHERE a.sha256 = ?2 AND s.kiosk_id = ?1
         ORDER BY s.received_at, a.submission_id LIMIT 1"
    ))
    .and_then(|mut statement| {
        statement
            .query_row(params![kiosk_id, sha256], listed)
            .optional()
    })
    .map_err(failed("find a listed file"))?
    .map(to_file)
    .transpose()
}

fn advance(
    conn: &Connection,
    kiosk_id: &str,
    sha256: &str,
    from: u64,
    to: u64,
) -> StoreResult<Advance> {
    let changed = conn
        .prepare_cached(
            "UPDATE attachments SET received = ?4
             WHERE sha256 = ?2 AND received = ?3 AND complete_at IS NULL
               AND submission_id IN (SELECT id FROM submissions WHERE kiosk_id = ?1)",
        )
        .and_then(|mut statement| {
            statement.execute(params![kiosk_id, sha256, from as i64, to as i64])
        })
        .map_err(failed("record a file's chunk"))?;
    if changed > 0 {
        return Ok(Advance::Advanced { received: to });
    }
    Ok(match listed_file(conn, kiosk_id, sha256)? {
        None => Advance::NotListed,
        Some(file) => Advance::Elsewhere {
            received: file.received,
            complete: file.complete_at.is_some(),
        },
    })
}

fn set_upload(
    conn: &Connection,
    kiosk_id: &str,
    sha256: &str,
    complete: Option<(i64, u32)>,
) -> StoreResult<()> {
    let received = if complete.is_some() { "bytes" } else { "0" };
    conn.execute(
        &format!(
            "UPDATE attachments SET received = {received}, complete_at = ?3, sealed_with = ?4
             WHERE sha256 = ?2 AND submission_id IN (SELECT id FROM submissions WHERE kiosk_id = ?1)"
        ),
        params![
            kiosk_id,
            sha256,
            complete.map(|(at, _)| at),
            complete.map(|(_, key)| key)
        ],
    )
    .map_err(failed("record a file's upload"))?;
    Ok(())
}

fn submission_files(conn: &Connection, submission_id: Uuid) -> StoreResult<Vec<ListedFile>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM attachments a WHERE a.submission_id = ?1
             ORDER BY a.material, a.page, a.sha256"
        ))
        .map_err(failed("list a submission's files"))?;
    let rows = statement
        .query_map([submission_id.to_string()], listed)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(failed("list a submission's files"))?;
    rows.into_iter().map(to_file).collect()
}

impl AttachmentStore for SqliteStore {
    fn listed_file<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
    ) -> StoreFuture<'a, Option<ListedFile>> {
        let (kiosk_id, sha256) = (kiosk_id.to_owned(), sha256.to_owned());
        Box::pin(
            self.readers
                .read(move |conn| listed_file(conn, &kiosk_id, &sha256)),
        )
    }

    fn advance_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        from: u64,
        to: u64,
    ) -> StoreFuture<'a, Advance> {
        let (kiosk_id, sha256) = (kiosk_id.to_owned(), sha256.to_owned());
        Box::pin(self.writer.write("record a file's chunk", move |conn| {
            advance(conn, &kiosk_id, &sha256, from, to)
        }))
    }

    fn finish_upload<'a>(
        &'a self,
        kiosk_id: &'a str,
        sha256: &'a str,
        sealed_with: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        let (kiosk_id, sha256) = (kiosk_id.to_owned(), sha256.to_owned());
        Box::pin(self.writer.write("record a whole file", move |conn| {
            set_upload(conn, &kiosk_id, &sha256, Some((millis(now), sealed_with)))
        }))
    }

    fn restart_upload<'a>(&'a self, kiosk_id: &'a str, sha256: &'a str) -> StoreFuture<'a, ()> {
        let (kiosk_id, sha256) = (kiosk_id.to_owned(), sha256.to_owned());
        Box::pin(
            self.writer
                .write("start a file's upload over", move |conn| {
                    set_upload(conn, &kiosk_id, &sha256, None)
                }),
        )
    }

    fn submission_files(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ListedFile>> {
        Box::pin(
            self.readers
                .read(move |conn| submission_files(conn, submission_id)),
        )
    }
}
