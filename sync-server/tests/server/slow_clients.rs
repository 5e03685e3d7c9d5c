//! Slow clients (slowloris): a connection that sends half a request head and then nothing is
//! closed once the head deadline passes, connections are capped, and the server answers a
//! real request while the cap is taken by such clients. Plain HTTP here; the same over TLS in
//! `tls`. Past the cap a plain connection is answered `503` with `Retry-After` at once, and so
//! is a booth's request past the admission gate's queue, or after its longest wait for a turn.

use std::time::Duration;

use reqwest::StatusCode;
use std::sync::Arc;

use sync_protocol::feed::Feed;
use sync_protocol::paths;
use sync_server::api::admission::AdmissionSettings;
use sync_server::connections::ConnectionGauge;
use sync_server::settings::Settings;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::{TestServer, refusal, test_settings};

/// The start of a request head, never finished.
pub const HALF_A_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/// A short head deadline so that the test does not wait long, and a small cap.
pub fn slow_client_settings(max_connections: usize) -> Settings {
    Settings {
        header_timeout: Duration::from_millis(300),
        max_connections,
        ..test_settings()
    }
}

/// Sends half a head and waits until the server closes the connection; `Err` if it did not
/// within a minute (a guard against hanging, far beyond any deadline the test sets).
pub async fn stalls_until_closed<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> Result<(), &'static str> {
    stream.write_all(HALF_A_HEAD).await.map_err(|_| "write")?;
    stream.flush().await.map_err(|_| "flush")?;
    let mut rest = Vec::new();
    match tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut rest)).await {
        // Closed (with or without a last word, or reset): the server let go of it.
        Ok(_) => Ok(()),
        Err(_) => Err("the server kept the half-sent request open"),
    }
}

/// `/healthz`, asked again while the server answers "later" (503), up to a hundred times.
async fn health_once_served(base: &str) -> StatusCode {
    let client = reqwest::Client::new();
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = client
            .get(format!("{base}{}", paths::HEALTH))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("/healthz answers")
            .status();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

#[tokio::test]
async fn half_sent_heads_are_cut_off_and_health_answers_while_the_cap_is_taken() {
    let cap = 4;
    let server = TestServer::start_with(slow_client_settings(cap)).await;
    let address = server.url.trim_start_matches("http://").to_owned();

    // Three times the cap of slow clients, all connected before anything else happens.
    let mut slow = Vec::new();
    for _ in 0..3 * cap {
        let stream = TcpStream::connect(&address).await.expect("connect");
        slow.push(tokio::spawn(stalls_until_closed(stream)));
    }
    // Past the cap the server says "later" (503) at once; once the head deadline has cut the
    // slow ones off, it answers.
    assert_eq!(health_once_served(&server.url).await, StatusCode::OK);
    for client in slow {
        client.await.expect("task").expect("closed by the server");
    }
    let connections = server.state.connections();
    assert!(connections.peak() <= cap, "peak {}", connections.peak());
    assert_eq!(connections.peak(), cap, "the cap was reached");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_too() {
    let server = TestServer::start_with(slow_client_settings(8)).await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    assert!(closed.is_ok(), "the idle connection stayed open");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
}

/// Opens `n` connections that send half a request head and nothing more, and waits (up to
/// 30 s) until the server holds a place for each of them.
async fn hold_places(address: &str, n: usize, connections: &ConnectionGauge) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(HALF_A_HEAD).await.expect("half a head");
        held.push(stream);
    }
    for _ in 0..600 {
        if connections.open() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    held
}

#[tokio::test]
async fn past_the_cap_a_connection_is_told_at_once_to_come_back_later() {
    // A head deadline far beyond the test: the held places stay held.
    let cap = 2;
    let server = TestServer::start_with(Settings {
        header_timeout: Duration::from_secs(120),
        max_connections: cap,
        ..test_settings()
    })
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let connections = server.state.connections().clone();
    let held = hold_places(&address, cap, &connections).await;
    assert_eq!(connections.open(), cap, "the cap is taken");

    // Without the answer at the cap this waits in the backlog for two minutes.
    let refused = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::SUBMISSIONS))
        .header("content-type", "application/json")
        .body(vec![b' '; 100_000])
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("answered at once, not left waiting for a place");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body: serde_json::Value = refused.json().await.expect("an error body");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert_eq!(connections.turned_away(), 1);
    assert!(connections.peak() <= cap, "peak {}", connections.peak());

    // A place freed is a place served.
    drop(held);
    assert_eq!(health_once_served(&server.url).await, StatusCode::OK);
}

