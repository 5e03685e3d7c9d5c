//! HTTPS: the server speaks TLS with a certificate made here (rcgen, self-signed for
//! 127.0.0.1) that the client trusts; cookies are `Secure`; a silent client does not hold up
//! other handshakes; `serve` refuses plain HTTP off loopback and bad certificate files, each
//! in one line.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sync_protocol::paths;
use sync_server::domain::access::Role;
use sync_server::server;
use sync_server::settings::Settings;
use sync_server::tls::{self, TlsListener};
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::cli::{Install, Serving, run, stdout_of};
use crate::common::test_settings;
use crate::staff_client::{PASSWORD, add_account, hidden_value};
use sync_protocol::pin::CertPin;

/// A self-signed certificate for 127.0.0.1 and localhost, its key, both PEM in `dir`.
struct TestCert {
    cert_pem: String,
    cert: PathBuf,
    key: PathBuf,
    /// Its pin, from the key itself (not through the server's code).
    pin: CertPin,
}

fn test_cert(dir: &Path) -> TestCert {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("make a certificate");
    let cert_pem = made.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &cert_pem).expect("write the certificate");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("write the key");
    TestCert {
        cert_pem,
        cert,
        key,
        pin: CertPin::of_spki(&rcgen::PublicKeyData::subject_public_key_info(
            &made.signing_key,
        )),
    }
}

/// A client that trusts `cert` (and nothing else: the built-in roots would not know it).
fn trusting(cert: &TestCert) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).expect("PEM"),
        )
        .https_only(true)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// The server over TLS in this process; stops when dropped.
struct TlsServer {
    url: String,
    state: sync_server::state::AppState,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

async fn start_tls(cert: &TestCert, handshake_timeout: Duration) -> TlsServer {
    start_tls_with(cert, handshake_timeout, test_settings()).await
}

async fn start_tls_with(
    cert: &TestCert,
    handshake_timeout: Duration,
    settings: Settings,
) -> TlsServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        secure_cookies: true,
        ..settings
    };
    let state = server::open_state(
        dir.path(),
        sync_server::key_file::ServerKeys::generate(),
        settings,
    )
    .await
    .expect("open state");
    let config = tls::server_config(&cert.cert, &cert.key).expect("TLS config");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}", tcp.local_addr().expect("address"));
    let listener = TlsListener::with_timeout(tcp, config, handshake_timeout).expect("listener");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::serve_tls(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    TlsServer {
        url,
        state,
        _dir: dir,
        _stop: stop,
    }
}

#[tokio::test]
async fn https_serves_the_api_and_the_staff_cookies_are_secure() {
    let files = tempfile::tempdir().unwrap();
    let cert = test_cert(files.path());
    let server = start_tls(&cert, tls::HANDSHAKE_TIMEOUT).await;
    let client = trusting(&cert);

    let health = client
        .get(format!("{}{}", server.url, paths::HEALTH))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(health.status(), StatusCode::OK);

    add_account(server.state.store(), "admin", Role::Admin, "*").await;
    let form = client
        .get(format!("{}/staff/login", server.url))
        .send()
        .await
        .expect("login page");
    let cookie = form
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let token = hidden_value(&form.text().await.expect("body"), "login_token").expect("token");
    let login = client
        .post(format!("{}/staff/login", server.url))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("login_token", token.as_str()),
            ("next", "/staff/fleet"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let session = login
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("staff_session="))
        .expect("session cookie")
        .to_owned();
    assert!(session.contains("; Secure"), "{session}");
    let fleet = client
        .get(format!("{}/staff/fleet", server.url))
        .send()
        .await
        .expect("fleet page");
    assert_eq!(
        fleet.status(),
        StatusCode::OK,
        "the Secure cookie comes back"
    );

    // Plain HTTP to the TLS port is no request at all.
    let plain = reqwest::Client::new()
        .get(format!(
            "{}{}",
            server.url.replace("https", "http"),
            paths::HEALTH
        ))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn a_silent_client_holds_up_neither_other_handshakes_nor_the_server_for_long() {
    let files = tempfile::tempdir().unwrap();
    let cert = test_cert(files.path());
    let server = start_tls(&cert, Duration::from_secs(3)).await;
    let address = server.url.trim_start_matches("https://").to_owned();

    // Connects and never says hello.
    let silent = std::net::TcpStream::connect(&address).expect("connect");
    let started = Instant::now();
    let health = trusting(&cert)
        .get(format!("{}{}", server.url, paths::HEALTH))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("served while another handshake hangs");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not queued behind the silent one (its deadline is 3 s)"
    );

    let closed = tokio::task::spawn_blocking(move || {
        let mut silent = silent;
        silent
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        silent.read(&mut byte)
    })
    .await
    .expect("reader");
    assert!(
        matches!(closed, Ok(0))
            || closed.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the server hangs up after the handshake deadline"
    );
}

/// A TLS client of our own, to send half a request head after the handshake.
fn tls_connector(cert: &TestCert) -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert.cert_pem.as_bytes()).expect("PEM"))
        .expect("root");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}

