//! The booth's copies of the receipts it printed, with the statuses the county sent: the
//! latest on the receipt row, every one in `status_history`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::feed::{
    CorrectionMaterial, MAX_CORRECTION_MATERIALS, StatusChange, SubmissionStatus,
};
use sync_protocol::receipt::ReceiptNumber;

use super::error::{Fault, StoreError};
use super::model::{LocalReceipt, StatusEntry, SubmissionState};
use super::{outbox, sql};

/// The columns [`receipt_from_row`] reads, in order, from `receipts r JOIN submissions s`.
const RECEIPT_COLUMNS: &str = "r.number, r.submission_id, r.kind, r.item_code, r.masked_id,
     r.created_at, r.status, r.status_note, r.status_changed_at, s.state, r.status_materials,
     s.supplement_to, s.phone_upload_token";

/// The receipt for a number as a person typed it; `None` if this booth never issued it.
pub(crate) fn receipt(conn: &Connection, number: &str) -> Result<Option<LocalReceipt>, Fault> {
    let number = number.parse::<ReceiptNumber>()?.to_string();
    conn.query_row(
        &format!(
            "SELECT {RECEIPT_COLUMNS}
             FROM receipts r JOIN submissions s ON s.id = r.submission_id
             WHERE r.number = ?1"
        ),
        [&number],
        receipt_from_row,
    )
    .optional()?
    .transpose()
}

/// The receipts stored with `holder_key`, newest first.
pub(crate) fn receipts_for_holder(
    conn: &Connection,
    holder_key: &str,
) -> Result<Vec<LocalReceipt>, Fault> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {RECEIPT_COLUMNS}
         FROM receipts r JOIN submissions s ON s.id = r.submission_id
         WHERE r.holder_key = ?1
         ORDER BY r.created_at DESC, r.number DESC"
    ))?;
    let rows = statement.query_map([holder_key], receipt_from_row)?;
    let mut found = Vec::new();
    for row in rows {
        found.push(row??);
    }
    Ok(found)
}

fn receipt_from_row(row: &Row<'_>) -> rusqlite::Result<Result<LocalReceipt, Fault>> {
    let number: String = row.get(0)?;
    let id: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let item_code: Option<String> = row.get(3)?;
    let masked_id: Option<String> = row.get(4)?;
    let created: String = row.get(5)?;
    let status: Option<String> = row.get(6)?;
    let note: Option<String> = row.get(7)?;
    let changed: Option<String> = row.get(8)?;
    let state: String = row.get(9)?;
    let materials: Option<String> = row.get(10)?;
    let supplement_to: Option<String> = row.get(11)?;
    let phone_upload_token: Option<String> = row.get(12)?;
    Ok((|| {
        let upload = SubmissionState::parse(&state).ok_or_else(|| {
            Fault::decode(
                "submission state",
                std::io::Error::other(format!("unknown state `{state}`")),
            )
        })?;
        Ok(LocalReceipt {
            number,
            submission_id: sql::parse_uuid(&id)?,
            kind: outbox::parse_kind(&kind)?,
            item_code,
            masked_id,
            created_at: sql::parse_time(&created)?,
            status: status.as_deref().map(parse_status).transpose()?,
            status_note: note,
            status_changed_at: sql::parse_optional_time(changed.as_deref())?,
            correction_materials: materials_from(materials.as_deref())?,
            supplement_to: supplement_to.as_deref().map(sql::parse_uuid).transpose()?,
            phone_upload_token,
            upload,
        })
    })())
}

/// A materials column (see [`materials_text`]) as the list it holds.
fn materials_from(text: Option<&str>) -> Result<Vec<CorrectionMaterial>, Fault> {
    text.map_or_else(
        || Ok(Vec::new()),
        |json| serde_json::from_str(json).map_err(|e| Fault::decode("correction materials", e)),
    )
}

