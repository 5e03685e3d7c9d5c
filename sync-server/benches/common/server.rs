//! The real sync server in this process (`sync_server::server::serve` on 127.0.0.1:0 over a
//! data directory), enrollment over its HTTP API, realistic submissions, and the baseline the
//! server's ingest is compared with: a raw batched rusqlite insert into the server's own schema.
//! Shared with `kiosk/benches/kiosk` through `#[path]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use rusqlite::{Connection, params};
use sync_protocol::enroll::{EnrollRequest, EnrollResponse, Village};
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::paths;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::signing::{self, RequestParts, SignatureHeaders};
use sync_protocol::submission::{
    Applicant, BatchRequest, BatchResponse, MAX_BATCH, Submission, SubmissionKind,
};
use sync_server::data_dir::DataDir;
use sync_server::key_file::ServerKeys;
use sync_server::server::{self, ServerError};
use sync_server::settings::Settings;
use sync_server::state::AppState;
use sync_server::store::{IngestItem, IngestOutcome, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::harness::{BenchResult, Stats, process_cpu_time};

/// Logs as `sync-server serve` does by default (info, one line per request and per
/// submission), formatted but written to a sink: formatting is part of the server's cost.
/// `BENCH_LOG=off` leaves logging out.
pub fn install_server_logging() {
    if std::env::var("BENCH_LOG").is_ok_and(|v| v == "off") {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::sink)
        .compact()
        .try_init();
}

/// A server serving one data directory until stopped.
pub struct RunningServer {
    pub url: String,
    database: PathBuf,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
}

/// One set of keys for every server of the process: a server restarted on a data directory
/// must open what it sealed before.
pub fn bench_keys() -> ServerKeys {
    static KEYS: std::sync::LazyLock<ServerKeys> = std::sync::LazyLock::new(ServerKeys::generate);
    KEYS.clone()
}

/// Starts the server on a fresh port over `dir` (created and migrated if new).
pub async fn start(dir: &Path) -> BenchResult<RunningServer> {
    start_with(dir, Settings::default()).await
}

/// [`start`] with `settings`: `settings.store` picks the store as `serve --store` does (the
/// data directory then still holds the code secret and the release shelf).
pub async fn start_with(dir: &Path, settings: Settings) -> BenchResult<RunningServer> {
    let database = DataDir::create(dir)?.database();
    let state = server::open_state(dir, bench_keys(), settings).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        url,
        database,
        state,
        stop,
        task,
    })
}

impl RunningServer {
    pub fn store(&self) -> &dyn Store {
        self.state.store()
    }

    pub fn store_handle(&self) -> Arc<dyn Store> {
        self.state.store_handle()
    }

    /// The server's SQLite file (unused on PostgreSQL).
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// A one-time enrollment code, as `sync-server enroll-code` issues it.
    pub async fn issue_code(&self) -> BenchResult<String> {
        let issued = sync_server::api::enroll_codes::issue(
            self.store(),
            self.state.code_secret(),
            village(),
            Duration::from_secs(3600),
            Utc::now(),
        )
        .await?;
        Ok(issued.code)
    }

    /// Every submission the store holds, whatever its status.
    pub async fn submissions_stored(&self) -> BenchResult<u64> {
        let stats = self.store().stats().await?;
        Ok(stats.submissions_by_status.iter().map(|(_, n)| n).sum())
    }

    /// Graceful stop; the store's file is closed when this returns.
    pub async fn stop(self) -> BenchResult {
        let Self {
            state, stop, task, ..
        } = self;
        // The store closes once the last handle (ours, then the server's) is gone.
        drop(state);
        let _ = stop.send(());
        task.await??;
        Ok(())
    }
}

pub fn village() -> Village {
    Village {
        county: "田东县".into(),
        township: "平马镇".into(),
        village: "青山村".into(),
    }
}

/// A new ed25519 key from the OS RNG.
pub fn new_key() -> BenchResult<SigningKey> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no randomness for a key: {e}"))?;
    Ok(SigningKey::from_bytes(&secret))
}

/// Enrolls a new key with `code` through `POST /api/v1/enroll`.
pub async fn enroll_over_http(
    http: &reqwest::Client,
    url: &str,
    code: &str,
) -> BenchResult<(SigningKey, EnrollResponse)> {
    let key = new_key()?;
    let response = http
        .post(format!("{url}{}", paths::ENROLL))
        .json(&EnrollRequest::new(code, &key, "bench"))
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("enrollment refused: {status} {}", response.text().await?).into());
    }
    Ok((key, response.json().await?))
}

