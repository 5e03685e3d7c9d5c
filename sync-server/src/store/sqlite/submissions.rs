//! Idempotent ingest, staff queries and status changes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::submission::Submission;
use uuid::Uuid;

use super::connection::{failed, from_json, millis, stored_now, time, to_json};
use super::sealed::{REVIEW_COMMENT, STATUS_NOTE, SUBMISSION_BODY, id_lookup};
use crate::store::sealing::KeyRing;
use crate::store::values::{materials_from_column, materials_to_column, supplied_materials};
use crate::store::{
    ConflictReason, IngestItem, IngestOutcome, IngestRefusal, KioskRef, SUPPLEMENT_ACTION,
    StoreError, StoreResult, SubmissionFilter, SubmissionRecord, SubmissionRef,
};

pub(super) fn ingest(
    conn: &Connection,
    keys: &KeyRing,
    kiosk_id: &str,
    items: &[IngestItem],
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    let now = stored_now(now);
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                      content_digest, body, received_at, status_changed_at,
                                      rating, county, township, village, id_lookup,
                                      supplement_to, phone_upload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT DO NOTHING",
        )
        .map_err(failed("store a submission"))?;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let submission = &item.submission;
        // Earlier items of the batch are already in: an original sent just before its
        // supplement counts.
        let original = match submission.supplement_to {
            None => None,
            Some(named) => match original_of(conn, submission, named)? {
                Ok(original) => Some(original),
                Err(refusal) => {
                    outcomes.push(IngestOutcome::Refused(refusal));
                    continue;
                }
            },
        };
        let place = handed_in_at(conn, kiosk_id, submission.created_at)?;
        // The claim: the insert itself. Both the id and the receipt number are unique, so a
        // second copy inserts nothing and is told apart below, inside the same transaction.
        let id = submission.id.to_string();
        let body = SUBMISSION_BODY.seal(keys, &id, &to_json(submission)?);
        let inserted = insert
            .execute(params![
                id,
                kiosk_id,
                submission.receipt_number,
                submission.kind.as_str(),
                submission.item_code,
                SubmissionStatus::Received.as_str(),
                item.content_digest,
                body,
                millis(now),
                submission.rating,
                place.county,
                place.township,
                place.village,
                id_lookup(keys, submission),
                original.as_ref().map(|o| o.id.to_string()),
                submission.phone_upload,
            ])
            .map_err(failed("store a submission"))?;
        let outcome = if inserted == 1 {
            super::attachments::list_files(conn, submission)?;
            append_status_change(
                conn,
                keys,
                &StatusChange {
                    submission_id: submission.id,
                    receipt_number: submission.receipt_number.clone(),
                    status: SubmissionStatus::Received,
                    note: None,
                    changed_at: now,
                    materials: Vec::new(),
                },
                kiosk_id,
            )?;
            if let Some(original) = &original {
                record_supplement(conn, keys, original, submission, now)?;
            }
            IngestOutcome::Accepted { received_at: now }
        } else {
            existing_outcome(conn, item)?
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The case a supplement joins.
struct Original {
    id: Uuid,
    stage: i64,
}

/// The case `named` belongs to (itself, or the original it is a supplement to), if the store
/// holds it and it is an application of `supplement`'s item.
fn original_of(
    conn: &Connection,
    supplement: &Submission,
    named: Uuid,
) -> StoreResult<Result<Original, IngestRefusal>> {
    let read = |id: &str| {
        conn.prepare_cached(
            "SELECT id, supplement_to, kind, item_code, stage FROM submissions WHERE id = ?1",
        )
        .and_then(|mut statement| {
            statement
                .query_row([id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })
                .optional()
        })
        .map_err(failed("look up a supplement's original"))
    };
    let Some(mut found) = read(&named.to_string())? else {
        return Ok(Err(IngestRefusal::UnknownOriginal(named)));
    };
    // Supplements always name their case's first original, so one step is enough.
    if let Some(first) = found.1.clone() {
        found = read(&first)?.ok_or_else(|| StoreError::Corrupt {
            what: format!("supplement {named}'s original {first}, which the store does not hold"),
        })?;
    }
    let (id, _, kind, item_code, stage) = found;
    let id = parse_uuid(&id)?;
    if kind != "application" || item_code != supplement.item_code {
        return Ok(Err(IngestRefusal::NotTheOriginalsItem(id)));
    }
    Ok(Ok(Original { id, stage }))
}

/// The original's review history learns that materials arrived through a booth: the entry
/// names the booth, the supplement's receipt and the materials its pages are of. The status
/// stays as it is; the handler says 补正材料已收到 once they have looked.
fn record_supplement(
    conn: &Connection,
    keys: &KeyRing,
    original: &Original,
    supplement: &Submission,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let booth = supplement
        .receipt_number
        .parse::<sync_protocol::receipt::ReceiptNumber>()
        .map_or_else(|_| String::new(), |receipt| format!("#{}", receipt.kiosk()));
    conn.execute(
        "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at, materials)
         VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
        params![
            original.id.to_string(),
            original.stage,
            booth,
            SUPPLEMENT_ACTION,
            millis(now),
            materials_to_column(&supplied_materials(supplement))?,
        ],
    )
    .map_err(failed("record a supplement's arrival"))?;
    // The comment is sealed to the action's number, as staff comments are.
    let seq = conn.last_insert_rowid();
    conn.execute(
        "UPDATE review_actions SET comment = ?2 WHERE seq = ?1",
        params![
            seq,
            REVIEW_COMMENT.seal(keys, &seq.to_string(), &supplement.receipt_number)
        ],
    )
    .map_err(failed("record a supplement's arrival"))?;
    Ok(())
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

/// Appends a change to the kiosk's statuses feed. A note is sealed to the change's number,
/// which exists only once the row does: it is written by a second statement.
pub(super) fn append_status_change(
    conn: &Connection,
    keys: &KeyRing,
    change: &StatusChange,
    kiosk_id: &str,
) -> StoreResult<()> {
    let materials = materials_to_column(&change.materials)?;
    conn.prepare_cached(
        "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status,
                                     changed_at, materials)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            change.submission_id.to_string(),
            kiosk_id,
            change.receipt_number,
            change.status.as_str(),
            millis(change.changed_at),
            materials,
        ])
    })
    .map_err(failed("record a status change"))?;
    if let Some(note) = &change.note {
        let seq = conn.last_insert_rowid();
        conn.execute(
            "UPDATE status_changes SET note = ?2 WHERE seq = ?1",
            params![seq, STATUS_NOTE.seal(keys, &seq.to_string(), note)],
        )
        .map_err(failed("record a status change"))?;
    }
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

