//! Where the server keeps release bundles: `releases/<sha256>.bundle` in the data directory,
//! one file per release, named by the SHA-256 of its bytes. The store keeps only the name.
//!
//! An upload is [received](ReleaseShelf::receive) into a temporary file in the same
//! directory (hashed and counted as it streams, refused past the size cap), fsynced, then
//! [verified](ReleaseShelf::verify) with `booth_release` against the configured release keys
//! (the signed manifest, then every file's size and hash) and only then
//! [kept](Verified::keep): renamed to its final name, and the directory fsynced. A refused or
//! abandoned upload leaves nothing: the temporary file is removed when its handle drops. The
//! server never serves a bundle it has not verified, because the only files under their final
//! names are the ones that passed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use booth_release::{Bundle, BundleError, Limits, TrustStore, VerifiedManifest};
use sha2::{Digest, Sha256};

use crate::release_keys::ReleaseKeys;

/// The folder in the data directory.
pub const DIR: &str = "releases";

/// Why an upload was refused or could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum ShelfError {
    #[error("cannot {doing} {}: {source}: check the data directory's owner, permissions and free space", .path.display())]
    Io {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the bundle is larger than the {max} bytes a release may have (serve --max-bundle-mib)"
    )]
    TooLarge { max: u64 },
    #[error(
        "no release public keys are configured, so no bundle can be checked: put the release manager's public keys in {} (one ed25519:… line each) and restart the server",
        .keys_file.display()
    )]
    NoKeys { keys_file: PathBuf },
    #[error("the bundle is refused: {0}")]
    Refused(#[source] BundleError),
    #[error("the check of the bundle stopped unexpectedly: {0}")]
    Task(#[source] tokio::task::JoinError),
}

fn io_error(doing: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ShelfError + use<> {
    let path = path.to_owned();
    move |source| ShelfError::Io {
        doing,
        path,
        source,
    }
}

/// The bundles folder of one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseShelf {
    dir: PathBuf,
}

impl ReleaseShelf {
    /// The shelf in `dir` (made, mode 0700, when the first upload arrives).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the bundle named `bundle` (hex SHA-256) is kept.
    pub fn path_of(&self, bundle: &str) -> PathBuf {
        self.dir.join(format!("{bundle}.bundle"))
    }

    /// Starts receiving an upload of at most `max` bytes.
    pub fn receive(&self, max: u64) -> Result<Incoming, ShelfError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_error("create the releases folder", &self.dir))?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| ShelfError::Io {
            doing: "name an upload in",
            path: self.dir.clone(),
            source: io::Error::other(e),
        })?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!(".upload-{name}.partial"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error("create", &path))?;
        Ok(Incoming {
            temp: Temp(path),
            file,
            hasher: Sha256::new(),
            size: 0,
            max,
        })
    }

    /// Checks a received bundle against `keys` (blocking work, on the blocking pool): the
    /// manifest's signature, then every file against the manifest.
    pub async fn verify(
        &self,
        received: Received,
        keys: &ReleaseKeys,
    ) -> Result<Verified, ShelfError> {
        let trust = keys.trust().ok_or_else(|| ShelfError::NoKeys {
            keys_file: keys.path.clone(),
        })?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || verify_file(received, &trust, dir))
            .await
            .map_err(ShelfError::Task)?
    }

    /// Removes a kept bundle (its release row was refused after all).
    pub fn discard(&self, bundle: &str) {
        let _ = fs::remove_file(self.path_of(bundle));
    }
}

/// A temporary file, removed when dropped unless taken.
#[derive(Debug)]
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.0);
        }
    }
}

/// An upload being written.
#[derive(Debug)]
pub struct Incoming {
    temp: Temp,
    file: File,
    hasher: Sha256,
    size: u64,
    max: u64,
}

impl Incoming {
    /// Appends `chunk`; refused once the upload passes its cap.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), ShelfError> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(ShelfError::TooLarge { max: self.max });
        }
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(io_error("write", &self.temp.0))
    }

    /// The whole upload, fsynced.
    pub fn finish(self) -> Result<Received, ShelfError> {
        self.file
            .sync_all()
            .map_err(io_error("sync", &self.temp.0))?;
        let digest = self.hasher.finalize();
        Ok(Received {
            temp: self.temp,
            bundle: digest.iter().map(|b| format!("{b:02x}")).collect(),
            size: self.size,
        })
    }
}

/// A whole upload on disk, not verified yet.
#[derive(Debug)]
pub struct Received {
    temp: Temp,
    /// Hex SHA-256 of the bytes.
    pub bundle: String,
    pub size: u64,
}

/// A bundle whose signature and files verified, still under its temporary name.
#[derive(Debug)]
pub struct Verified {
    temp: Temp,
    dir: PathBuf,
    pub bundle: String,
    pub size: u64,
    pub release: VerifiedManifest,
}

impl Verified {
    /// Renames it to its final name and fsyncs the folder: from now on it can be served.
    pub fn keep(mut self) -> Result<PathBuf, ShelfError> {
        let path = ReleaseShelf::new(self.dir.clone()).path_of(&self.bundle);
        fs::rename(&self.temp.0, &path).map_err(io_error("keep the bundle as", &path))?;
        self.temp.0 = PathBuf::new();
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error("sync", &self.dir))?;
        Ok(path)
    }
}

fn verify_file(
    received: Received,
    trust: &TrustStore,
    dir: PathBuf,
) -> Result<Verified, ShelfError> {
    let file = File::open(&received.temp.0).map_err(io_error("read", &received.temp.0))?;
    let release = Bundle::open_and_verify(BufReader::new(file), trust, Limits::default())
        .and_then(Bundle::check_files)
        .map_err(ShelfError::Refused)?;
    Ok(Verified {
        temp: received.temp,
        dir,
        bundle: received.bundle,
        size: received.size,
        release,
    })
}
