//! Review state, actions, the inbox query and the calendar (see [`crate::store::review`]).

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::enroll::Village;
use sync_protocol::feed::StatusChange;
use tokio_postgres::Row;
use uuid::Uuid;

use super::PostgresStore;
use super::audit::append_audit;
use super::connection::{Feed, failed, lock_feed};
use super::filter::Filter;
use super::submissions::{RECORD_COLUMNS, RECORD_WIDTH, append_status_change, record};
use crate::domain::access::{Role, Scope};
use crate::domain::calendar::CalendarDay;
use crate::domain::county_time;
use crate::domain::review::ReviewState;
use crate::store::paging::{self, InboxKey, Paged};
use crate::store::review::{
    InboxOrder, InboxPage, InboxQuery, ReviewActionRecord, ReviewConflict, ReviewItem, ReviewStore,
    ReviewUpdate, parse_day_kind,
};
use crate::store::sealed_columns::REVIEW_COMMENT;
use crate::store::sealing::KeyRing;
use crate::store::staff::AuditEntry;
use crate::store::values::{materials_from_column, materials_to_column, stored_now};
use crate::store::{StoreError, StoreFuture, StoreResult, SubmissionRef};

const ITEM_COLUMNS: &str = "s.county, s.township, s.village, s.stage, s.levels, s.accepted_at, \
     s.suspended_at, s.suspended_days, s.due_on";

fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
    what: &str,
) -> StoreResult<T> {
    row.try_get(index).map_err(|_| StoreError::Corrupt {
        what: format!("submission's {what}"),
    })
}

fn small(value: i64, what: &str) -> StoreResult<u8> {
    u8::try_from(value).map_err(|_| StoreError::Corrupt {
        what: format!("{what} {value}"),
    })
}

/// The item in a row selected with `RECORD_COLUMNS, ITEM_COLUMNS` in that order.
fn item(row: &Row, keys: &KeyRing) -> StoreResult<ReviewItem> {
    let record = record(row, keys)?;
    let at = |offset: usize, what: &str| column::<String>(row, RECORD_WIDTH + offset, what);
    let village = Village {
        county: at(0, "county")?,
        township: at(1, "township")?,
        village: at(2, "village")?,
    };
    let stage: i64 = column(row, RECORD_WIDTH + 3, "stage")?;
    let levels: Option<i64> = column(row, RECORD_WIDTH + 4, "levels")?;
    let suspended_days: i64 = column(row, RECORD_WIDTH + 7, "suspended days")?;
    let state = ReviewState {
        status: record.status,
        stage: small(stage, "stage")?,
        levels: levels.map(|l| small(l, "levels")).transpose()?,
        accepted_at: column(row, RECORD_WIDTH + 5, "acceptance time")?,
        suspended_at: column(row, RECORD_WIDTH + 6, "suspension time")?,
        suspended_days: u32::try_from(suspended_days).unwrap_or(0),
        due_on: column(row, RECORD_WIDTH + 8, "promised date")?,
    };
    Ok(ReviewItem {
        record,
        village,
        state,
    })
}

/// The submission with its review state; with `lock`, its row stays locked to the end of the
/// caller's transaction.
async fn find_item(
    client: &impl GenericClient,
    keys: &KeyRing,
    submission: &SubmissionRef,
    lock: bool,
) -> StoreResult<Option<ReviewItem>> {
    let (column, key) = match submission {
        SubmissionRef::Id(id) => ("s.id", id.to_string()),
        SubmissionRef::Receipt(receipt) => ("s.receipt_number", receipt.clone()),
    };
    // Only the submission's row: the kiosk's stays free for sightings and heartbeats.
    let lock = if lock { "FOR UPDATE OF s" } else { "" };
    client
        .query_opt(
            &format!(
                "SELECT {RECORD_COLUMNS}, {ITEM_COLUMNS}
                 FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE {column} = $1 AND s.supplement_to IS NULL {lock}"
            ),
            &[&key],
        )
        .await
        .map_err(failed("look up a submission"))?
        .map(|row| item(&row, keys))
        .transpose()
}

