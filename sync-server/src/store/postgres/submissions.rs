//! Idempotent ingest, staff queries and status changes.
//!
//! Unlike SQLite's single writer, PostgreSQL runs ingests side by side: an item is claimed by
//! its `INSERT … ON CONFLICT DO NOTHING` (a copy in flight elsewhere makes the insert wait for
//! that transaction's end), and a change of a kiosk's statuses feed is numbered under the
//! kiosk number's feed lock.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::submission::Submission;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::PostgresStore;
use super::connection::{Feed, failed, lock_feed};
use crate::store::sealed_columns::{STATUS_NOTE, SUBMISSION_BODY, id_lookup};
use crate::store::sealing::KeyRing;
use crate::store::values::{from_json, stored_now, to_json};
use crate::store::{
    ConflictReason, IngestItem, IngestOutcome, KioskRef, StoreError, StoreResult, SubmissionFilter,
    SubmissionRecord, SubmissionRef,
};

pub(super) async fn ingest(
    store: &PostgresStore,
    kiosk_id: &str,
    items: Vec<IngestItem>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    let now = stored_now(now);
    let keys = store.keys();
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start storing submissions"))?;
    // The feed lock first, for the whole batch: two batches of one booth holding the same
    // items in another order would otherwise each wait for the other's claim (a deadlock), and
    // a replacement moving this kiosk's submissions takes the same lock before their rows.
    if let Some(number) = kiosk_number(&tx, kiosk_id).await? {
        lock_feed(&tx, Feed::Statuses(number)).await?;
    }
    let mut outcomes = Vec::with_capacity(items.len());
    for item in &items {
        outcomes.push(ingest_one(&tx, &keys, kiosk_id, item, now).await?);
    }
    tx.commit()
        .await
        .map_err(failed("commit stored submissions"))?;
    Ok(outcomes)
}

async fn ingest_one(
    client: &impl GenericClient,
    keys: &KeyRing,
    kiosk_id: &str,
    item: &IngestItem,
    now: DateTime<Utc>,
) -> StoreResult<IngestOutcome> {
    let submission = &item.submission;
    let place = handed_in_at(client, kiosk_id, submission.created_at).await?;
    // The claim: the insert itself. Both the id and the receipt number are unique, so a second
    // copy inserts nothing (after waiting for a copy still in flight to commit or roll back)
    // and is told apart below, inside the same transaction, from what is now committed.
    let id = submission.id.to_string();
    let body = SUBMISSION_BODY.seal(keys, &id, &to_json(submission)?);
    let inserted = client
        .execute(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                      content_digest, body, received_at, status_changed_at,
                                      rating, county, township, village, id_lookup)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14)
             ON CONFLICT DO NOTHING",
            &[
                &id,
                &kiosk_id,
                &submission.receipt_number,
                &submission.kind.as_str(),
                &submission.item_code,
                &SubmissionStatus::Received.as_str(),
                &item.content_digest,
                &body,
                &now,
                &submission.rating.map(i64::from),
                &place.county,
                &place.township,
                &place.village,
                &id_lookup(keys, submission),
            ],
        )
        .await
        .map_err(failed("store a submission"))?;
    if inserted == 0 {
        return existing_outcome(client, item).await;
    }
    append_status_change(
        client,
        keys,
        &StatusChange {
            submission_id: submission.id,
            receipt_number: submission.receipt_number.clone(),
            status: SubmissionStatus::Received,
            note: None,
            changed_at: now,
        },
        kiosk_id,
    )
    .await?;
    Ok(IngestOutcome::Accepted { received_at: now })
}

async fn kiosk_number(client: &impl GenericClient, kiosk_id: &str) -> StoreResult<Option<i64>> {
    let row = client
        .query_opt(
            "SELECT kiosk_number FROM kiosks WHERE kiosk_id = $1",
            &[&kiosk_id],
        )
        .await
        .map_err(failed("look up a kiosk's number"))?;
    Ok(row.map(|row| row.get(0)))
}

/// The village a submission was handed in at: that of the identity of the uploading booth
/// (its kiosk number's chain of re-enrollments) that was enrolled last before the submission
/// was made (the first, for one made before any by the booth's clock). A submission made in
/// one village and uploaded after the booth was re-enrolled into another still belongs to the
/// first; so does everything the booth uploaded before.
async fn handed_in_at(
    client: &impl GenericClient,
    kiosk_id: &str,
    created_at: DateTime<Utc>,
) -> StoreResult<Village> {
    // DESC puts NULLs first in PostgreSQL: the later enrollments' NULLs go last explicitly.
    let row = client
        .query_one(
            "SELECT p.county, p.township, p.village
             FROM kiosks k JOIN kiosks p ON p.kiosk_number = k.kiosk_number
             WHERE k.kiosk_id = $1
             ORDER BY p.enrolled_at <= $2 DESC,
                      CASE WHEN p.enrolled_at <= $2 THEN p.enrolled_at END DESC NULLS LAST,
                      p.enrolled_at,
                      p.row_seq DESC
             LIMIT 1",
            &[&kiosk_id, &stored_now(created_at)],
        )
        .await
        .map_err(failed("find where a submission was made"))?;
    Ok(Village {
        county: row.get(0),
        township: row.get(1),
        village: row.get(2),
    })
}

