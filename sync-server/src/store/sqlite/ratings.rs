//! Ratings counted for the dashboard, and the follow-ups of bad ones (see
//! [`crate::store::ratings`]).

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};
use sync_protocol::enroll::Village;

use super::SqliteStore;
use super::connection::{failed, millis, stored_now, time};
use super::filter::Filter;
use super::sealed::{CALL_NOTE, FIX_NOTE};
use super::staff::append_audit;
use super::submissions::{RECORD_COLUMNS, RECORD_WIDTH, RecordRow, record_row};
use crate::domain::access::Scope;
use crate::domain::ratings::{self, BAD_AT_MOST, FollowUp, RatingCount};
use crate::store::paging::{self, TaskKey};
use crate::store::ratings::{
    FollowUpRefusal, FollowUpTask, FollowUpWrite, ItemName, RatingsQuery, RatingsStore, TaskFilter,
    TaskPage, TaskQuery,
};
use crate::store::sealing::KeyRing;
use crate::store::{StoreError, StoreFuture, StoreResult};

/// China Standard Time ahead of UTC, in the stored unit: a received instant's China date.
const CHINA_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// Evaluations in the scope given by `:county`, `:township` and `:village`.
const IN_SCOPE: &str = "s.kind = 'evaluation'
       AND (:county IS NULL OR s.county = :county)
       AND (:township IS NULL OR s.township = :township)
       AND (:village IS NULL OR s.village = :village)";

fn rating_counts(conn: &Connection, query: &RatingsQuery) -> StoreResult<Vec<RatingCount>> {
    let (county, township, village) = query.scope.parts();
    let mut statement = conn
        .prepare(&format!(
            "SELECT s.item_code, s.county, s.township, s.village,
                    date((s.received_at + {CHINA_OFFSET_MS}) / 1000, 'unixepoch') AS day,
                    s.rating, COUNT(*)
             FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE {IN_SCOPE}
               AND s.rating BETWEEN 1 AND 5
               AND s.received_at >= :from AND s.received_at < :until
             GROUP BY s.item_code, s.county, s.township, s.village, day, s.rating"
        ))
        .map_err(failed("count ratings"))?;
    let rows = statement
        .query_map(
            named_params! {
                ":county": county,
                ":township": township,
                ":village": village,
                ":from": millis(query.received_from),
                ":until": millis(query.received_until),
            },
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    Village {
                        county: row.get(1)?,
                        township: row.get(2)?,
                        village: row.get(3)?,
                    },
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                ))
            },
        )
        .map_err(failed("count ratings"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("count ratings"))?;
    rows.into_iter()
        .map(|(item_code, village, day, rating, count)| {
            Ok(RatingCount {
                item_code,
                village,
                day: day.parse().map_err(|_| StoreError::Corrupt {
                    what: format!("received date `{day}`"),
                })?,
                rating: u8::try_from(rating).map_err(|_| StoreError::Corrupt {
                    what: format!("rating {rating}"),
                })?,
                count: count.unsigned_abs(),
            })
        })
        .collect()
}

