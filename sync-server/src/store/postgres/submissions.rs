//! Idempotent ingest, staff queries and status changes.
//!
//! Unlike SQLite's single writer, PostgreSQL runs ingests side by side: a batch's items are
//! claimed by one `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING` (a copy in flight
//! elsewhere makes the insert wait for that transaction's end), and a change of a kiosk's
//! statuses feed is numbered under the kiosk number's feed lock. A batch is a fixed handful of
//! statements whatever its size: each statement is a round trip to the database, and per-item
//! statements made ingest an order of magnitude slower than the same rows inserted raw
//! (docs/benchmarks.md, "Ingest on PostgreSQL").

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::submission::Submission;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use super::PostgresStore;
use super::connection::{Feed, failed, lock_feed};
use crate::store::sealed_columns::{REVIEW_COMMENT, STATUS_NOTE, SUBMISSION_BODY, id_lookup};
use crate::store::sealing::KeyRing;
use crate::store::values::{
    from_json, materials_from_column, materials_to_column, stored_now, supplied_materials, to_json,
};
use crate::store::{
    ConflictReason, IngestItem, IngestOutcome, IngestRefusal, KioskRef, SUPPLEMENT_ACTION,
    StoreError, StoreResult, SubmissionFilter, SubmissionRecord, SubmissionRef,
};

pub(super) async fn ingest(
    store: &PostgresStore,
    kiosk_id: &str,
    items: Vec<IngestItem>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    let now = stored_now(now);
    let keys = store.keys();
    // Sealing is CPU work: done before a connection is taken and the feed lock held.
    let batch = Batch::encode(&keys, &items)?;
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
    let mut accepted = vec![false; items.len()];
    let mut refused: Vec<Option<IngestRefusal>> = vec![None; items.len()];
    // Cases in one statement; then supplements one by one (they are few), so one whose
    // original came earlier in the batch finds it stored, as SQLite's in-order ingest does.
    let (supplements, cases): (Vec<usize>, Vec<usize>) =
        (0..items.len()).partition(|&i| items[i].submission.supplement_to.is_some());
    store_rows(
        &tx,
        kiosk_id,
        &items,
        &batch,
        &cases,
        None,
        &mut accepted,
        now,
    )
    .await?;
    for index in supplements {
        let submission = &items[index].submission;
        let Some(named) = submission.supplement_to else {
            continue;
        };
        let named_text = named.to_string();
        // An original later in the batch was not there yet when its supplement came.
        let later = (index + 1..items.len()).any(|j| accepted[j] && batch.ids[j] == named_text);
        let found = if later {
            Err(IngestRefusal::UnknownOriginal(named))
        } else {
            original_of(&tx, submission, named).await?
        };
        match found {
            Err(refusal) => refused[index] = Some(refusal),
            Ok(original) => {
                let original_id = original.id.to_string();
                let stored = store_rows(
                    &tx,
                    kiosk_id,
                    &items,
                    &batch,
                    &[index],
                    Some(&original_id),
                    &mut accepted,
                    now,
                )
                .await?;
                if stored {
                    record_supplement(&tx, &keys, &original, submission, now).await?;
                }
            }
        }
    }
    let outcomes = if accepted.iter().all(|&a| a) {
        vec![IngestOutcome::Accepted { received_at: now }; items.len()]
    } else {
        existing_outcomes(&tx, &items, &batch, &accepted, &refused, now).await?
    };
    tx.commit()
        .await
        .map_err(failed("commit stored submissions"))?;
    Ok(outcomes)
}

