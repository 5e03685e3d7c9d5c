#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use crate::domain::access::Scope;
use crate::domain::ratings::{FollowUp, FollowUpStep, RatingCount, StepRefused};
use crate::store::staff::AuditEntry;
use crate::store::{StoreFuture, SubmissionRecord};
use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::enroll::Village;

use super::PostgresStore;
use crate::store::ratings::*;

impl RatingsStore for PostgresStore {
    fn rating_counts<'a>(&'a self, query: &'a RatingsQuery) -> StoreFuture<'a, Vec<RatingCount>> {
        Box::pin(async move { Err(super::not_yet("rating_counts")) })
    }

    fn item_names<'a>(&'a self, codes: &'a [String]) -> StoreFuture<'a, Vec<ItemName>> {
        Box::pin(async move { Err(super::not_yet("item_names")) })
    }

    fn follow_up_tasks<'a>(&'a self, query: &'a TaskQuery) -> StoreFuture<'a, TaskPage> {
        Box::pin(async move { Err(super::not_yet("follow_up_tasks")) })
    }

    fn follow_up_task<'a>(
        &'a self,
        receipt_number: &'a str,
        scope: &'a Scope,
    ) -> StoreFuture<'a, Option<FollowUpTask>> {
        Box::pin(async move { Err(super::not_yet("follow_up_task")) })
    }

    fn record_follow_up(
        &self,
        write: FollowUpWrite,
    ) -> StoreFuture<'_, Result<FollowUp, FollowUpRefusal>> {
        Box::pin(async move { Err(super::not_yet("record_follow_up")) })
    }
}
