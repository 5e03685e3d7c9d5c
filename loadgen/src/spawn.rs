//! A `sync-server serve` loadgen starts itself (`--spawn-server`): on 127.0.0.1 with a port
//! the kernel picks, over the data directory and key file loadgen enrolls into, with a
//! metrics token made for the run so its own `/metrics` can be read. Its log goes to a file
//! (formatting it is part of the server's cost, as in production). It is stopped with
//! SIGTERM, so it finishes its requests and closes its store, and killed if it does not stop.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// How long the server may take to open its store and listen.
const START_LIMIT: Duration = Duration::from_secs(120);
/// The server's own grace for requests in flight (35 s) and a little more.
const STOP_LIMIT: Duration = Duration::from_secs(40);

#[derive(Debug, Clone)]
pub struct SpawnConfig {
    pub program: PathBuf,
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    /// The store's URL when it is not the SQLite file in the data directory.
    pub store: Option<String>,
    pub log: PathBuf,
    /// More arguments for `serve` (`--max-connections 2048`).
    pub serve_args: Vec<String>,
    /// The bearer token for its `/metrics` ([`new_token`]); several instances may share one.
    pub metrics_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot start {program}: pass --server-bin the sync-server binary")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the server did not say `listening on` within {0:?} (see its log, {1})")]
    NotListening(Duration, String),
    #[error("the server exited before listening (see its log, {0})")]
    Exited(String),
    #[error("the system's random number generator failed")]
    Random(#[source] getrandom::Error),
    #[error("cannot stop the server (pid {0})")]
    Stop(u32, #[source] std::io::Error),
}

/// A running server of loadgen's.
#[derive(Debug)]
pub struct SpawnedServer {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub metrics_token: String,
    token_file: PathBuf,
}

impl SpawnedServer {
    pub async fn start(config: &SpawnConfig) -> Result<Self, SpawnError> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let metrics_token = config.metrics_token.clone();
        let token_file = std::env::temp_dir().join(format!(
            "loadgen-{}-{}.metrics-token",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        write_private(&token_file, &metrics_token)?;
        let log = std::fs::File::create(&config.log).map_err(|source| SpawnError::File {
            path: config.log.display().to_string(),
            source,
        })?;
        let mut command = Command::new(&config.program);
        command
            .arg("--data-dir")
            .arg(&config.data_dir)
            .arg("--key-file")
            .arg(&config.key_file);
        if let Some(url) = &config.store {
            // Through the environment, not the command line: the URL may carry a password,
            // and a command line is readable by every user of the machine.
            command.env("SYNC_SERVER_STORE", url);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--metrics-token-file"])
            .arg(&token_file)
            .args(&config.serve_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SpawnError::Start {
                program: config.program.display().to_string(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        let log_name = config.log.display().to_string();
        let Some(stdout) = child.stdout.take() else {
            return Err(SpawnError::Exited(log_name));
        };
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_LIMIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Some(url.to_owned());
                }
            }
            None
        })
        .await
        .map_err(|_| SpawnError::NotListening(START_LIMIT, log_name.clone()))?
        .ok_or(SpawnError::Exited(log_name))?;
        // Keep reading: the server's stdout must not fill up or break under it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            pid,
            url,
            metrics_token,
            token_file,
        })
    }

    /// SIGTERM, then the server's grace; killed after that.
    pub async fn stop(mut self) -> Result<(), SpawnError> {
        let _ = std::fs::remove_file(&self.token_file);
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid as i32) {
            rustix::process::kill_process(pid, rustix::process::Signal::TERM)
                .map_err(|e| SpawnError::Stop(self.pid, e.into()))?;
        }
        if tokio::time::timeout(STOP_LIMIT, self.child.wait())
            .await
            .is_err()
        {
            self.child
                .kill()
                .await
                .map_err(|e| SpawnError::Stop(self.pid, e))?;
        }
        Ok(())
    }
}

/// 256 random bits in hex: above the server's 22-character minimum.
pub fn new_token() -> Result<String, SpawnError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(SpawnError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A file only its owner may read, as the server demands of a token file.
fn write_private(path: &Path, text: &str) -> Result<(), SpawnError> {
    let failed = |source| SpawnError::File {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}
