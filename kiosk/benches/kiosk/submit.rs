//! `Store::submit` latency, call to durable commit, against a bare rusqlite insert of a similar
//! row with the same pragmas (WAL, `synchronous=FULL`), one transaction per insert, both files
//! in one directory on the same disk. The two are interleaved call by call (alternating which
//! goes first) so both see the same background disk activity.
//!
//! `BENCH_SUBMITS` (2000) timed calls of each after `BENCH_WARMUP` (20) untimed ones.

use std::path::Path;
use std::time::{Duration, Instant};

use kiosk_core::store::Store;
use rusqlite::{Connection, TransactionBehavior, params};
use sync_protocol::receipt::ReceiptNumber;

use crate::common::harness::{self, BenchResult, Stats, Table, env_number, ms};
use crate::common::server;
use crate::{offline_identity, sample_new_submission};

/// The goal: the store's p99 at most this many times the bare insert's p99.
const GOAL_P99_RATIO: f64 = 2.0;

/// The kiosk's `submissions` table and its index, as in `kiosk/src/store/schema.rs`.
const BARE_SCHEMA: &str = r#"
    CREATE TABLE submissions (
        id              TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL UNIQUE,
        receipt_number  TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        item_code       TEXT,
        catalog_version INTEGER,
        fields_json     TEXT NOT NULL,
        text            TEXT,
        rating          INTEGER,
        applicant_json  TEXT,
        contact_phone   TEXT,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error      TEXT,
        acknowledged_at TEXT,
        received_at     TEXT,
        minimised_at    TEXT
    ) STRICT;
    CREATE INDEX submissions_by_state ON submissions (state, next_attempt_at, seq);
"#;

/// A plain table in its own file: one INSERT per transaction, nothing else.
struct Bare {
    conn: Connection,
    fields_json: String,
    applicant_json: String,
    seq: u64,
}

impl Bare {
    fn open(path: &Path) -> BenchResult<Self> {
        let conn = Connection::open(path)?;
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(BARE_SCHEMA)?;
        let new = sample_new_submission();
        Ok(Self {
            conn,
            fields_json: serde_json::to_string(&new.fields)?,
            applicant_json: serde_json::to_string(&new.applicant)?,
            seq: 0,
        })
    }

    /// Inserts the next row; returns the time from BEGIN to the end of COMMIT.
    fn insert(&mut self) -> BenchResult<Duration> {
        self.seq += 1;
        let id = uuid::Uuid::now_v7().to_string();
        let receipt = ReceiptNumber::new(7, self.seq).to_string();
        let created = chrono::Utc::now().to_rfc3339();
        let started = Instant::now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO submissions
                 (id, seq, receipt_number, kind, item_code, catalog_version, fields_json,
                  applicant_json, contact_phone, created_at, state, next_attempt_at)
             VALUES (?1, ?2, ?3, 'application', ?4, 1, ?5, ?6, ?7, ?8, 'pending', ?8)",
        )?
        .execute(params![
            id,
            self.seq,
            receipt,
            server::ITEM_CODE,
            self.fields_json,
            self.applicant_json,
            server::SAMPLE_PHONE,
            created,
        ])?;
        tx.commit()?;
        Ok(started.elapsed())
    }
}

fn timed_submit(store: &mut Store) -> BenchResult<Duration> {
    let new = sample_new_submission();
    let started = Instant::now();
    store.submit(new)?;
    Ok(started.elapsed())
}

pub fn run() -> BenchResult {
    let count = env_number("BENCH_SUBMITS", 2000)?;
    let warmup = env_number("BENCH_WARMUP", 20)?;
    let scratch = harness::scratch_dir("submit-")?;
    println!(
        "{count} timed calls of each after {warmup} warm-up calls; files in {} on {}",
        scratch.path().display(),
        harness::describe_disk(scratch.path())
    );
    let mut store = Store::open(&scratch.path().join("kiosk"))?;
    store.set_identity(&offline_identity())?;
    let mut bare = Bare::open(&scratch.path().join("bare.sqlite3"))?;

    for _ in 0..warmup {
        timed_submit(&mut store)?;
        bare.insert()?;
    }
    let mut submits = Vec::with_capacity(count);
    let mut inserts = Vec::with_capacity(count);
    for i in 0..count {
        if i % 2 == 0 {
            submits.push(timed_submit(&mut store)?);
            inserts.push(bare.insert()?);
        } else {
            inserts.push(bare.insert()?);
            submits.push(timed_submit(&mut store)?);
        }
    }
    // WAL checkpoints (every 1000 WAL pages) stand out at several times the median; how many
    // calls paid one decides where p99 lands.
    let slow = |samples: &[Duration], median: Duration| {
        samples.iter().filter(|d| **d > median * 3).count()
    };
    let submit = Stats::of(submits.clone());
    let insert = Stats::of(inserts.clone());

    let mut table = Table::new(&[
        "call → durable commit",
        "p50",
        "p90",
        "p99",
        "max",
        "calls > 3× p50",
    ]);
    for (label, stats, samples) in [
        (
            "Store::submit (outbox row + receipt + seq)",
            submit,
            &submits,
        ),
        ("bare INSERT, one row per transaction", insert, &inserts),
    ] {
        table.row(vec![
            label.to_owned(),
            ms(stats.median),
            ms(stats.p90),
            ms(stats.p99),
            ms(stats.max),
            format!("{} of {}", slow(samples, stats.median), stats.count),
        ]);
    }
    table.print();
    let p50_ratio = harness::ratio(submit.median, insert.median);
    let p99_ratio = harness::ratio(submit.p99, insert.p99);
    println!(
        "ratio store/bare: p50 {p50_ratio:.2}×, p99 {p99_ratio:.2}× (goal p99 ≤ {GOAL_P99_RATIO}×: {})",
        harness::verdict(p99_ratio <= GOAL_P99_RATIO)
    );
    Ok(())
}