fn item_names(conn: &Connection, codes: &[String]) -> StoreResult<Vec<ItemName>> {
    let codes = serde_json::to_string(codes).map_err(|e| StoreError::backend("name items", e))?;
    let mut statement = conn
        .prepare(
            "SELECT code, json_extract(body, '$.name_zh'), json_extract(body, '$.name_en')
             FROM catalog_items WHERE code IN (SELECT value FROM json_each(?1))
             ORDER BY code",
        )
        .map_err(failed("name items"))?;
    statement
        .query_map([codes], |row| {
            Ok(ItemName {
                code: row.get(0)?,
                name_zh: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                name_en: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        })
        .map_err(failed("name items"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("name items"))
}

const TASK_COLUMNS: &str = "s.county, s.township, s.village, c.code,
     json_extract(c.body, '$.name_zh'), json_extract(c.body, '$.name_en'),
     f.submission_id IS NOT NULL, f.called_back_at, f.call_note, f.fix_note, f.closed_at,
     f.closed_by, f.updated_at";

/// Bad evaluations with their kiosk, item and follow-up.
const TASKS_FROM: &str = "FROM submissions s JOIN kiosks k USING (kiosk_id)
     LEFT JOIN catalog_items c ON c.code = s.item_code
     LEFT JOIN follow_ups f ON f.submission_id = s.id";

struct TaskRow {
    record: RecordRow,
    village: Village,
    item_code: Option<String>,
    name_zh: Option<String>,
    name_en: Option<String>,
    followed: bool,
    called_back_at: Option<i64>,
    call_note: Option<String>,
    fix_note: Option<String>,
    closed_at: Option<i64>,
    closed_by: Option<String>,
    updated_at: Option<i64>,
}

/// Reads `RECORD_COLUMNS, TASK_COLUMNS` in that order.
fn task_row(row: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow {
        record: record_row(row)?,
        village: Village {
            county: row.get(RECORD_WIDTH)?,
            township: row.get(RECORD_WIDTH + 1)?,
            village: row.get(RECORD_WIDTH + 2)?,
        },
        item_code: row.get(RECORD_WIDTH + 3)?,
        name_zh: row.get(RECORD_WIDTH + 4)?,
        name_en: row.get(RECORD_WIDTH + 5)?,
        followed: row.get(RECORD_WIDTH + 6)?,
        called_back_at: row.get(RECORD_WIDTH + 7)?,
        call_note: row.get(RECORD_WIDTH + 8)?,
        fix_note: row.get(RECORD_WIDTH + 9)?,
        closed_at: row.get(RECORD_WIDTH + 10)?,
        closed_by: row.get(RECORD_WIDTH + 11)?,
        updated_at: row.get(RECORD_WIDTH + 12)?,
    })
}

impl TaskRow {
    fn into_task(self, keys: &KeyRing) -> StoreResult<FollowUpTask> {
        let id = self.record.id().to_owned();
        let follow_up = if self.followed {
            Some(FollowUp {
                called_back_at: self.called_back_at.map(time).transpose()?,
                call_note: CALL_NOTE.open_opt(keys, &id, self.call_note)?,
                fix_note: FIX_NOTE.open_opt(keys, &id, self.fix_note)?,
                closed_at: self.closed_at.map(time).transpose()?,
                closed_by: self.closed_by,
                updated_at: time(self.updated_at.unwrap_or_default())?,
            })
        } else {
            None
        };
        Ok(FollowUpTask {
            record: self.record.into_record(keys)?,
            village: self.village,
            item: self.item_code.map(|code| ItemName {
                code,
                name_zh: self.name_zh.unwrap_or_default(),
                name_en: self.name_en.unwrap_or_default(),
            }),
            follow_up,
        })
    }
}

/// Bad evaluations in scope for `query`'s list, and the key's time column and direction.
fn task_filter(query: &TaskQuery) -> (Filter, &'static str, bool) {
    let mut filter = Filter::default();
    filter.add("s.kind = 'evaluation'");
    let (county, township, village) = query.scope.parts();
    filter.equal("s.county", county.map(str::to_owned));
    filter.equal("s.township", township.map(str::to_owned));
    filter.equal("s.village", village.map(str::to_owned));
    let bad = filter.bind(BAD_AT_MOST);
    filter.add(format!("s.rating BETWEEN 1 AND {bad}"));
    match query.filter {
        TaskFilter::Open => {
            filter.add("f.closed_at IS NULL");
            (filter, "s.received_at", false)
        }
        TaskFilter::ReceivedBefore(day) => {
            let before = filter.bind(millis(ratings::china_day_start(day)));
            filter.add(format!("f.closed_at IS NULL AND s.received_at < {before}"));
            (filter, "s.received_at", false)
        }
        TaskFilter::Closed => {
            filter.add("f.closed_at IS NOT NULL");
            (filter, "f.closed_at", true)
        }
    }
}

fn tasks(conn: &Connection, keys: &KeyRing, query: &TaskQuery) -> StoreResult<TaskPage> {
    let (mut filter, at, descending) = task_filter(query);
    let total: i64 = conn
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM submissions s
                 LEFT JOIN follow_ups f ON f.submission_id = s.id {}",
                filter.clause()
            ),
            filter.params(),
            |row| row.get(0),
        )
        .map_err(failed("count follow-ups"))?;
    if query.limit == 0 {
        return Ok(TaskPage {
            total: total.unsigned_abs(),
            ..TaskPage::default()
        });
    }
    let order = filter.seek(&[at, "s.rowid"], descending, &query.page, |key| {
        vec![Box::new(millis(key.at)), Box::new(key.row)]
    });
    let mut statement = conn
        .prepare(&format!(
            "SELECT {RECORD_COLUMNS}, {TASK_COLUMNS}, {at}, s.rowid {TASKS_FROM} {}
             ORDER BY {order} LIMIT {}",
            filter.clause(),
            u64::from(query.limit) + 1
        ))
        .map_err(failed("list follow-ups"))?;
    let key_at = RECORD_WIDTH + 13;
    let rows = statement
        .query_map(filter.params(), |row| {
            Ok((
                task_row(row)?,
                row.get::<_, i64>(key_at)?,
                row.get::<_, i64>(key_at + 1)?,
            ))
        })
        .map_err(failed("list follow-ups"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list follow-ups"))?;
    let keyed = rows
        .into_iter()
        .map(|(task, at, row)| Ok((task, TaskKey { at: time(at)?, row })))
        .collect::<StoreResult<Vec<_>>>()?;
    let page = paging::assemble(keyed, &query.page, query.limit as usize);
    Ok(TaskPage {
        tasks: page
            .items
            .into_iter()
            .map(|row| row.into_task(keys))
            .collect::<StoreResult<_>>()?,
        total: total.unsigned_abs(),
        previous: page.previous,
        next: page.next,
    })
}

fn task(
    conn: &Connection,
    keys: &KeyRing,
    receipt_number: &str,
    scope: &Scope,
) -> StoreResult<Option<FollowUpTask>> {
    conn.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS}, {TASK_COLUMNS} {TASKS_FROM}
             WHERE s.receipt_number = ?1 AND s.kind = 'evaluation' AND s.rating BETWEEN 1 AND ?2"
        ),
        params![receipt_number, BAD_AT_MOST],
        task_row,
    )
    .optional()
    .map_err(failed("look up a follow-up"))?
    .map(|row| row.into_task(keys))
    .transpose()
    .map(|task| task.filter(|t| scope.covers(&t.village)))
}

