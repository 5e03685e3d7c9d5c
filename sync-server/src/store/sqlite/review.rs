//! Review state, actions, the inbox query and the calendar (see [`crate::store::review`]).

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, named_params, params};
use sync_protocol::enroll::Village;
use sync_protocol::feed::StatusChange;
use uuid::Uuid;

use super::SqliteStore;
use super::connection::{failed, millis, stored_now, time};
use super::sealed::REVIEW_COMMENT;
use super::staff::append_audit;
use super::submissions::{
    RECORD_COLUMNS, RECORD_WIDTH, RecordRow, append_status_change, record_row,
};
use crate::domain::access::{Role, Scope};
use crate::domain::calendar::CalendarDay;
use crate::domain::county_time;
use crate::domain::review::ReviewState;
use crate::store::review::{
    InboxOrder, InboxPage, InboxQuery, ReviewActionRecord, ReviewConflict, ReviewItem, ReviewStore,
    ReviewUpdate, parse_day_kind,
};
use crate::store::sealing::KeyRing;
use crate::store::staff::AuditEntry;
use crate::store::{StoreError, StoreFuture, StoreResult, SubmissionRef};

const ITEM_COLUMNS: &str = "s.county, s.township, s.village, s.stage, s.levels, s.accepted_at, \
     s.suspended_at, s.suspended_days, s.due_on";

struct ItemRow {
    record: RecordRow,
    county: String,
    township: String,
    village: String,
    stage: i64,
    levels: Option<i64>,
    accepted_at: Option<i64>,
    suspended_at: Option<i64>,
    suspended_days: i64,
    due_on: Option<String>,
}

/// Reads `RECORD_COLUMNS, ITEM_COLUMNS` in that order.
fn item_row(row: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        record: record_row(row)?,
        county: row.get(RECORD_WIDTH)?,
        township: row.get(RECORD_WIDTH + 1)?,
        village: row.get(RECORD_WIDTH + 2)?,
        stage: row.get(RECORD_WIDTH + 3)?,
        levels: row.get(RECORD_WIDTH + 4)?,
        accepted_at: row.get(RECORD_WIDTH + 5)?,
        suspended_at: row.get(RECORD_WIDTH + 6)?,
        suspended_days: row.get(RECORD_WIDTH + 7)?,
        due_on: row.get(RECORD_WIDTH + 8)?,
    })
}

fn small(value: i64, what: &str) -> StoreResult<u8> {
    u8::try_from(value).map_err(|_| StoreError::Corrupt {
        what: format!("{what} {value}"),
    })
}

fn date(text: &str) -> StoreResult<NaiveDate> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: format!("date `{text}`"),
    })
}

impl ItemRow {
    fn into_item(self, keys: &KeyRing) -> StoreResult<ReviewItem> {
        let record = self.record.into_record(keys)?;
        let state = ReviewState {
            status: record.status,
            stage: small(self.stage, "stage")?,
            levels: self.levels.map(|l| small(l, "levels")).transpose()?,
            accepted_at: self.accepted_at.map(time).transpose()?,
            suspended_at: self.suspended_at.map(time).transpose()?,
            suspended_days: u32::try_from(self.suspended_days).unwrap_or(0),
            due_on: self.due_on.as_deref().map(date).transpose()?,
        };
        Ok(ReviewItem {
            record,
            village: Village {
                county: self.county,
                township: self.township,
                village: self.village,
            },
            state,
        })
    }
}

fn find_item(
    conn: &Connection,
    keys: &KeyRing,
    submission: &SubmissionRef,
) -> StoreResult<Option<ReviewItem>> {
    let (column, key) = match submission {
        SubmissionRef::Id(id) => ("s.id", id.to_string()),
        SubmissionRef::Receipt(receipt) => ("s.receipt_number", receipt.clone()),
    };
    conn.query_row(
        &format!(
            "SELECT {RECORD_COLUMNS}, {ITEM_COLUMNS}
             FROM submissions s JOIN kiosks k USING (kiosk_id) WHERE {column} = ?1"
        ),
        [key],
        item_row,
    )
    .optional()
    .map_err(failed("look up a submission"))?
    .map(|row| row.into_item(keys))
    .transpose()
}

