//! What the audit log's hash chain costs on the write path of every staff action.
//!
//! ```text
//! cargo bench -p sync-server --bench audit                    # 9 runs
//! BENCH_RUNS=3 cargo bench -p sync-server --bench audit link  # one section
//! ```
//!
//! Sections (each run on fresh files, the median over runs reported):
//! - `link`: `audit_chain::link` alone, a typical line (SHA-256 over about 150 bytes).
//! - `insert`: one rusqlite connection with the store's pragmas (WAL, `synchronous=FULL`),
//!   the audit insert before the chain (the old table and statement, copied from the first
//!   staff migration) against the insert with the chain (the store's own table, made by
//!   `SqliteStore::open`, and the statements `sqlite/audit.rs::next_link` and
//!   `sqlite/staff.rs::append_audit` run: read the last line, hash, insert). Twice: every
//!   line in one transaction (the CPU cost, no fsync), and one commit per line (what a staff
//!   action pays with its own commit).
//! - `store`: `SqliteStore::append_audit` through the writer thread, one caller after the
//!   other (a commit each) and 32 at once (batched commits).
//!
//! Environment: `BENCH_RUNS` (9), `BENCH_LINES` lines per timed loop (2,000; the link loop
//! runs 100 times as many), `BENCH_DIR` (cargo's target tmp dir).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};
use sync_server::store::Store;
use sync_server::store::audit_chain::{ChainHash, link};
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::AuditEntry;

use common::harness::{self, BenchResult, Stats, Table, env_number};

fn entry(n: usize) -> AuditEntry {
    AuditEntry::new(Utc::now(), "wang.fang", "review.accept")
        .target(format!("001-{n:05}-X"))
        .detail("受理，材料齐全")
        .remote(Some("192.168.10.23".into()))
}

/// The audit table and its insert as they were before the chain.
const BEFORE_TABLE: &str = "
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT,
        remote TEXT
    ) STRICT;
    CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
    CREATE INDEX audit_log_by_action ON audit_log (action, seq);
    CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

fn insert_before(conn: &Connection, entry: &AuditEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, target, detail, remote)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        entry.at.timestamp_millis(),
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.remote
    ])?;
    Ok(())
}

fn insert_chained(conn: &Connection, entry: &AuditEntry) -> rusqlite::Result<()> {
    let last: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (
            seq + 1,
            ChainHash::from_slice(&hash).unwrap_or(ChainHash::GENESIS),
        ),
        None => (1, ChainHash::GENESIS),
    };
    let hash = link(seq, entry, &prev);
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, target, detail, remote, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        seq,
        entry.at.timestamp_millis(),
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.remote,
        prev.as_bytes(),
        hash.as_bytes()
    ])?;
    Ok(())
}

fn with_store_pragmas(path: &Path) -> BenchResult<Connection> {
    let conn = Connection::open(path)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL")?;
    Ok(conn)
}

/// The pre-chain table in a fresh file.
fn before_db(dir: &Path) -> BenchResult<Connection> {
    let conn = with_store_pragmas(&dir.join("before.sqlite3"))?;
    conn.execute_batch(BEFORE_TABLE)?;
    Ok(conn)
}

/// The store's own schema (made and migrated by `SqliteStore::open`) in a fresh file.
fn chained_db(dir: &Path) -> BenchResult<Connection> {
    let path = dir.join("chained.sqlite3");
    drop(SqliteStore::open(&path, Arc::new(KeyRing::generate()))?);
    with_store_pragmas(&path)
}

type Insert = fn(&Connection, &AuditEntry) -> rusqlite::Result<()>;

