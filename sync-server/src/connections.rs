//! Serving accepted connections, plain or TLS: HTTP/1.1 through hyper with a deadline on every
//! request head ([`Settings::header_timeout`]), at most [`Settings::max_connections`] at once,
//! and failures to accept (out of file descriptors) waited out with a growing pause.
//!
//! `axum::serve` has none of the first two: 50 sockets that sent half a request head stayed
//! open for good, and 220 of them under a limit of 200 open files stopped the server from
//! answering anything. Now such a socket is closed when its deadline passes (also between
//! requests: an idle keep-alive connection has the same deadline for its next head).
//!
//! Past the cap, a plain connection is still accepted and answered at once with `503
//! rate_limited` and `Retry-After`, then closed ([`turn_away`]), while fewer than
//! [`shed_room`] such answers are in flight; past that it waits in the kernel's backlog until
//! a place frees. A fleet back from an outage all at once then hears "come back in a few
//! seconds" and spreads itself out, instead of timing out on connect with no hint how long to
//! wait (measured: docs/benchmarks.md, "Fleet capacity"). A turned-away connection costs one
//! descriptor for at most [`TURN_AWAY_LIMIT`]; the descriptors for the store and the logs are
//! kept back as before ([`RESERVED_FILES`]).
//!
//! [`Settings::header_timeout`]: crate::settings::Settings::header_timeout
//! [`Settings::max_connections`]: crate::settings::Settings::max_connections

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

/// Where connections come from: each with the client's address and its place under the cap.
pub(crate) trait Accept: Send {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn next(&mut self) -> impl Future<Output = Accepted<Self::Io>> + Send;
}

/// An accepted connection, holding one of the cap's places until it is dropped.
pub(crate) struct Accepted<Io> {
    pub io: Io,
    pub remote: SocketAddr,
    pub place: Place,
}

/// One of the cap's places; counted in the [`ConnectionGauge`] while held.
#[derive(Debug)]
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
    gauge: Arc<GaugeInner>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.gauge.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The cap on connections, with how many are open and the most there ever were.
#[derive(Debug, Clone)]
pub struct ConnectionGauge {
    slots: Arc<Semaphore>,
    /// Connections past the cap being told to come back later.
    shed: Arc<Semaphore>,
    /// Fewer free places than this is [`ConnectionGauge::crowded`].
    crowded_below: usize,
    inner: Arc<GaugeInner>,
}

#[derive(Debug, Default)]
struct GaugeInner {
    open: AtomicUsize,
    peak: AtomicUsize,
    turned_away: AtomicUsize,
}

/// How many connections past a cap of `max_connections` may be answered `503` at once: a
/// quarter of the cap, at least 16 and at most 256 (each holds a descriptor for a moment).
pub(crate) fn shed_room(max_connections: usize) -> usize {
    (max_connections / 4).clamp(16, 256)
}

/// The longest a turned-away connection is given to take its answer.
pub(crate) const TURN_AWAY_LIMIT: Duration = Duration::from_secs(2);

/// What a booth turned away at the cap is told to wait, in seconds: a booth's full-jitter
/// backoff is floored by it, so a returning fleet spreads over several such windows.
pub(crate) const TURN_AWAY_RETRY_AFTER_S: u64 = 5;

