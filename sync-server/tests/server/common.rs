//! Fixtures: a server on a free loopback port over a temporary data directory, and kiosks that
//! enroll and sign requests the way a booth does.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use reqwest::{Method, StatusCode};
use sync_protocol::ErrorBody;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse, Village};
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, Notice, StatusChange};
use sync_protocol::signing::{self, RequestParts, SignatureHeaders};
use sync_server::api::enroll_codes::{self, CodeSecret};
use sync_server::api::rate_limit::EnrollLimits;
use sync_server::data_dir::DataDir;
use sync_server::domain::fleet::KioskRecord;
use sync_server::key_file::ServerKeys;
use sync_server::server::{self, ServerError};
use sync_server::settings::Settings;
use sync_server::shared::SharedState;
use sync_server::state::AppState;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::{Store, SubmissionFilter, SubmissionRecord};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Limits that make tests deterministic: a guessing window no test outlives, and `last_seen`
/// written on every request so a refused request that touched it would show.
pub fn test_settings() -> Settings {
    Settings {
        enroll_limits: EnrollLimits {
            per_address: 5,
            global: 1000,
            window: Duration::from_secs(3600),
        },
        last_seen_every: Duration::ZERO,
        fleet_summary_keep: Duration::ZERO,
        ..Settings::default()
    }
}

pub fn village(name: &str) -> Village {
    Village {
        county: "示范县".into(),
        township: "凤岭乡".into(),
        village: name.into(),
    }
}

pub fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("random seed");
    SigningKey::from_bytes(&seed)
}

#[derive(Debug)]
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    /// Keeps the data directory until the server is dropped.
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(test_settings()).await
    }

    /// [`Self::start`] with the seed catalogue (`seed/catalog.json`) imported.
    pub async fn with_seed_catalog() -> Self {
        let server = Self::start().await;
        let seed = sync_server::domain::catalog::read_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/catalog.json"),
        )
        .expect("seed catalogue");
        server
            .store()
            .import_catalog(seed, chrono::Utc::now())
            .await
            .expect("import");
        server
    }

    pub async fn start_with(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = server::open_state(dir.path(), ServerKeys::generate(), settings)
            .await
            .expect("open state");
        Self::serve_state(dir, state).await
    }

    /// [`Self::start_with`], also handing out the SQLite store itself (for what only that
    /// backend can tell, such as how many jobs its single writer was given).
    pub async fn start_sqlite(settings: Settings) -> (Self, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::create(dir.path()).expect("data dir");
        let keys = ServerKeys::generate();
        let store = Arc::new(
            SqliteStore::open(&data.database(), Arc::clone(&keys.ring)).expect("open store"),
        );
        let code_secret = CodeSecret::new(data.code_secret().expect("enrollment code secret"));
        let guards = SharedState::memory(&settings);
        let state = AppState::new(
            Arc::clone(&store) as Arc<dyn Store>,
            keys.county,
            settings,
            code_secret,
            guards,
        )
        .await
        .expect("state");
        (Self::serve_state(dir, state).await, store)
    }

    pub async fn serve_state(dir: TempDir, state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            state,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store()
    }

    /// The data directory (the database and its WAL).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn take_task(&mut self) -> JoinHandle<Result<(), ServerError>> {
        self.task.take().expect("server task")
    }

    pub fn trigger_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// A fresh one-time code for `village_name`.
    pub async fn code(&self, village_name: &str) -> String {
        enroll_codes::issue(
            self.store(),
            self.state.code_secret(),
            village(village_name),
            Duration::from_secs(3600),
            Utc::now(),
        )
        .await
        .expect("issue a code")
        .code
    }

    /// Enrolls a new kiosk over HTTP.
    pub async fn enroll(&self, village_name: &str) -> TestKiosk {
        let code = self.code(village_name).await;
        enroll_with_code(&self.url, &code).await
    }
}

