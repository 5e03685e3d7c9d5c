//! The audit log's hash chain on real database files: `sync-server audit verify` and `audit
//! export` (the real binary) on untouched and tampered copies, two handles appending to one
//! chain, and the chain's head in `/staff/healthz` for staff only.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use sync_server::domain::access::Role;
use sync_server::store::audit_chain::{self, ChainHash, ChainVerdict, link};
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::AuditEntry;
use sync_server::store::{StaffStore, Store, StoreError};
use tempfile::TempDir;

use crate::cli::run;
use crate::common::TestServer;
use crate::staff_client::{StaffClient, add_account};

const LINES: i64 = 6;

/// One key ring for every store these tests open: a database keeps check values of the keys
/// it was first opened with and refuses others.
fn keys() -> Arc<KeyRing> {
    static KEYS: std::sync::OnceLock<Arc<KeyRing>> = std::sync::OnceLock::new();
    Arc::clone(KEYS.get_or_init(|| Arc::new(KeyRing::generate())))
}

/// A data directory whose audit log has [`LINES`] lines (seq 1 to 6), the store closed.
async fn logged() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(sync_server::data_dir::DB_FILE);
    let store = SqliteStore::open(&path, keys()).unwrap();
    let t0 = Utc::now();
    for n in 1..=LINES {
        let entry = AuditEntry::new(t0 + Duration::seconds(n), "wang", "review.accept")
            .target(format!("001-0000{n}-X"))
            .detail("受理")
            .remote(Some("10.0.0.7".into()));
        store.append_audit(entry).await.unwrap();
    }
    drop(store);
    (dir, path)
}

/// Runs SQL on the file behind the server's back, as someone with the file could.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn verify(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(extra);
    run(dir, &args)
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The one line a failing command printed.
fn refusal(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure, got: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr.trim_end().to_owned()
}

