//! Releases and rollouts (see [`crate::store::releases`]), and the automatic pause, run in the
//! transaction of the heartbeat that tips a rollout over its threshold.

use booth_release::Version;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::connection::{failed, from_json, millis, time, to_json};
use super::kiosks;
use super::staff::append_audit;
use crate::domain::releases::{self, Rollout, RolloutState, RolloutTargets, Verdict};
use crate::store::releases::{
    NewRelease, NewRollout, ReleaseRecord, ReleaseRefusal, ReleaseStore, RolloutChange,
    RolloutRefusal,
};
use crate::store::staff::AuditEntry;
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

type ReleaseRow = (String, String, i64, String, String, i64);

fn release_row(row: &Row<'_>) -> rusqlite::Result<ReleaseRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn release_record(row: ReleaseRow) -> StoreResult<ReleaseRecord> {
    let (text, bundle, bytes, summary, uploaded_by, uploaded_at) = row;
    Ok(ReleaseRecord {
        version: version(&text)?,
        bundle,
        size: size(bytes)?,
        summary: from_json("a release summary", &summary)?,
        uploaded_by,
        uploaded_at: time(uploaded_at)?,
    })
}

fn find_release(conn: &Connection, wanted: Version) -> StoreResult<Option<ReleaseRecord>> {
    conn.query_row(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE version = ?1"),
        [wanted.to_string()],
        release_row,
    )
    .optional()
    .map_err(failed("read a release"))?
    .map(release_record)
    .transpose()
}

fn list_releases(conn: &Connection) -> StoreResult<Vec<ReleaseRecord>> {
    let what = "list releases";
    let mut statement = conn
        .prepare(&format!(
            "SELECT {RELEASE_COLUMNS} FROM releases ORDER BY major DESC, minor DESC, patch DESC"
        ))
        .map_err(failed(what))?;
    let rows = statement
        .query_map([], release_row)
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))?;
    rows.into_iter().map(release_record).collect()
}

fn add_release(
    conn: &Connection,
    release: &NewRelease,
    audit: &AuditEntry,
) -> StoreResult<Result<ReleaseRecord, ReleaseRefusal>> {
    if find_release(conn, release.version)?.is_some() {
        return Ok(Err(ReleaseRefusal::VersionExists(release.version)));
    }
    let same_bundle: Option<String> = conn
        .query_row(
            "SELECT version FROM releases WHERE bundle = ?1",
            [&release.bundle],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed("read a release"))?;
    if let Some(other) = same_bundle {
        return Ok(Err(ReleaseRefusal::BundleExists(version(&other)?)));
    }
    let Version {
        major,
        minor,
        patch,
    } = release.version;
    conn.execute(
        "INSERT INTO releases (version, major, minor, patch, bundle, size, summary, uploaded_by,
                               uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            release.version.to_string(),
            major,
            minor,
            patch,
            release.bundle,
            i64::try_from(release.size).map_err(|_| corrupt("a bundle over 8 EiB"))?,
            to_json(&release.summary)?,
            release.uploaded_by,
            millis(release.uploaded_at),
        ],
    )
    .map_err(failed("keep a release"))?;
    append_audit(conn, audit)?;
    find_release(conn, release.version)?
        .ok_or_else(|| corrupt("a release just written"))
        .map(Ok)
}

const ROLLOUT_COLUMNS: &str =
    "r.id, r.version, l.bundle, l.size, r.percent, r.townships, r.villages,
    r.booths, r.state, r.failure_threshold, r.state_reason, r.created_by, r.created_at,
    r.changed_at";

struct RolloutRow {
    id: i64,
    version: String,
    bundle: String,
    size: i64,
    percent: i64,
    townships: String,
    villages: String,
    booths: String,
    state: String,
    failure_threshold: i64,
    state_reason: Option<String>,
    created_by: String,
    created_at: i64,
    changed_at: i64,
}

