//! Command-line entry points: one module per command group. Each command opens the store in
//! the data directory itself, so staff commands work while `serve` runs in another process.

mod audit;
mod backup;
mod calendar;
mod catalog;
mod enroll_code;
mod keys;
mod kiosk;
mod migrate_store;
mod notice;
mod output;
mod release;
mod restore;
mod rollout;
mod serve;
mod staff;
mod submissions;
mod tls_fingerprint;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use sync_server::api::enroll_codes::CodeSecret;
use sync_server::data_dir::{self, DataDir};
use sync_server::key_file::{KeyFile, KeyLock};
use sync_server::release_keys::ReleaseKeys;
use sync_server::settings::StoreChoice;
use sync_server::store::Store;

/// The county sync server for village booths.
///
/// `serve` runs the kiosk API; the other commands are for staff and work while it runs:
/// issue enrollment codes, list and revoke kiosks, import the catalogue, publish notices,
/// move submissions along, upload releases and roll them out, check the audit log's chain,
/// and back the store up. `migrate-store` (to PostgreSQL) and `restore` run with the server
/// stopped.
#[derive(Debug, Parser)]
#[command(name = "sync-server", version)]
pub struct Cli {
    /// Where the server keeps its database [env: SYNC_SERVER_DATA_DIR] [default:
    /// /var/lib/sync-server].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// The key file personal data is sealed with, kept outside the data directory and
    /// readable by its owner only; create it with `keys init` [env: SYNC_SERVER_KEY_FILE]
    /// [default: /etc/sync-server/keys.json].
    #[arg(long, global = true, value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// The release public keys uploaded bundles are verified against: `ed25519:…` lines, as
    /// `booth-release keygen` prints them; no file, no uploads [env: SYNC_SERVER_RELEASE_KEYS]
    /// [default: /etc/sync-server/release-keys].
    #[arg(long, global = true, value_name = "PATH")]
    release_keys: Option<PathBuf>,

    /// Where the store is: `sqlite` (the data directory's file) or a PostgreSQL URL
    /// (`postgres://user@host:port/db`) that several `serve` instances share; the data
    /// directory still holds the enrollment-code secret and release bundles [env:
    /// SYNC_SERVER_STORE] [default: sqlite].
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the kiosk API until SIGINT or SIGTERM.
    Serve(serve::Args),
    /// Issue a one-time enrollment code for a booth in a village (printed as text and QR).
    EnrollCode(enroll_code::Args),
    /// The pin (sha256 fingerprint of the public key) booths trust a certificate file by.
    TlsFingerprint(tls_fingerprint::Args),
    /// List or revoke kiosks.
    #[command(subcommand)]
    Kiosk(kiosk::Command),
    /// Import the service catalogue from a JSON file.
    #[command(subcommand)]
    Catalog(catalog::Command),
    /// Publish notices to the booths.
    #[command(subcommand)]
    Notice(notice::Command),
    /// List, show and change the status of submissions.
    #[command(subcommand)]
    Submissions(submissions::Command),
    /// The holiday calendar deadlines are counted with: add, remove, list.
    #[command(subcommand)]
    Calendar(calendar::Command),
    /// Staff accounts of the web app: add, passwd, disable, enable, list.
    #[command(subcommand)]
    Staff(staff::Command),
    /// The audit log's hash chain: verify it, export its head for safekeeping.
    #[command(subcommand)]
    Audit(audit::Command),
    /// The key file personal data is sealed with: init, list, rotate, drop.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Booth releases: upload a signed bundle, list them.
    #[command(subcommand)]
    Release(release::Command),
    /// Roll a release out to booths: create, list, pause, resume, widen, stop.
    #[command(subcommand)]
    Rollout(rollout::Command),
    /// Copy the SQLite store into an empty PostgreSQL store (--to URL) and verify the copy.
    MigrateStore(migrate_store::Args),
    /// Back the store up to a new file while the server runs (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump).
    Backup(backup::Args),
    /// Restore a backup into an empty store (SQLite: a data directory without a database;
    /// PostgreSQL: an empty schema, with pg_restore).
    Restore(restore::Args),
}

/// Where the store is when `--store` is not given.
const STORE_ENV: &str = "SYNC_SERVER_STORE";

/// Where a command finds the data directory and the key file.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    pub release_keys: PathBuf,
    pub store: StoreChoice,
}

/// An open store and the shared key lock held while it is used.
pub struct Opened {
    store: Arc<dyn Store>,
    _lock: KeyLock,
}

