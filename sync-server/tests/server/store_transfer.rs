//! Whole stores moved (`sync_server::store::transfer`): `migrate-store` from SQLite into an
//! empty PostgreSQL store, backups and restores of both, all checked with the same per-table
//! digests; the copy's table list against both schemas; and the commands' refusals.
//!
//! PostgreSQL is the local server the `store_postgres` tests use (a throwaway schema per test,
//! and a throwaway database where a restore needs one).

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use sha2::{Digest as _, Sha256};
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::submission::Submission;
use sync_server::domain::access::{Role, Scope};
use sync_server::domain::calendar::{CalendarDay, DayKind};
use sync_server::domain::fleet::KioskRecord;
use sync_server::domain::ratings::FollowUpStep;
use sync_server::domain::releases::RolloutTargets;
use sync_server::domain::review::ReviewState;
use sync_server::key_file::{KeyFile, KeyLock};
use sync_server::store::conformance::ratings::{catalog_item, evaluation};
use sync_server::store::conformance::releases::new_release;
use sync_server::store::conformance::{enroll, new_code, submission, t0};
use sync_server::store::postgres::PostgresStore;
use sync_server::store::postgres::testing::{DEFAULT_URL, TestSchema};
use sync_server::store::ratings::FollowUpWrite;
use sync_server::store::releases::NewRollout;
use sync_server::store::review::{ReviewActionRecord, ReviewUpdate};
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::SqliteStore;
use sync_server::store::staff::{AuditEntry, NewSession, NewStaffUser};
use sync_server::store::transfer::backup::{self, PgTools};
use sync_server::store::transfer::postgres_target::{PostgresTarget, digest_postgres};
use sync_server::store::transfer::sqlite_source::{SqliteSource, digest_sqlite};
use sync_server::store::transfer::{TableDigest, TransferError, migrate_store};
use sync_server::store::{
    IngestItem, IngestOutcome, NewNotice, ReleaseStore as _, StaffStore as _, Store, StoreError,
    SubmissionRef,
};
use uuid::Uuid;

use crate::cli::{Install, key_file, run, stdout_of};

/// One ring for the whole file: stores made with it open each other's sealed values.
fn keys() -> Arc<KeyRing> {
    static KEYS: std::sync::LazyLock<Arc<KeyRing>> =
        std::sync::LazyLock::new(|| Arc::new(KeyRing::generate()));
    Arc::clone(&KEYS)
}

fn sqlite_in(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("server.sqlite3"), keys()).expect("open SQLite")
}

// ── filling a store through the trait ──

/// What [`fill`] left, to ask two stores the same questions.
struct Filled {
    kiosk: KioskRecord,
    submission: Uuid,
}

