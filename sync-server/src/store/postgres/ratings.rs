//! Ratings counted for the dashboard, and the follow-ups of bad ones (see
//! [`crate::store::ratings`]).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::enroll::Village;
use tokio_postgres::Row;

use super::PostgresStore;
use super::audit::append_audit;
use super::connection::failed;
use super::filter::Filter;
use super::submissions::{RECORD_COLUMNS, RECORD_WIDTH, record};
use crate::domain::access::Scope;
use crate::domain::ratings::{self, BAD_AT_MOST, FollowUp, RatingCount};
use crate::store::paging::{self, TaskKey};
use crate::store::ratings::{
    FollowUpRefusal, FollowUpTask, FollowUpWrite, ItemName, RatingsQuery, RatingsStore, TaskFilter,
    TaskPage, TaskQuery,
};
use crate::store::sealed_columns::{CALL_NOTE, FIX_NOTE};
use crate::store::sealing::KeyRing;
use crate::store::values::stored_now;
use crate::store::{StoreError, StoreFuture, StoreResult};

/// Evaluations in the scope given by `$1` (county), `$2` (township) and `$3` (village).
const IN_SCOPE: &str = "s.kind = 'evaluation'
       AND ($1::text IS NULL OR s.county = $1)
       AND ($2::text IS NULL OR s.township = $2)
       AND ($3::text IS NULL OR s.village = $3)";

/// A received instant's China date (UTC+8, no daylight saving).
const CHINA_DAY: &str = "((s.received_at AT TIME ZONE 'UTC') + INTERVAL '8 hours')::date";

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
    what: &str,
) -> StoreResult<T> {
    row.try_get(index).map_err(|_| StoreError::Corrupt {
        what: what.to_owned(),
    })
}

fn rating_count(row: &Row) -> StoreResult<RatingCount> {
    let rating: i64 = column(row, 5, "rating")?;
    let count: i64 = column(row, 6, "rating count")?;
    Ok(RatingCount {
        item_code: column(row, 0, "rated item")?,
        village: Village {
            county: column(row, 1, "rating's county")?,
            township: column(row, 2, "rating's township")?,
            village: column(row, 3, "rating's village")?,
        },
        day: column(row, 4, "received date")?,
        rating: u8::try_from(rating).map_err(|_| StoreError::Corrupt {
            what: format!("rating {rating}"),
        })?,
        count: count.unsigned_abs(),
    })
}

async fn rating_counts(
    client: &impl GenericClient,
    query: &RatingsQuery,
) -> StoreResult<Vec<RatingCount>> {
    let (county, township, village) = query.scope.parts();
    let rows = client
        .query(
            &format!(
                "SELECT s.item_code, s.county, s.township, s.village, {CHINA_DAY} AS day,
                        s.rating, COUNT(*)
                 FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE {IN_SCOPE}
                   AND s.rating BETWEEN 1 AND 5
                   AND s.received_at >= $4 AND s.received_at < $5
                 GROUP BY 1, 2, 3, 4, 5, 6"
            ),
            &[
                &county,
                &township,
                &village,
                &stored_now(query.received_from),
                &stored_now(query.received_until),
            ],
        )
        .await
        .map_err(failed("count ratings"))?;
    rows.iter().map(rating_count).collect()
}

async fn item_names(client: &impl GenericClient, codes: &[String]) -> StoreResult<Vec<ItemName>> {
    // Codes in byte order, as SQLite sorts them whatever the database's collation.
    let rows = client
        .query(
            "SELECT code, body::jsonb ->> 'name_zh', body::jsonb ->> 'name_en'
             FROM catalog_items WHERE code = ANY($1) ORDER BY code COLLATE \"C\"",
            &[&codes],
        )
        .await
        .map_err(failed("name items"))?;
    rows.iter()
        .map(|row| {
            Ok(ItemName {
                code: row.get(0),
                name_zh: column::<Option<String>>(row, 1, "item name")?.unwrap_or_default(),
                name_en: column::<Option<String>>(row, 2, "item name")?.unwrap_or_default(),
            })
        })
        .collect()
}

const TASK_COLUMNS: &str = "s.county, s.township, s.village, c.code,
     c.body::jsonb ->> 'name_zh', c.body::jsonb ->> 'name_en',
     f.submission_id IS NOT NULL, f.called_back_at, f.call_note, f.fix_note, f.closed_at,
     f.closed_by, f.updated_at";

/// Bad evaluations with their kiosk, item and follow-up.
const TASKS_FROM: &str = "FROM submissions s JOIN kiosks k USING (kiosk_id)
     LEFT JOIN catalog_items c ON c.code = s.item_code
     LEFT JOIN follow_ups f ON f.submission_id = s.id";

