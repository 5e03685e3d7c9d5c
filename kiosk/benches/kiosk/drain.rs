//! Time to drain a full outbox to the real sync server on loopback, against the server's own
//! batched inserts of the same rows.
//!
//! Set-up (not timed): the server (`sync_server::server::serve`, 127.0.0.1:0, a fresh data
//! directory), a code issued from its store, the booth enrolled for real through
//! `kiosk_core::sync::enroll`, then `BENCH_DRAIN` (10,000) `Store::submit` calls. Server and booth
//! directories are then copied for each run, so every run starts from the same full outbox and
//! an empty server.
//!
//! Each of `BENCH_RUNS` (9) runs times:
//! - drain: `Engine::run` (the booth's background task) from its start until the event that
//!   reports the last submission acknowledged, i.e. recorded durably in the booth's store;
//! - `kiosk sync --once` on a second copy: `Engine::run_once`, the drain plus pulling the
//!   statuses feed (one `received` change per submission), the other feeds and a heartbeat;
//! - the store alone: `SqliteStore::ingest` of the same submissions, 100 per call, one call
//!   after the other (as one booth's requests arrive), into a fresh server store, no HTTP;
//! - raw: the same rows inserted with rusqlite into the server's schema, 100 per commit.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use kiosk_core::store::Store;
use kiosk_core::sync::{Client, ClockOffset, Engine, EngineConfig, SyncEvent};
use sync_protocol::submission::{BatchRequest, MAX_BATCH, Submission};

use crate::common::harness::{self, BenchResult, Stats, Table, env_number, ms, secs};
use crate::common::server::{self, RunningServer};
use crate::sample_new_submission;

/// The goal: the drain takes at most this many times the raw batched insert.
const GOAL_RATIO: f64 = 3.0;

pub fn run() -> BenchResult {
    let count = env_number("BENCH_DRAIN", 10_000)?;
    let runs = env_number("BENCH_RUNS", 9)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    server::install_server_logging();
    let scratch = harness::scratch_dir("drain-")?;
    println!(
        "{runs} run(s) of {count} submissions; {} cores; scratch on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness::describe_disk(scratch.path())
    );

    let server_template = scratch.path().join("server-template");
    let booth_template = scratch.path().join("booth-template");
    let (fill_time, submissions) =
        runtime.block_on(prepare(&server_template, &booth_template, count))?;
    println!(
        "filled the outbox: {count} × Store::submit in {} ({} per submission, not part of any figure)",
        secs(fill_time),
        ms(fill_time / count as u32)
    );

    let mut measured = Measured::default();
    for run in 1..=runs {
        let dir = scratch.path().join(format!("run-{run}"));
        let one = runtime.block_on(one_run(
            &dir,
            &server_template,
            &booth_template,
            &submissions,
        ))?;
        println!(
            "run {run}: drain {}, sync --once {}, store ingest {}, raw {}",
            ms(one.drain),
            ms(one.once),
            ms(one.store),
            ms(one.raw)
        );
        measured.add(&one);
        std::fs::remove_dir_all(&dir)?;
    }
    measured.report(count);

    let dir = scratch.path().join("breakdown");
    let steps = runtime.block_on(breakdown(&dir, &server_template, &booth_template, count))?;
    steps.report();
    Ok(())
}

/// Starts a server, enrolls a booth through its HTTP API and fills the booth's outbox.
/// Returns the fill time and the queued submissions as the booth will upload them.
async fn prepare(
    server_dir: &Path,
    booth_dir: &Path,
    count: usize,
) -> BenchResult<(Duration, Vec<Submission>)> {
    let running = server::start(server_dir).await?;
    let code = running.issue_code().await?;
    kiosk_core::sync::enroll(booth_dir, &running.url, &code).await?;
    running.stop().await?;

    let booth_dir = booth_dir.to_owned();
    tokio::task::spawn_blocking(move || -> BenchResult<(Duration, Vec<Submission>)> {
        let mut store = Store::open(&booth_dir)?;
        let started = Instant::now();
        for _ in 0..count {
            store.submit(sample_new_submission())?;
        }
        let fill = started.elapsed();
        let horizon = Utc::now() + TimeDelta::days(1);
        let queued = store.due_submissions(horizon, count)?;
        if queued.len() != count {
            return Err(format!("{} of {count} submissions are queued", queued.len()).into());
        }
        Ok((fill, queued))
    })
    .await?
}

