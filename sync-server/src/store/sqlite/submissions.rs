//! Idempotent ingest, staff queries and status changes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::submission::Submission;
use uuid::Uuid;

use super::connection::{failed, from_json, millis, stored_now, time, to_json};
use crate::store::{
    ConflictReason, IngestItem, IngestOutcome, KioskRef, StoreError, StoreResult, SubmissionFilter,
    SubmissionRecord, SubmissionRef,
};

pub(super) fn ingest(
    conn: &Connection,
    kiosk_id: &str,
    items: &[IngestItem],
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    let now = stored_now(now);
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                      content_digest, body, received_at, status_changed_at,
                                      rating, county, township, village)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT DO NOTHING",
        )
        .map_err(failed("store a submission"))?;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let submission = &item.submission;
        let place = handed_in_at(conn, kiosk_id, submission.created_at)?;
        // The claim: the insert itself. Both the id and the receipt number are unique, so a
        // second copy inserts nothing and is told apart below, inside the same transaction.
        let inserted = insert
            .execute(params![
                submission.id.to_string(),
                kiosk_id,
                submission.receipt_number,
                submission.kind.as_str(),
                submission.item_code,
                SubmissionStatus::Received.as_str(),
                item.content_digest,
                to_json(submission)?,
                millis(now),
                submission.rating,
                place.county,
                place.township,
                place.village,
            ])
            .map_err(failed("store a submission"))?;
        let outcome = if inserted == 1 {
            append_status_change(
                conn,
                &StatusChange {
                    submission_id: submission.id,
                    receipt_number: submission.receipt_number.clone(),
                    status: SubmissionStatus::Received,
                    note: None,
                    changed_at: now,
                },
                kiosk_id,
            )?;
            IngestOutcome::Accepted { received_at: now }
        } else {
            existing_outcome(conn, item)?
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The village a submission was handed in at: that of the identity of the uploading booth
/// (its kiosk number's chain of re-enrollments) that was enrolled last before the submission
/// was made (the first, for one made before any by the booth's clock). A submission made in
/// one village and uploaded after the booth was re-enrolled into another still belongs to the
/// first; so does everything the booth uploaded before.
fn handed_in_at(
    conn: &Connection,
    kiosk_id: &str,
    created_at: DateTime<Utc>,
) -> StoreResult<Village> {
    conn.prepare_cached(
        "SELECT p.county, p.township, p.village
         FROM kiosks k JOIN kiosks p ON p.kiosk_number = k.kiosk_number
         WHERE k.kiosk_id = ?1
         ORDER BY p.enrolled_at <= ?2 DESC,
                  CASE WHEN p.enrolled_at <= ?2 THEN -p.enrolled_at ELSE p.enrolled_at END,
                  p.rowid DESC
         LIMIT 1",
    )
    .and_then(|mut statement| {
        statement.query_row(params![kiosk_id, millis(created_at)], |row| {
            Ok(Village {
                county: row.get(0)?,
                township: row.get(1)?,
                village: row.get(2)?,
            })
        })
    })
    .map_err(failed("find where a submission was made"))
}

fn existing_outcome(conn: &Connection, item: &IngestItem) -> StoreResult<IngestOutcome> {
    let stored: Option<(String, i64)> = conn
        .query_row(
            "SELECT content_digest, received_at FROM submissions WHERE id = ?1",
            [item.submission.id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(failed("look up a submission"))?;
    if let Some((digest, received_at)) = stored {
        return Ok(if digest == item.content_digest {
            IngestOutcome::Duplicate {
                received_at: time(received_at)?,
            }
        } else {
            IngestOutcome::Conflict(ConflictReason::DifferentContent)
        });
    }
    let holder: String = conn
        .query_row(
            "SELECT id FROM submissions WHERE receipt_number = ?1",
            [&item.submission.receipt_number],
            |row| row.get(0),
        )
        .map_err(failed("look up a receipt number"))?;
    Ok(IngestOutcome::Conflict(
        ConflictReason::ReceiptNumberTaken {
            by: parse_uuid(&holder)?,
        },
    ))
}

pub(super) fn append_status_change(
    conn: &Connection,
    change: &StatusChange,
    kiosk_id: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status, note,
                                     changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            change.submission_id.to_string(),
            kiosk_id,
            change.receipt_number,
            change.status.as_str(),
            change.note,
            millis(change.changed_at),
        ])
    })
    .map_err(failed("record a status change"))?;
    Ok(())
}

fn parse_uuid(text: &str) -> StoreResult<Uuid> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: format!("submission id `{text}`"),
    })
}

pub(super) fn parse_status(text: &str) -> StoreResult<SubmissionStatus> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: format!("status `{text}`"),
    })
}

pub(super) const RECORD_COLUMNS: &str = "s.body, s.kiosk_id, k.kiosk_number, s.status, s.received_at, \
     s.status_changed_at";

pub(super) struct RecordRow {
    body: String,
    kiosk_id: String,
    kiosk_number: i64,
    status: String,
    received_at: i64,
    status_changed_at: i64,
}

