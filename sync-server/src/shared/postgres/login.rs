//! [`PgLoginLimiter`]: the limits on guessing staff passwords in PostgreSQL (the rules:
//! [`crate::staff::login_limit`]). Tables:
//! - `login_attempts`: one row per admitted attempt not from a known device, counted per
//!   address, per name, and per (name, address) while `counts_for_pair` (a right password
//!   clears that flag on the pair's rows, as the in-memory limiter clears the pair's bucket
//!   but not the address's or the name's);
//! - `device_attempts`: one row per admitted attempt from a known device;
//! - `login_devices`: the remembered browsers (by the digest of their cookie), so a device
//!   one instance gave out is known to every other.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Pool};

use super::enroll::address_key;
use super::{Lock, SWEEP_BATCH, Sweeps, clock, connect, elapsed, failed, lock, reached};
use crate::staff::login_limit::{
    Attempt, Counted, LoginLimit, LoginLimits, Mark, Refund, Refused, wait_s,
};
use crate::staff::token;
use crate::store::{StoreError, StoreFuture, StoreResult};

/// A remembered device for this name, still good.
const KNOWN_DEVICE: &str = "
    SELECT EXISTS (SELECT 1 FROM login_devices
                   WHERE device_key = $1 AND username = $2 AND valid_until > clock_timestamp())";

/// The failures in the window from `$1` (the address) or for `$2` (the name), with the oldest
/// of each budget: the address's, the pair's, the name's. Bounded by the limits (only
/// admitted attempts are rows), through the address and name indexes.
const OPEN_COUNTS: &str = "
    SELECT count(*) FILTER (WHERE address = $1),
           min(at) FILTER (WHERE address = $1),
           count(*) FILTER (WHERE address = $1 AND username = $2 AND counts_for_pair),
           min(at) FILTER (WHERE address = $1 AND username = $2 AND counts_for_pair),
           count(*) FILTER (WHERE username = $2),
           min(at) FILTER (WHERE username = $2)
    FROM login_attempts WHERE (address = $1 OR username = $2) AND at > $3";

const DEVICE_COUNTS: &str = "
    SELECT count(*), min(at) FROM device_attempts WHERE device_key = $1 AND at > $2";

const SWEEP_OPEN: &str = "
    DELETE FROM login_attempts WHERE id IN (
        SELECT id FROM login_attempts WHERE at <= $1
        ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)";

const SWEEP_DEVICE_ATTEMPTS: &str = "
    DELETE FROM device_attempts WHERE id IN (
        SELECT id FROM device_attempts WHERE at <= $1
        ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)";

const SWEEP_DEVICES: &str = "
    DELETE FROM login_devices WHERE device_key IN (
        SELECT device_key FROM login_devices WHERE valid_until <= clock_timestamp()
        ORDER BY valid_until LIMIT $1 FOR UPDATE SKIP LOCKED)";

/// Sweep after this many attempts (per instance).
const SWEEP_EVERY: u64 = 32;

/// The staff guessing limits of every instance on one PostgreSQL database.
#[derive(Debug)]
pub struct PgLoginLimiter {
    pool: Pool,
    limits: LoginLimits,
    sweeps: Sweeps,
}

impl PgLoginLimiter {
    /// Over `pool`, whose schema the store migrated (see [`crate::shared::SharedState::postgres`]).
    pub fn new(pool: Pool, limits: LoginLimits) -> Self {
        Self {
            pool,
            limits,
            sweeps: Sweeps::new(SWEEP_EVERY),
        }
    }

    /// Forgets up to one batch of each table's rows that left the window (devices: that
    /// expired); how many in all. Attempts call it every so often; public for tests and
    /// maintenance.
    pub async fn sweep(&self) -> StoreResult<u64> {
        let client = connect(&self.pool).await?;
        self.sweep_with(&client).await
    }

