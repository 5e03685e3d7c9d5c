//! Fixtures for sync tests: a county server process and booth data directories, driven through
//! the real `sync-server` and `kiosk` binaries.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Background, Finished, run_kiosk, run_server};

/// Generous limits: CI machines are slow and shared.
pub const START: Duration = Duration::from_secs(30);
pub const COMMAND: Duration = Duration::from_secs(120);

/// A port that was free a moment ago, so a server can be restarted at the same address.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A county server's data directory with its key file beside it (the server refuses one
/// inside): `root/data` and `root/server-keys.json`, removed together. [`County::path`] is the
/// data directory every fixture here takes.
#[derive(Debug)]
pub struct County {
    _root: tempfile::TempDir,
    data: PathBuf,
}

impl County {
    /// A new data directory and a key file made by `sync-server keys init`.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        server_cli(&data, &["keys", "init"]);
        Self { _root: root, data }
    }

    pub fn path(&self) -> &Path {
        &self.data
    }
}

impl Default for County {
    fn default() -> Self {
        Self::new()
    }
}

/// The key file of a [`County`] data directory.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.with_file_name("server-keys.json")
}

/// A `sync-server serve` process on 127.0.0.1.
#[derive(Debug)]
pub struct Server {
    pub dir: PathBuf,
    pub url: String,
    process: Background,
}

impl Server {
    /// Starts a server on `dir` at `port` (0 for any).
    pub fn start(dir: &Path, port: u16) -> Self {
        Self::start_with(dir, port, &[])
    }

    /// [`Self::start`] with more `serve` options (`--tls-cert`, `--tls-key` …).
    pub fn start_with(dir: &Path, port: u16, serve_args: &[&str]) -> Self {
        let dir_arg = dir.to_str().expect("utf-8 path");
        let keys = key_file(dir);
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec![
            "--data-dir",
            dir_arg,
            "--key-file",
            keys.to_str().expect("utf-8 path"),
            "serve",
            "--listen",
            &listen,
        ];
        args.extend_from_slice(serve_args);
        let process = Background::spawn_server(&args);
        let address = process.wait_for_line("listening on ", START);
        Self {
            dir: dir.to_owned(),
            url: address,
            process,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in url")
    }

    /// Stops it like an operator would (SIGTERM, in-flight requests finish).
    pub fn stop(mut self) {
        assert!(
            self.process.terminate(START).is_some(),
            "the server did not stop on SIGTERM\n{}",
            self.process.stderr()
        );
    }

    /// Kills it like a power cut would.
    pub fn kill(mut self) {
        self.process.kill();
    }
}

/// Runs `sync-server --data-dir DIR --key-file KEYS ARGS…`, asserting success.
pub fn server_cli(dir: &Path, args: &[&str]) -> Finished {
    let out = server_cli_try(dir, args);
    assert!(out.success, "sync-server {}\n{out}", args.join(" "));
    out
}

/// `sync-server` on the county data in `dir`, whether or not it succeeds (a lookup of what may
/// not have arrived yet).
pub fn server_cli_try(dir: &Path, args: &[&str]) -> Finished {
    let keys = key_file(dir);
    let mut full = vec![
        "--data-dir",
        dir.to_str().expect("utf-8 path"),
        "--key-file",
        keys.to_str().expect("utf-8 path"),
    ];
    full.extend_from_slice(args);
    run_server(&full, COMMAND)
}

/// Imports the demo catalogue.
pub fn import_catalog(dir: &Path) {
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sync-server/seed/catalog.json"
    );
    server_cli(dir, &["catalog", "import", seed]);
}

/// Issues an enrollment code for a village.
pub fn enroll_code(dir: &Path, village: &str) -> String {
    enroll_code_with(dir, &["--village", village])
}

/// A one-time enrollment code for a booth in `village` of `county`'s `township`: the
/// township's staff see what it sends.
pub fn enroll_code_in(dir: &Path, county: &str, township: &str, village: &str) -> String {
    enroll_code_with(
        dir,
        &[
            "--county",
            county,
            "--township",
            township,
            "--village",
            village,
        ],
    )
}

fn enroll_code_with(dir: &Path, place: &[&str]) -> String {
    let mut args = vec!["enroll-code", "--json"];
    args.extend_from_slice(place);
    let out = server_cli(dir, &args);
    let value: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    value["code"]
        .as_str()
        .expect("code in enroll-code --json")
        .to_owned()
}

/// Every submission the server holds: receipt number → how many times.
pub fn server_receipts(dir: &Path) -> BTreeMap<String, usize> {
    let out = server_cli(
        dir,
        &["submissions", "list", "--limit", "1000000", "--json"],
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts
            .entry(
                row["receipt_number"]
                    .as_str()
                    .expect("receipt_number")
                    .to_owned(),
            )
            .or_insert(0) += 1;
    }
    counts
}

/// A booth's data directory, driven through `kiosk --data-dir DIR …`.
#[derive(Debug, Clone)]
pub struct Booth {
    pub dir: PathBuf,
}

impl Booth {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut full = vec!["--data-dir", self.dir.to_str().expect("utf-8 path")];
        full.extend_from_slice(args);
        full
    }

    /// Runs a kiosk command, whatever its outcome.
    pub fn run(&self, args: &[&str]) -> Finished {
        run_kiosk(&self.args(args), COMMAND)
    }

    /// Runs a kiosk command that must succeed.
    pub fn ok(&self, args: &[&str]) -> Finished {
        let out = self.run(args);
        assert!(out.success, "kiosk {}\n{out}", args.join(" "));
        out
    }

    pub fn enroll(&self, url: &str, code: &str) {
        self.ok(&["enroll", "--server", url, "--code", code]);
    }

    /// A complaint: needs no catalogue, so it works before the first sync.
    pub fn complain(&self, text: &str) -> String {
        let out = self.ok(&["submit", "--kind", "complaint", "--text", text, "--json"]);
        receipt_of(&out)
    }

    /// Starts `kiosk sync`, the booth's background service.
    pub fn spawn_sync(&self) -> Background {
        Background::spawn(&self.args(&["sync"]))
    }

    /// Runs `kiosk sync --once` until it reports nothing pending, at most `rounds` times.
    pub fn drain(&self, rounds: usize) -> Finished {
        let mut last = None;
        for _ in 0..rounds {
            let out = self.run(&["sync", "--once", "--json"]);
            if out.success {
                return out;
            }
            last = Some(out);
        }
        panic!(
            "the queue did not drain in {rounds} rounds\n{}",
            last.expect("at least one round")
        );
    }

    pub fn queue_status(&self) -> serde_json::Value {
        let out = self.ok(&["queue", "status", "--json"]);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"))
    }
}

/// The receipt number printed by `kiosk submit --json`.
pub fn receipt_of(out: &Finished) -> String {
    let value: serde_json::Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    value["receipt_number"]
        .as_str()
        .expect("receipt_number")
        .to_owned()
}

/// Polls `check` until it holds or `limit` passes.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
