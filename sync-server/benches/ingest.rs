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

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use sync_protocol::paths;
use sync_protocol::signing::{self, RequestParts, SignatureHeaders};
use sync_protocol::submission::{BatchRequest, BatchResponse, MAX_BATCH, Submission};

use common::harness::{self, BenchResult, Stats, Table, env_number, per_second, process_cpu_time};
use common::server::{self, RunningServer};

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

/// A booth as the bench drives it.
struct Booth {
    kiosk_id: String,
    key: SigningKey,
    submissions: Vec<Submission>,
}

async fn one_run(dir: &std::path::Path, clients: usize, per_client: usize) -> BenchResult<OneRun> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    // 1. Over HTTP.
    let running = server::start(&dir.join("http")).await?;
    let mut booths = Vec::with_capacity(clients);
    for _ in 0..clients {
        let code = running.issue_code().await?;
        let (key, enrolled) = server::enroll_over_http(&http, &running.url, &code).await?;
        let submissions = (1..=per_client as u64)
            .map(|seq| server::sample_submission(enrolled.kiosk_number, seq))
            .collect();
        booths.push(Booth {
            kiosk_id: enrolled.kiosk_id,
            key,
            submissions,
        });
    }
    let (http_time, http_cpu, request_latency) = over_http(&http, &running, &booths).await?;
    let stored = running.submissions_stored().await?;
    let expected = (clients * per_client) as u64;
    if stored != expected {
        return Err(format!("the server stored {stored} submissions, {expected} were sent").into());
    }
    running.stop().await?;

    // 2. The store alone, fresh: the same submissions under newly enrolled kiosk ids.
    let running = server::start(&dir.join("store")).await?;
    let kiosk_ids = enroll_all(&http, &running, clients).await?;
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
    let kiosk_ids = enroll_all(&http, &running, clients).await?;
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

async fn enroll_all(
    http: &reqwest::Client,
    running: &RunningServer,
    clients: usize,
) -> BenchResult<Vec<String>> {
    let mut ids = Vec::with_capacity(clients);
    for _ in 0..clients {
        let code = running.issue_code().await?;
        ids.push(
            server::enroll_over_http(http, &running.url, &code)
                .await?
                .1
                .kiosk_id,
        );
    }
    Ok(ids)
}

/// A batch request ready to send.
struct SignedBatch {
    body: Vec<u8>,
    headers: SignatureHeaders,
    items: usize,
}

/// Sends every booth's batches, the booths concurrently; returns the wall time, the process's
/// CPU time over it, and the request latencies.
async fn over_http(
    http: &reqwest::Client,
    running: &RunningServer,
    booths: &[Booth],
) -> BenchResult<(Duration, Duration, Stats)> {
    let url = format!("{}{}", running.url, paths::SUBMISSIONS);
    let mut prepared = Vec::with_capacity(booths.len());
    for booth in booths {
        let mut batches = Vec::new();
        for chunk in booth.submissions.chunks(MAX_BATCH) {
            let body = serde_json::to_vec(&BatchRequest {
                submissions: chunk.to_vec(),
            })?;
            let headers = signing::sign(
                &booth.key,
                &booth.kiosk_id,
                &RequestParts {
                    method: "POST",
                    path: paths::SUBMISSIONS,
                    query: "",
                    body: &body,
                },
                Utc::now().timestamp(),
                &signing::new_nonce(),
            );
            batches.push(SignedBatch {
                body,
                headers,
                items: chunk.len(),
            });
        }
        prepared.push(batches);
    }

    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .map(|batches| tokio::spawn(send_all(http.clone(), url.clone(), batches)))
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let took = started.elapsed();
    let cpu = process_cpu_time()
        .zip(cpu_before)
        .map_or(Duration::ZERO, |(after, before)| {
            after.saturating_sub(before)
        });
    Ok((took, cpu, Stats::of(latencies)))
}

/// One booth: its batches one after the other, each answered before the next is sent.
async fn send_all(
    http: reqwest::Client,
    url: String,
    batches: Vec<SignedBatch>,
) -> Result<Vec<Duration>, String> {
    let mut latencies = Vec::with_capacity(batches.len());
    for batch in batches {
        let sent = Instant::now();
        let response = http
            .post(&url)
            .header(signing::CONTENT_DIGEST, batch.headers.content_digest)
            .header(signing::SIGNATURE_INPUT, batch.headers.signature_input)
            .header(signing::SIGNATURE, batch.headers.signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(batch.body)
            .send()
            .await
            .map_err(|e| format!("sending a batch failed: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("reading an answer failed: {e}"))?;
        latencies.push(sent.elapsed());
        if !status.is_success() {
            return Err(format!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        let answer: BatchResponse =
            serde_json::from_slice(&bytes).map_err(|e| format!("unreadable answer: {e}"))?;
        let accepted = answer
            .results
            .iter()
            .filter(|r| r.outcome == sync_protocol::submission::Outcome::Accepted)
            .count();
        if accepted != batch.items {
            return Err(format!("{accepted} of {} accepted", batch.items));
        }
    }
    Ok(latencies)
}
