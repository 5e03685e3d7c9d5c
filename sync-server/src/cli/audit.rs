//! `sync-server audit verify|export`: the audit log's hash chain (数据信息溯源).
//!
//! On SQLite both open the database read-only and never migrate it, so they run on a copy
//! (`--db FILE`) as well as beside the running server, and change nothing. On PostgreSQL
//! (`--store postgres://…`) they open the store as every staff command does and only read. Both walk the chain a page at a
//! time: memory does not grow with the log.
//!
//! A chain shows a changed, removed or inserted line, but not a cut tail: the lines left are
//! an intact, shorter chain. `export` prints the head (seq and hash) to keep away from the
//! server, on paper or another machine; `verify --expect-head SEQ:HASH` then also checks the
//! log still reaches that line with that hash. `export` refuses to print the head of a broken
//! chain, so a head kept is always one that checked out.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sync_server::data_dir;
use sync_server::settings::StoreChoice;
use sync_server::store::Store;
use sync_server::store::audit_chain::{self, ChainVerdict, ChainedAudit, KeptHead};
use sync_server::store::sqlite::SqliteStore;

use super::output;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Walk the audit chain from its first line and name the first broken link (exits
    /// non-zero if there is one).
    Verify {
        /// A head kept from `audit export` (SEQ:HASH): also check the log still reaches it,
        /// which shows lines cut from the end.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<KeptHead>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Check the chain, then print its head to keep away from the server (and with --rows,
    /// write every line as JSON, one a line).
    Export {
        /// Also write every line, with its hashes, as JSON lines to this new file.
        #[arg(long, value_name = "FILE")]
        rows: Option<PathBuf>,
        /// Print the head as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct DbArg {
    /// The database file to read, e.g. a copy (default: the one in the data directory).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

impl DbArg {
    fn open(&self, data_dir: &Path) -> anyhow::Result<SqliteStore> {
        let path = self
            .db
            .clone()
            .unwrap_or_else(|| data_dir.join(data_dir::DB_FILE));
        if !path.is_file() {
            bail!(
                "no server database at {}: pass --db FILE, or the --data-dir the server uses",
                path.display()
            );
        }
        SqliteStore::open_read_only(&path)
            .with_context(|| format!("cannot read the audit log in {}", path.display()))
    }
}

impl Command {
    pub async fn run(&self, paths: &super::Paths) -> anyhow::Result<()> {
        let (Self::Verify { db, .. } | Self::Export { db, .. }) = self;
        if let (StoreChoice::Postgres(_), None) = (&paths.store, &db.db) {
            let opened = super::open_existing(paths).await?;
            return self.run_on(opened.store()).await;
        }
        let store = db.open(&paths.data_dir)?;
        self.run_on(&store).await
    }

    async fn run_on(&self, store: &dyn Store) -> anyhow::Result<()> {
        match self {
            Self::Verify { expect_head, .. } => {
                let verdict = audit_chain::verify(store, *expect_head).await?;
                println!("{}", intact(verdict, expect_head.as_ref())?);
                Ok(())
            }
            Self::Export { rows, json, .. } => export(store, rows.as_deref(), *json).await,
        }
    }
}

/// The line an intact chain prints; a broken one is the command's error.
fn intact(verdict: ChainVerdict, kept: Option<&KeptHead>) -> anyhow::Result<String> {
    let (rows, head) = match verdict {
        ChainVerdict::Broken(broken) => bail!("{broken}"),
        ChainVerdict::Intact { rows, head, .. } => (rows, head),
    };
    let Some(head) = head else {
        return Ok("audit chain intact: 0 rows (the log is empty)".into());
    };
    let mut line = format!(
        "audit chain intact: {rows} rows, head seq {} hash {}",
        head.seq, head.hash
    );
    if let Some(kept) = kept {
        line.push_str(&format!(", reaching the kept head seq {}", kept.seq));
    }
    Ok(line)
}

async fn export(store: &dyn Store, rows: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let mut file = rows.map(RowsFile::create).transpose()?;
    let verdict = audit_chain::verify_each(store, None, |line| {
        if let Some(file) = &mut file {
            file.write(line);
        }
    })
    .await?;
    let (count, head) = match verdict {
        ChainVerdict::Broken(broken) => {
            if let Some(file) = file {
                file.discard();
            }
            bail!("{broken}; no head exported: a kept head must be one that checked out");
        }
        ChainVerdict::Intact { rows, head, .. } => (rows, head),
    };
    if let Some(file) = file {
        file.finish()?;
    }
    let server_id = store.server_id().await?;
    if json {
        return output::print_json(&serde_json::json!({
            "server_id": server_id,
            "rows": count,
            "head": head.map(|head| serde_json::json!({
                "seq": head.seq,
                "hash": head.hash.to_string(),
                "at": head.at,
                "expect_head": KeptHead { seq: head.seq, hash: head.hash }.to_string(),
            })),
        }));
    }
    let Some(head) = head else {
        println!("the audit log of server {server_id} is empty: no head to keep yet");
        return Ok(());
    };
    let kept = KeptHead {
        seq: head.seq,
        hash: head.hash,
    };
    println!("audit chain head of server {server_id} ({count} rows, intact)");
    println!("  seq:  {}", head.seq);
    println!("  hash: {}", head.hash);
    println!("  at:   {}", output::time(head.at));
    println!("Keep it away from this server (on paper, on another machine). To check later that");
    println!("the log still reaches it unchanged:");
    println!("  sync-server audit verify --expect-head {kept}");
    Ok(())
}

/// The `--rows` file: new (never over another file), readable by its owner only (it names
/// staff and their addresses), removed again if the export fails.
struct RowsFile {
    path: PathBuf,
    out: BufWriter<File>,
    failed: Option<std::io::Error>,
}

impl RowsFile {
    fn create(path: &Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| {
                format!(
                    "cannot create {} for the audit rows (an existing file is never \
                     overwritten: pick a new name)",
                    path.display()
                )
            })?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
            failed: None,
        })
    }

    /// Writes `line`; the first error is kept for [`Self::finish`] and stops further writes.
    fn write(&mut self, line: &ChainedAudit) {
        if self.failed.is_some() {
            return;
        }
        let entry = &line.record.entry;
        let value = serde_json::json!({
            "seq": line.record.seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "detail": entry.detail,
            "remote": entry.remote,
            "prev_hash": line.prev_hash.to_string(),
            "hash": line.hash.to_string(),
        });
        let written = serde_json::to_writer(&mut self.out, &value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(error) = written {
            self.failed = Some(error);
        }
    }

    fn finish(mut self) -> anyhow::Result<()> {
        let done = match self.failed.take() {
            Some(error) => Err(error),
            None => self
                .out
                .flush()
                .and_then(|()| self.out.get_ref().sync_all()),
        };
        if let Err(error) = done {
            let path = self.path.clone();
            self.discard();
            return Err(error).with_context(|| {
                format!(
                    "cannot write the audit rows to {} (removed again)",
                    path.display()
                )
            });
        }
        Ok(())
    }

    fn discard(self) {
        let Self { path, out, .. } = self;
        drop(out);
        let _ = std::fs::remove_file(path);
    }
}
