//! What the ratings dashboard and the follow-up pages keep and ask: ratings counted per item,
//! village and day, the bad ratings as tasks, and what staff record on them.

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::enroll::Village;

use super::paging::{PageAt, TaskKey};
use super::staff::AuditEntry;
use super::{StoreFuture, SubmissionRecord};
use crate::domain::access::Scope;
use crate::domain::ratings::{FollowUp, FollowUpStep, RatingCount, StepRefused};

/// Which ratings the dashboard counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingsQuery {
    pub scope: Scope,
    /// Received at or after this instant…
    pub received_from: DateTime<Utc>,
    /// …and before this one.
    pub received_until: DateTime<Utc>,
}

/// A catalogue item's names, from the current catalogue (withdrawn items keep theirs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemName {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A bad rating (不满意/非常不满意) and what staff recorded on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpTask {
    pub record: SubmissionRecord,
    pub village: Village,
    /// `None` when the rating names no item or one the catalogue never had.
    pub item: Option<ItemName>,
    /// `None` until staff first record something.
    pub follow_up: Option<FollowUp>,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFilter {
    /// Not closed; oldest received (so earliest due) first.
    Open,
    /// Not closed and received before this China date (see
    /// [`crate::domain::ratings::overdue_before`]); oldest first.
    ReceivedBefore(NaiveDate),
    /// Closed; the most recently closed first.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub scope: Scope,
    pub filter: TaskFilter,
    /// Where the page starts: a key of the filter's order (received time for the open lists,
    /// closing time for the closed one).
    pub page: PageAt<TaskKey>,
    /// Tasks on the page; 0 counts only.
    pub limit: u32,
}

/// One page of tasks, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskPage {
    pub tasks: Vec<FollowUpTask>,
    pub total: u64,
    /// [`PageAt::Before`] this for the page before; `None` on the first.
    pub previous: Option<TaskKey>,
    /// [`PageAt::After`] this for the page after; `None` on the last.
    pub next: Option<TaskKey>,
}

/// A step staff take on the task of the bad rating with `receipt_number`, if it is in `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpWrite {
    pub receipt_number: String,
    pub scope: Scope,
    pub step: FollowUpStep,
    pub now: DateTime<Utc>,
    pub actor: String,
    pub audit: AuditEntry,
}

/// Why a step was not recorded (nothing was written, the audit line neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpRefusal {
    #[error("no bad rating with that receipt number in your scope")]
    Missing,
    #[error(transparent)]
    Step(#[from] StepRefused),
}

/// Ratings counted, and the follow-ups of bad ones.
pub trait RatingsStore: Send + Sync {
    /// Evaluations in scope received in the range, counted per item, village, China date and
    /// level.
    fn rating_counts<'a>(&'a self, query: &'a RatingsQuery) -> StoreFuture<'a, Vec<RatingCount>>;
    /// The names of these catalogue items (those the catalogue has).
    fn item_names<'a>(&'a self, codes: &'a [String]) -> StoreFuture<'a, Vec<ItemName>>;
    fn follow_up_tasks<'a>(&'a self, query: &'a TaskQuery) -> StoreFuture<'a, TaskPage>;
    /// The task of the bad rating with this receipt number; `None` when there is none in
    /// `scope` (missing, not a bad rating, or outside).
    fn follow_up_task<'a>(
        &'a self,
        receipt_number: &'a str,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<FollowUpTask>>;
    /// Applies the step ([`crate::domain::ratings::apply_step`]) to what is recorded, in one
    /// transaction with its audit line.
    fn record_follow_up(
        &self,
        write: FollowUpWrite,
    ) -> StoreFuture<'_, Result<FollowUp, FollowUpRefusal>>;
}