async fn ingest(store: &dyn Store, kiosk: &KioskRecord, sent: &Submission, minutes: i64) {
    let outcomes = store
        .ingest(
            &kiosk.kiosk_id,
            vec![IngestItem {
                submission: sent.clone(),
                content_digest: sent.content_digest(),
            }],
            t0() + Duration::minutes(minutes),
        )
        .await
        .expect("ingest");
    assert!(matches!(outcomes[..], [IngestOutcome::Accepted { .. }]));
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// A row in every table, written as the server writes them: kiosks (one replaced by a
/// heartbeat's booth), used and unused codes, submissions with sealed bodies, status changes
/// with sealed notes, review actions with a sealed comment (one naming materials), a
/// supplement, a bad rating's follow-up, the
/// catalogue, a guide draft, a notice, staff, a session, the calendar, a release and a
/// rollout, and the audit lines all of these wrote.
async fn fill(store: &dyn Store) -> Filled {
    let kiosk = enroll(store, "义江村", 1).await;
    let other = enroll(store, "龙洞村", 2).await;
    new_code(store, "石门村").await;
    store
        .touch_kiosk(&kiosk.kiosk_id, t0() + Duration::minutes(1))
        .await
        .unwrap();
    store
        .import_catalog(vec![catalog_item("GX-MZ-001", "临时救助")], t0())
        .await
        .unwrap();

    let mut sent = Vec::new();
    for seq in 1..=5 {
        let mut one = submission(kiosk.kiosk_number, seq);
        // Two pages listed, one of them uploaded whole: every column of the file list.
        one.attachments = vec![
            sync_server::store::conformance::attachments::page(&[seq as u8, 1], 0, 1),
            sync_server::store::conformance::attachments::page(&[seq as u8, 2], 0, 2),
        ];
        ingest(store, &kiosk, &one, seq as i64).await;
        let uploaded = &one.attachments[0].sha256;
        store
            .advance_upload(&kiosk.kiosk_id, uploaded, 0, 1000)
            .await
            .unwrap();
        store
            .finish_upload(&kiosk.kiosk_id, uploaded, 1, t0())
            .await
            .unwrap();
        sent.push(one);
    }
    for (n, one) in sent.iter().take(4).enumerate() {
        store
            .set_status(
                &SubmissionRef::Id(one.id),
                SubmissionStatus::NeedsCorrection,
                Some(format!("请带户口本原件 {n}")),
                t0() + Duration::hours(1),
            )
            .await
            .unwrap()
            .expect("known submission");
    }

    let reviewed = &sent[4];
    let at = t0() + Duration::hours(2);
    let state = store
        .review_item(&SubmissionRef::Id(reviewed.id), &Scope::All)
        .await
        .unwrap()
        .expect("in scope")
        .state;
    store
        .apply_review(ReviewUpdate {
            submission_id: reviewed.id,
            next: ReviewState {
                status: SubmissionStatus::Accepted,
                levels: Some(1),
                accepted_at: Some(at),
                due_on: Some(day("2026-03-13")),
                ..state.clone()
            },
            expected: state,
            villager_note: Some("已受理".into()),
            action: ReviewActionRecord {
                stage: 1,
                actor: "li".into(),
                action: "accept".into(),
                comment: "材料齐全，已电话联系李秀英".into(),
                at,
                materials: Vec::new(),
            },
            audit: AuditEntry::new(at, "li", "review.accept")
                .target(reviewed.receipt_number.clone()),
        })
        .await
        .unwrap()
        .expect("applied");
    // A correction naming a material (the action's and the change's materials), and a
    // supplement from another booth answering it (a case's link, the arrival's entry).
    let accepted = store
        .review_item(&SubmissionRef::Id(reviewed.id), &Scope::All)
        .await
        .unwrap()
        .expect("in scope")
        .state;
    let asked = at + Duration::minutes(5);
    let materials = vec![sync_protocol::feed::CorrectionMaterial {
        index: 0,
        name: "居民身份证".into(),
    }];
    store
        .apply_review(ReviewUpdate {
            submission_id: reviewed.id,
            next: ReviewState {
                status: SubmissionStatus::NeedsCorrection,
                suspended_at: Some(asked),
                ..accepted.clone()
            },
            expected: accepted,
            villager_note: Some("请补正以下材料：居民身份证。原因：看不清".into()),
            action: ReviewActionRecord {
                stage: 1,
                actor: "li".into(),
                action: "request_correction".into(),
                comment: "看不清".into(),
                at: asked,
                materials,
            },
            audit: AuditEntry::new(asked, "li", "review.request_correction")
                .target(reviewed.receipt_number.clone()),
        })
        .await
        .unwrap()
        .expect("applied");
    let mut supplement = submission(other.kiosk_number, 2);
    supplement.applicant = None;
    supplement.fields.clear();
    supplement.contact_phone = None;
    supplement.supplement_to = Some(reviewed.id);
    supplement.attachments = vec![sync_server::store::conformance::attachments::page(
        b"again", 0, 1,
    )];
    ingest(store, &other, &supplement, 20).await;

    let bad = evaluation(other.kiosk_number, 1, 1, Some("GX-MZ-001"));
    ingest(store, &other, &bad, 30).await;
    let step = FollowUpStep::Call {
        at: t0() + Duration::hours(3),
        note: "等太久了".into(),
    };
    store
        .record_follow_up(FollowUpWrite {
            receipt_number: bad.receipt_number.clone(),
            scope: Scope::All,
            now: t0() + Duration::hours(3),
            actor: "li".into(),
            audit: AuditEntry::new(t0() + Duration::hours(3), "li", step.audit_action())
                .target(bad.receipt_number.clone()),
            step,
        })
        .await
        .unwrap()
        .expect("recorded");

    store
        .create_user(
            NewStaffUser {
                username: "li".into(),
                display_name: "李".into(),
                role: Role::Handler,
                scope: Scope::All,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            },
            t0(),
            AuditEntry::new(t0(), "cli", "account.create").target("li"),
        )
        .await
        .unwrap()
        .expect("created");
    store
        .open_session(
            NewSession {
                token_hash: "ab".repeat(32),
                username: "li".into(),
                csrf_token: "csrf".into(),
                now: t0(),
                expires_at: t0() + Duration::hours(8),
                remote: Some("10.0.0.7".into()),
            },
            AuditEntry::new(t0(), "li", "login.ok").remote(Some("10.0.0.7".into())),
        )
        .await
        .unwrap();
    store
        .set_calendar_day(
            CalendarDay {
                day: day("2026-04-06"),
                kind: DayKind::Holiday,
                name: "清明节".into(),
            },
            AuditEntry::new(t0(), "wang", "calendar.set").target("2026-04-06"),
        )
        .await
        .unwrap();
    store
        .create_guide(
            catalog_item("GX-MZ-002", "医疗救助"),
            AuditEntry::new(t0(), "wang", "guide.create").target("GX-MZ-002"),
        )
        .await
        .unwrap()
        .expect("drafted");
    store
        .create_notice(
            NewNotice {
                title: "停电通知".into(),
                body: "周六上午停电检修".into(),
                published_on: day("2026-03-01"),
                expires_on: None,
                villages: vec!["义江村".into()],
            },
            AuditEntry::new(t0(), "wang", "notice.create"),
        )
        .await
        .unwrap();
    store
        .add_release(
            new_release("1.2.0", 'a'),
            AuditEntry::new(t0(), "county", "release.upload").target("1.2.0"),
        )
        .await
        .unwrap()
        .expect("kept");
    store
        .create_rollout(
            NewRollout {
                version: "1.2.0".parse().expect("version"),
                targets: RolloutTargets {
                    percent: 50,
                    ..RolloutTargets::default()
                },
                failure_threshold: 20,
                created_by: "county".into(),
                created_at: t0(),
            },
            AuditEntry::new(t0(), "county", "rollout.create"),
        )
        .await
        .unwrap()
        .expect("started");
    store
        .append_audit(AuditEntry::new(t0(), "cli", "backup.check").detail("一行"))
        .await
        .unwrap();
    Filled {
        kiosk,
        submission: sent[0].id,
    }
}

/// The fill reaches every table, so a digest compared is never of two empty tables.
fn assert_every_table_has_rows(digests: &[TableDigest]) {
    let empty: Vec<&str> = digests
        .iter()
        .filter(|digest| digest.rows == 0)
        .map(|digest| digest.table)
        .collect();
    assert!(empty.is_empty(), "the fill left tables empty: {empty:?}");
}

fn file_hash(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).expect("read")).into()
}

