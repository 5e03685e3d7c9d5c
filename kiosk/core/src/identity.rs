//! The booth's ed25519 private key, `DATA/identity.key`: the 32-byte secret seed, raw, mode
//! 0600, readable by the kiosk user only. Written atomically (temporary file, fsync, rename,
//! fsync of the directory), so a power cut leaves either the old key or the new one. Loading
//! refuses a file that group or others can read: a key that may have been copied cannot
//! vouch for the booth.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::atomic_file;

/// The key file inside the data directory.
pub const KEY_FILE: &str = "identity.key";

const SEED_LEN: usize = 32;

/// Why the key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no key at {path}: enroll this booth first: kiosk enroll --server URL --code CODE")]
    Missing { path: PathBuf },
    #[error(
        "the booth's key {path} is readable by other users (mode {mode:03o}): chmod 600 {path}, or re-enroll if it may have been copied"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the booth's key {path} is not a key ({len} bytes, expected {SEED_LEN}): re-enroll the booth"
    )]
    Malformed { path: PathBuf, len: usize },
    #[error("cannot read or write the booth's key {path}: check the data directory")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the system's random number generator failed: the key was not made")]
    Random(#[source] getrandom::Error),
}

/// Where the key of `data_dir` lives.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// Makes a new key from the system's randomness and stores it, replacing any earlier key.
pub fn generate_and_store(data_dir: &Path) -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; SEED_LEN];
    getrandom::fill(&mut seed).map_err(KeyError::Random)?;
    let key = SigningKey::from_bytes(&seed);
    store(data_dir, &key)?;
    Ok(key)
}

/// Writes `key` as `data_dir/identity.key`, atomically, mode 0600.
pub fn store(data_dir: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let path = key_path(data_dir);
    let io = |source| KeyError::Io {
        path: path.clone(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(io)?;
    atomic_file::write(&path, key.as_bytes(), atomic_file::PRIVATE).map_err(io)
}

/// Reads the key of `data_dir`, refusing a file readable by group or others.
pub fn load(data_dir: &Path) -> Result<SigningKey, KeyError> {
    let path = key_path(data_dir);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(KeyError::Missing { path });
        }
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    let mode = match file.metadata() {
        Ok(metadata) => metadata.permissions().mode() & 0o777,
        Err(source) => return Err(KeyError::Io { path, source }),
    };
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { path, mode });
    }
    let mut bytes = Vec::with_capacity(SEED_LEN);
    if let Err(source) = file.read_to_end(&mut bytes) {
        return Err(KeyError::Io { path, source });
    }
    let seed: [u8; SEED_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Malformed {
            path: path.clone(),
            len: bytes.len(),
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_loads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let key = generate_and_store(&data).unwrap();
        let mode = fs::metadata(key_path(&data)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&data).unwrap().to_bytes(), key.to_bytes());
        let leftovers: Vec<_> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|name| name != KEY_FILE)
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[test]
    fn a_new_key_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = generate_and_store(dir.path()).unwrap();
        let second = generate_and_store(dir.path()).unwrap();
        assert_ne!(first.to_bytes(), second.to_bytes());
        assert_eq!(load(dir.path()).unwrap().to_bytes(), second.to_bytes());
    }

    #[test]
    fn a_key_readable_by_others_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        generate_and_store(dir.path()).unwrap();
        let path = key_path(dir.path());
        for mode in [0o640, 0o604, 0o644] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = load(dir.path()).unwrap_err();
            assert!(matches!(error, KeyError::TooOpen { .. }), "{error}");
            let text = error.to_string();
            assert!(
                text.contains(&format!("chmod 600 {}", path.display())),
                "{text}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load(dir.path()).is_ok(), "owner-only read is fine");
    }

    #[test]
    fn a_missing_or_truncated_key_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let missing = load(dir.path()).unwrap_err();
        assert!(matches!(missing, KeyError::Missing { .. }));
        assert!(missing.to_string().contains("kiosk enroll"), "{missing}");
        let path = key_path(dir.path());
        fs::write(&path, [1u8; 5]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            load(dir.path()).unwrap_err(),
            KeyError::Malformed { len: 5, .. }
        ));
    }

    #[test]
    fn debug_output_does_not_contain_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_and_store(dir.path()).unwrap();
        let debug = format!("{key:?}");
        let secret_hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.contains(&secret_hex));
        assert!(!debug.contains(&format!("{:?}", key.to_bytes())));
    }
}