/// How a change's materials are kept: JSON as the feed carries them, NULL for none.
fn materials_text(materials: &[CorrectionMaterial]) -> Result<Option<String>, Fault> {
    if materials.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(materials)
        .map(Some)
        .map_err(|e| Fault::decode("correction materials", e))
}

fn parse_status(text: &str) -> Result<SubmissionStatus, Fault> {
    text.parse::<SubmissionStatus>()
        .map_err(|e| Fault::decode("receipt status", std::io::Error::other(e)))
}

/// Like [`receipt`], but an unknown number is an error that says so.
pub(crate) fn existing_receipt(conn: &Connection, number: &str) -> Result<LocalReceipt, Fault> {
    receipt(conn, number)?.ok_or_else(|| {
        let shown = number
            .parse::<ReceiptNumber>()
            .map_or_else(|_| number.trim().to_owned(), |n| n.to_string());
        Fault::Store(StoreError::UnknownReceipt(shown))
    })
}

/// Every status the receipt went through, oldest first; empty for a number this booth never
/// issued or one the server has not acknowledged yet.
pub(crate) fn status_history(conn: &Connection, number: &str) -> Result<Vec<StatusEntry>, Fault> {
    let number = number.parse::<ReceiptNumber>()?.to_string();
    let mut statement = conn.prepare_cached(
        "SELECT h.status, h.note, h.changed_at, h.materials
         FROM status_history h JOIN receipts r ON r.submission_id = h.submission_id
         WHERE r.number = ?1
         ORDER BY h.changed_at, h.rowid",
    )?;
    let rows = statement.query_map([&number], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut history = Vec::new();
    for row in rows {
        let (status, note, changed_at, materials) = row?;
        history.push(StatusEntry {
            status: parse_status(&status)?,
            note,
            changed_at: sql::parse_time(&changed_at)?,
            materials: materials_from(materials.as_deref())?,
        });
    }
    Ok(history)
}

/// Adds a change to the history unless it is already there. "Received" is recorded once: the
/// booth notes it when the upload is acknowledged and the feed repeats it.
pub(crate) fn record_history(
    conn: &Connection,
    submission_id: &str,
    status: &str,
    note: Option<&str>,
    changed_at: &str,
    materials: &[CorrectionMaterial],
) -> Result<(), Fault> {
    conn.prepare_cached(
        "INSERT INTO status_history (submission_id, status, note, changed_at, materials)
         SELECT ?1, ?2, ?3, ?4, ?5
         WHERE EXISTS (SELECT 1 FROM receipts WHERE submission_id = ?1)
           AND NOT (?2 = 'received' AND EXISTS (
               SELECT 1 FROM status_history WHERE submission_id = ?1 AND status = 'received'))
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        submission_id,
        status,
        note,
        changed_at,
        materials_text(materials)?
    ])?;
    Ok(())
}

/// Applies one change unless a later one is already applied (pages may overlap after a
/// retried fetch), and keeps it in the history either way. Changes for submissions this
/// booth does not hold are skipped.
pub(crate) fn apply_status(conn: &Connection, change: &StatusChange) -> Result<(), Fault> {
    let changed_at = sql::time_text(change.changed_at);
    let id = change.submission_id.to_string();
    // A newer server may send more materials than the county names at once; the booth keeps
    // no more than the protocol allows (what reaches the screen is bounded).
    let materials = &change.materials[..change.materials.len().min(MAX_CORRECTION_MATERIALS)];
    conn.execute(
        "UPDATE receipts SET status = ?2, status_note = ?3, status_changed_at = ?4,
             status_materials = ?5
         WHERE submission_id = ?1 AND (status_changed_at IS NULL OR status_changed_at <= ?4)",
        params![
            id,
            change.status.as_str(),
            change.note,
            changed_at,
            materials_text(materials)?
        ],
    )?;
    record_history(
        conn,
        &id,
        change.status.as_str(),
        change.note.as_deref(),
        &changed_at,
        materials,
    )
}
