//! Guide drafts and versions, and notices as staff edit them (see [`crate::store::content`]).
//! Published changes go through the same feed functions as imports and `notice add`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sync_protocol::feed::{CatalogItem, Notice};
use uuid::Uuid;

use super::SqliteStore;
use super::connection::{failed, from_json, millis, stored_now, time, to_json};
use super::feeds::{add_notice, next_seq, publish_item};
use super::staff::append_audit;
use crate::domain::catalog::{check_item, same_content};
use crate::store::content::{
    ContentStore, Guide, GuideDraft, GuideRefusal, GuideSummary, GuideVersion, GuideVersionInfo,
    NoticeRefusal, PublishedGuide,
};
use crate::store::staff::AuditEntry;
use crate::store::{NewNotice, StoreFuture, StoreResult};

fn version_of(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(u32::MAX)
}

fn list_guides(conn: &Connection) -> StoreResult<Vec<GuideSummary>> {
    let what = "list the catalogue items";
    let mut statement = conn
        .prepare(
            "SELECT c.code,
                    json_extract(COALESCE(i.body, d.body), '$.name_zh'),
                    json_extract(COALESCE(i.body, d.body), '$.category'),
                    i.version, COALESCE(i.withdrawn, 0), d.code IS NOT NULL
             FROM (SELECT code FROM catalog_items UNION SELECT code FROM catalog_drafts) c
             LEFT JOIN catalog_items i ON i.code = c.code
             LEFT JOIN catalog_drafts d ON d.code = c.code
             ORDER BY c.code",
        )
        .map_err(failed(what))?;
    statement
        .query_map([], |row| {
            Ok(GuideSummary {
                code: row.get(0)?,
                name_zh: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                category: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                version: row.get::<_, Option<i64>>(3)?.map(version_of),
                withdrawn: row.get(4)?,
                has_draft: row.get(5)?,
            })
        })
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))
}

fn published(conn: &Connection, code: &str) -> StoreResult<Option<PublishedGuide>> {
    let what = "read a catalogue item";
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT body, updated_at FROM catalog_items WHERE code = ?1",
            [code],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(failed(what))?;
    row.map(|(body, at)| {
        Ok(PublishedGuide {
            item: from_json(what, &body)?,
            updated_at: time(at)?,
        })
    })
    .transpose()
}

