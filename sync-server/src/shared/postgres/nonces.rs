//! [`PgNonces`]: the replay memory in table `replay_nonces`, one row per `(kiosk, nonce)`
//! until the last second its signature could be accepted (the rules: [`crate::api::nonces`]).

use deadpool_postgres::{GenericClient, Pool};

use super::{SWEEP_BATCH, Sweeps, connect, failed};
use crate::api::nonces::Nonces;
use crate::store::{StoreFuture, StoreResult};

/// Records the nonce unless a row for it is still remembered at `$4`. One statement, so two
/// instances given the same nonce at once cannot both see it as new: the second insert waits
/// for the first's row, then finds it remembered and returns nothing. A row no longer
/// remembered is taken over, as the in-memory cache overwrites its entry.
const FIRST_USE: &str = "
    INSERT INTO replay_nonces (kiosk_id, nonce, remember_until) VALUES ($1, $2, $3)
    ON CONFLICT (kiosk_id, nonce) DO UPDATE SET remember_until = EXCLUDED.remember_until
        WHERE replay_nonces.remember_until < $4
    RETURNING 1";

/// Deletes a batch of nonces no longer remembered at `$1`, oldest first through the expiry
/// index; rows another instance is deleting are skipped, not waited for.
const SWEEP: &str = "
    DELETE FROM replay_nonces WHERE (kiosk_id, nonce) IN (
        SELECT kiosk_id, nonce FROM replay_nonces WHERE remember_until < $1
        ORDER BY remember_until LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// Sweep after this many nonces (per instance): each sweep deletes up to
/// [`SWEEP_BATCH`], more than arrived since the last one.
const SWEEP_EVERY: u64 = 256;

/// The replay memory of every instance on one PostgreSQL database.
#[derive(Debug)]
pub struct PgNonces {
    pool: Pool,
    sweeps: Sweeps,
}

impl PgNonces {
    /// Over `pool`, whose schema the store migrated (see [`crate::shared::SharedState::postgres`]).
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            sweeps: Sweeps::new(SWEEP_EVERY),
        }
    }

    /// Forgets up to one batch of nonces no longer remembered at `now_secs`; how many it did.
    /// Requests call it every so often; public for tests and maintenance.
    pub async fn sweep(&self, now_secs: i64) -> StoreResult<u64> {
        let client = connect(&self.pool).await?;
        sweep(&client, now_secs).await
    }

    async fn record(
        &self,
        kiosk_id: &str,
        nonce: &str,
        remember_until: i64,
        now_secs: i64,
    ) -> StoreResult<bool> {
        let client = connect(&self.pool).await?;
        let statement = client
            .prepare_cached(FIRST_USE)
            .await
            .map_err(failed("remember a request's nonce"))?;
        let first = client
            .query_opt(&statement, &[&kiosk_id, &nonce, &remember_until, &now_secs])
            .await
            .map_err(failed("remember a request's nonce"))?
            .is_some();
        // The answer stands whatever the sweep does: a failed sweep leaves expired rows that
        // no check counts, for the next sweep.
        if self.sweeps.due()
            && let Err(error) = sweep(&client, now_secs).await
        {
            tracing::warn!(error = %error, "could not forget expired nonces");
        }
        Ok(first)
    }
}

async fn sweep(client: &impl GenericClient, now_secs: i64) -> StoreResult<u64> {
    client
        .execute(SWEEP, &[&now_secs, &SWEEP_BATCH])
        .await
        .map_err(failed("forget expired nonces"))
}

impl Nonces for PgNonces {
    fn first_use<'a>(
        &'a self,
        kiosk_id: &'a str,
        nonce: &'a str,
        remember_until: i64,
        now_secs: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.record(kiosk_id, nonce, remember_until, now_secs))
    }
}
