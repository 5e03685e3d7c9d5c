//! The kiosk's update agent: what the sync engine, the download task and the app share about
//! an update in progress. The heartbeat's answer offers a target ([`UpdateAgent::offer`]), the
//! download task ([`super::fetcher`]) works towards it and records how far it got, the app
//! says when the booth is quiet ([`QuietFlag`]), and the heartbeat reports it all
//! ([`UpdateAgent::report`]) together with the updater's own state file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sync_protocol::release::ReleaseTarget;
use tokio::sync::watch;

use super::fetcher::RETRY_EVERY;
use super::quiet::Activity;
use super::report::{FailureStage, LastFailure, UpdateReport, UpdateState};
use super::request::InstallRequest;
use super::state_file::UpdaterState;
use super::{PINNED_KEYS, UpdateDirs, wire};
use crate::sync::{DownloadProgress, Downloaded};

/// Whether the booth may be taken down for an install now, as the app last said. Cheap to
/// clone and to set; starts "not quiet", so nothing is installed before the app has looked.
#[derive(Debug, Clone)]
pub struct QuietFlag(watch::Sender<bool>);

impl Default for QuietFlag {
    fn default() -> Self {
        Self(watch::Sender::new(false))
    }
}

impl QuietFlag {
    /// The app's verdict, from its session and its printer (see [`Activity::is_quiet`]).
    pub fn set_activity(&self, activity: &Activity) {
        self.set(activity.is_quiet());
    }

    pub fn set(&self, quiet: bool) {
        self.0
            .send_if_modified(|now| std::mem::replace(now, quiet) != quiet);
    }

    pub fn is_quiet(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the booth is quiet.
    pub async fn wait(&self) {
        let mut seen = self.0.subscribe();
        // The sender lives in `self`: the channel cannot close while this waits.
        let _ = seen.wait_for(|quiet| *quiet).await;
    }
}

/// What the download task did with the current target.
#[derive(Debug, Clone, Default)]
struct Fetching {
    target: Option<ReleaseTarget>,
    /// `Downloading`, `WaitingQuiet`, `Staged` or `Failed`; `None` before anything was done.
    state: Option<UpdateState>,
    failure: Option<LastFailure>,
    /// Bundles refused here (tampered, unknown key): not fetched again by this process.
    refused: Vec<String>,
    last_download: Option<Downloaded>,
}

/// The kiosk's side of an update, shared by the engine, the download task and the app.
#[derive(Debug)]
pub struct UpdateAgent {
    dirs: UpdateDirs,
    pinned_keys: PathBuf,
    running: String,
    quiet: QuietFlag,
    targets: watch::Sender<Option<ReleaseTarget>>,
    fetching: Mutex<Fetching>,
    progress: DownloadProgress,
    retry_every: Duration,
}

impl UpdateAgent {
    /// The agent of the kiosk `running` on the booth at `data_dir`; `None` on a machine without
    /// the updater (no `DATA/update/inbox`: a developer's machine, the demo).
    pub fn for_data_dir(data_dir: &Path, running: &str) -> Option<Self> {
        let dirs = UpdateDirs::new(data_dir);
        dirs.inbox
            .is_dir()
            .then(|| Self::new(dirs, PathBuf::from(PINNED_KEYS), running))
    }

    pub fn new(dirs: UpdateDirs, pinned_keys: PathBuf, running: &str) -> Self {
        Self {
            dirs,
            pinned_keys,
            running: running.to_owned(),
            quiet: QuietFlag::default(),
            targets: watch::Sender::new(None),
            fetching: Mutex::new(Fetching::default()),
            progress: DownloadProgress::default(),
            retry_every: RETRY_EVERY,
        }
    }

    /// How long after a failed attempt (network, server) a download is tried again when the
    /// server asked for nothing else; [`RETRY_EVERY`] by default.
    #[must_use]
    pub fn with_retry_every(mut self, wait: Duration) -> Self {
        self.retry_every = wait;
        self
    }