/// The follow-up columns of a task row, its notes opened with the submission's id.
fn follow_up(row: &Row, keys: &KeyRing, id: &str) -> StoreResult<Option<FollowUp>> {
    let at = |offset: usize| RECORD_WIDTH + offset;
    let followed: bool = column(row, at(6), "follow-up")?;
    if !followed {
        return Ok(None);
    }
    let updated_at: Option<DateTime<Utc>> = column(row, at(12), "follow-up's update time")?;
    Ok(Some(FollowUp {
        called_back_at: column(row, at(7), "call-back time")?,
        call_note: CALL_NOTE.open_opt(keys, id, column(row, at(8), "call note")?)?,
        fix_note: FIX_NOTE.open_opt(keys, id, column(row, at(9), "fix note")?)?,
        closed_at: column(row, at(10), "closing time")?,
        closed_by: column(row, at(11), "closer")?,
        updated_at: updated_at.ok_or_else(|| StoreError::Corrupt {
            what: format!("follow-up of {id} without an update time"),
        })?,
    }))
}

/// The task in a row selected with `RECORD_COLUMNS, TASK_COLUMNS` in that order.
fn task_row(row: &Row, keys: &KeyRing) -> StoreResult<FollowUpTask> {
    let at = |offset: usize| RECORD_WIDTH + offset;
    // The notes are sealed to the row's own key, as stored.
    let id: String = column(row, 0, "submission id")?;
    let record = record(row, keys)?;
    let item_code: Option<String> = column(row, at(3), "rated item")?;
    let name = |offset: usize| -> StoreResult<String> {
        Ok(column::<Option<String>>(row, at(offset), "item name")?.unwrap_or_default())
    };
    Ok(FollowUpTask {
        village: Village {
            county: column(row, at(0), "rating's county")?,
            township: column(row, at(1), "rating's township")?,
            village: column(row, at(2), "rating's village")?,
        },
        item: match item_code {
            Some(code) => Some(ItemName {
                code,
                name_zh: name(4)?,
                name_en: name(5)?,
            }),
            None => None,
        },
        follow_up: follow_up(row, keys, &id)?,
        record,
    })
}

/// Bad evaluations in scope for `query`'s list, and the key's time column and direction.
fn task_filter(query: &TaskQuery) -> (Filter, &'static str, bool) {
    let mut filter = Filter::default();
    filter.add("s.kind = 'evaluation'");
    let (county, township, village) = query.scope.parts();
    filter.equal("s.county", county.map(str::to_owned));
    filter.equal("s.township", township.map(str::to_owned));
    filter.equal("s.village", village.map(str::to_owned));
    let bad = filter.bind(i64::from(BAD_AT_MOST));
    filter.add(format!("s.rating BETWEEN 1 AND {bad}"));
    match query.filter {
        TaskFilter::Open => {
            filter.add("f.closed_at IS NULL");
            (filter, "s.received_at", false)
        }
        TaskFilter::ReceivedBefore(day) => {
            let before = filter.bind(ratings::china_day_start(day));
            filter.add(format!("f.closed_at IS NULL AND s.received_at < {before}"));
            (filter, "s.received_at", false)
        }
        TaskFilter::Closed => {
            filter.add("f.closed_at IS NOT NULL");
            (filter, "f.closed_at", true)
        }
    }
}

