//! Moving a store's rows whole: `sync-server migrate-store` (a county's SQLite store into an
//! empty PostgreSQL one), `backup` and `restore` (each store in its own tool's format), and
//! the per-table digests that show two stores hold the same values.
//!
//! - [`tables`]: every table and column, in copy order; a table missing from it fails the
//!   schema checks, so none is forgotten silently.
//! - [`value`], [`digest`]: a value as the store means it and the canonical encoding hashed
//!   per table.
//! - [`sqlite_source`], [`postgres_target`]: reading, checking and digesting each side;
//!   [`migrate`]: the copy itself; [`backup`]: `VACUUM INTO`, pg_dump and pg_restore.
//!
//! Rows are copied as they are, sealed values included: a sealed value names its table,
//! column and row key, the same in both schemas, so it opens in PostgreSQL with the same key
//! file. Nothing here unseals to copy.

pub mod backup;
pub mod digest;
pub mod migrate;
pub mod postgres_target;
pub mod sqlite_source;
pub mod tables;
pub mod value;

use std::collections::BTreeMap;

pub use self::digest::{TableCheck, TableDigest};
pub use self::migrate::{IdentityMove, MigrationReport, migrate_store};
pub use self::tables::TABLES;
use crate::store::StoreError;
use crate::store::sealed_columns::{SEAL_CHECK, SEAL_CHECK_ROW, SEAL_CHECK_TEXT};
use crate::store::sealing::KeyRing;

/// Why a copy, backup or restore did not happen (or did not check out).
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot {operation} (SQLite file {path}): {source}")]
    Sqlite {
        operation: &'static str,
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("PostgreSQL failed to {operation}: {source}")]
    Postgres {
        operation: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot connect to PostgreSQL at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error(
        "the {side} schema is not the one this sync-server copies ({detail}): use the \
         sync-server release that wrote the store"
    )]
    Schema { side: &'static str, detail: String },
    #[error(
        "{table}.{column} holds a value that is not {expected} (row {row} in key order): the \
         database was changed by hand"
    )]
    BadValue {
        table: &'static str,
        column: &'static str,
        expected: &'static str,
        row: u64,
    },
    #[error(
        "the PostgreSQL store is not empty ({tables} hold rows): it fills an empty store only; \
         give a new database, or a new schema with options=-csearch_path=NAME in the URL (or \
         drop this schema's tables if nothing in them is needed)"
    )]
    NotEmpty { tables: String },
    #[error(
        "the store is sealed under at-rest key {under}, not under the key file's newest ({newest}): \
         open it once with this key file to finish re-sealing (any staff command, e.g. \
         `sync-server kiosk list`), then try again"
    )]
    NotUnderNewestKey { under: String, newest: u32 },
    #[error("the copy stopped: {0}")]
    Interrupted(&'static str),
    #[error(
        "{tool} is not installed (no {path}): install the PostgreSQL client of the server's \
         major version (apt-get install postgresql-client-{server_major}) or pass --pg-bin \
         DIR (e.g. /usr/lib/postgresql/{server_major}/bin)"
    )]
    ToolMissing {
        tool: &'static str,
        path: String,
        server_major: u32,
    },
    #[error(
        "{tool} is version {found} but the PostgreSQL server is {server_major}: {tool}'s major \
         version must match the server's, so its archives restore with the server's own tools; \
         install postgresql-client-{server_major} and pass --pg-bin \
         /usr/lib/postgresql/{server_major}/bin"
    )]
    ToolVersion {
        tool: &'static str,
        found: String,
        server_major: u32,
    },
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed {
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error("cannot {operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} exists already: a backup never overwrites a file, give a new name")]
    BackupExists { path: String },
    #[error(
        "there is a database in {dir} already: restore fills a data directory without one \
         (pass a new --data-dir, or move {file} aside once the server is stopped)"
    )]
    DatabaseExists { dir: String, file: String },
    #[error("{path} is not {expected}")]
    NotABackup { path: String, expected: String },
    #[error(
        "the backup holds PostgreSQL schema `{dump}` but the store's URL names schema \
         `{target}`: a dump restores into a schema of its own name; use \
         options=-csearch_path={dump} in the URL, in an empty database"
    )]
    SchemaName { dump: String, target: String },
    #[error(
        "PostgreSQL schema `{schema}` is not empty (it holds {objects}): restore fills an empty \
         schema; give a new database, or drop what the schema holds if nothing in it is needed"
    )]
    SchemaNotEmpty { schema: String, objects: String },
    #[error("no schema to restore into: {0}")]
    NoSchema(String),
    #[error("{path} fails SQLite's integrity check: {detail}")]
    Integrity { path: String, detail: String },
}

impl TransferError {
    fn postgres(operation: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Self {
        move |source| Self::Postgres { operation, source }
    }

    fn io(operation: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.display().to_string();
        move |source| Self::Io {
            operation,
            path,
            source,
        }
    }
}

/// Checks, from a store's `meta` rows alone, that `keys` open the store: what the store's own
/// open checks, without writing. A store sealed under an older key of the file passes (opening
/// it re-seals); see [`check_sealed_under_newest`].
pub fn check_keys(meta: &BTreeMap<String, String>, keys: &KeyRing) -> Result<(), TransferError> {
    let mismatch = |detail: &str| {
        TransferError::Store(StoreError::KeysDoNotMatch {
            detail: detail.into(),
        })
    };
    match meta.get("lookup_check") {
        Some(stored) if *stored == keys.lookup_check() => {}
        Some(_) => return Err(mismatch("its lookup key is not the database's")),
        None => return Err(mismatch("the database has no key check")),
    }
    let check = meta
        .get(SEAL_CHECK_ROW)
        .ok_or_else(|| mismatch("the database has no key check"))?;
    match keys.open(SEAL_CHECK.place(SEAL_CHECK_ROW), check) {
        Ok(text) if text == SEAL_CHECK_TEXT => Ok(()),
        _ => Err(mismatch(
            "its at-rest keys do not open the database's key check",
        )),
    }
}

/// Checks that everything in the store is sealed under the newest key of `keys`, so opening it
/// re-seals nothing (a copy verified before it is opened stays as verified).
pub fn check_sealed_under_newest(
    meta: &BTreeMap<String, String>,
    keys: &KeyRing,
) -> Result<(), TransferError> {
    let under = meta.get("sealed_under").cloned().unwrap_or_default();
    if under == keys.newest().to_string() {
        Ok(())
    } else {
        Err(TransferError::NotUnderNewestKey {
            under,
            newest: keys.newest(),
        })
    }
}
