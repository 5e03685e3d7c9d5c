//! Graceful shutdown: a request in flight when the stop is asked for still gets its answer,
//! and what it wrote is kept.

use std::time::Duration;

use reqwest::StatusCode;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_server::store::KioskRef;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{TestServer, send_half_a_heartbeat};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_waits_for_the_request_in_flight() {
    let mut server = TestServer::start().await;
    let kiosk = server.enroll("石门村").await;
    let body = serde_json::to_vec(&Heartbeat {
        queue_depth: 12,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: "0.1.0".into(),
        disk_free_bytes: 1,
        uptime_s: 1,
        clock_offset_ms: 0,
        update: None,
    })
    .unwrap();
    let (mut stream, second_half) = send_half_a_heartbeat(&kiosk, &server.url, &body).await;

    // The server is inside the request once it counts it in flight.
    let mut waited = Duration::ZERO;
    while server.state.metrics().in_flight() == 0 {
        assert!(
            waited < Duration::from_secs(60),
            "the server never started on the request"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }

    server.trigger_stop();
    let mut stopping = server.take_task();
    let early = tokio::time::timeout(Duration::from_millis(300), &mut stopping).await;
    assert!(
        early.is_err(),
        "the server stopped with a request in flight"
    );

    stream.write_all(&second_half).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the in-flight request was answered: {response}"
    );
    assert!(response.to_ascii_lowercase().contains("\r\ndate: "));

    stopping.await.unwrap().expect("the server stopped cleanly");
    let stored = server
        .store()
        .find_kiosk(&KioskRef::Id(kiosk.id().to_owned()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.last_heartbeat.map(|r| r.heartbeat.queue_depth),
        Some(12),
        "what the in-flight request wrote is kept"
    );
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", server.url))
        .send()
        .await;
    assert!(
        refused.is_err() || refused.is_ok_and(|r| r.status() != StatusCode::OK),
        "a stopped server takes no new requests"
    );
}
