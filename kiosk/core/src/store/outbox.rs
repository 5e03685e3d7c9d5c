//! The submissions outbox: issuing a submission with its receipt in one transaction, handing
//! due items to the sync client, recording what the server answered, and the technician's
//! quarantine tools.
//!
//! States: `pending` → (`mark_sent`) `sent` → `acknowledged` | `quarantined` | back to
//! `pending` on a failed attempt. `quarantined` → `pending` (requeue) or `discarded`. A row is
//! never deleted; acknowledged and discarded rows are minimised instead.
//!
//! Sealing: once the booth knows the county's key (from enrollment or a heartbeat), `submit`
//! seals the personal part (applicant, phone, form fields, free text) to it before anything
//! is written, so the row holds only `sealed_json`, which nothing on the booth can open. The
//! masked ID and the holder's keyed hash are taken from the plain values first. Rows queued
//! before the key was known are sealed the moment it arrives ([`seal_backlog`]).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use sync_protocol::personal::{CountyKey, SealedPersonal};
use sync_protocol::phone_upload;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{
    Applicant, ItemResult, Submission, SubmissionKind, mask_id_number,
};
use uuid::Uuid;

use super::error::{Fault, StoreError};
use super::model::{DiscardRecord, NewSubmission, QueueItem, QueueStats, Receipt, SubmissionState};
use super::{files, receipts, settings, sql};

/// The columns [`submission_from_row`] reads, in order.
const SUBMISSION_COLUMNS: &str = "id, seq, receipt_number, kind, item_code, catalog_version,
     fields_json, text, rating, applicant_json, contact_phone, created_at, sealed_json,
     supplement_to, phone_upload_token";

/// The columns [`queue_item_from_row`] reads, in order.
const QUEUE_COLUMNS: &str = "id, seq, receipt_number, kind, item_code, state, attempts,
     last_error, created_at, next_attempt_at";

