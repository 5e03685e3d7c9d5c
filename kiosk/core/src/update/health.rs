//! How the running release is doing, for the updater's trial: the last heartbeat's outcome,
//! and the `healthy` marker once the release reached READY and the county server
//! acknowledged one of its heartbeats.
//!
//! The outcome tells the network's fault from the release's: `unreachable` (no answer, or the
//! server busy: the network or the server is down, which is not the release's doing) pauses
//! the trial's clock; `refused` (the server answered and refused the heartbeat) runs it. A
//! release that is READY but cannot reach the server therefore stays on trial, without being
//! rolled back, until the network returns.

use std::io;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::UpdateDirs;
use crate::atomic_file;
use crate::sync::SyncError;

/// The reports are not secret; the updater (root) reads them.
const REPORT_MODE: u32 = 0o644;
/// The longest detail kept: one line of an error.
const MAX_DETAIL: usize = 300;

/// What became of a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatClass {
    /// The server answered and accepted it.
    Acknowledged,
    /// The server answered and refused it (or answered against the protocol): the network is
    /// up, so this counts against a release on trial.
    Refused,
    /// No answer, the server busy, or a certificate that is not the pinned one: nothing the
    /// release did; the trial's clock waits.
    Unreachable,
}

impl HeartbeatClass {
    /// Which kind of failure `err` is.
    pub fn of_error(err: &SyncError) -> Self {
        match err {
            SyncError::Network { .. }
            | SyncError::Unavailable { .. }
            | SyncError::CertificateMismatch { .. } => Self::Unreachable,
            _ => Self::Refused,
        }
    }
}

/// `DATA/update/health/heartbeat.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRecord {
    /// The release that sent it (the kiosk's own version).
    pub release: String,
    pub outcome: HeartbeatClass,
    /// The error, one line; empty when acknowledged.
    pub detail: String,
    /// The booth's clock (it may be off): for the technician only.
    pub at_unix: u64,
}

/// `DATA/update/health/healthy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthyMarker {
    pub release: String,
    pub at_unix: u64,
}

#[derive(Debug, Default)]
struct Seen {
    ready: bool,
    acknowledged: bool,
    healthy_written: bool,
    last: Option<(HeartbeatClass, String)>,
}

/// Writes the health reports of the running release. Shared by the service's READY and the
/// sync engine's heartbeat.
#[derive(Debug)]
pub struct HealthReporter {
    dirs: UpdateDirs,
    release: String,
    seen: Mutex<Seen>,
}

impl HealthReporter {
    /// The reporter of release `release` for the booth at `data_dir`; `None` when the booth has
    /// no updater (no `DATA/update/health` directory: a developer's machine, the tests).
    pub fn for_data_dir(data_dir: &Path, release: &str) -> Option<Self> {
        let dirs = UpdateDirs::new(data_dir);
        dirs.health.is_dir().then(|| Self {
            dirs,
            release: release.to_owned(),
            seen: Mutex::new(Seen::default()),
        })
    }

    /// The release reached READY.
    pub fn ready(&self) -> io::Result<()> {
        let mut seen = self.lock();
        seen.ready = true;
        self.maybe_healthy(&mut seen)
    }

    /// A heartbeat ended so. Written when the outcome changes (not every minute: the data
    /// partition is flash).
    pub fn heartbeat(&self, outcome: HeartbeatClass, detail: &str) -> io::Result<()> {
        let detail: String = detail.chars().take(MAX_DETAIL).collect();
        let mut seen = self.lock();
        if seen.last.as_ref().map(|(class, _)| *class) != Some(outcome) {
            let record = HeartbeatRecord {
                release: self.release.clone(),
                outcome,
                detail: detail.clone(),
                at_unix: now_unix(),
            };
            write_json(&self.dirs.heartbeat(), &record)?;
            seen.last = Some((outcome, detail));
        }
        if outcome == HeartbeatClass::Acknowledged {
            seen.acknowledged = true;
        }
        self.maybe_healthy(&mut seen)
    }