/// Enrolls a new kiosk with `code` at the server at `base_url`.
pub async fn enroll_with_code(base_url: &str, code: &str) -> TestKiosk {
    let key = new_key();
    let response = reqwest::Client::new()
        .post(format!("{base_url}/api/v1/enroll"))
        .json(&EnrollRequest::new(code, &key, "test-0.1"))
        .send()
        .await
        .expect("enroll request");
    assert_eq!(response.status(), StatusCode::OK);
    let enrolled: EnrollResponse = response.json().await.expect("enroll response");
    TestKiosk {
        key,
        base: base_url.to_owned(),
        client: reqwest::Client::new(),
        enrolled,
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A booth: its key and identity, and a client that signs like the real one.
#[derive(Debug)]
pub struct TestKiosk {
    pub key: SigningKey,
    pub enrolled: EnrollResponse,
    pub base: String,
    pub client: reqwest::Client,
}

impl TestKiosk {
    pub fn id(&self) -> &str {
        &self.enrolled.kiosk_id
    }

    pub fn number(&self) -> u32 {
        self.enrolled.kiosk_number
    }

    /// The signature headers for a request signed now with a fresh nonce.
    pub fn sign(&self, method: &str, path: &str, query: &str, body: &[u8]) -> SignatureHeaders {
        self.sign_with(
            &self.key,
            method,
            path,
            query,
            body,
            Utc::now().timestamp(),
            &signing::new_nonce(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn sign_with(
        &self,
        key: &SigningKey,
        method: &str,
        path: &str,
        query: &str,
        body: &[u8],
        created: i64,
        nonce: &str,
    ) -> SignatureHeaders {
        signing::sign(
            key,
            self.id(),
            &RequestParts {
                method,
                path,
                query,
                body,
            },
            created,
            nonce,
        )
    }

    /// Sends `body` to `path` (with optional `?query`) under `headers`.
    pub async fn send_signed(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Vec<u8>,
        headers: &SignatureHeaders,
    ) -> reqwest::Response {
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        self.client
            .request(method, url)
            .header("content-type", "application/json")
            .header(signing::CONTENT_DIGEST, &headers.content_digest)
            .header(signing::SIGNATURE_INPUT, &headers.signature_input)
            .header(signing::SIGNATURE, &headers.signature)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        let headers = self.sign("POST", path, "", &body);
        self.send_signed(Method::POST, path, "", body, &headers)
            .await
    }

    pub async fn post_json(&self, path: &str, value: &impl serde::Serialize) -> reqwest::Response {
        self.post(path, serde_json::to_vec(value).expect("json"))
            .await
    }

    pub async fn get(&self, path: &str, query: &str) -> reqwest::Response {
        let headers = self.sign("GET", path, query, b"");
        self.send_signed(Method::GET, path, query, Vec::new(), &headers)
            .await
    }

    pub async fn feed<T: serde::de::DeserializeOwned>(
        &self,
        feed: Feed,
        after: Option<&str>,
        limit: u32,
    ) -> FeedPage<T> {
        let mut query = format!("limit={limit}");
        if let Some(after) = after {
            query = format!("after={after}&{query}");
        }
        let response = self.get(&sync_protocol::paths::feed(feed), &query).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("feed page")
    }
}

/// Status and error body of a refused request; panics on a body that is not an `ErrorBody`.
pub async fn refusal(response: reqwest::Response) -> (StatusCode, ErrorBody) {
    let status = response.status();
    assert!(
        response.headers().contains_key("date"),
        "every response, errors included, carries Date"
    );
    let text = response.text().await.expect("body");
    let body: ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an ErrorBody ({e}): {text}"));
    (status, body)
}

/// Everything the API could change, read through the store trait.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub kiosks: Vec<KioskRecord>,
    pub submissions: Vec<SubmissionRecord>,
    pub statuses: Vec<Vec<StatusChange>>,
    pub catalog: Vec<CatalogItem>,
    pub notices: Vec<Notice>,
}

pub async fn snapshot(store: &dyn Store) -> Snapshot {
    let kiosks = store.list_kiosks().await.expect("kiosks");
    let mut statuses = Vec::new();
    for kiosk in &kiosks {
        statuses.push(
            store
                .statuses_page(&kiosk.kiosk_id, None, 500)
                .await
                .expect("statuses")
                .items,
        );
    }
    Snapshot {
        submissions: store
            .list_submissions(&SubmissionFilter::default())
            .await
            .expect("submissions"),
        catalog: store.catalog_page(None, 500).await.expect("catalog").items,
        notices: store
            .notices_page("石门村", None, 500)
            .await
            .expect("notices")
            .items,
        kiosks,
        statuses,
    }
}

/// Shared with the store's conformance suite.
pub use sync_server::store::conformance::submission;

/// Sends the head and the first half of a signed heartbeat with `body` to the server at
/// `base_url`, by hand, so the request stays in flight until the caller writes the rest
/// (returned with the open connection).
pub async fn send_half_a_heartbeat(
    kiosk: &TestKiosk,
    base_url: &str,
    body: &[u8],
) -> (tokio::net::TcpStream, Vec<u8>) {
    use tokio::io::AsyncWriteExt as _;
    let headers = kiosk.sign("POST", sync_protocol::paths::HEARTBEAT, "", body);
    let address = base_url.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n\r\n",
        sync_protocol::paths::HEARTBEAT,
        body.len(),
        signing::CONTENT_DIGEST,
        headers.content_digest,
        signing::SIGNATURE_INPUT,
        headers.signature_input,
        signing::SIGNATURE,
        headers.signature,
    );
    let (first_half, second_half) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first_half).await.unwrap();
    stream.flush().await.unwrap();
    (stream, second_half.to_vec())
}
