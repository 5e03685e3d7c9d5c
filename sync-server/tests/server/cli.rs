//! The `sync-server` binary: `serve`'s ready line, staff commands on the same data directory
//! while it runs, their output formats, and one-line errors.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sync_protocol::ErrorCode;
use sync_protocol::feed::{Feed, FeedPage, StatusChange, SubmissionStatus};
use sync_protocol::paths;
use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome};

use crate::common::{enroll_with_code, refusal, submission};

const BIN: &str = env!("CARGO_BIN_EXE_sync-server");

/// A data directory with its key file beside it, outside it as the server demands:
/// `root/data` and `root/keys.json`. [`Install::path`] is the data directory.
#[derive(Debug)]
pub struct Install {
    _root: tempfile::TempDir,
    data: PathBuf,
}

impl Install {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        sync_server::key_file::KeyFile::init(&key_file(&data), &data, chrono::Utc::now())
            .expect("key file");
        Self { _root: root, data }
    }

    pub fn path(&self) -> &Path {
        &self.data
    }
}

/// The key file of an [`Install`]'s data directory.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.with_file_name("keys.json")
}

/// Runs `sync-server --data-dir DIR --key-file KEYS ARGS…` to its end, never reading the
/// caller's data dir or key file.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--key-file")
        .arg(key_file(dir))
        .args(args)
        .env_remove(sync_server::data_dir::ENV)
        .env_remove(sync_server::key_file::ENV)
        .output()
        .expect("run sync-server")
}

pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_str(&stdout_of(output)).expect("JSON output")
}

/// `sync-server serve` in its own process; stopped with SIGTERM or killed when dropped.
pub struct Serving {
    child: Child,
    /// What its first line announced.
    pub url: String,
}

impl Serving {
    /// On a free loopback port, plain HTTP.
    pub fn start(dir: &Path) -> Self {
        let serving = Self::start_with(dir, &["--listen", "127.0.0.1:0"]);
        assert!(
            serving.url.starts_with("http://127.0.0.1:"),
            "{}",
            serving.url
        );
        serving
    }