async fn tasks(
    client: &impl GenericClient,
    keys: &KeyRing,
    query: &TaskQuery,
) -> StoreResult<TaskPage> {
    let (mut filter, at, descending) = task_filter(query);
    let total: i64 = client
        .query_one(
            &format!(
                "SELECT COUNT(*) FROM submissions s
                 LEFT JOIN follow_ups f ON f.submission_id = s.id {}",
                filter.clause()
            ),
            &filter.params(),
        )
        .await
        .map_err(failed("count follow-ups"))?
        .get(0);
    if query.limit == 0 {
        return Ok(TaskPage {
            total: total.unsigned_abs(),
            ..TaskPage::default()
        });
    }
    let order = filter.seek(&[at, "s.row_seq"], descending, &query.page, |key| {
        vec![Box::new(key.at), Box::new(key.row)]
    });
    let rows = client
        .query(
            &format!(
                "SELECT {RECORD_COLUMNS}, {TASK_COLUMNS}, {at}, s.row_seq {TASKS_FROM} {}
                 ORDER BY {order} LIMIT {}",
                filter.clause(),
                u64::from(query.limit) + 1
            ),
            &filter.params(),
        )
        .await
        .map_err(failed("list follow-ups"))?;
    let key_at = RECORD_WIDTH + 13;
    let keyed = rows
        .iter()
        .map(|row| {
            let key = TaskKey {
                at: column(row, key_at, "task's time")?,
                row: column(row, key_at + 1, "task's row number")?,
            };
            Ok((task_row(row, keys)?, key))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let page = paging::assemble(keyed, &query.page, query.limit as usize);
    Ok(TaskPage {
        tasks: page.items,
        total: total.unsigned_abs(),
        previous: page.previous,
        next: page.next,
    })
}

async fn task(
    client: &impl GenericClient,
    keys: &KeyRing,
    receipt_number: &str,
    scope: &Scope,
) -> StoreResult<Option<FollowUpTask>> {
    let found = client
        .query_opt(
            &format!(
                "SELECT {RECORD_COLUMNS}, {TASK_COLUMNS} {TASKS_FROM}
                 WHERE s.receipt_number = $1 AND s.kind = 'evaluation'
                   AND s.rating BETWEEN 1 AND $2"
            ),
            &[&receipt_number, &i64::from(BAD_AT_MOST)],
        )
        .await
        .map_err(failed("look up a follow-up"))?;
    Ok(found
        .map(|row| task_row(&row, keys))
        .transpose()?
        .filter(|t| scope.covers(&t.village)))
}

/// SQLite's single writer made reading the follow-up and writing the next one a single step.
/// Here the rating's submission row is locked first, in a statement of its own: the task is
/// then read with a fresh snapshot, so a step taken concurrently by someone else is seen
/// (and built on, or refused) instead of overwritten.
async fn record_step(
    client: &impl GenericClient,
    keys: &KeyRing,
    write: &FollowUpWrite,
) -> StoreResult<Result<FollowUp, FollowUpRefusal>> {
    client
        .execute(
            "SELECT 1 FROM submissions WHERE receipt_number = $1 FOR UPDATE",
            &[&write.receipt_number],
        )
        .await
        .map_err(failed("record a follow-up"))?;
    let Some(task) = task(client, keys, &write.receipt_number, &write.scope).await? else {
        return Ok(Err(FollowUpRefusal::Missing));
    };
    let next = match ratings::apply_step(
        task.follow_up.as_ref(),
        &write.step,
        task.record.received_at,
        stored_now(write.now),
        &write.actor,
    ) {
        Ok(next) => next,
        Err(refused) => return Ok(Err(refused.into())),
    };
    let id = task.record.submission.id.to_string();
    client
        .execute(
            "INSERT INTO follow_ups (submission_id, called_back_at, call_note, fix_note,
                                     closed_at, closed_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (submission_id) DO UPDATE SET
                 called_back_at = excluded.called_back_at, call_note = excluded.call_note,
                 fix_note = excluded.fix_note, closed_at = excluded.closed_at,
                 closed_by = excluded.closed_by, updated_at = excluded.updated_at",
            &[
                &id,
                &next.called_back_at.map(stored_now),
                &CALL_NOTE.seal_opt(keys, &id, next.call_note.as_deref()),
                &FIX_NOTE.seal_opt(keys, &id, next.fix_note.as_deref()),
                &next.closed_at.map(stored_now),
                &next.closed_by,
                &stored_now(next.updated_at),
            ],
        )
        .await
        .map_err(failed("record a follow-up"))?;
    append_audit(client, &write.audit).await?;
    Ok(Ok(next))
}

impl PostgresStore {
    async fn record_follow_up_now(
        &self,
        write: &FollowUpWrite,
    ) -> StoreResult<Result<FollowUp, FollowUpRefusal>> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("record a follow-up"))?;
        let recorded = record_step(&tx, &self.keys(), write).await?;
        // A refusal writes nothing: the transaction is dropped, so rolled back.
        if recorded.is_ok() {
            tx.commit().await.map_err(failed("record a follow-up"))?;
        }
        Ok(recorded)
    }
}

impl RatingsStore for PostgresStore {
    fn rating_counts<'a>(&'a self, query: &'a RatingsQuery) -> StoreFuture<'a, Vec<RatingCount>> {
        Box::pin(async move {
            let client = self.client().await?;
            rating_counts(&client, query).await
        })
    }

    fn item_names<'a>(&'a self, codes: &'a [String]) -> StoreFuture<'a, Vec<ItemName>> {
        Box::pin(async move {
            let client = self.client().await?;
            item_names(&client, codes).await
        })
    }

    fn follow_up_tasks<'a>(&'a self, query: &'a TaskQuery) -> StoreFuture<'a, TaskPage> {
        Box::pin(async move {
            let client = self.client().await?;
            tasks(&client, &self.keys(), query).await
        })
    }

    fn follow_up_task<'a>(
        &'a self,
        receipt_number: &'a str,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<FollowUpTask>> {
        Box::pin(async move {
            let client = self.client().await?;
            task(&client, &self.keys(), receipt_number, scope).await
        })
    }

    fn record_follow_up(
        &self,
        write: FollowUpWrite,
    ) -> StoreFuture<'_, Result<FollowUp, FollowUpRefusal>> {
        Box::pin(async move { self.record_follow_up_now(&write).await })
    }
}