impl Opened {
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

impl Cli {
    pub async fn run(&self) -> anyhow::Result<()> {
        let paths = Paths {
            data_dir: DataDir::resolve(self.data_dir.as_deref()),
            key_file: KeyFile::resolve(self.key_file.as_deref()),
            release_keys: ReleaseKeys::resolve(self.release_keys.as_deref()),
            store: self.store_choice()?,
        };
        match &self.command {
            Command::Serve(args) => args.run(&paths).await,
            Command::Keys(command) => command.run(&paths).await,
            Command::EnrollCode(args) => {
                let dir = DataDir::create(&paths.data_dir)?;
                let secret = CodeSecret::new(dir.code_secret()?);
                args.run(open_or_create(&paths).await?.store(), &secret, dir.path())
                    .await
            }
            Command::TlsFingerprint(args) => args.run(),
            Command::Kiosk(command) => command.run(open_existing(&paths).await?.store()).await,
            Command::Catalog(command) => command.run(open_or_create(&paths).await?.store()).await,
            Command::Notice(command) => command.run(open_or_create(&paths).await?.store()).await,
            Command::Submissions(command) => {
                command.run(open_existing(&paths).await?.store()).await
            }
            Command::Staff(command) => command.run(open_or_create(&paths).await?.store()).await,
            Command::Calendar(command) => command.run(open_or_create(&paths).await?.store()).await,
            Command::Release(command) => {
                let opened = open_existing(&paths).await?;
                command
                    .run(opened.store(), &paths.data_dir, &paths.release_keys)
                    .await
            }
            Command::Rollout(command) => command.run(open_existing(&paths).await?.store()).await,
            // Read-only, never migrating: it opens the file itself.
            Command::Audit(command) => command.run(&paths).await,
            // Each opens what it copies itself: a file read-only, a store that must be empty.
            Command::MigrateStore(args) => args.run(&paths).await,
            Command::Backup(args) => args.run(&paths).await,
            Command::Restore(args) => args.run(&paths).await,
        }
    }

    fn store_choice(&self) -> anyhow::Result<StoreChoice> {
        let text = match &self.store {
            Some(text) => text.clone(),
            None => std::env::var(STORE_ENV).unwrap_or_default(),
        };
        Ok(text.parse()?)
    }

    fn is_serve(&self) -> Option<&serve::Args> {
        match &self.command {
            Command::Serve(args) => Some(args),
            _ => None,
        }
    }
}

/// Logs go to stderr (stdout is for what a command prints); `RUST_LOG` overrides the level.
pub fn init_logging(cli: &Cli) {
    let (default_level, json) = match cli.is_serve() {
        Some(args) => ("info", args.json_logs()),
        None => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    use std::io::IsTerminal as _;
    // Colours only for a person at a terminal: in the journal they are escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

async fn open_or_create(paths: &Paths) -> anyhow::Result<Opened> {
    let dir = DataDir::create(&paths.data_dir)?;
    open_in(&dir, paths).await
}

/// Takes the shared key lock, reads the key file and opens the store with it.
async fn open_in(dir: &DataDir, paths: &Paths) -> anyhow::Result<Opened> {
    let lock = KeyLock::shared(dir.path())?;
    let keys = KeyFile::load(&paths.key_file, dir.path())?.keys()?;
    let store = sync_server::server::open_store(dir, keys.ring, &paths.store).await?;
    Ok(Opened { store, _lock: lock })
}

/// For commands that only make sense on a server that has run: a mistyped `--data-dir`
/// should not quietly create an empty database.
async fn open_existing(paths: &Paths) -> anyhow::Result<Opened> {
    let dir = store_data_dir(paths)?;
    open_in(&dir, paths)
        .await
        .with_context(|| match paths.store {
            StoreChoice::Sqlite => format!(
                "cannot open the server database in {}",
                dir.path().display()
            ),
            StoreChoice::Postgres(_) => "cannot open the server's PostgreSQL store".into(),
        })
}

/// The data directory of a store that must exist already: for SQLite, one holding the database.
fn store_data_dir(paths: &Paths) -> anyhow::Result<DataDir> {
    match paths.store {
        StoreChoice::Sqlite => existing_data_dir(&paths.data_dir),
        // The database is elsewhere; the directory holds the code secret and bundles.
        StoreChoice::Postgres(_) => Ok(DataDir::create(&paths.data_dir)?),
    }
}

fn existing_data_dir(dir: &Path) -> anyhow::Result<DataDir> {
    if !dir.join(data_dir::DB_FILE).exists() {
        bail!(
            "no server database in {}: pass the --data-dir the server uses (or set {})",
            dir.display(),
            data_dir::ENV
        );
    }
    Ok(DataDir::create(dir)?)
}

/// An error and its causes on one line, skipping a cause whose text the message already shows.
pub fn one_line(err: &anyhow::Error) -> String {
    error_line::one_line(err.as_ref())
}