/// `holder_key` is the keyed hash of `new.holder_id_number` (computed by the caller, which
/// holds the secret); the number itself is not stored.
pub(crate) fn submit(
    conn: &mut Connection,
    files_dir: &std::path::Path,
    mut new: NewSubmission,
    holder_key: Option<&str>,
    clock_now: DateTime<Utc>,
) -> Result<Receipt, Fault> {
    let pages = std::mem::take(&mut new.pages);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let identity = settings::identity(&tx)?.ok_or(StoreError::NotEnrolled)?;
    let offset = TimeDelta::milliseconds(settings::clock_offset_ms(&tx)?);
    let seq = settings::last_seq(&tx)? + 1;
    let number = ReceiptNumber::try_new(identity.kiosk_number, seq).ok_or(
        StoreError::SequenceExhausted {
            kiosk_number: identity.kiosk_number,
        },
    )?;
    // Millisecond precision so the time round-trips through the database unchanged: the
    // server compares content digests of retries.
    let created_at = truncate_to_millis(clock_now + offset);
    let county_key = settings::county_key(&tx)?;
    let phone_upload_token = if new.phone_upload {
        Some(phone_upload::new_token().map_err(StoreError::NoRandomness)?)
    } else {
        None
    };
    let mut submission = Submission {
        attachments: Vec::new(),
        id: Uuid::now_v7(),
        kiosk_seq: seq,
        receipt_number: number.to_string(),
        kind: new.kind,
        item_code: new.item_code,
        catalog_version: new.catalog_version,
        fields: new.fields,
        text: new.text,
        rating: new.rating,
        applicant: new.applicant,
        contact_phone: new.contact_phone,
        created_at,
        sealed: None,
        supplement_to: new.supplement_to,
        phone_upload: phone_upload_token.as_deref().map(phone_upload::token_hash),
    };
    submission.validate().map_err(StoreError::Invalid)?;
    if !pages.is_empty() {
        let (budget, pending_bytes) = files::budget(&tx)?;
        let adding: u64 = pages.iter().map(|p| p.jpeg.len() as u64).sum();
        if pending_bytes + adding > budget {
            return Err(StoreError::FilesFull {
                pending_bytes,
                budget,
            }
            .into());
        }
        // Written (and fsynced) before the row that lists them commits: a listed file is
        // always on disk. A crash in between leaves files no row lists, removed at the next
        // open.
        submission.attachments =
            files::write_pages(files_dir, submission.id, county_key.as_ref(), &pages)?;
        submission.validate().map_err(StoreError::Invalid)?;
    }
    let masked_id = submission
        .applicant
        .as_ref()
        .and_then(|a| a.id_number.as_deref())
        .map(mask_id_number);
    if let Some(key) = &county_key {
        submission.seal_personal(key);
    }
    let sealed_json = sealed_json(&submission)?;
    let fields_json =
        serde_json::to_string(&submission.fields).map_err(|e| Fault::decode("form fields", e))?;
    let applicant_json = submission
        .applicant
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Fault::decode("applicant", e))?;
    let id = submission.id.to_string();
    let created = sql::time_text(created_at);
    // Cached statements: submit is the booth's hot path.
    tx.prepare_cached(
        "INSERT INTO submissions
             (id, seq, receipt_number, kind, item_code, catalog_version, fields_json, text,
              rating, applicant_json, contact_phone, created_at, state, next_attempt_at,
              sealed_json, supplement_to, phone_upload_token)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', ?13, ?14, ?15,
                 ?16)",
    )?
    .execute(params![
        id,
        seq,
        submission.receipt_number,
        submission.kind.as_str(),
        submission.item_code,
        submission.catalog_version,
        fields_json,
        submission.text,
        submission.rating,
        applicant_json,
        submission.contact_phone,
        created,
        sql::time_text(sql::due_at_once()),
        sealed_json,
        submission.supplement_to.map(|id| id.to_string()),
        phone_upload_token,
    ])?;
    tx.prepare_cached(
        "INSERT INTO receipts
             (number, submission_id, kind, item_code, masked_id, created_at, holder_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        submission.receipt_number,
        id,
        submission.kind.as_str(),
        submission.item_code,
        masked_id,
        created,
        holder_key,
    ])?;
    files::list(&tx, submission.id, &submission.attachments)?;
    settings::set_last_seq(&tx, seq)?;
    tx.commit()?;
    Ok(Receipt {
        id: submission.id,
        seq,
        number,
        created_at,
        masked_id,
        phone_upload_token,
    })
}

fn sealed_json(submission: &Submission) -> Result<Option<String>, Fault> {
    submission
        .sealed
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Fault::decode("sealed personal data", e))
}

/// Seals the personal part of every row still holding it in the clear (queued before the
/// booth knew `key`), in the caller's transaction; returns how many. Minimised and discarded
/// rows hold nothing personal any more and are left alone.
pub(crate) fn seal_backlog(conn: &Connection, key: &CountyKey) -> Result<usize, Fault> {
    let backlog = {
        let mut statement = conn.prepare(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM submissions
             WHERE sealed_json IS NULL AND minimised_at IS NULL AND state != 'discarded'"
        ))?;
        let rows = statement.query_map([], submission_from_row)?;
        let mut backlog = Vec::new();
        for row in rows {
            let mut submission = row??;
            submission.attachments = files::listed(conn, submission.id)?;
            backlog.push(submission);
        }
        backlog
    };
    let mut sealed = 0;
    for mut submission in backlog {
        if !submission.has_clear_personal() {
            continue;
        }
        submission.seal_personal(key);
        conn.execute(
            "UPDATE submissions SET applicant_json = NULL, contact_phone = NULL, text = NULL,
                 fields_json = '{}', sealed_json = ?2
             WHERE id = ?1",
            params![submission.id.to_string(), sealed_json(&submission)?],
        )?;
        sealed += 1;
    }
    Ok(sealed)
}

