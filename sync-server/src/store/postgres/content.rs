//! Guide drafts and versions, and notices as staff edit them (see [`crate::store::content`]),
//! as in [`crate::store::sqlite`]. Published changes go through the same feed functions as
//! imports and `notice add`.
//!
//! Every guide change holds the catalogue's feed lock from its first read, and every notice
//! change the notices' lock: SQLite checks a draft or a notice and then writes it with no
//! other writer in between, and these locks give PostgreSQL's concurrent transactions the
//! same (publishing takes the catalogue lock anyway, to draw the change number).

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use sync_protocol::feed::{CatalogItem, Notice};
use uuid::Uuid;

use super::PostgresStore;
use super::audit::append_audit;
use super::connection::{Feed, failed, lock_feed};
use super::feeds::{insert_notice, next_seq, publish_item};
use crate::domain::catalog::{check_item, same_content};
use crate::store::content::{
    ContentStore, Guide, GuideDraft, GuideRefusal, GuideSummary, GuideVersion, GuideVersionInfo,
    NoticeRefusal, PublishedGuide,
};
use crate::store::staff::AuditEntry;
use crate::store::values::{from_json, stored_now, to_json};
use crate::store::{NewNotice, StoreFuture, StoreResult};

fn version_of(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(u32::MAX)
}

/// Commits `tx` and hands back `value`. Refusals commit too: they wrote nothing, and the
/// commit releases the feed lock at once.
async fn commit<T>(tx: Transaction<'_>, what: &'static str, value: T) -> StoreResult<T> {
    tx.commit().await.map_err(failed(what))?;
    Ok(value)
}

async fn list_guides(client: &impl GenericClient) -> StoreResult<Vec<GuideSummary>> {
    // COLLATE "C": codes sort by their bytes, as SQLite sorts them, whatever the database's
    // collation.
    let rows = client
        .query(
            "SELECT c.code,
                    COALESCE(i.body, d.body)::jsonb ->> 'name_zh',
                    COALESCE(i.body, d.body)::jsonb ->> 'category',
                    i.version, COALESCE(i.withdrawn, FALSE), d.code IS NOT NULL
             FROM (SELECT code FROM catalog_items UNION SELECT code FROM catalog_drafts) c
             LEFT JOIN catalog_items i ON i.code = c.code
             LEFT JOIN catalog_drafts d ON d.code = c.code
             ORDER BY c.code COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(failed("list the catalogue items"))?;
    Ok(rows
        .iter()
        .map(|row| GuideSummary {
            code: row.get(0),
            name_zh: row.get::<_, Option<String>>(1).unwrap_or_default(),
            category: row.get::<_, Option<String>>(2).unwrap_or_default(),
            version: row.get::<_, Option<i64>>(3).map(version_of),
            withdrawn: row.get(4),
            has_draft: row.get(5),
        })
        .collect())
}

async fn published(client: &impl GenericClient, code: &str) -> StoreResult<Option<PublishedGuide>> {
    let what = "read a catalogue item";
    let row = client
        .query_opt(
            "SELECT body, updated_at FROM catalog_items WHERE code = $1",
            &[&code],
        )
        .await
        .map_err(failed(what))?;
    row.map(|row| {
        Ok(PublishedGuide {
            item: from_json(what, row.get(0))?,
            updated_at: row.get(1),
        })
    })
    .transpose()
}

async fn draft(client: &impl GenericClient, code: &str) -> StoreResult<Option<GuideDraft>> {
    let what = "read a guide draft";
    let row = client
        .query_opt(
            "SELECT body, updated_at, updated_by FROM catalog_drafts WHERE code = $1",
            &[&code],
        )
        .await
        .map_err(failed(what))?;
    row.map(|row| {
        Ok(GuideDraft {
            item: from_json(what, row.get(0))?,
            updated_at: row.get(1),
            updated_by: row.get(2),
        })
    })
    .transpose()
}

async fn find_guide(client: &impl GenericClient, code: &str) -> StoreResult<Option<Guide>> {
    let published = published(client, code).await?;
    let draft = draft(client, code).await?;
    if published.is_none() && draft.is_none() {
        return Ok(None);
    }
    let rows = client
        .query(
            "SELECT version, COALESCE((body::jsonb ->> 'withdrawn')::boolean, FALSE),
                    published_at, published_by
             FROM catalog_versions WHERE code = $1 ORDER BY version DESC",
            &[&code],
        )
        .await
        .map_err(failed("read a guide's history"))?;
    let versions = rows
        .iter()
        .map(|row| GuideVersionInfo {
            version: version_of(row.get(0)),
            withdrawn: row.get(1),
            published_at: row.get(2),
            published_by: row.get(3),
        })
        .collect();
    Ok(Some(Guide {
        code: code.to_owned(),
        published,
        draft,
        versions,
    }))
}

async fn guide_version(
    client: &impl GenericClient,
    code: &str,
    version: u32,
) -> StoreResult<Option<GuideVersion>> {
    let what = "read a guide version";
    let row = client
        .query_opt(
            "SELECT body, published_at, published_by FROM catalog_versions
             WHERE code = $1 AND version = $2",
            &[&code, &i64::from(version)],
        )
        .await
        .map_err(failed(what))?;
    row.map(|row| {
        Ok(GuideVersion {
            item: from_json(what, row.get(0))?,
            published_at: row.get(1),
            published_by: row.get(2),
        })
    })
    .transpose()
}

async fn write_draft(
    client: &impl GenericClient,
    draft: &CatalogItem,
    audit: &AuditEntry,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO catalog_drafts (code, body, updated_at, updated_by)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (code) DO UPDATE SET body = excluded.body,
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &[
                &draft.code,
                &to_json(draft)?,
                &stored_now(audit.at),
                &audit.actor,
            ],
        )
        .await
        .map_err(failed("save a guide draft"))?;
    append_audit(client, audit).await
}

