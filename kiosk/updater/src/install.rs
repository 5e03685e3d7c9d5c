//! `booth-update install`: the kiosk's install request, from verification to the release on
//! trial.
//!
//! 1. verify: the request, the bundle's signature against the booth's trust store, the install
//!    policy (anti-rollback, the store schemas), the key changes (a dry run), that it was never
//!    rolled back here and has an app, then every file (a first pass that writes nothing).
//!    A refusal here changes nothing in `releases/`.
//! 2. stage into `releases/<version>.partial/`, renamed to `releases/<version>` when whole;
//! 3. stop the kiosk (it closes the store), 4. back the store up, 5. switch `previous` and
//!    `current`, 6. record the trial and start the kiosk.
//!
//! The state file names each step before it is taken, so `recover` can undo steps 2–5 or
//! finish step 5 after a power cut. The request and the bundle are removed once the install
//! ended either way (a stop by power cut leaves them, so the install is tried again).

use std::fs;
use std::io::BufReader;

use booth_release::{Bundle, FileMode, InstallPolicy, Limits, VerifiedManifest, Version};
use kiosk_core::update::{FailureStage, InstallRequest, request::MAX_REQUEST_BYTES};

use crate::fail;
use crate::fsx;
use crate::releases::{self, FILES_DIR, KIOSK_PATH, MANIFEST_FILE, SIGNATURES_FILE};
use crate::state::{Ending, Install, Outcome, Phase, ReleaseRef, State, Trial};
use crate::store_guard;
use crate::{UpdateError, Updater};

/// An install that was stopped this many times by power cuts is given up.
pub const MAX_INTERRUPTIONS: u32 = 3;

/// Why an install did not reach the trial, and at which stage.
#[derive(Debug)]
struct Failed {
    stage: FailureStage,
    version: String,
    error: UpdateError,
}

impl Updater {
    /// Installs the release the inbox's request names; on success it runs on trial.
    pub fn install(&self) -> Result<Version, UpdateError> {
        let _lock = self.lock()?;
        let mut state = self.recover_locked(false)?;
        let request_path = self.layout.kiosk.install_request();
        let bytes = fsx::read_small_nofollow(&request_path, MAX_REQUEST_BYTES)?
            .ok_or(UpdateError::NoRequest)?;
        let mut stopped = false;
        match self.install_request(&mut state, &bytes, &mut stopped) {
            Ok(version) => Ok(version),
            Err(failed) => {
                let current = fsx::link_target(&self.layout.current())?;
                if let Some(install) = state.install.as_mut()
                    && current == Some(install.version.to_string())
                {
                    // The switch was done (a later step failed): the release is on trial,
                    // as `recover` would have it.
                    install.phase = Phase::Trial;
                    let version = install.version;
                    state.save(&self.layout.state())?;
                    self.consume_request(&bytes)?;
                    self.systemctl.start_kiosk()?;
                    eprintln!("booth-update: {}", error_line::one_line(&failed.error));
                    return Ok(version);
                }
                // Nothing was switched: the booth runs what it ran. Undo what was staged and
                // say why; the request is consumed so its path unit does not fire again.
                if state.install.is_some() {
                    self.undo_install(&mut state)?;
                }
                state.last = Some(Outcome {
                    version: failed.version,
                    ending: Ending::Failed,
                    stage: Some(failed.stage),
                    reason: Some(error_line::one_line(&failed.error)),
                    store_restored: false,
                });
                state.save(&self.layout.state())?;
                self.consume_request(&bytes)?;
                if stopped {
                    self.systemctl.start_kiosk()?;
                }
                Err(failed.error)
            }
        }
    }

