//! Personal data at rest: a booth's submissions, staff notes about them and follow-up calls go
//! into the database sealed, so neither the database file nor its WAL holds a readable name,
//! ID number, address, phone number or note; staff still read them on their pages; a changed
//! or moved sealed value is refused; ID numbers are found through their keyed hash; a
//! database written before sealing is sealed when opened.

use std::path::Path;
use std::sync::Arc;

use reqwest::StatusCode;
use sync_protocol::paths;
use sync_protocol::submission::{Applicant, BatchRequest, BatchResponse, Outcome, Submission};
use sync_server::domain::access::Role;
use sync_server::store::conformance::{enroll, t0};
use sync_server::store::sealing::{KeyRing, SealError};
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::AuditFilter;
use sync_server::store::{IngestItem, Store, StoreError, SubmissionFilter, SubmissionRef};

use crate::common::{TestKiosk, TestServer, submission};
use crate::staff_client::{StaffClient, add_account, audit_actions};

const NAME: &str = "欧阳春燕";
const ID_NUMBER: &str = "45090219620815002X";
/// The middle of the ID number: what masking hides.
const BIRTH: &str = "19620815";
const ADDRESS: &str = "凤岭乡石门村三组十七号";
const PHONE: &str = "13912345678";
const FIELD: &str = "母亲欧阳桂兰";
const COMMENT: &str = "请欧阳春燕补交户口簿";
const CALL_NOTE: &str = "已致电13912345678";
const FIX_NOTE: &str = "为欧阳春燕开通绿色通道";
/// A complaint's free text, repeated to a few kilobytes.
const LONG_TEXT: &str = "村口路灯坏了三个月";

/// Every personal value the tests put in; none may be in the file.
const SECRETS: [&str; 9] = [
    NAME, ID_NUMBER, BIRTH, ADDRESS, PHONE, FIELD, COMMENT, CALL_NOTE, FIX_NOTE,
];

fn application(kiosk_number: u32, seq: u64, id_number: &str) -> Submission {
    let mut sent = submission(kiosk_number, seq);
    sent.applicant = Some(Applicant {
        name: Some(NAME.into()),
        id_number: Some(id_number.into()),
        address: Some(ADDRESS.into()),
    });
    sent.contact_phone = Some(PHONE.into());
    sent.fields.insert("guardian".into(), FIELD.into());
    sent
}

async fn upload(kiosk: &TestKiosk, submissions: Vec<Submission>) {
    let response = kiosk
        .post_json(paths::SUBMISSIONS, &BatchRequest { submissions })
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.expect("batch response");
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Accepted),
        "{answer:?}"
    );
}

/// A server with the seed catalogue, a booth in 石门村 and a handler of its township.
async fn county() -> (TestServer, TestKiosk) {
    let server = TestServer::with_seed_catalog().await;
    let kiosk = server.enroll("石门村").await;
    add_account(server.store(), "handler", Role::Handler, "示范县/凤岭乡").await;
    (server, kiosk)
}

/// The database file and its WAL, as a copy or backup would take them.
fn file_bytes(data_dir: &Path) -> Vec<u8> {
    let database = data_dir.join(sync_server::data_dir::DB_FILE);
    let mut bytes = std::fs::read(&database).expect("database file");
    let mut wal = database.into_os_string();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(wal) {
        bytes.extend(more);
    }
    bytes
}

/// The personal values found in `bytes`.
fn found_in(bytes: &[u8], values: &[&str]) -> Vec<String> {
    values
        .iter()
        .filter(|value| {
            bytes
                .windows(value.len())
                .any(|window| window == value.as_bytes())
        })
        .map(|value| (*value).to_owned())
        .collect()
}

