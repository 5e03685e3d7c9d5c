//! The booth's update download against the real `sync-server`: a release uploaded and rolled
//! out to one booth is downloaded by the kiosk's sync engine (in process, with its update
//! agent), through a proxy that cuts the first bundle download after half; the download
//! resumes with `Range`, the bundle is verified against the booth's pinned key, the install
//! request is written at a quiet moment, and the server hears the update report in the
//! heartbeat.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booth_release::{PublicKey, ReleaseSpec, SchemaRange, SigningKey, StoreSchemas};
use booth_tests::booth::{County, Server, enroll_code, eventually, free_port, server_cli};
use kiosk_core::store::Store;
use kiosk_core::sync::{Client, ClockOffset, Engine, EngineConfig};
use kiosk_core::update::{InstallRequest, UpdateAgent, UpdateDirs, UpdateState};

const TARGET: &str = "99.2.0";

/// A signed bundle of `TARGET` whose `bin/kiosk` is `size` bytes, written to `out`.
fn pack(key: &SigningKey, size: usize, out: &Path) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    let kiosk: Vec<u8> = (0..size).map(|n| (n % 239) as u8).collect();
    std::fs::write(dir.path().join("bin/kiosk"), kiosk).unwrap();
    let spec = ReleaseSpec {
        version: TARGET.parse().unwrap(),
        min_version: "0.0.1".parse().unwrap(),
        supersedes_highest: None,
        store: StoreSchemas {
            reads: SchemaRange::new(1, 99).unwrap(),
            writes: 1,
        },
        introduces_keys: vec![],
        retires_keys: vec![],
        notes: None,
    };
    let file = std::fs::File::create(out).unwrap();
    booth_release::pack(dir.path(), &spec, &[key], file).unwrap();
}

/// A TCP proxy that, once, cuts the answer to a release download after `cut_after` bytes
/// (headers included), and records the `Range` of every release request it forwards.
struct CutProxy {
    url: String,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    sent_to_booth: Arc<AtomicU64>,
}

impl CutProxy {
    fn start(upstream: String, cut_after: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let sent_to_booth = Arc::new(AtomicU64::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let (r, s) = (Arc::clone(&ranges), Arc::clone(&sent_to_booth));
        std::thread::spawn(move || {
            for booth in listener.incoming() {
                let Ok(booth) = booth else { return };
                let server = TcpStream::connect(&upstream).unwrap();
                // Set by the request side when this connection carries the download to cut.
                let cut = Arc::new(AtomicU64::new(u64::MAX));
                let (b2, s2) = (booth.try_clone().unwrap(), server.try_clone().unwrap());
                let (ranges, armed, cut_req) =
                    (Arc::clone(&r), Arc::clone(&armed), Arc::clone(&cut));
                std::thread::spawn(move || {
                    requests(booth, server, &ranges, &armed, &cut_req, cut_after)
                });
                let sent = Arc::clone(&s);
                std::thread::spawn(move || answers(s2, b2, &cut, &sent));
            }
        });
        Self {
            url,
            ranges,
            sent_to_booth,
        }
    }
}

fn requests(
    mut booth: TcpStream,
    mut server: TcpStream,
    ranges: &Mutex<Vec<Option<String>>>,
    armed: &AtomicBool,
    cut: &AtomicU64,
    cut_after: u64,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match booth.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let text = String::from_utf8_lossy(&buffer[..read]);
        if text.starts_with("GET /api/v1/releases/") {
            let range = text.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("range")
                    .then(|| value.trim().to_owned())
            });
            ranges.lock().unwrap().push(range);
            if armed.swap(false, Ordering::SeqCst) {
                cut.store(cut_after, Ordering::SeqCst);
            }
        }
        if server.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}

