//! [`PgEnrollLimiter`]: the guessing limit on enrollment codes in table `enroll_attempts`, one
//! row per admitted attempt until it leaves the window or is refunded (the rules:
//! [`crate::api::rate_limit`]).

use std::net::IpAddr;

use deadpool_postgres::{GenericClient, Pool};

use super::{Lock, SWEEP_BATCH, Sweeps, clock, connect, elapsed, failed, lock, reached};
use crate::api::rate_limit::{Attempt, EnrollLimit, EnrollLimits, Mark, Refund, wait_s};
use crate::store::{StoreFuture, StoreResult};

/// The attempts in the window, from `$1` (the address) and from everywhere, with the oldest of
/// each: the row count is bounded by the global limit, through the `at` index.
const COUNTS: &str = "
    SELECT count(*) FILTER (WHERE address = $1), min(at) FILTER (WHERE address = $1),
           count(*), min(at)
    FROM enroll_attempts WHERE at > $2";

const SWEEP: &str = "
    DELETE FROM enroll_attempts WHERE id IN (
        SELECT id FROM enroll_attempts WHERE at <= $1
        ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// Sweep after this many admitted or refused attempts (per instance).
const SWEEP_EVERY: u64 = 32;

/// The enrollment guessing limit of every instance on one PostgreSQL database.
#[derive(Debug)]
pub struct PgEnrollLimiter {
    pool: Pool,
    limits: EnrollLimits,
    sweeps: Sweeps,
}

impl PgEnrollLimiter {
    /// Over `pool`, whose schema the store migrated (see [`crate::shared::SharedState::postgres`]).
    pub fn new(pool: Pool, limits: EnrollLimits) -> Self {
        Self {
            pool,
            limits,
            sweeps: Sweeps::new(SWEEP_EVERY),
        }
    }

    /// Forgets up to one batch of attempts that left the window; how many it did. Admissions
    /// call it every so often; public for tests and maintenance.
    pub async fn sweep(&self) -> StoreResult<u64> {
        let client = connect(&self.pool).await?;
        self.sweep_with(&client).await
    }

    async fn sweep_with(&self, client: &impl GenericClient) -> StoreResult<u64> {
        let (_, cutoff) = clock(client, self.limits.window).await?;
        client
            .execute(SWEEP, &[&cutoff, &SWEEP_BATCH])
            .await
            .map_err(failed("forget old enrollment attempts"))
    }

    async fn count(&self, address: Option<IpAddr>) -> StoreResult<Result<Attempt, u64>> {
        let mut client = connect(&self.pool).await?;
        let admitted = self.count_in(&mut client, address).await?;
        if self.sweeps.due()
            && let Err(error) = self.sweep_with(&client).await
        {
            tracing::warn!(error = %error, "could not forget old enrollment attempts");
        }
        Ok(admitted)
    }

    /// Counts and records under [`Lock::Enroll`]: the global budget is one count that every
    /// attempt reads, so attempts are admitted one at a time across all instances (they are
    /// rare, and each holds the lock for two short statements).
    async fn count_in(
        &self,
        client: &mut deadpool_postgres::Object,
        address: Option<IpAddr>,
    ) -> StoreResult<Result<Attempt, u64>> {
        let tx = client
            .transaction()
            .await
            .map_err(failed("start counting an enrollment attempt"))?;
        lock(&tx, Lock::Enroll, "").await?;
        let (now, cutoff) = clock(&tx, self.limits.window).await?;
        let key = address_key(address);
        let row = tx
            .query_one(COUNTS, &[&key, &cutoff])
            .await
            .map_err(failed("count enrollment attempts"))?;
        let wait = |oldest| wait_s(self.limits.window, elapsed(now, oldest));
        let refused = if reached(row.get(0), self.limits.per_address) {
            Some(wait(row.get(1)))
        } else if reached(row.get(2), self.limits.global) {
            Some(wait(row.get(3)))
        } else {
            None
        };
        if let Some(wait) = refused {
            tx.rollback()
                .await
                .map_err(failed("end counting an enrollment attempt"))?;
            return Ok(Err(wait));
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO enroll_attempts (address, at) VALUES ($1, $2) RETURNING id",
                &[&key, &now],
            )
            .await
            .map_err(failed("record an enrollment attempt"))?
            .get(0);
        tx.commit()
            .await
            .map_err(failed("record an enrollment attempt"))?;
        Ok(Ok(Attempt::new(address, Mark::Row(id))))
    }

    async fn refund(&self, attempt: Attempt) {
        // Only this limiter's attempts carry a row; there is nothing else to give back.
        let Mark::Row(id) = attempt.mark() else {
            return;
        };
        let deleted = async {
            let client = connect(&self.pool).await?;
            client
                .execute("DELETE FROM enroll_attempts WHERE id = $1", &[&id])
                .await
                .map_err(failed("give an enrollment attempt back"))
        };
        if let Err(error) = deleted.await {
            tracing::warn!(error = %error, "an enrollment attempt that succeeded stays counted");
        }
    }
}

/// The address as the table keys it; no address (a test's `oneshot`) is its own key.
pub(super) fn address_key(address: Option<IpAddr>) -> String {
    address
        .map(|address| address.to_string())
        .unwrap_or_default()
}

impl EnrollLimit for PgEnrollLimiter {
    fn admit(&self, address: Option<IpAddr>) -> StoreFuture<'_, Result<Attempt, u64>> {
        Box::pin(self.count(address))
    }

    fn succeeded(&self, attempt: Attempt) -> Refund<'_> {
        Box::pin(self.refund(attempt))
    }
}