// ── PostgreSQL helpers ──

fn base_url() -> String {
    std::env::var("SYNC_SERVER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// `url` pointed at database `name`, its query (options) dropped.
fn with_database(url: &str, name: &str) -> String {
    let before_query = url.split('?').next().unwrap_or(url);
    let (server, _) = before_query
        .rsplit_once('/')
        .expect("a database in the URL");
    format!("{server}/{name}")
}

/// The schema a [`TestSchema`]'s URL names.
fn schema_name(schema: &TestSchema) -> String {
    schema
        .url()
        .rsplit_once("search_path%3D")
        .expect("search_path in the URL")
        .1
        .to_owned()
}

/// `url` with `search_path` set to `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    format!("{url}?options=-csearch_path%3D{schema}")
}

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&base_url(), tokio_postgres::NoTls)
        .await
        .expect("reach the tests' PostgreSQL");
    tokio::spawn(connection);
    client
}

/// A database that exists until this is dropped.
struct TestDatabase {
    name: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let name = format!("restore_{}", Uuid::now_v7().simple());
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a database");
        Self { name }
    }

    /// Its URL, in its default schema (`public`).
    fn url(&self) -> String {
        with_database(&base_url(), &self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime: the cleanup gets a thread and a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                admin()
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

// ── the table list against both schemas ──

#[test]
fn every_sqlite_table_and_column_is_in_the_copy_s_list() {
    let dir = tempfile::tempdir().unwrap();
    drop(sqlite_in(dir.path()));
    let path = dir.path().join("server.sqlite3");
    let source = SqliteSource::open(&path).expect("a store of this version");
    assert_eq!(source.schema_differences().unwrap(), Vec::<String>::new());
    drop(source);

    // What a future migration might add without telling the copy: both are named, and a
    // file that has them is refused rather than copied without them.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE widgets (id INTEGER PRIMARY KEY) STRICT;
         ALTER TABLE kiosks ADD COLUMN colour TEXT;",
    )
    .unwrap();
    drop(conn);
    let error = SqliteSource::open(&path).expect_err("refused");
    let TransferError::Schema { detail, .. } = &error else {
        panic!("expected a schema error, got {error}");
    };
    assert!(
        detail.contains("table widgets is not in the copy's list")
            && detail.contains("column kiosks.colour is not in the copy's list"),
        "{detail}"
    );
}

#[tokio::test]
async fn every_postgres_table_and_column_is_in_the_copy_s_list() {
    let schema = TestSchema::create().await;
    drop(schema.open(keys()).await);
    let mut target = PostgresTarget::connect(&schema.url()).await.unwrap();
    assert_eq!(
        target.schema_differences().await.unwrap(),
        Vec::<String>::new()
    );
    target
        .client()
        .batch_execute(
            "CREATE TABLE widgets (id BIGINT PRIMARY KEY);
             ALTER TABLE kiosks ADD COLUMN colour TEXT;",
        )
        .await
        .unwrap();
    let differences = target.schema_differences().await.unwrap();
    assert!(
        differences.contains(&"table widgets is not in the copy's list".to_owned())
            && differences.contains(&"column kiosks.colour is not in the copy's list".to_owned()),
        "{differences:?}"
    );
}

// ── SQLite backup and restore ──

#[tokio::test]
async fn a_sqlite_backup_taken_while_the_store_is_open_restores_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_in(dir.path());
    let filled = fill(&store).await;
    let database = dir.path().join("server.sqlite3");
    let backup_file = dir.path().join("backup.sqlite3");

    // The store stays open, as a running server's does.
    let (db, to) = (database.clone(), backup_file.clone());
    let report = tokio::task::spawn_blocking(move || backup::backup_sqlite(&db, &to))
        .await
        .unwrap()
        .expect("backed up");
    let source = digest_sqlite(&database).unwrap();
    assert_every_table_has_rows(&source);
    assert_eq!(report.tables, source);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&backup_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(matches!(
        backup::backup_sqlite(&database, &backup_file),
        Err(TransferError::BackupExists { .. })
    ));

    let elsewhere = tempfile::tempdir().unwrap();
    let restored_db = elsewhere.path().join("server.sqlite3");
    // A wrong key file is refused before anything is written.
    let wrong = backup::restore_sqlite(&backup_file, &restored_db, Arc::new(KeyRing::generate()));
    assert!(
        matches!(
            wrong,
            Err(TransferError::Store(StoreError::KeysDoNotMatch { .. }))
        ),
        "{wrong:?}"
    );
    assert!(!restored_db.exists());

    let restored = backup::restore_sqlite(&backup_file, &restored_db, keys()).expect("restored");
    assert_eq!(restored.tables, source);
    assert_eq!(digest_sqlite(&restored_db).unwrap(), source);
    let again = backup::restore_sqlite(&backup_file, &restored_db, keys());
    assert!(
        matches!(again, Err(TransferError::DatabaseExists { .. })),
        "{again:?}"
    );

    let reopened = sqlite_in(elsewhere.path());
    let id = SubmissionRef::Id(filled.submission);
    assert_eq!(
        reopened.find_submission(&id).await.unwrap(),
        store.find_submission(&id).await.unwrap(),
        "the sealed body opens"
    );
}