async fn create_guide(
    client: &impl GenericClient,
    draft: &CatalogItem,
    audit: &AuditEntry,
) -> StoreResult<Result<(), GuideRefusal>> {
    lock_feed(client, Feed::Catalog).await?;
    let taken: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM catalog_items WHERE code = $1)
                 OR EXISTS (SELECT 1 FROM catalog_drafts WHERE code = $1)",
            &[&draft.code],
        )
        .await
        .map_err(failed("check a new item's code"))?
        .get(0);
    if taken {
        return Ok(Err(GuideRefusal::Exists(draft.code.clone())));
    }
    let draft = CatalogItem {
        version: 0,
        withdrawn: false,
        ..draft.clone()
    };
    write_draft(client, &draft, audit).await?;
    Ok(Ok(()))
}

async fn save_draft(
    client: &impl GenericClient,
    item: CatalogItem,
    audit: &AuditEntry,
) -> StoreResult<Result<GuideDraft, GuideRefusal>> {
    lock_feed(client, Feed::Catalog).await?;
    if published(client, &item.code).await?.is_none() && draft(client, &item.code).await?.is_none()
    {
        return Ok(Err(GuideRefusal::Unknown(item.code)));
    }
    // Withdrawal is not the editor's to set: publishing keeps the item's own.
    let item = CatalogItem {
        withdrawn: false,
        ..item
    };
    write_draft(client, &item, audit).await?;
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

async fn publish(
    client: &impl GenericClient,
    code: &str,
    draft_saved_at: DateTime<Utc>,
    audit: &AuditEntry,
) -> StoreResult<Result<CatalogItem, GuideRefusal>> {
    lock_feed(client, Feed::Catalog).await?;
    let Some(saved) = draft(client, code).await? else {
        return Ok(Err(GuideRefusal::NoDraft(code.to_owned())));
    };
    if saved.updated_at.timestamp_millis() != draft_saved_at.timestamp_millis() {
        return Ok(Err(GuideRefusal::DraftChanged(code.to_owned())));
    }
    if let Err(problem) = check_item(&saved.item) {
        return Ok(Err(GuideRefusal::Invalid {
            code: code.to_owned(),
            problem,
        }));
    }
    let current = published(client, code).await?.map(|p| p.item);
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
    publish_item(client, &item, audit.at, &audit.actor).await?;
    client
        .execute("DELETE FROM catalog_drafts WHERE code = $1", &[&code])
        .await
        .map_err(failed("remove a published draft"))?;
    append_audit(client, &with_version(audit, item.version)).await?;
    Ok(Ok(item))
}

async fn discard(
    client: &impl GenericClient,
    code: &str,
    audit: &AuditEntry,
) -> StoreResult<Result<(), GuideRefusal>> {
    lock_feed(client, Feed::Catalog).await?;
    let removed = client
        .execute("DELETE FROM catalog_drafts WHERE code = $1", &[&code])
        .await
        .map_err(failed("discard a guide draft"))?;
    if removed == 0 {
        return Ok(Err(GuideRefusal::NoDraft(code.to_owned())));
    }
    append_audit(client, audit).await?;
    Ok(Ok(()))
}

async fn set_withdrawn(
    client: &impl GenericClient,
    code: &str,
    withdrawn: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<CatalogItem, GuideRefusal>> {
    lock_feed(client, Feed::Catalog).await?;
    let Some(current) = published(client, code).await? else {
        return Ok(Err(if draft(client, code).await?.is_some() {
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
    publish_item(client, &item, audit.at, &audit.actor).await?;
    append_audit(client, &with_version(audit, item.version)).await?;
    Ok(Ok(item))
}

async fn list_notices(
    client: &impl GenericClient,
    villages: Option<&[String]>,
) -> StoreResult<Vec<Notice>> {
    let what = "list notices";
    // COLLATE "C": ISO dates and ids compare by their bytes, as in SQLite.
    let rows = client
        .query(
            "SELECT n.body FROM notices n
             WHERE $1::text[] IS NULL OR n.for_every_village
                OR NOT EXISTS (SELECT 1 FROM notice_villages v
                               WHERE v.notice_id = n.id AND v.village <> ALL ($1::text[]))
             ORDER BY (n.body::jsonb ->> 'published_on') COLLATE \"C\" DESC,
                      n.created_at DESC, n.id COLLATE \"C\" DESC",
            &[&villages],
        )
        .await
        .map_err(failed(what))?;
    rows.iter().map(|row| from_json(what, row.get(0))).collect()
}

async fn find_notice(client: &impl GenericClient, id: Uuid) -> StoreResult<Option<Notice>> {
    let what = "read a notice";
    client
        .query_opt("SELECT body FROM notices WHERE id = $1", &[&id.to_string()])
        .await
        .map_err(failed(what))?
        .map(|row| from_json(what, row.get(0)))
        .transpose()
}

async fn create_notice(
    client: &impl GenericClient,
    notice: NewNotice,
    audit: AuditEntry,
) -> StoreResult<Notice> {
    // insert_notice takes the notices' lock itself.
    let notice = insert_notice(client, notice, audit.at).await?;
    let audit = AuditEntry {
        target: Some(notice.id.to_string()),
        ..audit
    };
    append_audit(client, &audit).await?;
    Ok(notice)
}

async fn set_notice_withdrawn(
    client: &impl GenericClient,
    id: Uuid,
    withdrawn: bool,
    audit: &AuditEntry,
) -> StoreResult<Result<Notice, NoticeRefusal>> {
    lock_feed(client, Feed::Notices).await?;
    let Some(notice) = find_notice(client, id).await? else {
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
    let seq = next_seq(client, "notices").await?;
    client
        .execute(
            "UPDATE notices SET body = $2, change_seq = $3 WHERE id = $1",
            &[&id.to_string(), &to_json(&notice)?, &seq],
        )
        .await
        .map_err(failed("change a notice"))?;
    append_audit(client, audit).await?;
    Ok(Ok(notice))
}

impl ContentStore for PostgresStore {
    fn list_guides(&self) -> StoreFuture<'_, Vec<GuideSummary>> {
        Box::pin(async move { list_guides(&self.client().await?).await })
    }

    fn find_guide<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Guide>> {
        Box::pin(async move { find_guide(&self.client().await?, code).await })
    }

    fn guide_version<'a>(
        &'a self,
        code: &'a str,
        version: u32,
    ) -> StoreFuture<'a, Option<GuideVersion>> {
        Box::pin(async move { guide_version(&self.client().await?, code, version).await })
    }

    fn create_guide(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<(), GuideRefusal>> {
        Box::pin(async move {
            let what = "start a new guide";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = create_guide(&tx, &draft, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn save_guide_draft(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<GuideDraft, GuideRefusal>> {
        Box::pin(async move {
            let what = "save a guide draft";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = save_draft(&tx, draft, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn publish_guide<'a>(
        &'a self,
        code: &'a str,
        draft_saved_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        Box::pin(async move {
            let what = "publish a guide";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = publish(&tx, code, draft_saved_at, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn discard_guide_draft<'a>(
        &'a self,
        code: &'a str,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), GuideRefusal>> {
        Box::pin(async move {
            let what = "discard a guide draft";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = discard(&tx, code, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn set_guide_withdrawn<'a>(
        &'a self,
        code: &'a str,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        Box::pin(async move {
            let what = "withdraw or restore a guide";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = set_withdrawn(&tx, code, withdrawn, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn list_notices<'a>(&'a self, villages: Option<&'a [String]>) -> StoreFuture<'a, Vec<Notice>> {
        Box::pin(async move { list_notices(&self.client().await?, villages).await })
    }

    fn find_notice(&self, id: Uuid) -> StoreFuture<'_, Option<Notice>> {
        Box::pin(async move { find_notice(&self.client().await?, id).await })
    }

    fn create_notice(&self, notice: NewNotice, audit: AuditEntry) -> StoreFuture<'_, Notice> {
        Box::pin(async move {
            let what = "publish a notice";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let notice = create_notice(&tx, notice, audit).await?;
            commit(tx, what, notice).await
        })
    }

    fn set_notice_withdrawn(
        &self,
        id: Uuid,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Notice, NoticeRefusal>> {
        Box::pin(async move {
            let what = "withdraw or re-publish a notice";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = set_notice_withdrawn(&tx, id, withdrawn, &audit).await?;
            commit(tx, what, outcome).await
        })
    }
}