async fn existing_outcome(
    client: &impl GenericClient,
    item: &IngestItem,
) -> StoreResult<IngestOutcome> {
    let stored = client
        .query_opt(
            "SELECT content_digest, received_at FROM submissions WHERE id = $1",
            &[&item.submission.id.to_string()],
        )
        .await
        .map_err(failed("look up a submission"))?;
    if let Some(row) = stored {
        let digest: String = row.get(0);
        return Ok(if digest == item.content_digest {
            IngestOutcome::Duplicate {
                received_at: row.get(1),
            }
        } else {
            IngestOutcome::Conflict(ConflictReason::DifferentContent)
        });
    }
    let holder = client
        .query_one(
            "SELECT id FROM submissions WHERE receipt_number = $1",
            &[&item.submission.receipt_number],
        )
        .await
        .map_err(failed("look up a receipt number"))?;
    Ok(IngestOutcome::Conflict(
        ConflictReason::ReceiptNumberTaken {
            by: parse_uuid(&holder.get::<_, String>(0))?,
        },
    ))
}

pub(super) async fn list_submissions(
    store: &PostgresStore,
    filter: &SubmissionFilter,
) -> StoreResult<Vec<SubmissionRecord>> {
    let (kiosk_id, kiosk_number) = match &filter.kiosk {
        None => (None, None),
        Some(KioskRef::Id(id)) => (Some(id.clone()), None),
        Some(KioskRef::Number(number)) => (None, Some(i64::from(*number))),
    };
    // LIMIT NULL is no limit.
    let limit = filter.limit.map(i64::from);
    let client = store.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE ($1::TEXT IS NULL OR s.kiosk_id = $1)
                   AND ($2::BIGINT IS NULL OR k.kiosk_number = $2)
                   AND ($3::TEXT IS NULL OR s.status = $3)
                 ORDER BY s.received_at DESC, s.row_seq DESC
                 LIMIT $4"
            ),
            &[
                &kiosk_id,
                &kiosk_number,
                &filter.status.map(SubmissionStatus::as_str),
                &limit,
            ],
        )
        .await
        .map_err(failed("list submissions"))?;
    let keys = store.keys();
    rows.iter().map(|row| record(row, &keys)).collect()
}

pub(super) async fn find_submission(
    store: &PostgresStore,
    submission: &SubmissionRef,
) -> StoreResult<Option<SubmissionRecord>> {
    let client = store.client().await?;
    find(&client, &store.keys(), submission).await
}

/// The submission `submission` names, read inside `client`'s transaction if it has one.
pub(super) async fn find(
    client: &impl GenericClient,
    keys: &KeyRing,
    submission: &SubmissionRef,
) -> StoreResult<Option<SubmissionRecord>> {
    let (column, key) = match submission {
        SubmissionRef::Id(id) => ("s.id", id.to_string()),
        SubmissionRef::Receipt(receipt) => ("s.receipt_number", receipt.clone()),
    };
    client
        .query_opt(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE {column} = $1"
            ),
            &[&key],
        )
        .await
        .map_err(failed("look up a submission"))?
        .map(|row| record(&row, keys))
        .transpose()
}

pub(super) async fn submission_history(
    store: &PostgresStore,
    id: uuid::Uuid,
) -> StoreResult<Vec<StatusChange>> {
    let client = store.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {CHANGE_COLUMNS} FROM status_changes WHERE submission_id = $1 ORDER BY seq"
            ),
            &[&id.to_string()],
        )
        .await
        .map_err(failed("read a status history"))?;
    let keys = store.keys();
    rows.iter()
        .map(|row| Ok(change(row, 0, &keys)?.1))
        .collect()
}