fn apply(
    conn: &Connection,
    keys: &KeyRing,
    update: &ReviewUpdate,
) -> StoreResult<Result<StatusChange, ReviewConflict>> {
    let Some(current) = find_item(conn, keys, &SubmissionRef::Id(update.submission_id))? else {
        return Ok(Err(ReviewConflict::Missing));
    };
    if current.state != update.expected {
        return Ok(Err(ReviewConflict::Changed));
    }
    let now = stored_now(update.action.at);
    let next = &update.next;
    conn.execute(
        "UPDATE submissions SET status = ?2, status_changed_at = ?3, stage = ?4, levels = ?5,
             accepted_at = ?6, suspended_at = ?7, suspended_days = ?8, due_on = ?9
         WHERE id = ?1",
        params![
            update.submission_id.to_string(),
            next.status.as_str(),
            millis(now),
            i64::from(next.stage),
            next.levels.map(i64::from),
            next.accepted_at.map(millis),
            next.suspended_at.map(millis),
            i64::from(next.suspended_days),
            next.due_on.map(|d| d.to_string()),
        ],
    )
    .map_err(failed("change a submission's review state"))?;
    let change = StatusChange {
        submission_id: update.submission_id,
        receipt_number: current.record.submission.receipt_number.clone(),
        status: next.status,
        note: update.villager_note.clone(),
        changed_at: now,
    };
    append_status_change(conn, keys, &change, &current.record.kiosk_id)?;
    // The comment is sealed to the action's number, known once the row exists.
    conn.execute(
        "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at)
         VALUES (?1, ?2, ?3, ?4, '', ?5)",
        params![
            update.submission_id.to_string(),
            i64::from(update.action.stage),
            update.action.actor,
            update.action.action,
            millis(now),
        ],
    )
    .map_err(failed("record a review action"))?;
    let seq = conn.last_insert_rowid();
    conn.execute(
        "UPDATE review_actions SET comment = ?2 WHERE seq = ?1",
        params![
            seq,
            REVIEW_COMMENT.seal(keys, &seq.to_string(), &update.action.comment)
        ],
    )
    .map_err(failed("record a review action"))?;
    append_audit(conn, &update.audit)?;
    Ok(Ok(change))
}

