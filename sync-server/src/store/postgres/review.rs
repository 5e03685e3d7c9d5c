#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use crate::domain::access::{Role, Scope};
use crate::domain::calendar::{CalendarDay, DayKind};
use crate::domain::review::ReviewState;
use crate::store::staff::AuditEntry;
use crate::store::{StoreFuture, SubmissionRecord};
use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{StatusChange, SubmissionStatus};
use sync_protocol::submission::SubmissionKind;
use uuid::Uuid;

use super::PostgresStore;
use crate::store::review::*;

impl ReviewStore for PostgresStore {
    fn review_item<'a>(
        &'a self,
        submission: &'a super::SubmissionRef,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<ReviewItem>> {
        Box::pin(async move { Err(super::not_yet("review_item")) })
    }

    fn apply_review(
        &self,
        update: ReviewUpdate,
    ) -> StoreFuture<'_, Result<StatusChange, ReviewConflict>> {
        Box::pin(async move { Err(super::not_yet("apply_review")) })
    }

    fn review_actions(&self, submission_id: Uuid) -> StoreFuture<'_, Vec<ReviewActionRecord>> {
        Box::pin(async move { Err(super::not_yet("review_actions")) })
    }

    fn inbox<'a>(&'a self, query: &'a InboxQuery) -> StoreFuture<'a, InboxPage> {
        Box::pin(async move { Err(super::not_yet("inbox")) })
    }

    fn calendar_days(&self) -> StoreFuture<'_, Vec<CalendarDay>> {
        Box::pin(async move { Err(super::not_yet("calendar_days")) })
    }

    fn set_calendar_day(&self, day: CalendarDay, audit: AuditEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move { Err(super::not_yet("set_calendar_day")) })
    }

    fn remove_calendar_day(&self, day: NaiveDate, audit: AuditEntry) -> StoreFuture<'_, bool> {
        Box::pin(async move { Err(super::not_yet("remove_calendar_day")) })
    }
}