// ── what a villager hands in ─────────────────────────────────────────────────────────────

pub const ITEM_CODE: &str = "GX-YL-001";

/// A pension application's form, about the size a real one is.
pub fn sample_fields() -> BTreeMap<String, String> {
    [
        ("bank", "中国农业银行田东县支行"),
        ("bank_account", "6228480012345678901"),
        ("household_size", "4"),
        ("insured_since", "2011-07"),
        (
            "reason",
            "年满60周岁，申请按月领取城乡居民基本养老保险待遇。",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub fn sample_applicant() -> Applicant {
    Applicant {
        name: Some("韦秀英".into()),
        id_number: Some("450902195803120028".into()),
        address: Some("广西田东县平马镇青山村三组12号".into()),
    }
}

pub const SAMPLE_PHONE: &str = "13800771234";

/// Submission `seq` of kiosk `kiosk_number`, as the booth's store would build it.
pub fn sample_submission(kiosk_number: u32, seq: u64) -> Submission {
    let created_at =
        DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now);
    Submission {
        attachments: Vec::new(),
        supplement_to: None,
        phone_upload: None,
        id: uuid::Uuid::now_v7(),
        kiosk_seq: seq,
        receipt_number: ReceiptNumber::new(kiosk_number, seq).to_string(),
        kind: SubmissionKind::Application,
        item_code: Some(ITEM_CODE.into()),
        catalog_version: Some(1),
        fields: sample_fields(),
        text: None,
        rating: None,
        applicant: Some(sample_applicant()),
        contact_phone: Some(SAMPLE_PHONE.into()),
        created_at,
        sealed: None,
    }
}

// ── the server's store without HTTP ──────────────────────────────────────────────────────

/// What the submissions route hands the store (digests computed here, ahead of the timing).
pub fn ingest_items(submissions: &[Submission]) -> Vec<IngestItem> {
    submissions
        .iter()
        .map(|s| IngestItem {
            content_digest: s.content_digest(),
            submission: s.clone(),
        })
        .collect()
}

/// Calls the store's `ingest` with `batch` items at a time, one call after the other, as the
/// submissions route does for one booth; fails unless every item is accepted.
pub async fn store_ingest(
    store: Arc<dyn Store>,
    kiosk_id: String,
    items: Vec<IngestItem>,
    batch: usize,
) -> BenchResult<Duration> {
    let started = Instant::now();
    store_ingest_each(store, kiosk_id, items, batch).await?;
    Ok(started.elapsed())
}

/// [`store_ingest`], returning how long each call took.
pub async fn store_ingest_each(
    store: Arc<dyn Store>,
    kiosk_id: String,
    items: Vec<IngestItem>,
    batch: usize,
) -> BenchResult<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(items.len().div_ceil(batch));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk: Vec<IngestItem> = items.by_ref().take(batch).collect();
        let count = chunk.len();
        let called = Instant::now();
        let outcomes = store.ingest(&kiosk_id, chunk, Utc::now()).await?;
        latencies.push(called.elapsed());
        let accepted = outcomes
            .iter()
            .filter(|o| matches!(o, IngestOutcome::Accepted { .. }))
            .count();
        if accepted != count {
            return Err(format!("the store accepted {accepted} of {count}").into());
        }
    }
    Ok(latencies)
}

// ── the baseline: raw batched inserts into the server's schema ───────────────────────────

/// One submission as the server stores it, encoded ahead so the baseline times SQLite only.
pub struct RawRow {
    id: String,
    kiosk_id: String,
    receipt_number: String,
    kind: &'static str,
    item_code: Option<String>,
    content_digest: String,
    body: String,
}

pub fn raw_rows(kiosk_id: &str, submissions: &[Submission]) -> BenchResult<Vec<RawRow>> {
    submissions
        .iter()
        .map(|s| {
            Ok(RawRow {
                id: s.id.to_string(),
                kiosk_id: kiosk_id.to_owned(),
                receipt_number: s.receipt_number.clone(),
                kind: s.kind.as_str(),
                item_code: s.item_code.clone(),
                content_digest: s.content_digest(),
                body: serde_json::to_string(s)?,
            })
        })
        .collect()
}