fn actions(conn: &Connection, keys: &KeyRing, id: Uuid) -> StoreResult<Vec<ReviewActionRecord>> {
    let mut statement = conn
        .prepare(
            "SELECT seq, stage, actor, action, comment, at FROM review_actions
             WHERE submission_id = ?1 ORDER BY seq",
        )
        .map_err(failed("read review actions"))?;
    let rows = statement
        .query_map([id.to_string()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .map_err(failed("read review actions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read review actions"))?;
    rows.into_iter()
        .map(|(seq, stage, actor, action, comment, at)| {
            Ok(ReviewActionRecord {
                stage: small(stage, "stage")?,
                actor,
                action,
                comment: REVIEW_COMMENT.open(keys, &seq.to_string(), &comment)?,
                at: time(at)?,
            })
        })
        .collect()
}

const FINAL: &str = "('approved', 'rejected')";

fn inbox(conn: &Connection, keys: &KeyRing, query: &InboxQuery) -> StoreResult<InboxPage> {
    let (county, township, village_scope) = query.scope.parts();
    let statuses = serde_json::to_string(
        &query
            .statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    )
    .map_err(|e| StoreError::backend("list submissions", e))?;
    let waiting = match query.waiting_for {
        Some(Role::Handler) => "AND s.stage = 1",
        Some(Role::Reviewer) => "AND s.stage = 2 AND s.levels = 3",
        Some(Role::Approver) => "AND s.stage >= 2 AND s.stage = s.levels",
        Some(Role::Admin | Role::Viewer) | None => "",
    };
    let soon = query.today + chrono::Duration::days(i64::from(query.due_soon_days));
    let filter = format!(
        "FROM submissions s JOIN kiosks k USING (kiosk_id)
         WHERE s.kind != 'evaluation'
           AND (:county IS NULL OR s.county = :county)
           AND (:township IS NULL OR s.township = :township)
           AND (:village_scope IS NULL OR s.village = :village_scope)
           AND (:village IS NULL OR s.village = :village)
           AND (:kind IS NULL OR s.kind = :kind)
           AND (:item IS NULL OR s.item_code = :item)
           AND (:id_lookup IS NULL OR s.id_lookup = :id_lookup)
           AND (:from IS NULL OR s.received_at >= :from)
           AND (:until IS NULL OR s.received_at < :until)
           AND (:overdue = 0 OR (s.due_on < :today AND s.status NOT IN {FINAL}))
           AND (:due_soon = 0 OR (s.due_on >= :today AND s.due_on <= :soon
                                  AND s.status NOT IN {FINAL}))
           AND CASE WHEN :statuses != '[]'
                    THEN s.status IN (SELECT value FROM json_each(:statuses))
                    WHEN :include_final THEN 1
                    ELSE s.status NOT IN {FINAL} END
           {waiting}"
    );
    let order = match query.order {
        InboxOrder::Newest => "s.received_at DESC, s.rowid DESC",
        InboxOrder::MostUrgent => {
            "CASE WHEN s.status IN ('approved', 'rejected') THEN 1 ELSE 0 END,
             s.due_on IS NULL, s.due_on, s.received_at, s.rowid"
        }
    };
    let today = query.today.to_string();
    let soon = soon.to_string();
    let from = query
        .received_from
        .map(|d| millis(county_time::day_start(d)));
    let until = query
        .received_until
        .map(|d| millis(county_time::day_start(d + chrono::Duration::days(1))));
    let kind = query.kind.map(|k| k.as_str());
    let id_lookup = query.id_number.as_deref().map(|n| keys.id_lookup(n));
    let params = named_params! {
        ":county": county,
        ":township": township,
        ":village_scope": village_scope,
        ":village": query.village,
        ":kind": kind,
        ":item": query.item_code,
        ":id_lookup": id_lookup,
        ":from": from,
        ":until": until,
        ":overdue": query.overdue_only,
        ":due_soon": query.due_soon_only,
        ":today": today,
        ":soon": soon,
        ":statuses": statuses,
        ":include_final": query.include_final,
    };
    let total: i64 = conn
        .query_row(&format!("SELECT COUNT(*) {filter}"), params, |row| {
            row.get(0)
        })
        .map_err(failed("count submissions"))?;
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, {ITEM_COLUMNS} {filter} ORDER BY {order}
         LIMIT {} OFFSET {}",
        query.limit.max(1),
        query.offset
    );
    let mut statement = conn.prepare(&sql).map_err(failed("list submissions"))?;
    let rows = statement
        .query_map(params, item_row)
        .map_err(failed("list submissions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("list submissions"))?;
    Ok(InboxPage {
        items: rows
            .into_iter()
            .map(|row| row.into_item(keys))
            .collect::<StoreResult<_>>()?,
        total: total.unsigned_abs(),
    })
}

fn calendar_days(conn: &Connection) -> StoreResult<Vec<CalendarDay>> {
    let mut statement = conn
        .prepare("SELECT day, kind, name FROM calendar_days ORDER BY day")
        .map_err(failed("read the calendar"))?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .map_err(failed("read the calendar"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read the calendar"))?;
    rows.into_iter()
        .map(|(day, kind, name)| {
            Ok(CalendarDay {
                day: date(&day)?,
                kind: parse_day_kind(&kind).ok_or_else(|| StoreError::Corrupt {
                    what: format!("calendar kind `{kind}`"),
                })?,
                name,
            })
        })
        .collect()
}

impl ReviewStore for SqliteStore {
    fn review_item<'a>(
        &'a self,
        submission: &'a SubmissionRef,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<ReviewItem>> {
        let submission = submission.clone();
        let scope = scope.clone();
        let keys = self.keys();
        Box::pin(self.readers.read(move |conn| {
            Ok(find_item(conn, &keys, &submission)?.filter(|item| scope.covers(&item.village)))
        }))
    }

    fn apply_review(
        &self,
        update: ReviewUpdate,
    ) -> StoreFuture<'_, Result<StatusChange, ReviewConflict>> {
        let keys = self.keys();
        Box::pin(self.writer.write("apply a review action", move |conn| {
            apply(conn, &keys, &update)
        }))
    }

    fn review_actions(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ReviewActionRecord>> {
        let keys = self.keys();
        Box::pin(
            self.readers
                .read(move |conn| actions(conn, &keys, submission_id)),
        )
    }

    fn inbox<'a>(&'a self, query: &'a InboxQuery) -> StoreFuture<'a, InboxPage> {
        let query = query.clone();
        let keys = self.keys();
        Box::pin(self.readers.read(move |conn| inbox(conn, &keys, &query)))
    }

    fn calendar_days(&self) -> StoreFuture<'_, Vec<CalendarDay>> {
        Box::pin(self.readers.read(calendar_days))
    }

    fn set_calendar_day(&self, day: CalendarDay, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write("change the calendar", move |conn| {
            conn.execute(
                "INSERT INTO calendar_days (day, kind, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
                params![day.day.to_string(), day.kind.as_str(), day.name],
            )
            .map_err(failed("change the calendar"))?;
            append_audit(conn, &audit)
        }))
    }

    fn remove_calendar_day(&self, day: NaiveDate, audit: AuditEntry) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.write("change the calendar", move |conn| {
            let removed = conn
                .execute(
                    "DELETE FROM calendar_days WHERE day = ?1",
                    [day.to_string()],
                )
                .map_err(failed("change the calendar"))?;
            if removed > 0 {
                append_audit(conn, &audit)?;
            }
            Ok(removed > 0)
        }))
    }
}