struct OneRun {
    drain: Duration,
    once: Duration,
    store: Duration,
    raw: Duration,
}

async fn one_run(
    dir: &Path,
    server_template: &Path,
    booth_template: &Path,
    submissions: &[Submission],
) -> BenchResult<OneRun> {
    let count = submissions.len();
    let drain = {
        let (server_dir, booth_dir) = (dir.join("drain-server"), dir.join("drain-booth"));
        copy_dir(server_template, &server_dir)?;
        copy_dir(booth_template, &booth_dir)?;
        let running = server::start(&server_dir).await?;
        let took = drain_with_engine(&running, &booth_dir, count).await?;
        expect_stored(&running, count).await?;
        running.stop().await?;
        took
    };
    let once = {
        let (server_dir, booth_dir) = (dir.join("once-server"), dir.join("once-booth"));
        copy_dir(server_template, &server_dir)?;
        copy_dir(booth_template, &booth_dir)?;
        let running = server::start(&server_dir).await?;
        let took = sync_once(&running, &booth_dir, count).await?;
        expect_stored(&running, count).await?;
        running.stop().await?;
        took
    };
    let http = reqwest::Client::new();
    let store = {
        let running = server::start(&dir.join("store-server")).await?;
        let code = running.issue_code().await?;
        let (_, enrolled) = server::enroll_over_http(&http, &running.url, &code).await?;
        let took = server::store_ingest(
            running.store_handle(),
            enrolled.kiosk_id,
            server::ingest_items(submissions),
            MAX_BATCH,
        )
        .await?;
        expect_stored(&running, count).await?;
        running.stop().await?;
        took
    };
    let raw = {
        let running = server::start(&dir.join("raw-server")).await?;
        let code = running.issue_code().await?;
        let (_, enrolled) = server::enroll_over_http(&http, &running.url, &code).await?;
        let database = running.database().to_owned();
        running.stop().await?;
        let rows = server::raw_rows(&enrolled.kiosk_id, submissions)?;
        tokio::task::spawn_blocking(move || server::raw_insert(&database, &rows, MAX_BATCH))
            .await??
    };
    Ok(OneRun {
        drain,
        once,
        store,
        raw,
    })
}

/// The booth's engine as `kiosk sync` builds it, pointed at `running`, with no start-up
/// spread (that random pause exists for a whole county reconnecting; here it would only add
/// noise).
fn booth_engine(running: &RunningServer, booth_dir: &Path) -> BenchResult<(Engine, SharedStore)> {
    let store = Store::open(booth_dir)?;
    let identity = store.identity()?.ok_or("the booth is not enrolled")?;
    let key = kiosk_core::identity::load(booth_dir)?;
    let clock = ClockOffset::new(store.clock_offset_ms()?);
    let client = Client::new(&running.url, None, identity.kiosk_id, key, clock)?;
    let config = EngineConfig {
        resume_spread: Duration::ZERO,
        rng_seed: Some(7),
        ..EngineConfig::new(booth_dir)
    };
    let store = Arc::new(Mutex::new(store));
    Ok((Engine::new(client, Arc::clone(&store), config), store))
}

type SharedStore = Arc<Mutex<Store>>;