impl ConnectionGauge {
    pub fn new(max_connections: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_connections.max(1))),
            shed: Arc::new(Semaphore::new(shed_room(max_connections))),
            crowded_below: shed_room(max_connections).min(max_connections / 4),
            inner: Arc::default(),
        }
    }

    /// Waits for a free place (before accepting: what waits is in the kernel's backlog).
    pub(crate) async fn place(&self) -> Place {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
        self.held(permit)
    }

    /// A free place now, if there is one.
    fn try_place(&self) -> Option<Place> {
        let permit = Arc::clone(&self.slots).try_acquire_owned().ok()?;
        Some(self.held(permit))
    }

    fn held(&self, permit: OwnedSemaphorePermit) -> Place {
        let open = self.inner.open.fetch_add(1, Ordering::AcqRel) + 1;
        self.inner.peak.fetch_max(open, Ordering::AcqRel);
        Place {
            _permit: permit,
            gauge: Arc::clone(&self.inner),
        }
    }

    /// Fewer than a quarter of the places are free (at most [`shed_room`]): connections are
    /// closed after their response rather than kept alive, so places turn over.
    pub fn crowded(&self) -> bool {
        self.slots.available_permits() < self.crowded_below
    }

    /// Connections open now (TLS handshakes included).
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// The most connections that were ever open at once.
    pub fn peak(&self) -> usize {
        self.inner.peak.load(Ordering::Acquire)
    }

    /// Connections answered `503` at the cap since the start.
    pub fn turned_away(&self) -> usize {
        self.inner.turned_away.load(Ordering::Acquire)
    }
}

/// Plain TCP connections.
pub(crate) struct PlainIncoming {
    tcp: TcpListener,
    gauge: ConnectionGauge,
    pause: Backoff,
}

impl PlainIncoming {
    pub(crate) fn new(tcp: TcpListener, gauge: ConnectionGauge) -> Self {
        Self {
            tcp,
            gauge,
            pause: Backoff::default(),
        }
    }
}

impl Accept for PlainIncoming {
    type Io = TcpStream;

    async fn next(&mut self) -> Accepted<TcpStream> {
        let Self { tcp, gauge, pause } = self;
        loop {
            if gauge.slots.available_permits() > 0 || gauge.shed.available_permits() == 0 {
                let place = gauge.place().await;
                let (io, remote) = accept(tcp, pause).await;
                return Accepted { io, remote, place };
            }
            // Every place is taken: whoever connects now is answered and let go.
            let (io, remote) = tokio::select! {
                biased;
                place = gauge.place() => {
                    let (io, remote) = accept(tcp, pause).await;
                    return Accepted { io, remote, place };
                }
                accepted = accept(tcp, pause) => accepted,
            };
            if let Some(place) = gauge.try_place() {
                return Accepted { io, remote, place };
            }
            match Arc::clone(&gauge.shed).try_acquire_owned() {
                Ok(shed) => {
                    gauge.inner.turned_away.fetch_add(1, Ordering::AcqRel);
                    tokio::spawn(turn_away(io, shed));
                }
                Err(_) => {
                    let place = gauge.place().await;
                    return Accepted { io, remote, place };
                }
            }
        }
    }
}