/// SQLite's single writer made the check of the expected state and the write one step. Here
/// the kiosk number's statuses feed is locked first (the order a replacement, which moves
/// submissions, and a status change take), then the submission's row is read again and
/// locked: of two reviewers acting at once the second waits, reads the first one's state and
/// is told it changed.
async fn apply(
    client: &impl GenericClient,
    keys: &KeyRing,
    update: &ReviewUpdate,
) -> StoreResult<Result<StatusChange, ReviewConflict>> {
    let submission = SubmissionRef::Id(update.submission_id);
    let Some(found) = find_item(client, keys, &submission, false).await? else {
        return Ok(Err(ReviewConflict::Missing));
    };
    lock_feed(client, Feed::Statuses(i64::from(found.record.kiosk_number))).await?;
    let Some(current) = find_item(client, keys, &submission, true).await? else {
        return Ok(Err(ReviewConflict::Missing));
    };
    if current.state != update.expected {
        return Ok(Err(ReviewConflict::Changed));
    }
    let now = stored_now(update.action.at);
    let next = &update.next;
    let id = update.submission_id.to_string();
    client
        .execute(
            "UPDATE submissions SET status = $2, status_changed_at = $3, stage = $4, levels = $5,
                 accepted_at = $6, suspended_at = $7, suspended_days = $8, due_on = $9
             WHERE id = $1",
            &[
                &id,
                &next.status.as_str(),
                &now,
                &i64::from(next.stage),
                &next.levels.map(i64::from),
                &next.accepted_at.map(stored_now),
                &next.suspended_at.map(stored_now),
                &i64::from(next.suspended_days),
                &next.due_on,
            ],
        )
        .await
        .map_err(failed("change a submission's review state"))?;
    let change = StatusChange {
        submission_id: update.submission_id,
        receipt_number: current.record.submission.receipt_number.clone(),
        status: next.status,
        note: update.villager_note.clone(),
        changed_at: now,
        materials: update.action.materials.clone(),
    };
    append_status_change(client, keys, &change, &current.record.kiosk_id).await?;
    record_action(client, keys, &id, update, now).await?;
    append_audit(client, &update.audit).await?;
    Ok(Ok(change))
}

/// Inserts the action; its comment is sealed to the action's number, known once the row
/// exists.
async fn record_action(
    client: &impl GenericClient,
    keys: &KeyRing,
    submission_id: &str,
    update: &ReviewUpdate,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let row = client
        .query_one(
            "INSERT INTO review_actions (submission_id, stage, actor, action, comment, at,
                                         materials)
             VALUES ($1, $2, $3, $4, '', $5, $6) RETURNING seq",
            &[
                &submission_id,
                &i64::from(update.action.stage),
                &update.action.actor,
                &update.action.action,
                &at,
                &materials_to_column(&update.action.materials)?,
            ],
        )
        .await
        .map_err(failed("record a review action"))?;
    let seq: i64 = row.get(0);
    client
        .execute(
            "UPDATE review_actions SET comment = $2 WHERE seq = $1",
            &[
                &seq,
                &REVIEW_COMMENT.seal(keys, &seq.to_string(), &update.action.comment),
            ],
        )
        .await
        .map_err(failed("record a review action"))?;
    Ok(())
}

async fn actions(
    client: &impl GenericClient,
    keys: &KeyRing,
    id: Uuid,
) -> StoreResult<Vec<ReviewActionRecord>> {
    let rows = client
        .query(
            "SELECT seq, stage, actor, action, comment, at, materials FROM review_actions
             WHERE submission_id = $1 ORDER BY seq",
            &[&id.to_string()],
        )
        .await
        .map_err(failed("read review actions"))?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.get(0);
            Ok(ReviewActionRecord {
                stage: small(row.get(1), "stage")?,
                actor: row.get(2),
                action: row.get(3),
                comment: REVIEW_COMMENT.open(keys, &seq.to_string(), row.get(4))?,
                at: row.get(5),
                materials: materials_from_column("a review action's materials", row.get(6))?,
            })
        })
        .collect()
}

