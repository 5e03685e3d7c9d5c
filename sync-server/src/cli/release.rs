//! `sync-server release upload FILE` and `sync-server release list [--json]`: what the staff
//! releases page does, for county IT at a terminal.
//!
//! `upload` checks the bundle against the release keys (`--release-keys`, the file `serve`
//! reads), keeps it in the data directory and records the release, audited as `cli`; it
//! prints `release VERSION kept: bundle SHA256 (N bytes), signed by KEYIDS`. A refused
//! bundle changes nothing and the command exits non-zero with the reason on one line.
//! `list` prints one line per release, newest version first.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use sync_server::release_keys::ReleaseKeys;
use sync_server::release_shelf::ReleaseShelf;
use sync_server::release_upload;
use sync_server::settings::DEFAULT_MAX_BUNDLE_BYTES;
use sync_server::store::Store;
use sync_server::store::staff::AuditEntry;

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Verify a signed bundle (made by `booth-release sign`) and keep it as a release.
    Upload {
        /// The bundle file.
        file: PathBuf,
        /// The largest bundle taken, in MiB.
        #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_BUNDLE_BYTES / (1024 * 1024))]
        max_bundle_mib: u64,
    },
    /// List the releases, newest version first.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub async fn run(
        &self,
        store: &dyn Store,
        data_dir: &Path,
        keys_file: &Path,
    ) -> anyhow::Result<()> {
        match self {
            Self::Upload {
                file,
                max_bundle_mib,
            } => upload(store, data_dir, keys_file, file, *max_bundle_mib).await,
            Self::List { json } => list(store, *json).await,
        }
    }
}

async fn upload(
    store: &dyn Store,
    data_dir: &Path,
    keys_file: &Path,
    file: &Path,
    max_mib: u64,
) -> anyhow::Result<()> {
    let keys = ReleaseKeys::load(keys_file)?;
    let shelf = ReleaseShelf::new(data_dir.join(sync_server::release_shelf::DIR));
    let mut source = std::fs::File::open(file)
        .with_context(|| format!("cannot read the bundle {}", file.display()))?;
    let mut incoming = shelf.receive(max_mib.saturating_mul(1024 * 1024))?;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = source
            .read(&mut buffer)
            .with_context(|| format!("cannot read the bundle {}", file.display()))?;
        if read == 0 {
            break;
        }
        incoming.write(&buffer[..read])?;
    }
    let received = incoming.finish()?;
    let audit = AuditEntry::new(Utc::now(), "cli", "release.upload");
    let record = release_upload::take_in(store, &shelf, &keys, received, audit)
        .await
        .with_context(|| format!("{} was not kept", file.display()))?;
    println!(
        "release {} kept: bundle {} ({} bytes), signed by {}",
        record.version,
        record.bundle,
        record.size,
        record.summary.signed_by.join(", ")
    );
    Ok(())
}

async fn list(store: &dyn Store, json: bool) -> anyhow::Result<()> {
    let releases = store.list_releases().await?;
    if json {
        let rows: Vec<serde_json::Value> = releases
            .iter()
            .map(|r| {
                serde_json::json!({
                    "version": r.version,
                    "bundle": r.bundle,
                    "size": r.size,
                    "summary": r.summary,
                    "uploaded_by": r.uploaded_by,
                    "uploaded_at": r.uploaded_at,
                })
            })
            .collect();
        return output::print_json(&rows);
    }
    if releases.is_empty() {
        println!("no releases: upload one with `sync-server release upload FILE`");
        return Ok(());
    }
    for r in &releases {
        println!(
            "{}  from {}  {} bytes  bundle {}  signed by {}  uploaded by {} at {}",
            r.version,
            r.summary.min_version,
            r.size,
            r.bundle,
            r.summary.signed_by.join(","),
            r.uploaded_by,
            output::time(r.uploaded_at)
        );
    }
    Ok(())
}
