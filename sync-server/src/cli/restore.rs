//! `sync-server restore --from FILE [--pg-bin DIR]`: a backup from `sync-server backup` put
//! back into an EMPTY store (see `sync_server::store::transfer::backup`), checked with the key
//! file, as the server will open it.
//!
//! SQLite: into a data directory that has no database (a new one, or one whose database was
//! moved aside); the directory's key lock is taken exclusively, so it is refused while a
//! server uses the directory. PostgreSQL (`--store postgres://…`): `pg_restore` into an
//! empty schema of the dumped schema's name (or one that does not exist yet), in one
//! transaction.
//!
//! Output: each table's rows and digest as restored (what `backup` printed, unless opening
//! re-sealed a backup made before a key rotation, which it then says).

use std::path::PathBuf;

use anyhow::bail;
use sync_server::data_dir::DataDir;
use sync_server::key_file::{KeyFile, KeyLock};
use sync_server::settings::StoreChoice;
use sync_server::store::transfer::backup;

use super::Paths;
use super::backup::{PgBin, print_tables};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup to restore, as `sync-server backup` wrote it.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    #[command(flatten)]
    pg: PgBin,
}

impl Args {
    pub async fn run(&self, paths: &Paths) -> anyhow::Result<()> {
        if !self.from.is_file() {
            bail!("no backup at {}", self.from.display());
        }
        let report = match &paths.store {
            StoreChoice::Sqlite => {
                let dir = DataDir::create(&paths.data_dir)?;
                let _lock = KeyLock::exclusive(dir.path())?;
                let keys = KeyFile::load(&paths.key_file, dir.path())?.keys()?;
                let from = self.from.clone();
                let database = dir.database();
                tokio::task::spawn_blocking(move || {
                    backup::restore_sqlite(&from, &database, keys.ring)
                })
                .await??
            }
            StoreChoice::Postgres(url) => {
                let keys = KeyFile::load(&paths.key_file, &paths.data_dir)?.keys()?;
                backup::restore_postgres(&self.from, url, keys.ring, &self.pg.tools()).await?
            }
        };
        match &report.schema {
            Some(schema) => println!(
                "restored {} into PostgreSQL schema {schema}",
                self.from.display()
            ),
            None => println!(
                "restored {} into {}",
                self.from.display(),
                paths.data_dir.display()
            ),
        }
        print_tables(&report.tables);
        if report.resealed > 0 {
            println!(
                "re-sealed {} values under the key file's newest at-rest key (the backup was \
                 made before a rotation; those tables' digests differ from the backup's)",
                report.resealed
            );
        }
        println!("the key file opens it: start the server");
        Ok(())
    }
}
