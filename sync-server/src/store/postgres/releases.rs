#![allow(unused_variables, unused_imports, dead_code)]
// SCAFFOLD: replace every not_yet stub.

use crate::domain::releases::{ReleaseSummary, Rollout, RolloutState, RolloutTargets};
use crate::store::StoreFuture;
use crate::store::staff::AuditEntry;
use booth_release::Version;
use chrono::{DateTime, Utc};

use crate::store::StoreResult;
use deadpool_postgres::GenericClient;

use super::PostgresStore;
use crate::store::releases::*;

impl ReleaseStore for PostgresStore {
    fn add_release(
        &self,
        release: NewRelease,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<ReleaseRecord, ReleaseRefusal>> {
        Box::pin(async move { Err(super::not_yet("add_release")) })
    }

    fn list_releases(&self) -> StoreFuture<'_, Vec<ReleaseRecord>> {
        Box::pin(async move { Err(super::not_yet("list_releases")) })
    }

    fn find_release(&self, version: Version) -> StoreFuture<'_, Option<ReleaseRecord>> {
        Box::pin(async move { Err(super::not_yet("find_release")) })
    }

    fn create_rollout(
        &self,
        rollout: NewRollout,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(async move { Err(super::not_yet("create_rollout")) })
    }

    fn list_rollouts(&self) -> StoreFuture<'_, Vec<Rollout>> {
        Box::pin(async move { Err(super::not_yet("list_rollouts")) })
    }

    fn find_rollout(&self, id: i64) -> StoreFuture<'_, Option<Rollout>> {
        Box::pin(async move { Err(super::not_yet("find_rollout")) })
    }

    fn change_rollout(
        &self,
        id: i64,
        change: RolloutChange,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(async move { Err(super::not_yet("change_rollout")) })
    }
}

/// Pauses or completes active rollouts as their booths' heartbeats say (called by
/// `record_heartbeat`, inside its transaction).
pub(super) async fn settle_rollouts(
    client: &impl GenericClient,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    Err(super::not_yet("releases::settle_rollouts"))
}
