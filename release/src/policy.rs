//! Whether a booth may install a verified release: versions (anti-rollback) and the store.
//!
//! Anti-rollback: a booth never installs a version lower than the highest it ever installed
//! (an old release may have the hole a newer one fixed), unless the release's signed manifest
//! says it supersedes at least that highest version. A manifest can name only versions that
//! existed when it was signed, so replaying an old bundle never undoes a later release. The
//! highest version stays the highest after an allowed downgrade (see
//! [`InstallPolicy::highest_after`]); nothing here reads a clock.
//!
//! Data across updates: the booth's store outlives releases, and a release may have to be
//! rolled back (by slot switch or a signed downgrade) after it migrated the store. So a
//! release may only migrate the store to a schema its predecessor can still read: expand
//! now, contract in a later release. Concretely, the new release must read the store's
//! current schema, and the schema it writes must be one the running release reads.

use crate::manifest::SchemaRange;
use crate::signature::VerifiedManifest;
use crate::version::Version;

/// What the booth knows about itself when an update arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallPolicy {
    /// The version running now.
    pub running: Version,
    /// The highest version ever installed on this booth (the image's own at first). Kept by
    /// the caller with the trust store; a value below `running` is taken as `running`.
    pub highest_installed: Version,
    /// The store's schema version now.
    pub store_schema: u32,
    /// The schemas the running release reads (its manifest's `store.reads`).
    pub running_reads: SchemaRange,
}

/// Why a verified release may not be installed on this booth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallRefused {
    #[error("release {0} is already installed and running: nothing to do")]
    AlreadyInstalled(Version),
    #[error(
        "release {release} needs at least {min_version}, this booth runs {running}: install {min_version} first"
    )]
    RunningTooOld {
        release: Version,
        min_version: Version,
        running: Version,
    },
    #[error(
        "release {release} is older than {highest}, which this booth has installed: refusing the downgrade; a downgrade needs a release signed to supersede {highest}"
    )]
    Rollback { release: Version, highest: Version },
    #[error(
        "release {release} may downgrade booths that had at most {supersedes}, and this booth had {highest}: refusing the downgrade; install {highest} or newer"
    )]
    RollbackNotCovered {
        release: Version,
        supersedes: Version,
        highest: Version,
    },
    #[error(
        "release {release} reads store schemas {reads}, and this booth's store is at schema {schema}: install a release that reads schema {schema}"
    )]
    CannotReadStore {
        release: Version,
        reads: SchemaRange,
        schema: u32,
    },
    #[error(
        "release {release} writes store schema {writes}, which the running release {running} cannot read (it reads {running_reads}): a release may only migrate the store to a schema its predecessor can still read; ship a release that reads {writes} first"
    )]
    WritesUnreadableByRunning {
        release: Version,
        writes: u32,
        running: Version,
        running_reads: SchemaRange,
    },
}

impl InstallPolicy {
    /// Whether `release` may be installed now. Key changes are checked separately, by
    /// [`crate::TrustStore::applied`].
    pub fn check(&self, release: &VerifiedManifest) -> Result<(), InstallRefused> {
        let manifest = release.manifest();
        let version = manifest.version;
        if version == self.running {
            return Err(InstallRefused::AlreadyInstalled(version));
        }
        if self.running < manifest.min_version {
            return Err(InstallRefused::RunningTooOld {
                release: version,
                min_version: manifest.min_version,
                running: self.running,
            });
        }
        let highest = self.highest();
        if version < highest {
            match manifest.supersedes_highest {
                None => {
                    return Err(InstallRefused::Rollback {
                        release: version,
                        highest,
                    });
                }
                Some(supersedes) if supersedes < highest => {
                    return Err(InstallRefused::RollbackNotCovered {
                        release: version,
                        supersedes,
                        highest,
                    });
                }
                Some(_) => {}
            }
        }
        let store = manifest.store;
        if !store.reads.contains(self.store_schema) {
            return Err(InstallRefused::CannotReadStore {
                release: version,
                reads: store.reads,
                schema: self.store_schema,
            });
        }
        if !self.running_reads.contains(store.writes) {
            return Err(InstallRefused::WritesUnreadableByRunning {
                release: version,
                writes: store.writes,
                running: self.running,
                running_reads: self.running_reads,
            });
        }
        Ok(())
    }

    /// The highest installed version to keep once `release` is installed. A downgrade does
    /// not lower it: otherwise, after a signed downgrade, any older bundle could be replayed.
    pub fn highest_after(&self, release: &VerifiedManifest) -> Version {
        self.highest().max(release.manifest().version)
    }

