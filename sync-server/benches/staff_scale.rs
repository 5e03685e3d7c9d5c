//! The staff pages' store calls at a province's size: the inbox (a county's first page, a
//! page deep into it by key, a county's submissions of one status, the most urgent first)
//! and the fleet page (its table, and its summary of the whole scope), timed on a SQLite store
//! and on a PostgreSQL one holding the same rows.
//!
//! ```text
//! cargo bench -p sync-server --bench staff_scale                  # 1,000,000 submissions
//! BENCH_SUBMISSIONS=3000000 cargo bench -p sync-server --bench staff_scale   # the issue's size
//! BENCH_SUBMISSIONS=200000 BENCH_RUNS=1 cargo bench -p sync-server --bench staff_scale
//! ```
//!
//! By default one store holds a province: 500,000 booths (a receipt number carries up to
//! 1,048,575 kiosk numbers, `sync_protocol::receipt::MAX_KIOSK_NUMBER`) in 10 counties, with
//! 1,000,000 submissions (a third of the issue's 3,000,000).
//!
//! The rows go in by SQL, not through `ingest` (which would take hours at this size): SQLite
//! first, in the schema `SqliteStore::open` made, with the inbox and fleet indexes dropped
//! during the fill and made again from their own SQL afterwards; each row as the store writes
//! it (the body sealed under its row key, the ID number's keyed hash, the review columns
//! consistent with the status). PostgreSQL then gets the same rows through `migrate_store`
//! (binary `COPY`, checked), in a fresh schema of `SYNC_SERVER_TEST_POSTGRES` (skipped with
//! a line saying so when unset), followed by `VACUUM ANALYZE` as autovacuum would run it.
//!
//! Environment: `BENCH_BOOTHS` (500,000), `BENCH_SUBMISSIONS` (1,000,000: 3,000,000 does not fill
//! PostgreSQL within ten minutes on the 2-core VM, see docs/benchmarks.md), `BENCH_COUNTIES`
//! (10), `BENCH_CALLS` per query per run (200; a tenth of it for the OFFSET comparison),
//! `BENCH_RUNS` (3), `BENCH_DEPTH` the deep page (1,000), `BENCH_DIR` (cargo's target tmp dir).
//!
//! Reported per query: the median over the runs of each run's p50 and p99, and the worst
//! run's p99. A county is 县00, a tenth of the store at the default `BENCH_COUNTIES`.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::receipt::MAX_KIOSK_NUMBER;
use sync_protocol::submission::SubmissionKind;
use sync_server::domain::access::Scope;
use sync_server::store::Store;
use sync_server::store::conformance::submission;
use sync_server::store::paging::{InboxKey, PageAt};
use sync_server::store::postgres::PostgresStore;
use sync_server::store::postgres::testing::TestSchema;
use sync_server::store::review::{InboxOrder, InboxQuery};
use sync_server::store::sealed_columns::SUBMISSION_BODY;
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::{FleetQuery, FleetSummaryQuery};
use sync_server::store::transfer::migrate_store;
use sync_server::store::values::to_json;

use common::harness::{self, BenchResult, Stats, Table, env_number};

/// The staff pages' page sizes (`staff::web::review`, `staff::web::fleet`).
const INBOX_PAGE: u32 = 25;
const FLEET_PAGE: u32 = 100;
const ALERT_LIMIT: u32 = 100;
/// Townships per county; each booth is its own village, as in the countryside.
const TOWNSHIPS: usize = 12;
/// The submissions span two years, the newest a day before the fill.
const SPAN_DAYS: i64 = 730;
/// The status the county + status query filters on: a few percent of every county's rows,
/// spread over all of its history (a correction can wait for months).
const FILTERED_STATUS: SubmissionStatus = SubmissionStatus::NeedsCorrection;

struct Scale {
    booths: usize,
    submissions: usize,
    counties: usize,
    calls: usize,
    runs: usize,
    depth: usize,
}