    fn install_request(
        &self,
        state: &mut State,
        bytes: &[u8],
        stopped: &mut bool,
    ) -> Result<Version, Failed> {
        let mut stage = FailureStage::Verify;
        let mut version = String::from("unknown");
        let fail = |stage, version: &str| {
            let version = version.to_owned();
            move |error: UpdateError| Failed {
                stage,
                version,
                error,
            }
        };
        let request = InstallRequest::from_json(bytes)
            .map_err(|err| fail(stage, &version)(UpdateError::Request(err)))?;
        version.clone_from(&request.version);
        if let Some(install) = &state.install {
            if install.bundle == request.bundle {
                // This very request, already switched (a stop before the request was
                // removed): it is on trial, nothing more to do.
                if let Err(err) = self.consume_request(bytes) {
                    eprintln!("booth-update: {}", error_line::one_line(&err));
                }
                return Ok(install.version);
            }
            return Err(fail(stage, &version)(UpdateError::Busy(install.version)));
        }
        if let Some(interrupted) = &state.interrupted
            && interrupted.bundle == request.bundle
            && interrupted.count >= MAX_INTERRUPTIONS
        {
            let error = UpdateError::KeepsStopping(request.bundle.clone(), interrupted.count);
            return Err(fail(FailureStage::Stage, &version)(error));
        }

        // 1. verify: everything, before anything is written.
        let (release, from) = self
            .verify(state, &request)
            .map_err(fail(stage, &version))?;
        let new = release.manifest().version;
        version = new.to_string();
        let name = new.to_string();

        // 2. stage.
        stage = FailureStage::Stage;
        state.install = Some(Install {
            version: new,
            from,
            bundle: request.bundle.clone(),
            phase: Phase::Staging,
            trial: Trial::default(),
            rollback: None,
        });
        let save = |state: &State| state.save(&self.layout.state()).map_err(UpdateError::from);
        save(state).map_err(fail(stage, &version))?;
        self.stage(&request, &name).map_err(fail(stage, &version))?;

        // 3. stop the kiosk: a clean stop closes the store.
        set_phase(state, Phase::Stopping);
        save(state).map_err(fail(stage, &version))?;
        self.systemctl
            .stop_kiosk()
            .map_err(|err| fail(stage, &version)(err.into()))?;
        *stopped = true;
        fail::point("after-stop");

        // 4. back the store up.
        set_phase(state, Phase::BackingUp);
        save(state).map_err(fail(stage, &version))?;
        store_guard::back_up(&self.layout).map_err(fail(stage, &version))?;
        fail::point("after-backup");

        // 5. switch.
        set_phase(state, Phase::Switching);
        save(state).map_err(fail(stage, &version))?;
        self.switch(from, &name).map_err(fail(stage, &version))?;
        fail::point("after-switch");

        // 6. on trial.
        set_phase(state, Phase::Trial);
        state.interrupted = None;
        save(state).map_err(fail(stage, &version))?;
        fail::point("before-start");
        // From here a failure is the trial's to judge, not a failed install.
        if let Err(err) = self.consume_request(bytes) {
            eprintln!("booth-update: {}", error_line::one_line(&err));
        }
        if let Err(err) = self.systemctl.start_kiosk() {
            eprintln!("booth-update: {}", error_line::one_line(&err));
        }
        Ok(new)
    }

    /// Step 1: what the bundle is and that this booth may install it; what runs now.
    fn verify(
        &self,
        state: &State,
        request: &InstallRequest,
    ) -> Result<(VerifiedManifest, ReleaseRef), UpdateError> {
        let layout = &self.layout;
        let trust = crate::trust::load_or_seed(&layout.trust(), &layout.pinned_keys)?;
        let running = releases::info(layout, releases::running(layout)?, self.factory_version)?;
        let store_schema =
            kiosk_core::store::closed::schema_on_disk(&layout.store)?.unwrap_or(running.writes);
        let policy = InstallPolicy {
            running: running.version,
            highest_installed: state.highest_installed.unwrap_or(self.factory_version),
            store_schema,
            running_reads: running.reads,
        };
        let check = || -> Result<VerifiedManifest, UpdateError> {
            let opened =
                Bundle::open_and_verify(self.open_bundle(request)?, &trust, Limits::default())
                    .map_err(bundle_error)?;
            let manifest = opened.release().manifest();
            let version = manifest.version;
            if state.rolled_back.contains(&version) {
                return Err(UpdateError::RolledBackBefore(version));
            }
            policy
                .check(opened.release())
                .map_err(|source| UpdateError::Refused { version, source })?;
            trust
                .applied(opened.release())
                .map_err(|source| UpdateError::KeyChange { version, source })?;
            let has_kiosk = manifest
                .files
                .iter()
                .any(|file| file.path.as_str() == KIOSK_PATH && file.mode == FileMode::Executable);
            if !has_kiosk {
                return Err(UpdateError::NoKiosk(version));
            }
            opened.check_files().map_err(bundle_error)
        };
        check().map(|release| (release, running.release))
    }

