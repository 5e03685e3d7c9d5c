//! What the review pages keep and ask: each submission's review state, the actions taken on
//! it, the inbox query, and the working-day calendar.

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CorrectionMaterial, StatusChange, SubmissionStatus};
use sync_protocol::submission::SubmissionKind;
use uuid::Uuid;

use super::paging::{InboxKey, PageAt};
use super::staff::AuditEntry;
use super::{StoreFuture, SubmissionRecord};
use crate::domain::access::{Role, Scope};
use crate::domain::calendar::{CalendarDay, DayKind};
use crate::domain::review::ReviewState;

/// A submission with its review state and the village it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewItem {
    pub record: SubmissionRecord,
    pub village: Village,
    pub state: ReviewState,
}

/// One action taken on a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewActionRecord {
    pub stage: u8,
    pub actor: String,
    pub action: String,
    pub comment: String,
    pub at: DateTime<Utc>,
    /// The materials it names: those a correction request asks for (sent to the booth with
    /// the status change, as the change's `materials`), or those a supplement brought.
    /// Empty for other actions.
    pub materials: Vec<CorrectionMaterial>,
}

/// An action to apply: the state it was planned from must still hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewUpdate {
    pub submission_id: Uuid,
    pub expected: ReviewState,
    pub next: ReviewState,
    /// Sent to the booth with the status.
    pub villager_note: Option<String>,
    pub action: ReviewActionRecord,
    pub audit: AuditEntry,
}

/// Why an update was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewConflict {
    #[error("no such submission")]
    Missing,
    #[error("someone acted on it first: reload it")]
    Changed,
}

/// Which submissions an inbox shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    pub scope: Scope,
    /// Only those waiting for this role's level (handler: level 1, reviewer: level 2 of
    /// three, approver: the last level of two or three).
    pub waiting_for: Option<Role>,
    pub statuses: Vec<SubmissionStatus>,
    /// Finished ones too (approved, rejected) when `statuses` is empty.
    pub include_final: bool,
    pub kind: Option<SubmissionKind>,
    pub item_code: Option<String>,
    /// Only the applicant with this full ID number (a backend matches it by a keyed hash,
    /// never by reading numbers back).
    pub id_number: Option<String>,
    pub village: Option<String>,
    /// Received on or after / before (China dates).
    pub received_from: Option<NaiveDate>,
    pub received_until: Option<NaiveDate>,
    /// Only open ones past their promised date, as of `today`.
    pub overdue_only: bool,
    /// Only open ones due within `due_soon_days` calendar days of `today` (not yet overdue).
    pub due_soon_only: bool,
    pub today: NaiveDate,
    pub due_soon_days: u32,
    pub order: InboxOrder,
    /// Where the page starts: a key of `order`'s kind (another kind is
    /// [`StoreError::InvalidCursor`](super::StoreError::InvalidCursor)).
    pub page: PageAt<InboxKey>,
    /// Rows on the page; 0 counts only.
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxOrder {
    #[default]
    Newest,
    /// Earliest promised date first, then oldest received.
    MostUrgent,
}

impl InboxOrder {
    /// Whether `key` is a place in this order.
    pub fn fits(self, key: &InboxKey) -> bool {
        matches!(
            (self, key),
            (Self::Newest, InboxKey::Newest { .. })
                | (Self::MostUrgent, InboxKey::MostUrgent { .. })
        )
    }
}

/// One page of an inbox, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<ReviewItem>,
    pub total: u64,
    /// [`PageAt::Before`] this for the page before; `None` on the first.
    pub previous: Option<InboxKey>,
    /// [`PageAt::After`] this for the page after; `None` on the last.
    pub next: Option<InboxKey>,
}

/// Review state, actions, inbox and calendar.
pub trait ReviewStore: Send + Sync {
    /// One submission with its review state; `None` when missing, outside `scope`, or a
    /// supplement (never a case of its own: see [`super::Store::supplements`]).
    fn review_item<'a>(
        &'a self,
        submission: &'a super::SubmissionRef,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<ReviewItem>>;
    /// Applies a planned action in one transaction: the new state, the status change in the
    /// kiosk's statuses feed (with the action's materials), the action record and the audit
    /// line.
    fn apply_review(
        &self,
        update: ReviewUpdate,
    ) -> StoreFuture<'_, Result<StatusChange, ReviewConflict>>;
    /// Oldest first.
    fn review_actions(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ReviewActionRecord>>;
    fn inbox<'a>(&'a self, query: &'a InboxQuery) -> StoreFuture<'a, InboxPage>;

    /// Every exception to the weekday rule, by date.
    fn calendar_days(&self) -> StoreFuture<'_, Vec<CalendarDay>>;
    /// Adds or replaces the exception on `day`.
    fn set_calendar_day(&self, day: CalendarDay, audit: AuditEntry) -> StoreFuture<'_, ()>;
    /// Removes the exception on `day`; whether there was one.
    fn remove_calendar_day(&self, day: NaiveDate, audit: AuditEntry) -> StoreFuture<'_, bool>;
}

/// Kept for the calendar's store rows.
pub fn parse_day_kind(text: &str) -> Option<DayKind> {
    text.parse().ok()
}
