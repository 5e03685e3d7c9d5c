//! A release on trial: its starts (`start-attempt`), its minutes (`check`), its
//! confirmation (`confirm`) and its rollback.
//!
//! A rollback points `current` back at the previous release and, only if that release
//! cannot read the store's schema now (see [`machine::restore_needed`]), restores the store
//! backup with the failed release's queue merged back ([`store_guard::restore`]).

use booth_release::Version;
use kiosk_core::update::FailureStage;
use kiosk_core::update::health::{HealthyMarker, HeartbeatRecord};

use crate::fsx;
use crate::machine::{self, CheckDecision, Observation, StartDecision};
use crate::releases;
use crate::state::{Ending, Outcome, Phase, ReleaseRef, Rollback, State};
use crate::store_guard;
use crate::trust;
use crate::{UpdateError, Updater};

const MAX_REPORT_BYTES: u64 = 4096;

/// What a trial step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No release is on trial.
    NotOnTrial,
    /// The trial goes on.
    OnTrial(Version),
    /// The release was kept.
    Confirmed(Version),
    /// The release was rolled back to `to`.
    RolledBack {
        version: Version,
        to: ReleaseRef,
        stage: FailureStage,
        store_restored: bool,
    },
}

impl Updater {
    /// Before each start of the kiosk: recovers, then counts the start of a release on trial
    /// and rolls back when it has had its starts, or left the store unreadable for the
    /// previous release.
    pub fn start_attempt(&self) -> Result<Verdict, UpdateError> {
        let _lock = self.lock()?;
        let mut state = self.recover_locked(false)?;
        let Some(install) = state.install.as_mut().filter(|i| i.phase == Phase::Trial) else {
            return Ok(Verdict::NotOnTrial);
        };
        let version = install.version;
        if let Some(reason) = self.store_unreadable_by(install.from)? {
            return self.roll_back(&mut state, FailureStage::Migrate, reason, false);
        }
        match machine::on_start(&mut install.trial) {
            StartDecision::Run => {
                state.save(&self.layout.state())?;
                Ok(Verdict::OnTrial(version))
            }
            StartDecision::RollBack { stage, reason } => {
                self.roll_back(&mut state, stage, reason, false)
            }
        }
    }

    /// Every minute: judges a release on trial by what the kiosk reported.
    pub fn check(&self) -> Result<Verdict, UpdateError> {
        let _lock = self.lock()?;
        let mut state = self.recover_locked(false)?;
        let Some(install) = state.install.as_mut().filter(|i| i.phase == Phase::Trial) else {
            return Ok(Verdict::NotOnTrial);
        };
        let version = install.version;
        if self.healthy_marker(version)? {
            return self.keep(&mut state);
        }
        let active = self.systemctl.kiosk_active()?;
        if let Some(reason) = self.store_unreadable_by(install.from)? {
            return self.roll_back(&mut state, FailureStage::Migrate, reason, active);
        }
        let heartbeat = self
            .heartbeat_record(version)?
            .map(|record| (record.outcome, record.detail));
        let seen = Observation {
            active,
            heartbeat,
            now_unix: self.now_unix(),
        };
        match machine::on_check(&mut install.trial, &seen) {
            CheckDecision::Wait => {
                state.save(&self.layout.state())?;
                Ok(Verdict::OnTrial(version))
            }
            CheckDecision::Confirm => self.keep(&mut state),
            CheckDecision::RollBack { stage, reason } => {
                self.roll_back(&mut state, stage, reason, active)
            }
        }
    }

    /// The kiosk wrote `health/healthy`: keep the release on trial. The marker is removed
    /// whatever the state, so its path unit does not fire again.
    pub fn confirm(&self) -> Result<Verdict, UpdateError> {
        let _lock = self.lock()?;
        let mut state = self.recover_locked(false)?;
        let on_trial = state
            .install
            .as_ref()
            .filter(|i| i.phase == Phase::Trial)
            .map(|i| i.version);
        match on_trial {
            Some(version) if self.healthy_marker(version)? => self.keep(&mut state),
            Some(version) => Ok(Verdict::OnTrial(version)),
            None => {
                fsx::remove_file(&self.layout.kiosk.healthy())?;
                Ok(Verdict::NotOnTrial)
            }
        }
    }

    /// Whether release `version` itself wrote the healthy marker (the switch removes an older
    /// one). A marker by another app (the factory app run because the release's could not be,
    /// say) is removed, so its path unit does not fire again, and does not count.
    fn healthy_marker(&self, version: Version) -> Result<bool, UpdateError> {
        let path = self.layout.kiosk.healthy();
        let Some(bytes) = fsx::read_small_nofollow(&path, MAX_REPORT_BYTES)? else {
            return Ok(false);
        };
        let marker: Option<HealthyMarker> = serde_json::from_slice(&bytes).ok();
        if marker.is_some_and(|m| m.release == version.to_string()) {
            return Ok(true);
        }
        fsx::remove_file(&path)?;
        Ok(false)
    }

    /// Release `version`'s last heartbeat outcome since the switch; another app's, or an
    /// unreadable one, counts as none.
    fn heartbeat_record(&self, version: Version) -> Result<Option<HeartbeatRecord>, UpdateError> {
        let bytes = fsx::read_small_nofollow(&self.layout.kiosk.heartbeat(), MAX_REPORT_BYTES)?;
        Ok(bytes
            .and_then(|bytes| serde_json::from_slice::<HeartbeatRecord>(&bytes).ok())
            .filter(|record| record.release == version.to_string()))
    }

