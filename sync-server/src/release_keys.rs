//! The release public keys the server checks uploaded bundles against: a text file of
//! `ed25519:<base64>` keys, one a line (`booth-release keygen` prints them), `#` comments and
//! blank lines allowed. `--release-keys FILE`, else `$SYNC_SERVER_RELEASE_KEYS`, else
//! [`DEFAULT`].
//!
//! Public keys only: the release signing key never reaches this server, so a server (or a
//! staff account) taken over can refuse or delay releases but never sign one. A missing file
//! is no keys: the server runs, and every upload is refused with the file's name, until the
//! county's release manager puts their keys there. A file that is there but wrong stops the
//! server at start-up, because a typo should not look like "no releases".

use std::io;
use std::path::{Path, PathBuf};

use booth_release::{PublicKey, TrustStore};

/// The environment variable naming the file.
pub const ENV: &str = "SYNC_SERVER_RELEASE_KEYS";
/// The file when neither the flag nor the variable names one.
pub const DEFAULT: &str = "/etc/sync-server/release-keys";
/// The most keys the file may hold (a rotation needs two; a few more cover several signers).
pub const MAX_KEYS: usize = 32;
/// The largest file read.
const MAX_FILE_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseKeysError {
    #[error("cannot read the release keys file {}: {source}: check its path and permissions", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the release keys file {} is over {MAX_FILE_BYTES} bytes: it holds one public key a line, nothing else", .path.display())]
    TooLarge { path: PathBuf },
    #[error("{}:{line}: {source}", .path.display())]
    Key {
        path: PathBuf,
        line: usize,
        #[source]
        source: booth_release::KeyError,
    },
    #[error("the release keys file {} has more than {MAX_KEYS} keys: keep the keys in use only", .path.display())]
    TooMany { path: PathBuf },
}

/// The release keys in force, and where they came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseKeys {
    pub path: PathBuf,
    pub keys: Vec<PublicKey>,
}

impl ReleaseKeys {
    /// The flag's value, else the environment's, else [`DEFAULT`].
    pub fn resolve(flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_path_buf)
            .or_else(|| std::env::var_os(ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT))
    }

    /// No keys (every upload is refused), as if the file at `path` were missing.
    pub fn none(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            keys: Vec::new(),
        }
    }

    /// Reads the file at `path`; a missing file is no keys.
    pub fn load(path: &Path) -> Result<Self, ReleaseKeysError> {
        let read = |source| ReleaseKeysError::Read {
            path: path.to_owned(),
            source,
        };
        match std::fs::metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Self::none(path)),
            Err(error) => return Err(read(error)),
            Ok(meta) if meta.len() > MAX_FILE_BYTES => {
                return Err(ReleaseKeysError::TooLarge {
                    path: path.to_owned(),
                });
            }
            Ok(_) => {}
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Self::parse(path, &text)
    }

    /// Reads the text of a keys file (named `path` in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ReleaseKeysError> {
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key: PublicKey = line.parse().map_err(|source| ReleaseKeysError::Key {
                path: path.to_owned(),
                line: index + 1,
                source,
            })?;
            if !keys.contains(&key) {
                keys.push(key);
            }
            if keys.len() > MAX_KEYS {
                return Err(ReleaseKeysError::TooMany {
                    path: path.to_owned(),
                });
            }
        }
        Ok(Self {
            path: path.to_owned(),
            keys,
        })
    }

    /// The keys as the trust a bundle is verified against; `None` without any.
    pub fn trust(&self) -> Option<TrustStore> {
        TrustStore::new(self.keys.iter().copied()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_one_a_line_with_comments_and_a_bad_line_is_named() {
        let one = PublicKey::of(&booth_release::SigningKey::from_bytes(&[1; 32]));
        let two = PublicKey::of(&booth_release::SigningKey::from_bytes(&[2; 32]));
        let text = format!("# county release keys\n{one}\n\n  {two}  \n{one}\n");
        let keys = ReleaseKeys::parse(Path::new("k"), &text).unwrap();
        assert_eq!(keys.keys, [one, two]);
        assert!(keys.trust().is_some_and(|trust| trust.trusts(&two)));
        let bad =
            ReleaseKeys::parse(Path::new("k"), &format!("{one}\ned25519:nope\n")).unwrap_err();
        assert!(bad.to_string().starts_with("k:2: "), "{bad}");
        assert_eq!(ReleaseKeys::none(Path::new("k")).trust(), None);
        let missing = ReleaseKeys::load(Path::new("/nonexistent/release-keys")).unwrap();
        assert!(missing.keys.is_empty());
    }
}
