//! A minimal kiosk-API server on 127.0.0.1 for the sync module's own tests: it checks
//! signatures for real (`sync_protocol::signing`), keeps a clock that may be skewed from the
//! booth's, and answers from a script. The real `sync-server` is exercised in `tests/`.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{TimeDelta, Utc};
use ed25519_dalek::VerifyingKey;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse, Village, normalize_code};
use sync_protocol::feed::FeedPage;
use sync_protocol::heartbeat::{Heartbeat, HeartbeatResponse};
use sync_protocol::personal::CountySecret;
use sync_protocol::release::ReleaseTarget;
use sync_protocol::signing::{self, RequestParts};
use sync_protocol::submission::{BatchRequest, BatchResponse, ItemResult, Outcome, Submission};
use sync_protocol::{ErrorBody, ErrorCode, paths};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::clock::format_http_date;

/// A canned answer for the next request to a path.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Scripted {
    pub fn error(status: StatusCode, code: ErrorCode) -> Self {
        let body = serde_json::to_string(&ErrorBody::new(code, "scripted")).unwrap();
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// What the server saw and does; shared with the test.
#[derive(Debug, Default)]
pub struct StubState {
    pub key: Option<VerifyingKey>,
    /// Server time minus real time, in seconds.
    pub skew_secs: i64,
    pub scripts: BTreeMap<String, VecDeque<Scripted>>,
    /// Every submission id received, in order, with duplicates.
    pub received: Vec<Uuid>,
    /// Ids stored once (for duplicate answers).
    pub stored: Vec<Uuid>,
    /// Receipt numbers answered `invalid`.
    pub invalid_receipts: Vec<String>,
    pub heartbeats: Vec<Heartbeat>,
    /// Every request: method, path, when it arrived.
    pub requests: Vec<(String, String, std::time::Instant)>,
    /// A batch holding one of these receipt numbers is refused whole as too large.
    pub too_large_receipts: Vec<String>,
    pub refused: Vec<ErrorCode>,
    /// One-time enrollment codes not yet used (normalised); a successful enrollment sets `key`.
    pub enroll_codes: Vec<String>,
    /// Public keys enrolled, in order.
    pub enrolled_keys: Vec<VerifyingKey>,
    /// Catalogue pages served in order by the `catalog` feed; any other feed is empty.
    pub catalog_pages: Vec<FeedPage<serde_json::Value>>,
    /// The county key pair: its public half goes out with enrollments and heartbeats, and
    /// sealed submissions are opened with it into `opened`.
    pub county: Option<CountySecret>,
    /// Every submission received, opened when it came sealed; with `sealed` saying whether it
    /// did.
    pub opened: Vec<(Submission, bool)>,
    /// Release bundles by name, served at `paths::release`.
    pub releases: BTreeMap<String, Vec<u8>>,
    /// Sent in every heartbeat answer.
    pub release_target: Option<ReleaseTarget>,
    /// The next release answers break off after this many body bytes each.
    pub cut_releases_after: VecDeque<u64>,
    /// Every release request's `Range` header.
    pub release_ranges: Vec<Option<String>>,
    /// Body bytes of release bundles put on the wire.
    pub release_bytes_sent: u64,
}

pub type Shared = Arc<Mutex<StubState>>;

/// A running stub; dropped or [`StubServer::stop`]ped, it stops listening.
#[derive(Debug)]
pub struct StubServer {
    pub addr: SocketAddr,
    pub state: Shared,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A certificate and its key for [`StubServer::start_tls`].
pub struct StubCert {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// Serves HTTPS: each connection is handed over once its handshake finished; one the booth
/// refuses (a certificate it does not pin) is dropped and the next one awaited.
struct TlsStub {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsStub {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl StubServer {
    pub async fn start(state: Shared) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, state)
    }

    /// Listens on a given address (to bring a "down" server back on the booth's URL).
    pub async fn start_at(addr: SocketAddr, state: Shared) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        Self::serve(listener, state)
    }

    /// Serves HTTPS at `addr` (`127.0.0.1:0` for any port) with `cert`.
    pub async fn start_tls(addr: SocketAddr, state: Shared, cert: &StubCert) -> Self {
        use tokio_rustls::rustls;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.cert_der.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_der.clone().into()),
            )
            .unwrap();
        let listener = TlsStub {
            tcp: TcpListener::bind(addr).await.unwrap(),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let mut server = Self::serve_on(listener, addr, state);
        server.tls = true;
        server
    }

    fn serve(listener: TcpListener, state: Shared) -> Self {
        let addr = listener.local_addr().unwrap();
        Self::serve_on(listener, addr, state)
    }

    fn serve_on<L>(listener: L, addr: SocketAddr, state: Shared) -> Self
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
    {
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            addr,
            state,
            tls: false,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn script(&self, path: &str, answer: Scripted) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(path.to_owned())
            .or_default()
            .push_back(answer);
    }
}

/// A free port on loopback, with nothing listening on it (yet).
pub fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    let server_now = Utc::now() + TimeDelta::seconds(state.skew_secs);
    let mut response = answer(
        &mut state,
        &method,
        &uri,
        &headers,
        &body,
        server_now.timestamp(),
    );
    if !response.headers().contains_key(header::DATE) {
        response.headers_mut().insert(
            header::DATE,
            HeaderValue::from_str(&format_http_date(server_now)).unwrap(),
        );
    }
    response
}