    pub fn retry_every(&self) -> Duration {
        self.retry_every
    }

    /// The flag the app sets when nobody is using the booth.
    pub fn quiet(&self) -> &QuietFlag {
        &self.quiet
    }

    pub fn dirs(&self) -> &UpdateDirs {
        &self.dirs
    }

    pub fn pinned_keys(&self) -> &Path {
        &self.pinned_keys
    }

    pub fn running(&self) -> &str {
        &self.running
    }

    pub(crate) fn progress(&self) -> &DownloadProgress {
        &self.progress
    }

    /// The target of the last heartbeat answer; the download task hears only changes.
    pub fn offer(&self, target: Option<ReleaseTarget>) {
        self.targets.send_if_modified(|now| {
            if *now == target {
                return false;
            }
            *now = target;
            true
        });
    }

    pub(crate) fn targets(&self) -> watch::Receiver<Option<ReleaseTarget>> {
        self.targets.subscribe()
    }

    /// Whether `target` is worth fetching now: not what runs, not something the updater
    /// already finished with (installed, refused, rolled back) or is installing, not a
    /// bundle refused here.
    pub fn wants(&self, target: &ReleaseTarget) -> bool {
        let version = target.version.to_string();
        if version == self.running || self.lock().refused.contains(&target.bundle) {
            return false;
        }
        match UpdaterState::load(&self.dirs.state()) {
            Ok(Some(state)) => !state.is_busy() && !state.is_done_with(&version),
            Ok(None) => true,
            Err(err) => {
                // Without the updater's word, fetching is harmless: the updater decides.
                tracing::warn!(%err, "cannot read the updater's state");
                true
            }
        }
    }

    pub(crate) fn set_state(&self, target: &ReleaseTarget, state: UpdateState) {
        let mut fetching = self.lock();
        fetching.target = Some(target.clone());
        fetching.state = Some(state);
    }

    /// The download task gave up on `target` at `stage`.
    pub(crate) fn fail(
        &self,
        target: &ReleaseTarget,
        stage: FailureStage,
        reason: &str,
        refuse: bool,
    ) {
        let mut fetching = self.lock();
        fetching.target = Some(target.clone());
        fetching.state = Some(UpdateState::Failed);
        fetching.failure = Some(LastFailure {
            version: target.version.to_string(),
            stage,
            reason: reason.lines().next().unwrap_or("").to_owned(),
        });
        if refuse && !fetching.refused.contains(&target.bundle) {
            fetching.refused.push(target.bundle.clone());
        }
    }

    /// Nothing to do for the current target after all (no longer targeted, or another
    /// target replaced it); a failure stays reported.
    pub(crate) fn clear(&self) {
        let mut fetching = self.lock();
        if fetching.state != Some(UpdateState::Failed) {
            fetching.target = None;
            fetching.state = None;
        }
    }

    pub(crate) fn downloaded(&self, done: Downloaded) {
        self.lock().last_download = Some(done);
    }

    /// The last completed download: its size, what it resumed from, what it received.
    pub fn last_download(&self) -> Option<Downloaded> {
        self.lock().last_download.clone()
    }

    /// Every body byte received for bundles since the start, kept or thrown away: with the
    /// bundles' sizes, the download's resume overhead.
    pub fn bytes_received(&self) -> u64 {
        self.progress.received()
    }

