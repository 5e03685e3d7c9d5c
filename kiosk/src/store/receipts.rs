//! The booth's copies of the receipts it printed, with the latest status the county sent.

use rusqlite::{Connection, OptionalExtension, params};
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::receipt::ReceiptNumber;

use super::error::{Fault, StoreError};
use super::model::{LocalReceipt, SubmissionState};
use super::{outbox, sql};

/// The receipt for a number as a person typed it; `None` if this booth never issued it.
pub(crate) fn receipt(conn: &Connection, number: &str) -> Result<Option<LocalReceipt>, Fault> {
    let number = number.parse::<ReceiptNumber>()?.to_string();
    let row = conn
        .query_row(
            "SELECT r.number, r.submission_id, r.kind, r.item_code, r.masked_id, r.created_at,
                    r.status, r.status_note, r.status_changed_at, s.state
             FROM receipts r JOIN submissions s ON s.id = r.submission_id
             WHERE r.number = ?1",
            [&number],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, Option<String>>(7)?,
                    row.get::<_, Option<String>>(8)?,
                    row.get::<_, String>(9)?,
                ))
            },
        )
        .optional()?;
    let Some((number, id, kind, item_code, masked_id, created, status, note, changed, state)) = row
    else {
        return Ok(None);
    };
    let status = status
        .map(|s| {
            s.parse::<SubmissionStatus>()
                .map_err(|e| Fault::decode("receipt status", std::io::Error::other(e)))
        })
        .transpose()?;
    let upload = SubmissionState::parse(&state).ok_or_else(|| {
        Fault::decode(
            "submission state",
            std::io::Error::other(format!("unknown state `{state}`")),
        )
    })?;
    Ok(Some(LocalReceipt {
        number,
        submission_id: sql::parse_uuid(&id)?,
        kind: outbox::parse_kind(&kind)?,
        item_code,
        masked_id,
        created_at: sql::parse_time(&created)?,
        status,
        status_note: note,
        status_changed_at: sql::parse_optional_time(changed.as_deref())?,
        upload,
    }))
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

/// Applies one change unless a later one is already applied (pages may overlap after a
/// retried fetch). Changes for submissions this booth does not hold are skipped.
pub(crate) fn apply_status(conn: &Connection, change: &StatusChange) -> Result<(), Fault> {
    let changed_at = sql::time_text(change.changed_at);
    conn.execute(
        "UPDATE receipts SET status = ?2, status_note = ?3, status_changed_at = ?4
         WHERE submission_id = ?1 AND (status_changed_at IS NULL OR status_changed_at <= ?4)",
        params![
            change.submission_id.to_string(),
            change.status.as_str(),
            change.note,
            changed_at
        ],
    )?;
    Ok(())
}
