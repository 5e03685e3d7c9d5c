//! The update report a booth keeps (its heartbeat's `update` part): field for field what the
//! heartbeat carries, `{running, highest_installed, target, state, downloaded_bytes,
//! last_failure}`, with versions as the updater's state file holds them (text); `wire.rs`
//! parses them for the heartbeat.

use serde::{Deserialize, Serialize};

// The states and stages are the wire's own: one list of names, nothing to map.
pub use sync_protocol::release::{FailureStage, UpdateState};

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
