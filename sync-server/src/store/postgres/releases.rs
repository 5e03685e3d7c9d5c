//! Releases and rollouts (see [`crate::store::releases`]), as in [`crate::store::sqlite`], and
//! the automatic pause, run in the transaction of the heartbeat that tips a rollout over its
//! threshold.
//!
//! Where SQLite's single writer kept a check and its write together, the rows are locked
//! here: a rollout being changed is read `FOR UPDATE`, and settling locks every active
//! rollout, so two instances recording heartbeats at once settle one after the other and the
//! second sees the first's heartbeat and verdict (one pause, one audit line).

use booth_release::Version;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;

use super::PostgresStore;
use super::audit::append_audit;
use super::connection::failed;
use super::kiosks;
use crate::domain::releases::{self, Rollout, RolloutState, RolloutTargets, Verdict};
use crate::store::releases::{
    NewRelease, NewRollout, ReleaseRecord, ReleaseRefusal, ReleaseStore, RolloutChange,
    RolloutRefusal,
};
use crate::store::staff::AuditEntry;
use crate::store::values::{from_json, stored_now, to_json};
use crate::store::{StoreError, StoreFuture, StoreResult};

const RELEASE_COLUMNS: &str = "version, bundle, size, summary, uploaded_by, uploaded_at";

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

fn version(text: &str) -> StoreResult<Version> {
    text.parse()
        .map_err(|_| corrupt(format!("release version `{text}`")))
}

fn size(stored: i64) -> StoreResult<u64> {
    u64::try_from(stored).map_err(|_| corrupt(format!("bundle size {stored}")))
}

/// Commits `tx` and hands back `value`. Refusals commit too: they wrote nothing, and the
/// commit releases the locks at once.
async fn commit<T>(tx: Transaction<'_>, what: &'static str, value: T) -> StoreResult<T> {
    tx.commit().await.map_err(failed(what))?;
    Ok(value)
}

/// A row read with [`RELEASE_COLUMNS`].
fn release_record(row: &Row) -> StoreResult<ReleaseRecord> {
    Ok(ReleaseRecord {
        version: version(row.get(0))?,
        bundle: row.get(1),
        size: size(row.get(2))?,
        summary: from_json("a release summary", row.get(3))?,
        uploaded_by: row.get(4),
        uploaded_at: row.get(5),
    })
}

async fn find_release(
    client: &impl GenericClient,
    wanted: Version,
) -> StoreResult<Option<ReleaseRecord>> {
    client
        .query_opt(
            &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE version = $1"),
            &[&wanted.to_string()],
        )
        .await
        .map_err(failed("read a release"))?
        .as_ref()
        .map(release_record)
        .transpose()
}

async fn list_releases(client: &impl GenericClient) -> StoreResult<Vec<ReleaseRecord>> {
    client
        .query(
            &format!(
                "SELECT {RELEASE_COLUMNS} FROM releases
                 ORDER BY major DESC, minor DESC, patch DESC"
            ),
            &[],
        )
        .await
        .map_err(failed("list releases"))?
        .iter()
        .map(release_record)
        .collect()
}

/// Why `release` cannot be kept, as the committed rows say.
async fn release_refusal(
    client: &impl GenericClient,
    release: &NewRelease,
) -> StoreResult<Option<ReleaseRefusal>> {
    if find_release(client, release.version).await?.is_some() {
        return Ok(Some(ReleaseRefusal::VersionExists(release.version)));
    }
    let same_bundle = client
        .query_opt(
            "SELECT version FROM releases WHERE bundle = $1",
            &[&release.bundle],
        )
        .await
        .map_err(failed("read a release"))?;
    same_bundle
        .map(|row| Ok(ReleaseRefusal::BundleExists(version(row.get(0))?)))
        .transpose()
}

async fn add_release(
    client: &impl GenericClient,
    release: &NewRelease,
    audit: &AuditEntry,
) -> StoreResult<Result<ReleaseRecord, ReleaseRefusal>> {
    if let Some(refusal) = release_refusal(client, release).await? {
        return Ok(Err(refusal));
    }
    let Version {
        major,
        minor,
        patch,
    } = release.version;
    // ON CONFLICT: an upload of the same version or bundle committed since the check above
    // makes this insert nothing (it waits for that commit), and is refused as SQLite would.
    let inserted = client
        .execute(
            "INSERT INTO releases (version, major, minor, patch, bundle, size, summary,
                                   uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING",
            &[
                &release.version.to_string(),
                &i64::from(major),
                &i64::from(minor),
                &i64::from(patch),
                &release.bundle,
                &i64::try_from(release.size).map_err(|_| corrupt("a bundle over 8 EiB"))?,
                &to_json(&release.summary)?,
                &release.uploaded_by,
                &stored_now(release.uploaded_at),
            ],
        )
        .await
        .map_err(failed("keep a release"))?;
    if inserted == 0 {
        return release_refusal(client, release)
            .await?
            .map(Err)
            .ok_or_else(|| corrupt("a release that clashes with no other"));
    }
    append_audit(client, audit).await?;
    find_release(client, release.version)
        .await?
        .ok_or_else(|| corrupt("a release just written"))
        .map(Ok)
}

