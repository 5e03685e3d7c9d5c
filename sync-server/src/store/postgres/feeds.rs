//! The three feeds a booth pulls, and what feeds them: catalogue imports and notices (the
//! staff editor's changes go through [`publish_item`] and [`insert_notice`] too).
//! A cursor is the decimal change number of the last item returned, as in SQLite, so a booth's
//! cursor survives a move of the store; opaque to booths.
//!
//! Change numbers are drawn while the transaction holds the feed's lock
//! ([`lock_feed`]): concurrent writers commit a feed's changes in number order, so a reader
//! never sees a number while a smaller one is still in flight and skips it with its cursor.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use sync_protocol::feed::{CatalogItem, FeedPage, Notice, StatusChange};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::connection::{Feed, failed, lock_feed};
use super::submissions::{CHANGE_COLUMNS, change};
use crate::domain::catalog::{CatalogChange, plan_import};
use crate::store::values::{from_json, stored_now, to_json};
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

/// Rows of `(seq BIGINT, body TEXT)`, the body decoded.
async fn json_rows<T: serde::de::DeserializeOwned>(
    client: &impl GenericClient,
    what: &'static str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<(i64, T)>> {
    let rows = client.query(sql, params).await.map_err(failed(what))?;
    rows.iter().map(|row| json_row(row, what)).collect()
}

fn json_row<T: serde::de::DeserializeOwned>(row: &Row, what: &str) -> StoreResult<(i64, T)> {
    let corrupt = |e: tokio_postgres::Error| StoreError::Corrupt {
        what: format!("{what}: {e}"),
    };
    let seq: i64 = row.try_get(0).map_err(corrupt)?;
    let body: String = row.try_get(1).map_err(corrupt)?;
    Ok((seq, from_json(what, &body)?))
}

pub(super) async fn catalog_page(
    store: &PostgresStore,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<CatalogItem>> {
    let after = parse_cursor(after)?;
    let client = store.client().await?;
    let rows = json_rows(
        &client,
        "read the catalogue feed",
        "SELECT change_seq, body FROM catalog_items WHERE change_seq > $1
         ORDER BY change_seq LIMIT $2",
        &[&after, &fetch_limit(limit)],
    )
    .await?;
    Ok(page(rows, after, limit))
}

/// The catalogue feed's newest change number (0 while empty), from the unique index. Change
/// numbers commit in order (the catalogue's feed lock), so this never names a change a
/// reader cannot see yet.
pub(super) async fn catalog_version(store: &PostgresStore) -> StoreResult<i64> {
    let client = store.client().await?;
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(change_seq), 0) FROM catalog_items",
            &[],
        )
        .await
        .map_err(failed("read the catalogue's version"))?;
    Ok(row.get(0))
}