/// `--expect-head SEQ:HASH` as `audit export` printed it.
fn exported_head(dir: &Path) -> String {
    let printed = stdout(&run(dir, &["audit", "export"]));
    printed
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("sync-server audit verify --expect-head ")
        })
        .unwrap_or_else(|| panic!("no head in:\n{printed}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_log_verifies_and_its_head_is_what_the_store_says() {
    let (dir, path) = logged().await;
    let store = SqliteStore::open(&path, keys()).unwrap();
    let head = store.audit_head().await.unwrap().expect("a head");
    drop(store);

    let printed = stdout(&verify(dir.path(), &[]));
    assert_eq!(
        printed.trim(),
        format!("audit chain intact: 6 rows, head seq 6 hash {}", head.hash)
    );
    let kept = exported_head(dir.path());
    assert_eq!(kept, format!("6:{}", head.hash));
    let printed = stdout(&verify(dir.path(), &["--expect-head", &kept]));
    assert!(
        printed.contains("reaching the kept head seq 6"),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_line_is_named() {
    let (dir, path) = logged().await;
    tamper(
        &path,
        "DROP TRIGGER audit_log_is_append_only_update;
         UPDATE audit_log SET detail = '未受理' WHERE seq = 3;",
    );
    assert_eq!(
        refusal(&verify(dir.path(), &[])),
        "sync-server: audit chain broken at seq 3: its content does not match its hash: the \
         line was changed after it was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_line_is_named_by_the_line_after_it() {
    let (dir, path) = logged().await;
    tamper(
        &path,
        "DROP TRIGGER audit_log_is_append_only_delete;
         DELETE FROM audit_log WHERE seq = 3;",
    );
    assert_eq!(
        refusal(&verify(dir.path(), &[])),
        "sync-server: audit chain broken at seq 4: it does not follow seq 2: lines between \
         them were removed, or seq 2 was rewritten"
    );
    let (dir, path) = logged().await;
    tamper(
        &path,
        "DROP TRIGGER audit_log_is_append_only_delete;
         DELETE FROM audit_log WHERE seq = 1;",
    );
    assert!(
        refusal(&verify(dir.path(), &[]))
            .contains("broken at seq 2: it is the first line but does not start the chain")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_rewritten_with_its_hash_recomputed_breaks_the_next_link() {
    let (dir, path) = logged().await;
    let store = SqliteStore::open(&path, keys()).unwrap();
    let lines = store.audit_chain_page(None, 10).await.unwrap();
    drop(store);
    let mut forged = lines[2].record.entry.clone();
    forged.actor = "li".into();
    let hash = link(3, &forged, &lines[2].prev_hash);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_is_append_only_update")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET actor = 'li', hash = ?1 WHERE seq = 3",
        [hash.as_bytes().as_slice()],
    )
    .unwrap();
    drop(conn);
    assert!(
        refusal(&verify(dir.path(), &[])).contains("broken at seq 4: it does not follow seq 3"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_tail_shows_only_against_the_kept_head() {
    let (dir, path) = logged().await;
    let kept = exported_head(dir.path());
    tamper(
        &path,
        "DROP TRIGGER audit_log_is_append_only_delete;
         DELETE FROM audit_log WHERE seq > 3;",
    );
    // What a chain alone cannot see: the rest is a shorter, intact chain.
    assert!(stdout(&verify(dir.path(), &[])).starts_with("audit chain intact: 3 rows"));
    assert_eq!(
        refusal(&verify(dir.path(), &["--expect-head", &kept])),
        "sync-server: audit chain broken at seq 6: the kept head's line is missing and the log \
         ends at seq 3: lines were removed from its end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_rewritten_from_a_line_on_shows_against_the_kept_head() {
    let (dir, path) = logged().await;
    let kept = exported_head(dir.path());
    // Whoever has the file can rechain everything after the line they change…
    let store = SqliteStore::open(&path, keys()).unwrap();
    let lines = store.audit_chain_page(None, 10).await.unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_is_append_only_update")
        .unwrap();
    let mut prev = lines[1].hash;
    for line in &lines[2..] {
        let mut entry = line.record.entry.clone();
        if line.record.seq == 3 {
            entry.detail = Some("未受理".into());
        }
        let hash = link(line.record.seq, &entry, &prev);
        conn.execute(
            "UPDATE audit_log SET detail = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
            rusqlite::params![
                line.record.seq,
                entry.detail,
                prev.as_bytes().as_slice(),
                hash.as_bytes().as_slice()
            ],
        )
        .unwrap();
        prev = hash;
    }
    drop(conn);
    // …and the chain checks out on its own…
    assert!(stdout(&verify(dir.path(), &[])).starts_with("audit chain intact: 6 rows"));
    // …but not against the head kept away from the server.
    let message = refusal(&verify(dir.path(), &["--expect-head", &kept]));
    assert!(
        message.starts_with(
            "sync-server: audit chain broken at seq 6: the kept head says its hash is"
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_a_read_only_copy_without_changing_it() {
    let (dir, path) = logged().await;
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("audit-copy.sqlite3");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&copy).unwrap();

    let elsewhere = tempfile::tempdir().unwrap();
    let printed = stdout(&verify(elsewhere.path(), &["--db", copy.to_str().unwrap()]));
    assert!(
        printed.starts_with("audit chain intact: 6 rows"),
        "{printed}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before, "not a byte changed");
    assert!(
        !elsewhere
            .path()
            .join(sync_server::data_dir::DB_FILE)
            .exists(),
        "no database made in the data directory"
    );

    // The read-only store refuses writes instead of making them.
    let store = SqliteStore::open_read_only(&copy).unwrap();
    assert!(matches!(
        store
            .append_audit(AuditEntry::new(Utc::now(), "x", "y"))
            .await,
        Err(StoreError::ReadOnly { .. })
    ));
    drop(dir);
}

#[test]
fn verify_explains_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    assert!(refusal(&verify(dir.path(), &[])).contains("no server database at"));
    // Refused by the argument parser, in its own format.
    let bad_head = verify(dir.path(), &["--expect-head", "6:abc"]);
    assert!(!bad_head.status.success());
    assert!(
        String::from_utf8_lossy(&bad_head.stderr)
            .contains("is not a kept audit head: write it as SEQ:HASH")
    );
    // A database from before the chain is not migrated behind the user's back.
    let old = dir.path().join("old.sqlite3");
    let conn = rusqlite::Connection::open(&old).unwrap();
    conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) STRICT")
        .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    let before = std::fs::read(&old).unwrap();
    let message = refusal(&verify(dir.path(), &["--db", old.to_str().unwrap()]));
    assert!(
        message.contains("schema version 1 is older than this program's"),
        "{message}"
    );
    assert_eq!(std::fs::read(&old).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_line_and_refuses_a_broken_chain() {
    let (dir, path) = logged().await;
    let rows = dir.path().join("audit.jsonl");
    let printed = stdout(&run(
        dir.path(),
        &["audit", "export", "--rows", rows.to_str().unwrap()],
    ));
    assert!(printed.contains("(6 rows, intact)"), "{printed}");
    let mode = std::fs::metadata(&rows).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let lines: Vec<Value> = std::fs::read_to_string(&rows)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let mut prev = ChainHash::GENESIS.to_string();
    for (seq, line) in (1..).zip(&lines) {
        assert_eq!(line["seq"], seq);
        assert_eq!(line["prev_hash"], prev.as_str());
        assert_eq!(line["detail"], "受理");
        prev = line["hash"].as_str().unwrap().to_owned();
    }
    assert!(
        refusal(&run(
            dir.path(),
            &["audit", "export", "--rows", rows.to_str().unwrap()],
        ))
        .contains("never overwritten"),
    );

    let json: Value =
        serde_json::from_str(&stdout(&run(dir.path(), &["audit", "export", "--json"]))).unwrap();
    assert_eq!(json["rows"], 6);
    assert_eq!(json["head"]["hash"], prev.as_str());

    tamper(
        &path,
        "DROP TRIGGER audit_log_is_append_only_update;
         UPDATE audit_log SET remote = NULL WHERE seq = 5;",
    );
    let again = dir.path().join("again.jsonl");
    let message = refusal(&run(
        dir.path(),
        &["audit", "export", "--rows", again.to_str().unwrap()],
    ));
    assert!(
        message.contains("broken at seq 5") && message.contains("no head exported"),
        "{message}"
    );
    assert!(!again.exists(), "a broken export leaves no rows file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_and_a_staff_command_append_to_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite3");
    let server: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, keys()).unwrap());
    // A second handle has its own writer thread and connection, as a staff command has.
    let command: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, keys()).unwrap());
    let tasks: Vec<_> = (0..60)
        .map(|n| {
            let store = Arc::clone(if n % 2 == 0 { &server } else { &command });
            tokio::spawn(async move {
                store
                    .append_audit(
                        AuditEntry::new(Utc::now(), "wang", "test.line").target(n.to_string()),
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let verdict = audit_chain::verify(server.as_ref(), None).await.unwrap();
    assert!(
        matches!(verdict, ChainVerdict::Intact { rows: 60, head: Some(head), .. } if head.seq == 60),
        "{verdict:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_is_in_the_health_details_for_staff_only() {
    let server = TestServer::start().await;
    add_account(server.store(), "viewer", Role::Viewer, "*").await;
    let mut staff = StaffClient::logged_in(&server.url, "viewer").await;
    let head = server.store().audit_head().await.unwrap().expect("a head");
    assert_eq!(head.seq, 2, "account.create and login.ok");

    let page = staff.get("/staff/healthz").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let details: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(details["status"], "ok");
    assert_eq!(details["details"]["audit_chain"]["seq"], 2);
    assert_eq!(
        details["details"]["audit_chain"]["hash"],
        head.hash.to_string()
    );
    // The public check says no more than before, with or without a staff session.
    let public = staff.get("/healthz").await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&public.body).unwrap(),
        serde_json::json!({ "status": "ok" })
    );

    let mut anonymous = StaffClient::new(&server.url);
    let refused = anonymous.get("/staff/healthz").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(
        refused
            .location
            .as_deref()
            .is_some_and(|to| to.starts_with("/staff/login")),
        "{refused:?}"
    );
    refused.assert_lacks(&head.hash.to_string());
    refused.assert_lacks("audit_chain");
    let public = anonymous.get("/healthz").await;
    public.assert_lacks("audit_chain");
}
