//! Server ingest on PostgreSQL: submissions per second over HTTP from several concurrent signed
//! booths (batches of 100) with the server on the PostgreSQL store, the store alone, and a raw
//! batched tokio-postgres insert of the same rows. The PostgreSQL counterpart of
//! `benches/ingest.rs` (SQLite), sharing its booths, submissions and harness (`common/`).
//!
//! ```text
//! SYNC_SERVER_TEST_POSTGRES=$(scripts/test-postgres) \
//!   cargo bench -p sync-server --bench ingest_postgres                       # 5 runs of 50,000
//! SYNC_SERVER_TEST_POSTGRES=$(scripts/test-postgres) BENCH_RUNS=1 BENCH_INGEST=4000 \
//!   cargo bench -p sync-server --bench ingest_postgres                       # a quick run
//! ```
//!
//! Without `SYNC_SERVER_TEST_POSTGRES` it says so and measures nothing, so that `cargo bench`
//! runs on a machine without PostgreSQL. Environment otherwise as for `ingest`: `BENCH_RUNS`
//! (5), `BENCH_INGEST` submissions per run (50,000), `BENCH_CLIENTS` concurrent booths or
//! connections (8), `BENCH_DIR`, `BENCH_LOG=off`.
//!
//! Each run measures five paths over the same submissions, each into a fresh schema of the
//! database (`TestSchema`, dropped after the path):
//! 1. HTTP: the real server (`sync_server::server::serve`) on 127.0.0.1 with
//!    `StoreChoice::Postgres`, as `serve --store postgres://…` runs it (replay memory in the
//!    database too), booths enrolled and requests signed before the clock starts.
//! 2. The store alone: `PostgresStore::ingest` from as many concurrent callers, no HTTP.
//! 3. Raw, as many connections as booths, each one booth's rows: the rows the store writes (the
//!    submission, body sealed, place and id lookup filled in, and its `received` status
//!    change), encoded ahead, 100 submissions per transaction as one multi-row
//!    `INSERT … ON CONFLICT DO NOTHING` into `submissions` and one multi-row insert into
//!    `status_changes`, statements prepared once per connection.
//! 4. Raw, one connection, every booth's rows one transaction after the other.
//!
//! Everything shares the machine's cores with PostgreSQL itself: "process CPU" is this
//! process's (server, booths, store client), "machine busy" all cores' (PostgreSQL included).

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::submission::{MAX_BATCH, Submission};
use sync_server::settings::{Settings, StoreChoice};
use sync_server::store::postgres::testing::TestSchema;
use sync_server::store::sealed_columns::{SUBMISSION_BODY, id_lookup};
use sync_server::store::values::stored_now;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use common::harness::{self, BenchResult, Stats, Table, env_number, per_second, process_cpu_time};
use common::server::{self, Booth, RunningServer};

