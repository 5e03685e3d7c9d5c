//! The command line (the binary's edge: clap and anyhow live here only): what a run is asked
//! to do, checked against the hard bounds before anything is opened.

pub mod run;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, ensure};
use clap::{Parser, ValueEnum};
use loadgen::{MAX_BOOTHS, MAX_DURATION, MAX_REQUESTS};

/// The most server instances one run loads: enough to show sharing a store, few enough for
/// one machine.
const MAX_INSTANCES: usize = 8;

/// Where `sync-server` reads its store URL when `--store` is not given.
const STORE_ENV: &str = "SYNC_SERVER_STORE";

/// Fleet load generator for the county sync server: simulated booths, enrolled straight into
/// the server's store, sync against it on loopback.
///
/// `steady`: every booth heartbeats and pulls its feeds once a booth-minute and hands in
/// about five submissions a booth-day with a morning peak. `storm`: every booth returns at
/// once after a day's outage with a queue to upload, backing off as booths do, until all is
/// drained. `enroll`: only enroll the booths (and say how fast).
///
/// Both modes end by checking that every submission is stored exactly once, from the
/// server's answers and by counting in the store. Exit status 0 when it is and every queue
/// drained, 2 when not, 1 when the run could not be made. For test stores only: the booths'
/// keys follow from the seed.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version)]
pub struct Args {
    #[arg(value_enum)]
    pub mode: ModeArg,

    /// The server's address: http on a loopback address only (steady and storm need it or
    /// --spawn-server). Repeat it for several instances over one store: booth i talks to
    /// instance i mod n.
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,

    /// Start `sync-server serve` on 127.0.0.1 over --data-dir and --key-file, measure it, and
    /// stop it at the end.
    #[arg(long, conflicts_with_all = ["url", "server_pid"])]
    pub spawn_server: bool,
    /// How many `serve` processes --spawn-server starts over the one store (more than one
    /// needs --store: SQLite has one writer).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "spawn_server")]
    pub instances: usize,
    /// The sync-server binary for --spawn-server [default: `sync-server` beside loadgen].
    #[arg(long, value_name = "PATH", requires = "spawn_server")]
    pub server_bin: Option<PathBuf>,
    /// Where the spawned server's log goes [default: loadgen-server.log beside the data
    /// directory].
    #[arg(long, value_name = "PATH", requires = "spawn_server")]
    pub server_log: Option<PathBuf>,
    /// One more argument for the spawned server's `serve` (repeat it: `--server-arg
    /// --max-connections --server-arg 2048`).
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        requires = "spawn_server"
    )]
    pub server_arg: Vec<String>,
    /// The running server's process id: its CPU time and resident memory are measured
    /// (repeat it for several instances: their sum is reported).
    #[arg(long, value_name = "PID")]
    pub server_pid: Vec<u32>,
    /// The server's metrics token file (`serve --metrics-token-file`): its own per-route
    /// figures are read from /metrics before and after the run.
    #[arg(long, value_name = "FILE")]
    pub metrics_token_file: Option<PathBuf>,

    /// The server's data directory: its SQLite store, and the key file's lock.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The server's store by URL (postgres://…) instead of the SQLite file in --data-dir, as
    /// `sync-server --store` [env: SYNC_SERVER_STORE].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The server's key file (`sync-server keys init`).
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,

    /// Simulated booths.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub booths: u32,
    /// Booth keys are derived from it: the same seed finds the same booths again.
    #[arg(long, value_name = "TEXT", default_value = "loadgen")]
    pub seed: String,
    /// Enrollments at once (the SQLite writer commits up to 256 waiting jobs together).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub concurrency: usize,

    /// Booth time runs this many times faster than real time: 60 makes a booth-minute one
    /// real second.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub compress: f64,
    /// Real seconds: the steady window, or the storm's time limit [default: 60 steady, 600
    /// storm].
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Steady: submissions a booth hands in per booth-day.
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    pub submissions_per_day: f64,
    /// Steady: the booth time of day the run starts at (the peak is 08:00–12:00).
    #[arg(long, value_name = "HOUR", default_value_t = 8.0)]
    pub start_hour: f64,
    /// Steady: real seconds booths may take to drain their queues after the window.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub drain_timeout: f64,
    /// Start from no feed cursors (a fleet catching up from nothing) instead of where booths
    /// that kept syncing stand.
    #[arg(long)]
    pub cold_cursors: bool,
    /// Storm: submissions each booth queued during the outage.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub queued: usize,

    /// Submissions per upload (at most 100).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub batch: usize,
    /// Send personal data in the clear, as booths that predate sealing do.
    #[arg(long)]
    pub no_seal: bool,
    /// The most requests the run sends.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_requests: u64,
    /// Idle connections loadgen keeps to the server.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub pool: usize,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Steady,
    Storm,
    Enroll,
}