/// Claims the items at `picked` (as supplements of `supplement_to` when given), marks those
/// the claim stored in `accepted`, and records their `received` changes and their files.
/// Whether it stored any.
#[allow(clippy::too_many_arguments)]
async fn store_rows(
    client: &impl GenericClient,
    kiosk_id: &str,
    items: &[IngestItem],
    batch: &Batch,
    picked: &[usize],
    supplement_to: Option<&str>,
    accepted: &mut [bool],
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    if picked.is_empty() {
        return Ok(false);
    }
    // The whole batch as it is when nothing is left out (the usual batch, without
    // supplements): no copy of its sealed bodies.
    let part;
    let claiming = if supplement_to.is_none() && picked.iter().copied().eq(0..batch.ids.len()) {
        batch
    } else {
        part = batch.pick(picked, supplement_to);
        &part
    };
    let claimed = claim(client, kiosk_id, claiming, now).await?;
    let mut stored = Vec::with_capacity(claimed.len());
    for row in &claimed {
        let (id, receipt, digest): (&str, &str, &str) = (row.get(0), row.get(1), row.get(2));
        // A batch may hold the same item twice: the first copy not yet matched is the one the
        // insert stored (rows go in in the batch's order, and a later copy of a refused item
        // is refused too).
        let index = picked
            .iter()
            .copied()
            .find(|&i| {
                !accepted[i]
                    && batch.ids[i] == id
                    && items[i].submission.receipt_number == receipt
                    && items[i].content_digest == digest
            })
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("submission {id}, stored by an ingest that did not hand it in"),
            })?;
        accepted[index] = true;
        stored.push(index);
    }
    stored.sort_unstable();
    record_received(client, kiosk_id, batch, &stored, now).await?;
    let submissions: Vec<&Submission> = stored.iter().map(|&i| &items[i].submission).collect();
    super::attachments::list_files(client, &submissions).await?;
    Ok(!stored.is_empty())
}

/// The case a supplement joins.
struct Original {
    id: Uuid,
    stage: i64,
}

/// The case `named` belongs to (itself, or the original it is a supplement to), if the store
/// holds it and it is an application of `supplement`'s item.
async fn original_of(
    client: &impl GenericClient,
    supplement: &Submission,
    named: Uuid,
) -> StoreResult<Result<Original, IngestRefusal>> {
    let statement = client
        .prepare_cached(
            "SELECT id, supplement_to, kind, item_code, stage FROM submissions WHERE id = $1",
        )
        .await
        .map_err(failed("look up a supplement's original"))?;
    let read = |id: String| {
        let statement = &statement;
        async move {
            client
                .query_opt(statement, &[&id])
                .await
                .map_err(failed("look up a supplement's original"))
        }
    };
    let Some(mut found) = read(named.to_string()).await? else {
        return Ok(Err(IngestRefusal::UnknownOriginal(named)));
    };
    // Supplements always name their case's first original, so one step is enough.
    if let Some(first) = found.get::<_, Option<String>>(1) {
        found = read(first.clone())
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                what: format!(
                    "supplement {named}'s original {first}, which the store does not hold"
                ),
            })?;
    }
    let id = parse_uuid(found.get(0))?;
    let kind: &str = found.get(2);
    let item_code: Option<String> = found.get(3);
    if kind != "application" || item_code != supplement.item_code {
        return Ok(Err(IngestRefusal::NotTheOriginalsItem(id)));
    }
    Ok(Ok(Original {
        id,
        stage: found.get(4),
    }))
}

/// The original's review history learns that materials arrived through a booth: the entry
/// names the booth, the supplement's receipt and the materials its pages are of. The status
/// stays as it is; the handler says 补正材料已收到 once they have looked.
async fn record_supplement(
    client: &impl GenericClient,
    keys: &KeyRing,
    original: &Original,
    supplement: &Submission,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let booth = supplement
        .receipt_number
        .parse::<sync_protocol::receipt::ReceiptNumber>()
        .map_or_else(|_| String::new(), |receipt| format!("#{}", receipt.kiosk()));
    let seq: i64 = client
        .query_one(
            "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at,
                                         materials)
             VALUES ($1, $2, $3, $4, '', $5, $6) RETURNING seq",
            &[
                &original.id.to_string(),
                &original.stage,
                &booth,
                &SUPPLEMENT_ACTION,
                &now,
                &materials_to_column(&supplied_materials(supplement))?,
            ],
        )
        .await
        .map_err(failed("record a supplement's arrival"))?
        .get(0);
    // The comment is sealed to the action's number, as staff comments are.
    client
        .execute(
            "UPDATE review_actions SET comment = $2 WHERE seq = $1",
            &[
                &seq,
                &REVIEW_COMMENT.seal(keys, &seq.to_string(), &supplement.receipt_number),
            ],
        )
        .await
        .map_err(failed("record a supplement's arrival"))?;
    Ok(())
}

