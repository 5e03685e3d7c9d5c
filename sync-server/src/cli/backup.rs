//! `sync-server backup --to FILE [--pg-bin DIR]`: a consistent backup of the store while the
//! server runs (see `sync_server::store::transfer::backup`). SQLite: `VACUUM INTO` a new file.
//! PostgreSQL (`--store postgres://…`): `pg_dump --format=custom` of the store's schema,
//! with the pg_dump of the server's major version (`--pg-bin`, else `PATH`).
//!
//! Output: the file, its size and, for SQLite, each table's rows and digest (a restore prints
//! the same). The key file is not in the backup: keep it apart, it opens the personal data.

use std::path::PathBuf;

use sync_server::settings::StoreChoice;
use sync_server::store::transfer::TableDigest;
use sync_server::store::transfer::backup::{self, BackupReport, PgTools};

use super::Paths;

/// Where pg_dump and pg_restore are looked for when `--pg-bin` is not given.
const PG_BIN_ENV: &str = "SYNC_SERVER_PG_BIN";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to write; never overwritten.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    #[command(flatten)]
    pg: PgBin,
}

#[derive(Debug, clap::Args)]
pub struct PgBin {
    /// PostgreSQL only: the directory holding pg_dump and pg_restore of the server's major
    /// version, e.g. /usr/lib/postgresql/15/bin [env: SYNC_SERVER_PG_BIN] [default: PATH].
    #[arg(long, value_name = "DIR")]
    pg_bin: Option<PathBuf>,
}

impl PgBin {
    pub fn tools(&self) -> PgTools {
        PgTools {
            dir: self
                .pg_bin
                .clone()
                .or_else(|| std::env::var_os(PG_BIN_ENV).map(PathBuf::from)),
        }
    }
}

impl Args {
    pub async fn run(&self, paths: &Paths) -> anyhow::Result<()> {
        let report = match &paths.store {
            StoreChoice::Sqlite => {
                let dir = super::existing_data_dir(&paths.data_dir)?;
                let to = self.to.clone();
                tokio::task::spawn_blocking(move || backup::backup_sqlite(&dir.database(), &to))
                    .await??
            }
            StoreChoice::Postgres(url) => {
                backup::backup_postgres(url, &self.to, &self.pg.tools()).await?
            }
        };
        print_backup(&report);
        Ok(())
    }
}

fn print_backup(report: &BackupReport) {
    match (&report.schema, &report.tool) {
        (Some(schema), Some(tool)) => println!(
            "backed up PostgreSQL schema {schema} to {} ({} bytes) with {tool}",
            report.path.display(),
            report.bytes
        ),
        _ => println!(
            "backed up the SQLite store to {} ({} bytes)",
            report.path.display(),
            report.bytes
        ),
    }
    print_tables(&report.tables);
    println!(
        "keep the key file apart from this backup: its personal data opens only with it; copy \
         the data directory's enroll-codes.key and releases/ as well"
    );
}

/// A line per table: rows and digest.
pub fn print_tables(tables: &[TableDigest]) {
    for digest in tables {
        println!(
            "  {:<18} {:>10} rows  {}",
            digest.table,
            digest.rows,
            digest.short()
        );
    }
}
