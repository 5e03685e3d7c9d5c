//! How long `migrate-store` takes for a county: a SQLite store of 100,000 submissions (each
//! with its `received` status change, its body sealed) and a few thousand audit lines, copied
//! into an empty PostgreSQL schema and verified, as `sync-server migrate-store` does it.
//!
//! ```text
//! cargo bench -p sync-server --bench migrate                                    # 3 runs of 100,000
//! BENCH_RUNS=1 BENCH_SUBMISSIONS=10000 cargo bench -p sync-server --bench migrate  # a quick run
//! ```
//!
//! Needs the PostgreSQL the tests use (`SYNC_SERVER_TEST_POSTGRES`, default
//! postgres://postgres@127.0.0.1:5432/sync_server_tests); each run copies into a fresh schema.
//! Environment: `BENCH_RUNS` (3), `BENCH_SUBMISSIONS` (100,000), `BENCH_AUDIT` audit lines
//! (5,000), `BENCH_DIR` (cargo's target tmp dir).
//!
//! Reported per run: the copy (from the start until the last table is in, inside the
//! transaction: SQLite read, binary COPY, identities, the read-back digests and the commit
//! come after it) and the whole command (everything `migrate_store` does, verification
//! included: every table read back and digested, the store opened with the key file, the
//! audit chain walked, every sealed value opened).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_protocol::submission::MAX_BATCH;
use sync_server::store::conformance::{enroll, submission, t0};
use sync_server::store::postgres::testing::TestSchema;
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::AuditEntry;
use sync_server::store::transfer::migrate_store;
use sync_server::store::{IngestItem, StaffStore as _, Store};

use common::harness::{self, BenchResult, Stats, env_number, per_second};

/// Booths the submissions come from.
const KIOSKS: usize = 20;

fn main() -> BenchResult {
    let runs = env_number("BENCH_RUNS", 3)?;
    let total = env_number("BENCH_SUBMISSIONS", 100_000)?;
    let audit = env_number("BENCH_AUDIT", 5_000)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = harness::scratch_dir("migrate-")?;
    let keys = Arc::new(KeyRing::generate());
    let database = scratch.path().join("server.sqlite3");
    println!(
        "migrate-store: {runs} run(s) of {total} submissions from {KIOSKS} booths and {audit} \
         audit lines; {} cores; scratch on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness::describe_disk(scratch.path())
    );
    let filled = Instant::now();
    runtime.block_on(fill(&database, Arc::clone(&keys), total, audit))?;
    println!(
        "filled the SQLite store in {} ({} MiB)",
        harness::secs(filled.elapsed()),
        std::fs::metadata(&database)?.len() >> 20
    );

    let (mut copies, mut wholes) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let schema = runtime.block_on(TestSchema::create());
        let started = Instant::now();
        let mut last_table = Duration::ZERO;
        let report = runtime.block_on(migrate_store(
            &database,
            &schema.url(),
            Arc::clone(&keys),
            |_| last_table = started.elapsed(),
        ))?;
        let whole = started.elapsed();
        if !report.verified() {
            return Err(format!("run {run} did not verify: {report:?}").into());
        }
        println!(
            "run {run}: copy {} ({:.0} submissions/s), whole command {} ({} sealed values \
             opened)",
            harness::secs(last_table),
            per_second(total, last_table),
            harness::secs(whole),
            report.sealed_opened
        );
        copies.push(last_table);
        wholes.push(whole);
        drop(schema);
    }
    let (copy, whole) = (Stats::of(copies), Stats::of(wholes));
    println!(
        "median of {runs}: copy {} ({:.0} submissions/s), whole command {} (fastest {}, \
         slowest {})",
        harness::secs(copy.median),
        per_second(total, copy.median),
        harness::secs(whole.median),
        harness::secs(whole.min),
        harness::secs(whole.max),
    );
    Ok(())
}

/// A county's store: `total` submissions through `SqliteStore::ingest` in batches, then
/// `audit` lines from 32 callers at once.
async fn fill(
    path: &std::path::Path,
    keys: Arc<KeyRing>,
    total: usize,
    audit: usize,
) -> BenchResult {
    let store = Arc::new(SqliteStore::open(path, keys)?);
    let mut kiosks = Vec::new();
    for n in 0..KIOSKS {
        kiosks.push(enroll(store.as_ref(), &format!("村{n}"), n as u8 + 1).await);
    }
    let per_kiosk = total.div_ceil(KIOSKS);
    let mut tasks = Vec::new();
    for kiosk in kiosks {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut seq = 1_u64;
            while seq <= per_kiosk as u64 {
                let items: Vec<IngestItem> = (seq..(seq + MAX_BATCH as u64)
                    .min(per_kiosk as u64 + 1))
                    .map(|n| {
                        let sent = submission(kiosk.kiosk_number, n);
                        IngestItem {
                            content_digest: sent.content_digest(),
                            submission: sent,
                        }
                    })
                    .collect();
                seq += items.len() as u64;
                store.ingest(&kiosk.kiosk_id, items, t0()).await?;
            }
            Ok::<_, sync_server::store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let mut lines = Vec::new();
    for caller in 0..32 {
        let store = Arc::clone(&store);
        let count = audit / 32 + usize::from(caller < audit % 32);
        lines.push(tokio::spawn(async move {
            for n in 0..count {
                store
                    .append_audit(
                        AuditEntry::new(t0(), "wang.fang", "review.accept")
                            .target(format!("{caller:03}-{n:05}-X"))
                            .detail("受理，材料齐全"),
                    )
                    .await?;
            }
            Ok::<_, sync_server::store::StoreError>(())
        }));
    }
    for task in lines {
        task.await??;
    }
    Ok(())
}