/// A batch's values column by column, ready to be unnested in one statement each.
struct Batch {
    ids: Vec<String>,
    receipt_numbers: Vec<String>,
    kinds: Vec<&'static str>,
    item_codes: Vec<Option<String>>,
    content_digests: Vec<String>,
    bodies: Vec<String>,
    ratings: Vec<Option<i64>>,
    id_lookups: Vec<Option<String>>,
    created_at: Vec<DateTime<Utc>>,
    /// The case each joins (supplements only).
    supplement_to: Vec<Option<String>>,
    /// The phone upload token's hash each offers.
    phone_upload: Vec<Option<String>>,
}

impl Batch {
    /// The items at `indices`, as supplements of `supplement_to` when given.
    fn pick(&self, indices: &[usize], supplement_to: Option<&str>) -> Self {
        Self {
            ids: indices.iter().map(|&i| self.ids[i].clone()).collect(),
            receipt_numbers: indices
                .iter()
                .map(|&i| self.receipt_numbers[i].clone())
                .collect(),
            kinds: indices.iter().map(|&i| self.kinds[i]).collect(),
            item_codes: indices
                .iter()
                .map(|&i| self.item_codes[i].clone())
                .collect(),
            content_digests: indices
                .iter()
                .map(|&i| self.content_digests[i].clone())
                .collect(),
            bodies: indices.iter().map(|&i| self.bodies[i].clone()).collect(),
            ratings: indices.iter().map(|&i| self.ratings[i]).collect(),
            id_lookups: indices
                .iter()
                .map(|&i| self.id_lookups[i].clone())
                .collect(),
            created_at: indices.iter().map(|&i| self.created_at[i]).collect(),
            supplement_to: vec![supplement_to.map(str::to_owned); indices.len()],
            phone_upload: indices
                .iter()
                .map(|&i| self.phone_upload[i].clone())
                .collect(),
        }
    }

    fn encode(keys: &KeyRing, items: &[IngestItem]) -> StoreResult<Self> {
        let mut batch = Self {
            ids: Vec::with_capacity(items.len()),
            receipt_numbers: Vec::with_capacity(items.len()),
            kinds: Vec::with_capacity(items.len()),
            item_codes: Vec::with_capacity(items.len()),
            content_digests: Vec::with_capacity(items.len()),
            bodies: Vec::with_capacity(items.len()),
            ratings: Vec::with_capacity(items.len()),
            id_lookups: Vec::with_capacity(items.len()),
            created_at: Vec::with_capacity(items.len()),
            supplement_to: vec![None; items.len()],
            phone_upload: Vec::with_capacity(items.len()),
        };
        for item in items {
            let submission = &item.submission;
            let id = submission.id.to_string();
            batch
                .bodies
                .push(SUBMISSION_BODY.seal(keys, &id, &to_json(submission)?));
            batch.ids.push(id);
            batch
                .receipt_numbers
                .push(submission.receipt_number.clone());
            batch.kinds.push(submission.kind.as_str());
            batch.item_codes.push(submission.item_code.clone());
            batch.content_digests.push(item.content_digest.clone());
            batch.ratings.push(submission.rating.map(i64::from));
            batch.id_lookups.push(id_lookup(keys, submission));
            batch.created_at.push(stored_now(submission.created_at));
            batch.phone_upload.push(submission.phone_upload.clone());
        }
        Ok(batch)
    }
}