    /// How updates are going: the updater's state file (an install, its trial, the last
    /// outcome), and while the updater is not at work, the kiosk's own download. Blocking
    /// (reads the state file).
    pub fn report(&self) -> UpdateReport {
        let updater = UpdaterState::load(&self.dirs.state()).unwrap_or_else(|err| {
            tracing::warn!(%err, "cannot read the updater's state for the heartbeat");
            None
        });
        let pending = self.dirs.install_request().exists();
        let busy = updater.as_ref().is_some_and(UpdaterState::is_busy);
        // No state file: the updater never ran, the app runs as it came with the image.
        let mut report = updater.unwrap_or_default().report(&self.running, pending);
        let fetching = self.lock();
        // `Staged` is the updater's to report from here: its request in the inbox, then its
        // state file; a stale one of ours would hide what the updater made of it.
        if !busy
            && !pending
            && let (Some(target), Some(state)) = (&fetching.target, fetching.state)
            && state != UpdateState::Staged
        {
            report.target = Some(target.version.to_string());
            report.state = state;
            if state == UpdateState::Downloading {
                report.downloaded_bytes = self.progress.on_disk();
            }
            if state == UpdateState::Failed {
                report.last_failure.clone_from(&fetching.failure);
            }
        }
        // Staged: the request in the inbox names the release the booth works towards, so the
        // county counts the booth as under way until the updater takes it (without this the
        // heartbeats between staging and the updater's turn said "no target").
        if report.state == UpdateState::Staged && report.target.is_none() {
            report.target = std::fs::read(self.dirs.install_request())
                .ok()
                .and_then(|bytes| InstallRequest::from_json(&bytes).ok())
                .map(|request| request.version);
        }
        // Kept until a later install succeeds, like the updater's own.
        if report.last_failure.is_none() && report.state != UpdateState::Installed {
            report.last_failure.clone_from(&fetching.failure);
        }
        report
    }

    /// [`Self::report`] as the heartbeat carries it; `None` (logged) if it cannot be.
    pub fn wire_report(&self) -> Option<sync_protocol::release::UpdateReport> {
        wire::to_wire(&self.report())
            .inspect_err(|err| tracing::warn!(%err, "the heartbeat goes without an update report"))
            .ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Fetching> {
        // The guarded data is a plain record: a panic elsewhere leaves it usable.
        self.fetching
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> ReleaseTarget {
        ReleaseTarget {
            version: "99.0.0".parse().unwrap(),
            bundle: "ab".repeat(32),
            size: 10,
        }
    }

    fn agent() -> (tempfile::TempDir, UpdateAgent) {
        let data = tempfile::tempdir().unwrap();
        let dirs = UpdateDirs::new(data.path());
        std::fs::create_dir_all(&dirs.inbox).unwrap();
        let agent = UpdateAgent::new(dirs, data.path().join("keys"), "1.0.0");
        (data, agent)
    }

    #[test]
    fn once_the_request_is_taken_the_updaters_state_is_reported() {
        let (_data, agent) = agent();
        agent.set_state(&target(), UpdateState::Staged);
        InstallRequest::new("99.0.0", &"ab".repeat(32), "ab.bundle")
            .unwrap()
            .write(agent.dirs())
            .unwrap();
        let staged = agent.report();
        assert_eq!(staged.state, UpdateState::Staged);
        assert_eq!(
            staged.target.as_deref(),
            Some("99.0.0"),
            "the county counts a staged booth as under way"
        );
        // The updater took the request and refused the bundle.
        std::fs::remove_file(agent.dirs().install_request()).unwrap();
        std::fs::write(
            agent.dirs().state(),
            r#"{"highest_installed":"1.0.0","install":null,
               "last":{"version":"99.0.0","ending":"failed","stage":"verify","reason":"policy"}}"#,
        )
        .unwrap();
        let report = agent.report();
        assert_eq!(report.state, UpdateState::Failed);
        assert_eq!(report.last_failure.unwrap().reason, "policy");
        assert!(!agent.wants(&target()), "not fetched again");
    }

    #[test]
    fn a_failure_here_stays_reported_when_the_target_goes() {
        let (_data, agent) = agent();
        agent.set_state(&target(), UpdateState::Downloading);
        assert_eq!(agent.report().state, UpdateState::Downloading);
        agent.fail(&target(), FailureStage::Verify, "unknown key\nmore", true);
        agent.clear();
        let report = agent.report();
        assert_eq!(report.state, UpdateState::Failed);
        assert_eq!(report.last_failure.unwrap().reason, "unknown key");
        assert!(!agent.wants(&target()));
    }
}