pub(super) const RECORD_COLUMNS: &str = "s.id, s.body, s.kiosk_id, k.kiosk_number, s.status, \
     s.received_at, s.status_changed_at, s.supplement_to";
/// How many columns [`RECORD_COLUMNS`] has: the columns after it start here.
pub(super) const RECORD_WIDTH: usize = 8;

pub(super) struct RecordRow {
    id: String,
    body: String,
    kiosk_id: String,
    kiosk_number: i64,
    status: String,
    received_at: i64,
    status_changed_at: i64,
    supplement_to: Option<String>,
}

pub(super) fn record_row(row: &Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok(RecordRow {
        id: row.get(0)?,
        body: row.get(1)?,
        kiosk_id: row.get(2)?,
        kiosk_number: row.get(3)?,
        status: row.get(4)?,
        received_at: row.get(5)?,
        status_changed_at: row.get(6)?,
        supplement_to: row.get(7)?,
    })
}

impl RecordRow {
    /// The submission id as stored.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn into_record(self, keys: &KeyRing) -> StoreResult<SubmissionRecord> {
        let body = SUBMISSION_BODY.open(keys, &self.id, &self.body)?;
        Ok(SubmissionRecord {
            submission: from_json::<Submission>("a submission", &body)?,
            kiosk_number: u32::try_from(self.kiosk_number).map_err(|_| StoreError::Corrupt {
                what: format!("kiosk number {}", self.kiosk_number),
            })?,
            kiosk_id: self.kiosk_id,
            status: parse_status(&self.status)?,
            received_at: time(self.received_at)?,
            status_changed_at: time(self.status_changed_at)?,
            supplement_to: self.supplement_to.as_deref().map(parse_uuid).transpose()?,
        })
    }
}