fn record(
    conn: &Connection,
    keys: &KeyRing,
    write: &FollowUpWrite,
) -> StoreResult<Result<FollowUp, FollowUpRefusal>> {
    let Some(task) = task(conn, keys, &write.receipt_number, &write.scope)? else {
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
    conn.execute(
        "INSERT INTO follow_ups (submission_id, called_back_at, call_note, fix_note, closed_at,
                                 closed_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (submission_id) DO UPDATE SET
             called_back_at = excluded.called_back_at, call_note = excluded.call_note,
             fix_note = excluded.fix_note, closed_at = excluded.closed_at,
             closed_by = excluded.closed_by, updated_at = excluded.updated_at",
        params![
            id,
            next.called_back_at.map(millis),
            CALL_NOTE.seal_opt(keys, &id, next.call_note.as_deref()),
            FIX_NOTE.seal_opt(keys, &id, next.fix_note.as_deref()),
            next.closed_at.map(millis),
            next.closed_by,
            millis(next.updated_at),
        ],
    )
    .map_err(failed("record a follow-up"))?;
    append_audit(conn, &write.audit)?;
    Ok(Ok(next))
}

impl RatingsStore for SqliteStore {
    fn rating_counts<'a>(&'a self, query: &'a RatingsQuery) -> StoreFuture<'a, Vec<RatingCount>> {
        let query = query.clone();
        Box::pin(self.readers.read(move |conn| rating_counts(conn, &query)))
    }

    fn item_names<'a>(&'a self, codes: &'a [String]) -> StoreFuture<'a, Vec<ItemName>> {
        let codes = codes.to_vec();
        Box::pin(self.readers.read(move |conn| item_names(conn, &codes)))
    }

    fn follow_up_tasks<'a>(&'a self, query: &'a TaskQuery) -> StoreFuture<'a, TaskPage> {
        let query = query.clone();
        let keys = self.keys();
        Box::pin(self.readers.read(move |conn| tasks(conn, &keys, &query)))
    }

    fn follow_up_task<'a>(
        &'a self,
        receipt_number: &'a str,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<FollowUpTask>> {
        let receipt_number = receipt_number.to_owned();
        let scope = scope.clone();
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| task(conn, &keys, &receipt_number, &scope)),
        )
    }

    fn record_follow_up(
        &self,
        write: FollowUpWrite,
    ) -> StoreFuture<'_, Result<FollowUp, FollowUpRefusal>> {
        let keys = self.keys();
        Box::pin(self.writer.write("record a follow-up", move |conn| {
            record(conn, &keys, &write)
        }))
    }
}