/// Answers a connection the server has no place for: `503 rate_limited` with `Retry-After`,
/// whatever it asked, then closes it. The answer waits for the request head: an HTTP client
/// (hyper's) drops an answer that comes before it has sent its request.
async fn turn_away(mut io: TcpStream, _shed: OwnedSemaphorePermit) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = format!(
        r#"{{"code":"rate_limited","message":"the server is serving as many connections as it may: try again after {TURN_AWAY_RETRY_AFTER_S} seconds"}}"#
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {TURN_AWAY_RETRY_AFTER_S}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // A client that does not take the answer in time, or has gone, is simply closed on.
    let _ = tokio::time::timeout(TURN_AWAY_LIMIT, async {
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < TURN_AWAY_HEAD_LIMIT {
            match io.read(&mut chunk).await? {
                0 => return Ok(()),
                n => head.extend_from_slice(&chunk[..n]),
            }
        }
        io.write_all(answer.as_bytes()).await?;
        io.shutdown().await?;
        // Closing with the request still unread would reset the connection, and a reset can
        // destroy the answer before the client reads it: read (and drop) what it sent until
        // it closes its side, up to a bound.
        let mut sink = [0u8; 4096];
        let mut left = TURN_AWAY_READ_LIMIT;
        while left > 0 {
            match io.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

/// The most of a turned-away request's head read before answering it.
const TURN_AWAY_HEAD_LIMIT: usize = 16 * 1024;

/// The most of a turned-away request read before closing on it.
const TURN_AWAY_READ_LIMIT: usize = 256 * 1024;

/// The next connection on `tcp`, waiting out failures.
pub(crate) async fn accept(tcp: &TcpListener, pause: &mut Backoff) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok(accepted) => {
                pause.reset();
                return accepted;
            }
            // A client that gave up before it was accepted is nobody's problem.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) => {}
            Err(error) => pause.wait(&error).await,
        }
    }
}

/// How long to pause after a failed accept: from 10 ms, doubling to 1 s while failures go on,
/// so a full descriptor table is neither spun on nor waited on longer than it lasts.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MOST: Duration = Duration::from_secs(1);

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// The pause to take now, and the next one grown.
    fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MOST);
        now
    }

    async fn wait(&mut self, error: &io::Error) {
        let pause = self.step();
        if pause == Self::FIRST {
            tracing::error!(
                error = %error,
                "cannot accept connections (out of file descriptors? lower --max-connections or raise `ulimit -n`): pausing"
            );
        }
        tokio::time::sleep(pause).await;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// Serves every connection `incoming` yields until `shutdown` resolves, then stops accepting
/// (dropping `incoming` closes the socket) and returns once the open connections are done:
/// idle ones close at once, those in a request after it. While `gauge` is [crowded], each
/// response closes its connection: a booth's kept-alive connection would otherwise sit idle
/// on a place for the head deadline after its last request.
///
/// [crowded]: ConnectionGauge::crowded
pub(crate) async fn serve<I: Accept>(
    mut incoming: I,
    router: Router,
    gauge: ConnectionGauge,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = incoming.next() => accepted,
            () = &mut shutdown => break,
        };
        let Accepted { io, remote, place } = accepted;
        let router = router.clone();
        let gauge = gauge.clone();
        let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let answer = router.clone().oneshot(request.map(axum::body::Body::new));
            let gauge = gauge.clone();
            async move {
                let mut response = answer.await?;
                if gauge.crowded() {
                    // hyper closes the connection after a response that says so.
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _place = place;
            // Timeouts and clients that go away end here; nothing to do but close.
            if let Err(error) = connection.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
    }
    drop(incoming);
    graceful.shutdown().await;
}

/// The soft limit on open files of this process, where the system tells it (Linux).
pub(crate) fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Descriptors kept back from connections for the store, its readers and the logs.
pub(crate) const RESERVED_FILES: usize = 64;

/// `wanted` connections, or fewer if the open-file limit leaves no room for them (logged).
pub(crate) fn fitting_cap(wanted: usize, open_file_limit: Option<usize>) -> usize {
    let Some(limit) = open_file_limit else {
        return wanted;
    };
    let room = limit.saturating_sub(RESERVED_FILES).max(1);
    if wanted > room {
        tracing::warn!(
            wanted,
            serving = room,
            open_file_limit = limit,
            "the open-file limit leaves room for fewer connections than asked: raise `ulimit -n` to serve more"
        );
        room
    } else {
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_pause_longer_and_longer_up_to_a_second() {
        let mut pause = Backoff::default();
        let steps: Vec<Duration> = (0..9).map(|_| pause.step()).collect();
        assert_eq!(steps[0], Duration::from_millis(10));
        assert_eq!(steps[1], Duration::from_millis(20));
        assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(steps[8], Duration::from_secs(1));
        pause.reset();
        assert_eq!(pause.step(), Duration::from_millis(10));
    }

    #[test]
    fn the_cap_leaves_room_for_the_store_under_the_open_file_limit() {
        assert_eq!(fitting_cap(512, None), 512);
        assert_eq!(fitting_cap(512, Some(1024)), 512);
        assert_eq!(fitting_cap(512, Some(200)), 200 - RESERVED_FILES);
        assert_eq!(fitting_cap(512, Some(10)), 1);
    }

    #[test]
    fn this_process_has_an_open_file_limit() {
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }
}
