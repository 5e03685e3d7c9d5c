//! Opening the server's store the way its staff commands do (`sync-server/src/cli/mod.rs`):
//! the data directory's shared key lock, the key file, then the store, so loadgen enrolls and
//! counts while `sync-server serve` runs on the same files.
//!
//! Everything after opening sees `Arc<dyn Store>` only. On PostgreSQL (`--store URL`) the data
//! directory still holds the key file and its lock, as it does for `sync-server --store URL`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sync_protocol::personal::CountyKey;
use sync_server::data_dir::{self, DataDir, DataDirError};
use sync_server::key_file::{KeyFile, KeyFileError, KeyLock};
use sync_server::settings::StoreChoice;
use sync_server::store::{Store, StoreError};

/// Where the store is: the server's data directory (its key file's home) and, when the store
/// is not the SQLite file in it, the store's URL (`postgres://…`).
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSpec {
    pub data_dir: PathBuf,
    pub url: Option<String>,
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSpec")
            .field("data_dir", &self.data_dir)
            .field("url", &self.url.as_deref().map(redacted))
            .finish()
    }
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
    let choice = match &spec.url {
        None => {
            // A mistyped --data-dir must not quietly create an empty database to load.
            if !spec.data_dir.join(data_dir::DB_FILE).exists() {
                return Err(OpenError::NoDatabase(spec.data_dir.display().to_string()));
            }
            StoreChoice::Sqlite
        }
        Some(url) if is_postgres(url) => StoreChoice::Postgres(unsynchronised(url)),
        Some(url) => return Err(OpenError::UnknownScheme(redacted(url))),
    };
    let dir = DataDir::create(&spec.data_dir)?;
    let lock = KeyLock::shared(dir.path())?;
    let keys = KeyFile::load(key_file, dir.path())?.keys()?;
    let store = sync_server::server::open_store(&dir, Arc::clone(&keys.ring), &choice).await?;
    Ok(OpenedStore {
        store,
        county_key: keys.county.public_key().clone(),
        _lock: Some(lock),
    })
}

/// `url` with `synchronous_commit=off` for loadgen's own sessions: its writes (enrolling the
/// fleet) are a test fixture that need not survive a crash, and waiting for the disk on each
/// enrollment made 20,000 booths take minutes. The servers it loads keep the URL as given.
fn unsynchronised(url: &str) -> String {
    const SETTING: &str = "-csynchronous_commit%3Doff";
    match url.find("options=") {
        Some(at) => {
            let value_end = url[at..].find('&').map_or(url.len(), |end| at + end);
            format!("{}%20{SETTING}{}", &url[..value_end], &url[value_end..])
        }
        None => {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}options={SETTING}")
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
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

    #[test]
    fn loadgen_alone_does_not_wait_for_the_disk_and_keeps_the_schema() {
        assert_eq!(
            unsynchronised("postgres://u@h/db"),
            "postgres://u@h/db?options=-csynchronous_commit%3Doff"
        );
        assert_eq!(
            unsynchronised("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&options=-csynchronous_commit%3Doff"
        );
        assert_eq!(
            unsynchronised("postgres://u@h/db?options=-csearch_path%3Dc&sslmode=disable"),
            "postgres://u@h/db?options=-csearch_path%3Dc%20-csynchronous_commit%3Doff&sslmode=disable"
        );
        let config: tokio_postgres::Config =
            unsynchronised("postgres://u@h/db?options=-csearch_path%3Dc")
                .parse()
                .unwrap();
        assert_eq!(
            config.get_options(),
            Some("-csearch_path=c -csynchronous_commit=off")
        );
    }

    #[tokio::test]
    async fn a_missing_database_or_an_unknown_store_is_refused_before_anything_is_made() {
        let dir = tempfile_dir();
        let spec = StoreSpec {
            data_dir: dir.join("nothing-here"),
            url: None,
        };
        let key_file = dir.join("keys.json");
        assert!(matches!(
            open(&spec, &key_file).await,
            Err(OpenError::NoDatabase(_))
        ));
        assert!(!dir.join("nothing-here").exists());
        let spec = StoreSpec {
            data_dir: dir.clone(),
            url: Some("mysql://u:p@localhost/x".into()),
        };
        assert!(matches!(
            open(&spec, &key_file).await,
            Err(OpenError::UnknownScheme(url)) if !url.contains(":p@")
        ));
        assert!(!format!("{spec:?}").contains(":p@"));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("loadgen-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
