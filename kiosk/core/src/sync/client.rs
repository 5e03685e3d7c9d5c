//! The HTTP client of the kiosk API: signs every request (RFC 9421 style, see
//! `sync_protocol::signing`) with the booth's corrected clock, learns the clock offset from every
//! answer's `Date`, and turns answers into typed results or [`SyncError`]s.
//!
//! An https server with a pin (stored at enrollment) is trusted by that pin alone
//! (`super::pinned`); without one, by the public roots; plain http (a loopback demo, tests)
//! has nothing to pin.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_protocol::attachment::AttachmentStatus;
use sync_protocol::enroll::{EnrollRequest, EnrollResponse};
use sync_protocol::feed::{Feed, FeedPage, FeedQuery};
use sync_protocol::heartbeat::{Heartbeat, HeartbeatResponse};
use sync_protocol::pin::{CertPin, PinPrefix};
use sync_protocol::signing::{self, RequestParts};
use sync_protocol::submission::{BatchRequest, BatchResponse};
use sync_protocol::{ErrorBody, ErrorCode, paths};

use super::clock::{ClockOffset, parse_http_date};
use super::error::{SyncError, one_line};
use super::pinned::{self, PinnedVerifier};
use super::retry_after::parse_retry_after;

/// The content types of request bodies.
const JSON: &str = "application/json";
const OCTET_STREAM: &str = "application/octet-stream";

/// Time limits for one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    /// The whole request, answer body included (a batch over a slow rural link takes a while).
    pub request_timeout: Duration,
    /// The connectivity probe: it must be quick, or it is no better than the backoff.
    pub probe_timeout: Duration,
    /// A whole release bundle (tens of MiB over a slow rural link; a cut resumes with `Range`).
    pub download_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
            download_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A booth's signed connection to its county server.
