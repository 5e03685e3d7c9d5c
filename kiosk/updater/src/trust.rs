//! The booth's release trust store, `update/trust.json`: seeded on first use from the keys
//! the image pins (`/usr/share/booth/release-keys`), changed only when a release that
//! introduces or retires keys is confirmed.

use std::path::{Path, PathBuf};

use booth_release::{KeyError, PublicKey, TrustError, TrustStore};

use crate::fsx::{self, FsError};

const MAX_TRUST_BYTES: u64 = 64 * 1024;

/// Why the trust store cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum TrustFileError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error(
        "the trust store {} is not readable ({source}): it was edited or damaged; restore it or re-image the booth",
        .path.display()
    )]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the image pins no release key: {} is missing or empty; this booth cannot verify any update (rebuild the image with release keys)",
        .0.display()
    )]
    NoPinnedKeys(PathBuf),
    #[error("{}, line {line}: {source}", .path.display())]
    PinnedKey {
        path: PathBuf,
        line: usize,
        #[source]
        source: KeyError,
    },
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// The trust store at `path`, or a new one from the image's pinned keys (then written).
pub fn load_or_seed(path: &Path, pinned: &Path) -> Result<TrustStore, TrustFileError> {
    if let Some(bytes) = fsx::read_small_nofollow(path, MAX_TRUST_BYTES)? {
        return serde_json::from_slice(&bytes).map_err(|source| TrustFileError::Json {
            path: path.to_owned(),
            source,
        });
    }
    let store = TrustStore::new(pinned_keys(pinned)?)?;
    save(path, &store)?;
    Ok(store)
}

pub fn save(path: &Path, store: &TrustStore) -> Result<(), TrustFileError> {
    let mut bytes = serde_json::to_vec_pretty(store).expect("a trust store is plain data");
    bytes.push(b'\n');
    fsx::write_atomic(path, &bytes, 0o644)?;
    Ok(())
}

/// The image's pinned keys: one `ed25519:…` a line; blank lines and `#` comments skipped.
pub fn pinned_keys(path: &Path) -> Result<Vec<PublicKey>, TrustFileError> {
    let text = fsx::read_small_nofollow(path, MAX_TRUST_BYTES)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let mut keys = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        keys.push(line.parse().map_err(|source| TrustFileError::PinnedKey {
            path: path.to_owned(),
            line: at + 1,
            source,
        })?);
    }
    if keys.is_empty() {
        return Err(TrustFileError::NoPinnedKeys(path.to_owned()));
    }
    Ok(keys)
}