/// The claim: one insert of the whole batch, each row placed where its submission was handed
/// in. Both the id and the receipt number are unique, so a second copy inserts nothing (after
/// waiting for a copy still in flight to commit or roll back); the rows stored come back.
///
/// The place is that of the identity of the uploading booth (its kiosk number's chain of
/// re-enrollments) that was enrolled last before the submission was made (the first, for one
/// made before any by the booth's clock). A submission made in one village and uploaded after
/// the booth was re-enrolled into another still belongs to the first; so does everything the
/// booth uploaded before. DESC puts NULLs first in PostgreSQL: the later enrollments' NULLs go
/// last explicitly. An unknown kiosk gets no place, and its rows fail the kiosk's foreign key.
async fn claim(
    client: &impl GenericClient,
    kiosk_id: &str,
    batch: &Batch,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Row>> {
    let statement = client
        .prepare_cached(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                      content_digest, body, received_at, status_changed_at,
                                      rating, county, township, village, id_lookup,
                                      supplement_to, phone_upload)
             SELECT i.id, $1, i.receipt_number, i.kind, i.item_code, $2, i.content_digest,
                    i.body, $3, $3, i.rating, p.county, p.township, p.village, i.id_lookup,
                    i.supplement_to, i.phone_upload
             FROM UNNEST($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[],
                         $10::BIGINT[], $11::TEXT[], $12::TIMESTAMPTZ[], $13::TEXT[],
                         $14::TEXT[])
                  WITH ORDINALITY AS i (id, receipt_number, kind, item_code, content_digest,
                                        body, rating, id_lookup, created_at, supplement_to,
                                        phone_upload, ord)
             LEFT JOIN LATERAL (
                 SELECT p.county, p.township, p.village
                 FROM kiosks k JOIN kiosks p ON p.kiosk_number = k.kiosk_number
                 WHERE k.kiosk_id = $1
                 ORDER BY p.enrolled_at <= i.created_at DESC,
                          CASE WHEN p.enrolled_at <= i.created_at THEN p.enrolled_at END
                              DESC NULLS LAST,
                          p.enrolled_at,
                          p.row_seq DESC
                 LIMIT 1
             ) p ON TRUE
             ORDER BY i.ord
             ON CONFLICT DO NOTHING
             RETURNING id, receipt_number, content_digest",
        )
        .await
        .map_err(failed("store submissions"))?;
    client
        .query(
            &statement,
            &[
                &kiosk_id,
                &SubmissionStatus::Received.as_str(),
                &now,
                &batch.ids,
                &batch.receipt_numbers,
                &batch.kinds,
                &batch.item_codes,
                &batch.content_digests,
                &batch.bodies,
                &batch.ratings,
                &batch.id_lookups,
                &batch.created_at,
                &batch.supplement_to,
                &batch.phone_upload,
            ],
        )
        .await
        .map_err(failed("store submissions"))
}

/// The `received` change of each item at `stored` (in the batch's order), numbered under the
/// feed lock the batch holds.
async fn record_received(
    client: &impl GenericClient,
    kiosk_id: &str,
    batch: &Batch,
    stored: &[usize],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (ids, receipts): (Vec<&str>, Vec<&str>) = stored
        .iter()
        .map(|&i| (batch.ids[i].as_str(), batch.receipt_numbers[i].as_str()))
        .unzip();
    if ids.is_empty() {
        return Ok(());
    }
    let statement = client
        .prepare_cached(
            "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status,
                                         changed_at)
             SELECT c.id, $1, c.receipt_number, $2, $3
             FROM UNNEST($4::TEXT[], $5::TEXT[]) WITH ORDINALITY AS c (id, receipt_number, ord)
             ORDER BY c.ord",
        )
        .await
        .map_err(failed("record status changes"))?;
    client
        .execute(
            &statement,
            &[
                &kiosk_id,
                &SubmissionStatus::Received.as_str(),
                &now,
                &ids,
                &receipts,
            ],
        )
        .await
        .map_err(failed("record status changes"))?;
    Ok(())
}

