//! The files submissions list and their uploads (`store::attachments`).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::submission::Submission;
use uuid::Uuid;

use super::SqliteStore;
use super::connection::{failed, millis, stored_now, time};
use super::sealed::REVIEW_COMMENT;
use crate::store::attachments::{
    Advance, AttachmentStore, ListedFile, PhonePage, PhoneUploadOutcome, PhoneUploadSlot,
};
use crate::store::sealing::KeyRing;
use crate::store::values::{materials_to_column, phone_materials};
use crate::store::{PHONE_UPLOAD_ACTION, PHONE_UPLOAD_ACTOR, StoreError, StoreFuture, StoreResult};

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
                       a.received, a.complete_at, a.phone_at";

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
        row.get(8)?,
    ))
}

type Raw = (
    String,
    String,
    i64,
    bool,
    u16,
    u16,
    i64,
    Option<i64>,
    Option<i64>,
);

fn to_file(raw: Raw) -> StoreResult<ListedFile> {
    let (id, sha256, bytes, sealed, material, page, received, complete_at, phone_at) = raw;
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
        phone_at: phone_at.map(time).transpose()?,
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

fn phone_upload_slot(conn: &Connection, token_hash: &str) -> StoreResult<Option<PhoneUploadSlot>> {
    let found = conn
        .prepare_cached(
            "SELECT s.id, s.phone_upload_used_at, s.phone_upload_pages,
                    (SELECT COUNT(*) FROM attachments a WHERE a.submission_id = s.id)
             FROM submissions s WHERE s.phone_upload = ?1
             ORDER BY s.received_at, s.id LIMIT 1",
        )
        .and_then(|mut statement| {
            statement
                .query_row([token_hash], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()
        })
        .map_err(failed("look up a phone upload"))?;
    let Some((id, used_at, used_pages, pages)) = found else {
        return Ok(None);
    };
    Ok(Some(PhoneUploadSlot {
        submission_id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt {
            what: format!("the phone upload of submission `{id}`"),
        })?,
        used: used_at
            .map(|at| Ok::<_, StoreError>((time(at)?, used_pages.unwrap_or(0) as u16)))
            .transpose()?,
        pages: pages as u32,
    }))
}

fn record_phone_upload(
    conn: &Connection,
    keys: &KeyRing,
    token_hash: &str,
    pages: &[PhonePage],
    max_pages: u32,
    now: DateTime<Utc>,
) -> StoreResult<PhoneUploadOutcome> {
    // The writer thread is the only writer: what is read here holds until the commit.
    let Some(slot) = phone_upload_slot(conn, token_hash)? else {
        return Ok(PhoneUploadOutcome::Unknown);
    };
    if let Some((at, pages)) = slot.used {
        return Ok(PhoneUploadOutcome::AlreadyUsed { at, pages });
    }
    if slot.pages as usize + pages.len() > max_pages as usize {
        return Ok(PhoneUploadOutcome::TooManyPages { held: slot.pages });
    }
    let now = stored_now(now);
    let id = slot.submission_id.to_string();
    let count = pages.len() as u16;
    conn.execute(
        "UPDATE submissions SET phone_upload_used_at = ?2, phone_upload_pages = ?3
         WHERE id = ?1 AND phone_upload_used_at IS NULL",
        params![id, millis(now), count],
    )
    .map_err(failed("record a phone upload"))?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO attachments (submission_id, sha256, bytes, sealed, material, page,
                                      received, complete_at, sealed_with, phone_at)
             SELECT ?1, ?2, ?3, 0, ?4,
                    COALESCE((SELECT MAX(page) FROM attachments
                              WHERE submission_id = ?1 AND material = ?4), 0) + 1,
                    ?3, ?5, ?6, ?5
             WHERE NOT EXISTS (SELECT 1 FROM attachments WHERE submission_id = ?1 AND sha256 = ?2)",
        )
        .map_err(failed("record a phone upload"))?;
    for page in pages {
        insert
            .execute(params![
                id,
                page.sha256,
                page.bytes as i64,
                page.material,
                millis(now),
                page.sealed_with
            ])
            .map_err(failed("record a phone upload"))?;
    }
    let stage: i64 = conn
        .query_row(
            "SELECT stage FROM submissions WHERE id = ?1",
            [&id],
            |row| row.get(0),
        )
        .map_err(failed("record a phone upload"))?;
    conn.execute(
        "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at, materials)
         VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
        params![
            id,
            stage,
            PHONE_UPLOAD_ACTOR,
            PHONE_UPLOAD_ACTION,
            millis(now),
            materials_to_column(&phone_materials(pages))?,
        ],
    )
    .map_err(failed("record a phone upload"))?;
    // The comment is sealed to the action's number, as every history comment is.
    let seq = conn.last_insert_rowid();
    conn.execute(
        "UPDATE review_actions SET comment = ?2 WHERE seq = ?1",
        params![
            seq,
            REVIEW_COMMENT.seal(keys, &seq.to_string(), &count.to_string())
        ],
    )
    .map_err(failed("record a phone upload"))?;
    Ok(PhoneUploadOutcome::Recorded {
        submission_id: slot.submission_id,
        pages: count,
    })
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

    fn phone_upload_slot<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> StoreFuture<'a, Option<PhoneUploadSlot>> {
        let token_hash = token_hash.to_owned();
        Box::pin(
            self.readers
                .read(move |conn| phone_upload_slot(conn, &token_hash)),
        )
    }

    fn record_phone_upload<'a>(
        &'a self,
        token_hash: &'a str,
        pages: Vec<PhonePage>,
        max_pages: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, PhoneUploadOutcome> {
        let token_hash = token_hash.to_owned();
        let keys = self.keys();
        Box::pin(self.writer.write("record a phone upload", move |conn| {
            record_phone_upload(conn, &keys, &token_hash, &pages, max_pages, now)
        }))
    }
}