/// Finished or not, as the inbox indexes (schema version 3, remade in 6) hold it. Written `… IS FALSE`
/// for "open": PostgreSQL turns `NOT (… IN …)` into `<> ALL`, which no index matches.
const IS_FINAL: &str = "(s.status IN ('approved', 'rejected'))";
/// The promised date, none as a date after every real one (the index's second key).
const DUE_KEY: &str = "COALESCE(s.due_on, DATE '9999-12-31')";

/// The inbox's conditions, only those the query uses (see [`Filter`]), each written so one of
/// the inbox indexes can serve it.
fn inbox_filter(keys: &KeyRing, query: &InboxQuery) -> Filter {
    let mut filter = Filter::default();
    // The inbox indexes are partial on exactly these terms: no ratings, and no supplements
    // (they are part of their original's case, never one of their own).
    filter.add("s.kind <> 'evaluation'");
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
        let from = filter.bind(county_time::day_start(from));
        filter.add(format!("s.received_at >= {from}"));
    }
    if let Some(until) = query.received_until {
        let until = filter.bind(county_time::day_start(until + chrono::Duration::days(1)));
        filter.add(format!("s.received_at < {until}"));
    }
    if query.overdue_only {
        let today = filter.bind(query.today);
        filter.add(format!("{IS_FINAL} IS FALSE AND {DUE_KEY} < {today}"));
    }
    if query.due_soon_only {
        let soon = query.today + chrono::Duration::days(i64::from(query.due_soon_days));
        let (today, soon) = (filter.bind(query.today), filter.bind(soon));
        filter.add(format!(
            "{IS_FINAL} IS FALSE AND {DUE_KEY} >= {today} AND {DUE_KEY} <= {soon}"
        ));
    }
    if !query.statuses.is_empty() {
        let statuses: Vec<&'static str> = query.statuses.iter().map(|s| s.as_str()).collect();
        let statuses = filter.bind(statuses);
        filter.add(format!("s.status = ANY({statuses})"));
    } else if !query.include_final {
        filter.add(format!("{IS_FINAL} IS FALSE"));
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
fn key_columns() -> String {
    format!("s.received_at, s.row_seq, {IS_FINAL}, {DUE_KEY}")
}

fn inbox_key(row: &Row, order: InboxOrder) -> StoreResult<InboxKey> {
    let base = RECORD_WIDTH + 9;
    let received_at: DateTime<Utc> = column(row, base, "received time")?;
    let seq: i64 = column(row, base + 1, "row number")?;
    Ok(match order {
        InboxOrder::Newest => InboxKey::Newest {
            received_at,
            row: seq,
        },
        InboxOrder::MostUrgent => InboxKey::MostUrgent {
            is_final: column(row, base + 2, "status")?,
            due: column(row, base + 3, "promised date")?,
            received_at,
            row: seq,
        },
    })
}

async fn inbox(
    client: &impl GenericClient,
    keys: &KeyRing,
    query: &InboxQuery,
) -> StoreResult<InboxPage> {
    if let Some(key) = query.page.key()
        && !query.order.fits(key)
    {
        return Err(StoreError::InvalidCursor(key.to_string()));
    }
    let mut filter = inbox_filter(keys, query);
    let total: i64 = client
        .query_one(
            &format!("SELECT COUNT(*) FROM submissions s {}", filter.clause()),
            &filter.params(),
        )
        .await
        .map_err(failed("count submissions"))?
        .get(0);
    let mut page = Paged::default();
    if query.limit > 0 {
        let order = match query.order {
            InboxOrder::Newest => filter.seek(
                &["s.received_at", "s.row_seq"],
                true,
                &query.page,
                |key| match *key {
                    InboxKey::Newest { received_at, row } => {
                        vec![Box::new(received_at), Box::new(row)]
                    }
                    InboxKey::MostUrgent { .. } => Vec::new(),
                },
            ),
            InboxOrder::MostUrgent => filter.seek(
                &[IS_FINAL, DUE_KEY, "s.received_at", "s.row_seq"],
                false,
                &query.page,
                |key| match *key {
                    InboxKey::MostUrgent {
                        is_final,
                        due,
                        received_at,
                        row,
                    } => vec![
                        Box::new(is_final),
                        Box::new(due),
                        Box::new(received_at),
                        Box::new(row),
                    ],
                    InboxKey::Newest { .. } => Vec::new(),
                },
            ),
        };
        let rows = client
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS}, {ITEM_COLUMNS}, {}
                     FROM submissions s JOIN kiosks k USING (kiosk_id) {} ORDER BY {order}
                     LIMIT {}",
                    key_columns(),
                    filter.clause(),
                    u64::from(query.limit) + 1
                ),
                &filter.params(),
            )
            .await
            .map_err(failed("list submissions"))?;
        let keyed = rows
            .iter()
            .map(|row| Ok((item(row, keys)?, inbox_key(row, query.order)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        page = paging::assemble(keyed, &query.page, query.limit as usize);
    }
    Ok(InboxPage {
        items: page.items,
        total: total.unsigned_abs(),
        previous: page.previous,
        next: page.next,
    })
}

async fn calendar_days(client: &impl GenericClient) -> StoreResult<Vec<CalendarDay>> {
    let rows = client
        .query(
            "SELECT day, kind, name FROM calendar_days ORDER BY day",
            &[],
        )
        .await
        .map_err(failed("read the calendar"))?;
    rows.iter()
        .map(|row| {
            let kind: String = row.get(1);
            Ok(CalendarDay {
                day: row.get(0),
                kind: parse_day_kind(&kind).ok_or_else(|| StoreError::Corrupt {
                    what: format!("calendar kind `{kind}`"),
                })?,
                name: row.get(2),
            })
        })
        .collect()
}

impl PostgresStore {
    async fn apply_review_now(
        &self,
        update: &ReviewUpdate,
    ) -> StoreResult<Result<StatusChange, ReviewConflict>> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("apply a review action"))?;
        let applied = apply(&tx, &self.keys(), update).await?;
        if applied.is_ok() {
            tx.commit().await.map_err(failed("apply a review action"))?;
        }
        Ok(applied)
    }

    async fn set_calendar_day_now(&self, day: &CalendarDay, audit: &AuditEntry) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("change the calendar"))?;
        tx.execute(
            "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
             ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
            &[&day.day, &day.kind.as_str(), &day.name],
        )
        .await
        .map_err(failed("change the calendar"))?;
        append_audit(&tx, audit).await?;
        tx.commit().await.map_err(failed("change the calendar"))
    }

    async fn remove_calendar_day_now(
        &self,
        day: NaiveDate,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("change the calendar"))?;
        let removed = tx
            .execute("DELETE FROM calendar_days WHERE day = $1", &[&day])
            .await
            .map_err(failed("change the calendar"))?;
        if removed > 0 {
            append_audit(&tx, audit).await?;
        }
        tx.commit().await.map_err(failed("change the calendar"))?;
        Ok(removed > 0)
    }
}

