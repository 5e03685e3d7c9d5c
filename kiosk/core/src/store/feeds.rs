//! What the booth pulls: the catalogue and notice caches and the cursor of every feed. Each
//! page is applied in the same transaction as its cursor advance, so a crash or a failing
//! item leaves both as they were and the page is fetched again.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, Notice, StatusChange};

use super::error::Fault;
use super::{receipts, sql};

pub(crate) fn cursor(conn: &Connection, feed: Feed) -> Result<Option<String>, Fault> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM feed_cursors WHERE feed = ?1",
            [feed.as_str()],
            |row| row.get(0),
        )
        .optional()?)
}

/// Applies each item of `page` and advances `feed`'s cursor past it, all in one transaction:
/// the item that fails leaves the cache and the cursor as they were.
fn apply_page<T>(
    conn: &mut Connection,
    feed: Feed,
    page: &FeedPage<T>,
    now: DateTime<Utc>,
    mut apply_item: impl FnMut(&Transaction<'_>, &T) -> Result<(), Fault>,
) -> Result<(), Fault> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for item in &page.items {
        apply_item(&tx, item)?;
    }
    tx.execute(
        "INSERT INTO feed_cursors (feed, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![feed.as_str(), page.cursor, sql::time_text(now)],
    )?;
    tx.commit()?;
    Ok(())
}

/// Newer versions replace older ones; a withdrawn item leaves the cache.
pub(crate) fn apply_catalog_page(
    conn: &mut Connection,
    page: &FeedPage<CatalogItem>,
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    apply_page(conn, Feed::Catalog, page, now, |tx, item| {
        if item.withdrawn {
            tx.execute("DELETE FROM catalog WHERE code = ?1", [&item.code])?;
            return Ok(());
        }
        let json = serde_json::to_string(item).map_err(|e| Fault::decode("catalogue item", e))?;
        tx.execute(
            "INSERT INTO catalog (code, version, item_json) VALUES (?1, ?2, ?3)
             ON CONFLICT (code) DO UPDATE SET version = excluded.version,
                 item_json = excluded.item_json
             WHERE excluded.version >= catalog.version",
            params![item.code, item.version, json],
        )?;
        Ok(())
    })
}

/// A withdrawn notice leaves the cache.
pub(crate) fn apply_notice_page(
    conn: &mut Connection,
    page: &FeedPage<Notice>,
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    apply_page(conn, Feed::Notices, page, now, |tx, notice| {
        let id = notice.id.to_string();
        if notice.withdrawn {
            tx.execute("DELETE FROM notices WHERE id = ?1", [&id])?;
            return Ok(());
        }
        let json = serde_json::to_string(notice).map_err(|e| Fault::decode("notice", e))?;
        tx.execute(
            "INSERT OR REPLACE INTO notices (id, published_on, expires_on, notice_json)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                id,
                sql::date_text(notice.published_on),
                notice.expires_on.map(sql::date_text),
                json
            ],
        )?;
        Ok(())
    })
}

pub(crate) fn apply_status_page(
    conn: &mut Connection,
    page: &FeedPage<StatusChange>,
    now: DateTime<Utc>,
) -> Result<(), Fault> {
    apply_page(conn, Feed::Statuses, page, now, |tx, change| {
        receipts::apply_status(tx, change)
    })
}

pub(crate) fn catalog_item(conn: &Connection, code: &str) -> Result<Option<CatalogItem>, Fault> {
    let json: Option<String> = conn
        .query_row(
            "SELECT item_json FROM catalog WHERE code = ?1",
            [code.trim()],
            |row| row.get(0),
        )
        .optional()?;
    json.map(|json| serde_json::from_str(&json).map_err(|e| Fault::decode("catalogue item", e)))
        .transpose()
}

pub(crate) fn catalog_items(conn: &Connection) -> Result<Vec<CatalogItem>, Fault> {
    let mut statement = conn.prepare_cached("SELECT item_json FROM catalog ORDER BY code")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut items = Vec::new();
    for json in rows {
        items.push(serde_json::from_str(&json?).map_err(|e| Fault::decode("catalogue item", e))?);
    }
    Ok(items)
}

/// Notices in force on `today` for `village` (or for every village), newest first.
pub(crate) fn notices(
    conn: &Connection,
    village: &str,
    today: NaiveDate,
) -> Result<Vec<Notice>, Fault> {
    let mut statement = conn.prepare_cached(
        "SELECT notice_json FROM notices
         WHERE published_on <= ?1 AND (expires_on IS NULL OR expires_on >= ?1)
         ORDER BY published_on DESC, id",
    )?;
    let rows = statement.query_map([sql::date_text(today)], |row| row.get::<_, String>(0))?;
    let mut notices = Vec::new();
    for json in rows {
        let notice: Notice =
            serde_json::from_str(&json?).map_err(|e| Fault::decode("notice", e))?;
        if notice.villages.is_empty() || notice.villages.iter().any(|v| v == village) {
            notices.push(notice);
        }
    }
    Ok(notices)
}