fn rollout_row(row: &Row<'_>) -> rusqlite::Result<RolloutRow> {
    Ok(RolloutRow {
        id: row.get(0)?,
        version: row.get(1)?,
        bundle: row.get(2)?,
        size: row.get(3)?,
        percent: row.get(4)?,
        townships: row.get(5)?,
        villages: row.get(6)?,
        booths: row.get(7)?,
        state: row.get(8)?,
        failure_threshold: row.get(9)?,
        state_reason: row.get(10)?,
        created_by: row.get(11)?,
        created_at: row.get(12)?,
        changed_at: row.get(13)?,
    })
}

impl RolloutRow {
    fn into_rollout(self) -> StoreResult<Rollout> {
        let what = "a rollout's targets";
        let percent = |value: i64| u8::try_from(value).ok().filter(|p| *p <= 100);
        Ok(Rollout {
            id: self.id,
            version: version(&self.version)?,
            bundle: self.bundle,
            size: size(self.size)?,
            targets: RolloutTargets {
                percent: percent(self.percent)
                    .ok_or_else(|| corrupt(format!("rollout {} percentage", self.id)))?,
                townships: from_json(what, &self.townships)?,
                villages: from_json(what, &self.villages)?,
                booths: from_json(what, &self.booths)?,
            },
            state: self
                .state
                .parse()
                .map_err(|_| corrupt(format!("rollout state `{}`", self.state)))?,
            failure_threshold: percent(self.failure_threshold)
                .ok_or_else(|| corrupt(format!("rollout {} threshold", self.id)))?,
            state_reason: self.state_reason,
            created_by: self.created_by,
            created_at: time(self.created_at)?,
            changed_at: time(self.changed_at)?,
        })
    }
}

fn find_rollout(conn: &Connection, id: i64) -> StoreResult<Option<Rollout>> {
    conn.query_row(
        &format!(
            "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
             WHERE r.id = ?1"
        ),
        [id],
        rollout_row,
    )
    .optional()
    .map_err(failed("read a rollout"))?
    .map(RolloutRow::into_rollout)
    .transpose()
}

/// Every rollout, newest first.
pub(super) fn list_rollouts(conn: &Connection) -> StoreResult<Vec<Rollout>> {
    let what = "list rollouts";
    let mut statement = conn
        .prepare(&format!(
            "SELECT {ROLLOUT_COLUMNS} FROM rollouts r JOIN releases l ON l.version = r.version
             ORDER BY r.id DESC"
        ))
        .map_err(failed(what))?;
    let rows = statement
        .query_map([], rollout_row)
        .map_err(failed(what))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(failed(what))?;
    rows.into_iter().map(RolloutRow::into_rollout).collect()
}

fn write_targets(
    conn: &Connection,
    id: i64,
    targets: &RolloutTargets,
    state: RolloutState,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE rollouts SET percent = ?2, townships = ?3, villages = ?4, booths = ?5, state = ?6,
                state_reason = ?7, changed_at = ?8
         WHERE id = ?1",
        params![
            id,
            targets.percent,
            to_json(&targets.townships)?,
            to_json(&targets.villages)?,
            to_json(&targets.booths)?,
            state.as_str(),
            reason,
            millis(at),
        ],
    )
    .map_err(failed("change a rollout"))?;
    Ok(())
}

fn create_rollout(
    conn: &Connection,
    rollout: &NewRollout,
    audit: &AuditEntry,
) -> StoreResult<Result<Rollout, RolloutRefusal>> {
    if find_release(conn, rollout.version)?.is_none() {
        return Ok(Err(RolloutRefusal::UnknownRelease(rollout.version)));
    }
    if rollout.targets.is_empty() {
        return Ok(Err(RolloutRefusal::NoTargets));
    }
    let targets = &rollout.targets;
    conn.execute(
        "INSERT INTO rollouts (version, percent, townships, villages, booths, state,
                               failure_threshold, created_by, created_at, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?8)",
        params![
            rollout.version.to_string(),
            targets.percent.min(100),
            to_json(&targets.townships)?,
            to_json(&targets.villages)?,
            to_json(&targets.booths)?,
            rollout.failure_threshold.min(100),
            rollout.created_by,
            millis(rollout.created_at),
        ],
    )
    .map_err(failed("start a rollout"))?;
    let id = conn.last_insert_rowid();
    append_audit(
        conn,
        &AuditEntry {
            target: Some(format!("rollout {id}")),
            ..audit.clone()
        },
    )?;
    let made = find_rollout(conn, id)?.ok_or_else(|| corrupt("a rollout just written"))?;
    Ok(Ok(made))
}