pub(super) fn list(
    conn: &Connection,
    keys: &KeyRing,
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
               AND s.supplement_to IS NULL
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
    rows.into_iter().map(|row| row.into_record(keys)).collect()
}

pub(super) fn find(
    conn: &Connection,
    keys: &KeyRing,
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
    .map(|row| row.into_record(keys))
    .transpose()
}

pub(super) fn supplements(
    conn: &Connection,
    keys: &KeyRing,
    original: Uuid,
    limit: u32,
) -> StoreResult<Vec<SubmissionRecord>> {
    let mut statement = conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE s.supplement_to = ?1
             ORDER BY s.received_at DESC, s.rowid DESC
             LIMIT ?2"
        ))
        .map_err(failed("list supplements"))?;
    let rows = statement
        .query_map(params![original.to_string(), limit], record_row)
        .map_err(failed("list supplements"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list supplements"))?;
    rows.into_iter().map(|row| row.into_record(keys)).collect()
}

pub(super) fn history(
    conn: &Connection,
    keys: &KeyRing,
    id: Uuid,
) -> StoreResult<Vec<StatusChange>> {
    let mut statement = conn
        .prepare(
            "SELECT seq, submission_id, receipt_number, status, note, changed_at, materials
             FROM status_changes WHERE submission_id = ?1 ORDER BY seq",
        )
        .map_err(failed("read a status history"))?;
    let rows = statement
        .query_map([id.to_string()], |row| change_row(row, 0))
        .map_err(failed("read a status history"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read a status history"))?;
    rows.into_iter().map(|row| row.into_change(keys)).collect()
}

/// A status change row as SQLite gives it.
pub(super) struct ChangeRow {
    seq: i64,
    submission_id: String,
    receipt_number: String,
    status: String,
    note: Option<String>,
    changed_at: i64,
    materials: Option<String>,
}

/// Reads columns `seq, submission_id, receipt_number, status, note, changed_at, materials`,
/// in that order, starting at column `first`.
pub(super) fn change_row(row: &Row<'_>, first: usize) -> rusqlite::Result<ChangeRow> {
    Ok(ChangeRow {
        seq: row.get(first)?,
        submission_id: row.get(first + 1)?,
        receipt_number: row.get(first + 2)?,
        status: row.get(first + 3)?,
        note: row.get(first + 4)?,
        changed_at: row.get(first + 5)?,
        materials: row.get(first + 6)?,
    })
}

impl ChangeRow {
    pub(super) fn seq(&self) -> i64 {
        self.seq
    }

    pub(super) fn into_change(self, keys: &KeyRing) -> StoreResult<StatusChange> {
        Ok(StatusChange {
            submission_id: parse_uuid(&self.submission_id)?,
            receipt_number: self.receipt_number,
            status: parse_status(&self.status)?,
            note: STATUS_NOTE.open_opt(keys, &self.seq.to_string(), self.note)?,
            changed_at: time(self.changed_at)?,
            materials: materials_from_column(
                "a status change's materials",
                self.materials.as_deref(),
            )?,
        })
    }
}

pub(super) fn set_status(
    conn: &Connection,
    keys: &KeyRing,
    submission: &SubmissionRef,
    status: SubmissionStatus,
    note: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<Option<StatusChange>> {
    let now = stored_now(now);
    let Some(record) = find(conn, keys, submission)? else {
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
        materials: Vec::new(),
    };
    append_status_change(conn, keys, &change, &record.kiosk_id)?;
    Ok(Some(change))
}
