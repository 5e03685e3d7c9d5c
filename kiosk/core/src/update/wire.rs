//! The booth's own [`UpdateReport`] as the heartbeat carries it
//! (`sync_protocol::release::UpdateReport`): the same fields, with versions parsed and the
//! failure's reason cut to what the server keeps.

use sync_protocol::release as wire;

use super::report::{FailureStage, UpdateReport, UpdateState};

/// Why a report cannot go on the wire.
#[derive(Debug, thiserror::Error)]
#[error(
    "the update report names `{text}`, which is not a release version ({source}); the heartbeat goes without it"
)]
pub struct WireError {
    text: String,
    #[source]
    source: booth_release::VersionError,
}

fn version(text: &str) -> Result<booth_release::Version, WireError> {
    text.parse().map_err(|source| WireError {
        text: text.chars().take(40).collect(),
        source,
    })
}

pub fn to_wire(report: &UpdateReport) -> Result<wire::UpdateReport, WireError> {
    Ok(wire::UpdateReport {
        running: version(&report.running)?,
        highest_installed: version(&report.highest_installed)?,
        target: report.target.as_deref().map(version).transpose()?,
        state: state(report.state),
        downloaded_bytes: (report.state == UpdateState::Downloading)
            .then_some(report.downloaded_bytes),
        last_failure: report
            .last_failure
            .as_ref()
            .map(|failure| {
                Ok::<_, WireError>(wire::UpdateFailure {
                    version: version(&failure.version)?,
                    stage: stage(failure.stage),
                    reason: failure
                        .reason
                        .chars()
                        .take(wire::MAX_FAILURE_REASON)
                        .collect(),
                })
            })
            .transpose()?,
    })
}

fn state(state: UpdateState) -> wire::UpdateState {
    match state {
        UpdateState::Idle => wire::UpdateState::Idle,
        UpdateState::Downloading => wire::UpdateState::Downloading,
        UpdateState::Staged => wire::UpdateState::Staged,
        UpdateState::WaitingQuiet => wire::UpdateState::WaitingQuiet,
        UpdateState::Installing => wire::UpdateState::Installing,
        UpdateState::Trial => wire::UpdateState::Trial,
        UpdateState::Installed => wire::UpdateState::Installed,
        UpdateState::RolledBack => wire::UpdateState::RolledBack,
        UpdateState::Failed => wire::UpdateState::Failed,
    }
}

fn stage(stage: FailureStage) -> wire::FailureStage {
    match stage {
        FailureStage::Download => wire::FailureStage::Download,
        FailureStage::Verify => wire::FailureStage::Verify,
        FailureStage::Stage => wire::FailureStage::Stage,
        FailureStage::Start => wire::FailureStage::Start,
        FailureStage::Ready => wire::FailureStage::Ready,
        FailureStage::Heartbeat => wire::FailureStage::Heartbeat,
        FailureStage::Migrate => wire::FailureStage::Migrate,
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::LastFailure;
    use super::*;

    #[test]
    fn a_report_maps_field_for_field_and_names_the_same_states() {
        let report = UpdateReport {
            running: "1.2.0".into(),
            highest_installed: "1.2.0".into(),
            target: Some("1.3.0".into()),
            state: UpdateState::Downloading,
            downloaded_bytes: 7,
            last_failure: Some(LastFailure {
                version: "1.3.0".into(),
                stage: FailureStage::Verify,
                reason: "x".repeat(500),
            }),
        };
        let sent = to_wire(&report).unwrap();
        assert_eq!(sent.downloaded_bytes, Some(7));
        let failure = sent.last_failure.unwrap();
        assert_eq!(failure.reason.len(), wire::MAX_FAILURE_REASON);
        assert_eq!(failure.stage, wire::FailureStage::Verify);
        for ours in [
            UpdateState::Idle,
            UpdateState::Downloading,
            UpdateState::Staged,
            UpdateState::WaitingQuiet,
            UpdateState::Installing,
            UpdateState::Trial,
            UpdateState::Installed,
            UpdateState::RolledBack,
            UpdateState::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(ours).unwrap(),
                serde_json::to_value(state(ours)).unwrap()
            );
        }
        let idle = UpdateReport {
            state: UpdateState::Idle,
            ..report.clone()
        };
        assert_eq!(to_wire(&idle).unwrap().downloaded_bytes, None);
        let bad = UpdateReport {
            running: "dev".into(),
            ..report
        };
        assert!(to_wire(&bad).is_err());
    }
}