fn draft(conn: &Connection, code: &str) -> StoreResult<Option<GuideDraft>> {
    let what = "read a guide draft";
    let row: Option<(String, i64, String)> = conn
        .query_row(
            "SELECT body, updated_at, updated_by FROM catalog_drafts WHERE code = ?1",
            [code],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(failed(what))?;
    row.map(|(body, at, by)| {
        Ok(GuideDraft {
            item: from_json(what, &body)?,
            updated_at: time(at)?,
            updated_by: by,
        })
    })
    .transpose()
}

fn find_guide(conn: &Connection, code: &str) -> StoreResult<Option<Guide>> {
    let published = published(conn, code)?;
    let draft = draft(conn, code)?;
    if published.is_none() && draft.is_none() {
        return Ok(None);
    }
    let what = "read a guide's history";
    let mut statement = conn
        .prepare(
            "SELECT version, COALESCE(json_extract(body, '$.withdrawn'), 0), published_at,
                    published_by
             FROM catalog_versions WHERE code = ?1 ORDER BY version DESC",
        )
        .map_err(failed(what))?;
    let rows = statement
        .query_map([code], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, bool>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))?;
    let versions = rows
        .into_iter()
        .map(|(version, withdrawn, at, by)| {
            Ok(GuideVersionInfo {
                version: version_of(version),
                withdrawn,
                published_at: time(at)?,
                published_by: by,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(Guide {
        code: code.to_owned(),
        published,
        draft,
        versions,
    }))
}

fn guide_version(conn: &Connection, code: &str, version: u32) -> StoreResult<Option<GuideVersion>> {
    let what = "read a guide version";
    let row: Option<(String, i64, String)> = conn
        .query_row(
            "SELECT body, published_at, published_by FROM catalog_versions
             WHERE code = ?1 AND version = ?2",
            params![code, version],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(failed(what))?;
    row.map(|(body, at, by)| {
        Ok(GuideVersion {
            item: from_json(what, &body)?,
            published_at: time(at)?,
            published_by: by,
        })
    })
    .transpose()
}

fn write_draft(conn: &Connection, draft: &CatalogItem, audit: &AuditEntry) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO catalog_drafts (code, body, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (code) DO UPDATE SET body = excluded.body,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![draft.code, to_json(draft)?, millis(audit.at), audit.actor],
    )
    .map_err(failed("save a guide draft"))?;
    append_audit(conn, audit)
}

fn create_guide(
    conn: &Connection,
    draft: &CatalogItem,
    audit: &AuditEntry,
) -> StoreResult<Result<(), GuideRefusal>> {
    let taken: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM catalog_items WHERE code = ?1)
                 OR EXISTS (SELECT 1 FROM catalog_drafts WHERE code = ?1)",
            [&draft.code],
            |row| row.get(0),
        )
        .map_err(failed("check a new item's code"))?;
    if taken {
        return Ok(Err(GuideRefusal::Exists(draft.code.clone())));
    }
    let draft = CatalogItem {
        version: 0,
        withdrawn: false,
        ..draft.clone()
    };
    write_draft(conn, &draft, audit)?;
    Ok(Ok(()))
}

fn save_draft(
    conn: &Connection,
    item: CatalogItem,
    audit: &AuditEntry,
) -> StoreResult<Result<GuideDraft, GuideRefusal>> {
    if published(conn, &item.code)?.is_none() && draft(conn, &item.code)?.is_none() {
        return Ok(Err(GuideRefusal::Unknown(item.code)));
    }
    // Withdrawal is not the editor's to set: publishing keeps the item's own.
    let item = CatalogItem {
        withdrawn: false,
        ..item
    };
    write_draft(conn, &item, audit)?;
    Ok(Ok(GuideDraft {
        item,
        updated_at: stored_now(audit.at),
        updated_by: audit.actor.clone(),
    }))
}

/// The audit line of a published change names the version it made (known only here).
fn with_version(audit: &AuditEntry, version: u32) -> AuditEntry {
    AuditEntry {
        detail: Some(format!("version {version}")),
        ..audit.clone()
    }
}

fn publish(
    conn: &Connection,
    code: &str,
    draft_saved_at: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<Result<CatalogItem, GuideRefusal>> {
    let Some(saved) = draft(conn, code)? else {
        return Ok(Err(GuideRefusal::NoDraft(code.to_owned())));
    };
    if millis(saved.updated_at) != millis(draft_saved_at) {
        return Ok(Err(GuideRefusal::DraftChanged(code.to_owned())));
    }
    if let Err(problem) = check_item(&saved.item) {
        return Ok(Err(GuideRefusal::Invalid {
            code: code.to_owned(),
            problem,
        }));
    }
    let current = published(conn, code)?.map(|p| p.item);
    if current
        .as_ref()
        .is_some_and(|current| same_content(current, &saved.item))
    {
        return Ok(Err(GuideRefusal::Unchanged(code.to_owned())));
    }
    let item = CatalogItem {
        code: code.to_owned(),
        version: current.as_ref().map_or(1, |c| c.version + 1),
        withdrawn: current.as_ref().is_some_and(|c| c.withdrawn),
        ..saved.item
    };
    publish_item(conn, &item, audit.at, &audit.actor)?;
    conn.execute("DELETE FROM catalog_drafts WHERE code = ?1", [code])
        .map_err(failed("remove a published draft"))?;
    append_audit(conn, &with_version(audit, item.version))?;
    Ok(Ok(item))
}

fn discard(
    conn: &Connection,
    code: &str,
    audit: &AuditEntry,
) -> StoreResult<Result<(), GuideRefusal>> {
    let removed = conn
        .execute("DELETE FROM catalog_drafts WHERE code = ?1", [code])
        .map_err(failed("discard a guide draft"))?;
    if removed == 0 {
        return Ok(Err(GuideRefusal::NoDraft(code.to_owned())));
    }
    append_audit(conn, audit)?;
    Ok(Ok(()))
}

fn set_withdrawn(
    conn: &Connection,
    code: &str,
    withdrawn: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<CatalogItem, GuideRefusal>> {
    let Some(current) = published(conn, code)? else {
        return Ok(Err(if draft(conn, code)?.is_some() {
            GuideRefusal::NotPublished(code.to_owned())
        } else {
            GuideRefusal::Unknown(code.to_owned())
        }));
    };
    match (current.item.withdrawn, withdrawn) {
        (true, true) => return Ok(Err(GuideRefusal::AlreadyWithdrawn(code.to_owned()))),
        (false, false) => return Ok(Err(GuideRefusal::NotWithdrawn(code.to_owned()))),
        _ => {}
    }
    let item = CatalogItem {
        version: current.item.version + 1,
        withdrawn,
        ..current.item
    };
    publish_item(conn, &item, audit.at, &audit.actor)?;
    append_audit(conn, &with_version(audit, item.version))?;
    Ok(Ok(item))
}

fn list_notices(conn: &Connection, villages: Option<&str>) -> StoreResult<Vec<Notice>> {
    let what = "list notices";
    let mut statement = conn
        .prepare(
            "SELECT n.body FROM notices n
             WHERE ?1 IS NULL OR n.for_every_village = 1
                OR NOT EXISTS (SELECT 1 FROM notice_villages v
                               WHERE v.notice_id = n.id
                                 AND v.village NOT IN (SELECT value FROM json_each(?1)))
             ORDER BY json_extract(n.body, '$.published_on') DESC, n.created_at DESC, n.id DESC",
        )
        .map_err(failed(what))?;
    let bodies = statement
        .query_map([villages], |row| row.get::<_, String>(0))
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))?;
    bodies.iter().map(|body| from_json(what, body)).collect()
}

fn find_notice(conn: &Connection, id: Uuid) -> StoreResult<Option<Notice>> {
    let what = "read a notice";
    conn.query_row(
        "SELECT body FROM notices WHERE id = ?1",
        [id.to_string()],
        |row| row.get::<_, String>(0),
    )
    .optional()
    .map_err(failed(what))?
    .map(|body| from_json(what, &body))
    .transpose()
}

fn set_notice_withdrawn(
    conn: &Connection,
    id: Uuid,
    withdrawn: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<Notice, NoticeRefusal>> {
    let Some(notice) = find_notice(conn, id)? else {
        return Ok(Err(NoticeRefusal::Unknown(id)));
    };
    match (notice.withdrawn, withdrawn) {
        (true, true) => return Ok(Err(NoticeRefusal::AlreadyWithdrawn(id))),
        (false, false) => return Ok(Err(NoticeRefusal::AlreadyPublished(id))),
        _ => {}
    }
    let notice = Notice {
        withdrawn,
        ..notice
    };
    // A new change number: booths past the old one pull the notice again and drop or show it.
    let seq = next_seq(conn, "notices")?;
    conn.execute(
        "UPDATE notices SET body = ?2, change_seq = ?3 WHERE id = ?1",
        params![id.to_string(), to_json(&notice)?, seq],
    )
    .map_err(failed("change a notice"))?;
    append_audit(conn, audit)?;
    Ok(Ok(notice))
}

impl ContentStore for SqliteStore {
    fn list_guides(&self) -> StoreFuture<'_, Vec<GuideSummary>> {
        Box::pin(self.readers.read(list_guides))
    }

    fn find_guide<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Guide>> {
        let code = code.to_owned();
        Box::pin(self.readers.read(move |conn| find_guide(conn, &code)))
    }

    fn guide_version<'a>(
        &'a self,
        code: &'a str,
        version: u32,
    ) -> StoreFuture<'a, Option<GuideVersion>> {
        let code = code.to_owned();
        Box::pin(
            self.readers
                .read(move |conn| guide_version(conn, &code, version)),
        )
    }

    fn create_guide(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<(), GuideRefusal>> {
        Box::pin(self.writer.write("start a new guide", move |conn| {
            create_guide(conn, &draft, &audit)
        }))
    }

    fn save_guide_draft(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<GuideDraft, GuideRefusal>> {
        Box::pin(self.writer.write("save a guide draft", move |conn| {
            save_draft(conn, draft, &audit)
        }))
    }

    fn publish_guide<'a>(
        &'a self,
        code: &'a str,
        draft_saved_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        let code = code.to_owned();
        Box::pin(self.writer.write("publish a guide", move |conn| {
            publish(conn, &code, draft_saved_at, &audit)
        }))
    }

    fn discard_guide_draft<'a>(
        &'a self,
        code: &'a str,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), GuideRefusal>> {
        let code = code.to_owned();
        Box::pin(self.writer.write("discard a guide draft", move |conn| {
            discard(conn, &code, &audit)
        }))
    }

    fn set_guide_withdrawn<'a>(
        &'a self,
        code: &'a str,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        let code = code.to_owned();
        Box::pin(
            self.writer
                .write("withdraw or restore a guide", move |conn| {
                    set_withdrawn(conn, &code, withdrawn, &audit)
                }),
        )
    }

    fn list_notices<'a>(&'a self, villages: Option<&'a [String]>) -> StoreFuture<'a, Vec<Notice>> {
        let villages = villages.map(|v| serde_json::to_string(v).unwrap_or_default());
        Box::pin(
            self.readers
                .read(move |conn| list_notices(conn, villages.as_deref())),
        )
    }

    fn find_notice(&self, id: Uuid) -> StoreFuture<'_, Option<Notice>> {
        Box::pin(self.readers.read(move |conn| find_notice(conn, id)))
    }

    fn create_notice(&self, notice: NewNotice, audit: AuditEntry) -> StoreFuture<'_, Notice> {
        Box::pin(self.writer.write("publish a notice", move |conn| {
            let notice = add_notice(conn, notice, audit.at)?;
            let audit = AuditEntry {
                target: Some(notice.id.to_string()),
                ..audit
            };
            append_audit(conn, &audit)?;
            Ok(notice)
        }))
    }

    fn set_notice_withdrawn(
        &self,
        id: Uuid,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Notice, NoticeRefusal>> {
        Box::pin(
            self.writer
                .write("withdraw or re-publish a notice", move |conn| {
                    set_notice_withdrawn(conn, id, withdrawn, &audit)
                }),
        )
    }
}