#[tokio::test]
async fn no_personal_value_reaches_the_database_file_yet_staff_read_them_all() {
    let (server, kiosk) = county().await;
    let sent = application(kiosk.number(), 1, ID_NUMBER);
    let receipt = sent.receipt_number.clone();
    let mut rating = sync_server::store::conformance::ratings::evaluation(
        kiosk.number(),
        2,
        1,
        Some("GX-MZ-001"),
    );
    rating.text = Some(format!("{NAME}说排队太久"));
    upload(&kiosk, vec![sent, rating.clone()]).await;

    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
    page.assert_ok()
        .assert_contains(NAME)
        .assert_contains(ADDRESS)
        .assert_contains(PHONE)
        .assert_contains(FIELD)
        .assert_contains("450902********002X")
        .assert_lacks(ID_NUMBER);
    for (action, comment) in [("accept", ""), ("request_correction", COMMENT)] {
        let page = handler.get(&format!("/staff/submissions/{receipt}")).await;
        let version = crate::staff_client::hidden_value(&page.body, "version").unwrap_or_default();
        let done = handler
            .post(
                &format!("/staff/submissions/{receipt}"),
                &[
                    ("action", action),
                    ("comment", comment),
                    ("version", &version),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    handler
        .get(&format!("/staff/submissions/{receipt}"))
        .await
        .assert_ok()
        .assert_contains(COMMENT);
    let told = kiosk
        .feed::<sync_protocol::feed::StatusChange>(sync_protocol::feed::Feed::Statuses, None, 100)
        .await;
    let note = told
        .items
        .last()
        .and_then(|c| c.note.clone())
        .unwrap_or_default();
    assert!(
        note.contains(COMMENT),
        "the booth is told the note in the clear: {note}"
    );

    let follow_up = format!("/staff/follow-ups/{}", rating.receipt_number);
    handler.get(&follow_up).await.assert_ok();
    for (step, field, value) in [
        ("call", "call_note", CALL_NOTE),
        ("fix", "fix_note", FIX_NOTE),
    ] {
        let saved = handler
            .post(&format!("{follow_up}/{step}"), &[(field, value)])
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    }
    handler
        .get(&follow_up)
        .await
        .assert_ok()
        .assert_contains(CALL_NOTE)
        .assert_contains(FIX_NOTE)
        .assert_contains("排队太久");
    let export = handler.get("/staff/export.csv?status=all&mine=0").await;
    export
        .assert_ok()
        .assert_contains(NAME)
        .assert_lacks(ID_NUMBER);

    let bytes = file_bytes(server.data_dir());
    assert!(bytes.len() > 4096, "read the database");
    assert_eq!(
        found_in(&bytes, &SECRETS),
        Vec::<String>::new(),
        "personal values readable in the database file or its WAL"
    );
    assert!(
        found_in(&bytes, &[receipt.as_str(), "GX-MZ-001"]).len() == 2,
        "what is not personal stays readable for queries"
    );
}

#[tokio::test]
async fn a_sealed_value_changed_or_moved_to_another_row_is_refused() {
    let (server, kiosk) = county().await;
    let first = application(kiosk.number(), 1, ID_NUMBER);
    let second = submission(kiosk.number(), 2);
    upload(&kiosk, vec![first.clone(), second.clone()]).await;
    let database = server.data_dir().join(sync_server::data_dir::DB_FILE);
    let conn = rusqlite::Connection::open(&database).expect("open the file");
    let body_of = |id: &uuid::Uuid| -> String {
        conn.query_row(
            "SELECT body FROM submissions WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .expect("body")
    };
    let set_body = |id: &uuid::Uuid, body: &str| {
        conn.execute(
            "UPDATE submissions SET body = ?2 WHERE id = ?1",
            rusqlite::params![id.to_string(), body],
        )
        .expect("edit the file");
    };
    let store = server.store();
    let (first_body, second_body) = (body_of(&first.id), body_of(&second.id));

    // Another row's sealed body: a swap of applicants without the key.
    set_body(&second.id, &first_body);
    match read(store, second.id).await {
        Err(StoreError::Unsealable { place, source }) => {
            assert_eq!(source, SealError::DoesNotOpen { key_id: 1 });
            assert!(place.contains(&second.id.to_string()), "{place}");
        }
        other => panic!("a moved body must be refused, got {other:?}"),
    }
    // One character changed.
    let mut changed = first_body.clone();
    let last = changed.pop().expect("text");
    changed.push(if last == 'A' { 'B' } else { 'A' });
    set_body(&second.id, &changed);
    assert!(matches!(
        read(store, second.id).await,
        Err(StoreError::Unsealable { .. })
    ));
    // Plain text put in its place.
    set_body(&second.id, &serde_json::to_string(&second).expect("json"));
    assert!(matches!(
        read(store, second.id).await,
        Err(StoreError::Unsealable {
            source: SealError::NotSealed,
            ..
        })
    ));
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    let page = handler
        .get(&format!("/staff/submissions/{}", second.receipt_number))
        .await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    page.assert_lacks(NAME);

    set_body(&second.id, &second_body);
    assert_eq!(
        read(store, second.id)
            .await
            .expect("read")
            .expect("found")
            .submission,
        second,
        "restored from a backup, it opens again"
    );
    assert_eq!(
        read(store, first.id)
            .await
            .expect("read")
            .expect("found")
            .submission,
        first
    );
}

#[tokio::test]
async fn staff_find_submissions_by_full_id_number_and_the_search_is_audited() {
    let (server, kiosk) = county().await;
    let mine = application(kiosk.number(), 1, ID_NUMBER);
    let other = submission(kiosk.number(), 2);
    upload(&kiosk, vec![mine.clone(), other.clone()]).await;
    let mut handler = StaffClient::logged_in(&server.url, "handler").await;
    handler.get("/staff/inbox").await.assert_ok();

    let found = handler
        .post(
            "/staff/inbox/by-id",
            &[("id_number", "45090219620815002x ")],
        )
        .await;
    found
        .assert_ok()
        .assert_contains(&mine.receipt_number)
        .assert_lacks(&other.receipt_number)
        .assert_lacks(ID_NUMBER);
    let none = handler
        .post("/staff/inbox/by-id", &[("id_number", "110105194912310037")])
        .await;
    none.assert_ok()
        .assert_lacks(&mine.receipt_number)
        .assert_lacks(&other.receipt_number);
    let malformed = handler
        .post("/staff/inbox/by-id", &[("id_number", "4509021962")])
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let forged = handler
        .post_raw("/staff/inbox/by-id", &[("id_number", ID_NUMBER)])
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "no form token, no search"
    );

    let searches = server
        .store()
        .list_audit(&AuditFilter {
            action: Some("identity.search".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(searches.len(), 2, "each search is on the record");
    assert!(
        searches
            .iter()
            .all(|r| r.entry.actor == "handler" && !format!("{:?}", r.entry).contains(BIRTH)),
        "{searches:?}"
    );
    assert_eq!(
        audit_actions(server.store(), AuditFilter::default())
            .await
            .iter()
            .filter(|a| *a == "identity.search")
            .count(),
        2
    );
}

async fn read(
    store: &dyn Store,
    id: uuid::Uuid,
) -> Result<Option<sync_server::store::SubmissionRecord>, StoreError> {
    store.find_submission(&SubmissionRef::Id(id)).await
}

/// What a database written before sealing holds: the bodies in the clear, no lookups and no
/// key check.
fn unseal_by_hand(path: &Path, sent: &[Submission]) {
    let conn = rusqlite::Connection::open(path).expect("open the file");
    for submission in sent {
        conn.execute(
            "UPDATE submissions SET body = ?2, id_lookup = NULL WHERE id = ?1",
            rusqlite::params![
                submission.id.to_string(),
                serde_json::to_string(submission).expect("json")
            ],
        )
        .expect("write plain text");
    }
    conn.execute(
        "DELETE FROM meta WHERE key IN ('sealed_under', 'seal_check', 'lookup_check')",
        [],
    )
    .expect("forget sealing");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_sealing_is_sealed_when_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(sync_server::data_dir::DB_FILE);
    let keys = Arc::new(KeyRing::generate());
    let sent: Vec<Submission> = {
        let store = SqliteStore::open(&path, Arc::clone(&keys)).expect("open");
        let kiosk = enroll(&store, "石门村", 1).await;
        // Some long enough to spill into overflow pages, which a rewrite frees.
        let sent: Vec<Submission> = (1..=300)
            .map(|seq| {
                let mut sent = application(kiosk.kiosk_number, seq, ID_NUMBER);
                if seq % 3 == 0 {
                    sent.text = Some(LONG_TEXT.repeat(60));
                }
                sent
            })
            .collect();
        store
            .ingest(
                &kiosk.kiosk_id,
                sent.iter()
                    .map(|s| IngestItem {
                        content_digest: s.content_digest(),
                        submission: s.clone(),
                    })
                    .collect(),
                t0(),
            )
            .await
            .expect("ingest");
        sent
    };
    unseal_by_hand(&path, &sent);
    assert_eq!(
        found_in(
            &file_bytes(dir.path()),
            &[NAME, ID_NUMBER, ADDRESS, PHONE, LONG_TEXT]
        )
        .len(),
        5,
        "the old file holds them in the clear"
    );

    let store = SqliteStore::open(&path, Arc::clone(&keys)).expect("reopen");
    assert_eq!(store.sealed_at_open().sealed, 300);
    assert_eq!(
        found_in(
            &file_bytes(dir.path()),
            &[&SECRETS[..], &[LONG_TEXT]].concat()
        ),
        Vec::<String>::new(),
        "sealing leaves no plain copy behind in free pages or the WAL"
    );
    let mut read = store
        .list_submissions(&SubmissionFilter::default())
        .await
        .expect("list");
    read.reverse();
    let read: Vec<Submission> = read.into_iter().map(|r| r.submission).collect();
    assert_eq!(read, sent);
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("open the file");
    let lookups: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM submissions WHERE id_lookup = ?1",
            [keys.id_lookup(ID_NUMBER)],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(lookups, 300, "old rows are found by ID number too");
    drop(conn);
    let again = SqliteStore::open(&path, keys).expect("open a third time");
    assert_eq!(
        again.sealed_at_open(),
        Default::default(),
        "nothing left to seal"
    );
    let other_keys = SqliteStore::open(&path, Arc::new(KeyRing::generate()));
    assert!(
        matches!(other_keys, Err(StoreError::KeysDoNotMatch { .. })),
        "another key file is refused before anything is read: {other_keys:?}"
    );
}

// ── the key file, through the binary ────────────────────────────────────────────────────

/// The one line a failed command printed (it must be one line, and fail).
fn failure(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "the command should have failed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn success(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `sync-server --data-dir DIR --key-file KEYS ARGS…`.
fn run_with_keys(dir: &Path, keys: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--key-file")
        .arg(keys)
        .args(args)
        .env_remove(sync_server::data_dir::ENV)
        .env_remove(sync_server::key_file::ENV)
        .output()
        .expect("run sync-server")
}

#[test]
fn serve_refuses_a_missing_exposed_misplaced_or_foreign_key_file_in_one_line() {
    use std::os::unix::fs::PermissionsExt as _;

    let install = crate::cli::Install::new();
    let dir = install.path();
    let keys = crate::cli::key_file(dir);
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    // The database is made with the right keys first.
    success(&crate::cli::run(
        dir,
        &["enroll-code", "--village", "石门村"],
    ));

    let missing = dir.with_file_name("no-such-keys.json");
    let line = failure(&run_with_keys(dir, &missing, &serve));
    assert!(
        line.contains("does not exist") && line.contains("sync-server keys init"),
        "{line}"
    );

    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = failure(&run_with_keys(dir, &keys, &serve));
    assert!(
        line.contains("mode 644") && line.contains("chmod 600"),
        "{line}"
    );
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();

    let inside = dir.join("keys.json");
    std::fs::copy(&keys, &inside).unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
    let line = failure(&run_with_keys(dir, &inside, &serve));
    assert!(line.contains("inside the data directory"), "{line}");

    let foreign = dir.with_file_name("other-keys.json");
    success(&run_with_keys(dir, &foreign, &["keys", "init"]));
    let line = failure(&run_with_keys(dir, &foreign, &serve));
    assert!(
        line.contains("does not belong to this database") && line.contains("--key-file"),
        "{line}"
    );
    let line = failure(&run_with_keys(dir, &foreign, &["keys", "init"]));
    assert!(line.contains("refusing to overwrite"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reseals_every_value_under_a_new_key_and_the_old_one_can_go() {
    let install = crate::cli::Install::new();
    let dir = install.path();
    let keys = crate::cli::key_file(dir);
    let before_rotation = dir.with_file_name("keys-before.json");
    std::fs::copy(&keys, &before_rotation).unwrap();
    let serving = crate::cli::Serving::start(dir);
    let code: serde_json::Value = serde_json::from_str(&success(&crate::cli::run(
        dir,
        &["enroll-code", "--village", "石门村", "--json"],
    )))
    .unwrap();
    let kiosk = crate::common::enroll_with_code(&serving.url, code["code"].as_str().unwrap()).await;
    let sent = application(kiosk.number(), 1, ID_NUMBER);
    upload(&kiosk, vec![sent.clone()]).await;

    let line = failure(&crate::cli::run(dir, &["keys", "rotate"]));
    assert!(line.contains("stop it first"), "{line}");
    assert!(serving.stop().success());

    let rotated = success(&crate::cli::run(dir, &["keys", "rotate"]));
    assert!(
        rotated.contains("at-rest key 2 added") && rotated.contains("keys drop 1"),
        "{rotated}"
    );
    let conn = rusqlite::Connection::open(dir.join(sync_server::data_dir::DB_FILE)).unwrap();
    let not_under_2: i64 = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM submissions WHERE body NOT LIKE '$s1$2$%')
                  + (SELECT COUNT(*) FROM status_changes
                     WHERE note IS NOT NULL AND note NOT LIKE '$s1$2$%')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(not_under_2, 0, "every value re-sealed under the new key");
    drop(conn);

    let line = failure(&crate::cli::run(dir, &["keys", "drop", "2"]));
    assert!(line.contains("is the newest"), "{line}");
    success(&crate::cli::run(dir, &["keys", "drop", "1"]));
    let listed: serde_json::Value =
        serde_json::from_str(&success(&crate::cli::run(dir, &["keys", "list", "--json"]))).unwrap();
    assert_eq!(listed["at_rest"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["at_rest"][0]["id"], 2);

    let shown: serde_json::Value = serde_json::from_str(&success(&crate::cli::run(
        dir,
        &["submissions", "show", &sent.receipt_number, "--json"],
    )))
    .unwrap();
    assert_eq!(
        shown["submission"]["applicant"]["name"], NAME,
        "opened with the new key alone: {shown}"
    );
    let line = failure(&run_with_keys(
        dir,
        &before_rotation,
        &["submissions", "list"],
    ));
    assert!(
        line.contains("does not belong to this database") && line.contains("key 2"),
        "the old key file no longer opens the database: {line}"
    );
}

// ── sealed by the booth ──────────────────────────────────────────────────────────────────

#[tokio::test]
async fn a_submission_sealed_on_the_booth_lands_opened_and_a_foreign_seal_is_invalid() {
    let (server, kiosk) = county().await;
    let enrolled_key = kiosk
        .enrolled
        .county_key
        .clone()
        .expect("the enrollment answer carries the county key");
    assert_eq!(&enrolled_key, server.state.county().public_key());
    let heartbeat: sync_protocol::heartbeat::HeartbeatResponse = kiosk
        .post_json(
            paths::HEARTBEAT,
            &sync_protocol::heartbeat::Heartbeat {
                queue_depth: 0,
                oldest_pending_age_s: None,
                quarantined: 0,
                devices: Default::default(),
                app_version: "test".into(),
                disk_free_bytes: 1,
                uptime_s: 1,
                clock_offset_ms: 0,
                update: None,
            },
        )
        .await
        .json()
        .await
        .expect("heartbeat answer");
    assert_eq!(heartbeat.county_key.as_ref(), Some(&enrolled_key));

    let plain = application(kiosk.number(), 1, ID_NUMBER);
    let mut sealed = plain.clone();
    sealed.seal_personal(&enrolled_key);
    let mut foreign = application(kiosk.number(), 2, ID_NUMBER);
    foreign.seal_personal(sync_protocol::personal::CountySecret::from_seed(&[1; 32]).public_key());
    let mut both = application(kiosk.number(), 3, ID_NUMBER);
    both.seal_personal(&enrolled_key);
    both.contact_phone = Some(PHONE.into());
    let old_booth = submission(kiosk.number(), 4);
    let response = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![sealed.clone(), foreign, both, old_booth.clone()],
            },
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: BatchResponse = response.json().await.expect("batch response");
    let outcomes: Vec<Outcome> = answer.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Accepted,
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Accepted
        ],
        "{answer:?}"
    );
    assert!(
        answer.results[1]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("does not open")),
        "{answer:?}"
    );

    let stored = server
        .store()
        .find_submission(&SubmissionRef::Id(sealed.id))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.submission, plain,
        "opened into exactly what the booth had"
    );
    let again = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![plain.clone()],
            },
        )
        .await;
    let again: BatchResponse = again.json().await.expect("batch response");
    assert_eq!(
        again.results[0].outcome,
        Outcome::Duplicate,
        "the digest is over the opened content: the same content in the clear is a retry"
    );
    let mut changed = plain;
    changed.contact_phone = Some("13900000000".into());
    changed.seal_personal(&enrolled_key);
    let changed: BatchResponse = kiosk
        .post_json(
            paths::SUBMISSIONS,
            &BatchRequest {
                submissions: vec![changed],
            },
        )
        .await
        .json()
        .await
        .expect("batch response");
    assert_eq!(changed.results[0].outcome, Outcome::Conflict);
    assert_eq!(
        found_in(&file_bytes(server.data_dir()), &SECRETS),
        Vec::<String>::new()
    );
}