#[tokio::test]
async fn past_the_admission_queue_a_booth_request_is_told_at_once_to_come_back_later() {
    let server = TestServer::start_with(Settings {
        admission: AdmissionSettings {
            in_flight: 1,
            queue: 1,
            wait: Duration::from_millis(500),
        },
        ..test_settings()
    })
    .await;
    let kiosk = Arc::new(server.enroll("石门村").await);
    let gate = server.state.admission();
    // Every turn taken, as a storm of uploads would.
    let held = gate.hold_all().await.expect("the gate");

    // One request waits its turn in the queue...
    let queued = {
        let kiosk = Arc::clone(&kiosk);
        tokio::spawn(async move { kiosk.get(&paths::feed(Feed::Notices), "").await })
    };
    for _ in 0..600 {
        if gate.waiting() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(gate.waiting(), 1, "one request waits for a turn");

    // ...the next finds the queue full and is answered at once, before its signature is
    // looked at (this one has none, and gets no 401).
    let refused = reqwest::Client::new()
        .get(format!("{}{}", server.url, paths::feed(Feed::Notices)))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("answered at once");
    let retry_after = refused.headers().get("retry-after").cloned();
    let (status, body) = refusal(refused).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body.code.as_str(), "rate_limited", "{}", body.message);
    assert_eq!(
        retry_after.as_ref().and_then(|v| v.to_str().ok()),
        Some("5")
    );
    // A booth's probe is not a booth request: it still tells "up".
    assert_eq!(health_once_served(&server.url).await, StatusCode::OK);

    // The queued one waits no longer than the limit, then hears the same.
    let (status, body) = refusal(queued.await.expect("the queued request")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body.code.as_str(), "rate_limited", "{}", body.message);
    assert_eq!(gate.refused(), 2);

    // A turn freed is a turn served.
    drop(held);
    let served = kiosk.get(&paths::feed(Feed::Notices), "").await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(gate.busy(), 0);
}

/// Sends a keep-alive `GET /healthz` on a new connection and reads until the server closes
/// it or 2 s pass: the answer, and whether it was closed.
async fn health_on_a_kept_alive_connection(address: &str) -> (String, bool) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer))
        .await
        .is_ok();
    (String::from_utf8_lossy(&answer).to_lowercase(), closed)
}

#[tokio::test]
async fn near_the_cap_a_connection_is_closed_after_its_answer_instead_of_kept_idle() {
    let cap = 8;
    let server = TestServer::start_with(Settings {
        header_timeout: Duration::from_secs(120),
        max_connections: cap,
        ..test_settings()
    })
    .await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let connections = server.state.connections().clone();

    // Room to spare: the connection is kept alive for the booth's next request.
    let (answer, closed) = health_on_a_kept_alive_connection(&address).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
    assert!(!closed, "kept alive while there is room");

    // All but one place held by clients that are slow to send.
    let _held = hold_places(&address, cap - 1, &connections).await;
    assert!(
        connections.crowded(),
        "{} of {cap} open",
        connections.open()
    );

    // Crowded: answered, then let go, so the place is free for the next booth at once.
    let (answer, closed) = health_on_a_kept_alive_connection(&address).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(closed, "closed after its answer");
}