/// Runs the engine until its events report every submission acknowledged; returns that time.
async fn drain_with_engine(
    running: &RunningServer,
    booth_dir: &Path,
    count: usize,
) -> BenchResult<Duration> {
    let (engine, store) = booth_engine(running, booth_dir)?;
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let engine = engine.with_events(events);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let watch = async move {
        let mut acknowledged = 0;
        let result = loop {
            match received.recv().await {
                Some(SyncEvent::Uploaded {
                    accepted,
                    duplicates,
                }) => {
                    acknowledged += accepted + duplicates;
                    if acknowledged >= count {
                        break Ok(started.elapsed());
                    }
                }
                Some(SyncEvent::Quarantined { reason, .. }) => {
                    break Err(format!("a submission was quarantined: {reason}"));
                }
                Some(SyncEvent::Waiting { error, .. }) => {
                    break Err(format!("the engine hit an error: {error}"));
                }
                Some(_) => {}
                None => break Err("the engine stopped before the drain finished".to_owned()),
            }
        };
        let _ = stop.send(());
        result
    };
    let (ran, watched) = tokio::join!(
        engine.run(async move {
            let _ = stopped.await;
        }),
        watch
    );
    ran?;
    let took = watched?;
    let stats = tokio::task::spawn_blocking(move || -> BenchResult<_> {
        let store = store
            .lock()
            .map_err(|_| "the booth's store lock is poisoned")?;
        Ok(store.queue_stats(Utc::now())?)
    })
    .await??;
    if stats.acknowledged != count as u64 || stats.depth() != 0 {
        return Err(format!(
            "after the drain the booth counts {} acknowledged and {} pending, {count} expected",
            stats.acknowledged,
            stats.depth()
        )
        .into());
    }
    Ok(took)
}

/// `kiosk sync --once`: drain, pull every feed, one heartbeat.
async fn sync_once(
    running: &RunningServer,
    booth_dir: &Path,
    count: usize,
) -> BenchResult<Duration> {
    let (mut engine, _store) = booth_engine(running, booth_dir)?;
    let started = Instant::now();
    let summary = engine.run_once().await?;
    let took = started.elapsed();
    if summary.uploaded != count || summary.pending != 0 || summary.statuses != count {
        return Err(format!("sync --once ended with {summary:?}").into());
    }
    Ok(took)
}

async fn expect_stored(running: &RunningServer, count: usize) -> BenchResult {
    let stored = running.submissions_stored().await?;
    if stored != count as u64 {
        return Err(format!("the server holds {stored} submissions, {count} expected").into());
    }
    Ok(())
}

/// Per-batch times of each step of the engine's upload loop, for the breakdown.
#[derive(Debug, Default)]
struct Steps {
    due: Vec<Duration>,
    mark_sent: Vec<Duration>,
    upload: Vec<Duration>,
    record: Vec<Duration>,
    total: Duration,
}

/// The engine's upload loop done by hand with the same public calls (`due_submissions`,
/// `mark_sent`, `Client::upload`, `record_results`), each step timed, on a fresh copy.
async fn breakdown(
    dir: &Path,
    server_template: &Path,
    booth_template: &Path,
    count: usize,
) -> BenchResult<Steps> {
    let (server_dir, booth_dir) = (dir.join("server"), dir.join("booth"));
    copy_dir(server_template, &server_dir)?;
    copy_dir(booth_template, &booth_dir)?;
    let running = server::start(&server_dir).await?;
    let mut store = Store::open(&booth_dir)?;
    let identity = store.identity()?.ok_or("the booth is not enrolled")?;
    let key = kiosk_core::identity::load(&booth_dir)?;
    let clock = ClockOffset::new(store.clock_offset_ms()?);
    let client = Client::new(&running.url, None, identity.kiosk_id, key, clock)?;
    let horizon = Utc::now() + TimeDelta::days(365 * 100);
    let mut steps = Steps::default();
    let started = Instant::now();
    loop {
        let at = Instant::now();
        let batch = store.due_submissions(horizon, MAX_BATCH)?;
        steps.due.push(at.elapsed());
        if batch.is_empty() {
            break;
        }
        let ids: Vec<_> = batch.iter().map(|s| s.id).collect();
        let at = Instant::now();
        store.mark_sent(&ids)?;
        steps.mark_sent.push(at.elapsed());
        let at = Instant::now();
        let answer = client.upload(&BatchRequest { submissions: batch }).await?;
        steps.upload.push(at.elapsed());
        let at = Instant::now();
        store.record_results(&answer.results, Utc::now())?;
        steps.record.push(at.elapsed());
    }
    steps.total = started.elapsed();
    // The last `due` call found nothing; only batches count.
    steps.due.pop();
    expect_stored(&running, count).await?;
    drop(store);
    running.stop().await?;
    std::fs::remove_dir_all(dir)?;
    Ok(steps)
}

