//! Server ingest throughput: submissions per second over HTTP from several concurrent signed
//! booths (batches of 100), against a raw batched rusqlite insert of the same rows into the
//! server's schema. Small self-written harness (`common/harness.rs`), no criterion.
//!
//! ```text
//! cargo bench -p sync-server --bench ingest                                  # 9 runs of 50,000
//! BENCH_RUNS=1 BENCH_INGEST=4000 cargo bench -p sync-server --bench ingest   # a quick run
//! ```
//!
//! Environment: `BENCH_RUNS` (9), `BENCH_INGEST` submissions per run (50,000), `BENCH_CLIENTS`
//! concurrent booths (8), `BENCH_DIR` (cargo's target tmp dir), `BENCH_LOG=off` to leave out
//! the server's request log (on by default, written to a sink).
//!
//! Each run measures three paths over the same submissions, each into a fresh server store:
//! 1. HTTP: the real server (`sync_server::server::serve`) on 127.0.0.1, booths enrolled
//!    through `POST /api/v1/enroll`, each booth a task sending its batches one after the other
//!    with reqwest. Requests are serialised and signed before the clock starts (each with its
//!    own nonce and a `created` time the run finishes well inside), so the booths' own CPU
//!    work is mostly out of the figure; the server verifies every signature, reads the kiosk,
//!    checks every item, claims and stores it, and answers per item.
//! 2. The store alone: `SqliteStore::ingest` from as many concurrent callers, no HTTP.
//! 3. Raw: one rusqlite connection, the same INSERTs the store runs, 100 rows per commit.
//!
//! Everything shares the machine's cores: server, booths and the store's writer thread.
//!
//! The same on PostgreSQL, against raw tokio-postgres inserts: `benches/ingest_postgres.rs`.

mod common;

use std::time::{Duration, Instant};

use sync_protocol::submission::MAX_BATCH;

use common::harness::{self, BenchResult, Stats, Table, env_number, per_second};
use common::server;

/// The goal: HTTP ingest reaches at least this share of the raw insert rate.
const GOAL_SHARE: f64 = 0.5;

fn main() -> BenchResult {
    let runs = env_number("BENCH_RUNS", 9)?;
    let total = env_number("BENCH_INGEST", 50_000)?;
    let clients = env_number("BENCH_CLIENTS", 8)?;
    let per_client = total.div_ceil(clients);
    let total = per_client * clients;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    server::install_server_logging();
    let scratch = harness::scratch_dir("ingest-")?;
    println!(
        "server ingest: {runs} run(s) of {total} submissions from {clients} booths in batches of \
         {MAX_BATCH}; {} cores; scratch on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness::describe_disk(scratch.path())
    );

    let mut measured = Measured::default();
    for run in 1..=runs {
        let dir = scratch.path().join(format!("run-{run}"));
        let one = runtime.block_on(one_run(&dir, clients, per_client))?;
        println!(
            "run {run}: http {} ({:.0}/s, {:.0} % CPU of one core, request p50 {} p99 {}), \
             store {} ({:.0}/s), raw {} ({:.0}/s)",
            harness::ms(one.http),
            per_second(total, one.http),
            100.0 * one.http_cpu.as_secs_f64() / one.http.as_secs_f64(),
            harness::ms(one.request_latency.median),
            harness::ms(one.request_latency.p99),
            harness::ms(one.store),
            per_second(total, one.store),
            harness::ms(one.raw),
            per_second(total, one.raw),
        );
        measured.add(&one);
        std::fs::remove_dir_all(&dir)?;
    }
    measured.report(total, clients);
    Ok(())
}

#[derive(Debug, Default)]
struct Measured {
    http: Vec<Duration>,
    store: Vec<Duration>,
    raw: Vec<Duration>,
}

impl Measured {
    fn add(&mut self, one: &OneRun) {
        self.http.push(one.http);
        self.store.push(one.store);
        self.raw.push(one.raw);
    }

