//! Review state, actions, the inbox query and the calendar (see [`crate::store::review`]).

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, params};
use sync_protocol::enroll::Village;
use sync_protocol::feed::StatusChange;
use uuid::Uuid;

use super::SqliteStore;
use super::connection::{failed, millis, stored_now, time};
use super::filter::Filter;
use super::sealed::REVIEW_COMMENT;
use super::staff::append_audit;
use super::submissions::{
    RECORD_COLUMNS, RECORD_WIDTH, RecordRow, append_status_change, record_row,
};
use crate::domain::access::{Role, Scope};
use crate::domain::calendar::CalendarDay;
use crate::domain::county_time;
use crate::domain::review::ReviewState;
use crate::store::paging::{self, InboxKey, Paged};
use crate::store::review::{
    InboxOrder, InboxPage, InboxQuery, ReviewActionRecord, ReviewConflict, ReviewItem, ReviewStore,
    ReviewUpdate, parse_day_kind,
};
use crate::store::sealing::KeyRing;
use crate::store::staff::AuditEntry;
use crate::store::values::{materials_from_column, materials_to_column};
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
             FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE {column} = ?1 AND s.supplement_to IS NULL"
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
        materials: update.action.materials.clone(),
    };
    append_status_change(conn, keys, &change, &current.record.kiosk_id)?;
    // The comment is sealed to the action's number, known once the row exists.
    conn.execute(
        "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at, materials)
         VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
        params![
            update.submission_id.to_string(),
            i64::from(update.action.stage),
            update.action.actor,
            update.action.action,
            millis(now),
            materials_to_column(&update.action.materials)?,
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
            "SELECT seq, stage, actor, action, comment, at, materials FROM review_actions
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
                row.get::<_, Option<String>>(6)?,
            ))
        })
        .map_err(failed("read review actions"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read review actions"))?;
    rows.into_iter()
        .map(|(seq, stage, actor, action, comment, at, materials)| {
            Ok(ReviewActionRecord {
                stage: small(stage, "stage")?,
                actor,
                action,
                comment: REVIEW_COMMENT.open(keys, &seq.to_string(), &comment)?,
                at: time(at)?,
                materials: materials_from_column(
                    "a review action's materials",
                    materials.as_deref(),
                )?,
            })
        })
        .collect()
}

/// The inbox's conditions, only those the query uses (see [`Filter`]). Every one is written so
/// an index of schema version 12 can serve it: `is_final` and `due_key` are version 9's
/// generated columns, which the inbox's keys order by.
fn inbox_filter(keys: &KeyRing, query: &InboxQuery) -> Filter {
    let mut filter = Filter::default();
    // The inbox indexes are partial on exactly these terms: no ratings, and no supplements
    // (they are part of their original's case, never one of their own).
    filter.add("s.kind != 'evaluation'");
    filter.add("s.supplement_to IS NULL");
    let (county, township, village_scope) = query.scope.parts();
    filter.equal("s.county", county.map(str::to_owned));
    filter.equal("s.township", township.map(str::to_owned));
    filter.equal("s.village", village_scope.map(str::to_owned));
    filter.equal("s.village", query.village.clone());
    filter.equal("s.kind", query.kind.map(|k| k.as_str()));
    filter.equal("s.item_code", query.item_code.clone());
    filter.equal(
        "s.id_lookup",
        query.id_number.as_deref().map(|n| keys.id_lookup(n)),
    );
    if let Some(from) = query.received_from {
        let from = filter.bind(millis(county_time::day_start(from)));
        filter.add(format!("s.received_at >= {from}"));
    }
    if let Some(until) = query.received_until {
        let until = filter.bind(millis(county_time::day_start(
            until + chrono::Duration::days(1),
        )));
        filter.add(format!("s.received_at < {until}"));
    }
    let today = query.today.to_string();
    if query.overdue_only {
        // `due_key` is the promised date, or a date after every real one.
        let today = filter.bind(today.clone());
        filter.add(format!("s.is_final = 0 AND s.due_key < {today}"));
    }
    if query.due_soon_only {
        let soon = query.today + chrono::Duration::days(i64::from(query.due_soon_days));
        let (today, soon) = (filter.bind(today), filter.bind(soon.to_string()));
        filter.add(format!(
            "s.is_final = 0 AND s.due_key >= {today} AND s.due_key <= {soon}"
        ));
    }
    if !query.statuses.is_empty() {
        let holders: Vec<String> = query
            .statuses
            .iter()
            .map(|status| filter.bind(status.as_str()))
            .collect();
        filter.add(format!("s.status IN ({})", holders.join(", ")));
    } else if !query.include_final {
        filter.add("s.is_final = 0");
    }
    match query.waiting_for {
        Some(Role::Handler) => filter.add("s.stage = 1"),
        Some(Role::Reviewer) => filter.add("s.stage = 2 AND s.levels = 3"),
        Some(Role::Approver) => filter.add("s.stage >= 2 AND s.stage = s.levels"),
        Some(Role::Admin | Role::Viewer) | None => {}
    }
    filter
}

/// The columns after `RECORD_COLUMNS, ITEM_COLUMNS` that make a row's [`InboxKey`].
const KEY_COLUMNS: &str = "s.rowid, s.is_final, s.due_key";

fn inbox_key(row: &Row<'_>, order: InboxOrder) -> StoreResult<InboxKey> {
    let base = RECORD_WIDTH + 9;
    let read = |row: &Row<'_>| -> rusqlite::Result<(i64, i64, i64, String)> {
        Ok((
            row.get(5)?,
            row.get(base)?,
            row.get(base + 1)?,
            row.get(base + 2)?,
        ))
    };
    let (received_at, row, is_final, due) = read(row).map_err(failed("list submissions"))?;
    let received_at = time(received_at)?;
    Ok(match order {
        InboxOrder::Newest => InboxKey::Newest { received_at, row },
        InboxOrder::MostUrgent => InboxKey::MostUrgent {
            is_final: is_final != 0,
            due: date(&due)?,
            received_at,
            row,
        },
    })
}

