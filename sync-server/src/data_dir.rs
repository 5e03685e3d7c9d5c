//! Where the server keeps its files: `--data-dir DIR`, else `$SYNC_SERVER_DATA_DIR`, else
//! [`DEFAULT`]. The directory holds the database (`server.sqlite3` and its WAL files) and is
//! created readable by its owner only, because the database holds applicants' personal data.

use std::path::{Path, PathBuf};

/// The environment variable naming the data directory.
pub const ENV: &str = "SYNC_SERVER_DATA_DIR";
/// The data directory when neither the flag nor the variable names one.
pub const DEFAULT: &str = "/var/lib/sync-server";
/// The database file inside the data directory.
pub const DB_FILE: &str = "server.sqlite3";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot create data directory {path}: {source}: pass --data-dir DIR or set {ENV} to a directory you can write"
)]
pub struct DataDirError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// The data directory, resolved and created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The flag's value, else the environment's, else [`DEFAULT`].
    pub fn resolve(flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_owned)
            .or_else(|| {
                std::env::var_os(ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT))
    }

    /// Creates `path` (mode 0700) if it does not exist.
    pub fn create(path: &Path) -> Result<Self, DataDirError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| DataDirError {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn database(&self) -> PathBuf {
        self.path.join(DB_FILE)
    }
}