    fn report(&self, total: usize, clients: usize) {
        let raw = Stats::of(self.raw.clone());
        let mut table = Table::new(&[
            "path (same rows, fresh store each)",
            "median time",
            "median/s",
            "slowest–fastest run /s",
            "share of raw",
            "goal ≥50 %",
        ]);
        for (label, samples, goal) in [
            (
                format!("HTTP, {clients} signed booths, batches of {MAX_BATCH}"),
                &self.http,
                true,
            ),
            (
                format!("SqliteStore::ingest, {clients} callers, no HTTP"),
                &self.store,
                false,
            ),
            (
                format!("raw rusqlite, one connection, {MAX_BATCH} rows/commit"),
                &self.raw,
                false,
            ),
        ] {
            let stats = Stats::of(samples.clone());
            let share = harness::ratio(raw.median, stats.median);
            table.row(vec![
                label,
                harness::ms(stats.median),
                format!("{:.0}", per_second(total, stats.median)),
                format!(
                    "{:.0}–{:.0}",
                    per_second(total, stats.max),
                    per_second(total, stats.min)
                ),
                format!("{:.0} %", 100.0 * share),
                if goal {
                    harness::verdict(share >= GOAL_SHARE).to_owned()
                } else {
                    String::new()
                },
            ]);
        }
        println!();
        table.print();
        let paired: Vec<f64> = self
            .raw
            .iter()
            .zip(&self.http)
            .map(|(raw, http)| harness::ratio(*raw, *http))
            .collect();
        println!(
            "HTTP share of raw within each run (run by run, median {:.0} %): {}",
            100.0 * harness::median_f64(&paired),
            paired
                .iter()
                .map(|share| format!("{:.0} %", 100.0 * share))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "share of raw = raw median time / path median time (the same rows either way); \
             the raw insert gets its rows pre-encoded and pays no HTTP, signature or JSON work."
        );
    }
}

struct OneRun {
    http: Duration,
    http_cpu: Duration,
    request_latency: Stats,
    store: Duration,
    raw: Duration,
}

async fn one_run(dir: &std::path::Path, clients: usize, per_client: usize) -> BenchResult<OneRun> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    // 1. Over HTTP.
    let running = server::start(&dir.join("http")).await?;
    let booths = server::enroll_booths(&http, &running, clients, per_client).await?;
    let (http_time, http_cpu, request_latency) =
        server::over_http(&http, &running, &booths).await?;
    let stored = running.submissions_stored().await?;
    let expected = (clients * per_client) as u64;
    if stored != expected {
        return Err(format!("the server stored {stored} submissions, {expected} were sent").into());
    }
    running.stop().await?;

    // 2. The store alone, fresh: the same submissions under newly enrolled kiosk ids.
    let running = server::start(&dir.join("store")).await?;
    let kiosk_ids = server::enroll_all(&http, &running, clients).await?;
    let started = Instant::now();
    let callers: Vec<_> = booths
        .iter()
        .zip(&kiosk_ids)
        .map(|(booth, kiosk_id)| {
            tokio::spawn(server::store_ingest(
                running.store_handle(),
                kiosk_id.clone(),
                server::ingest_items(&booth.submissions),
                MAX_BATCH,
            ))
        })
        .collect();
    for caller in callers {
        caller.await??;
    }
    let store_time = started.elapsed();
    running.stop().await?;

    // 3. Raw rusqlite into the server's schema, no server running.
    let running = server::start(&dir.join("raw")).await?;
    let kiosk_ids = server::enroll_all(&http, &running, clients).await?;
    let database = running.database().to_owned();
    running.stop().await?;
    let mut rows = Vec::with_capacity(clients * per_client);
    for (booth, kiosk_id) in booths.iter().zip(&kiosk_ids) {
        rows.extend(server::raw_rows(kiosk_id, &booth.submissions)?);
    }
    let raw_time =
        tokio::task::spawn_blocking(move || server::raw_insert(&database, &rows, MAX_BATCH))
            .await??;

    Ok(OneRun {
        http: http_time,
        http_cpu,
        request_latency,
        store: store_time,
        raw: raw_time,
    })
}
