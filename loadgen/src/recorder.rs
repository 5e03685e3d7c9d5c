//! What every request came to, per endpoint: the latency of each answered one, and every
//! failure by its HTTP status and error code, or by what went wrong on the way.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::histogram::Histogram;

/// The booth API's endpoints a booth calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Submissions,
    Heartbeat,
    Catalog,
    Notices,
    Statuses,
    /// The unsigned probe a booth sends while the server is away.
    Healthz,
}

impl Endpoint {
    pub const ALL: [Self; 6] = [
        Self::Submissions,
        Self::Heartbeat,
        Self::Catalog,
        Self::Notices,
        Self::Statuses,
        Self::Healthz,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::Submissions => "POST /api/v1/submissions",
            Self::Heartbeat => "POST /api/v1/heartbeat",
            Self::Catalog => "GET /api/v1/feeds/catalog",
            Self::Notices => "GET /api/v1/feeds/notices",
            Self::Statuses => "GET /api/v1/feeds/statuses",
            Self::Healthz => "GET /healthz",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a request did not get a successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with an error status.
    Status {
        status: u16,
        /// The `code` of the error body, when it had one.
        code: Option<String>,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// No answer: connecting, sending or reading failed, or the booth's timeout passed.
    Transport(TransportKind),
    /// A 2xx whose body is not what the protocol says.
    Undecodable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Not connected within the booth's connect timeout (10 s), or refused.
    Connect,
    /// Connected, but no whole answer within the booth's request timeout (60 s).
    Timeout,
    /// The connection broke while the request or the answer was under way.
    Broken,
}

impl Failure {
    /// The key this failure is counted under: `429 rate_limited (Retry-After)`, `transport:
    /// timeout`.
    pub fn key(&self) -> String {
        match self {
            Self::Status {
                status,
                code,
                retry_after,
            } => {
                let code = code.as_deref().unwrap_or("-");
                let after = if retry_after.is_some() {
                    " (Retry-After)"
                } else {
                    ""
                };
                format!("{status} {code}{after}")
            }
            Self::Transport(TransportKind::Connect) => "transport: connect".into(),
            Self::Transport(TransportKind::Timeout) => "transport: timeout".into(),
            Self::Transport(TransportKind::Broken) => "transport: broken".into(),
            Self::Undecodable => "undecodable answer".into(),
        }
    }

    /// What the server asked for, if anything.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server is overloaded or away and told the booth to come back: the answers a
    /// storm is allowed to see.
    pub fn is_back_off_answer(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 429 | 503,
                retry_after: Some(_),
                ..
            }
        )
    }
}

#[derive(Debug, Default)]
struct PerEndpoint {
    sent: AtomicU64,
    latency: Histogram,
    failures: Mutex<BTreeMap<String, u64>>,
}

/// Counts for every endpoint, shared by all booth tasks.
#[derive(Debug)]
pub struct Recorder {
    endpoints: Vec<PerEndpoint>,
    /// Every answered request, whatever its endpoint: the run's p99 is this one's.
    overall: Histogram,
    /// How late booths started what was due (a loadgen that cannot keep up sends less than
    /// the nominal load, and this shows it).
    lag: Histogram,
    limit: u64,
    total: AtomicU64,
    /// Failures other than a 429 or 503 with `Retry-After`.
    other_failures: AtomicU64,
}

/// One endpoint's figures at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointFigures {
    pub endpoint: Endpoint,
    pub label: &'static str,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// By [`Failure::key`].
    pub failures: BTreeMap<String, u64>,
}

/// The request budget of the run is spent: no more requests may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the run's request cap ({0}) is reached")]
pub struct RequestCapReached(pub u64);

pub fn millis(value: Duration) -> f64 {
    value.as_secs_f64() * 1e3
}

impl Recorder {
    /// At most `limit` requests may be sent through it.
    pub fn new(limit: u64) -> Self {
        Self {
            endpoints: Endpoint::ALL
                .iter()
                .map(|_| PerEndpoint::default())
                .collect(),
            overall: Histogram::default(),
            lag: Histogram::default(),
            limit,
            total: AtomicU64::new(0),
            other_failures: AtomicU64::new(0),
        }
    }

