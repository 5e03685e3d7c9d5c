//! `booth-update`: the booth's updater. Runs as root, from systemd units, never replaced by a
//! bundle (it is part of the image's `booth-kiosk` package), so a broken release cannot break
//! the way back.
//!
//! It installs a release the kiosk downloaded (`install`), re-verifying everything itself,
//! judges it on trial (`start-attempt` at each start of the kiosk, `check` every minute,
//! `confirm` when the kiosk says it is healthy), rolls back by itself, and after a power
//! cut finishes or undoes whatever was half done (`recover`). The state machine and its
//! rules are in [`machine`]; where everything lives, in [`layout`].
//!
//! Map: [`install`] (verify, stage, stop, back up, switch, start), [`trial`] (start attempts,
//! checks, confirmation, rollback), [`recover`], [`store_guard`] (the store's backup and its
//! restore with the failed release's queue merged back), [`releases`] (what is installed,
//! what runs), [`state`] and [`trust`] (the files that persist), [`status`] (for the
//! technician), [`fsx`] (durable file steps), [`systemctl`], [`fail`] (the tests' fail
//! points).

pub mod fail;
pub mod fsx;
pub mod install;
pub mod layout;
pub mod machine;
pub mod recover;
pub mod releases;
pub mod state;
pub mod status;
pub mod store_guard;
pub mod systemctl;
pub mod trial;
pub mod trust;

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::time::{SystemTime, UNIX_EPOCH};

use booth_release::{BundleError, InstallRefused, TrustError, VerifyError, Version};
use kiosk_core::store::closed::ClosedError;
use kiosk_core::update::RequestError;

use fsx::{FsError, OwnerError};
use layout::Layout;
use releases::ReleaseError;
use state::StateError;
use systemctl::{Systemctl, SystemctlError};
use trust::TrustFileError;

/// The factory release's version: this package's, which is the image's app's.
pub const FACTORY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything that can stop the updater, each one line that names the thing and what to do.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Owner(#[from] OwnerError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    TrustFile(#[from] TrustFileError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Systemctl(#[from] SystemctlError),
    #[error(transparent)]
    Store(#[from] ClosedError),
    #[error("no install request in the inbox: nothing to install")]
    NoRequest,
    #[error("the install request is refused: {0}")]
    Request(#[source] RequestError),
    #[error("cannot open the bundle {}: {source}; download it again", .path.display())]
    OpenBundle {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle is refused: {0}")]
    Bundle(#[source] BundleError),
    #[error("the bundle's signature is refused: {0}")]
    Verify(#[source] VerifyError),
    #[error("release {version} is refused: {source}")]
    Refused {
        version: Version,
        #[source]
        source: InstallRefused,
    },
    #[error("release {version}'s key changes are refused: {source}")]
    KeyChange {
        version: Version,
        #[source]
        source: TrustError,
    },
    #[error(
        "release {0} was rolled back on this booth before: it is not installed again; publish a newer release"
    )]
    RolledBackBefore(Version),
    #[error("release {0} has no executable bin/kiosk: it is not a booth app release")]
    NoKiosk(Version),
    #[error(
        "release {0} is being installed or on trial: wait until it is confirmed or rolled back"
    )]
    Busy(Version),
    #[error(
        "the install of bundle {0} was stopped {1} times (power cuts or crashes): giving up on it; download it again"
    )]
    KeepsStopping(String, u32),
}

/// The updater over one booth's files.
#[derive(Debug, Clone)]
pub struct Updater {
    pub layout: Layout,
    pub systemctl: Systemctl,
    /// The booth's clock, fixed by the tests (`--now`).
    pub now_unix: Option<u64>,
    pub factory_version: Version,
}

/// Held while the updater works: one at a time (`install`, `check`, `confirm` and the kiosk's
/// `start-attempt` may be started together by their units).
#[derive(Debug)]
pub struct Locked {
    _file: File,
}

impl Updater {
    pub fn new(layout: Layout, systemctl: Systemctl) -> Self {
        Self {
            layout,
            systemctl,
            now_unix: None,
            factory_version: FACTORY_VERSION
                .parse()
                .expect("the workspace version is a release version"),
        }
    }

    pub fn now_unix(&self) -> u64 {
        self.now_unix.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }

    /// Makes the updater's directories if missing, checks they are its own, and takes the lock.
    pub fn lock(&self) -> Result<Locked, UpdateError> {
        let layout = &self.layout;
        for dir in [&layout.releases, &layout.update] {
            if !dir.exists() {
                fsx::ensure_dir(dir, 0o755)?;
            }
            fsx::check_own_dir(dir)?;
        }
        for dir in [layout.backup(), layout.work(), layout.failed_store()] {
            fsx::ensure_dir(&dir, 0o700)?;
        }
        let path = layout.lock();
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(fsx::err("cannot open the lock", &path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|errno| fsx::err("cannot lock", &path)(errno.into()))?;
        Ok(Locked { _file: file })
    }
}