fn answers(mut server: TcpStream, mut booth: TcpStream, cut: &AtomicU64, sent: &AtomicU64) {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut forwarded_since_cut_armed = 0u64;
    loop {
        let read = match server.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let limit = cut.load(Ordering::SeqCst);
        let mut take = read;
        if limit != u64::MAX {
            let room = limit.saturating_sub(forwarded_since_cut_armed);
            take = take.min(usize::try_from(room).unwrap_or(usize::MAX));
            forwarded_since_cut_armed += take as u64;
        }
        if booth.write_all(&buffer[..take]).is_err() {
            break;
        }
        sent.fetch_add(take as u64, Ordering::SeqCst);
        if take < read || (limit != u64::MAX && forwarded_since_cut_armed >= limit) {
            break;
        }
    }
    let _ = booth.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targeted_booth_downloads_the_release_from_the_real_server_resuming_after_a_cut() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let data = booth_dir.path();
    let release_key = SigningKey::from_bytes(&[31u8; 32]);
    let keys = county.path().with_file_name("release-keys");
    std::fs::write(&keys, format!("{}\n", PublicKey::of(&release_key))).unwrap();
    let bundle_file = county.path().with_file_name("release.bundle");
    pack(&release_key, 600 * 1024, &bundle_file);
    let bundle_bytes = std::fs::read(&bundle_file).unwrap();
    let size = bundle_bytes.len() as u64;
    let keys_arg = keys.to_str().unwrap();
    let server = Server::start(county.path(), free_port());
    server_cli(
        county.path(),
        &[
            "--release-keys",
            keys_arg,
            "release",
            "upload",
            bundle_file.to_str().unwrap(),
        ],
    );

    let code = enroll_code(county.path(), "青山村");
    let identity = kiosk_core::sync::enroll(data, &server.url, &code)
        .await
        .unwrap();
    server_cli(
        county.path(),
        &[
            "rollout",
            "create",
            TARGET,
            "--booth",
            &identity.kiosk_number.to_string(),
        ],
    );

    // The booth's updater directories and the image's pinned key.
    let dirs = UpdateDirs::new(data);
    std::fs::create_dir_all(&dirs.inbox).unwrap();
    std::fs::create_dir_all(&dirs.health).unwrap();
    let pinned = data.join("release-keys");
    std::fs::copy(&keys, &pinned).unwrap();
    let agent = Arc::new(
        UpdateAgent::new(dirs.clone(), pinned, env!("CARGO_PKG_VERSION"))
            .with_retry_every(Duration::from_millis(200)),
    );

    let upstream = server.url.trim_start_matches("http://").to_owned();
    let proxy = CutProxy::start(upstream, size / 2);
    let key = kiosk_core::identity::load(data).unwrap();
    let store = Store::open(data).unwrap();
    let client = Client::new(
        &proxy.url,
        None,
        identity.kiosk_id.clone(),
        key,
        ClockOffset::default(),
    )
    .unwrap();
    let mut config = EngineConfig::new(data);
    config.heartbeat_every = Duration::from_millis(300);
    config.updates = Some(Arc::clone(&agent));
    let engine = Engine::new(client, Arc::new(Mutex::new(store)), config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));

    wait_for("the bundle downloaded and verified", || {
        agent.report().state == UpdateState::WaitingQuiet
    })
    .await;
    let inbox: Vec<_> = std::fs::read_dir(&dirs.inbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(inbox.len(), 1, "the bundle alone, no partial: {inbox:?}");
    assert!(inbox[0].to_string_lossy().ends_with(".bundle"));
    assert_eq!(std::fs::read(&inbox[0]).unwrap(), bundle_bytes);

    let ranges = proxy.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 2, "cut once, resumed once: {ranges:?}");
    assert_eq!(ranges[0], None);
    let done = agent.last_download().unwrap();
    assert_eq!(ranges[1], Some(format!("bytes={}-", done.resumed_from)));
    assert!(
        done.resumed_from > 0 && done.resumed_from < size,
        "{done:?}"
    );
    let overhead = agent.bytes_received() - size;
    println!(
        "download resume overhead: {overhead} bytes of {size}; resumed from {}; the proxy passed {} bytes to the booth",
        done.resumed_from,
        proxy.sent_to_booth.load(Ordering::SeqCst)
    );
    assert_eq!(overhead, 0, "no byte of the bundle was sent twice");

    agent.quiet().set(true);
    wait_for("the install request", || dirs.install_request().exists()).await;
    let request =
        InstallRequest::from_json(&std::fs::read(dirs.install_request()).unwrap()).unwrap();
    assert_eq!(request.version, TARGET);
    assert_eq!(request.bundle_path(&dirs), inbox[0]);

    // The county sees the booth working towards the target: its heartbeat's update report.
    eventually(
        Duration::from_secs(30),
        "the rollout shows the booth under way",
        || {
            let out = server_cli(county.path(), &["rollout", "list"]);
            out.stdout.contains("under way 1")
        },
    );

    let _ = stop.send(());
    assert!(task.await.unwrap().is_ok());
    server.stop();
}

/// Polls `check` without blocking the engine's runtime.
async fn wait_for(what: &str, check: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