/// Inserts `rows` into the server database at `database` (schema and kiosks already there,
/// no server running) the way the store's ingest does — the submission row (claimed by the
/// insert itself) and its `received` status change — `batch` rows per transaction, with the
/// server's pragmas (WAL, `synchronous=FULL`, foreign keys on). Returns the time of the
/// inserts and commits only.
pub fn raw_insert(database: &Path, rows: &[RawRow], batch: usize) -> BenchResult<Duration> {
    let mut conn = Connection::open(database)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    let received = Utc::now().timestamp_millis();
    let status = SubmissionStatus::Received.as_str();
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO submissions (id, kiosk_id, receipt_number, kind, item_code, status,
                                          content_digest, body, received_at, status_changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut change = tx.prepare_cached(
                "INSERT INTO status_changes (submission_id, kiosk_id, receipt_number, status,
                                             note, changed_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
            )?;
            for row in chunk {
                let inserted = insert.execute(params![
                    row.id,
                    row.kiosk_id,
                    row.receipt_number,
                    row.kind,
                    row.item_code,
                    status,
                    row.content_digest,
                    row.body,
                    received,
                ])?;
                if inserted != 1 {
                    return Err(format!("raw insert: {} was already stored", row.id).into());
                }
                change.execute(params![
                    row.id,
                    row.kiosk_id,
                    row.receipt_number,
                    status,
                    received
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(started.elapsed())
}

// ── booths sending their batches over HTTP ───────────────────────────────────────────────

/// A booth as the bench drives it.
pub struct Booth {
    pub kiosk_id: String,
    pub key: SigningKey,
    pub submissions: Vec<Submission>,
}

/// Enrolls `clients` booths over HTTP, each with `per_client` submissions numbered from 1.
pub async fn enroll_booths(
    http: &reqwest::Client,
    running: &RunningServer,
    clients: usize,
    per_client: usize,
) -> BenchResult<Vec<Booth>> {
    let mut booths = Vec::with_capacity(clients);
    for _ in 0..clients {
        let code = running.issue_code().await?;
        let (key, enrolled) = enroll_over_http(http, &running.url, &code).await?;
        let submissions = (1..=per_client as u64)
            .map(|seq| sample_submission(enrolled.kiosk_number, seq))
            .collect();
        booths.push(Booth {
            kiosk_id: enrolled.kiosk_id,
            key,
            submissions,
        });
    }
    Ok(booths)
}

/// Enrolls `clients` new booths; their kiosk ids.
pub async fn enroll_all(
    http: &reqwest::Client,
    running: &RunningServer,
    clients: usize,
) -> BenchResult<Vec<String>> {
    let mut ids = Vec::with_capacity(clients);
    for _ in 0..clients {
        let code = running.issue_code().await?;
        ids.push(
            enroll_over_http(http, &running.url, &code)
                .await?
                .1
                .kiosk_id,
        );
    }
    Ok(ids)
}

/// A batch request ready to send.
pub struct SignedBatch {
    body: Vec<u8>,
    headers: SignatureHeaders,
    items: usize,
}

/// Sends every booth's batches, the booths concurrently; returns the wall time, the process's
/// CPU time over it, and the request latencies.
pub async fn over_http(
    http: &reqwest::Client,
    running: &RunningServer,
    booths: &[Booth],
) -> BenchResult<(Duration, Duration, Stats)> {
    let prepared = sign_batches(booths)?;
    let (took, cpu, latencies) = send_batches(http, running, prepared).await?;
    Ok((took, cpu, Stats::of(latencies)))
}

/// Every booth's batches of [`MAX_BATCH`], serialised and signed (each with its own nonce and
/// the current time).
pub fn sign_batches(booths: &[Booth]) -> BenchResult<Vec<Vec<SignedBatch>>> {
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
    Ok(prepared)
}

/// Sends each booth's `prepared` batches, the booths concurrently; returns the wall time, the
/// process's CPU time over it, and every request's latency.
pub async fn send_batches(
    http: &reqwest::Client,
    running: &RunningServer,
    prepared: Vec<Vec<SignedBatch>>,
) -> BenchResult<(Duration, Duration, Vec<Duration>)> {
    let url = format!("{}{}", running.url, paths::SUBMISSIONS);
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
    Ok((took, cpu, latencies))
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