fn main() -> BenchResult {
    let scale = Scale {
        booths: env_number("BENCH_BOOTHS", 500_000)?,
        submissions: env_number("BENCH_SUBMISSIONS", 1_000_000)?,
        counties: env_number("BENCH_COUNTIES", 10)?,
        calls: env_number("BENCH_CALLS", 200)?,
        runs: env_number("BENCH_RUNS", 3)?,
        depth: env_number("BENCH_DEPTH", 1_000)?,
    };
    if scale.booths > MAX_KIOSK_NUMBER as usize {
        return Err(format!(
            "BENCH_BOOTHS={}: one store holds at most {MAX_KIOSK_NUMBER} booths (the kiosk \
             number in a receipt number); a province is several stores",
            scale.booths
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = harness::scratch_dir("staff-scale-")?;
    let database = scratch.path().join("server.sqlite3");
    let keys = Arc::new(KeyRing::generate());
    let now = Utc::now();
    println!(
        "staff pages at scale: {} booths in {} counties, {} submissions over {SPAN_DAYS} \
         days; {} calls per query, {} run(s); {} cores, load average {}; scratch on {}",
        scale.booths,
        scale.counties,
        scale.submissions,
        scale.calls,
        scale.runs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        harness::describe_disk(scratch.path())
    );

    let filled = Instant::now();
    runtime.block_on(async { SqliteStore::open(&database, Arc::clone(&keys)).map(drop) })?;
    fill_sqlite(&database, &keys, &scale, now)?;
    println!(
        "filled SQLite in {} ({} MiB)",
        harness::secs(filled.elapsed()),
        std::fs::metadata(&database)?.len() >> 20
    );

    let mut table = Table::new(&["query", "store", "p50", "p99", "p99 of runs", "rows"]);
    {
        let store: Arc<dyn Store> =
            Arc::new(runtime.block_on(async { SqliteStore::open(&database, Arc::clone(&keys)) })?);
        let offset = SqliteOffset(Connection::open_with_flags(
            &database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?);
        runtime.block_on(measure("SQLite", store, &offset, &scale, now, &mut table))?;
    }

    if std::env::var_os("SYNC_SERVER_TEST_POSTGRES").is_none() {
        println!(
            "PostgreSQL skipped: SYNC_SERVER_TEST_POSTGRES is not set (scripts/test-postgres \
             prints it)"
        );
    } else {
        runtime.block_on(async {
            let schema = TestSchema::create().await;
            let copied = Instant::now();
            let report = migrate_store(&database, &schema.url(), Arc::clone(&keys), |_| {}).await?;
            if !report.verified() {
                return Err(format!("the copy into PostgreSQL did not verify: {report:?}").into());
            }
            let client = connect(&schema.url()).await?;
            // What autovacuum does after a load this size; without it every count reads the
            // table for visibility instead of the index alone.
            client.batch_execute("VACUUM ANALYZE").await?;
            println!(
                "copied into PostgreSQL with migrate_store, vacuumed and analyzed in {}",
                harness::secs(copied.elapsed())
            );
            let store: Arc<dyn Store> =
                Arc::new(PostgresStore::open(&schema.url(), Arc::clone(&keys)).await?);
            let offset = PostgresOffset(client);
            let measured = measure("PostgreSQL", store, &offset, &scale, now, &mut table).await;
            drop(schema);
            measured
        })?;
    }
    println!();
    table.print();
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn county(n: usize) -> String {
    format!("县{n:02}")
}

/// A fixed scramble of `n` (splitmix64): the same data on every run, spread like real data.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the review has made of submission `n` of `total` by now: old ones are mostly
/// finished, the newest twentieth still mostly open. `None` for evaluations' own kind.
fn status_of(n: usize, total: usize) -> SubmissionStatus {
    let roll = mix(n as u64 ^ 0x5eed) % 1000;
    if n >= total - total / 20 {
        match roll {
            0..400 => SubmissionStatus::Received,
            400..700 => SubmissionStatus::Accepted,
            700..900 => SubmissionStatus::InReview,
            _ => SubmissionStatus::NeedsCorrection,
        }
    } else {
        match roll {
            0..900 => SubmissionStatus::Approved,
            900..960 => SubmissionStatus::Rejected,
            960..990 => SubmissionStatus::NeedsCorrection,
            _ => SubmissionStatus::InReview,
        }
    }
}

/// Booths and submissions straight into the store's tables, in one transaction. The indexes
/// of the two tables are dropped first and made again from their own SQL after: building an
/// index from sorted rows is many times faster than growing it row by row, and the result is
/// the same index.
fn fill_sqlite(path: &Path, keys: &KeyRing, scale: &Scale, now: DateTime<Utc>) -> BenchResult {
    let mut conn = Connection::open(path)?;
    // A fill that fails is thrown away with the scratch directory.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;",
    )?;
    let tx = conn.transaction()?;
    let indexes: Vec<(String, String)> = tx
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND tbl_name IN ('kiosks', 'submissions')",
        )?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX {name}"))?;
    }

    let millis = |at: DateTime<Utc>| at.timestamp_millis();
    let mut kiosk_ids = Vec::with_capacity(scale.booths);
    {
        let mut insert = tx.prepare(
            "INSERT INTO kiosks (kiosk_id, kiosk_number, public_key, county, township, village,
                                 app_version, enrolled_at, last_seen_at, paper_alert)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '1.4.0', ?7, ?8, ?9)",
        )?;
        let enrolled = now - chrono::Duration::days(SPAN_DAYS + 30);
        for n in 0..scale.booths {
            let id = uuid::Uuid::now_v7().to_string();
            let mut public_key = [0_u8; 32];
            public_key[..8].copy_from_slice(&(n as u64).to_le_bytes());
            public_key[8..16].copy_from_slice(&mix(n as u64).to_le_bytes());
            let roll = mix(n as u64 ^ 0xb007) % 1000;
            // A few booths offline for days, a few low on paper: the fleet's alerts.
            let last_seen = if roll < 20 {
                now - chrono::Duration::days(3)
            } else {
                now - chrono::Duration::seconds((roll * 7) as i64)
            };
            let paper = match roll {
                20..30 => Some("paper_out"),
                30..60 => Some("paper_near_end"),
                _ => None,
            };
            let county_no = n % scale.counties;
            insert.execute(params![
                id,
                n as i64 + 1,
                public_key.as_slice(),
                county(county_no),
                format!("乡{:02}", (n / scale.counties) % TOWNSHIPS),
                format!("村{n:05}"),
                millis(enrolled),
                millis(last_seen),
                paper,
            ])?;
            kiosk_ids.push(id);
        }
    }

    let id_number = submission(1, 1)
        .applicant
        .and_then(|a| a.id_number)
        .unwrap_or_default();
    let id_lookup = keys.id_lookup(&id_number);
    let first = now - chrono::Duration::days(SPAN_DAYS + 1);
    let step_ms = (SPAN_DAYS * 86_400_000) / scale.submissions as i64;
    let mut seqs = vec![0_u64; scale.booths];
    {
        let mut insert = tx.prepare(
            "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                      content_digest, body, received_at, status_changed_at,
                                      stage, levels, accepted_at, due_on, rating, county,
                                      township, village, id_lookup)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19)",
        )?;
        for n in 0..scale.submissions {
            let booth = (mix(n as u64) % scale.booths as u64) as usize;
            seqs[booth] += 1;
            let received = first + chrono::Duration::milliseconds(step_ms * n as i64);
            let mut sent = submission(booth as u32 + 1, seqs[booth]);
            sent.created_at = received - chrono::Duration::seconds(40);
            // A tenth are ratings, which the inbox never shows.
            let evaluation = mix(n as u64 ^ 0xe7a1).is_multiple_of(10);
            if evaluation {
                sent.kind = SubmissionKind::Evaluation;
                sent.rating = Some((mix(n as u64) % 5) as u8 + 1);
                sent.applicant = None;
                sent.fields.clear();
            }
            let status = if evaluation {
                SubmissionStatus::Received
            } else {
                status_of(n, scale.submissions)
            };
            // Accepted ones carry their chain and promised date; the clock starts a day in.
            let accepted = status != SubmissionStatus::Received;
            let accepted_at = received + chrono::Duration::days(1);
            let due_on = accepted_at.date_naive() + chrono::Duration::days(20);
            let stage = match status {
                SubmissionStatus::InReview => 2,
                _ => 1,
            };
            let id = sent.id.to_string();
            let body = SUBMISSION_BODY.seal(keys, &id, &to_json(&sent)?);
            let booth_no = booth;
            insert.execute(params![
                id,
                kiosk_ids[booth],
                sent.receipt_number,
                sent.kind.as_str(),
                sent.item_code,
                status.as_str(),
                sent.content_digest(),
                body,
                millis(received),
                millis(if accepted { accepted_at } else { received }),
                stage,
                accepted.then_some(2_i64),
                accepted.then(|| millis(accepted_at)),
                accepted.then(|| due_on.to_string()),
                sent.rating.map(i64::from),
                county(booth_no % scale.counties),
                format!("乡{:02}", (booth_no / scale.counties) % TOWNSHIPS),
                format!("村{booth_no:05}"),
                (!evaluation).then_some(id_lookup.as_str()),
            ])?;
        }
    }
    for (_, sql) in &indexes {
        tx.execute_batch(sql)?;
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA journal_mode = WAL")?;
    Ok(())
}