/// What each item the claim did not store meets: a copy already stored (by its id), or
/// another submission holding its receipt number. Read inside the batch's transaction, so a
/// copy earlier in the same batch counts. An item `refused` before any claim is that.
async fn existing_outcomes(
    client: &impl GenericClient,
    items: &[IngestItem],
    batch: &Batch,
    accepted: &[bool],
    refused: &[Option<IngestRefusal>],
    now: DateTime<Utc>,
) -> StoreResult<Vec<IngestOutcome>> {
    let unclaimed: Vec<usize> = (0..items.len())
        .filter(|&i| !accepted[i] && refused[i].is_none())
        .collect();
    let ids: Vec<&str> = unclaimed.iter().map(|&i| batch.ids[i].as_str()).collect();
    let receipts: Vec<&str> = unclaimed
        .iter()
        .map(|&i| batch.receipt_numbers[i].as_str())
        .collect();
    let by_id: HashMap<String, (String, DateTime<Utc>)> = client
        .query(
            "SELECT id, content_digest, received_at FROM submissions WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(failed("look up submissions"))?
        .iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();
    let by_receipt: HashMap<String, String> = client
        .query(
            "SELECT receipt_number, id FROM submissions WHERE receipt_number = ANY($1)",
            &[&receipts],
        )
        .await
        .map_err(failed("look up receipt numbers"))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let mut outcomes = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if accepted[index] {
            outcomes.push(IngestOutcome::Accepted { received_at: now });
        } else if let Some(refusal) = refused[index] {
            outcomes.push(IngestOutcome::Refused(refusal));
        } else if let Some((digest, received_at)) = by_id.get(&batch.ids[index]) {
            outcomes.push(if *digest == item.content_digest {
                IngestOutcome::Duplicate {
                    received_at: *received_at,
                }
            } else {
                IngestOutcome::Conflict(ConflictReason::DifferentContent)
            });
        } else {
            let holder = by_receipt
                .get(&item.submission.receipt_number)
                .ok_or_else(|| StoreError::Corrupt {
                    what: format!(
                        "submission {}, refused by the store though neither its id nor its \
                         receipt number is held",
                        item.submission.id
                    ),
                })?;
            outcomes.push(IngestOutcome::Conflict(
                ConflictReason::ReceiptNumberTaken {
                    by: parse_uuid(holder)?,
                },
            ));
        }
    }
    Ok(outcomes)
}

async fn kiosk_number(client: &impl GenericClient, kiosk_id: &str) -> StoreResult<Option<i64>> {
    let statement = client
        .prepare_cached("SELECT kiosk_number FROM kiosks WHERE kiosk_id = $1")
        .await
        .map_err(failed("look up a kiosk's number"))?;
    let row = client
        .query_opt(&statement, &[&kiosk_id])
        .await
        .map_err(failed("look up a kiosk's number"))?;
    Ok(row.map(|row| row.get(0)))
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
                   AND s.supplement_to IS NULL
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

pub(super) async fn supplements(
    store: &PostgresStore,
    original: Uuid,
    limit: u32,
) -> StoreResult<Vec<SubmissionRecord>> {
    let client = store.client().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE s.supplement_to = $1
                 ORDER BY s.received_at DESC, s.row_seq DESC
                 LIMIT $2"
            ),
            &[&original.to_string(), &i64::from(limit)],
        )
        .await
        .map_err(failed("list supplements"))?;
    let keys = store.keys();
    rows.iter().map(|row| record(row, &keys)).collect()
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
        materials: Vec::new(),
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
     s.received_at, s.status_changed_at, s.supplement_to";
/// How many columns [`RECORD_COLUMNS`] has: the columns after it start here.
pub(super) const RECORD_WIDTH: usize = 8;

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
        supplement_to: column::<Option<String>>(row, 7, what)?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
    })
}

/// The columns [`change`] reads, from `status_changes`.
pub(super) const CHANGE_COLUMNS: &str =
    "seq, submission_id, receipt_number, status, note, changed_at, materials";

/// The change number and the change in a row whose columns from `first` on are
/// [`CHANGE_COLUMNS`], its note opened.
pub(super) fn change(row: &Row, first: usize, keys: &KeyRing) -> StoreResult<(i64, StatusChange)> {
    let what = "a status change";
    let seq: i64 = column(row, first, what)?;
    let change = StatusChange {
        submission_id: parse_uuid(&column::<String>(row, first + 1, what)?)?,
        receipt_number: column(row, first + 2, what)?,
        status: parse_status(&column::<String>(row, first + 3, what)?)?,
        note: STATUS_NOTE.open_opt(keys, &seq.to_string(), column(row, first + 4, what)?)?,
        changed_at: column(row, first + 5, what)?,
        materials: materials_from_column(
            "a status change's materials",
            column::<Option<&str>>(row, first + 6, what)?,
        )?,
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
                                         changed_at, materials)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING seq",
            &[
                &change.submission_id.to_string(),
                &kiosk_id,
                &change.receipt_number,
                &change.status.as_str(),
                &stored_now(change.changed_at),
                &materials_to_column(&change.materials)?,
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