pub(super) async fn notices_page(
    store: &PostgresStore,
    village: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<Notice>> {
    let after = parse_cursor(after)?;
    let client = store.client().await?;
    let rows = json_rows(
        &client,
        "read the notices feed",
        "SELECT n.change_seq, n.body FROM notices n
         WHERE n.change_seq > $1
           AND (n.for_every_village
                OR n.id IN (SELECT notice_id FROM notice_villages WHERE village = $2))
         ORDER BY n.change_seq LIMIT $3",
        &[&after, &village, &fetch_limit(limit)],
    )
    .await?;
    Ok(page(rows, after, limit))
}

pub(super) async fn statuses_page(
    store: &PostgresStore,
    kiosk_id: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<FeedPage<StatusChange>> {
    let after = parse_cursor(after)?;
    let client = store.client().await?;
    let raw = client
        .query(
            &format!(
                "SELECT {CHANGE_COLUMNS} FROM status_changes
                 WHERE kiosk_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&kiosk_id, &after, &fetch_limit(limit)],
        )
        .await
        .map_err(failed("read the statuses feed"))?;
    let keys = store.keys();
    let rows = raw
        .iter()
        .map(|row| change(row, 0, &keys))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(rows, after, limit))
}

// ── shared with content ──

/// Who `catalog_versions` names for a version that came from `sync-server catalog import`.
pub(super) const IMPORTED_BY: &str = "import";

/// The next change number of `feed` ("catalog" or "notices"); the caller holds the feed's lock.
pub(super) async fn next_seq(client: &impl GenericClient, feed: &str) -> StoreResult<i64> {
    let row = client
        .query_one(
            "INSERT INTO feed_counters (feed, last_seq) VALUES ($1, 1)
             ON CONFLICT (feed) DO UPDATE SET last_seq = feed_counters.last_seq + 1
             RETURNING last_seq",
            &[&feed],
        )
        .await
        .map_err(failed("number a feed change"))?;
    Ok(row.get(0))
}

/// Puts `item` (version and withdrawal decided) in the catalogue feed with a new change number
/// and records the version in its history; takes the catalogue's feed lock.
pub(super) async fn publish_item(
    client: &impl GenericClient,
    item: &CatalogItem,
    now: DateTime<Utc>,
    published_by: &str,
) -> StoreResult<()> {
    lock_feed(client, Feed::Catalog).await?;
    let seq = next_seq(client, "catalog").await?;
    let body = to_json(item)?;
    let now = stored_now(now);
    let version = i64::from(item.version);
    client
        .execute(
            "INSERT INTO catalog_items (code, version, withdrawn, body, change_seq, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (code) DO UPDATE SET version = excluded.version,
                 withdrawn = excluded.withdrawn, body = excluded.body,
                 change_seq = excluded.change_seq, updated_at = excluded.updated_at",
            &[&item.code, &version, &item.withdrawn, &body, &seq, &now],
        )
        .await
        .map_err(failed("store a catalogue item"))?;
    // A plain INSERT: versions only grow, so a clash means the history was edited by hand.
    client
        .execute(
            "INSERT INTO catalog_versions (code, version, body, published_at, published_by)
             VALUES ($1, $2, $3, $4, $5)",
            &[&item.code, &version, &body, &now, &published_by],
        )
        .await
        .map_err(failed("record a catalogue version"))?;
    Ok(())
}

/// Drafts are left alone: an import replaces what booths see, not what staff are preparing.
pub(super) async fn import_catalog(
    store: &PostgresStore,
    items: Vec<CatalogItem>,
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start a catalogue import"))?;
    // The lock before reading: a concurrent import or staff edit must not change the
    // catalogue between the plan and its changes.
    lock_feed(&tx, Feed::Catalog).await?;
    let current: Vec<CatalogItem> = json_rows::<CatalogItem>(
        &tx,
        "read the catalogue",
        "SELECT change_seq, body FROM catalog_items ORDER BY code",
        &[],
    )
    .await?
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
        publish_item(&tx, &item, now, IMPORTED_BY).await?;
    }
    tx.commit()
        .await
        .map_err(failed("commit a catalogue import"))?;
    Ok(report)
}

pub(super) async fn add_notice(
    store: &PostgresStore,
    notice: NewNotice,
    now: DateTime<Utc>,
) -> StoreResult<Notice> {
    let mut client = store.client().await?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("start storing a notice"))?;
    let notice = insert_notice(&tx, notice, now).await?;
    tx.commit().await.map_err(failed("commit a notice"))?;
    Ok(notice)
}

/// Stores a notice with the notices feed's next number (inside the caller's transaction),
/// taking the notices feed's lock.
pub(super) async fn insert_notice(
    client: &impl GenericClient,
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
    let id = notice.id.to_string();
    lock_feed(client, Feed::Notices).await?;
    let seq = next_seq(client, "notices").await?;
    client
        .execute(
            "INSERT INTO notices (id, for_every_village, body, change_seq, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &id,
                &notice.villages.is_empty(),
                &to_json(&notice)?,
                &seq,
                &stored_now(now),
            ],
        )
        .await
        .map_err(failed("store a notice"))?;
    for village in &notice.villages {
        client
            .execute(
                "INSERT INTO notice_villages (notice_id, village) VALUES ($1, $2)",
                &[&id, village],
            )
            .await
            .map_err(failed("store a notice's villages"))?;
    }
    Ok(notice)
}