async fn connect(url: &str) -> BenchResult<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The deep page read the way paging by key replaced: the same rows of the same order, found
/// by skipping `offset` rows. Raw SQL, the rows only (no count, no body opened).
trait OffsetPage {
    async fn rows(&self, county: &str, offset: usize) -> BenchResult<usize>;
}

struct SqliteOffset(Connection);

impl OffsetPage for SqliteOffset {
    async fn rows(&self, county: &str, offset: usize) -> BenchResult<usize> {
        let mut statement = self.0.prepare_cached(
            "SELECT s.id, s.body, s.kiosk_id, k.kiosk_number, s.status, s.received_at,
                    s.county, s.village, s.stage, s.due_on
             FROM submissions s JOIN kiosks k USING (kiosk_id)
             WHERE s.kind != 'evaluation' AND s.county = ?1
             ORDER BY s.received_at DESC, s.rowid DESC LIMIT ?2 OFFSET ?3",
        )?;
        let rows = statement
            .query_map(
                params![county, i64::from(INBOX_PAGE) + 1, offset as i64],
                |row| row.get::<_, String>(1),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.len())
    }
}

struct PostgresOffset(tokio_postgres::Client);

impl OffsetPage for PostgresOffset {
    async fn rows(&self, county: &str, offset: usize) -> BenchResult<usize> {
        let rows = self
            .0
            .query(
                "SELECT s.id, s.body, s.kiosk_id, k.kiosk_number, s.status, s.received_at,
                        s.county, s.village, s.stage, s.due_on
                 FROM submissions s JOIN kiosks k USING (kiosk_id)
                 WHERE s.kind <> 'evaluation' AND s.county = $1
                 ORDER BY s.received_at DESC, s.row_seq DESC LIMIT $2 OFFSET $3",
                &[&county, &(i64::from(INBOX_PAGE) + 1), &(offset as i64)],
            )
            .await?;
        Ok(rows.len())
    }
}

