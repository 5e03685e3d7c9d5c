//! The kiosk's early check of a downloaded bundle, before the updater is asked to install it:
//! the signature against the booth's own trust store, every file against the signed
//! manifest, and the release being the one announced. A tampered bundle, or one signed by a
//! key this booth does not trust, is refused here and deleted, so the updater (root, which
//! stops the app to install) is never woken for it. The updater verifies everything again
//! from the first byte in any case: this check saves a stop, it is not the booth's defence.
//!
//! The trust store is the updater's `DATA/update/trust.json`, read-only to the kiosk; before
//! the updater ever ran it does not exist and the image's pinned keys
//! (`/usr/share/booth/release-keys`) are what the updater will seed it from.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use booth_release::{Bundle, BundleError, Limits, PublicKey, TrustStore};

/// Neither file is large; more than this is not a trust store.
const MAX_TRUST_BYTES: u64 = 64 * 1024;

/// Why a bundle was not handed to the updater.
#[derive(Debug, thiserror::Error)]
pub enum EarlyVerifyError {
    #[error("cannot read {}: {source}; check the data partition", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the booth's release trust store {} is unreadable ({source}): run `booth-update status` as root",
        .path.display()
    )]
    Trust {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the booth trusts no release key (neither {} nor {} names one): rebuild the image with release keys",
        .trust.display(), .pinned.display()
    )]
    NoKeys { trust: PathBuf, pinned: PathBuf },
    #[error("the downloaded bundle was refused: {0}")]
    Bundle(#[source] BundleError),
    #[error(
        "the downloaded bundle is release {found}, not the {expected} the county announced: ask county staff to check the rollout"
    )]
    WrongVersion { expected: String, found: String },
}

impl EarlyVerifyError {
    /// The bundle itself is bad (not the booth's files): delete it and report `verify`.
    pub fn is_bundles_fault(&self) -> bool {
        matches!(self, Self::Bundle(_) | Self::WrongVersion { .. })
    }
}

/// The trust store the updater would verify with now.
pub fn load_trust(trust: &Path, pinned: &Path) -> Result<TrustStore, EarlyVerifyError> {
    if let Some(bytes) = read_small(trust)? {
        return serde_json::from_slice(&bytes).map_err(|source| EarlyVerifyError::Trust {
            path: trust.to_owned(),
            source: Box::new(source),
        });
    }
    let text = read_small(pinned)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.parse::<PublicKey>()
                .map_err(|source| EarlyVerifyError::Trust {
                    path: pinned.to_owned(),
                    source: Box::new(source),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(EarlyVerifyError::NoKeys {
            trust: trust.to_owned(),
            pinned: pinned.to_owned(),
        });
    }
    TrustStore::new(keys).map_err(|source| EarlyVerifyError::Trust {
        path: pinned.to_owned(),
        source: Box::new(source),
    })
}

/// Verifies the bundle at `path` as release `expected`, reading it once; blocking.
pub fn verify_bundle(
    path: &Path,
    expected: &str,
    trust: &TrustStore,
) -> Result<(), EarlyVerifyError> {
    let file = std::fs::File::open(path).map_err(|source| EarlyVerifyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bundle = Bundle::open_and_verify(BufReader::new(file), trust, Limits::default())
        .map_err(EarlyVerifyError::Bundle)?;
    let found = bundle.release().manifest().version.to_string();
    if found != expected {
        return Err(EarlyVerifyError::WrongVersion {
            expected: expected.to_owned(),
            found,
        });
    }
    bundle.check_files().map_err(EarlyVerifyError::Bundle)?;
    Ok(())
}

fn read_small(path: &Path) -> Result<Option<Vec<u8>>, EarlyVerifyError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EarlyVerifyError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_TRUST_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| EarlyVerifyError::Read {
            path: path.to_owned(),
            source,
        })?;
    Ok(Some(bytes))
}