#[tokio::test]
async fn over_tls_too_half_sent_heads_are_cut_off_under_the_connection_cap() {
    let files = tempfile::tempdir().unwrap();
    let cert = test_cert(files.path());
    let cap = 3;
    let server = start_tls_with(
        &cert,
        tls::HANDSHAKE_TIMEOUT,
        crate::slow_clients::slow_client_settings(cap),
    )
    .await;
    let address = server.url.trim_start_matches("https://").to_owned();
    let connector = tls_connector(&cert);
    let mut slow = Vec::new();
    for _ in 0..3 * cap {
        let (connector, address) = (connector.clone(), address.clone());
        slow.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(&address)
                .await
                .map_err(|_| "connect")?;
            let name = "127.0.0.1".try_into().map_err(|_| "name")?;
            // Past the cap the handshake itself waits until a place is free.
            let tls = tokio::time::timeout(Duration::from_secs(60), connector.connect(name, tcp))
                .await
                .map_err(|_| "the handshake never happened")?
                .map_err(|_| "handshake")?;
            crate::slow_clients::stalls_until_closed(tls).await
        }));
    }
    let health = trusting(&cert)
        .get(format!("{}{}", server.url, paths::HEALTH))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(health.status(), StatusCode::OK);
    for client in slow {
        client.await.expect("task").expect("closed by the server");
    }
    let connections = server.state.connections();
    assert!(connections.peak() <= cap, "peak {}", connections.peak());
}

/// The last line on stderr of a command that must fail.
fn failure(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn serve_refuses_plain_http_off_loopback_and_names_the_fix() {
    let dir = Install::new();
    let line = failure(&run(dir.path(), &["serve", "--listen", "0.0.0.0:0"]));
    assert!(
        line.starts_with("sync-server: refusing plain HTTP on 0.0.0.0:"),
        "{line}"
    );
    assert!(
        line.contains("--tls-cert and --tls-key") && line.contains("--allow-plain-http"),
        "{line}"
    );
    assert!(
        !dir.path().join(sync_server::data_dir::DB_FILE).exists(),
        "refused before the store is opened"
    );
}

#[test]
fn serve_names_a_bad_certificate_or_key_file_in_one_line() {
    let dir = Install::new();
    let cert = test_cert(dir.path());
    let serve = |cert: &Path, key: &Path| {
        failure(&run(
            dir.path(),
            &[
                "serve",
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        ))
    };

    let missing = dir.path().join("missing.pem");
    let line = serve(&missing, &cert.key);
    assert!(
        line.contains(&format!(
            "cannot read the TLS certificate {}",
            missing.display()
        )) && line.contains("--tls-cert"),
        "{line}"
    );
    let line = serve(&cert.key, &cert.key);
    assert!(line.contains("holds no PEM certificate"), "{line}");
    let line = serve(&cert.cert, &cert.cert);
    assert!(
        line.contains(&format!("{} holds no PEM private key", cert.cert.display()))
            && line.contains("--tls-key"),
        "{line}"
    );
    let other_dir = dir.path().join("other");
    std::fs::create_dir(&other_dir).expect("a second directory");
    let other = test_cert(&other_dir);
    let line = serve(&cert.cert, &other.key);
    assert!(
        line.contains("cannot serve the certificate")
            && line.contains(&other.key.display().to_string()),
        "{line}"
    );
    let only_cert = run(
        dir.path(),
        &["serve", "--tls-cert", cert.cert.to_str().unwrap()],
    );
    assert_eq!(
        only_cert.status.code(),
        Some(2),
        "clap: --tls-key is required with it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_speaks_https_with_the_given_certificate() {
    let dir = Install::new();
    let cert = test_cert(dir.path());
    let serving = Serving::start_with(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ],
    );
    assert!(
        serving.url.starts_with("https://127.0.0.1:"),
        "{}",
        serving.url
    );
    let health = trusting(&cert)
        .get(format!("{}{}", serving.url, paths::HEALTH))
        .send()
        .await
        .expect("HTTPS request to the binary");
    assert_eq!(health.status(), StatusCode::OK);
}

/// Booths pin the certificate `serve` serves: `enroll-code` puts its pin in the code's output
/// and QR code (for an https address only), and `tls-fingerprint` prints it for the file.
#[test]
fn enrollment_codes_carry_the_pin_of_the_served_certificate() {
    let dir = Install::new();
    let cert = test_cert(dir.path());
    let serving = Serving::start_with(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ],
    );
    let issue = |server: &str, json: bool| {
        let mut args = vec!["enroll-code", "--village", "石门村", "--server", server];
        if json {
            args.push("--json");
        }
        stdout_of(&run(dir.path(), &args))
    };
    let text = issue(&serving.url, false);
    assert!(
        text.lines()
            .any(|line| line == format!("pin: {}", cert.pin)),
        "{text}"
    );
    let payload = text
        .lines()
        .find_map(|line| line.strip_prefix("qr: "))
        .expect("the QR code's text");
    let qr = sync_protocol::enroll::parse_enroll_qr(payload).expect("an enrollment QR code");
    assert_eq!(qr.pin, Some(cert.pin));
    assert!(
        text.contains(&format!("--server-pin {}", cert.pin)),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&issue(&serving.url, true)).unwrap();
    assert_eq!(json["pin"], cert.pin.to_string());

    // An http address has no certificate: no pin a booth would refuse.
    let plain: serde_json::Value =
        serde_json::from_str(&issue("http://10.0.0.5:8080", true)).unwrap();
    assert_eq!(plain["pin"], serde_json::Value::Null);

    let fingerprint = stdout_of(&run(
        dir.path(),
        &["tls-fingerprint", "--cert", cert.cert.to_str().unwrap()],
    ));
    assert_eq!(
        fingerprint,
        format!("pin: {}\nfirst 16: {}\n", cert.pin, cert.pin.short())
    );
    serving.stop();
}

#[test]
fn plain_http_off_loopback_starts_when_explicitly_allowed() {
    let dir = Install::new();
    let serving = Serving::start_with(dir.path(), &["--listen", "0.0.0.0:0", "--allow-plain-http"]);
    assert!(
        serving.url.starts_with("http://0.0.0.0:"),
        "{}",
        serving.url
    );
}