fn inbox_query(county_name: &str, today: NaiveDate) -> InboxQuery {
    InboxQuery {
        scope: Scope::County(county_name.to_owned()),
        waiting_for: None,
        statuses: Vec::new(),
        include_final: false,
        kind: None,
        item_code: None,
        id_number: None,
        village: None,
        received_from: None,
        received_until: None,
        overdue_only: false,
        due_soon_only: false,
        today,
        due_soon_days: 3,
        order: InboxOrder::Newest,
        page: PageAt::First,
        limit: INBOX_PAGE,
    }
}

/// One query the bench times: its name, and what one call returns (rows shown).
enum Query {
    Inbox(InboxQuery),
    Fleet(FleetQuery),
    FleetSummary(FleetSummaryQuery),
    Offset { county: String, offset: usize },
}

/// Times every query `scale.calls` times per run; a row per query with the medians over the
/// runs of each run's p50 and p99, and the slowest run's p99.
async fn measure(
    store_name: &str,
    store: Arc<dyn Store>,
    offset: &impl OffsetPage,
    scale: &Scale,
    now: DateTime<Utc>,
    table: &mut Table,
) -> BenchResult {
    let today = now.date_naive();
    let county0 = county(0);
    let open = inbox_query(&county0, today);
    let everything = InboxQuery {
        include_final: true,
        ..open.clone()
    };
    // The deep page's key, as a clerk would reach it: page after page, each by the last key.
    let walked = Instant::now();
    let mut at = PageAt::<InboxKey>::First;
    let mut pages = 0;
    while pages < scale.depth - 1 {
        let page = store
            .inbox(&InboxQuery {
                page: at.clone(),
                ..everything.clone()
            })
            .await?;
        pages += 1;
        match page.next {
            Some(key) => at = PageAt::After(key),
            None => break,
        }
    }
    let deep = pages + 1;
    println!(
        "{store_name}: walked to page {deep} of county {county0}'s inbox in {} ({} per page)",
        harness::secs(walked.elapsed()),
        harness::ms(walked.elapsed() / pages.max(1) as u32)
    );
    let fleet = FleetQuery {
        scope: Scope::County(county0.clone()),
        page: PageAt::First,
        limit: FLEET_PAGE,
    };
    let summary = FleetSummaryQuery {
        scope: Scope::County(county0.clone()),
        alert_limit: ALERT_LIMIT,
        now,
    };
    // A county's booths run to a few thousand numbers: the fleet's page 21 or its last. The
    // county's k-th booth (from 0) has number k * counties + 1; a page starts after the last
    // booth of the page before it.
    let county_booths = scale.booths / scale.counties;
    let fleet_deep_page = (county_booths.saturating_sub(1) / FLEET_PAGE as usize).min(20);
    let fleet_key =
        ((fleet_deep_page * FLEET_PAGE as usize).saturating_sub(1) * scale.counties + 1) as u32;
    let queries = vec![
        (
            "inbox: a county's open ones, newest first, page 1".to_owned(),
            Query::Inbox(open.clone()),
        ),
        (
            format!("inbox: a county's everything, page {deep} by key"),
            Query::Inbox(InboxQuery {
                page: at,
                ..everything.clone()
            }),
        ),
        (
            format!(
                "  the same page by OFFSET {} (raw SQL, rows only)",
                (deep - 1) * INBOX_PAGE as usize
            ),
            Query::Offset {
                county: county0.clone(),
                offset: (deep - 1) * INBOX_PAGE as usize,
            },
        ),
        (
            format!("inbox: a county's `{}`, page 1", FILTERED_STATUS.as_str()),
            Query::Inbox(InboxQuery {
                statuses: vec![FILTERED_STATUS],
                ..open.clone()
            }),
        ),
        (
            "inbox: a county's open ones, most urgent first, page 1".to_owned(),
            Query::Inbox(InboxQuery {
                order: InboxOrder::MostUrgent,
                ..open.clone()
            }),
        ),
        (
            "inbox: a county's overdue count (each inbox page)".to_owned(),
            Query::Inbox(InboxQuery {
                overdue_only: true,
                limit: 0,
                ..open.clone()
            }),
        ),
        (
            "fleet: a county, page 1".to_owned(),
            Query::Fleet(fleet.clone()),
        ),
        (
            format!("fleet: a county, page {} by key", fleet_deep_page + 1),
            Query::Fleet(FleetQuery {
                page: PageAt::After(fleet_key),
                ..fleet.clone()
            }),
        ),
        (
            "fleet: every booth of the store, page 1".to_owned(),
            Query::Fleet(FleetQuery {
                scope: Scope::All,
                ..fleet.clone()
            }),
        ),
        (
            "fleet summary: a county's counts and first alerts".to_owned(),
            Query::FleetSummary(summary.clone()),
        ),
        (
            "fleet summary: every booth of the store".to_owned(),
            Query::FleetSummary(FleetSummaryQuery {
                scope: Scope::All,
                ..summary.clone()
            }),
        ),
    ];
    for (name, query) in &queries {
        let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
        let mut shown = 0;
        // Warm the caches as a server that has been up a while has them.
        for _ in 0..3 {
            shown = call(store.as_ref(), offset, query).await?;
        }
        // The OFFSET read is the slow way shown for comparison: a tenth of the calls says
        // enough, and keeps the run short.
        let calls = match query {
            Query::Offset { .. } => scale.calls.div_ceil(10).max(2),
            _ => scale.calls,
        };
        for _ in 0..scale.runs {
            let mut samples = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                call(store.as_ref(), offset, query).await?;
                samples.push(started.elapsed());
            }
            let stats = Stats::of(samples);
            p50s.push(stats.median);
            p99s.push(stats.p99);
        }
        let worst = p99s.iter().max().copied().unwrap_or_default();
        let (p50, p99) = (Stats::of(p50s).median, Stats::of(p99s).median);
        println!(
            "{store_name}: {name}: p50 {} p99 {} ({shown} rows)",
            harness::ms(p50),
            harness::ms(p99)
        );
        table.row(vec![
            name.clone(),
            store_name.to_owned(),
            harness::ms(p50),
            harness::ms(p99),
            harness::ms(worst),
            shown.to_string(),
        ]);
    }
    Ok(())
}

/// One call; how many rows (or, for a count, the count) it gave.
async fn call(store: &dyn Store, offset: &impl OffsetPage, query: &Query) -> BenchResult<usize> {
    Ok(match query {
        Query::Inbox(query) => {
            let page = store.inbox(query).await?;
            if query.limit == 0 {
                page.total as usize
            } else {
                page.items.len()
            }
        }
        Query::Fleet(query) => store.fleet_page(query).await?.kiosks.len(),
        Query::FleetSummary(query) => store.fleet_summary(query).await?.alerting.len(),
        Query::Offset { county, offset: n } => offset.rows(county, *n).await?,
    })
}