fn main() -> BenchResult {
    let Ok(url) = std::env::var("SYNC_SERVER_TEST_POSTGRES") else {
        println!(
            "ingest_postgres: SYNC_SERVER_TEST_POSTGRES is not set, nothing measured \
             (SYNC_SERVER_TEST_POSTGRES=$(scripts/test-postgres) cargo bench -p sync-server \
             --bench ingest_postgres)"
        );
        return Ok(());
    };
    let runs = env_number("BENCH_RUNS", 5)?;
    let total = env_number("BENCH_INGEST", 50_000)?;
    let clients = env_number("BENCH_CLIENTS", 8)?;
    let per_client = total.div_ceil(clients);
    let total = per_client * clients;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    server::install_server_logging();
    let scratch = harness::scratch_dir("ingest-pg-")?;
    let version = runtime.block_on(server_version(&url))?;
    println!(
        "server ingest on PostgreSQL: {runs} run(s) of {total} submissions from {clients} booths \
         in batches of {MAX_BATCH}; {} cores; {version}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    let mut measured: Vec<Vec<Sample>> = vec![Vec::new(); PATHS];
    for run in 1..=runs {
        let dir = scratch.path().join(format!("run-{run}"));
        let one = runtime.block_on(one_run(&dir, clients, per_client))?;
        let line: Vec<String> = one
            .iter()
            .zip(labels(clients))
            .map(|(sample, label)| {
                format!(
                    "{} {} ({:.0}/s)",
                    label.split(',').next().unwrap_or(""),
                    harness::ms(sample.took),
                    per_second(total, sample.took)
                )
            })
            .collect();
        println!("run {run}: {}", line.join("; "));
        for (path, sample) in one.into_iter().enumerate() {
            measured[path].push(sample);
        }
        std::fs::remove_dir_all(&dir)?;
    }
    report(&measured, total, clients);
    Ok(())
}

/// HTTP, store, raw with `clients` connections, raw with one.
const PATHS: usize = 4;
/// The path the others are compared with: raw, as many connections as booths.
const REFERENCE: usize = 2;

fn labels(clients: usize) -> [String; PATHS] {
    [
        format!("HTTP, {clients} signed booths, batches of {MAX_BATCH}"),
        format!("PostgresStore::ingest, {clients} callers, no HTTP"),
        format!("raw tokio-postgres, {clients} connections, {MAX_BATCH} rows/tx"),
        format!("raw tokio-postgres, 1 connection, {MAX_BATCH} rows/tx"),
    ]
}

/// One path of one run.
#[derive(Debug, Clone)]
struct Sample {
    took: Duration,
    /// This process's CPU time over `took`.
    cpu: Duration,
    /// Share of every core busy over `took` (0–1).
    busy: f64,
    /// One per request, store call or transaction.
    latencies: Vec<Duration>,
}

fn report(measured: &[Vec<Sample>], total: usize, clients: usize) {
    let median_time = |samples: &[Sample]| Stats::of(samples.iter().map(|s| s.took).collect());
    let reference = median_time(&measured[REFERENCE]);
    let mut table = Table::new(&[
        "path (same rows, fresh schema each)",
        "median time",
        "median/s",
        "slowest–fastest run /s",
        "share of raw ×N",
        "process CPU",
        "machine busy",
        "p50 / p99 per request",
    ]);
    for (samples, label) in measured.iter().zip(labels(clients)) {
        let stats = median_time(samples);
        let cpu = harness::median_f64(
            &samples
                .iter()
                .map(|s| s.cpu.as_secs_f64() / s.took.as_secs_f64())
                .collect::<Vec<_>>(),
        );
        let busy = harness::median_f64(&samples.iter().map(|s| s.busy).collect::<Vec<_>>());
        let latency = Stats::of(
            samples
                .iter()
                .flat_map(|s| s.latencies.iter().copied())
                .collect(),
        );
        table.row(vec![
            label,
            harness::ms(stats.median),
            format!("{:.0}", per_second(total, stats.median)),
            format!(
                "{:.0}–{:.0}",
                per_second(total, stats.max),
                per_second(total, stats.min)
            ),
            format!(
                "{:.0} %",
                100.0 * harness::ratio(reference.median, stats.median)
            ),
            format!("{:.0} % of a core", 100.0 * cpu),
            format!("{:.0} %", 100.0 * busy),
            format!(
                "{} / {}",
                harness::ms(latency.median),
                harness::ms(latency.p99)
            ),
        ]);
    }
    println!();
    table.print();
    println!(
        "share of raw ×N = median time of raw with {clients} connections / the path's median \
         time; process CPU = this process's CPU time / wall time (PostgreSQL's backends are \
         other processes), median of runs; machine busy = all cores, median of runs; per \
         request = HTTP request, store call or raw transaction, over every run."
    );
}

async fn server_version(url: &str) -> BenchResult<String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client.query_one("SELECT version()", &[]).await?.get(0))
}

/// Settings of a server on `schema`.
fn on(schema: &TestSchema) -> Settings {
    Settings {
        store: StoreChoice::Postgres(schema.url()),
        ..Settings::default()
    }
}