    /// The result of a heartbeat as the sync engine saw it.
    pub fn heartbeat_result(&self, result: Result<(), &SyncError>) -> io::Result<()> {
        match result {
            Ok(()) => self.heartbeat(HeartbeatClass::Acknowledged, ""),
            Err(err) => self.heartbeat(HeartbeatClass::of_error(err), &err.to_string()),
        }
    }

    fn maybe_healthy(&self, seen: &mut Seen) -> io::Result<()> {
        if seen.ready && seen.acknowledged && !seen.healthy_written {
            let marker = HealthyMarker {
                release: self.release.clone(),
                at_unix: now_unix(),
            };
            write_json(&self.dirs.healthy(), &marker)?;
            seen.healthy_written = true;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    atomic_file::write(path, &bytes, REPORT_MODE)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booth() -> (tempfile::TempDir, HealthReporter) {
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(UpdateDirs::new(data.path()).health).unwrap();
        let reporter = HealthReporter::for_data_dir(data.path(), "1.3.0").unwrap();
        (data, reporter)
    }

    fn record(data: &std::path::Path) -> HeartbeatRecord {
        let bytes = std::fs::read(UpdateDirs::new(data).heartbeat()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn healthy_needs_ready_and_an_acknowledged_heartbeat_in_either_order() {
        let (data, reporter) = booth();
        let healthy = UpdateDirs::new(data.path()).healthy();
        reporter
            .heartbeat(HeartbeatClass::Acknowledged, "")
            .unwrap();
        assert!(!healthy.exists(), "not READY yet");
        reporter.ready().unwrap();
        let marker: HealthyMarker =
            serde_json::from_slice(&std::fs::read(&healthy).unwrap()).unwrap();
        assert_eq!(marker.release, "1.3.0");

        let (data, reporter) = booth();
        let healthy = UpdateDirs::new(data.path()).healthy();
        reporter.ready().unwrap();
        reporter
            .heartbeat(HeartbeatClass::Unreachable, "no route")
            .unwrap();
        reporter
            .heartbeat(HeartbeatClass::Refused, "bad signature")
            .unwrap();
        assert!(!healthy.exists(), "no heartbeat acknowledged");
        reporter
            .heartbeat(HeartbeatClass::Acknowledged, "")
            .unwrap();
        assert!(healthy.exists());
    }

    #[test]
    fn the_outcome_is_written_when_it_changes() {
        let (data, reporter) = booth();
        reporter
            .heartbeat(HeartbeatClass::Unreachable, "no route to host")
            .unwrap();
        let first = record(data.path());
        assert_eq!(first.outcome, HeartbeatClass::Unreachable);
        assert_eq!(first.detail, "no route to host");
        std::fs::remove_file(UpdateDirs::new(data.path()).heartbeat()).unwrap();
        reporter
            .heartbeat(HeartbeatClass::Unreachable, "timed out")
            .unwrap();
        assert!(
            !UpdateDirs::new(data.path()).heartbeat().exists(),
            "same outcome: not rewritten"
        );
        reporter
            .heartbeat(HeartbeatClass::Refused, &"x".repeat(1000))
            .unwrap();
        let refused = record(data.path());
        assert_eq!(
            (refused.outcome, refused.detail.len()),
            (HeartbeatClass::Refused, MAX_DETAIL)
        );
    }

    #[test]
    fn a_booth_without_the_updater_reports_nothing() {
        let data = tempfile::tempdir().unwrap();
        assert!(HealthReporter::for_data_dir(data.path(), "1.3.0").is_none());
    }

    #[test]
    fn the_network_being_down_is_not_the_releases_fault() {
        let rejected = SyncError::Rejected {
            code: sync_protocol::error::ErrorCode::BadSignature,
            message: "signature does not verify".into(),
        };
        assert_eq!(HeartbeatClass::of_error(&rejected), HeartbeatClass::Refused);
        let busy = SyncError::Unavailable {
            server: "https://county".into(),
            status: 503,
            retry_after: None,
            code: None,
        };
        assert_eq!(HeartbeatClass::of_error(&busy), HeartbeatClass::Unreachable);
    }
}