fn truncate_to_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.timestamp_millis()).unwrap_or(time)
}

/// The due items in upload order. `INDEXED BY` because, without statistics, SQLite prefers
/// `submissions_by_state` plus a sort of every pending row, which grows with the queue.
pub(crate) const DUE_FROM: &str = "FROM submissions INDEXED BY submissions_unacknowledged
     WHERE state IN ('pending', 'sent') AND next_attempt_at <= ?1
     ORDER BY seq LIMIT ?2";

/// Rows whose personal data is due to be erased (`INDEXED BY` for the same reason as
/// [`DUE_FROM`]: otherwise every acknowledged row is visited on every acknowledgement).
pub(crate) const MINIMISE_SQL: &str =
    "UPDATE submissions INDEXED BY submissions_to_minimise SET applicant_json = NULL, contact_phone = NULL, sealed_json = NULL, minimised_at = ?1
         WHERE state = 'acknowledged' AND minimised_at IS NULL AND acknowledged_at <= ?2";

pub(crate) fn due_submissions(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Submission>, Fault> {
    let mut statement = conn.prepare_cached(&format!("SELECT {SUBMISSION_COLUMNS} {DUE_FROM}"))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![sql::time_text(now), limit], submission_from_row)?;
    let mut due = Vec::new();
    for row in rows {
        let mut submission = row??;
        submission.attachments = files::listed(conn, submission.id)?;
        due.push(submission);
    }
    Ok(due)
}

fn submission_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Submission, Fault>> {
    let id: String = row.get(0)?;
    let kind: String = row.get(3)?;
    let fields_json: String = row.get(6)?;
    let applicant_json: Option<String> = row.get(9)?;
    let created_at: String = row.get(11)?;
    let seq: u64 = row.get(1)?;
    let receipt_number: String = row.get(2)?;
    let item_code: Option<String> = row.get(4)?;
    let catalog_version: Option<u32> = row.get(5)?;
    let text: Option<String> = row.get(7)?;
    let rating: Option<u8> = row.get(8)?;
    let contact_phone: Option<String> = row.get(10)?;
    let sealed_json: Option<String> = row.get(12)?;
    let supplement_to: Option<String> = row.get(13)?;
    let phone_upload_token: Option<String> = row.get(14)?;
    Ok((|| {
        Ok(Submission {
            attachments: Vec::new(),
            id: sql::parse_uuid(&id)?,
            kiosk_seq: seq,
            receipt_number,
            kind: parse_kind(&kind)?,
            item_code,
            catalog_version,
            fields: serde_json::from_str::<BTreeMap<String, String>>(&fields_json)
                .map_err(|e| Fault::decode("form fields", e))?,
            text,
            rating,
            applicant: applicant_json
                .as_deref()
                .map(serde_json::from_str::<Applicant>)
                .transpose()
                .map_err(|e| Fault::decode("applicant", e))?,
            contact_phone,
            created_at: sql::parse_time(&created_at)?,
            sealed: sealed_json
                .as_deref()
                .map(serde_json::from_str::<SealedPersonal>)
                .transpose()
                .map_err(|e| Fault::decode("sealed personal data", e))?,
            supplement_to: supplement_to.as_deref().map(sql::parse_uuid).transpose()?,
            phone_upload: phone_upload_token.as_deref().map(phone_upload::token_hash),
        })
    })())
}

pub(crate) fn parse_kind(text: &str) -> Result<SubmissionKind, Fault> {
    text.parse::<SubmissionKind>()
        .map_err(|e| Fault::decode("submission kind", std::io::Error::other(e)))
}

fn parse_state(text: &str) -> Result<SubmissionState, Fault> {
    SubmissionState::parse(text).ok_or_else(|| {
        Fault::decode(
            "submission state",
            std::io::Error::other(format!("unknown state `{text}`")),
        )
    })
}