const ROLLOUT_COLUMNS: &str =
    "r.id, r.version, l.bundle, l.size, r.percent, r.townships, r.villages,
    r.booths, r.state, r.failure_threshold, r.state_reason, r.created_by, r.created_at,
    r.changed_at";

/// A row read with [`ROLLOUT_COLUMNS`].
fn rollout_record(row: &Row) -> StoreResult<Rollout> {
    let what = "a rollout's targets";
    let id: i64 = row.get(0);
    let percent = |value: i64| u8::try_from(value).ok().filter(|p| *p <= 100);
    let state: String = row.get(8);
    Ok(Rollout {
        id,
        version: version(row.get(1))?,
        bundle: row.get(2),
        size: size(row.get(3))?,
        targets: RolloutTargets {
            percent: percent(row.get(4))
                .ok_or_else(|| corrupt(format!("rollout {id} percentage")))?,
            townships: from_json(what, row.get(5))?,
            villages: from_json(what, row.get(6))?,
            booths: from_json(what, row.get(7))?,
        },
        state: state
            .parse()
            .map_err(|_| corrupt(format!("rollout state `{state}`")))?,
        failure_threshold: percent(row.get(9))
            .ok_or_else(|| corrupt(format!("rollout {id} threshold")))?,
        state_reason: row.get(10),
        created_by: row.get(11),
        created_at: row.get(12),
        changed_at: row.get(13),
    })
}

async fn find_rollout(client: &impl GenericClient, id: i64) -> StoreResult<Option<Rollout>> {
    client
        .query_opt(
            &format!(
                "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
                 WHERE r.id = $1"
            ),
            &[&id],
        )
        .await
        .map_err(failed("read a rollout"))?
        .as_ref()
        .map(rollout_record)
        .transpose()
}

/// The rollout, locked until the transaction ends: a staff change and a heartbeat's
/// settling of the same rollout take turns.
async fn lock_rollout(client: &impl GenericClient, id: i64) -> StoreResult<Option<Rollout>> {
    client
        .query_opt(
            &format!(
                "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
                 WHERE r.id = $1 FOR UPDATE OF r"
            ),
            &[&id],
        )
        .await
        .map_err(failed("read a rollout"))?
        .as_ref()
        .map(rollout_record)
        .transpose()
}

/// Every rollout, newest first.
async fn list_rollouts(client: &impl GenericClient) -> StoreResult<Vec<Rollout>> {
    client
        .query(
            &format!(
                "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
                 ORDER BY r.id DESC"
            ),
            &[],
        )
        .await
        .map_err(failed("list rollouts"))?
        .iter()
        .map(rollout_record)
        .collect()
}

async fn write_targets(
    client: &impl GenericClient,
    id: i64,
    targets: &RolloutTargets,
    state: RolloutState,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE rollouts SET percent = $2, townships = $3, villages = $4, booths = $5,
                    state = $6, state_reason = $7, changed_at = $8
             WHERE id = $1",
            &[
                &id,
                &i64::from(targets.percent),
                &to_json(&targets.townships)?,
                &to_json(&targets.villages)?,
                &to_json(&targets.booths)?,
                &state.as_str(),
                &reason,
                &stored_now(at),
            ],
        )
        .await
        .map_err(failed("change a rollout"))?;
    Ok(())
}

async fn create_rollout(
    client: &impl GenericClient,
    rollout: &NewRollout,
    audit: &AuditEntry,
) -> StoreResult<Result<Rollout, RolloutRefusal>> {
    if find_release(client, rollout.version).await?.is_none() {
        return Ok(Err(RolloutRefusal::UnknownRelease(rollout.version)));
    }
    if rollout.targets.is_empty() {
        return Ok(Err(RolloutRefusal::NoTargets));
    }
    let targets = &rollout.targets;
    let created_at = stored_now(rollout.created_at);
    let id: i64 = client
        .query_one(
            "INSERT INTO rollouts (version, percent, townships, villages, booths, state,
                                   failure_threshold, created_by, created_at, changed_at)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $8)
             RETURNING id",
            &[
                &rollout.version.to_string(),
                &i64::from(targets.percent.min(100)),
                &to_json(&targets.townships)?,
                &to_json(&targets.villages)?,
                &to_json(&targets.booths)?,
                &i64::from(rollout.failure_threshold.min(100)),
                &rollout.created_by,
                &created_at,
            ],
        )
        .await
        .map_err(failed("start a rollout"))?
        .get(0);
    append_audit(
        client,
        &AuditEntry {
            target: Some(format!("rollout {id}")),
            ..audit.clone()
        },
    )
    .await?;
    let made = find_rollout(client, id)
        .await?
        .ok_or_else(|| corrupt("a rollout just written"))?;
    Ok(Ok(made))
}

