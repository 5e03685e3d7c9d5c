//! `sync-server serve` as a systemd `Type=notify` service, over a real notify socket: READY
//! once it listens, STOPPING on SIGTERM, and a request in flight at SIGTERM still answered.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::cli::{Install, key_file, run};
use crate::common::{enroll_with_code, send_half_a_heartbeat};

const BIN: &str = env!("CARGO_BIN_EXE_sync-server");
const TOKEN: &str = "metrics-token-for-the-systemd-test";

/// The next notification, waiting as long as a slow build machine may need.
fn next_notification(socket: &UnixDatagram) -> String {
    socket
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("a notification from serve");
    String::from_utf8(buf[..n].to_vec()).expect("text")
}

/// The server's count of requests being handled, from `/metrics`.
async fn in_flight(url: &str) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix("sync_http_requests_in_flight "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the in-flight gauge")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tells_systemd_it_is_ready_and_stopping_and_finishes_the_request_in_flight() {
    let dir = Install::new();
    let socket_path = dir.path().with_file_name("notify");
    let systemd = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    let token_file = dir.path().with_file_name("metrics-token");
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--key-file")
        .arg(key_file(dir.path()))
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics-token-file"])
        .arg(&token_file)
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove(sync_server::data_dir::ENV)
        .env_remove(sync_server::key_file::ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sync-server serve");
    let ready = next_notification(&systemd);
    let url = ready
        .lines()
        .find_map(|line| line.strip_prefix("STATUS=listening on "))
        .unwrap_or_else(|| panic!("READY names the address: {ready:?}"))
        .to_owned();
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");

    // Ready means serving: a booth enrolls at once.
    let issued = run(
        dir.path(),
        &[
            "enroll-code",
            "--village",
            "石门村",
            "--township",
            "凤岭乡",
            "--json",
        ],
    );
    assert!(issued.status.success(), "{issued:?}");
    let issued: serde_json::Value = serde_json::from_slice(&issued.stdout).unwrap();
    let kiosk = enroll_with_code(&url, issued["code"].as_str().unwrap()).await;

    // A heartbeat sent halfway: the server holds it open, waiting for the rest of its body.
    let body = serde_json::to_vec(&Heartbeat {
        queue_depth: 7,
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
    let (mut stream, second_half) = send_half_a_heartbeat(&kiosk, &url, &body).await;
    // In flight: the heartbeat and the metrics request asking.
    let started = Instant::now();
    while in_flight(&url).await < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server never started on the heartbeat"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopping = next_notification(&systemd);
    assert!(stopping.starts_with("STOPPING=1\n"), "{stopping:?}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "serve exited with a request in flight"
    );

    stream.write_all(&second_half).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the heartbeat in flight at SIGTERM was answered: {response}"
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "a clean stop: {status}");
}