    fn highest(&self) -> Version {
        self.highest_installed.max(self.running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PublicKey;
    use crate::manifest::tests::manifest;
    use crate::manifest::{Manifest, StoreSchemas};
    use crate::signature::{Signatures, verify_manifest};
    use crate::trust::TrustStore;
    use ed25519_dalek::SigningKey;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    fn verified(m: &Manifest) -> VerifiedManifest {
        let key = SigningKey::from_bytes(&[1; 32]);
        let bytes = m.to_json();
        let sigs = Signatures::sign(&bytes, &[&key]).unwrap();
        let trust = TrustStore::new([PublicKey::of(&key)]).unwrap();
        verify_manifest(&bytes, &sigs, &trust).unwrap()
    }

    fn release(version: &str, min: &str, supersedes: Option<&str>) -> VerifiedManifest {
        let mut m = manifest(version);
        m.min_version = v(min);
        m.supersedes_highest = supersedes.map(v);
        verified(&m)
    }

    fn booth(running: &str, highest: &str) -> InstallPolicy {
        InstallPolicy {
            running: v(running),
            highest_installed: v(highest),
            store_schema: 4,
            running_reads: SchemaRange::new(3, 4).unwrap(),
        }
    }

    #[test]
    fn a_newer_release_installs_and_raises_the_highest() {
        let booth = booth("1.1.0", "1.1.0");
        let next = release("1.2.0", "1.0.0", None);
        assert_eq!(booth.check(&next), Ok(()));
        assert_eq!(booth.highest_after(&next), v("1.2.0"));
    }

    #[test]
    fn the_running_version_is_already_installed() {
        let err = booth("1.2.0", "1.2.0")
            .check(&release("1.2.0", "1.0.0", None))
            .unwrap_err();
        assert_eq!(err, InstallRefused::AlreadyInstalled(v("1.2.0")));
    }

    #[test]
    fn a_release_needing_a_newer_predecessor_says_which() {
        let err = booth("1.0.5", "1.0.5")
            .check(&release("2.0.0", "1.1.0", None))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "release 2.0.0 needs at least 1.1.0, this booth runs 1.0.5: install 1.1.0 first"
        );
    }

    #[test]
    fn downgrades_are_refused_unless_signed_to_supersede_the_highest() {
        // Running 1.5.0 and it is the highest: 1.4.0 is a rollback.
        let booth_at = booth("1.5.0", "1.5.0");
        assert_eq!(
            booth_at.check(&release("1.4.0", "1.0.0", None)),
            Err(InstallRefused::Rollback {
                release: v("1.4.0"),
                highest: v("1.5.0")
            })
        );
        let allowed = release("1.4.0", "1.0.0", Some("1.5.0"));
        assert_eq!(booth_at.check(&allowed), Ok(()));
        assert_eq!(booth_at.highest_after(&allowed), v("1.5.0"));
        // A permission signed before 1.6.0 existed cannot undo 1.6.0.
        assert_eq!(
            booth("1.6.0", "1.6.0").check(&allowed),
            Err(InstallRefused::RollbackNotCovered {
                release: v("1.4.0"),
                supersedes: v("1.5.0"),
                highest: v("1.6.0")
            })
        );
        // After the downgrade, the highest is still 1.5.0: an older plain bundle stays out,
        // and re-installing 1.5.0 itself is not a downgrade.
        let downgraded = booth("1.4.0", "1.5.0");
        assert!(matches!(
            downgraded.check(&release("1.3.0", "1.0.0", None)),
            Err(InstallRefused::Rollback { .. })
        ));
        assert_eq!(downgraded.check(&release("1.5.0", "1.0.0", None)), Ok(()));
    }

    #[test]
    fn a_highest_below_running_is_taken_as_running() {
        assert!(matches!(
            booth("1.5.0", "0.0.0").check(&release("1.4.0", "1.0.0", None)),
            Err(InstallRefused::Rollback { highest, .. }) if highest == v("1.5.0")
        ));
    }

    #[test]
    fn the_new_release_must_read_the_store_as_it_is() {
        let mut m = manifest("1.2.0");
        m.store = StoreSchemas {
            reads: SchemaRange::new(5, 6).unwrap(),
            writes: 5,
        };
        let err = booth("1.1.0", "1.1.0").check(&verified(&m)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "release 1.2.0 reads store schemas 5..6, and this booth's store is at schema 4: install a release that reads schema 4"
        );
    }

    #[test]
    fn the_schema_written_must_stay_readable_by_the_running_release() {
        // Expand: 1.2.0 reads 4..5 and writes 5, but 1.1.0 reads only 3..4.
        let mut expand = manifest("1.2.0");
        expand.store = StoreSchemas {
            reads: SchemaRange::new(4, 5).unwrap(),
            writes: 5,
        };
        let err = booth("1.1.0", "1.1.0")
            .check(&verified(&expand))
            .unwrap_err();
        assert!(matches!(
            err,
            InstallRefused::WritesUnreadableByRunning { writes: 5, .. }
        ));
        assert_eq!(
            err.to_string(),
            "release 1.2.0 writes store schema 5, which the running release 1.1.0 cannot read (it reads 3..4): a release may only migrate the store to a schema its predecessor can still read; ship a release that reads 5 first"
        );
        // The way through: 1.2.0 reads 4..5 but still writes 4; then 1.3.0 writes 5.
        let mut step = manifest("1.2.0");
        step.store = StoreSchemas {
            reads: SchemaRange::new(4, 5).unwrap(),
            writes: 4,
        };
        assert_eq!(booth("1.1.0", "1.1.0").check(&verified(&step)), Ok(()));
        let on_step = InstallPolicy {
            running: v("1.2.0"),
            highest_installed: v("1.2.0"),
            store_schema: 4,
            running_reads: SchemaRange::new(4, 5).unwrap(),
        };
        let mut contract = expand;
        contract.version = v("1.3.0");
        assert_eq!(on_step.check(&verified(&contract)), Ok(()));
    }
}
