//! The updater's `DATA/update/state.json`, read by the kiosk (never written: it is root's) to
//! say in the heartbeat how updates are going, and to know which releases not to fetch again.
//!
//! The format is `booth-update`'s (`kiosk/updater/src/state.rs`); the kiosk reads only the
//! fields it needs and ignores the rest, so an updater that adds a field does not blind the
//! heartbeat. The mapping to a report is the one `booth-update status --json` makes.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::report::{FailureStage, LastFailure, UpdateReport, UpdateState};

/// The state file is small; more than this is not the updater's.
const MAX_STATE_BYTES: u64 = 64 * 1024;

/// What the kiosk reads of the updater's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UpdaterState {
    #[serde(default)]
    pub highest_installed: Option<String>,
    #[serde(default)]
    pub install: Option<InstallInProgress>,
    #[serde(default)]
    pub last: Option<LastOutcome>,
    /// Releases rolled back on this booth: never installed again here.
    #[serde(default)]
    pub rolled_back: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InstallInProgress {
    pub version: String,
    /// `staging`, `stopping`, `backing_up`, `switching`, `trial`, `rolling_back`.
    pub phase: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LastOutcome {
    pub version: String,
    /// `installed`, `rolled_back`, `failed`.
    pub ending: String,
    #[serde(default)]
    pub stage: Option<FailureStage>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Why the state file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read the updater's state {}: {source}; check the data partition", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the updater's state {} is not what booth-update writes ({source}): run `booth-update status` as root to see it",
        .path.display()
    )]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl UpdaterState {
    /// The state at `path`; `None` when the updater never wrote one (no update yet).
    pub fn load(path: &Path) -> Result<Option<Self>, StateFileError> {
        let read = |source| StateFileError::Read {
            path: path.to_owned(),
            source,
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(read(err)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_STATE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(read)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StateFileError::Json {
                path: path.to_owned(),
                source,
            })
    }

    /// Whether the updater already finished with `version` one way or the other, so
    /// fetching it again would only repeat that: installed, refused, or rolled back.
    pub fn is_done_with(&self, version: &str) -> bool {
        self.rolled_back.iter().any(|v| v == version)
            || self
                .last
                .as_ref()
                .is_some_and(|last| last.version == version)
    }

    /// An install is under way (staging to trial, or rolling back): not the time to fetch.
    pub fn is_busy(&self) -> bool {
        self.install.is_some()
    }

    /// The report `booth-update status --json` would give, for the kiosk `running`.
    /// `pending_request`: an install request waits in the inbox.
    pub fn report(&self, running: &str, pending_request: bool) -> UpdateReport {
        let state = if let Some(install) = &self.install {
            if install.phase == "trial" {
                UpdateState::Trial
            } else {
                UpdateState::Installing
            }
        } else if pending_request {
            UpdateState::Staged
        } else {
            match self.last.as_ref().map(|last| last.ending.as_str()) {
                Some("installed") => UpdateState::Installed,
                Some("rolled_back") => UpdateState::RolledBack,
                Some("failed") => UpdateState::Failed,
                _ => UpdateState::Idle,
            }
        };
        UpdateReport {
            running: running.to_owned(),
            highest_installed: self
                .highest_installed
                .clone()
                .unwrap_or_else(|| running.to_owned()),
            target: self.install.as_ref().map(|i| i.version.clone()),
            state,
            downloaded_bytes: 0,
            last_failure: self.last.as_ref().and_then(|last| {
                Some(LastFailure {
                    version: last.version.clone(),
                    stage: last.stage?,
                    reason: last.reason.clone().unwrap_or_default(),
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_updaters_state_reads_into_the_status_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(UpdaterState::load(&path).unwrap(), None);
        // As booth-update writes it, with fields the kiosk does not read.
        std::fs::write(
            &path,
            r#"{"format":1,"highest_installed":"1.2.0","install":null,
               "last":{"version":"1.3.0","ending":"rolled_back","stage":"ready",
                       "reason":"not ready","store_restored":false},
               "rolled_back":["1.3.0"],"interrupted":{"bundle":"x","count":1}}"#,
        )
        .unwrap();
        let state = UpdaterState::load(&path).unwrap().unwrap();
        assert!(state.is_done_with("1.3.0") && !state.is_done_with("1.4.0"));
        assert!(!state.is_busy());
        let report = state.report("1.2.0", false);
        assert_eq!(report.state, UpdateState::RolledBack);
        assert_eq!(report.highest_installed, "1.2.0");
        let failure = report.last_failure.unwrap();
        assert_eq!(
            (failure.stage, failure.reason.as_str()),
            (FailureStage::Ready, "not ready")
        );
        assert_eq!(state.report("1.2.0", true).state, UpdateState::Staged);

        std::fs::write(&path, "{not json").unwrap();
        let err = UpdaterState::load(&path).unwrap_err();
        assert!(err.to_string().contains("booth-update status"), "{err}");
    }

    #[test]
    fn an_install_under_way_is_reported_as_installing_or_trial() {
        let state: UpdaterState = serde_json::from_str(
            r#"{"highest_installed":null,"install":{"version":"1.4.0","from":"factory",
               "bundle":"b","phase":"trial"},"last":null}"#,
        )
        .unwrap();
        assert!(state.is_busy());
        let report = state.report("1.4.0", false);
        assert_eq!(
            (report.state, report.target.as_deref()),
            (UpdateState::Trial, Some("1.4.0"))
        );
        assert_eq!(report.highest_installed, "1.4.0");
    }
}