pub struct Client {
    server: Server,
    kiosk_id: String,
    key: SigningKey,
    clock: ClockOffset,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.server.display)
            .field("kiosk_id", &self.kiosk_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url`, trusting only the certificate `pin` when there is
    /// one (the identity's `server_pin`).
    pub fn new(
        base_url: &str,
        pin: Option<CertPin>,
        kiosk_id: impl Into<String>,
        key: SigningKey,
        clock: ClockOffset,
    ) -> Result<Self, SyncError> {
        Self::with_config(base_url, pin, kiosk_id, key, clock, ClientConfig::default())
    }

    pub fn with_config(
        base_url: &str,
        pin: Option<CertPin>,
        kiosk_id: impl Into<String>,
        key: SigningKey,
        clock: ClockOffset,
        config: ClientConfig,
    ) -> Result<Self, SyncError> {
        let trust = Trust {
            pin: pin.map(PinPrefix::from),
            enrolling: false,
        };
        Ok(Self {
            server: Server::new(base_url, trust, config)?,
            kiosk_id: kiosk_id.into(),
            key,
            clock,
        })
    }

    /// The offset this client signs with and keeps learning.
    pub fn clock(&self) -> &ClockOffset {
        &self.clock
    }

    /// The server's base URL as given.
    pub fn server(&self) -> &str {
        &self.server.display
    }

    /// `POST /api/v1/submissions`. Returns only once the whole answer is read.
    pub async fn upload(&self, batch: &BatchRequest) -> Result<BatchResponse, SyncError> {
        self.signed_json(Method::POST, paths::SUBMISSIONS, &[], Some(batch))
            .await
    }

    /// `GET /api/v1/feeds/{feed}?after=…&limit=…`.
    pub async fn feed_page<T: DeserializeOwned>(
        &self,
        feed: Feed,
        query: &FeedQuery,
    ) -> Result<FeedPage<T>, SyncError> {
        let limit = query.limit.map(|limit| limit.to_string());
        let pairs: Vec<(&str, &str)> = [
            query.after.as_deref().map(|after| ("after", after)),
            limit.as_deref().map(|limit| ("limit", limit)),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.signed_json::<(), _>(Method::GET, &paths::feed(feed), &pairs, None)
            .await
    }

    /// `POST /api/v1/heartbeat`.
    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatResponse, SyncError> {
        self.signed_json(Method::POST, paths::HEARTBEAT, &[], Some(heartbeat))
            .await
    }

    /// `GET /api/v1/attachments/{sha256}`: how much of a listed file the server holds.
    pub async fn attachment_status(&self, sha256: &str) -> Result<AttachmentStatus, SyncError> {
        self.signed_json::<(), _>(Method::GET, &paths::attachment(sha256), &[], None)
            .await
    }

    /// `PUT /api/v1/attachments/{sha256}?offset=N`: the file's bytes from `offset` on.
    pub async fn upload_chunk(
        &self,
        sha256: &str,
        offset: u64,
        chunk: &[u8],
    ) -> Result<AttachmentStatus, SyncError> {
        let offset = offset.to_string();
        self.signed_bytes(
            Method::PUT,
            &paths::attachment(sha256),
            &[("offset", &offset)],
            chunk.to_vec(),
            OCTET_STREAM,
        )
        .await
    }

    /// `GET /healthz`, unsigned and quick: is the server reachable at all?
    pub async fn probe(&self) -> bool {
        let url = self.server.url(paths::HEALTH, &[]);
        let sent = Utc::now();
        let request = self
            .server
            .http
            .get(url)
            .timeout(self.server.config.probe_timeout);
        match request.send().await {
            Ok(response) => {
                learn_from_date(&self.clock, response.headers(), sent, Utc::now(), false);
                response.status().is_success()
            }
            Err(_) => false,
        }
    }

    /// Signs and sends; on `stale_timestamp` the offset is re-learned from that very answer's
    /// `Date` and the request is signed again (new nonce, corrected `created`) exactly once.
    async fn signed_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, SyncError> {
        let body = match body {
            Some(body) => serde_json::to_vec(body).map_err(|err| SyncError::Protocol {
                server: self.server.display.clone(),
                path: path.to_owned(),
                status: 0,
                detail: format!("cannot encode the request: {err}"),
            })?,
            None => Vec::new(),
        };
        self.signed_bytes(method, path, query, body, JSON).await
    }

    /// [`Self::signed_json`] with a body already in bytes, of `content_type`.
    async fn signed_bytes<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<T, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self
                .signed_once(&method, path, query, &body, content_type)
                .await?;
            let result = self.server.decode(path, &answer);
            let stale = matches!(
                &result,
                Err(SyncError::Rejected {
                    code: ErrorCode::StaleTimestamp,
                    ..
                })
            );
            learn_from_date(
                &self.clock,
                &answer.headers,
                answer.sent,
                answer.received,
                stale,
            );
            if stale && attempt == 1 {
                tracing::info!(
                    offset_ms = self.clock.get_ms(),
                    "the server refused the booth's time; re-signing with the learned offset"
                );
                continue;
            }
            return result;
        }
    }

    async fn signed_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
        content_type: &'static str,
    ) -> Result<Answer, SyncError> {
        let request = self.signed_request(method, path, query, body, content_type);
        self.server.exchange(request).await
    }

    /// A signed `GET path` whose answer is streamed by the caller (a release bundle is never
    /// read into memory). `extra` headers are not signed: only method, path, query and body
    /// are. A `stale_timestamp` refusal is re-signed once, like every other request.
    pub(super) async fn signed_stream(
        &self,
        path: &str,
        extra: &[(header::HeaderName, String)],
        timeout: Duration,
    ) -> Result<reqwest::Response, SyncError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .signed_request(&Method::GET, path, &[], &[], JSON)
                .timeout(timeout);
            for (name, value) in extra {
                request = request.header(name, value);
            }
            let sent = Utc::now();
            let response = request
                .send()
                .await
                .map_err(|err| self.server.network(err))?;
            let received = Utc::now();
            if response.status() != StatusCode::UNAUTHORIZED {
                learn_from_date(&self.clock, response.headers(), sent, received, false);
                return Ok(response);
            }
            // Read the refusal to learn whether it is about the booth's time.
            let headers = response.headers().clone();
            let status = response.status();
            let body = response
                .bytes()
                .await
                .map_err(|err| self.server.network(err))?
                .to_vec();
            let answer = Answer {
                status,
                headers,
                body,
                sent,
                received,
            };
            let err = self
                .server
                .decode::<serde_json::Value>(path, &answer)
                .err()
                .unwrap_or_else(|| {
                    self.protocol_error(path, status.as_u16(), "401 without an error")
                });
            let stale = err.code() == Some(ErrorCode::StaleTimestamp);
            learn_from_date(&self.clock, &answer.headers, sent, received, stale);
            if !(stale && attempt == 1) {
                return Err(err);
            }
        }
    }

    /// The typed error of a streamed answer that is not the one expected (reads its body).
    pub(super) async fn error_of(&self, path: &str, response: reqwest::Response) -> SyncError {
        let status = response.status();
        let headers = response.headers().clone();
        let sent = Utc::now();
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(err) => return self.server.network(err),
        };
        let answer = Answer {
            status,
            headers,
            body,
            sent,
            received: Utc::now(),
        };
        match self.server.decode::<serde_json::Value>(path, &answer) {
            Err(err) => err,
            Ok(_) => self.protocol_error(path, status.as_u16(), "an unexpected answer"),
        }
    }

    pub(super) fn protocol_error(&self, path: &str, status: u16, detail: &str) -> SyncError {
        SyncError::Protocol {
            server: self.server.display.clone(),
            path: path.to_owned(),
            status,
            detail: detail.to_owned(),
        }
    }

    /// A transfer error in the middle of a streamed body.
    pub(super) fn network_error(&self, err: reqwest::Error) -> SyncError {
        self.server.network(err)
    }

    /// How long a whole bundle download may take.
    pub(super) fn download_timeout(&self) -> Duration {
        self.server.config.download_timeout
    }

    fn signed_request(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
        content_type: &'static str,
    ) -> reqwest::RequestBuilder {
        let url = self.server.url(path, query);
        let created = self.clock.server_now().timestamp();
        let parts = RequestParts {
            method: method.as_str(),
            path: url.path(),
            query: url.query().unwrap_or(""),
            body,
        };
        let signature = signing::sign(
            &self.key,
            &self.kiosk_id,
            &parts,
            created,
            &signing::new_nonce(),
        );
        let mut request = self
            .server
            .http
            .request(method.clone(), url)
            .header(signing::CONTENT_DIGEST, signature.content_digest)
            .header(signing::SIGNATURE_INPUT, signature.signature_input)
            .header(signing::SIGNATURE, signature.signature);
        if !body.is_empty() {
            request = request
                .header(header::CONTENT_TYPE, content_type)
                .body(body.to_vec());
        }
        request
    }
}

/// Checks a server URL the way the client will use it (before anything is written).
pub fn check_server_url(base_url: &str) -> Result<(), SyncError> {
    Server::new(base_url, Trust::default(), ClientConfig::default()).map(drop)
}

/// `POST /api/v1/enroll`: unsigned (the body proves possession of the key). Learns the clock
/// offset into `clock` like every other exchange. With `pin`, only a certificate matching it
/// is trusted, and the answer comes with the whole pin of the certificate that did.
pub async fn post_enroll(
    base_url: &str,
    pin: Option<&PinPrefix>,
    request: &EnrollRequest,
    clock: &ClockOffset,
    config: ClientConfig,
) -> Result<(EnrollResponse, Option<CertPin>), SyncError> {
    let trust = Trust {
        pin: pin.cloned(),
        enrolling: true,
    };
    let server = Server::new(base_url, trust, config)?;
    let body = serde_json::to_vec(request).map_err(|err| SyncError::Protocol {
        server: server.display.clone(),
        path: paths::ENROLL.to_owned(),
        status: 0,
        detail: format!("cannot encode the request: {err}"),
    })?;
    let http_request = server
        .http
        .post(server.url(paths::ENROLL, &[]))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body);
    let answer = server.exchange(http_request).await?;
    learn_from_date(clock, &answer.headers, answer.sent, answer.received, true);
    let response = server.decode(paths::ENROLL, &answer)?;
    let accepted = server.pinned.as_ref().and_then(|v| v.accepted());
    Ok((response, accepted))
}

/// Which certificate the server must show.
#[derive(Debug, Clone, Default)]
struct Trust {
    /// `None`: the public roots (or plain http).
    pin: Option<PinPrefix>,
    /// Worded for an enrollment when the pin does not match.
    enrolling: bool,
}

/// The base URL and the HTTP machinery, shared by the signed client and enrollment.
struct Server {
    http: reqwest::Client,
    base: Url,
    display: String,
    config: ClientConfig,
    /// Set for a pinned https server.
    pinned: Option<Arc<PinnedVerifier>>,
    enrolling: bool,
}

/// A whole answer, read to the end.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    sent: DateTime<Utc>,
    received: DateTime<Utc>,
}

impl Server {
    fn new(base_url: &str, trust: Trust, config: ClientConfig) -> Result<Self, SyncError> {
        let display = base_url.trim().trim_end_matches('/').to_owned();
        let bad = |reason: &str| SyncError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(&display).map_err(|err| bad(&err.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("it must start with http:// or https://"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("it must not have a query or fragment"));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect would change the signed path; a booth must be given the real URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kiosk/", env!("CARGO_PKG_VERSION")));
        let mut pinned = None;
        if let Some(pin) = trust.pin {
            if base.scheme() != "https" {
                return Err(SyncError::PinWithoutTls { server: display });
            }
            let (tls, verifier) = pinned::client_config(pin).map_err(SyncError::SetupTls)?;
            builder = builder.use_preconfigured_tls(tls);
            pinned = Some(verifier);
        }
        let http = builder.build().map_err(SyncError::Setup)?;
        Ok(Self {
            http,
            base,
            display,
            config,
            pinned,
            enrolling: trust.enrolling,
        })
    }

    /// `path` under the base URL's own path (a county may serve the API under a prefix).
    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Answer, SyncError> {
        let sent = Utc::now();
        let response = request.send().await.map_err(|err| self.network(err))?;
        let status = response.status();
        let headers = response.headers().clone();
        // The answer counts only once it is read to the end: an acknowledgement cut off
        // mid-body is no acknowledgement.
        let body = response
            .bytes()
            .await
            .map_err(|err| self.network(err))?
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
            sent,
            received: Utc::now(),
        })
    }

    fn network(&self, err: reqwest::Error) -> SyncError {
        if let Some(mismatch) = pinned::mismatch_in(&err) {
            return SyncError::CertificateMismatch {
                server: self.display.clone(),
                shown: mismatch.shown,
                expected: mismatch.expected,
                enrolling: self.enrolling,
            };
        }
        let cause = if err.is_timeout() {
            "timed out".to_owned()
        } else {
            innermost_cause(&err)
        };
        SyncError::Network {
            server: self.display.clone(),
            cause,
            source: err,
        }
    }

    fn decode<T: DeserializeOwned>(&self, path: &str, answer: &Answer) -> Result<T, SyncError> {
        let status = answer.status;
        let protocol = |detail: String| SyncError::Protocol {
            server: self.display.clone(),
            path: path.to_owned(),
            status: status.as_u16(),
            detail,
        };
        if status.is_success() {
            return serde_json::from_slice(&answer.body)
                .map_err(|err| protocol(format!("not the expected JSON: {err}")));
        }
        let error_body = serde_json::from_slice::<ErrorBody>(&answer.body).ok();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let server_now = Utc::now()
                + chrono::TimeDelta::milliseconds(
                    date_offset_ms(&answer.headers, answer.sent, answer.received).unwrap_or(0),
                );
            let retry_after = answer
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, server_now));
            return Err(SyncError::Unavailable {
                server: self.display.clone(),
                status: status.as_u16(),
                retry_after,
                code: error_body.map(|body| body.code),
            });
        }
        if status.is_client_error()
            && let Some(body) = error_body
        {
            return Err(SyncError::Rejected {
                code: body.code,
                message: one_line(&body.message),
            });
        }
        if status.is_redirection()
            && let Some(location) = answer
                .headers
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
        {
            return Err(protocol(format!("redirected to {}", one_line(location))));
        }
        let snippet = one_line(&String::from_utf8_lossy(
            &answer.body[..answer.body.len().min(120)],
        ));
        Err(protocol(if snippet.is_empty() {
            "no error body".to_owned()
        } else {
            snippet
        }))
    }
}

/// The server's clock against ours, from an answer's `Date`.
fn date_offset_ms(
    headers: &HeaderMap,
    sent: DateTime<Utc>,
    received: DateTime<Utc>,
) -> Option<i64> {
    let date = headers
        .get(header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_http_date)?;
    Some(super::clock::measure_offset_ms(date, sent, received))
}

fn learn_from_date(
    clock: &ClockOffset,
    headers: &HeaderMap,
    sent: DateTime<Utc>,
    received: DateTime<Utc>,
    force: bool,
) {
    let Some(date) = headers
        .get(header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_http_date)
    else {
        return;
    };
    if let Some(offset_ms) = clock.learn(date, sent, received, force) {
        tracing::info!(
            offset_ms,
            "learned the booth's clock offset from the server"
        );
    }
}

/// reqwest's own text is `error sending request for url (…)`; the technician needs the cause
/// at the bottom of the chain (`Connection refused (os error 111)`).
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_a_prefix_and_encode_the_query() {
        let server = Server::new(
            "http://county.example/booth/",
            Trust::default(),
            ClientConfig::default(),
        )
        .unwrap();
        let url = server.url(
            &paths::feed(Feed::Catalog),
            &[("after", "a b&c"), ("limit", "5")],
        );
        assert_eq!(url.path(), "/booth/api/v1/feeds/catalog");
        assert_eq!(url.query(), Some("after=a+b%26c&limit=5"));
        let bare = Server::new(
            "http://127.0.0.1:8080",
            Trust::default(),
            ClientConfig::default(),
        )
        .unwrap();
        assert_eq!(
            bare.url(paths::SUBMISSIONS, &[]).as_str(),
            "http://127.0.0.1:8080/api/v1/submissions"
        );
    }

    use std::sync::Arc;

    use axum::http::StatusCode as Status;
    use sync_protocol::receipt::ReceiptNumber;
    use sync_protocol::submission::{Outcome, Submission, SubmissionKind};

    use crate::sync::stub_server::{Scripted, StubServer, StubState, unused_addr};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9u8; 32])
    }

    fn submission(seq: u64) -> Submission {
        Submission {
            attachments: Vec::new(),
            supplement_to: None,
            phone_upload: None,
            id: uuid::Uuid::now_v7(),
            kiosk_seq: seq,
            receipt_number: ReceiptNumber::new(7, seq).to_string(),
            kind: SubmissionKind::Complaint,
            item_code: None,
            catalog_version: None,
            fields: Default::default(),
            text: Some("the road is flooded".into()),
            rating: None,
            applicant: None,
            contact_phone: None,
            created_at: Utc::now(),
            sealed: None,
        }
    }

    async fn stub(skew_secs: i64) -> StubServer {
        let state = StubState {
            key: Some(key().verifying_key()),
            skew_secs,
            ..StubState::default()
        };
        StubServer::start(Arc::new(std::sync::Mutex::new(state))).await
    }

    fn client(url: &str, clock: ClockOffset) -> Client {
        Client::new(url, None, "k-1", key(), clock).unwrap()
    }

    #[tokio::test]
    async fn signed_requests_verify_on_the_server() {
        let server = stub(0).await;
        let client = client(&server.url(), ClockOffset::default());
        let batch = BatchRequest {
            submissions: vec![submission(1), submission(2)],
        };
        let answer = client.upload(&batch).await.unwrap();
        assert_eq!(answer.results.len(), 2);
        assert!(
            answer
                .results
                .iter()
                .all(|r| r.outcome == Outcome::Accepted)
        );
        let page: FeedPage<serde_json::Value> = client
            .feed_page(
                Feed::Notices,
                &FeedQuery {
                    after: Some("c/1 &x".into()),
                    limit: Some(10),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.cursor, "c%2F1+%26x", "the query is signed as sent");
        let state = server.state.lock().unwrap();
        assert!(state.refused.is_empty(), "{:?}", state.refused);
        assert_eq!(state.received.len(), 2);
    }

    #[tokio::test]
    async fn the_offset_is_learned_from_every_date_header() {
        let server = stub(90).await;
        let clock = ClockOffset::default();
        let client = client(&server.url(), clock.clone());
        assert!(client.probe().await);
        let offset = clock.get_ms();
        assert!((87_000..=93_000).contains(&offset), "{offset}");
    }

    #[tokio::test]
    async fn a_booth_two_days_off_relearns_on_stale_timestamp_and_retries_once() {
        let server = stub(2 * 86_400).await;
        let clock = ClockOffset::default();
        let client = client(&server.url(), clock.clone());
        let batch = BatchRequest {
            submissions: vec![submission(1)],
        };
        client.upload(&batch).await.unwrap();
        let offset = clock.get_ms();
        assert!((offset - 2 * 86_400_000).abs() < 5_000, "{offset}");
        let state = server.state.lock().unwrap();
        assert_eq!(state.refused, [ErrorCode::StaleTimestamp]);
        assert_eq!(state.received.len(), 1);
    }

    #[tokio::test]
    async fn a_stale_refusal_twice_is_an_error_not_a_loop() {
        let server = stub(0).await;
        let stale = Scripted::error(Status::UNAUTHORIZED, ErrorCode::StaleTimestamp);
        server.script(paths::HEARTBEAT, stale.clone());
        server.script(paths::HEARTBEAT, stale.clone());
        server.script(paths::HEARTBEAT, stale);
        let client = client(&server.url(), ClockOffset::default());
        let err = client.heartbeat(&heartbeat()).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::StaleTimestamp));
        assert_eq!(server.state.lock().unwrap().requests.len(), 2);
    }

    fn heartbeat() -> Heartbeat {
        Heartbeat {
            queue_depth: 0,
            oldest_pending_age_s: None,
            quarantined: 0,
            devices: Default::default(),
            app_version: "test".into(),
            disk_free_bytes: 1,
            uptime_s: 1,
            clock_offset_ms: 0,
            update: None,
        }
    }

    #[tokio::test]
    async fn busy_answers_carry_retry_after_in_seconds_or_as_a_date() {
        let server = stub(3_600).await;
        server.script(
            paths::HEARTBEAT,
            Scripted::error(Status::SERVICE_UNAVAILABLE, ErrorCode::Internal)
                .with_header("retry-after", "7"),
        );
        let in_two_minutes = Utc::now() + chrono::TimeDelta::seconds(3_600 + 120);
        server.script(
            paths::HEARTBEAT,
            Scripted::error(Status::TOO_MANY_REQUESTS, ErrorCode::RateLimited).with_header(
                "retry-after",
                crate::sync::clock::format_http_date(in_two_minutes),
            ),
        );
        let client = client(&server.url(), ClockOffset::default());
        let first = client.heartbeat(&heartbeat()).await.unwrap_err();
        assert!(
            matches!(
                first,
                SyncError::Unavailable { status: 503, retry_after: Some(wait), code: Some(ErrorCode::Internal), .. }
                    if wait == Duration::from_secs(7)
            ),
            "{first:?}"
        );
        assert!(first.is_retryable() && !first.is_network());
        // The date is in the server's time, an hour ahead of the booth's clock.
        let second = client.heartbeat(&heartbeat()).await.unwrap_err();
        let wait = second.retry_after().unwrap();
        assert!(
            (Duration::from_secs(110)..=Duration::from_secs(125)).contains(&wait),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn refusals_and_outages_are_told_apart() {
        let server = stub(0).await;
        server.script(
            paths::HEARTBEAT,
            Scripted::error(Status::FORBIDDEN, ErrorCode::KioskRevoked),
        );
        server.script(
            paths::HEARTBEAT,
            Scripted {
                status: Status::NOT_FOUND,
                headers: Vec::new(),
                body: "<html>captive portal</html>".into(),
            },
        );
        let client = client(&server.url(), ClockOffset::default());
        let revoked = client.heartbeat(&heartbeat()).await.unwrap_err();
        assert!(revoked.needs_reenrollment() && !revoked.is_retryable());
        let portal = client.heartbeat(&heartbeat()).await.unwrap_err();
        assert!(
            matches!(portal, SyncError::Protocol { status: 404, .. }),
            "{portal:?}"
        );
        assert!(portal.to_string().contains("captive portal"), "{portal}");

        let down = Client::new(
            &format!("http://{}", unused_addr()),
            None,
            "k-1",
            key(),
            ClockOffset::default(),
        )
        .unwrap();
        let err = down.heartbeat(&heartbeat()).await.unwrap_err();
        assert!(err.is_network() && err.is_retryable(), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("cannot reach the county server at http://127.0.0.1:"),
            "{err}"
        );
        assert!(!down.probe().await);
    }

    #[test]
    fn bad_urls_are_refused_with_an_example() {
        for url in ["county", "ftp://county.example", "http://x/?a=b"] {
            let err = Server::new(url, Trust::default(), ClientConfig::default())
                .err()
                .unwrap();
            assert!(
                err.to_string().contains("give one like http://"),
                "{url}: {err}"
            );
        }
    }
}