    /// `serve ARGS`.
    pub fn start_with(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .arg("--key-file")
            .arg(key_file(dir))
            .arg("serve")
            .args(args)
            .env_remove(sync_server::data_dir::ENV)
            .env_remove(sync_server::key_file::ENV)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sync-server serve");
        let stdout = child.stdout.take().expect("stdout");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        let line = line_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("serve printed its address");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Self { child, url }
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("wait for serve")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_commands_work_while_the_server_runs() {
    let dir = Install::new();
    let serving = Serving::start(dir.path());

    let issued = json_of(&run(
        dir.path(),
        &[
            "enroll-code",
            "--village",
            "石门村",
            "--township",
            "凤岭乡",
            "--json",
        ],
    ));
    let code = issued["code"].as_str().expect("code").to_owned();
    assert_eq!(issued["village"]["village"], "石门村");
    let kiosk = enroll_with_code(&serving.url, &code).await;
    assert_eq!(kiosk.enrolled.village.township, "凤岭乡");

    let imported = stdout_of(&run(
        dir.path(),
        &[
            "catalog",
            "import",
            concat!(env!("CARGO_MANIFEST_DIR"), "/seed/catalog.json"),
        ],
    ));
    assert!(imported.contains("10 added"), "{imported}");
    let catalog: FeedPage<Value> = kiosk.feed(Feed::Catalog, None, 100).await;
    assert_eq!(
        catalog.items.len(),
        10,
        "the server serves what the command imported"
    );

    let sent = submission(kiosk.number(), 1);
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sent.clone()],
            },
        )
        .await;
    let answer: BatchResponse = response.json().await.unwrap();
    assert_eq!(answer.results[0].outcome, Outcome::Accepted);

    let listed = json_of(&run(dir.path(), &["submissions", "list", "--json"]));
    assert_eq!(listed[0]["receipt_number"], sent.receipt_number.as_str());
    assert_eq!(listed[0]["id_number_masked"], "450902********0028");
    let text = stdout_of(&run(dir.path(), &["submissions", "list"]));
    assert!(text.contains(&sent.receipt_number) && text.contains("450902********0028"));
    assert!(
        !text.contains("李秀英") && !text.contains("450902196208150028"),
        "the list shows no names and no full ID numbers"
    );
    let shown = stdout_of(&run(
        dir.path(),
        &["submissions", "show", &sent.receipt_number],
    ));
    assert!(shown.contains("450902196208150028") && shown.contains("李秀英"));
    let shown = json_of(&run(
        dir.path(),
        &["submissions", "show", &sent.id.to_string(), "--json"],
    ));
    assert_eq!(shown["status"], "received");

    let changed = stdout_of(&run(
        dir.path(),
        &[
            "submissions",
            "set-status",
            &sent.receipt_number.to_lowercase(),
            "needs_correction",
            "--note",
            "请带户口簿",
        ],
    ));
    assert!(
        changed.contains("received -> needs_correction"),
        "{changed}"
    );
    let statuses: FeedPage<StatusChange> = kiosk.feed(Feed::Statuses, None, 100).await;
    let last = statuses.items.last().expect("status changes");
    assert_eq!(last.status, SubmissionStatus::NeedsCorrection);
    assert_eq!(last.note.as_deref(), Some("请带户口簿"));

    let kiosks = json_of(&run(dir.path(), &["kiosk", "list", "--json"]));
    assert_eq!(kiosks[0]["kiosk_id"], kiosk.id());
    assert_eq!(kiosks[0]["state"], "active");
    assert!(kiosks[0]["last_seen_at"].is_string(), "{kiosks}");
    let table = stdout_of(&run(dir.path(), &["kiosk", "list"]));
    assert!(table.contains("#1") && table.contains("active"), "{table}");

    let revoked = stdout_of(&run(dir.path(), &["kiosk", "revoke", "1"]));
    assert!(revoked.starts_with("revoked kiosk #1"), "{revoked}");
    let (status, body) = refusal(kiosk.get(&paths::feed(Feed::Statuses), "").await).await;
    assert_eq!(
        (status, body.code),
        (StatusCode::FORBIDDEN, ErrorCode::KioskRevoked),
        "the running server refuses the revoked kiosk at once"
    );
    let keys = sync_server::key_file::KeyFile::load(&key_file(dir.path()), dir.path())
        .and_then(|file| file.keys())
        .expect("the key file");
    let store = sync_server::store::sqlite::SqliteStore::open(
        &dir.path().join(sync_server::data_dir::DB_FILE),
        keys.ring,
    )
    .expect("a second handle on the server's store");
    let revocations = crate::staff_client::audit_actions(
        &store,
        sync_server::store::staff::AuditFilter {
            action: Some("fleet.revoke".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        revocations,
        ["fleet.revoke"],
        "the command leaves its audit line"
    );

    let notice = stdout_of(&run(
        dir.path(),
        &[
            "notice",
            "add",
            "--title",
            "停电通知",
            "--body",
            "周六停电",
            "--village",
            "石门村",
        ],
    ));
    assert!(notice.contains("to 石门村"), "{notice}");

    let status = serving.stop();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
}

#[test]
fn enroll_code_prints_the_code_first_then_the_booths_qr() {
    let dir = Install::new();
    let text = stdout_of(&run(
        dir.path(),
        &[
            "enroll-code",
            "--village",
            "石门村",
            "--expires",
            "30m",
            "--server",
            "http://10.0.0.5:8080",
        ],
    ));
    let mut lines = text.lines();
    let code = lines
        .next()
        .and_then(|l| l.strip_prefix("code: "))
        .expect("first line `code: XXXX-XXXX`");
    assert_eq!(code.len(), 9);
    assert!(
        sync_server::api::enroll_codes::canonical(code).is_some(),
        "{code}"
    );
    assert_eq!(lines.next(), Some("village: 石门村"));
    assert!(lines.next().is_some_and(|l| l.starts_with("expires: ")));
    let payload = lines
        .next()
        .and_then(|l| l.strip_prefix("qr: "))
        .expect("the QR code's text");
    let expected = sync_protocol::enroll::EnrollQr {
        server: "http://10.0.0.5:8080".into(),
        code: code.into(),
        pin: None,
    };
    assert_eq!(
        sync_protocol::enroll::parse_enroll_qr(payload).as_ref(),
        Some(&expected)
    );
    assert_eq!(scan_block_qr(&text), payload, "what the scanner reads");
    assert!(text.contains(&format!("--server http://10.0.0.5:8080 --code {code}")));

    let without = stdout_of(&run(dir.path(), &["enroll-code", "--village", "石门村"]));
    assert!(!without.contains('█'), "no QR code the booth cannot use");
    assert!(without.contains("add --server URL"), "{without}");
}

/// Decodes the QR code printed in half-block characters, where a filled half is a light
/// module (light on the dark terminal).
fn scan_block_qr(text: &str) -> String {
    const SCALE: usize = 4;
    let rows: Vec<Vec<char>> = text
        .lines()
        .filter(|line| line.contains(['█', '▀', '▄']))
        .map(|line| line.chars().collect())
        .collect();
    let width = rows.iter().map(Vec::len).max().expect("a QR code");
    let height = rows.len() * 2;
    let light = |x: usize, y: usize| {
        let c = rows[y / 2].get(x).copied().unwrap_or(' ');
        if y.is_multiple_of(2) {
            matches!(c, '█' | '▀')
        } else {
            matches!(c, '█' | '▄')
        }
    };
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width * SCALE, height * SCALE, |x, y| {
            if light(x / SCALE, y / SCALE) { 255 } else { 0 }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code decodes").1
}

#[test]
fn catalog_import_reports_what_changed() {
    let dir = Install::new();
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/catalog.json");
    let first = stdout_of(&run(dir.path(), &["catalog", "import", seed]));
    assert!(
        first.contains(": 10 added, 0 updated, 0 withdrawn, 0 unchanged"),
        "{first}"
    );
    let again = json_of(&run(dir.path(), &["catalog", "import", seed, "--json"]));
    assert_eq!(again["unchanged"].as_array().map(Vec::len), Some(10));
}

#[test]
fn errors_are_one_line_with_a_failing_exit() {
    let dir = Install::new();
    let missing = run(dir.path(), &["kiosk", "list"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("sync-server: no server database in"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1);
    assert!(
        !dir.path().join("server.sqlite3").exists(),
        "a read command does not create a database"
    );

    stdout_of(&run(dir.path(), &["enroll-code", "--village", "石门村"]));
    let revoke = run(dir.path(), &["kiosk", "revoke", "99"]);
    assert_eq!(revoke.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&revoke.stderr);
    assert!(stderr.contains("no kiosk #99"), "{stderr}");
    let show = run(dir.path(), &["submissions", "show", "not-a-receipt"]);
    assert_eq!(show.status.code(), Some(1));
    let bad_file = run(dir.path(), &["catalog", "import", "/no/such/catalog.json"]);
    let stderr = String::from_utf8_lossy(&bad_file.stderr);
    assert!(stderr.contains("/no/such/catalog.json"), "{stderr}");
}

#[test]
fn serve_reports_a_busy_port_in_one_line() {
    let dir = Install::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(dir.path(), &["serve", "--listen", &address]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("sync-server: cannot listen on {address}")),
        "{stderr}"
    );
}

/// `staff` and `calendar` while the server runs: an account made on the command line logs in
/// over HTTP with the password printed once, and disabling it ends its session at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts_and_the_calendar_are_managed_from_the_command_line() {
    let dir = Install::new();
    let serving = Serving::start(dir.path());
    let added = stdout_of(&run(
        dir.path(),
        &[
            "staff",
            "add",
            "--user",
            "Li.Handler",
            "--role",
            "handler",
            "--scope",
            "示范县/凤岭乡",
            "--name",
            "李承办",
        ],
    ));
    assert!(
        added.starts_with("created li.handler (handler, scope 示范县/凤岭乡)"),
        "{added}"
    );
    let password = added
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("the password is printed")
        .to_owned();
    let mut client = crate::staff_client::StaffClient::new(&serving.url);
    let login = client.login("li.handler", &password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);

    let listed = stdout_of(&run(dir.path(), &["staff", "list"]));
    assert!(
        listed.contains("li.handler") && listed.contains("李承办"),
        "{listed}"
    );
    let refused = run(
        dir.path(),
        &[
            "staff", "add", "--user", "x", "--role", "boss", "--scope", "*",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a role"));

    stdout_of(&run(
        dir.path(),
        &["staff", "disable", "--user", "li.handler"],
    ));
    assert_eq!(
        client.get("/staff/password").await.status,
        StatusCode::SEE_OTHER,
        "the session ended with the account"
    );

    let set = stdout_of(&run(
        dir.path(),
        &[
            "calendar",
            "add",
            "2026-10-01",
            "--kind",
            "holiday",
            "--name",
            "国庆节",
        ],
    ));
    assert!(set.contains("2026-10-01 is now a holiday"), "{set}");
    let days = json_of(&run(dir.path(), &["calendar", "list", "--json"]));
    assert_eq!(days[0]["day"], "2026-10-01");
    assert_eq!(days[0]["kind"], "holiday");
    let unknown = run(
        dir.path(),
        &[
            "calendar",
            "add",
            "2026-10-02",
            "--kind",
            "feast",
            "--name",
            "x",
        ],
    );
    assert!(!unknown.status.success());
}

/// Two `serve` processes on one PostgreSQL database, as two hosts behind a load balancer: a
/// code issued by a staff command enrolls a booth at one, a request it signed for one is
/// refused as a replay at the other, and a status set by a staff command reaches it through
/// either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_one_postgres_store() {
    let dir = Install::new();
    let schema = sync_server::store::postgres::testing::TestSchema::create().await;
    let url = schema.url();
    let on_postgres = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", url.as_str()]);
        run(dir.path(), &all)
    };
    let a = Serving::start_with(dir.path(), &["--listen", "127.0.0.1:0", "--store", &url]);
    let b = Serving::start_with(dir.path(), &["--listen", "127.0.0.1:0", "--store", &url]);

    let issued = json_of(&on_postgres(&[
        "enroll-code",
        "--village",
        "石门村",
        "--township",
        "凤岭乡",
        "--json",
    ]));
    let kiosk = enroll_with_code(&a.url, issued["code"].as_str().expect("code")).await;
    let at_b = crate::common::TestKiosk {
        key: kiosk.key.clone(),
        enrolled: kiosk.enrolled.clone(),
        base: b.url.clone(),
        client: reqwest::Client::new(),
    };

    let path = paths::feed(Feed::Catalog);
    let headers = kiosk.sign("GET", &path, "", b"");
    let first = kiosk
        .send_signed(reqwest::Method::GET, &path, "", Vec::new(), &headers)
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let (status, body) = refusal(
        at_b.send_signed(reqwest::Method::GET, &path, "", Vec::new(), &headers)
            .await,
    )
    .await;
    assert_eq!(
        (status, body.code),
        (StatusCode::UNAUTHORIZED, ErrorCode::ReplayedNonce)
    );

    let sent = submission(kiosk.number(), 1);
    let answer: BatchResponse = at_b
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sent.clone()],
            },
        )
        .await
        .json()
        .await
        .expect("batch answer");
    assert_eq!(answer.results[0].outcome, Outcome::Accepted);
    stdout_of(&on_postgres(&[
        "submissions",
        "set-status",
        &sent.receipt_number,
        "accepted",
    ]));
    for booth in [&kiosk, &at_b] {
        let page: FeedPage<StatusChange> = booth.feed(Feed::Statuses, None, 100).await;
        let statuses: Vec<_> = page.items.iter().map(|change| change.status).collect();
        assert_eq!(
            statuses,
            [SubmissionStatus::Received, SubmissionStatus::Accepted]
        );
    }
    a.stop();
    b.stop();
}