async fn one_run(dir: &Path, clients: usize, per_client: usize) -> BenchResult<Vec<Sample>> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let mut samples = Vec::with_capacity(PATHS);

    // 1. Over HTTP.
    let schema = TestSchema::create().await;
    let running = server::start_with(&dir.join("http"), on(&schema)).await?;
    let booths = server::enroll_booths(&http, &running, clients, per_client).await?;
    let prepared = server::sign_batches(&booths)?;
    let busy = MachineBusy::start();
    let (took, cpu, latencies) = server::send_batches(&http, &running, prepared).await?;
    let busy = busy.share();
    let expected = (clients * per_client) as u64;
    check_stored(&running, expected).await?;
    running.stop().await?;
    drop(schema);
    samples.push(Sample {
        took,
        cpu,
        busy,
        latencies,
    });

    // 2. The store alone.
    let schema = TestSchema::create().await;
    let running = server::start_with(&dir.join("store"), on(&schema)).await?;
    let kiosk_ids = server::enroll_all(&http, &running, clients).await?;
    let clock = Clock::start();
    let callers: Vec<_> = booths
        .iter()
        .zip(&kiosk_ids)
        .map(|(booth, kiosk_id)| {
            tokio::spawn(server::store_ingest_each(
                running.store_handle(),
                kiosk_id.clone(),
                server::ingest_items(&booth.submissions),
                MAX_BATCH,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    for caller in callers {
        latencies.extend(caller.await??);
    }
    samples.push(clock.stop(latencies));
    check_stored(&running, expected).await?;
    running.stop().await?;
    drop(schema);

    // 3. and 4. Raw, into schemas the server created and enrolled the kiosks in.
    for connections in [clients, 1] {
        let schema = TestSchema::create().await;
        let running =
            server::start_with(&dir.join(format!("raw-{connections}")), on(&schema)).await?;
        let kiosk_ids = server::enroll_all(&http, &running, clients).await?;
        let booths_rows: Vec<Vec<RawRow>> = booths
            .iter()
            .zip(&kiosk_ids)
            .map(|(booth, kiosk_id)| raw_rows(kiosk_id, booth))
            .collect::<BenchResult<_>>()?;
        running.stop().await?;
        // Each connection gets whole booths' rows, in booth order.
        let mut shares: Vec<Vec<RawRow>> = (0..connections).map(|_| Vec::new()).collect();
        for (index, rows) in booths_rows.into_iter().enumerate() {
            shares[index % connections].extend(rows);
        }
        let mut prepared = Vec::with_capacity(connections);
        for rows in shares {
            prepared.push((RawConnection::open(&schema.url(), rows.len()).await?, rows));
        }
        let clock = Clock::start();
        let inserters: Vec<_> = prepared
            .into_iter()
            .map(|(connection, rows)| tokio::spawn(connection.insert(rows)))
            .collect();
        let mut latencies = Vec::new();
        for inserter in inserters {
            latencies.extend(inserter.await??);
        }
        samples.push(clock.stop(latencies));
        let running =
            server::start_with(&dir.join(format!("raw-{connections}")), on(&schema)).await?;
        check_stored(&running, expected).await?;
        running.stop().await?;
        drop(schema);
    }
    Ok(samples)
}

async fn check_stored(running: &RunningServer, expected: u64) -> BenchResult {
    let stored = running.submissions_stored().await?;
    if stored != expected {
        return Err(format!("{stored} submissions stored, {expected} were sent").into());
    }
    Ok(())
}

/// Wall time, this process's CPU time and the machine's busy share from start to stop.
struct Clock {
    started: Instant,
    cpu: Option<Duration>,
    busy: MachineBusy,
}

impl Clock {
    fn start() -> Self {
        Self {
            busy: MachineBusy::start(),
            cpu: process_cpu_time(),
            started: Instant::now(),
        }
    }

    fn stop(self, latencies: Vec<Duration>) -> Sample {
        let took = self.started.elapsed();
        let cpu = process_cpu_time()
            .zip(self.cpu)
            .map_or(Duration::ZERO, |(after, before)| {
                after.saturating_sub(before)
            });
        Sample {
            took,
            cpu,
            busy: self.busy.share(),
            latencies,
        }
    }
}

/// The first line of `/proc/stat` at the start: (busy, total) ticks of every core.
struct MachineBusy(Option<(u64, u64)>);

impl MachineBusy {
    fn start() -> Self {
        Self(cpu_ticks())
    }

    /// Share of the cores' time spent busy since [`MachineBusy::start`]; 0 off Linux.
    fn share(&self) -> f64 {
        match (self.0, cpu_ticks()) {
            (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
                (busy1 - busy0) as f64 / (total1 - total0) as f64
            }
            _ => 0.0,
        }
    }
}

fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

// ── the baseline: raw batched inserts of the store's rows ───────────────────────────────

/// One submission as `PostgresStore::ingest` stores it, encoded ahead.
struct RawRow {
    id: String,
    kiosk_id: String,
    receipt_number: String,
    kind: &'static str,
    item_code: Option<String>,
    content_digest: String,
    body: String,
    rating: Option<i64>,
    county: String,
    township: String,
    village: String,
    id_lookup: Option<String>,
}

/// Every booth was enrolled in [`server::village`], so that is where each row was handed in.
fn raw_rows(kiosk_id: &str, booth: &Booth) -> BenchResult<Vec<RawRow>> {
    let keys = Arc::clone(&server::bench_keys().ring);
    let place = server::village();
    booth
        .submissions
        .iter()
        .map(|s: &Submission| {
            let id = s.id.to_string();
            Ok(RawRow {
                body: SUBMISSION_BODY.seal(&keys, &id, &serde_json::to_string(s)?),
                id,
                kiosk_id: kiosk_id.to_owned(),
                receipt_number: s.receipt_number.clone(),
                kind: s.kind.as_str(),
                item_code: s.item_code.clone(),
                content_digest: s.content_digest(),
                rating: s.rating.map(i64::from),
                county: place.county.clone(),
                township: place.township.clone(),
                village: place.village.clone(),
                id_lookup: id_lookup(&keys, s),
            })
        })
        .collect()
}

const SUBMISSION_COLUMNS: usize = 15;
const CHANGE_COLUMNS: usize = 5;

/// `INSERT … VALUES (…), (…) …` of `rows` rows of `columns` placeholders each.
fn multi_row(head: &str, rows: usize, columns: usize, tail: &str) -> String {
    let mut sql = format!("{head} VALUES ");
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            let sep = if column == 0 { "" } else { ", " };
            let _ = write!(sql, "{sep}${}", row * columns + column + 1);
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    sql
}

/// A connection with its statements prepared: full batches and the last, shorter one.
struct RawConnection {
    client: tokio_postgres::Client,
    /// (rows, insert into submissions, insert into status_changes)
    statements: Vec<(usize, tokio_postgres::Statement, tokio_postgres::Statement)>,
}

impl RawConnection {
    async fn open(url: &str, rows: usize) -> BenchResult<Self> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        let mut sizes = vec![MAX_BATCH.min(rows)];
        if !rows.is_multiple_of(MAX_BATCH) && rows > MAX_BATCH {
            sizes.push(rows % MAX_BATCH);
        }
        let mut statements = Vec::new();
        for size in sizes {
            let submissions = client
                .prepare(&multi_row(
                    "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, \
                     status, content_digest, body, received_at, status_changed_at, rating, \
                     county, township, village, id_lookup)",
                    size,
                    SUBMISSION_COLUMNS,
                    "ON CONFLICT DO NOTHING",
                ))
                .await?;
            let changes = client
                .prepare(&multi_row(
                    "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, \
                     status, changed_at)",
                    size,
                    CHANGE_COLUMNS,
                    "",
                ))
                .await?;
            statements.push((size, submissions, changes));
        }
        Ok(Self { client, statements })
    }

    /// Inserts `rows`, [`MAX_BATCH`] per transaction; how long each transaction took.
    async fn insert(mut self, rows: Vec<RawRow>) -> BenchResult<Vec<Duration>> {
        let status = SubmissionStatus::Received.as_str();
        let mut latencies = Vec::with_capacity(rows.len().div_ceil(MAX_BATCH));
        for chunk in rows.chunks(MAX_BATCH) {
            let started = Instant::now();
            let now = stored_now(Utc::now());
            let (_, submissions, changes) = self
                .statements
                .iter()
                .find(|(size, _, _)| *size == chunk.len())
                .ok_or("no statement prepared for this batch size")?
                .clone();
            let mut values: Vec<&(dyn ToSql + Sync)> =
                Vec::with_capacity(chunk.len() * SUBMISSION_COLUMNS);
            for row in chunk {
                values.extend([
                    &row.id as &(dyn ToSql + Sync),
                    &row.kiosk_id,
                    &row.receipt_number,
                    &row.kind,
                    &row.item_code,
                    &status,
                    &row.content_digest,
                    &row.body,
                    &now,
                    &now,
                    &row.rating,
                    &row.county,
                    &row.township,
                    &row.village,
                    &row.id_lookup,
                ]);
            }
            let mut change_values: Vec<&(dyn ToSql + Sync)> =
                Vec::with_capacity(chunk.len() * CHANGE_COLUMNS);
            for row in chunk {
                change_values.extend([
                    &row.id as &(dyn ToSql + Sync),
                    &row.kiosk_id,
                    &row.receipt_number,
                    &status,
                    &now,
                ]);
            }
            let tx = self.client.transaction().await?;
            let inserted = tx.execute(&submissions, &values).await?;
            if inserted != chunk.len() as u64 {
                return Err(format!("raw insert: {inserted} of {} inserted", chunk.len()).into());
            }
            tx.execute(&changes, &change_values).await?;
            tx.commit().await?;
            latencies.push(started.elapsed());
        }
        Ok(latencies)
    }
}
