//! The booth API as a booth calls it: every request signed with the booth's key (RFC 9421
//! style, `sync_protocol::signing`: fresh nonce, `Content-Digest`, the real clock), every
//! answer timed and counted in a [`Recorder`].
//!
//! All booths share one HTTP client and its connection pool: thousands of real booths each
//! hold their own connection, but the server closes an idle one after 10 s and a booth talks
//! once a minute, so in the field most requests open a connection too. On loopback a connect
//! costs the server little next to a signature check; the pool keeps loadgen's own sockets
//! and ports within bounds. Proxies from the environment are ignored and the host is pinned
//! to the loopback addresses [`Target`] checked.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use sync_protocol::feed::{Feed, FeedPage, MAX_PAGE};
use sync_protocol::heartbeat::{Heartbeat, HeartbeatResponse};
use sync_protocol::paths;
use sync_protocol::signing::{self, RequestParts};
use sync_protocol::submission::{BatchRequest, BatchResponse};

use crate::enroll::BoothIdentity;
use crate::recorder::{Endpoint, Failure, Recorder, RequestCapReached, TransportKind};
use crate::target::Target;

/// A booth's time limits (`kiosk_core::sync::client::ClientConfig`'s defaults) and the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub probe_timeout: Duration,
    /// Idle connections kept for reuse.
    pub pool: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
            pool: 64,
        }
    }
}

/// Why a call did not give its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("{}", .0.key())]
    Failed(Failure),
    #[error(transparent)]
    Capped(#[from] RequestCapReached),
}

impl CallError {
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed(failure) => Some(failure),
            Self::Capped(_) => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct ClientError(#[source] reqwest::Error);

/// What a feed page says, without its items' contents (a booth stores them; loadgen counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHead {
    pub items: usize,
    pub cursor: String,
    pub more: bool,
}

/// The server, as every simulated booth reaches it: one instance, or several over one store,
/// each booth always at the same one (`index mod instances`), as a load balancer with
/// sticky connections would place it.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    targets: Vec<Target>,
    probe_timeout: Duration,
}