// ── PostgreSQL backup and restore ──

#[tokio::test]
async fn a_postgres_backup_restores_the_same_rows_into_an_empty_schema_of_its_name() {
    let schema = TestSchema::create().await;
    let store = schema.open(keys()).await;
    let filled = fill(&store).await;
    let name = schema_name(&schema);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.pgdump");
    let tools = PgTools::default();

    let report = backup::backup_postgres(&schema.url(), &file, &tools)
        .await
        .expect("dumped");
    let source = digest_postgres(&schema.url()).await.unwrap();
    assert_every_table_has_rows(&source);
    assert_eq!(report.tables, source, "the digests are of what was dumped");
    assert_eq!(report.schema.as_deref(), Some(name.as_str()));

    // A new database where the schema does not exist yet: the dump makes it.
    let database = TestDatabase::create().await;
    let target = in_schema(&database.url(), &name);
    let restored = backup::restore_postgres(&file, &target, keys(), &tools)
        .await
        .expect("restored");
    assert_eq!(restored.tables, source);
    let reopened = PostgresStore::open(&target, keys()).await.unwrap();
    let id = SubmissionRef::Id(filled.submission);
    assert_eq!(
        reopened.find_submission(&id).await.unwrap(),
        store.find_submission(&id).await.unwrap()
    );
    drop(reopened);

    // Never over a store.
    let again = backup::restore_postgres(&file, &target, keys(), &tools).await;
    assert!(
        matches!(again, Err(TransferError::SchemaNotEmpty { .. })),
        "{again:?}"
    );
    // A schema of another name is refused: a dump restores under its own.
    let renamed =
        backup::restore_postgres(&file, &in_schema(&database.url(), "other"), keys(), &tools).await;
    assert!(
        matches!(renamed, Err(TransferError::SchemaName { .. })),
        "{renamed:?}"
    );

    // An empty schema made beforehand is filled as it is.
    let second = TestDatabase::create().await;
    tokio_postgres::connect(&second.url(), tokio_postgres::NoTls)
        .await
        .map(|(client, connection)| {
            tokio::spawn(connection);
            client
        })
        .unwrap()
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .unwrap();
    let restored =
        backup::restore_postgres(&file, &in_schema(&second.url(), &name), keys(), &tools)
            .await
            .expect("restored into the empty schema");
    assert_eq!(restored.tables, source);
}