impl Steps {
    fn report(&self) {
        let sum = |v: &[Duration]| v.iter().sum::<Duration>();
        let mean = |v: &[Duration]| {
            if v.is_empty() {
                Duration::ZERO
            } else {
                sum(v) / v.len() as u32
            }
        };
        let edge = 10.min(self.due.len());
        let mut table = Table::new(&[
            "step of the upload loop (by hand)",
            "total",
            "share",
            "first 10 batches, each",
            "last 10 batches, each",
        ]);
        for (label, samples) in [
            ("Store::due_submissions (read 100)", &self.due),
            ("Store::mark_sent (commit)", &self.mark_sent),
            ("Client::upload (sign, HTTP, server)", &self.upload),
            ("Store::record_results (commit)", &self.record),
        ] {
            table.row(vec![
                label.to_owned(),
                ms(sum(samples)),
                format!("{:.0} %", 100.0 * harness::ratio(sum(samples), self.total)),
                ms(mean(&samples[..edge.min(samples.len())])),
                ms(mean(&samples[samples.len().saturating_sub(edge)..])),
            ]);
        }
        println!(
            "\nwhere the drain's time goes ({} batches, {} in all):",
            self.upload.len(),
            ms(self.total)
        );
        table.print();
    }
}

/// Copies the files of a closed data directory (database, key; no subdirectories needed).
fn copy_dir(from: &Path, to: &Path) -> BenchResult {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Measured {
    drain: Vec<Duration>,
    once: Vec<Duration>,
    store: Vec<Duration>,
    raw: Vec<Duration>,
}

impl Measured {
    fn add(&mut self, one: &OneRun) {
        self.drain.push(one.drain);
        self.once.push(one.once);
        self.store.push(one.store);
        self.raw.push(one.raw);
    }

    fn report(&self, count: usize) {
        let raw = Stats::of(self.raw.clone()).median;
        let store = Stats::of(self.store.clone()).median;
        let mut table = Table::new(&[
            "same rows, fresh server store each",
            "median",
            "min–max",
            "per 1000",
            "÷ raw",
            "÷ store",
            "goal ≤3× raw",
        ]);
        for (label, samples, goal) in [
            ("drain: Engine::run to last ack", &self.drain, true),
            ("kiosk sync --once (drain + feeds)", &self.once, false),
            ("SqliteStore::ingest, 100 per call", &self.store, false),
            ("raw rusqlite, 100 rows per commit", &self.raw, false),
        ] {
            let stats = Stats::of(samples.clone());
            let vs_raw = harness::ratio(stats.median, raw);
            table.row(vec![
                label.to_owned(),
                ms(stats.median),
                format!("{}–{}", ms(stats.min), ms(stats.max)),
                ms(stats.median * 1000 / count as u32),
                format!("{vs_raw:.2}×"),
                format!("{:.2}×", harness::ratio(stats.median, store)),
                if goal {
                    harness::verdict(vs_raw <= GOAL_RATIO).to_owned()
                } else {
                    String::new()
                },
            ]);
        }
        println!();
        table.print();
        let paired: Vec<f64> = self
            .drain
            .iter()
            .zip(&self.raw)
            .map(|(drain, raw)| harness::ratio(*drain, *raw))
            .collect();
        println!(
            "drain ÷ raw within each run (median {:.2}×): {}",
            harness::median_f64(&paired),
            paired
                .iter()
                .map(|r| format!("{r:.2}×"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "the raw insert gets its rows pre-encoded; the drain includes reading the outbox, \
             marking items sent, signing, HTTP, the server's checks and commit, and recording \
             each batch's results durably on the booth."
        );
    }
}