fn change_rollout(
    conn: &Connection,
    id: i64,
    change: &RolloutChange,
    audit: &AuditEntry,
) -> StoreResult<Result<Rollout, RolloutRefusal>> {
    use RolloutState::{Active, Completed, Paused, Stopped};
    let Some(rollout) = find_rollout(conn, id)? else {
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
    write_targets(conn, id, &targets, state, None, audit.at)?;
    append_audit(
        conn,
        &AuditEntry {
            target: Some(format!("rollout {id}")),
            ..audit.clone()
        },
    )?;
    let changed = find_rollout(conn, id)?.ok_or_else(|| corrupt("a rollout just changed"))?;
    Ok(Ok(changed))
}

/// After a booth's update report changed: applies what each active rollout's counts call for
/// (pause past the threshold, complete), each with a `system` audit line.
pub(super) fn settle_rollouts(conn: &Connection, now: DateTime<Utc>) -> StoreResult<()> {
    let rollouts = list_rollouts(conn)?;
    if !rollouts.iter().any(|r| r.state == RolloutState::Active) {
        return Ok(());
    }
    let kiosks = kiosks::list(conn)?;
    for rollout in rollouts.iter().filter(|r| r.state == RolloutState::Active) {
        let progress = releases::progress(rollout, &kiosks);
        let (state, reason, action) = match releases::verdict(rollout, &progress) {
            None => continue,
            Some(Verdict::Pause(reason)) => {
                (RolloutState::Paused, Some(reason), "rollout.auto_pause")
            }
            Some(Verdict::Complete) => (RolloutState::Completed, None, "rollout.complete"),
        };
        write_targets(
            conn,
            rollout.id,
            &rollout.targets,
            state,
            reason.as_deref(),
            now,
        )?;
        let mut line =
            AuditEntry::new(now, "system", action).target(format!("rollout {}", rollout.id));
        line.detail = Some(reason.unwrap_or_else(|| {
            format!("all {} booths run {}", progress.targeted, rollout.version)
        }));
        append_audit(conn, &line)?;
        tracing::warn!(rollout = rollout.id, version = %rollout.version, action, "rollout changed by itself");
    }
    Ok(())
}

impl ReleaseStore for SqliteStore {
    fn add_release(
        &self,
        release: NewRelease,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<ReleaseRecord, ReleaseRefusal>> {
        Box::pin(self.writer.write("keep a release", move |conn| {
            add_release(conn, &release, &audit)
        }))
    }

    fn list_releases(&self) -> StoreFuture<'_, Vec<ReleaseRecord>> {
        Box::pin(self.readers.read(list_releases))
    }

    fn find_release(&self, wanted: Version) -> StoreFuture<'_, Option<ReleaseRecord>> {
        Box::pin(self.readers.read(move |conn| find_release(conn, wanted)))
    }

    fn create_rollout(
        &self,
        rollout: NewRollout,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(self.writer.write("start a rollout", move |conn| {
            create_rollout(conn, &rollout, &audit)
        }))
    }

    fn list_rollouts(&self) -> StoreFuture<'_, Vec<Rollout>> {
        Box::pin(self.readers.read(list_rollouts))
    }

    fn find_rollout(&self, id: i64) -> StoreFuture<'_, Option<Rollout>> {
        Box::pin(self.readers.read(move |conn| find_rollout(conn, id)))
    }

    fn change_rollout(
        &self,
        id: i64,
        change: RolloutChange,
        audit: AuditEntry,
    ) -> StoreFuture<'_, Result<Rollout, RolloutRefusal>> {
        Box::pin(self.writer.write("change a rollout", move |conn| {
            change_rollout(conn, id, &change, &audit)
        }))
    }
}