    async fn sweep_with(&self, client: &impl GenericClient) -> StoreResult<u64> {
        let (_, cutoff) = clock(client, self.limits.window).await?;
        let open = client
            .execute(SWEEP_OPEN, &[&cutoff, &SWEEP_BATCH])
            .await
            .map_err(failed("forget old login attempts"))?;
        let device = client
            .execute(SWEEP_DEVICE_ATTEMPTS, &[&cutoff, &SWEEP_BATCH])
            .await
            .map_err(failed("forget old login attempts"))?;
        let devices = client
            .execute(SWEEP_DEVICES, &[&SWEEP_BATCH])
            .await
            .map_err(failed("forget expired login devices"))?;
        Ok(open + device + devices)
    }

    async fn count(
        &self,
        name: &str,
        address: Option<IpAddr>,
        device: Option<&str>,
    ) -> StoreResult<Result<Attempt, Refused>> {
        let mut client = connect(&self.pool).await?;
        let known_device = match device.filter(|secret| token::well_formed(secret)) {
            Some(secret) => {
                let key = token::digest(secret);
                let known: bool = client
                    .query_one(KNOWN_DEVICE, &[&key, &name])
                    .await
                    .map_err(failed("look up a login device"))?
                    .get(0);
                known.then_some(key)
            }
            None => None,
        };
        let admitted = match known_device {
            Some(key) => self.count_device(&mut client, key).await?,
            None => self.count_open(&mut client, name, address).await?,
        };
        if self.sweeps.due()
            && let Err(error) = self.sweep_with(&client).await
        {
            tracing::warn!(error = %error, "could not forget old login attempts");
        }
        Ok(admitted)
    }

    /// A known device's own budget, under that device's lock. A device that has just expired
    /// between the look-up and here still counts as known for this attempt, as it would have
    /// an instant earlier.
    async fn count_device(
        &self,
        client: &mut Object,
        key: String,
    ) -> StoreResult<Result<Attempt, Refused>> {
        let tx = client
            .transaction()
            .await
            .map_err(failed("start counting a login attempt"))?;
        lock(&tx, Lock::LoginDevice, &key).await?;
        let (now, cutoff) = clock(&tx, self.limits.window).await?;
        let row = tx
            .query_one(DEVICE_COUNTS, &[&key, &cutoff])
            .await
            .map_err(failed("count login attempts"))?;
        if reached(row.get(0), self.limits.per_device) {
            let wait_s = self.wait(now, row.get(1));
            tx.rollback()
                .await
                .map_err(failed("end counting a login attempt"))?;
            return Ok(Err(Refused::Name { wait_s }));
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO device_attempts (device_key, at) VALUES ($1, $2) RETURNING id",
                &[&key, &now],
            )
            .await
            .map_err(failed("record a login attempt"))?
            .get(0);
        tx.commit()
            .await
            .map_err(failed("record a login attempt"))?;
        Ok(Ok(Attempt {
            counted: Counted::Device(key),
            mark: Mark::Row(id),
        }))
    }

    /// Any other browser: the address's, the pair's and the name's budgets, under the
    /// address's lock then the name's (always in that order, so two attempts cannot each hold
    /// the lock the other waits for). Holding both covers the pair.
    async fn count_open(
        &self,
        client: &mut Object,
        name: &str,
        address: Option<IpAddr>,
    ) -> StoreResult<Result<Attempt, Refused>> {
        let key = address_key(address);
        let tx = client
            .transaction()
            .await
            .map_err(failed("start counting a login attempt"))?;
        lock(&tx, Lock::LoginAddress, &key).await?;
        lock(&tx, Lock::LoginName, name).await?;
        let (now, cutoff) = clock(&tx, self.limits.window).await?;
        let row = tx
            .query_one(OPEN_COUNTS, &[&key, &name, &cutoff])
            .await
            .map_err(failed("count login attempts"))?;
        let limits = self.limits;
        let refused = if reached(row.get(0), limits.per_address) {
            Some(Refused::Address {
                wait_s: self.wait(now, row.get(1)),
            })
        } else if reached(row.get(2), limits.per_name_and_address) {
            Some(Refused::Name {
                wait_s: self.wait(now, row.get(3)),
            })
        } else if reached(row.get(4), limits.per_name) {
            Some(Refused::Name {
                wait_s: self.wait(now, row.get(5)),
            })
        } else {
            None
        };
        if let Some(refused) = refused {
            tx.rollback()
                .await
                .map_err(failed("end counting a login attempt"))?;
            return Ok(Err(refused));
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO login_attempts (username, address, at) VALUES ($1, $2, $3)
                 RETURNING id",
                &[&name, &key, &now],
            )
            .await
            .map_err(failed("record a login attempt"))?
            .get(0);
        tx.commit()
            .await
            .map_err(failed("record a login attempt"))?;
        Ok(Ok(Attempt {
            counted: Counted::Open {
                name: name.to_owned(),
                address,
            },
            mark: Mark::Row(id),
        }))
    }