/// Runs `work` (one transaction) with `synchronous=NORMAL`: in WAL mode the commit is atomic
/// but reaches the disk only with the next FULL commit or checkpoint. Only for writes whose
/// loss in a power cut is harmless because the upload is idempotent: the item is sent again and
/// the server answers `duplicate`. Never for `submit`, whose receipt promises durability.
fn without_fsync<T>(
    conn: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<T, Fault>,
) -> Result<T, Fault> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let result = work(conn);
    conn.pragma_update(None, "synchronous", "FULL")?;
    result
}

/// Marks items as on their way (no fsync of its own: see [`without_fsync`]).
pub(crate) fn mark_sent(conn: &mut Connection, ids: &[Uuid]) -> Result<(), Fault> {
    without_fsync(conn, |conn| mark_sent_in_transaction(conn, ids))
}

fn mark_sent_in_transaction(conn: &mut Connection, ids: &[Uuid]) -> Result<(), Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = tx.prepare_cached(
            "UPDATE submissions SET state = 'sent', attempts = attempts + 1
             WHERE id = ?1 AND state IN ('pending', 'sent')",
        )?;
        for id in ids {
            statement.execute([id.to_string()])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// An attempt counts once: `mark_sent` counts it, so recording its outcome only counts it
/// when the item was still `pending` (the client skipped `mark_sent`).
const COUNT_ATTEMPT_UNLESS_SENT: &str =
    "attempts = attempts + (CASE WHEN state = 'sent' THEN 0 ELSE 1 END)";

/// Records the server's answers in one durable transaction (`synchronous=FULL`, unlike
/// `mark_sent`): the erasure of personal data is in the same transaction, so nothing is dropped
/// before the acknowledgement is on disk.
pub(crate) fn record_results(
    conn: &mut Connection,
    results: &[ItemResult],
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    record_results_in_transaction(conn, results, now)
}

fn record_results_in_transaction(
    conn: &mut Connection,
    results: &[ItemResult],
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now_text = sql::time_text(now);
    {
        // Prepared once per batch, not parsed once per item.
        let mut acknowledge = tx.prepare_cached(&format!(
            "UPDATE submissions SET state = 'acknowledged', {COUNT_ATTEMPT_UNLESS_SENT},
                 acknowledged_at = ?2, received_at = ?3, next_attempt_at = NULL,
                 last_error = NULL
             WHERE id = ?1 AND state IN ('pending', 'sent', 'quarantined')"
        ))?;
        // The villager's receipt shows "received" until the county's first change.
        let mut mark_received = tx.prepare_cached(
            "UPDATE receipts SET status = 'received', status_changed_at = ?2
             WHERE submission_id = ?1 AND status IS NULL",
        )?;
        let mut quarantine = tx.prepare_cached(&format!(
            "UPDATE submissions SET state = 'quarantined', {COUNT_ATTEMPT_UNLESS_SENT},
                 last_error = ?2, next_attempt_at = NULL
             WHERE id = ?1 AND state IN ('pending', 'sent')"
        ))?;
        for result in results {
            let id = result.id.to_string();
            if result.outcome.is_acknowledged() {
                let received = result.received_at.map(sql::time_text);
                if acknowledge.execute(params![id, now_text, received])? > 0 {
                    let at = received.as_deref().unwrap_or(&now_text);
                    if mark_received.execute(params![id, at])? > 0 {
                        receipts::record_history(&tx, &id, "received", None, at, &[])?;
                    }
                }
            } else {
                let reason = result
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("the server answered {:?}", result.outcome));
                quarantine.execute(params![id, reason])?;
            }
        }
    }
    minimise_due(&tx, now)?;
    tx.commit()?;
    Ok(())
}

/// Drops name, ID number, address and phone from acknowledged submissions whose retention has
/// passed. The receipt row never had more than the masked ID.
pub(crate) fn minimise_due(conn: &Connection, now: DateTime<Utc>) -> Result<usize, Fault> {
    let keep = settings::retention_after_ack(conn)?;
    let keep = TimeDelta::from_std(keep).unwrap_or(TimeDelta::MAX);
    let cutoff = now
        .checked_sub_signed(keep)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let changed = conn.execute(
        MINIMISE_SQL,
        params![sql::time_text(now), sql::time_text(cutoff)],
    )?;
    Ok(changed)
}

