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
use sync_protocol::submission::{Applicant, Submission, SubmissionKind};
use sync_server::data_dir::DataDir;
use sync_server::key_file::ServerKeys;
use sync_server::server::{self, ServerError};
use sync_server::settings::Settings;
use sync_server::state::AppState;
use sync_server::store::{IngestItem, IngestOutcome, Store};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::harness::BenchResult;

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
fn bench_keys() -> ServerKeys {
    static KEYS: std::sync::LazyLock<ServerKeys> = std::sync::LazyLock::new(ServerKeys::generate);
    KEYS.clone()
}

/// Starts the server on a fresh port over `dir` (created and migrated if new).
pub async fn start(dir: &Path) -> BenchResult<RunningServer> {
    let database = DataDir::create(dir)?.database();
    let state = server::open_state(dir, bench_keys(), Settings::default()).await?;
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

    /// The server's SQLite file.
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
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk: Vec<IngestItem> = items.by_ref().take(batch).collect();
        let count = chunk.len();
        let outcomes = store.ingest(&kiosk_id, chunk, Utc::now()).await?;
        let accepted = outcomes
            .iter()
            .filter(|o| matches!(o, IngestOutcome::Accepted { .. }))
            .count();
        if accepted != count {
            return Err(format!("the store accepted {accepted} of {count}").into());
        }
    }
    Ok(started.elapsed())
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
