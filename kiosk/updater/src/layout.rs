//! Where everything is, under one root directory (`/` on a booth, a temporary directory in
//! the tests).
//!
//! ```text
//! /usr/bin/kiosk                          the factory release: the image's own app
//! /usr/share/booth/release-keys           the image's pinned release keys (ed25519:…, one a line)
//! /var/lib/booth/                         the data partition (user booth): the kiosk's store
//!   releases/                  root 0755  installed releases; booth reads, never writes
//!     <version>/               root 0755  manifest.json, manifest.sig, files/bin/kiosk …
//!     <version>.partial/                  a release being staged
//!     current -> <version>|factory        what the kiosk unit runs (absent: factory)
//!     previous -> <version>|factory       what a rollback returns to
//!   update/                    root 0755  the updater's own
//!     state.json, trust.json, lock
//!     backup/                  root 0700  the store as it was before the last install
//!     failed-store/            root 0700  the store a rolled-back release left, if restored
//!     work/                    root 0700  scratch for store copies
//!     inbox/                   booth      the kiosk's downloads and install request
//!     health/                  booth      the kiosk's heartbeat outcome and healthy marker
//! ```

use std::path::{Path, PathBuf};

use kiosk_core::update::UpdateDirs;

/// The factory release's name as a link target.
pub const FACTORY: &str = "factory";

/// Every path the updater uses.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    /// `/var/lib/booth`.
    pub data: PathBuf,
    /// The kiosk's store, `kiosk.sqlite3` in the data directory.
    pub store: PathBuf,
    pub releases: PathBuf,
    pub update: PathBuf,
    pub kiosk: UpdateDirs,
    pub factory_kiosk: PathBuf,
    pub pinned_keys: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        let data = root.join("var/lib/booth");
        Self {
            root: root.to_owned(),
            store: data.join(kiosk_core::store::DB_FILE),
            releases: data.join("releases"),
            update: data.join(kiosk_core::update::UPDATE_DIR),
            kiosk: UpdateDirs::new(&data),
            factory_kiosk: root.join("usr/bin/kiosk"),
            pinned_keys: root.join("usr/share/booth/release-keys"),
            data,
        }
    }

    pub fn state(&self) -> PathBuf {
        self.update.join("state.json")
    }

    pub fn trust(&self) -> PathBuf {
        self.update.join("trust.json")
    }

    pub fn lock(&self) -> PathBuf {
        self.update.join("lock")
    }

    pub fn backup(&self) -> PathBuf {
        self.update.join("backup")
    }

    pub fn failed_store(&self) -> PathBuf {
        self.update.join("failed-store")
    }

    pub fn work(&self) -> PathBuf {
        self.update.join("work")
    }

    pub fn current(&self) -> PathBuf {
        self.releases.join("current")
    }

    pub fn previous(&self) -> PathBuf {
        self.releases.join("previous")
    }

    /// `releases/<name>`.
    pub fn release_dir(&self, name: &str) -> PathBuf {
        self.releases.join(name)
    }

    /// `releases/<name>.partial`.
    pub fn partial_dir(&self, name: &str) -> PathBuf {
        self.releases.join(format!("{name}.partial"))
    }
}
