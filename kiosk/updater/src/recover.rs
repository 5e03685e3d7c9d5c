//! `booth-update recover`: after a power cut or a crash, finish or undo what the state file
//! says was being done, so the booth runs one whole release with its store. Run before each
//! start of the kiosk (its `ExecStartPre`, through `start-attempt`), at boot, after the
//! install service ends (`ExecStopPost`), and first by every other command.
//!
//! - before the switch: undo (remove what was staged; the store was only copied);
//! - the switch done: the release is on trial;
//! - during a rollback: do the rollback again (each step can be repeated).

use kiosk_core::update::FailureStage;

use crate::fsx;
use crate::machine::{self, RecoverPlan};
use crate::releases;
use crate::state::{Ending, Interrupted, Outcome, Phase, ReleaseRef, State};
use crate::{UpdateError, Updater};

/// What `recover` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    Nothing,
    Undone,
    SwitchFinished,
    RollbackFinished,
    /// A newer booth image's app runs instead of an older installed release.
    NewerImage,
}

impl Updater {
    /// Recovers under the lock; with `start_kiosk`, starts the kiosk if it is not running (an
    /// install stopped by a crash after it stopped the kiosk leaves it stopped).
    pub fn recover(&self, start_kiosk: bool) -> Result<Recovered, UpdateError> {
        let _lock = self.lock()?;
        let before = State::load(&self.layout.state())?;
        let after = self.recover_locked(start_kiosk)?;
        Ok(match before.install.as_ref().map(|i| i.phase) {
            None if before.last != after.last => Recovered::NewerImage,
            _ if before.install == after.install => Recovered::Nothing,
            Some(Phase::RollingBack) => Recovered::RollbackFinished,
            Some(Phase::Switching) if after.install.is_some() => Recovered::SwitchFinished,
            _ => Recovered::Undone,
        })
    }

    /// The state after recovery. The caller holds the lock.
    pub(crate) fn recover_locked(&self, start_kiosk: bool) -> Result<State, UpdateError> {
        let layout = &self.layout;
        let mut state = State::load(&layout.state())?;
        // A link made but not renamed over its old one.
        for link in [layout.current(), layout.previous()] {
            fsx::remove_file(&fsx::sibling(&link, ".new"))?;
        }
        let current = fsx::link_target(&layout.current())?;
        let plan = state
            .install
            .as_ref()
            .map_or(RecoverPlan::Nothing, |install| {
                machine::recover_plan(install, current.as_deref())
            });
        match plan {
            RecoverPlan::Nothing if state.install.is_none() => {
                self.prefer_newer_factory(&mut state)?;
            }
            RecoverPlan::Nothing => {}
            RecoverPlan::Undo => {
                let install = state.install.clone().expect("planned from an install");
                self.undo_install(&mut state)?;
                let count = match &state.interrupted {
                    Some(i) if i.bundle == install.bundle => i.count + 1,
                    _ => 1,
                };
                state.interrupted = Some(Interrupted {
                    bundle: install.bundle,
                    count,
                });
                state.last = Some(Outcome {
                    version: install.version.to_string(),
                    ending: Ending::Failed,
                    stage: Some(FailureStage::Stage),
                    reason: Some(format!(
                        "the install was stopped (power cut or crash) while {:?}; undone, and tried again while the request is in the inbox",
                        install.phase
                    )
                    .to_lowercase()),
                    store_restored: false,
                });
                state.save(&layout.state())?;
            }
            RecoverPlan::FinishSwitch => {
                if let Some(install) = &mut state.install {
                    install.phase = Phase::Trial;
                }
                state.interrupted = None;
                state.save(&layout.state())?;
            }
            RecoverPlan::FinishRollback => {
                self.finish_rollback(&mut state)?;
            }
        }
        if start_kiosk && !self.systemctl.kiosk_active()? {
            self.systemctl.start_kiosk()?;
        }
        Ok(state)
    }

    /// A new booth image brings a new factory app: when it is newer than the installed release
    /// that runs, the booth runs it (the older release stays as `previous`). An older factory
    /// app never replaces a newer release (anti-rollback).
    fn prefer_newer_factory(&self, state: &mut State) -> Result<(), UpdateError> {
        let layout = &self.layout;
        let ReleaseRef::Installed(running) = releases::running(layout)? else {
            return Ok(());
        };
        if running >= self.factory_version {
            return Ok(());
        }
        fsx::switch_link(&layout.previous(), &running.to_string())?;
        fsx::switch_link(&layout.current(), &ReleaseRef::Factory.name())?;
        state.highest_installed = Some(
            state
                .highest_installed
                .unwrap_or(running)
                .max(self.factory_version),
        );
        state.last = Some(Outcome {
            version: self.factory_version.to_string(),
            ending: Ending::Installed,
            stage: None,
            reason: Some(format!(
                "the booth image's app {} is newer than release {running}: it runs instead",
                self.factory_version
            )),
            store_restored: false,
        });
        state.save(&layout.state())?;
        Ok(())
    }

    /// Undoes an install stopped before its switch: removes its staged release (never the
    /// one that runs) and forgets it. The store was never touched.
    pub(crate) fn undo_install(&self, state: &mut State) -> Result<(), UpdateError> {
        let layout = &self.layout;
        let Some(install) = state.install.take() else {
            return Ok(());
        };
        let name = install.version.to_string();
        fsx::remove_file(&fsx::sibling(&layout.current(), ".new"))?;
        fsx::remove_tree(&layout.partial_dir(&name))?;
        if releases::running(layout)? != ReleaseRef::Installed(install.version) {
            fsx::remove_tree(&layout.release_dir(&name))?;
        }
        // `previous` may already point at what runs (a stop between the two links): so it
        // names what runs now, which is still a release the booth has.
        fsx::sync_dir(&layout.releases)?;
        state.save(&layout.state())?;
        Ok(())
    }
}