impl ReviewStore for PostgresStore {
    fn review_item<'a>(
        &'a self,
        submission: &'a SubmissionRef,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<ReviewItem>> {
        Box::pin(async move {
            let client = self.client().await?;
            Ok(find_item(&client, &self.keys(), submission, false)
                .await?
                .filter(|item| scope.covers(&item.village)))
        })
    }

    fn apply_review(
        &self,
        update: ReviewUpdate,
    ) -> StoreFuture<'_, Result<StatusChange, ReviewConflict>> {
        Box::pin(async move { self.apply_review_now(&update).await })
    }

    fn review_actions(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ReviewActionRecord>> {
        Box::pin(async move {
            let client = self.client().await?;
            actions(&client, &self.keys(), submission_id).await
        })
    }

    fn inbox<'a>(&'a self, query: &'a InboxQuery) -> StoreFuture<'a, InboxPage> {
        Box::pin(async move {
            let client = self.client().await?;
            inbox(&client, &self.keys(), query).await
        })
    }

    fn calendar_days(&self) -> StoreFuture<'_, Vec<CalendarDay>> {
        Box::pin(async move {
            let client = self.client().await?;
            calendar_days(&client).await
        })
    }

    fn set_calendar_day(&self, day: CalendarDay, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.set_calendar_day_now(&day, &audit).await })
    }

    fn remove_calendar_day(&self, day: NaiveDate, audit: AuditEntry) -> StoreFuture<'_, bool> {
        Box::pin(async move { self.remove_calendar_day_now(day, &audit).await })
    }
}