    fn wait(&self, now: DateTime<Utc>, oldest: Option<DateTime<Utc>>) -> u64 {
        wait_s(self.limits.window, elapsed(now, oldest))
    }

    async fn give_back(&self, attempt: Attempt, forget_failures: bool) {
        if let Err(error) = self.try_give_back(attempt, forget_failures).await {
            tracing::warn!(error = %error, "a login attempt stays counted");
        }
    }

    /// No lock: giving back only lowers counts, which cannot let a concurrent check past a
    /// limit.
    async fn try_give_back(&self, attempt: Attempt, forget_failures: bool) -> StoreResult<()> {
        // Only this limiter's attempts carry a row; there is nothing else to give back.
        let Mark::Row(id) = attempt.mark else {
            return Ok(());
        };
        let client = connect(&self.pool).await?;
        let gone = failed("give a login attempt back");
        match &attempt.counted {
            Counted::Device(key) if forget_failures => client
                .execute("DELETE FROM device_attempts WHERE device_key = $1", &[key])
                .await
                .map_err(gone)?,
            Counted::Device(_) => client
                .execute("DELETE FROM device_attempts WHERE id = $1", &[&id])
                .await
                .map_err(gone)?,
            Counted::Open { .. } => client
                .execute("DELETE FROM login_attempts WHERE id = $1", &[&id])
                .await
                .map_err(gone)?,
        };
        if let (Counted::Open { name, address }, true) = (&attempt.counted, forget_failures) {
            client
                .execute(
                    "UPDATE login_attempts SET counts_for_pair = FALSE
                     WHERE username = $1 AND address = $2 AND counts_for_pair",
                    &[name, &address_key(*address)],
                )
                .await
                .map_err(failed("forget a machine's failures for a name"))?;
        }
        Ok(())
    }

    async fn remember(&self, name: &str) -> StoreResult<String> {
        let secret = token::random().map_err(|e| StoreError::backend("draw a device cookie", e))?;
        let client = connect(&self.pool).await?;
        client
            .execute(
                "INSERT INTO login_devices (device_key, username, valid_until)
                 VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
                 ON CONFLICT (device_key) DO UPDATE
                     SET username = EXCLUDED.username, valid_until = EXCLUDED.valid_until",
                &[
                    &token::digest(&secret),
                    &name,
                    &self.limits.device_lifetime.as_secs_f64(),
                ],
            )
            .await
            .map_err(failed("remember a login device"))?;
        Ok(secret)
    }
}

impl LoginLimit for PgLoginLimiter {
    fn admit<'a>(
        &'a self,
        name: &'a str,
        address: Option<IpAddr>,
        device: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Attempt, Refused>> {
        Box::pin(self.count(name, address, device))
    }

    fn succeeded(&self, attempt: Attempt) -> Refund<'_> {
        Box::pin(self.give_back(attempt, true))
    }

    fn not_checked(&self, attempt: Attempt) -> Refund<'_> {
        Box::pin(self.give_back(attempt, false))
    }

    fn remember_device<'a>(&'a self, name: &'a str) -> StoreFuture<'a, String> {
        Box::pin(self.remember(name))
    }

    fn device_lifetime(&self) -> Duration {
        self.limits.device_lifetime
    }
}