#[tokio::test]
async fn a_database_s_public_schema_restores_into_a_new_database() {
    let county = TestDatabase::create().await;
    let store = PostgresStore::open(&county.url(), keys()).await.unwrap();
    fill(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.pgdump");
    let tools = PgTools::default();
    let report = backup::backup_postgres(&county.url(), &file, &tools)
        .await
        .expect("dumped");
    assert_eq!(report.schema.as_deref(), Some("public"));

    let fresh = TestDatabase::create().await;
    let restored = backup::restore_postgres(&file, &fresh.url(), keys(), &tools)
        .await
        .expect("restored into the new database's public schema");
    assert_eq!(restored.tables, report.tables);
    assert_eq!(digest_postgres(&county.url()).await.unwrap(), report.tables);
}

#[tokio::test]
async fn pg_dump_missing_or_of_another_major_version_is_refused_by_name() {
    let schema = TestSchema::create().await;
    drop(schema.open(keys()).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.pgdump");

    let nowhere = PgTools {
        dir: Some(dir.path().join("no-such-bin")),
    };
    let missing = backup::backup_postgres(&schema.url(), &file, &nowhere)
        .await
        .expect_err("no pg_dump");
    assert!(
        matches!(missing, TransferError::ToolMissing { .. }),
        "{missing}"
    );
    assert!(
        missing.to_string().contains("postgresql-client-15"),
        "names the client to install: {missing}"
    );

    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("pg_dump");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.9'\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let older = backup::backup_postgres(&schema.url(), &file, &PgTools { dir: Some(bin) })
        .await
        .expect_err("pg_dump 14");
    assert!(
        matches!(older, TransferError::ToolVersion { .. }),
        "{older}"
    );
    assert!(
        older.to_string().contains("must match the server's"),
        "{older}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no file left behind"
    );
}

// ── migrate-store ──

#[tokio::test]
async fn a_migrated_store_verifies_and_serves_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_in(dir.path());
    let filled = fill(&sqlite).await;
    let kiosk_id = filled.kiosk.kiosk_id.clone();
    // A booth that read two changes keeps this cursor.
    let first = sqlite.statuses_page(&kiosk_id, None, 2).await.unwrap();
    assert!(first.more);
    let rest = sqlite
        .statuses_page(&kiosk_id, Some(&first.cursor), 100)
        .await
        .unwrap();
    let id = SubmissionRef::Id(filled.submission);
    let found = sqlite.find_submission(&id).await.unwrap().expect("stored");
    let kiosks = sqlite.list_kiosks().await.unwrap();
    let server_id = sqlite.server_id().await.unwrap();
    let head = sqlite.audit_head().await.unwrap();
    let rollouts = sqlite.list_rollouts().await.unwrap();
    drop(sqlite);

    // A status change number SQLite handed out to a row since gone is never handed out again.
    let database = dir.path().join("server.sqlite3");
    let conn = rusqlite::Connection::open(&database).unwrap();
    let last_seq: i64 = conn
        .query_row("SELECT max(seq) FROM status_changes", [], |row| row.get(0))
        .unwrap();
    conn.execute(
        "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'status_changes'",
        [last_seq + 50],
    )
    .unwrap();
    drop(conn);
    let before = file_hash(&database);

    let schema = TestSchema::create().await;
    let mut copied = Vec::new();
    let report = migrate_store(&database, &schema.url(), keys(), |digest| {
        copied.push(digest.table);
    })
    .await
    .expect("migrated");
    assert_eq!(
        file_hash(&database),
        before,
        "the SQLite file is left as it was"
    );
    assert!(report.verified(), "{report:#?}");
    assert_eq!(copied.len(), report.tables.len());
    assert_every_table_has_rows(
        &report
            .tables
            .iter()
            .map(|check| check.target)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        digest_postgres(&schema.url()).await.unwrap(),
        digest_sqlite(&database).unwrap()
    );
    assert_eq!(
        report.sealed_opened,
        7 + 6 + 3 + 1,
        "seven bodies (a supplement's too), six status notes, three review comments (a \
         supplement's arrival names its receipt), a call note"
    );
    let status_changes = report
        .identities
        .iter()
        .find(|moved| moved.table == "status_changes")
        .unwrap();
    assert_eq!(status_changes.next, last_seq + 51);

    // The same answers from PostgreSQL.
    let store = schema.open(keys()).await;
    assert_eq!(store.server_id().await.unwrap(), server_id);
    assert_eq!(store.find_submission(&id).await.unwrap(), Some(found));
    assert_eq!(store.list_kiosks().await.unwrap(), kiosks);
    assert_eq!(store.audit_head().await.unwrap(), head);
    assert_eq!(store.list_rollouts().await.unwrap(), rollouts);
    assert_eq!(
        store
            .statuses_page(&kiosk_id, Some(&first.cursor), 100)
            .await
            .unwrap(),
        rest,
        "the booth's cursor goes on where it was"
    );

    // And new rows follow the copied ones.
    let change = store
        .set_status(
            &id,
            SubmissionStatus::InReview,
            None,
            t0() + Duration::days(1),
        )
        .await
        .unwrap()
        .expect("known");
    let next = store
        .statuses_page(&kiosk_id, Some(&rest.cursor), 100)
        .await
        .unwrap();
    assert_eq!(next.items, vec![change]);
    assert_eq!(next.cursor, (last_seq + 51).to_string());
    let newcomer = enroll(&store, "石门村", 9).await;
    assert_eq!(newcomer.kiosk_number, 3);
    ingest(&store, &newcomer, &submission(newcomer.kiosk_number, 1), 60).await;
    let rollout = store
        .create_rollout(
            NewRollout {
                version: "1.2.0".parse().unwrap(),
                targets: RolloutTargets {
                    percent: 100,
                    ..RolloutTargets::default()
                },
                failure_threshold: 20,
                created_by: "county".into(),
                created_at: t0(),
            },
            AuditEntry::new(t0(), "county", "rollout.create"),
        )
        .await
        .unwrap()
        .expect("started");
    assert_eq!(rollout.id, rollouts[0].id + 1);
    let verdict = sync_server::store::audit_chain::verify(&store, None)
        .await
        .unwrap();
    assert!(
        matches!(
            verdict,
            sync_server::store::audit_chain::ChainVerdict::Intact { .. }
        ),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_store_with_rows_or_the_wrong_key_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    fill(&sqlite_in(dir.path())).await;
    let database = dir.path().join("server.sqlite3");

    let schema = TestSchema::create().await;
    let wrong = migrate_store(
        &database,
        &schema.url(),
        Arc::new(KeyRing::generate()),
        |_| {},
    )
    .await;
    assert!(
        matches!(
            wrong,
            Err(TransferError::Store(StoreError::KeysDoNotMatch { .. }))
        ),
        "{wrong:?}"
    );
    let target = PostgresTarget::connect(&schema.url()).await.unwrap();
    assert_eq!(
        target.schema_differences().await.unwrap().len(),
        20,
        "nothing was made: every table is missing"
    );

    let store = schema.open(keys()).await;
    enroll(&store, "义江村", 7).await;
    let before = digest_postgres(&schema.url()).await.unwrap();
    let refused = migrate_store(&database, &schema.url(), keys(), |_| {}).await;
    let Err(TransferError::NotEmpty { tables }) = &refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!(tables, "enroll_codes, kiosks");
    assert_eq!(digest_postgres(&schema.url()).await.unwrap(), before);
}

// ── the commands ──

fn stderr_of(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "the command succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn migrate_store_backup_and_restore_run_as_commands() {
    let install = Install::new();
    let dir = install.path();
    let keys = KeyFile::load(&key_file(dir), dir).unwrap().keys().unwrap();
    // Private, as the server's first start leaves it.
    let database = sync_server::data_dir::DataDir::create(dir)
        .unwrap()
        .database();
    let store = SqliteStore::open(&database, keys.ring).unwrap();
    fill(&store).await;
    drop(store);
    let schema = TestSchema::create().await;
    let url = schema.url();

    // Not while something uses the data directory.
    let in_use = KeyLock::shared(dir).unwrap();
    let refused = stderr_of(&run(dir, &["migrate-store", "--to", &url]));
    assert!(refused.contains("stop the server first"), "{refused}");
    drop(in_use);

    let migrated = stdout_of(&run(dir, &["migrate-store", "--to", &url]));
    let table_lines = migrated
        .lines()
        .filter(|line| line.ends_with(" same"))
        .count();
    assert_eq!(table_lines, 20, "{migrated}");
    assert!(
        migrated.contains("audit chain on PostgreSQL: intact"),
        "{migrated}"
    );
    assert!(migrated.contains("\nmigrated: "), "{migrated}");

    let again = run(dir, &["migrate-store", "--to", &url]);
    let error = stderr_of(&again);
    let last = error.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("sync-server: ")
            && last.contains(
                "is not empty (enroll_codes, kiosks, submissions and 16 more tables hold rows)"
            ),
        "the error is its last line, whole: {error}"
    );

    // A SQLite backup while nothing runs, restored into a new data directory with the same
    // key file.
    let backup_file = dir.with_file_name("county.sqlite3");
    let backup_text = backup_file.to_str().unwrap();
    let backed_up = stdout_of(&run(dir, &["backup", "--to", backup_text]));
    assert!(
        backed_up.contains("backed up the SQLite store"),
        "{backed_up}"
    );
    let fresh = Install::new();
    std::fs::copy(key_file(dir), key_file(fresh.path())).unwrap();
    let restored = stdout_of(&run(fresh.path(), &["restore", "--from", backup_text]));
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.starts_with("  "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(rows(&restored), rows(&backed_up), "{restored}");
    assert_eq!(rows(&restored).len(), 20);

    // The PostgreSQL store it was migrated to backs up with pg_dump.
    let dump = dir.with_file_name("county.pgdump");
    let dumped = stdout_of(&run(
        dir,
        &["--store", &url, "backup", "--to", dump.to_str().unwrap()],
    ));
    assert!(dumped.contains("with pg_dump (PostgreSQL) 15"), "{dumped}");
    assert_eq!(
        rows(&dumped),
        rows(&backed_up),
        "one store, two backends, same digests"
    );

    // A backup made before a key rotation restores with the rotated key file (which keeps
    // the old key), and is brought under the new key as it opens.
    stdout_of(&run(dir, &["keys", "rotate"]));
    let later = Install::new();
    std::fs::copy(key_file(dir), key_file(later.path())).unwrap();
    let resealed = stdout_of(&run(later.path(), &["restore", "--from", backup_text]));
    assert!(resealed.contains("re-sealed "), "{resealed}");
}