pub(super) async fn set_status(
    store: &PostgresStore,
    submission: &SubmissionRef,
    status: SubmissionStatus,
    note: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<Option<StatusChange>> {
    let now = stored_now(now);
    let keys = store.keys();
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start a status change"))?;
    let Some(record) = find(&tx, &keys, submission).await? else {
        return Ok(None);
    };
    // The feed lock before the submission's row: a replacement takes them in that order, and
    // it may move the submission to the new kiosk (same number, same lock) until we hold it.
    lock_feed(&tx, Feed::Statuses(i64::from(record.kiosk_number))).await?;
    let kiosk_id: String = tx
        .query_one(
            "UPDATE submissions SET status = $2, status_changed_at = $3 WHERE id = $1
             RETURNING kiosk_id",
            &[&record.submission.id.to_string(), &status.as_str(), &now],
        )
        .await
        .map_err(failed("change a submission's status"))?
        .get(0);
    let change = StatusChange {
        submission_id: record.submission.id,
        receipt_number: record.submission.receipt_number,
        status,
        note,
        changed_at: now,
    };
    append_status_change(&tx, &keys, &change, &kiosk_id).await?;
    tx.commit()
        .await
        .map_err(failed("commit a status change"))?;
    Ok(Some(change))
}

// ── shared with the other modules (feeds, review, ratings) ──

/// The columns [`record`] reads, from `submissions s JOIN kiosks k USING (kiosk_id)`.
pub(super) const RECORD_COLUMNS: &str = "s.id, s.body, s.kiosk_id, k.kiosk_number, s.status, \
     s.received_at, s.status_changed_at";
/// How many columns [`RECORD_COLUMNS`] has: the columns after it start here.
pub(super) const RECORD_WIDTH: usize = 7;

/// Column `index` of `row`, or why the row cannot be read.
fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize, what: &str) -> StoreResult<T> {
    row.try_get(index).map_err(|e| StoreError::Corrupt {
        what: format!("{what}: {e}"),
    })
}

/// The submission in a row selected with [`RECORD_COLUMNS`] first, its body opened.
pub(super) fn record(row: &Row, keys: &KeyRing) -> StoreResult<SubmissionRecord> {
    let what = "a submission";
    let id: String = column(row, 0, what)?;
    let stored: String = column(row, 1, what)?;
    let body = SUBMISSION_BODY.open(keys, &id, &stored)?;
    let kiosk_number: i64 = column(row, 3, what)?;
    Ok(SubmissionRecord {
        submission: from_json::<Submission>(what, &body)?,
        kiosk_number: u32::try_from(kiosk_number).map_err(|_| StoreError::Corrupt {
            what: format!("kiosk number {kiosk_number}"),
        })?,
        kiosk_id: column(row, 2, what)?,
        status: parse_status(&column::<String>(row, 4, what)?)?,
        received_at: column(row, 5, what)?,
        status_changed_at: column(row, 6, what)?,
    })
}

/// The columns [`change`] reads, from `status_changes`.
pub(super) const CHANGE_COLUMNS: &str =
    "seq, submission_id, receipt_number, status, note, changed_at";

/// The change number and the change in a row whose columns from `first` on are
/// [`CHANGE_COLUMNS`], its note opened.
pub(super) fn change(
    row: &Row,
    first: usize,
    keys: &KeyRing,
) -> StoreResult<(i64, StatusChange)> {
    let what = "a status change";
    let seq: i64 = column(row, first, what)?;
    let change = StatusChange {
        submission_id: parse_uuid(&column::<String>(row, first + 1, what)?)?,
        receipt_number: column(row, first + 2, what)?,
        status: parse_status(&column::<String>(row, first + 3, what)?)?,
        note: STATUS_NOTE.open_opt(keys, &seq.to_string(), column(row, first + 4, what)?)?,
        changed_at: column(row, first + 5, what)?,
    };
    Ok((seq, change))
}

/// Appends a change to the statuses feed of `kiosk_id` (taking that kiosk number's feed lock,
/// so take it before the audit chain's), its note sealed to the change's number.
pub(super) async fn append_status_change(
    client: &impl GenericClient,
    keys: &KeyRing,
    change: &StatusChange,
    kiosk_id: &str,
) -> StoreResult<()> {
    // The number is drawn under the lock, so this kiosk's changes commit in number order and
    // no booth's cursor passes a change still in flight.
    let number = kiosk_number(client, kiosk_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            what: format!("a status change for kiosk {kiosk_id}, which the store does not hold"),
        })?;
    lock_feed(client, Feed::Statuses(number)).await?;
    let seq: i64 = client
        .query_one(
            "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status,
                                         changed_at)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING seq",
            &[
                &change.submission_id.to_string(),
                &kiosk_id,
                &change.receipt_number,
                &change.status.as_str(),
                &stored_now(change.changed_at),
            ],
        )
        .await
        .map_err(failed("record a status change"))?
        .get(0);
    // A note is sealed to the change's number, which exists only once the row does.
    if let Some(note) = &change.note {
        client
            .execute(
                "UPDATE status_changes SET note = $2 WHERE seq = $1",
                &[&seq, &STATUS_NOTE.seal(keys, &seq.to_string(), note)],
            )
            .await
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