    fn open_bundle(&self, request: &InstallRequest) -> Result<BufReader<fs::File>, UpdateError> {
        let path = request.bundle_path(&self.layout.kiosk);
        fsx::open_nofollow(&path)
            .map(BufReader::new)
            .map_err(|source| UpdateError::OpenBundle { path, source })
    }

    /// Step 2: `releases/<name>.partial/` with the signed manifest and the files, checked
    /// again as they are written, then renamed to `releases/<name>`.
    fn stage(&self, request: &InstallRequest, name: &str) -> Result<(), UpdateError> {
        let layout = &self.layout;
        let trust = crate::trust::load_or_seed(&layout.trust(), &layout.pinned_keys)?;
        let partial = layout.partial_dir(name);
        let target = layout.release_dir(name);
        fsx::remove_tree(&partial)?;
        // Left by an install that was undone, or the previous release being installed again
        // (a signed downgrade): never what runs now, which the policy refused.
        fsx::remove_tree(&target)?;
        fail::point("before-stage");
        fsx::ensure_dir(&partial, 0o755)?;
        let opened = Bundle::open_and_verify(self.open_bundle(request)?, &trust, Limits::default())
            .map_err(bundle_error)?;
        let parts = opened.signed_parts().clone();
        fsx::write_atomic(&partial.join(MANIFEST_FILE), &parts.manifest, 0o644)?;
        fsx::write_atomic(&partial.join(SIGNATURES_FILE), &parts.signatures, 0o644)?;
        opened
            .stage_into(&partial.join(FILES_DIR))
            .map_err(bundle_error)?;
        fsx::sync_dir(&partial)?;
        fail::point("after-stage");
        fs::rename(&partial, &target)
            .map_err(fsx::err("cannot rename the staged release", &partial))?;
        fsx::sync_dir(&layout.releases)?;
        fail::point("after-rename");
        Ok(())
    }

    /// Step 5: `previous` → what runs, then `current` → the new release; the kiosk's old
    /// health reports go, so only the new release's count.
    pub(crate) fn switch(&self, from: ReleaseRef, name: &str) -> Result<(), UpdateError> {
        let layout = &self.layout;
        fsx::remove_file(&layout.kiosk.healthy())?;
        fsx::remove_file(&layout.kiosk.heartbeat())?;
        fsx::switch_link(&layout.previous(), &from.name())?;
        fsx::switch_link(&layout.current(), name)?;
        Ok(())
    }

    /// Removes the request and the bundle it names (a bundle that was refused is of no use,
    /// and an installed one is in `releases/`).
    fn consume_request(&self, bytes: &[u8]) -> Result<(), UpdateError> {
        if let Ok(request) = InstallRequest::from_json(bytes) {
            fsx::remove_file(&request.bundle_path(&self.layout.kiosk))?;
        }
        fsx::remove_file(&self.layout.kiosk.install_request())?;
        Ok(())
    }
}

fn set_phase(state: &mut State, phase: Phase) {
    if let Some(install) = &mut state.install {
        install.phase = phase;
    }
}

fn bundle_error(err: booth_release::BundleError) -> UpdateError {
    match err {
        booth_release::BundleError::Verify(verify) => UpdateError::Verify(verify),
        other => UpdateError::Bundle(other),
    }
}