fn answer(
    state: &mut StubState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    server_now: i64,
) -> Response {
    let path = uri.path().to_owned();
    state
        .requests
        .push((method.to_string(), path.clone(), std::time::Instant::now()));
    if path == paths::HEALTH {
        return (StatusCode::OK, "ok").into_response();
    }
    if let Some(scripted) = state.scripts.get_mut(&path).and_then(VecDeque::pop_front) {
        let mut response = (scripted.status, scripted.body).into_response();
        for (name, value) in scripted.headers {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_str(&value).unwrap());
        }
        return response;
    }
    if path == paths::ENROLL {
        return enroll(state, body);
    }
    if let Err(code) = verify(state, method, uri, headers, body, server_now) {
        state.refused.push(code);
        let status = if code == ErrorCode::StaleTimestamp {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        return (
            status,
            axum::Json(ErrorBody::new(code, "refused by the stub")),
        )
            .into_response();
    }
    match path.as_str() {
        paths::SUBMISSIONS => {
            let batch: BatchRequest = serde_json::from_slice(body).unwrap();
            if batch
                .submissions
                .iter()
                .any(|s| state.too_large_receipts.contains(&s.receipt_number))
            {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    axum::Json(ErrorBody::new(ErrorCode::BodyTooLarge, "too large")),
                )
                    .into_response();
            }
            let results = batch
                .submissions
                .iter()
                .map(|submission| {
                    state.received.push(submission.id);
                    let mut opened = submission.clone();
                    let sealed = opened.sealed.is_some();
                    if let Some(county) = &state.county {
                        opened.open_personal(county).unwrap();
                    }
                    state.opened.push((opened, sealed));
                    let outcome = if state.invalid_receipts.contains(&submission.receipt_number) {
                        Outcome::Invalid
                    } else if state.stored.contains(&submission.id) {
                        Outcome::Duplicate
                    } else {
                        state.stored.push(submission.id);
                        Outcome::Accepted
                    };
                    ItemResult {
                        id: submission.id,
                        outcome,
                        message: (outcome == Outcome::Invalid).then(|| "scripted invalid".into()),
                        code: None,
                        received_at: outcome.is_acknowledged().then(Utc::now),
                    }
                })
                .collect();
            axum::Json(BatchResponse { results }).into_response()
        }
        paths::HEARTBEAT => {
            state.heartbeats.push(serde_json::from_slice(body).unwrap());
            axum::Json(HeartbeatResponse {
                server_time: Utc::now(),
                county_key: state.county.as_ref().map(|c| c.public_key().clone()),
                release: state.release_target.clone(),
            })
            .into_response()
        }
        _ if path == paths::feed(sync_protocol::feed::Feed::Catalog) => {
            let after: usize = uri
                .query()
                .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("after=")))
                .and_then(|after| after.parse().ok())
                .unwrap_or(0);
            let page = state.catalog_pages.get(after).cloned().unwrap_or(FeedPage {
                items: Vec::new(),
                cursor: after.to_string(),
                more: false,
            });
            axum::Json(page).into_response()
        }
        _ if path.starts_with(paths::RELEASES) => release(state, &path, headers),
        _ if path.starts_with(paths::FEEDS) => axum::Json(FeedPage::<serde_json::Value> {
            items: Vec::new(),
            cursor: uri
                .query()
                .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("after=")))
                .unwrap_or("")
                .to_owned(),
            more: false,
        })
        .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(ErrorBody::new(ErrorCode::NotFound, "no such path")),
        )
            .into_response(),
    }
}