/// Per line: `lines` inserts in one transaction, or each in its own.
fn time_inserts(
    conn: &Connection,
    insert: Insert,
    lines: usize,
    one_tx: bool,
) -> BenchResult<Duration> {
    let entries: Vec<AuditEntry> = (0..lines).map(entry).collect();
    let start = Instant::now();
    if one_tx {
        conn.execute_batch("BEGIN IMMEDIATE")?;
    }
    for entry in &entries {
        if !one_tx {
            conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        insert(conn, entry)?;
        if !one_tx {
            conn.execute_batch("COMMIT")?;
        }
    }
    if one_tx {
        conn.execute_batch("COMMIT")?;
    }
    Ok(start.elapsed() / lines as u32)
}

#[derive(Default)]
struct Samples(Vec<(String, Vec<Duration>)>);

impl Samples {
    fn add(&mut self, label: &str, sample: Duration) {
        match self.0.iter_mut().find(|(l, _)| l == label) {
            Some((_, samples)) => samples.push(sample),
            None => self.0.push((label.to_owned(), vec![sample])),
        }
    }
}

fn per_line(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{} ns", d.as_nanos())
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

fn main() -> BenchResult {
    let runs = env_number("BENCH_RUNS", 9)?;
    let lines = env_number("BENCH_LINES", 2_000)?;
    let sections = harness::selected_sections();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = harness::scratch_dir("audit-")?;
    println!(
        "audit chain: {runs} run(s), {lines} lines per loop; {} cores; scratch on {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        harness::describe_disk(scratch.path())
    );
    let mut samples = Samples::default();
    for run in 1..=runs {
        let dir = scratch.path().join(format!("run-{run}"));
        std::fs::create_dir_all(&dir)?;
        if harness::selects(&sections, "link") {
            let entries: Vec<AuditEntry> = (0..100).map(entry).collect();
            let count = lines * 100;
            let mut prev = ChainHash::GENESIS;
            let start = Instant::now();
            for n in 0..count {
                prev = link(n as i64, &entries[n % entries.len()], &prev);
            }
            samples.add("link alone", start.elapsed() / count as u32);
            std::hint::black_box(prev);
        }
        if harness::selects(&sections, "insert") {
            for (one_tx, mode) in [(true, "all in one transaction"), (false, "a commit each")] {
                let count = if one_tx { lines } else { lines / 4 };
                let files = dir.join(if one_tx { "one-tx" } else { "commits" });
                std::fs::create_dir_all(&files)?;
                let before = before_db(&files)?;
                let chained = chained_db(&files)?;
                samples.add(
                    &format!("insert before the chain, {mode}"),
                    time_inserts(&before, insert_before, count, one_tx)?,
                );
                samples.add(
                    &format!("insert with the chain, {mode}"),
                    time_inserts(&chained, insert_chained, count, one_tx)?,
                );
            }
        }
        if harness::selects(&sections, "store") {
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(
                &dir.join("store.sqlite3"),
                Arc::new(KeyRing::generate()),
            )?);
            let count = lines / 4;
            let start = Instant::now();
            runtime.block_on(async {
                for n in 0..count {
                    store.append_audit(entry(n)).await?;
                }
                BenchResult::Ok(())
            })?;
            samples.add(
                "SqliteStore::append_audit, one caller (a commit each)",
                start.elapsed() / count as u32,
            );
            let start = Instant::now();
            runtime.block_on(async {
                let mut callers = Vec::new();
                for caller in 0..32 {
                    let store = Arc::clone(&store);
                    callers.push(tokio::spawn(async move {
                        for n in (caller..lines).step_by(32) {
                            store.append_audit(entry(n)).await?;
                        }
                        BenchResult::Ok(())
                    }));
                }
                for caller in callers {
                    caller.await??;
                }
                BenchResult::Ok(())
            })?;
            samples.add(
                "SqliteStore::append_audit, 32 callers (batched commits)",
                start.elapsed() / lines as u32,
            );
            drop(store);
        }
        std::fs::remove_dir_all(&dir)?;
        println!("run {run} done");
    }
    let mut table = Table::new(&["per audit line", "median", "fastest–slowest run"]);
    for (label, runs) in samples.0 {
        let stats = Stats::of(runs);
        table.row(vec![
            label,
            per_line(stats.median),
            format!("{}–{}", per_line(stats.min), per_line(stats.max)),
        ]);
    }
    table.print();
    Ok(())
}