fn inbox(conn: &Connection, keys: &KeyRing, query: &InboxQuery) -> StoreResult<InboxPage> {
    if let Some(key) = query.page.key()
        && !query.order.fits(key)
    {
        return Err(StoreError::InvalidCursor(key.to_string()));
    }
    let mut filter = inbox_filter(keys, query);
    let total: i64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM submissions s {}", filter.clause()),
            filter.params(),
            |row| row.get(0),
        )
        .map_err(failed("count submissions"))?;
    let mut page = Paged::default();
    if query.limit > 0 {
        let order = match query.order {
            InboxOrder::Newest => filter.seek(
                &["s.received_at", "s.rowid"],
                true,
                &query.page,
                |key| match *key {
                    InboxKey::Newest { received_at, row } => {
                        vec![Box::new(millis(received_at)), Box::new(row)]
                    }
                    InboxKey::MostUrgent { .. } => Vec::new(),
                },
            ),
            InboxOrder::MostUrgent => filter.seek(
                &["s.is_final", "s.due_key", "s.received_at", "s.rowid"],
                false,
                &query.page,
                |key| match *key {
                    InboxKey::MostUrgent {
                        is_final,
                        due,
                        received_at,
                        row,
                    } => vec![
                        Box::new(i64::from(is_final)),
                        Box::new(due.to_string()),
                        Box::new(millis(received_at)),
                        Box::new(row),
                    ],
                    InboxKey::Newest { .. } => Vec::new(),
                },
            ),
        };
        let sql = format!(
            "SELECT {RECORD_COLUMNS}, {ITEM_COLUMNS}, {KEY_COLUMNS}
             FROM submissions s JOIN kiosks k USING (kiosk_id) {} ORDER BY {order} LIMIT {}",
            filter.clause(),
            u64::from(query.limit) + 1
        );
        let mut statement = conn.prepare(&sql).map_err(failed("list submissions"))?;
        let mut rows = statement
            .query(filter.params())
            .map_err(failed("list submissions"))?;
        let mut keyed = Vec::new();
        while let Some(row) = rows.next().map_err(failed("list submissions"))? {
            let item = item_row(row).map_err(failed("list submissions"))?;
            keyed.push((item, inbox_key(row, query.order)?));
        }
        page = paging::assemble(keyed, &query.page, query.limit as usize);
    }
    Ok(InboxPage {
        items: page
            .items
            .into_iter()
            .map(|row| row.into_item(keys))
            .collect::<StoreResult<_>>()?,
        total: total.unsigned_abs(),
        previous: page.previous,
        next: page.next,
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
