//! The booth's own [`UpdateReport`] as the heartbeat carries it
//! (`sync_protocol::release::UpdateReport`): the same fields, with versions parsed and the
//! failure's reason cut to what the server keeps.

use sync_protocol::release as wire;

use super::report::{UpdateReport, UpdateState};

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
        state: report.state,
        downloaded_bytes: (report.state == UpdateState::Downloading)
            .then_some(report.downloaded_bytes),
        last_failure: report
            .last_failure
            .as_ref()
            .map(|failure| {
                Ok::<_, WireError>(wire::UpdateFailure {
                    version: version(&failure.version)?,
                    stage: failure.stage,
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

#[cfg(test)]
mod tests {
    use super::super::report::{FailureStage, LastFailure};
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