pub(super) fn record_row(row: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        body: row.get(0)?,
        kiosk_id: row.get(1)?,
        kiosk_number: row.get(2)?,
        status: row.get(3)?,
        received_at: row.get(4)?,
        status_changed_at: row.get(5)?,
    })
}

impl RecordRow {
    pub(super) fn into_record(self) -> StoreResult<SubmissionRecord> {
        Ok(SubmissionRecord {
            submission: from_json::<Submission>("a submission", &self.body)?,
            kiosk_number: u32::try_from(self.kiosk_number).map_err(|_| StoreError::Corrupt {
                what: format!("kiosk number {}", self.kiosk_number),
            })?,
            kiosk_id: self.kiosk_id,
            status: parse_status(&self.status)?,
            received_at: time(self.received_at)?,
            status_changed_at: time(self.status_changed_at)?,
        })
    }
}

pub(super) fn list(
    conn: &Connection,
    filter: &SubmissionFilter,
) -> StoreResult<Vec<SubmissionRecord>> {
    let (kiosk_id, kiosk_number) = match &filter.kiosk {
        None => (None, None),
        Some(KioskRef::Id(id)) => (Some(id.clone()), None),
        Some(KioskRef::Number(number)) => (None, Some(i64::from(*number))),
    };
    let limit = filter.limit.map_or(-1, i64::from);
    let mut statement = conn
        .prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE (?1 IS NULL OR s.kiosk_id = ?1)
               AND (?2 IS NULL OR k.kiosk_number = ?2)
               AND (?3 IS NULL OR s.status = ?3)
             ORDER BY s.received_at DESC, s.rowid DESC
             LIMIT ?4"
        ))
        .map_err(failed("list submissions"))?;
    let rows = statement
        .query_map(
            params![
                kiosk_id,
                kiosk_number,
                filter.status.map(SubmissionStatus::as_str),
                limit
            ],
            record_row,
        )
        .map_err(failed("list submissions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list submissions"))?;
    rows.into_iter().map(RecordRow::into_record).collect()
}

pub(super) fn find(
    conn: &Connection,
    submission: &SubmissionRef,
) -> StoreResult<Option<SubmissionRecord>> {
    let (column, key) = match submission {
        SubmissionRef::Id(id) => ("s.id", id.to_string()),
        SubmissionRef::Receipt(receipt) => ("s.receipt_number", receipt.clone()),
    };
    conn.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE {column} = ?1"
        ),
        [key],
        record_row,
    )
    .optional()
    .map_err(failed("look up a submission"))?
    .map(RecordRow::into_record)
    .transpose()
}

pub(super) fn history(conn: &Connection, id: Uuid) -> StoreResult<Vec<StatusChange>> {
    let mut statement = conn
        .prepare(
            "SELECT submission_id, receipt_number, status, note, changed_at FROM status_changes
             WHERE submission_id = ?1 ORDER BY seq",
        )
        .map_err(failed("read a status history"))?;
    let rows = statement
        .query_map([id.to_string()], |row| change_row(row, 0))
        .map_err(failed("read a status history"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read a status history"))?;
    rows.into_iter().map(ChangeRow::into_change).collect()
}

/// A status change row as SQLite gives it.
pub(super) struct ChangeRow {
    submission_id: String,
    receipt_number: String,
    status: String,
    note: Option<String>,
    changed_at: i64,
}

/// Reads columns `submission_id, receipt_number, status, note, changed_at`, in that order,
/// starting at column `first`.
pub(super) fn change_row(row: &Row<'_>, first: usize) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        submission_id: row.get(first)?,
        receipt_number: row.get(first + 1)?,
        status: row.get(first + 2)?,
        note: row.get(first + 3)?,
        changed_at: row.get(first + 4)?,
    })
}

impl ChangeRow {
    pub(super) fn into_change(self) -> StoreResult<StatusChange> {
        Ok(StatusChange {
            submission_id: parse_uuid(&self.submission_id)?,
            receipt_number: self.receipt_number,
            status: parse_status(&self.status)?,
            note: self.note,
            changed_at: time(self.changed_at)?,
        })
    }
}

pub(super) fn set_status(
    conn: &Connection,
    submission: &SubmissionRef,
    status: SubmissionStatus,
    note: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<Option<StatusChange>> {
    let now = stored_now(now);
    let Some(record) = find(conn, submission)? else {
        return Ok(None);
    };
    conn.execute(
        "UPDATE submissions SET status = ?2, status_changed_at = ?3 WHERE id = ?1",
        params![
            record.submission.id.to_string(),
            status.as_str(),
            millis(now)
        ],
    )
    .map_err(failed("change a submission's status"))?;
    let change = StatusChange {
        submission_id: record.submission.id,
        receipt_number: record.submission.receipt_number,
        status,
        note,
        changed_at: now,
    };
    append_status_change(conn, &change, &record.kiosk_id)?;
    Ok(Some(change))
}