    /// Counts a request about to be sent, or refuses it past the cap.
    pub fn start(&self, endpoint: Endpoint) -> Result<(), RequestCapReached> {
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.limit {
            return Err(RequestCapReached(self.limit));
        }
        self.endpoints[endpoint.index()]
            .sent
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn succeeded(&self, endpoint: Endpoint, took: Duration) {
        self.endpoints[endpoint.index()].latency.record(took);
        self.overall.record(took);
    }

    pub fn overall(&self) -> &Histogram {
        &self.overall
    }

    pub fn failed(&self, endpoint: Endpoint, failure: &Failure) {
        if !failure.is_back_off_answer() {
            self.other_failures.fetch_add(1, Ordering::Relaxed);
        }
        let mut failures = self.endpoints[endpoint.index()]
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *failures.entry(failure.key()).or_default() += 1;
    }

    /// Failures that are not the server asking the booth to come back later.
    pub fn other_failures(&self) -> u64 {
        self.other_failures.load(Ordering::Relaxed)
    }

    /// Requests sent and answered with success so far, over every endpoint.
    pub fn progress(&self) -> (u64, u64) {
        self.endpoints.iter().fold((0, 0), |(sent, ok), endpoint| {
            (
                sent + endpoint.sent.load(Ordering::Relaxed),
                ok + endpoint.latency.count(),
            )
        })
    }

    pub fn lagged(&self, late: Duration) {
        self.lag.record(late);
    }

    pub fn lag(&self) -> &Histogram {
        &self.lag
    }

    /// The figures of each endpoint that saw a request, rates over `window`.
    pub fn figures(&self, window: Duration) -> Vec<EndpointFigures> {
        let seconds = window.as_secs_f64().max(f64::MIN_POSITIVE);
        Endpoint::ALL
            .iter()
            .zip(&self.endpoints)
            .filter(|(_, counts)| counts.sent.load(Ordering::Relaxed) > 0)
            .map(|(&endpoint, counts)| {
                let failures = counts
                    .failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                let latency = &counts.latency;
                EndpointFigures {
                    endpoint,
                    label: endpoint.label(),
                    requests: counts.sent.load(Ordering::Relaxed),
                    ok: latency.count(),
                    failed: failures.values().sum(),
                    per_second: latency.count() as f64 / seconds,
                    p50_ms: millis(latency.quantile(0.5)),
                    p99_ms: millis(latency.quantile(0.99)),
                    p999_ms: millis(latency.quantile(0.999)),
                    max_ms: millis(latency.max()),
                    mean_ms: millis(latency.mean()),
                    failures,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_into_answers_and_failures_by_key() {
        let recorder = Recorder::new(10);
        for _ in 0..3 {
            recorder.start(Endpoint::Heartbeat).unwrap();
        }
        recorder.succeeded(Endpoint::Heartbeat, Duration::from_millis(4));
        recorder.failed(
            Endpoint::Heartbeat,
            &Failure::Status {
                status: 503,
                code: Some("rate_limited".into()),
                retry_after: Some(Duration::from_secs(2)),
            },
        );
        recorder.failed(
            Endpoint::Heartbeat,
            &Failure::Transport(TransportKind::Timeout),
        );
        let figures = recorder.figures(Duration::from_secs(1));
        assert_eq!(figures.len(), 1, "only endpoints that saw requests");
        let heartbeat = &figures[0];
        assert_eq!(
            (heartbeat.requests, heartbeat.ok, heartbeat.failed),
            (3, 1, 2)
        );
        assert_eq!(
            heartbeat.failures.keys().collect::<Vec<_>>(),
            ["503 rate_limited (Retry-After)", "transport: timeout"]
        );
    }

    #[test]
    fn the_request_cap_holds() {
        let recorder = Recorder::new(2);
        assert!(recorder.start(Endpoint::Catalog).is_ok());
        assert!(recorder.start(Endpoint::Catalog).is_ok());
        assert_eq!(recorder.start(Endpoint::Catalog), Err(RequestCapReached(2)));
    }

    #[test]
    fn only_429_and_503_with_retry_after_are_back_off_answers() {
        let status = |status, retry: bool| Failure::Status {
            status,
            code: None,
            retry_after: retry.then_some(Duration::from_secs(1)),
        };
        assert!(status(429, true).is_back_off_answer());
        assert!(status(503, true).is_back_off_answer());
        assert!(!status(503, false).is_back_off_answer());
        assert!(!status(500, true).is_back_off_answer());
        assert!(!Failure::Transport(TransportKind::Connect).is_back_off_answer());
    }
}
