//! Opening the server's store the way its staff commands do (`sync-server/src/cli/mod.rs`):
//! the data directory's shared key lock, the key file, then the store, so loadgen enrolls and
//! counts while `sync-server serve` runs on the same files.
//!
//! Everything after opening sees `Arc<dyn Store>` only: a PostgreSQL store
//! (`sync_server::store::postgres::PostgresStore::open(url, keys.ring)`) joins as one more
//! arm of [`open`] behind `--store URL`, and nothing else changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sync_protocol::personal::CountyKey;
use sync_server::data_dir::{self, DataDir, DataDirError};
use sync_server::key_file::{KeyFile, KeyFileError, KeyLock};
use sync_server::settings::StoreChoice;
use sync_server::store::{Store, StoreError};

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// The SQLite store in a server's data directory.
    Sqlite { data_dir: PathBuf },
    /// A store named by URL (`postgres://…`).
    Url(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "no server database in {0}: pass the --data-dir the server uses (create it with `sync-server keys init` and `catalog import`)"
    )]
    NoDatabase(String),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "--store {0}: this build has no PostgreSQL store yet; use --data-dir for the SQLite one"
    )]
    NoPostgres(String),
    #[error("--store {0}: only postgres:// URLs name a store")]
    UnknownScheme(String),
}

/// An open store with what must live as long as it: the key lock (no key rotation while
/// loadgen seals with the keys) and the county's public key booths seal to.
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    pub county_key: CountyKey,
    _lock: Option<KeyLock>,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("county_key", &self.county_key)
            .finish_non_exhaustive()
    }
}

/// Opens the store `spec` names, sealed with the keys in `key_file`.
pub async fn open(spec: &StoreSpec, key_file: &Path) -> Result<OpenedStore, OpenError> {
    match spec {
        StoreSpec::Sqlite { data_dir } => open_sqlite(data_dir, key_file).await,
        StoreSpec::Url(url)
            if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
        {
            Err(OpenError::NoPostgres(redacted(url)))
        }
        StoreSpec::Url(url) => Err(OpenError::UnknownScheme(redacted(url))),
    }
}

async fn open_sqlite(data_dir: &Path, key_file: &Path) -> Result<OpenedStore, OpenError> {
    // A mistyped --data-dir must not quietly create an empty database to load.
    if !data_dir.join(data_dir::DB_FILE).exists() {
        return Err(OpenError::NoDatabase(data_dir.display().to_string()));
    }
    let dir = DataDir::create(data_dir)?;
    let lock = KeyLock::shared(dir.path())?;
    let keys = KeyFile::load(key_file, dir.path())?.keys()?;
    let store =
        sync_server::server::open_store(&dir, Arc::clone(&keys.ring), &StoreChoice::Sqlite).await?;
    Ok(OpenedStore {
        store,
        county_key: keys.county.public_key().clone(),
        _lock: Some(lock),
    })
}

/// A store URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("postgres://load:secret@127.0.0.1/county"),
            "postgres://load:***@127.0.0.1/county"
        );
        assert_eq!(
            redacted("postgres://127.0.0.1/county"),
            "postgres://127.0.0.1/county"
        );
    }

    #[tokio::test]
    async fn a_missing_database_or_an_unknown_store_is_refused_before_anything_is_made() {
        let dir = tempfile_dir();
        let spec = StoreSpec::Sqlite {
            data_dir: dir.join("nothing-here"),
        };
        let key_file = dir.join("keys.json");
        assert!(matches!(
            open(&spec, &key_file).await,
            Err(OpenError::NoDatabase(_))
        ));
        assert!(!dir.join("nothing-here").exists());
        assert!(matches!(
            open(&StoreSpec::Url("postgres://u:p@localhost/x".into()), &key_file).await,
            Err(OpenError::NoPostgres(url)) if !url.contains(":p@")
        ));
        assert!(matches!(
            open(&StoreSpec::Url("mysql://localhost/x".into()), &key_file).await,
            Err(OpenError::UnknownScheme(_))
        ));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("loadgen-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