    /// Why the store is now at a schema `previous` cannot read, if it is.
    fn store_unreadable_by(&self, previous: ReleaseRef) -> Result<Option<String>, UpdateError> {
        let reads = releases::info(&self.layout, previous, self.factory_version)?.reads;
        let schema = kiosk_core::store::closed::schema_on_disk(&self.layout.store)?;
        Ok(machine::restore_needed(schema, reads).then(|| {
            format!(
                "it left the store at schema {}, which {previous} (reading {reads}) cannot read: it migrated beyond its signed manifest",
                schema.unwrap_or_default()
            )
        }))
    }

    /// Keeps the release on trial: its key changes applied, the highest version raised,
    /// older releases removed (it and the one before stay), the marker removed. The backup
    /// stays until the next install.
    fn keep(&self, state: &mut State) -> Result<Verdict, UpdateError> {
        let layout = &self.layout;
        let install = state.install.clone().expect("a release on trial");
        let version = install.version;
        let from = releases::info(layout, install.from, self.factory_version)?.version;
        let mut trust = trust::load_or_seed(&layout.trust(), &layout.pinned_keys)?;
        let mut reason = None;
        // Verified again: the signed bytes kept with the release, against the trust as it is.
        let applied = releases::signed_parts(layout, version)?
            .verify(&trust)
            .map_err(UpdateError::Verify)
            .and_then(|release| {
                trust
                    .apply(&release)
                    .map_err(|source| UpdateError::KeyChange { version, source })
            });
        match applied {
            // Written before the state: applying the same release twice changes nothing, so
            // a power cut in between is finished by the next confirm.
            Ok(()) => trust::save(&layout.trust(), &trust)?,
            Err(err) => {
                reason = Some(format!(
                    "its key changes were not applied: {}",
                    error_line::one_line(&err)
                ))
            }
        }
        let highest = state
            .highest_installed
            .unwrap_or(self.factory_version)
            .max(from)
            .max(version);
        state.highest_installed = Some(highest);
        state.install = None;
        state.last = Some(Outcome {
            version: version.to_string(),
            ending: Ending::Installed,
            stage: None,
            reason,
            store_restored: false,
        });
        state.save(&layout.state())?;
        fsx::remove_file(&layout.kiosk.healthy())?;
        releases::prune(layout, &[version.to_string(), install.from.name()])?;
        fsx::remove_tree(&layout.failed_store())?;
        Ok(Verdict::Confirmed(version))
    }

    /// Rolls the release on trial back. `kiosk_running`: the kiosk runs it now (a `check`),
    /// so it is stopped first and started again after.
    fn roll_back(
        &self,
        state: &mut State,
        stage: FailureStage,
        reason: String,
        kiosk_running: bool,
    ) -> Result<Verdict, UpdateError> {
        let install = state.install.as_mut().expect("a release on trial");
        let previous = releases::info(&self.layout, install.from, self.factory_version)?;
        let schema = kiosk_core::store::closed::schema_on_disk(&self.layout.store)?;
        let mut reason = reason;
        let mut restore_store = machine::restore_needed(schema, previous.reads);
        if restore_store && !store_guard::backup_file(&self.layout).exists() {
            restore_store = false;
            reason.push_str(
                "; there is no store backup to restore: a technician must bring the store back",
            );
        }
        install.phase = Phase::RollingBack;
        install.rollback = Some(Rollback {
            stage,
            reason,
            restore_store,
        });
        state.save(&self.layout.state())?;
        if kiosk_running {
            self.systemctl.stop_kiosk()?;
        }
        let verdict = self.finish_rollback(state)?;
        if kiosk_running {
            self.systemctl.start_kiosk()?;
        }
        Ok(verdict)
    }

    /// The rollback's steps, each of which can be repeated after a power cut: `current` back
    /// to the previous release, the store restored if that was decided, the outcome recorded.
    pub(crate) fn finish_rollback(&self, state: &mut State) -> Result<Verdict, UpdateError> {
        let layout = &self.layout;
        let install = state.install.clone().expect("a rollback in progress");
        let rollback = install.rollback.clone().expect("a rollback in progress");
        fsx::switch_link(&layout.current(), &install.from.name())?;
        crate::fail::point("rollback-after-switch");
        let mut reason = rollback.reason.clone();
        if rollback.restore_store {
            let restored = store_guard::restore(layout)?;
            if let Some(why) = restored.not_merged {
                reason.push_str(&format!(
                    "; the store backup was restored but the failed release's queue could not be merged ({why}): it is kept in {}",
                    layout.failed_store().display()
                ));
            }
        }
        fsx::remove_file(&layout.kiosk.healthy())?;
        fsx::remove_file(&layout.kiosk.heartbeat())?;
        state.remember_rollback(install.version);
        state.install = None;
        state.last = Some(Outcome {
            version: install.version.to_string(),
            ending: Ending::RolledBack,
            stage: Some(rollback.stage),
            reason: Some(reason),
            store_restored: rollback.restore_store,
        });
        state.save(&layout.state())?;
        Ok(Verdict::RolledBack {
            version: install.version,
            to: install.from,
            stage: rollback.stage,
            store_restored: rollback.restore_store,
        })
    }
}
