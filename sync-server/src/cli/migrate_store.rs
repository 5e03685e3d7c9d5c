//! `sync-server migrate-store --to postgres://… [--from FILE]`: copies a county's SQLite store
//! (the data directory's, or a snapshot) into an empty PostgreSQL store, table by table in one
//! PostgreSQL transaction, and verifies it before committing (see
//! `sync_server::store::transfer::migrate`).
//!
//! The SQLite file is opened read-only. Copying the data directory's own file takes the key
//! lock exclusively, so it is refused while `serve` or a staff command uses the directory:
//! rows a running server wrote after the copy's snapshot would be left behind. While the
//! server must keep running, copy a snapshot (`sync-server backup --to FILE`) and migrate
//! that with `--from FILE`; what arrives after the snapshot is then not in PostgreSQL.
//!
//! Output: progress on stderr (`copied TABLE: N rows`); on stdout a line per table (rows on
//! each side, the digest, `same` or `DIFFERS`), each identity's next value, the audit chain
//! walked on PostgreSQL, the sealed values opened with the key file, and the time taken.
//! Exits non-zero when a table differs (nothing is committed then), when the chain does not
//! verify, or when a sealed value does not open.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use sync_server::key_file::{KeyFile, KeyFileError, KeyLock};
use sync_server::settings::StoreChoice;
use sync_server::store::audit_chain::ChainVerdict;
use sync_server::store::transfer::{MigrationReport, migrate_store};

use super::Paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The empty PostgreSQL store to fill: postgres://user@host:port/db, with
    /// `?options=-csearch_path%3DSCHEMA` for a schema other than the user's default (the URL
    /// `serve --store` will be given).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The SQLite store to copy, e.g. a snapshot made with `sync-server backup` [default: the
    /// data directory's].
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
}

impl Args {
    pub async fn run(&self, paths: &Paths) -> anyhow::Result<()> {
        let StoreChoice::Postgres(url) = self.to.parse::<StoreChoice>()? else {
            bail!("--to takes a PostgreSQL URL (postgres://user@host:port/db), not `sqlite`");
        };
        let (source, _lock) = match &self.from {
            Some(file) => {
                if !file.is_file() {
                    bail!(
                        "no SQLite store at {}: pass the file to copy",
                        file.display()
                    );
                }
                (file.clone(), None)
            }
            None => {
                let dir = super::existing_data_dir(&paths.data_dir)?;
                let lock = KeyLock::exclusive(dir.path()).map_err(|error| match error {
                    KeyFileError::InUse { .. } | KeyFileError::Rotating { .. } => anyhow!(
                        "the server or a staff command is using data directory {}: stop the \
                         server first (systemctl stop sync-server), or copy a snapshot while it \
                         runs (sync-server backup --to FILE) and migrate that with --from FILE",
                        dir.path().display()
                    ),
                    other => other.into(),
                })?;
                (dir.database(), Some(lock))
            }
        };
        let keys = KeyFile::load(&paths.key_file, &paths.data_dir)?.keys()?;
        eprintln!(
            "copying {} (opened read-only; the server must stay stopped until the copy is \
             done, or copy a `sync-server backup` snapshot with --from)",
            source.display()
        );
        let report = migrate_store(&source, &url, keys.ring, |digest| {
            eprintln!("copied {}: {} rows", digest.table, digest.rows);
        })
        .await
        .with_context(|| format!("cannot migrate {}", source.display()))?;
        print_report(&report);
        conclude(&report)
    }
}

fn print_report(report: &MigrationReport) {
    println!(
        "{:<18} {:>12} {:>15}  {:<16}  check",
        "table", "SQLite rows", "PostgreSQL rows", "digest"
    );
    for check in &report.tables {
        println!(
            "{:<18} {:>12} {:>15}  {:<16}  {}",
            check.table,
            check.source.rows,
            check.target.rows,
            check.source.short(),
            if check.matches() { "same" } else { "DIFFERS" }
        );
    }
    if !report.committed {
        return;
    }
    let identities: Vec<String> = report
        .identities
        .iter()
        .map(|moved| format!("{}.{} {}", moved.table, moved.column, moved.next))
        .collect();
    println!("next identities: {}", identities.join(", "));
    match &report.chain {
        Some(ChainVerdict::Intact {
            rows,
            head: Some(head),
            ..
        }) => println!(
            "audit chain on PostgreSQL: intact, {rows} rows, head seq {} hash {}",
            head.seq, head.hash
        ),
        Some(ChainVerdict::Intact { head: None, .. }) => {
            println!("audit chain on PostgreSQL: intact, 0 rows");
        }
        Some(ChainVerdict::Broken(broken)) => println!("audit chain on PostgreSQL: {broken}"),
        None => {}
    }
    println!(
        "sealed values opened with the key file: {}",
        report.sealed_opened
    );
    println!("took {:.1} s", report.elapsed.as_secs_f64());
}

fn conclude(report: &MigrationReport) -> anyhow::Result<()> {
    let differing: Vec<&str> = report.mismatches().map(|check| check.table).collect();
    if !report.committed {
        bail!(
            "the copy does not match the SQLite store ({} differ): nothing was committed, the \
             PostgreSQL store is as empty as before",
            differing.join(", ")
        );
    }
    if let Some(ChainVerdict::Broken(broken)) = &report.chain {
        bail!(
            "the rows are in PostgreSQL, but {broken} (the copy is faithful: the SQLite store's \
             chain breaks at the same line, see `sync-server audit verify --db FILE`)"
        );
    }
    println!(
        "migrated: start the server with --store set to the --to URL (or SYNC_SERVER_STORE), and \
         keep the SQLite file as it is until the county has run on PostgreSQL for a while"
    );
    Ok(())
}
