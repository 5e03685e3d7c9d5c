//! `sync-server keys init [PATH]`, `keys list [--json]`, `keys rotate`, `keys drop ID`: the
//! key file personal data is sealed with (see `docs/personal-data.md`).
//!
//! `rotate` and `drop` take the data directory's key lock exclusively, so they refuse to run
//! while `serve` or another command uses the keys: a server still sealing with the key being
//! retired would write rows nothing opens once it is dropped.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::Utc;
use serde_json::json;
use sync_server::key_file::{KeyFile, KeyLock, ServerKeys};
use sync_server::server;
use sync_server::store::Store;

use super::{Paths, output, store_data_dir};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a new key file (mode 0600; never overwrites). Keep it outside the data
    /// directory and back it up apart from the database: without it the database's personal
    /// data cannot be read.
    Init {
        /// Where to create it [default: --key-file, else SYNC_SERVER_KEY_FILE, else
        /// /etc/sync-server/keys.json].
        path: Option<std::path::PathBuf>,
    },
    /// The at-rest keys (ids and dates, never the keys) and the county key booths seal to.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a new at-rest key and re-seal every stored value under it. Stop the server first.
    Rotate,
    /// Remove an old at-rest key once nothing in the database is sealed with it. Stop the
    /// server first.
    Drop {
        /// The key's id, as `keys list` shows it.
        id: u32,
    },
}

impl Command {
    pub async fn run(&self, paths: &Paths) -> anyhow::Result<()> {
        match self {
            Self::Init { path } => init(path.as_deref().unwrap_or(&paths.key_file), paths),
            Self::List { json } => list(paths, *json),
            Self::Rotate => rotate(paths).await,
            Self::Drop { id } => drop_key(paths, *id).await,
        }
    }
}

fn init(path: &std::path::Path, paths: &Paths) -> anyhow::Result<()> {
    let file = KeyFile::init(path, &paths.data_dir, Utc::now())?;
    let keys = file.keys()?;
    println!("created key file {} (mode 0600)", path.display());
    println!("county key: {}", keys.county.public_key());
    println!(
        "back it up apart from the database: without it the personal data in the database cannot be read"
    );
    Ok(())
}

fn list(paths: &Paths, json: bool) -> anyhow::Result<()> {
    let file = KeyFile::load(&paths.key_file, &paths.data_dir)?;
    let keys = file.keys()?;
    let at_rest = file.at_rest();
    let newest = keys.ring.newest();
    if json {
        return output::print_json(&json!({
            "key_file": paths.key_file.display().to_string(),
            "at_rest": at_rest.iter().map(|k| json!({
                "id": k.id,
                "created_at": k.created_at,
                "seals": k.id == newest,
            })).collect::<Vec<_>>(),
            "county_key": keys.county.public_key().to_string(),
        }));
    }
    println!("key file: {}", paths.key_file.display());
    for key in &at_rest {
        println!(
            "at-rest key {}: created {}{}",
            key.id,
            output::time(key.created_at),
            if key.id == newest { " (seals)" } else { "" }
        );
    }
    println!("county key: {}", keys.county.public_key());
    Ok(())
}

/// Opens the store with `keys`: refuses keys that are not the database's, and brings every
/// value under their newest at-rest key.
async fn open(
    dir: &sync_server::data_dir::DataDir,
    keys: &ServerKeys,
    paths: &Paths,
) -> anyhow::Result<Arc<dyn Store>> {
    Ok(server::open_store(dir, Arc::clone(&keys.ring), &paths.store).await?)
}

async fn rotate(paths: &Paths) -> anyhow::Result<()> {
    let dir = store_data_dir(paths)?;
    let _lock = KeyLock::exclusive(dir.path())?;
    let mut file = KeyFile::load(&paths.key_file, dir.path())?;
    // The old keys must open the database before anything changes: a wrong key file is
    // refused here, untouched.
    drop(open(&dir, &file.keys()?, paths).await?);
    let old: Vec<u32> = file.at_rest().iter().map(|k| k.id).collect();
    let id = file.add_at_rest_key(Utc::now());
    // Written before anything is sealed with the new key, so no crash can leave a value
    // sealed with a key the file lacks; an interrupted re-sealing is finished by the next
    // start.
    file.save()?;
    let store = open(&dir, &file.keys()?, paths).await.with_context(|| {
        format!(
            "at-rest key {id} was added to {} but re-sealing stopped: run `sync-server keys rotate` again or start the server, either finishes it",
            paths.key_file.display()
        )
    })?;
    let report = store.sealed_at_open();
    println!(
        "at-rest key {id} added and now seals; {} values re-sealed under it ({} were not yet sealed)",
        report.resealed + report.sealed,
        report.sealed
    );
    for old in old {
        println!(
            "at-rest key {old} no longer seals anything in the database: `sync-server keys drop {old}` once no backup you may need to restore was made under it"
        );
    }
    Ok(())
}

async fn drop_key(paths: &Paths, id: u32) -> anyhow::Result<()> {
    let dir = store_data_dir(paths)?;
    let _lock = KeyLock::exclusive(dir.path())?;
    let mut file = KeyFile::load(&paths.key_file, dir.path())?;
    let keys = file.keys()?;
    // In memory first: the newest key, or one the file lacks, is refused before anything else.
    file.drop_at_rest_key(id)?;
    let store = open(&dir, &keys, paths).await?;
    let still = store.count_sealed_with(id).await?;
    if still > 0 {
        bail!(
            "{still} values in the database are still sealed with at-rest key {id}: run `sync-server keys rotate` first"
        );
    }
    drop(store);
    file.save()?;
    println!(
        "at-rest key {id} removed from {}; backups sealed with it need a copy of the key file from before",
        paths.key_file.display()
    );
    Ok(())
}
