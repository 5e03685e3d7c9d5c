//! The three feeds a booth pulls, and what feeds them: catalogue imports and notices (the
//! staff editor's changes go through [`publish_item`] and [`add_notice`] too).
//! A cursor is the decimal change number of the last item returned; opaque to booths.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange};

use super::connection::{failed, from_json, millis, to_json};
use super::submissions::{ChangeRow, change_row};
use crate::domain::catalog::{CatalogChange, plan_import};
use crate::store::sealing::KeyRing;
use crate::store::{ImportReport, NewNotice, StoreError, StoreResult};

fn parse_cursor(after: Option<&str>) -> StoreResult<i64> {
    match after {
        None => Ok(0),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| StoreError::InvalidCursor(text.to_owned())),
    }
}

/// Turns up to `limit + 1` rows of `(seq, item)` into a page.
fn page<T>(mut rows: Vec<(i64, T)>, after: i64, limit: u32) -> FeedPage<T> {
    let limit = limit.max(1) as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let cursor = rows.last().map_or(after, |(seq, _)| *seq).to_string();
    FeedPage {
        items: rows.into_iter().map(|(_, item)| item).collect(),
        cursor,
        more,
    }
}

fn fetch_limit(limit: u32) -> i64 {
    i64::from(limit.max(1)) + 1
}

fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    what: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<(i64, T)>> {
    let mut statement = conn.prepare_cached(sql).map_err(failed(what))?;
    let raw = statement
        .query_map(params, |row: &Row<'_>| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))?;
    raw.into_iter()
        .map(|(seq, body)| Ok((seq, from_json(what, &body)?)))
        .collect()
}

pub(super) fn catalog_page(
    conn: &Connection,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<CatalogItem>> {
    let after = parse_cursor(after)?;
    let rows = json_rows(
        conn,
        "read the catalogue feed",
        "SELECT change_seq, body FROM catalog_items WHERE change_seq > ?1
         ORDER BY change_seq LIMIT ?2",
        params![after, fetch_limit(limit)],
    )?;
    Ok(page(rows, after, limit))
}

/// The catalogue feed's newest change number (0 while empty), from the unique index.
pub(super) fn catalog_version(conn: &Connection) -> StoreResult<i64> {
    // Read on every catalogue pull (the cache's freshness check): kept prepared.
    conn.prepare_cached("SELECT COALESCE(MAX(change_seq), 0) FROM catalog_items")
        .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
        .map_err(failed("read the catalogue's version"))
}

pub(super) fn notices_page(
    conn: &Connection,
    village: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<Notice>> {
    let after = parse_cursor(after)?;
    let rows = json_rows(
        conn,
        "read the notices feed",
        "SELECT n.change_seq, n.body FROM notices n
         WHERE n.change_seq > ?1
           AND (n.for_every_village = 1
                OR n.id IN (SELECT notice_id FROM notice_villages WHERE village = ?2))
         ORDER BY n.change_seq LIMIT ?3",
        params![after, village, fetch_limit(limit)],
    )?;
    Ok(page(rows, after, limit))
}

pub(super) fn statuses_page(
    conn: &Connection,
    keys: &KeyRing,
    kiosk_id: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<StatusChange>> {
    let after = parse_cursor(after)?;
    let mut statement = conn
        .prepare_cached(
            "SELECT seq, submission_id, receipt_number, status, note, changed_at, materials
             FROM status_changes WHERE kiosk_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .map_err(failed("read the statuses feed"))?;
    let raw: Vec<ChangeRow> = statement
        .query_map(params![kiosk_id, after, fetch_limit(limit)], |row| {
            change_row(row, 0)
        })
        .map_err(failed("read the statuses feed"))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed("read the statuses feed"))?;
    let rows = raw
        .into_iter()
        .map(|row| Ok((row.seq(), row.into_change(keys)?)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(rows, after, limit))
}

/// The next change number of `feed`.
pub(super) fn next_seq(conn: &Connection, feed: &str) -> StoreResult<i64> {
    conn.query_row(
        "INSERT INTO feed_counters (feed, last_seq) VALUES (?1, 1)
         ON CONFLICT (feed) DO UPDATE SET last_seq = last_seq + 1
         RETURNING last_seq",
        [feed],
        |row| row.get(0),
    )
    .map_err(failed("number a feed change"))
}

/// Who `catalog_versions` names for a version that came from `sync-server catalog import`.
pub(super) const IMPORTED_BY: &str = "import";

/// Puts `item` (its version and withdrawal already decided) in the catalogue feed with a new
/// change number and records the version in the item's history: the one way an item changes,
/// for imports and the staff editor alike.
pub(super) fn publish_item(
    conn: &Connection,
    item: &CatalogItem,
    now: DateTime<Utc>,
    published_by: &str,
) -> StoreResult<()> {
    let seq = next_seq(conn, "catalog")?;
    let body = to_json(item)?;
    conn.execute(
        "INSERT INTO catalog_items (code, version, withdrawn, body, change_seq, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (code) DO UPDATE SET version = excluded.version,
             withdrawn = excluded.withdrawn, body = excluded.body,
             change_seq = excluded.change_seq, updated_at = excluded.updated_at",
        params![
            item.code,
            item.version,
            item.withdrawn,
            body,
            seq,
            millis(now)
        ],
    )
    .map_err(failed("store a catalogue item"))?;
    // A plain INSERT: versions only grow, so a clash means the history was edited by hand.
    conn.execute(
        "INSERT INTO catalog_versions (code, version, body, published_at, published_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![item.code, item.version, body, millis(now), published_by],
    )
    .map_err(failed("record a catalogue version"))?;
    Ok(())
}

/// Drafts are left alone: an import replaces what booths see, not what staff are preparing.
pub(super) fn import_catalog(
    conn: &Connection,
    items: Vec<CatalogItem>,
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let current: Vec<CatalogItem> = json_rows::<CatalogItem>(
        conn,
        "read the catalogue",
        "SELECT change_seq, body FROM catalog_items ORDER BY code",
        [],
    )?
    .into_iter()
    .map(|(_, item)| item)
    .collect();
    let mut report = ImportReport::default();
    for change in plan_import(current, items) {
        let item = match change {
            CatalogChange::Unchanged(code) => {
                report.unchanged.push(code);
                continue;
            }
            CatalogChange::Add(item) => {
                report.added.push(item.code.clone());
                item
            }
            CatalogChange::Update(item) => {
                report.updated.push(item.code.clone());
                item
            }
            CatalogChange::Withdraw(item) => {
                report.withdrawn.push(item.code.clone());
                item
            }
        };
        publish_item(conn, &item, now, IMPORTED_BY)?;
    }
    Ok(report)
}

pub(super) fn add_notice(
    conn: &Connection,
    notice: NewNotice,
    now: DateTime<Utc>,
) -> StoreResult<Notice> {
    let mut villages = notice.villages;
    villages.sort();
    villages.dedup();
    let notice = Notice {
        id: uuid::Uuid::now_v7(),
        title: notice.title,
        body: notice.body,
        published_on: notice.published_on,
        expires_on: notice.expires_on,
        villages,
        withdrawn: false,
    };
    let seq = next_seq(conn, "notices")?;
    conn.execute(
        "INSERT INTO notices (id, for_every_village, body, change_seq, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            notice.id.to_string(),
            notice.villages.is_empty(),
            to_json(&notice)?,
            seq,
            millis(now)
        ],
    )
    .map_err(failed("store a notice"))?;
    for village in &notice.villages {
        conn.execute(
            "INSERT INTO notice_villages (notice_id, village) VALUES (?1, ?2)",
            params![notice.id.to_string(), village],
        )
        .map_err(failed("store a notice's villages"))?;
    }
    Ok(notice)
}