pub(crate) fn record_failure(
    conn: &mut Connection,
    ids: &[Uuid],
    error: &str,
    next_attempt_at: DateTime<Utc>,
) -> Result<(), Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = tx.prepare_cached(&format!(
            "UPDATE submissions SET {COUNT_ATTEMPT_UNLESS_SENT}, state = 'pending',
                 last_error = ?2, next_attempt_at = ?3
             WHERE id = ?1 AND state IN ('pending', 'sent')"
        ))?;
        let next = sql::time_text(next_attempt_at);
        for id in ids {
            statement.execute(params![id.to_string(), error, next])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn next_attempt_at(conn: &Connection) -> Result<Option<DateTime<Utc>>, Fault> {
    let next: Option<String> = conn.query_row(
        "SELECT min(next_attempt_at) FROM submissions WHERE state IN ('pending', 'sent')",
        [],
        |row| row.get(0),
    )?;
    sql::parse_optional_time(next.as_deref())
}

pub(crate) fn queue_stats(conn: &Connection, now: DateTime<Utc>) -> Result<QueueStats, Fault> {
    let mut stats = QueueStats::default();
    let mut statement =
        conn.prepare_cached("SELECT state, count(*) FROM submissions GROUP BY state")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
    })?;
    for row in rows {
        let (state, count) = row?;
        match parse_state(&state)? {
            SubmissionState::Pending => stats.pending = count,
            SubmissionState::Sent => stats.sent = count,
            SubmissionState::Acknowledged => stats.acknowledged = count,
            SubmissionState::Quarantined => stats.quarantined = count,
            SubmissionState::Discarded => stats.discarded = count,
        }
    }
    let oldest: Option<String> = conn.query_row(
        "SELECT min(created_at) FROM submissions WHERE state IN ('pending', 'sent')",
        [],
        |row| row.get(0),
    )?;
    stats.oldest_pending_age_s = sql::parse_optional_time(oldest.as_deref())?
        .map(|created| u64::try_from((now - created).num_seconds()).unwrap_or(0));
    stats.last_error = conn
        .query_row(
            "SELECT last_error FROM submissions WHERE state IN ('pending', 'sent')
             ORDER BY seq LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    Ok(stats)
}

fn queue_item_from_row(row: &Row<'_>) -> rusqlite::Result<Result<QueueItem, Fault>> {
    let id: String = row.get(0)?;
    let seq: u64 = row.get(1)?;
    let receipt_number: String = row.get(2)?;
    let kind: String = row.get(3)?;
    let item_code: Option<String> = row.get(4)?;
    let state: String = row.get(5)?;
    let attempts: u32 = row.get(6)?;
    let last_error: Option<String> = row.get(7)?;
    let created_at: String = row.get(8)?;
    let next_attempt_at: Option<String> = row.get(9)?;
    Ok((|| {
        Ok(QueueItem {
            id: sql::parse_uuid(&id)?,
            seq,
            receipt_number,
            kind: parse_kind(&kind)?,
            item_code,
            state: parse_state(&state)?,
            attempts,
            last_error,
            created_at: sql::parse_time(&created_at)?,
            next_attempt_at: sql::parse_optional_time(next_attempt_at.as_deref())?,
        })
    })())
}

pub(crate) fn items_in_state(
    conn: &Connection,
    state: SubmissionState,
) -> Result<Vec<QueueItem>, Fault> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {QUEUE_COLUMNS} FROM submissions WHERE state = ?1 ORDER BY seq"
    ))?;
    let rows = statement.query_map([state.as_str()], queue_item_from_row)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row??);
    }
    Ok(items)
}

