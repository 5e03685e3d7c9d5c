//! The update states a booth reports (its heartbeat's `update` part): the booth's own copy of
//! the wire types, so the updater and the kiosk agree on names while the protocol crate is
//! changed elsewhere. Field for field what the heartbeat carries: `{running,
//! highest_installed, target, state, downloaded_bytes, last_failure}`.

use serde::{Deserialize, Serialize};

/// Where the booth is with an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Nothing to do, or nothing known.
    Idle,
    /// The kiosk is fetching a bundle into its inbox.
    Downloading,
    /// A verified bundle waits in the inbox.
    Staged,
    /// The bundle is ready; the kiosk waits for no villager to be using it.
    WaitingQuiet,
    /// `booth-update install` is verifying, staging, switching.
    Installing,
    /// The new release runs and has not yet proven itself (READY and a heartbeat).
    Trial,
    /// The last install was confirmed.
    Installed,
    /// The last install failed on the booth and the previous release runs again.
    RolledBack,
    /// The last install was refused or failed before anything was switched.
    Failed,
}

/// The step an update failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureStage {
    Download,
    /// The bundle's signature, the install policy or the trust change refused it.
    Verify,
    /// Writing the release's files, or the switch.
    Stage,
    /// The release never reached READY within its starts.
    Start,
    /// The release reached READY, then kept failing to start.
    Ready,
    /// The release was READY but the county server refused its heartbeats (or it sent none).
    Heartbeat,
    /// The release left the store at a schema the previous release cannot read.
    Migrate,
}

impl FailureStage {
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

/// The last update that did not go through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastFailure {
    pub version: String,
    pub stage: FailureStage,
    /// One line, for the technician and the fleet page.
    pub reason: String,
}

/// What the booth says about updates in its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReport {
    pub running: String,
    pub highest_installed: String,
    /// The release being installed or on trial, if any.
    pub target: Option<String>,
    pub state: UpdateState,
    pub downloaded_bytes: u64,
    pub last_failure: Option<LastFailure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_stages_have_the_wire_names() {
        let report = UpdateReport {
            running: "1.2.0".into(),
            highest_installed: "1.2.0".into(),
            target: Some("1.3.0".into()),
            state: UpdateState::WaitingQuiet,
            downloaded_bytes: 7,
            last_failure: Some(LastFailure {
                version: "1.3.0".into(),
                stage: FailureStage::Heartbeat,
                reason: "refused".into(),
            }),
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""state":"waiting_quiet""#), "{json}");
        assert!(json.contains(r#""stage":"heartbeat""#), "{json}");
        assert_eq!(serde_json::from_str::<UpdateReport>(&json).unwrap(), report);
        for (state, name) in [
            (UpdateState::RolledBack, "\"rolled_back\""),
            (UpdateState::Idle, "\"idle\""),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap(), name);
        }
        assert_eq!(FailureStage::Migrate.to_string(), "migrate");
    }
}
