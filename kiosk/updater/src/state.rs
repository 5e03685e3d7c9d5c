//! The updater's state file, `update/state.json`: the highest release ever installed
//! (anti-rollback), the install in progress with the step it reached, and how the last one
//! ended. Written whole (temporary file, fsync, rename, fsync of the directory) before each
//! step it describes, so after a power cut `recover` knows what was being done.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use booth_release::Version;
use kiosk_core::update::FailureStage;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fsx::{self, FsError};
use crate::layout::FACTORY;

/// The state file's format.
pub const STATE_FORMAT: u32 = 1;
/// How many rolled-back versions are remembered (never installed again on this booth).
pub const MAX_REMEMBERED_FAILURES: usize = 16;
/// A state file is small; more than this is not ours.
const MAX_STATE_BYTES: u64 = 64 * 1024;

/// A release as the booth names it: the image's own app, or an installed version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseRef {
    Factory,
    Installed(Version),
}

impl ReleaseRef {
    /// Its name in `releases/` and as a link target.
    pub fn name(&self) -> String {
        match self {
            Self::Factory => FACTORY.to_owned(),
            Self::Installed(version) => version.to_string(),
        }
    }
}

impl fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for ReleaseRef {
    type Err = booth_release::VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == FACTORY {
            return Ok(Self::Factory);
        }
        text.parse().map(Self::Installed)
    }
}

impl Serialize for ReleaseRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReleaseRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The step an install reached. Each is written before the step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Writing `releases/<version>.partial`, then renaming it.
    Staging,
    /// Staged; stopping the kiosk.
    Stopping,
    /// The kiosk stopped; copying the store to `update/backup`.
    BackingUp,
    /// Pointing `previous` at the running release and `current` at the new one.
    Switching,
    /// Switched: the new release runs and is judged.
    Trial,
    /// Going back to the previous release (see [`Rollback`]).
    RollingBack,
}

/// A release on trial: what was seen of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Starts since it was last seen READY (`start-attempt` counts them).
    pub starts: u32,
    /// Whether it was ever seen READY.
    pub ready_seen: bool,
    /// Time seen READY, in seconds, as counted by `check`.
    pub ready_secs: u64,
    /// Time the network was known up (the server answered its heartbeats) without a heartbeat
    /// being acknowledged.
    pub network_up_secs: u64,
    /// The booth's clock at the last `check` (only differences of it are used, each bounded).
    pub last_check_unix: Option<u64>,
}

/// Why and how a rollback goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    pub stage: FailureStage,
    pub reason: String,
    /// Decided before anything moves: whether the store backup is restored.
    pub restore_store: bool,
}

/// The install in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Install {
    pub version: Version,
    /// What ran before: the rollback target.
    pub from: ReleaseRef,
    /// The bundle's SHA-256 as the kiosk's request named it.
    pub bundle: String,
    pub phase: Phase,
    #[serde(default)]
    pub trial: Trial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
}

/// How an install ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Installed,
    RolledBack,
    /// Refused or interrupted before anything was switched: the booth runs what it ran.
    Failed,
}

/// The last install's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub version: String,
    pub ending: Ending,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<FailureStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A rollback restored the store backup (and merged the failed release's queue into it).
    #[serde(default)]
    pub store_restored: bool,
}

/// An install stopped by a power cut before its switch, counted so a bundle that always
/// stops the updater is given up on instead of retried forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interrupted {
    pub bundle: String,
    pub count: u32,
}

/// `update/state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format: u32,
    /// The highest release ever installed here; `None` until the first install (the factory
    /// release's version counts then).
    pub highest_installed: Option<Version>,
    pub install: Option<Install>,
    pub last: Option<Outcome>,
    /// Releases that were rolled back on this booth, newest last.
    #[serde(default)]
    pub rolled_back: Vec<Version>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<Interrupted>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            format: STATE_FORMAT,
            highest_installed: None,
            install: None,
            last: None,
            rolled_back: Vec::new(),
            interrupted: None,
        }
    }
}

/// Why the state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error(
        "the update state {} is not readable ({source}): it was edited or damaged; move it aside and run `booth-update status`",
        .path.display()
    )]
    Json {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the update state has format {0}, this updater reads {STATE_FORMAT}: re-image the booth"
    )]
    Format(u32),
}

impl State {
    /// The state at `path`; the default when there is none yet.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let Some(bytes) = fsx::read_small_nofollow(path, MAX_STATE_BYTES)? else {
            return Ok(Self::default());
        };
        let state: Self = serde_json::from_slice(&bytes).map_err(|source| StateError::Json {
            path: path.to_owned(),
            source,
        })?;
        if state.format != STATE_FORMAT {
            return Err(StateError::Format(state.format));
        }
        Ok(state)
    }

    /// Writes the state whole.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the state is plain data");
        bytes.push(b'\n');
        fsx::write_atomic(path, &bytes, 0o644)?;
        Ok(())
    }

    /// Remembers a rolled-back version (bounded, newest last).
    pub fn remember_rollback(&mut self, version: Version) {
        self.rolled_back.retain(|v| *v != version);
        self.rolled_back.push(version);
        let excess = self
            .rolled_back
            .len()
            .saturating_sub(MAX_REMEMBERED_FAILURES);
        self.rolled_back.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_round_trips_and_names_releases_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut state = State {
            highest_installed: Some("1.2.0".parse().unwrap()),
            install: Some(Install {
                version: "1.3.0".parse().unwrap(),
                from: ReleaseRef::Factory,
                bundle: "ab".repeat(32),
                phase: Phase::Trial,
                trial: Trial::default(),
                rollback: None,
            }),
            ..State::default()
        };
        state.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""from": "factory""#), "{text}");
        assert!(text.contains(r#""phase": "trial""#), "{text}");
        assert_eq!(State::load(&path).unwrap(), state);
        for v in 0..20 {
            state.remember_rollback(Version::new(1, v, 0));
        }
        assert_eq!(state.rolled_back.len(), MAX_REMEMBERED_FAILURES);
        assert_eq!(*state.rolled_back.last().unwrap(), Version::new(1, 19, 0));
        std::fs::write(&path, r#"{"format": 1, "surprise": true}"#).unwrap();
        assert!(matches!(State::load(&path), Err(StateError::Json { .. })));
    }
}
