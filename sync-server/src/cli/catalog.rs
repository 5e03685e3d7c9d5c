//! `sync-server catalog import FILE [--json]`.
//!
//! Text: `imported FILE: A added, U updated, W withdrawn, S unchanged`, then one line per
//! changed item (`added GX-SB-001`). `--json`: `{"added": [...], "updated": [...],
//! "unchanged": [...], "withdrawn": [...]}` (item codes).
//!
//! Each new version joins the item's history as published by `import`; drafts staff are
//! preparing in the web editor are kept (see [`sync_server::domain::catalog`]).

use std::path::PathBuf;

use chrono::Utc;
use sync_server::domain::catalog;
use sync_server::store::Store;

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Replace the catalogue with a file's items: changed items get a new version, items
    /// missing from the file are withdrawn.
    Import {
        /// The catalogue JSON (see sync-server/seed/catalog.json).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub async fn run(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::Import { file, json } => {
                let items = catalog::read_file(file)?;
                let report = store.import_catalog(items, Utc::now()).await?;
                if *json {
                    return output::print_json(&report);
                }
                println!(
                    "imported {}: {} added, {} updated, {} withdrawn, {} unchanged",
                    file.display(),
                    report.added.len(),
                    report.updated.len(),
                    report.withdrawn.len(),
                    report.unchanged.len()
                );
                for (verb, codes) in [
                    ("added", &report.added),
                    ("updated", &report.updated),
                    ("withdrawn", &report.withdrawn),
                ] {
                    for code in codes {
                        println!("{verb} {code}");
                    }
                }
                Ok(())
            }
        }
    }
}