/// [`Api::new`] was given no server.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no server address")]
    NoTarget,
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl Api {
    pub fn new(targets: Vec<Target>, config: HttpConfig) -> Result<Self, ApiError> {
        if targets.is_empty() {
            return Err(ApiError::NoTarget);
        }
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(config.pool)
            // Below the server's 10 s idle deadline: a request is never sent down a
            // connection the server is closing.
            .pool_idle_timeout(Duration::from_secs(5));
        // The URL's port wins over the pinned address's, so one pin per host name serves
        // every instance on it.
        for target in &targets {
            if let Some(host) = target.base.host_str() {
                builder = builder.resolve_to_addrs(host, &target.addresses);
            }
        }
        Ok(Self {
            http: builder.build().map_err(ClientError)?,
            targets,
            probe_timeout: config.probe_timeout,
        })
    }

    /// Every instance, in the order booths are spread over them.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The instance `booth` talks to.
    pub fn target_for(&self, booth: &BoothIdentity) -> &Target {
        &self.targets[booth.index as usize % self.targets.len()]
    }

    /// The shared client, for requests that are not a booth's (`/metrics`).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET /healthz`, unsigned: is the server at `target` back?
    pub async fn probe(&self, recorder: &Recorder, target: &Target) -> Result<(), CallError> {
        recorder.start(Endpoint::Healthz)?;
        let request = self
            .http
            .get(target.url(paths::HEALTH, &[]))
            .timeout(self.probe_timeout);
        self.exchange(recorder, Endpoint::Healthz, request, |_| Some(()))
            .await
    }

    pub async fn heartbeat(
        &self,
        recorder: &Recorder,
        booth: &BoothIdentity,
        heartbeat: &Heartbeat,
    ) -> Result<HeartbeatResponse, CallError> {
        let body = to_json(heartbeat);
        self.signed(
            recorder,
            Endpoint::Heartbeat,
            booth,
            Method::POST,
            paths::HEARTBEAT,
            &[],
            body,
        )
        .await
    }

    pub async fn upload(
        &self,
        recorder: &Recorder,
        booth: &BoothIdentity,
        batch: &BatchRequest,
    ) -> Result<BatchResponse, CallError> {
        let body = to_json(batch);
        self.signed(
            recorder,
            Endpoint::Submissions,
            booth,
            Method::POST,
            paths::SUBMISSIONS,
            &[],
            body,
        )
        .await
    }

    /// One page of `feed` after `after`, as large as the server sends.
    pub async fn feed_page(
        &self,
        recorder: &Recorder,
        booth: &BoothIdentity,
        feed: Feed,
        after: Option<&str>,
    ) -> Result<PageHead, CallError> {
        let endpoint = match feed {
            Feed::Catalog => Endpoint::Catalog,
            Feed::Notices => Endpoint::Notices,
            Feed::Statuses => Endpoint::Statuses,
        };
        let limit = MAX_PAGE.to_string();
        let mut query = Vec::with_capacity(2);
        if let Some(after) = after {
            query.push(("after", after));
        }
        query.push(("limit", limit.as_str()));
        let page: FeedPage<IgnoredAny> = self
            .signed(
                recorder,
                endpoint,
                booth,
                Method::GET,
                &paths::feed(feed),
                &query,
                Vec::new(),
            )
            .await?;
        Ok(PageHead {
            items: page.items.len(),
            cursor: page.cursor,
            more: page.more,
        })
    }

    #[allow(clippy::too_many_arguments)] // one call site per endpoint, each spelling them out
    async fn signed<T: DeserializeOwned>(
        &self,
        recorder: &Recorder,
        endpoint: Endpoint,
        booth: &BoothIdentity,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<T, CallError> {
        recorder.start(endpoint)?;
        let url = self.target_for(booth).url(path, query);
        let signature = signing::sign(
            &booth.key,
            &booth.kiosk_id,
            &RequestParts {
                method: method.as_str(),
                path: url.path(),
                query: url.query().unwrap_or(""),
                body: &body,
            },
            Utc::now().timestamp(),
            &signing::new_nonce(),
        );
        let mut request = self
            .http
            .request(method, url)
            .header(signing::CONTENT_DIGEST, signature.content_digest)
            .header(signing::SIGNATURE_INPUT, signature.signature_input)
            .header(signing::SIGNATURE, signature.signature);
        if !body.is_empty() {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        self.exchange(recorder, endpoint, request, |body| {
            serde_json::from_slice(body).ok()
        })
        .await
    }

    /// Sends, reads the whole answer, decodes a 2xx with `decode`, and records it: the
    /// latency of a decoded answer, else the failure.
    async fn exchange<T>(
        &self,
        recorder: &Recorder,
        endpoint: Endpoint,
        request: reqwest::RequestBuilder,
        decode: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Result<T, CallError> {
        let sent = Instant::now();
        let outcome = async {
            let response = request.send().await.map_err(|e| transport(&e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(|e| transport(&e))?;
            if !status.is_success() {
                return Err(refusal(status, &headers, &body));
            }
            decode(&body).ok_or(Failure::Undecodable)
        }
        .await;
        match outcome {
            Ok(answer) => {
                recorder.succeeded(endpoint, sent.elapsed());
                Ok(answer)
            }
            Err(failure) => {
                recorder.failed(endpoint, &failure);
                Err(CallError::Failed(failure))
            }
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Protocol types are plain structs, strings and maps: serialising them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn transport(error: &reqwest::Error) -> Failure {
    // A connect that timed out is a connect failure: the server never took the connection
    // (its cap was full and the kernel's backlog too), which is not a slow answer.
    Failure::Transport(if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Broken
    })
}

/// An error answer: its status, the error body's code, and `Retry-After` in seconds.
fn refusal(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("code")?.as_str().map(str::to_owned));
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Failure::Status {
        status: status.as_u16(),
        code,
        retry_after,
    }
}
