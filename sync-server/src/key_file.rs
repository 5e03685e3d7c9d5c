//! The key file: the secrets that keep personal data unreadable in a copied database or
//! backup. `--key-file PATH`, else `$SYNC_SERVER_KEY_FILE`, else [`DEFAULT`]. Created once by
//! `sync-server keys init`; `keys rotate` adds an at-rest key, `keys drop` removes one no row
//! needs (see `docs/personal-data.md`).
//!
//! It must live outside the data directory (a copy of the data directory, or a backup of it,
//! must not carry its key) and be readable by its owner only; the server refuses to start
//! otherwise. It holds, as JSON with standard base64 values:
//! - `at_rest`: the XChaCha20-Poly1305 keys by id: the highest seals, every one opens;
//! - `lookup`: the HMAC-SHA256 key ID numbers are looked up by;
//! - `county_seed`: the seed of the county's X25519 key pair booths seal submissions to.
//!
//! Replacing it is atomic (a temporary file with mode 0600, fsync, rename, fsync of the
//! folder): a crash leaves the old file or the new one, never half of one.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};
use sync_protocol::personal::CountySecret;

use crate::store::sealing::{AtRestKey, KEY_LEN, KeyRing, random_key};

/// The environment variable naming the key file.
pub const ENV: &str = "SYNC_SERVER_KEY_FILE";
/// The key file when neither the flag nor the variable names one.
pub const DEFAULT: &str = "/etc/sync-server/keys.json";
/// The lock file in the data directory that keeps a rotation apart from running servers.
pub const LOCK_FILE: &str = "keys.lock";
const FORMAT: &str = "sync-server-keys/1";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(
        "key file {path} does not exist: create it once with `sync-server keys init {path}` (outside the data directory, backed up apart from the database), or pass the one this database was sealed with (--key-file or {ENV})"
    )]
    Missing { path: String },
    #[error(
        "key file {path} lies inside the data directory {data_dir}, so every copy of the data directory would carry its key: move it elsewhere (e.g. {DEFAULT}) and pass --key-file"
    )]
    InsideDataDir { path: String, data_dir: String },
    #[error(
        "key file {path} can be read or written by group or others (mode {mode:03o}): run `chmod 600 {path}`"
    )]
    Exposed { path: String, mode: u32 },
    #[error("key file {path} is not a regular file: pass the key file itself")]
    NotAFile { path: String },
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("key file {path} is not a sync-server key file ({why}): restore it from its backup")]
    Malformed { path: String, why: String },
    #[error(
        "key file {path} already exists: refusing to overwrite it (it may be the only key to a database); move it away first if you really mean to start over"
    )]
    Exists { path: String },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "at-rest key {id} is the newest, which seals new data: run `sync-server keys rotate` first"
    )]
    DropNewest { id: u32 },
    #[error(
        "key file {path} has no at-rest key {id}: `sync-server keys list` shows the ones it has"
    )]
    NoSuchKey { path: String, id: u32 },
    #[error(
        "the keys of data directory {data_dir} are in use by a running `sync-server serve` or command: stop it first"
    )]
    InUse { data_dir: String },
    #[error(
        "a key rotation is running on data directory {data_dir}: wait for `sync-server keys rotate` to finish"
    )]
    Rotating { data_dir: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The keys a server runs with, as the store and the API take them.
#[derive(Debug, Clone)]
pub struct ServerKeys {
    pub ring: Arc<KeyRing>,
    pub county: Arc<CountySecret>,
}

impl ServerKeys {
    /// Fresh random keys held in memory only (tests, benchmarks).
    pub fn generate() -> Self {
        Self {
            ring: Arc::new(KeyRing::generate()),
            county: Arc::new(CountySecret::from_seed(&random_key())),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Contents {
    format: String,
    at_rest: Vec<AtRestEntry>,
    lookup: String,
    county_seed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AtRestEntry {
    id: u32,
    key: String,
    created_at: DateTime<Utc>,
}

/// An at-rest key as `keys list` shows it (never the key itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRestInfo {
    pub id: u32,
    pub created_at: DateTime<Utc>,
}

/// A key file read from disk, or about to be written.
#[derive(Debug)]
pub struct KeyFile {
    path: PathBuf,
    contents: Contents,
}

impl KeyFile {
    /// The flag's value, else the environment's, else [`DEFAULT`].
    pub fn resolve(flag: Option<&Path>) -> PathBuf {
        crate::data_dir::flag_env_or(flag, ENV, DEFAULT)
    }

    /// Creates a new key file at `path` (mode 0600) with one at-rest key, a lookup key and a
    /// county key pair. Refuses to overwrite anything, and refuses a place inside `data_dir`.
    pub fn init(path: &Path, data_dir: &Path, now: DateTime<Utc>) -> Result<Self, KeyFileError> {
        refuse_inside(path, data_dir)?;
        let file = Self {
            path: path.to_owned(),
            contents: Contents {
                format: FORMAT.into(),
                at_rest: vec![AtRestEntry {
                    id: 1,
                    key: BASE64.encode(random_key()),
                    created_at: now,
                }],
                lookup: BASE64.encode(random_key()),
                county_seed: BASE64.encode(random_key()),
            },
        };
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => KeyFileError::Exists { path: file.shown() },
                _ => KeyFileError::Write {
                    path: file.shown(),
                    source,
                },
            })?;
        out.write_all(&file.encoded())
            .and_then(|()| out.sync_all())
            .and_then(|()| sync_parent(path))
            .map_err(|source| KeyFileError::Write {
                path: file.shown(),
                source,
            })?;
        Ok(file)
    }

    /// Reads the key file at `path`, refusing one that is missing, inside `data_dir`, or open
    /// to group or others.
    pub fn load(path: &Path, data_dir: &Path) -> Result<Self, KeyFileError> {
        let shown = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyFileError::Missing { path: shown });
            }
            Err(source) => {
                return Err(KeyFileError::Read {
                    path: shown,
                    source,
                });
            }
        };
        refuse_inside(path, data_dir)?;
        if !meta.is_file() {
            return Err(KeyFileError::NotAFile { path: shown });
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed { path: shown, mode });
        }
        let text = std::fs::read(path).map_err(|source| KeyFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let contents: Contents =
            serde_json::from_slice(&text).map_err(|e| KeyFileError::Malformed {
                path: shown.clone(),
                // Only the position: the message could quote a key.
                why: format!("JSON error at line {} column {}", e.line(), e.column()),
            })?;
        let file = Self {
            path: path.to_owned(),
            contents,
        };
        file.keys()?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys, checked.
    pub fn keys(&self) -> Result<ServerKeys, KeyFileError> {
        let malformed = |why: &str| KeyFileError::Malformed {
            path: self.shown(),
            why: why.to_owned(),
        };
        if self.contents.format != FORMAT {
            return Err(malformed(&format!(
                "format `{}`, expected `{FORMAT}`",
                self.contents.format
            )));
        }
        let at_rest = self
            .contents
            .at_rest
            .iter()
            .map(|entry| {
                Ok(AtRestKey {
                    id: entry.id,
                    key: decode_key(&entry.key).ok_or_else(|| {
                        malformed(&format!("at-rest key {} is not 32 bytes", entry.id))
                    })?,
                })
            })
            .collect::<Result<Vec<_>, KeyFileError>>()?;
        let mut ids: Vec<u32> = at_rest.iter().map(|k| k.id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != at_rest.len() {
            return Err(malformed("two at-rest keys share an id"));
        }
        let lookup = decode_key(&self.contents.lookup)
            .ok_or_else(|| malformed("the lookup key is not 32 bytes"))?;
        let seed = decode_key(&self.contents.county_seed)
            .ok_or_else(|| malformed("the county seed is not 32 bytes"))?;
        let ring =
            KeyRing::new(&at_rest, &lookup).map_err(|_| malformed("it has no at-rest key"))?;
        Ok(ServerKeys {
            ring: Arc::new(ring),
            county: Arc::new(CountySecret::from_seed(&seed)),
        })
    }

    /// The at-rest keys, oldest first.
    pub fn at_rest(&self) -> Vec<AtRestInfo> {
        let mut keys: Vec<AtRestInfo> = self
            .contents
            .at_rest
            .iter()
            .map(|entry| AtRestInfo {
                id: entry.id,
                created_at: entry.created_at,
            })
            .collect();
        keys.sort_by_key(|k| k.id);
        keys
    }

    /// Adds a new at-rest key, which becomes the newest (in memory: [`Self::save`] writes it).
    pub fn add_at_rest_key(&mut self, now: DateTime<Utc>) -> u32 {
        let id = self.at_rest().last().map_or(1, |k| k.id + 1);
        self.contents.at_rest.push(AtRestEntry {
            id,
            key: BASE64.encode(random_key()),
            created_at: now,
        });
        id
    }

    /// Removes at-rest key `id` (in memory). The newest cannot go.
    pub fn drop_at_rest_key(&mut self, id: u32) -> Result<(), KeyFileError> {
        let newest = self.at_rest().last().map(|k| k.id);
        if newest == Some(id) {
            return Err(KeyFileError::DropNewest { id });
        }
        let before = self.contents.at_rest.len();
        self.contents.at_rest.retain(|entry| entry.id != id);
        if self.contents.at_rest.len() == before {
            return Err(KeyFileError::NoSuchKey {
                path: self.shown(),
                id,
            });
        }
        Ok(())
    }

    /// Replaces the file on disk with this one, atomically, mode 0600.
    pub fn save(&self) -> Result<(), KeyFileError> {
        let write_error = |source| KeyFileError::Write {
            path: self.shown(),
            source,
        };
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".new");
        let temporary = PathBuf::from(temporary);
        let _ = std::fs::remove_file(&temporary);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(write_error)?;
        out.write_all(&self.encoded())
            .and_then(|()| out.sync_all())
            .map_err(write_error)?;
        drop(out);
        std::fs::rename(&temporary, &self.path).map_err(write_error)?;
        sync_parent(&self.path).map_err(write_error)
    }

    fn encoded(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(&self.contents).unwrap_or_default();
        text.push(b'\n');
        text
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

fn decode_key(text: &str) -> Option<[u8; KEY_LEN]> {
    BASE64.decode(text).ok()?.try_into().ok()
}

/// A key file inside the data directory defeats its purpose: refused by path, resolving
/// links (the file may not exist yet, so its folder is resolved).
fn refuse_inside(path: &Path, data_dir: &Path) -> Result<(), KeyFileError> {
    let resolve = |p: &Path| -> PathBuf {
        if let Ok(real) = p.canonicalize() {
            return real;
        }
        match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => {
                let parent = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
                parent
                    .canonicalize()
                    .map_or_else(|_| p.to_owned(), |real| real.join(name))
            }
            _ => p.to_owned(),
        }
    };
    let key = resolve(path);
    let data = resolve(data_dir);
    if key.starts_with(&data) {
        return Err(KeyFileError::InsideDataDir {
            path: path.display().to_string(),
            data_dir: data_dir.display().to_string(),
        });
    }
    Ok(())
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Held while a process uses the keys on a data directory: shared by `serve` and every
/// command, exclusive for `keys rotate` and `keys drop`, so a running server never writes
/// with a key a rotation is retiring. An advisory lock on `LOCK_FILE` in the data directory,
/// released when the process ends however it ends.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

impl KeyLock {
    /// Shared: refused while a rotation runs.
    pub fn shared(data_dir: &Path) -> Result<Self, KeyFileError> {
        Self::take(data_dir, FlockOperation::NonBlockingLockShared, || {
            KeyFileError::Rotating {
                data_dir: data_dir.display().to_string(),
            }
        })
    }

    /// Exclusive: refused while anything else uses the keys.
    pub fn exclusive(data_dir: &Path) -> Result<Self, KeyFileError> {
        Self::take(data_dir, FlockOperation::NonBlockingLockExclusive, || {
            KeyFileError::InUse {
                data_dir: data_dir.display().to_string(),
            }
        })
    }

    fn take(
        data_dir: &Path,
        operation: FlockOperation,
        held: impl FnOnce() -> KeyFileError,
    ) -> Result<Self, KeyFileError> {
        let file = lock_file(data_dir)?;
        match rustix::fs::flock(&file, operation) {
            Ok(()) => Ok(Self { _file: file }),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(held()),
            Err(errno) => Err(KeyFileError::Lock {
                path: data_dir.join(LOCK_FILE).display().to_string(),
                source: errno.into(),
            }),
        }
    }
}

fn lock_file(data_dir: &Path) -> Result<File, KeyFileError> {
    let path = data_dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| KeyFileError::Lock {
            path: path.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn init_writes_an_owner_only_file_and_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let path = root.path().join("keys.json");
        let made = KeyFile::init(&path, &data, Utc::now()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = KeyFile::load(&path, &data).unwrap();
        assert_eq!(
            loaded.keys().unwrap().county.public_key(),
            made.keys().unwrap().county.public_key()
        );
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(
            KeyFile::init(&path, &data, Utc::now()),
            Err(KeyFileError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before, "left as it was");
    }

    #[test]
    fn a_missing_exposed_or_misplaced_file_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let path = root.path().join("keys.json");
        assert!(matches!(
            KeyFile::load(&path, &data),
            Err(KeyFileError::Missing { .. })
        ));
        KeyFile::init(&path, &data, Utc::now()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let refused = KeyFile::load(&path, &data).unwrap_err();
        assert!(matches!(refused, KeyFileError::Exposed { mode: 0o640, .. }));
        assert!(refused.to_string().contains("chmod 600"), "{refused}");

        let inside = data.join("keys.json");
        assert!(matches!(
            KeyFile::init(&inside, &data, Utc::now()),
            Err(KeyFileError::InsideDataDir { .. })
        ));
        std::fs::copy(&path, &inside).unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            KeyFile::load(&inside, &data),
            Err(KeyFileError::InsideDataDir { .. })
        ));
    }

    #[test]
    fn rotation_adds_a_newest_key_and_keeps_the_old_until_dropped() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let path = root.path().join("keys.json");
        let mut file = KeyFile::init(&path, &data, Utc::now()).unwrap();
        assert_eq!(file.add_at_rest_key(Utc::now()), 2);
        assert!(matches!(
            file.drop_at_rest_key(2),
            Err(KeyFileError::DropNewest { id: 2 })
        ));
        file.save().unwrap();
        let mut loaded = KeyFile::load(&path, &data).unwrap();
        assert_eq!(loaded.keys().unwrap().ring.newest(), 2);
        loaded.drop_at_rest_key(1).unwrap();
        loaded.save().unwrap();
        let ids: Vec<u32> = KeyFile::load(&path, &data)
            .unwrap()
            .at_rest()
            .iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(ids, [2]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a replaced file keeps owner-only");
    }

    #[test]
    fn a_rotation_waits_for_nobody_and_a_server_waits_for_no_rotation() {
        let data = tempfile::tempdir().unwrap();
        let serving = KeyLock::shared(data.path()).unwrap();
        let _command = KeyLock::shared(data.path()).unwrap();
        assert!(matches!(
            KeyLock::exclusive(data.path()),
            Err(KeyFileError::InUse { .. })
        ));
        drop(serving);
        drop(_command);
        let rotating = KeyLock::exclusive(data.path()).unwrap();
        assert!(matches!(
            KeyLock::shared(data.path()),
            Err(KeyFileError::Rotating { .. })
        ));
        drop(rotating);
    }
}