impl Args {
    /// --store, else `SYNC_SERVER_STORE` as the server reads it.
    pub fn store_url(&self) -> Option<String> {
        self.store
            .clone()
            .or_else(|| std::env::var(STORE_ENV).ok().filter(|url| !url.is_empty()))
    }

    /// The run's length: the steady window or the storm's limit.
    pub fn duration(&self) -> Duration {
        let default = match self.mode {
            ModeArg::Storm => 600.0,
            ModeArg::Steady | ModeArg::Enroll => 60.0,
        };
        Duration::from_secs_f64(self.duration.unwrap_or(default))
    }

    /// Refuses what no run may do.
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            (1..=MAX_BOOTHS).contains(&self.booths),
            "--booths {} is out of bounds: 1 to {MAX_BOOTHS} (the kiosk numbers one server has)",
            self.booths
        );
        ensure!(
            (1..=MAX_REQUESTS).contains(&self.max_requests),
            "--max-requests {} is out of bounds: 1 to {MAX_REQUESTS}",
            self.max_requests
        );
        let seconds = self.duration.unwrap_or(1.0);
        ensure!(
            seconds.is_finite()
                && seconds > 0.0
                && Duration::from_secs_f64(seconds) <= MAX_DURATION,
            "--duration {seconds} is out of bounds: more than 0 and at most {} s",
            MAX_DURATION.as_secs()
        );
        ensure!(
            self.drain_timeout.is_finite()
                && (0.0..=MAX_DURATION.as_secs_f64()).contains(&self.drain_timeout),
            "--drain-timeout {} is out of bounds",
            self.drain_timeout
        );
        ensure!(
            self.compress.is_finite() && (1.0..=3600.0).contains(&self.compress),
            "--compress {} is out of bounds: 1 (real time) to 3600 (a booth-hour a second)",
            self.compress
        );
        ensure!(
            self.submissions_per_day.is_finite()
                && (0.0..=10_000.0).contains(&self.submissions_per_day),
            "--submissions-per-day {} is out of bounds: 0 to 10000",
            self.submissions_per_day
        );
        ensure!(
            (1..=sync_protocol::submission::MAX_BATCH).contains(&self.batch),
            "--batch {} is out of bounds: 1 to {}",
            self.batch,
            sync_protocol::submission::MAX_BATCH
        );
        ensure!(
            self.queued <= 10_000,
            "--queued {} is out of bounds: at most 10000 a booth",
            self.queued
        );
        ensure!(
            (1..=MAX_INSTANCES).contains(&self.instances),
            "--instances {} is out of bounds: 1 to {MAX_INSTANCES}",
            self.instances
        );
        ensure!(
            self.instances == 1 || self.store_url().is_some(),
            "--instances {}: several servers need a shared store (--store postgres://…); the \
             SQLite store has one writer",
            self.instances
        );
        ensure!(
            self.url.len() <= MAX_INSTANCES,
            "--url given {} times: at most {MAX_INSTANCES} instances",
            self.url.len()
        );
        if self.seed.is_empty() {
            bail!("--seed must not be empty");
        }
        Ok(())
    }
}
