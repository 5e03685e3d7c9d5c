#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use crate::domain::catalog::ItemProblem;
use crate::store::staff::AuditEntry;
use crate::store::{NewNotice, StoreFuture};
use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, Notice};
use uuid::Uuid;

use super::PostgresStore;
use crate::store::content::*;

impl ContentStore for PostgresStore {
    fn list_guides(&self) -> StoreFuture<'_, Vec<GuideSummary>> {
        Box::pin(async move { Err(super::not_yet("list_guides")) })
    }

    fn find_guide<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Guide>> {
        Box::pin(async move { Err(super::not_yet("find_guide")) })
    }

    fn guide_version<'a>(
        &'a self,
        code: &'a str,
        version: u32,
    ) -> StoreFuture<'a, Option<GuideVersion>> {
        Box::pin(async move { Err(super::not_yet("guide_version")) })
    }

    fn create_guide(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<(), GuideRefusal>> {
        Box::pin(async move { Err(super::not_yet("create_guide")) })
    }

    fn save_guide_draft(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<GuideDraft, GuideRefusal>> {
        Box::pin(async move { Err(super::not_yet("save_guide_draft")) })
    }

    fn publish_guide<'a>(
        &'a self,
        code: &'a str,
        draft_saved_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        Box::pin(async move { Err(super::not_yet("publish_guide")) })
    }

    fn discard_guide_draft<'a>(
        &'a self,
        code: &'a str,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), GuideRefusal>> {
        Box::pin(async move { Err(super::not_yet("discard_guide_draft")) })
    }

    fn set_guide_withdrawn<'a>(
        &'a self,
        code: &'a str,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>> {
        Box::pin(async move { Err(super::not_yet("set_guide_withdrawn")) })
    }

    fn list_notices<'a>(&'a self, villages: Option<&'a [String]>) -> StoreFuture<'a, Vec<Notice>> {
        Box::pin(async move { Err(super::not_yet("list_notices")) })
    }

    fn find_notice(&self, id: Uuid) -> StoreFuture<'_, Option<Notice>> {
        Box::pin(async move { Err(super::not_yet("find_notice")) })
    }

    fn create_notice(&self, notice: NewNotice, audit: AuditEntry) -> StoreFuture<'_, Notice> {
        Box::pin(async move { Err(super::not_yet("create_notice")) })
    }

    fn set_notice_withdrawn(
        &self,
        id: Uuid,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Notice, NoticeRefusal>> {
        Box::pin(async move { Err(super::not_yet("set_notice_withdrawn")) })
    }
}
