//! What the staff edit for booths: service guides (catalogue items) with drafts and every
//! published version, and notices. A supertrait of [`super::Store`].
//!
//! Guides: a draft is private to the county until published; publishing gives the item the
//! next version and a new change in the catalogue feed, exactly as an import does, and records
//! the version (who, when) in the item's history. Imports record their versions too
//! (`published_by` = `import`) and never touch drafts: a draft started before an import stays,
//! and the page shows that the published item moved on (the draft's `version` is the published
//! version it was saved against).
//!
//! Every change takes the [`AuditEntry`] that records it; a backend writes both in one
//! transaction, at `audit.at`. What the caller cannot know beforehand the backend fills in:
//! a published guide change's detail is `version N`, a new notice's target is its id.

use chrono::{DateTime, Utc};
use sync_protocol::feed::{CatalogItem, Notice};
use uuid::Uuid;

use super::staff::AuditEntry;
use super::{NewNotice, StoreFuture};
use crate::domain::catalog::ItemProblem;

/// One line of the guide list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideSummary {
    pub code: String,
    /// The published name, or the draft's for an item never published.
    pub name_zh: String,
    pub category: String,
    /// The published version; `None` for an item that exists only as a draft.
    pub version: Option<u32>,
    pub withdrawn: bool,
    pub has_draft: bool,
}

/// The published item as booths have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedGuide {
    pub item: CatalogItem,
    pub updated_at: DateTime<Utc>,
}

/// An unpublished edit. `item.version` is the published version it was saved against (0 for
/// an item never published).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideDraft {
    pub item: CatalogItem,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One entry of an item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideVersionInfo {
    pub version: u32,
    pub withdrawn: bool,
    pub published_at: DateTime<Utc>,
    /// A username, or `import` for `sync-server catalog import`.
    pub published_by: String,
}

/// A published version in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideVersion {
    pub item: CatalogItem,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
}

/// Everything the item page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guide {
    pub code: String,
    pub published: Option<PublishedGuide>,
    pub draft: Option<GuideDraft>,
    /// Newest first.
    pub versions: Vec<GuideVersionInfo>,
}

/// Why a guide change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuideRefusal {
    #[error("no catalogue item `{0}`: the guide list shows them")]
    Unknown(String),
    #[error("catalogue item `{0}` exists already: edit it instead")]
    Exists(String),
    #[error("catalogue item `{0}` has no draft to publish or discard: save one first")]
    NoDraft(String),
    #[error("the draft of `{0}` was saved again since this page was loaded: reload and check it")]
    DraftChanged(String),
    #[error("the draft of `{0}` says the same as the published version: discard it instead")]
    Unchanged(String),
    #[error("the draft of `{code}` cannot be published: {problem}")]
    Invalid { code: String, problem: ItemProblem },
    #[error("catalogue item `{0}` was never published: publish its draft first")]
    NotPublished(String),
    #[error("catalogue item `{0}` is withdrawn already")]
    AlreadyWithdrawn(String),
    #[error("catalogue item `{0}` is not withdrawn")]
    NotWithdrawn(String),
}

/// Why a notice change was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeRefusal {
    #[error("no notice {0}")]
    Unknown(Uuid),
    #[error("notice {0} is withdrawn already")]
    AlreadyWithdrawn(Uuid),
    #[error("notice {0} is published already")]
    AlreadyPublished(Uuid),
}

/// Guides and notices as the staff edit them.
pub trait ContentStore: Send + Sync {
    /// Every published item and every draft of a new one, by code.
    fn list_guides(&self) -> StoreFuture<'_, Vec<GuideSummary>>;
    /// `None` when the code is neither published nor drafted.
    fn find_guide<'a>(&'a self, code: &'a str) -> StoreFuture<'a, Option<Guide>>;
    fn guide_version<'a>(
        &'a self,
        code: &'a str,
        version: u32,
    ) -> StoreFuture<'a, Option<GuideVersion>>;
    /// Starts a new item as a draft; refused when the code is published or drafted already.
    fn create_guide(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<(), GuideRefusal>>;
    /// Saves (replaces) the draft of an existing item; `draft.version` is the published version
    /// the editor showed.
    fn save_guide_draft(
        &self,
        draft: CatalogItem,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<GuideDraft, GuideRefusal>>;
    /// Publishes the draft saved at `draft_saved_at` (a newer save is refused, so what was
    /// checked is what goes out): next version, a new catalogue feed change, a history entry,
    /// the draft gone. The item keeps its withdrawn state.
    fn publish_guide<'a>(
        &'a self,
        code: &'a str,
        draft_saved_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>>;
    fn discard_guide_draft<'a>(
        &'a self,
        code: &'a str,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<(), GuideRefusal>>;
    /// Withdraws (`true`) or restores a published item: next version, a new feed change and a
    /// history entry, as an import's withdrawal does.
    fn set_guide_withdrawn<'a>(
        &'a self,
        code: &'a str,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'a, Result<CatalogItem, GuideRefusal>>;

    /// Newest first (by publication date, then creation). `villages`: only notices for every
    /// village and those whose every target is in the list; `None` for all notices.
    fn list_notices<'a>(&'a self, villages: Option<&'a [String]>) -> StoreFuture<'a, Vec<Notice>>;
    fn find_notice(&self, id: Uuid) -> StoreFuture<'_, Option<Notice>>;
    /// Publishes a notice, as [`super::Store::add_notice`] does, with its audit line; the
    /// line's target is the new notice's id (only known once it is made).
    fn create_notice(&self, notice: NewNotice, audit: AuditEntry) -> StoreFuture<'_, Notice>;
    /// Withdraws (`true`) or re-publishes a notice: a new change in the notices feed carries
    /// it with `withdrawn` set, so booths drop or show it.
    fn set_notice_withdrawn(
        &self,
        id: Uuid,
        withdrawn: bool,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Notice, NoticeRefusal>>;
}