/// Every submission the outbox holds, in the order they were made.
pub(crate) fn all_items(conn: &Connection) -> Result<Vec<QueueItem>, Fault> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {QUEUE_COLUMNS} FROM submissions ORDER BY seq"
    ))?;
    let rows = statement.query_map([], queue_item_from_row)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row??);
    }
    Ok(items)
}

/// Finds a submission by its id or its receipt number (typed by a person: any case, dashes
/// optional, check symbol verified).
pub(crate) fn find(conn: &Connection, id_or_receipt: &str) -> Result<QueueItem, Fault> {
    let text = id_or_receipt.trim();
    let (column, key) = match Uuid::parse_str(text) {
        Ok(id) => ("id", id.to_string()),
        Err(_) => ("receipt_number", text.parse::<ReceiptNumber>()?.to_string()),
    };
    conn.query_row(
        &format!("SELECT {QUEUE_COLUMNS} FROM submissions WHERE {column} = ?1"),
        [&key],
        queue_item_from_row,
    )
    .optional()?
    .ok_or_else(|| Fault::Store(StoreError::UnknownSubmission(text.to_owned())))?
}

fn find_quarantined(conn: &Connection, id_or_receipt: &str) -> Result<QueueItem, Fault> {
    let item = find(conn, id_or_receipt)?;
    if item.state != SubmissionState::Quarantined {
        return Err(StoreError::NotQuarantined {
            receipt: item.receipt_number,
            state: item.state.as_str(),
        }
        .into());
    }
    Ok(item)
}

pub(crate) fn requeue(conn: &mut Connection, id_or_receipt: &str) -> Result<QueueItem, Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let item = find_quarantined(&tx, id_or_receipt)?;
    tx.execute(
        "UPDATE submissions SET state = 'pending', next_attempt_at = ?2 WHERE id = ?1",
        params![item.id.to_string(), sql::time_text(sql::due_at_once())],
    )?;
    let item = find(&tx, &item.id.to_string())?;
    tx.commit()?;
    Ok(item)
}

pub(crate) fn discard(
    conn: &mut Connection,
    id_or_receipt: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<DiscardRecord, Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let item = find_quarantined(&tx, id_or_receipt)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::EmptyReason(item.receipt_number).into());
    }
    let id = item.id.to_string();
    let now_text = sql::time_text(now);
    // Nothing of the content is needed any more; the audit record says what happened.
    tx.execute(
        "UPDATE submissions SET state = 'discarded', next_attempt_at = NULL,
             applicant_json = NULL, contact_phone = NULL, text = NULL, fields_json = '{}',
             sealed_json = NULL, minimised_at = ?2
         WHERE id = ?1",
        params![id, now_text],
    )?;
    // Nothing of it will reach the county, so no card needs to find it any more.
    tx.execute(
        "UPDATE receipts SET holder_key = NULL WHERE submission_id = ?1",
        [&id],
    )?;
    tx.execute(
        "INSERT INTO discard_audit (submission_id, receipt_number, discarded_at, reason, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, item.receipt_number, now_text, reason, item.last_error],
    )?;
    tx.commit()?;
    Ok(DiscardRecord {
        submission_id: item.id,
        receipt_number: item.receipt_number,
        discarded_at: sql::parse_time(&now_text)?,
        reason: reason.to_owned(),
        last_error: item.last_error,
    })
}

pub(crate) fn discards(conn: &Connection) -> Result<Vec<DiscardRecord>, Fault> {
    let mut statement = conn.prepare_cached(
        "SELECT submission_id, receipt_number, discarded_at, reason, last_error
         FROM discard_audit ORDER BY seq",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut records = Vec::new();
    for row in rows {
        let (id, receipt_number, discarded_at, reason, last_error) = row?;
        records.push(DiscardRecord {
            submission_id: sql::parse_uuid(&id)?,
            receipt_number,
            discarded_at: sql::parse_time(&discarded_at)?,
            reason,
            last_error,
        });
    }
    Ok(records)
}