fn enroll(state: &mut StubState, body: &[u8]) -> Response {
    let request: EnrollRequest = serde_json::from_slice(body).unwrap();
    let code = normalize_code(&request.code);
    let Some(key) = request.verified_key() else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(ErrorBody::new(ErrorCode::InvalidRequest, "bad proof")),
        )
            .into_response();
    };
    let Some(position) = state.enroll_codes.iter().position(|c| *c == code) else {
        return (
            StatusCode::CONFLICT,
            axum::Json(ErrorBody::new(
                ErrorCode::EnrollCodeUsed,
                "code already used",
            )),
        )
            .into_response();
    };
    state.enroll_codes.remove(position);
    state.key = Some(key);
    state.enrolled_keys.push(key);
    axum::Json(EnrollResponse {
        kiosk_id: format!("k-{}", state.enrolled_keys.len()),
        kiosk_number: 40 + state.enrolled_keys.len() as u32,
        village: Village {
            county: "上林县".into(),
            township: "白圩镇".into(),
            village: "覃李村".into(),
        },
        server_id: "county-1".into(),
        server_time: Utc::now(),
        county_key: state.county.as_ref().map(|c| c.public_key().clone()),
    })
    .into_response()
}

fn verify(
    state: &StubState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    server_now: i64,
) -> Result<(), ErrorCode> {
    let get = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let parsed = signing::parse(
        get(signing::CONTENT_DIGEST),
        get(signing::SIGNATURE_INPUT),
        get(signing::SIGNATURE),
    )
    .map_err(|err| err.code())?;
    let key = state.key.ok_or(ErrorCode::UnknownKiosk)?;
    let parts = RequestParts {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        body,
    };
    parsed.verify(&key, &parts).map_err(|err| err.code())?;
    parsed.check_time(server_now).map_err(|err| err.code())
}

/// A bundle, from the byte a `Range: bytes=N-` asks for, possibly broken off mid-body.
fn release(state: &mut StubState, path: &str, headers: &HeaderMap) -> Response {
    let name = path.rsplit('/').next().unwrap_or("");
    let Some(bytes) = state.releases.get(name).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(ErrorBody::new(ErrorCode::NotFound, "no such release")),
        )
            .into_response();
    };
    let range = headers
        .get(header::RANGE)
        .map(|value| value.to_str().unwrap().to_owned());
    state.release_ranges.push(range.clone());
    let size = bytes.len() as u64;
    let from = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .map(|n| n.parse::<u64>().unwrap());
    if from.is_some_and(|from| from >= size) {
        let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{size}")).unwrap(),
        );
        return response;
    }
    let start = from.unwrap_or(0);
    let body = bytes[start as usize..].to_vec();
    let cut = state.cut_releases_after.pop_front();
    let sent = cut.map_or(body.len(), |cut| body.len().min(cut as usize));
    state.release_bytes_sent += sent as u64;
    let body = match cut {
        None => axum::body::Body::from(body),
        Some(_) => {
            let half = Bytes::from(body[..sent].to_vec());
            // An error after the first chunk makes the server drop the connection mid-body;
            // the pause first lets it flush that chunk (an abort discards unsent output).
            use futures_util::StreamExt;
            let first = futures_util::stream::iter([Ok::<_, std::io::Error>(half)]);
            let cut = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                Err(std::io::Error::other("cut by the test"))
            });
            axum::body::Body::from_stream(first.chain(cut))
        }
    };
    let mut response = Response::new(body);
    if let Some(from) = from {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {from}-{}/{size}", size - 1)).unwrap(),
        );
    }
    response
}
