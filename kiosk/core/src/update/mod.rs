//! The kiosk's side of over-the-air updates: the files it hands to the booth's updater
//! (`booth-update`, a root program in the image) and the reports it reads back.
//!
//! The kiosk runs as the unprivileged `booth` user and never installs anything. It writes only
//! into two directories of its own under `DATA/update/` (which is root's):
//! - `inbox/`: downloaded bundles and [`InstallRequest`] (`install-request.json`), written
//!   at a quiet moment ([`quiet`]); a systemd path unit starts `booth-update install`.
//! - `health/`: how the running release is doing: the last heartbeat's outcome
//!   (`heartbeat.json`, [`health::HeartbeatRecord`]) and, once it reached READY and one
//!   heartbeat was acknowledged, the `healthy` marker; a path unit starts
//!   `booth-update confirm`.
//!
//! `booth-update` re-verifies everything it reads from here: these files are requests and
//! observations, never trusted facts. [`report`] holds the update states the booth reports in
//! its heartbeat.

pub mod agent;
pub mod early_verify;
pub mod fetcher;
pub mod health;
pub mod quiet;
pub mod report;
pub mod request;
pub mod running;
pub mod state_file;
pub mod wire;

use std::path::{Path, PathBuf};

pub use agent::{QuietFlag, UpdateAgent};
pub use health::{HealthReporter, HeartbeatClass, HeartbeatRecord};
pub use quiet::Activity;
pub use report::{FailureStage, LastFailure, UpdateReport, UpdateState};
pub use request::{InstallRequest, RequestError};
pub use running::running_release;

/// `DATA/update`: root's; the updater's state, trust store, backup.
pub const UPDATE_DIR: &str = "update";
/// `DATA/update/inbox`: the kiosk's downloads and its install request.
pub const INBOX_DIR: &str = "inbox";
/// `DATA/update/health`: the kiosk's reports on the running release.
pub const HEALTH_DIR: &str = "health";
/// In `DATA/update`: the updater's state (root's; the kiosk only reads it).
pub const STATE_FILE: &str = "state.json";
/// In `DATA/update`: the booth's release trust store (root's; the kiosk only reads it).
pub const TRUST_FILE: &str = "trust.json";
/// The image's pinned release keys, which seed the trust store before the updater first ran.
pub const PINNED_KEYS: &str = "/usr/share/booth/release-keys";
/// In the inbox: a downloaded bundle is `<sha256>.bundle`, `<sha256>.bundle.partial` until
/// it is complete and checked.
pub const BUNDLE_SUFFIX: &str = ".bundle";
pub const PARTIAL_SUFFIX: &str = ".partial";
/// In the inbox.
pub const INSTALL_REQUEST_FILE: &str = "install-request.json";
/// In the health directory: written once the release is READY and a heartbeat was acknowledged.
pub const HEALTHY_FILE: &str = "healthy";
/// In the health directory: the last heartbeat's outcome.
pub const HEARTBEAT_FILE: &str = "heartbeat.json";

/// Where the kiosk's update files live, from the booth's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateDirs {
    pub inbox: PathBuf,
    pub health: PathBuf,
}

impl UpdateDirs {
    pub fn new(data_dir: &Path) -> Self {
        let update = data_dir.join(UPDATE_DIR);
        Self {
            inbox: update.join(INBOX_DIR),
            health: update.join(HEALTH_DIR),
        }
    }

    pub fn install_request(&self) -> PathBuf {
        self.inbox.join(INSTALL_REQUEST_FILE)
    }

    pub fn healthy(&self) -> PathBuf {
        self.health.join(HEALTHY_FILE)
    }

    pub fn heartbeat(&self) -> PathBuf {
        self.health.join(HEARTBEAT_FILE)
    }

    /// `DATA/update` itself.
    pub fn update_dir(&self) -> &Path {
        self.inbox.parent().unwrap_or(&self.inbox)
    }

    pub fn state(&self) -> PathBuf {
        self.update_dir().join(STATE_FILE)
    }

    pub fn trust(&self) -> PathBuf {
        self.update_dir().join(TRUST_FILE)
    }

    /// The bundle's file name in the inbox, once complete and checked.
    pub fn bundle_name(bundle: &str) -> String {
        format!("{bundle}{BUNDLE_SUFFIX}")
    }

    pub fn bundle(&self, bundle: &str) -> PathBuf {
        self.inbox.join(Self::bundle_name(bundle))
    }

    pub fn partial(&self, bundle: &str) -> PathBuf {
        self.inbox
            .join(format!("{bundle}{BUNDLE_SUFFIX}{PARTIAL_SUFFIX}"))
    }
}
