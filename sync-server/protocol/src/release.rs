//! Over-the-air releases between the county server and its booths: which release the county
//! wants a booth to run ([`ReleaseTarget`], in the heartbeat's answer), where its signed bundle
//! is downloaded from ([`crate::paths::release`]), and how the booth's updater is getting on
//! ([`UpdateReport`], in the heartbeat).
//!
//! The bundle itself is `booth_release`'s format: the server only relays it, and the booth
//! trusts nothing of it before its own check of the release signature against its own trust
//! store. The server's answer is a pointer, not a permission.

use booth_release::Version;
use serde::{Deserialize, Serialize};

/// The longest failure reason a booth sends (characters); the server cuts longer ones.
pub const MAX_FAILURE_REASON: usize = 200;

/// What the county wants this booth to run, in [`crate::heartbeat::HeartbeatResponse`].
///
/// A target rides on the heartbeat answer rather than in a feed: it is the booth's current
/// state as the county sees it now (the newest rollout that includes the booth, which staff may
/// pause, widen or stop at any time), not a stream of items each booth must apply in order. A
/// feed would make the booth replay stale targets to reach the last one; the heartbeat, signed
/// both ways and sent every minute, always answers with the one that holds, and a booth that
/// missed some hears the latest at its next heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseTarget {
    pub version: Version,
    /// The SHA-256 of the whole bundle file, lowercase hex: the name to download it by
    /// ([`crate::paths::release`]) and the check of the downloaded bytes.
    pub bundle: String,
    /// The bundle's size in bytes.
    pub size: u64,
}

/// How the booth's updater is getting on, in [`crate::heartbeat::Heartbeat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    /// The version running now.
    pub running: Version,
    /// The highest version ever installed on this booth (its anti-rollback floor).
    pub highest_installed: Version,
    /// The target the booth is working towards, as it last heard it; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Version>,
    pub state: UpdateState,
    /// Bytes of the target's bundle on the booth so far, while downloading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_bytes: Option<u64>,
    /// The last thing that went wrong, kept until a later install succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<UpdateFailure>,
}

/// Where a booth's updater is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Nothing to do: no target, or running it.
    Idle,
    Downloading,
    /// Downloaded, verified and staged in the other slot.
    Staged,
    /// Staged, waiting for a quiet moment (no villager at the screen) to switch.
    WaitingQuiet,
    Installing,
    /// Booted into the new release, not yet confirmed good.
    Trial,
    /// The target runs and was confirmed good.
    Installed,
    /// The new release failed its trial and the booth went back to the previous one.
    RolledBack,
    /// The update failed before the switch (download, verification, staging).
    Failed,
}

impl UpdateState {
    pub const ALL: [Self; 9] = [
        Self::Idle,
        Self::Downloading,
        Self::Staged,
        Self::WaitingQuiet,
        Self::Installing,
        Self::Trial,
        Self::Installed,
        Self::RolledBack,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Downloading => "downloading",
            Self::Staged => "staged",
            Self::WaitingQuiet => "waiting_quiet",
            Self::Installing => "installing",
            Self::Trial => "trial",
            Self::Installed => "installed",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
        }
    }

    /// The update of the target went wrong.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::RolledBack | Self::Failed)
    }
}

impl std::str::FromStr for UpdateState {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not an update state"))
    }
}

/// What went wrong with an update, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFailure {
    /// The release that failed.
    pub version: Version,
    pub stage: FailureStage,
    /// One line, at most [`MAX_FAILURE_REASON`] characters, without personal data.
    pub reason: String,
}

/// The step of an update that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureStage {
    Download,
    Verify,
    Stage,
    /// The new release did not start.
    Start,
    /// It started but did not report ready in time.
    Ready,
    /// It ran but could not reach the server.
    Heartbeat,
    /// It could not migrate the booth's store.
    Migrate,
}

impl FailureStage {
    pub const ALL: [Self; 7] = [
        Self::Download,
        Self::Verify,
        Self::Stage,
        Self::Start,
        Self::Ready,
        Self::Heartbeat,
        Self::Migrate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Download => "download",
            Self::Verify => "verify",
            Self::Stage => "stage",
            Self::Start => "start",
            Self::Ready => "ready",
            Self::Heartbeat => "heartbeat",
            Self::Migrate => "migrate",
        }
    }
}

impl std::fmt::Display for FailureStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FailureStage {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a failure stage"))
    }
}

/// Whether `text` is a bundle name as the server hands them out: 64 lowercase hex digits.
pub fn is_bundle_name(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn an_update_report_round_trips_and_is_read_strictly() {
        let report = UpdateReport {
            running: v("1.2.0"),
            highest_installed: v("1.2.0"),
            target: Some(v("1.3.0")),
            state: UpdateState::RolledBack,
            downloaded_bytes: Some(1024),
            last_failure: Some(UpdateFailure {
                version: v("1.3.0"),
                stage: FailureStage::Ready,
                reason: "not ready within 120 s".into(),
            }),
        };
        let text = serde_json::to_value(&report).unwrap();
        assert_eq!(text["state"], "rolled_back");
        assert_eq!(text["last_failure"]["stage"], "ready");
        assert_eq!(text["running"], "1.2.0");
        assert_eq!(
            serde_json::from_value::<UpdateReport>(text).unwrap(),
            report
        );

        let bare = json!({ "running": "1.0.0", "highest_installed": "1.0.0", "state": "idle" });
        let read: UpdateReport = serde_json::from_value(bare.clone()).unwrap();
        assert_eq!(read.target, None);
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            bare,
            "absent stays absent"
        );
        for extra in [
            json!({ "running": "1.0.0", "highest_installed": "1.0.0", "state": "idle", "x": 1 }),
            json!({ "running": "1.0.0", "highest_installed": "1.0.0", "state": "idle",
                    "last_failure": { "version": "1.0.0", "stage": "start", "reason": "r", "x": 1 } }),
        ] {
            assert!(serde_json::from_value::<UpdateReport>(extra).is_err());
        }
        for bad in [
            json!({ "running": "v1", "highest_installed": "1.0.0", "state": "idle" }),
            json!({ "running": "1.0.0", "highest_installed": "1.0.0", "state": "asleep" }),
        ] {
            assert!(serde_json::from_value::<UpdateReport>(bad).is_err());
        }
    }

    #[test]
    fn states_and_stages_are_spelled_as_on_the_wire() {
        for state in UpdateState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_eq!(state.as_str().parse::<UpdateState>(), Ok(state));
        }
        for stage in FailureStage::ALL {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.as_str());
            assert_eq!(stage.as_str().parse::<FailureStage>(), Ok(stage));
        }
        assert!(UpdateState::Failed.is_failure() && UpdateState::RolledBack.is_failure());
        assert!(!UpdateState::Trial.is_failure());
    }

    #[test]
    fn a_target_round_trips_and_bundle_names_are_hex_digests() {
        let target = ReleaseTarget {
            version: v("2.0.1"),
            bundle: "ab".repeat(32),
            size: 20 << 20,
        };
        let text = serde_json::to_string(&target).unwrap();
        assert_eq!(
            serde_json::from_str::<ReleaseTarget>(&text).unwrap(),
            target
        );
        assert!(is_bundle_name(&target.bundle));
        for bad in [
            "AB".repeat(32),
            "ab".repeat(31),
            format!("{}/..", "a".repeat(62)),
        ] {
            assert!(!is_bundle_name(&bad), "{bad}");
        }
    }
}