async fn change_rollout(
    client: &impl GenericClient,
    id: i64,
    change: &RolloutChange,
    audit: &AuditEntry,
) -> StoreResult<Result<Rollout, RolloutRefusal>> {
    use RolloutState::{Active, Completed, Paused, Stopped};
    let Some(rollout) = lock_rollout(client, id).await? else {
        return Ok(Err(RolloutRefusal::UnknownRollout(id)));
    };
    let wrong = |doing| {
        Ok(Err(RolloutRefusal::WrongState {
            id,
            state: rollout.state,
            doing,
        }))
    };
    let (targets, state) = match (change, rollout.state) {
        (RolloutChange::Pause, Active) => (rollout.targets.clone(), Paused),
        (RolloutChange::Pause, _) => return wrong("paused"),
        (RolloutChange::Resume, Paused) => (rollout.targets.clone(), Active),
        (RolloutChange::Resume, _) => return wrong("resumed"),
        (RolloutChange::Stop, Active | Paused | Completed) => (rollout.targets.clone(), Stopped),
        (RolloutChange::Stop, Stopped) => return wrong("stopped"),
        (RolloutChange::Widen(_), Stopped) => return wrong("widened"),
        (RolloutChange::Widen(more), state) => {
            let wider = rollout.targets.widened(more);
            if wider == rollout.targets {
                return Ok(Err(RolloutRefusal::NothingAdded(id)));
            }
            // New booths have work to do: a completed rollout is running again.
            let state = if state == Completed { Active } else { state };
            (wider, state)
        }
    };
    write_targets(client, id, &targets, state, None, audit.at).await?;
    append_audit(
        client,
        &AuditEntry {
            target: Some(format!("rollout {id}")),
            ..audit.clone()
        },
    )
    .await?;
    let changed = find_rollout(client, id)
        .await?
        .ok_or_else(|| corrupt("a rollout just changed"))?;
    Ok(Ok(changed))
}

/// Every active rollout, locked until the transaction ends (in id order, so two settlers
/// cannot deadlock). A settler that waited for another reads the rows as that one left them,
/// and its later reads (the kiosks' heartbeats) see what that one committed.
async fn lock_active_rollouts(client: &impl GenericClient) -> StoreResult<Vec<Rollout>> {
    client
        .query(
            &format!(
                "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
                 WHERE r.state = 'active' ORDER BY r.id FOR UPDATE OF r"
            ),
            &[],
        )
        .await
        .map_err(failed("lock the active rollouts"))?
        .iter()
        .map(rollout_record)
        .collect()
}

/// After a booth's update report changed: applies what each active rollout's counts call for
/// (pause past the threshold, complete), each with a `system` audit line.
pub(super) async fn settle_rollouts(
    client: &impl GenericClient,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let active = lock_active_rollouts(client).await?;
    if active.is_empty() {
        return Ok(());
    }
    let kiosks = kiosks::list(client).await?;
    // Newest first, as SQLite settles them (the audit lines come in that order).
    for rollout in active.iter().rev() {
        let progress = releases::progress(rollout, &kiosks);
        let (state, reason, action) = match releases::verdict(rollout, &progress) {
            None => continue,
            Some(Verdict::Pause(reason)) => {
                (RolloutState::Paused, Some(reason), "rollout.auto_pause")
            }
            Some(Verdict::Complete) => (RolloutState::Completed, None, "rollout.complete"),
        };
        write_targets(
            client,
            rollout.id,
            &rollout.targets,
            state,
            reason.as_deref(),
            now,
        )
        .await?;
        let mut line =
            AuditEntry::new(now, "system", action).target(format!("rollout {}", rollout.id));
        line.detail = Some(reason.unwrap_or_else(|| {
            format!("all {} booths run {}", progress.targeted, rollout.version)
        }));
        append_audit(client, &line).await?;
        tracing::warn!(rollout = rollout.id, version = %rollout.version, action, "rollout changed by itself");
    }
    Ok(())
}

impl ReleaseStore for PostgresStore {
    fn add_release(
        &self,
        release: NewRelease,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<ReleaseRecord, ReleaseRefusal>> {
        Box::pin(async move {
            let what = "keep a release";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = add_release(&tx, &release, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn list_releases(&self) -> StoreFuture<'_, Vec<ReleaseRecord>> {
        Box::pin(async move { list_releases(&self.client().await?).await })
    }

    fn find_release(&self, wanted: Version) -> StoreFuture<'_, Option<ReleaseRecord>> {
        Box::pin(async move { find_release(&self.client().await?, wanted).await })
    }

    fn create_rollout(
        &self,
        rollout: NewRollout,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(async move {
            let what = "start a rollout";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = create_rollout(&tx, &rollout, &audit).await?;
            commit(tx, what, outcome).await
        })
    }

    fn list_rollouts(&self) -> StoreFuture<'_, Vec<Rollout>> {
        Box::pin(async move { list_rollouts(&self.client().await?).await })
    }

    fn find_rollout(&self, id: i64) -> StoreFuture<'_, Option<Rollout>> {
        Box::pin(async move { find_rollout(&self.client().await?, id).await })
    }

    fn change_rollout(
        &self,
        id: i64,
        change: RolloutChange,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(async move {
            let what = "change a rollout";
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(failed(what))?;
            let outcome = change_rollout(&tx, id, &change, &audit).await?;
            commit(tx, what, outcome).await
        })
    }
}
