use std::collections::BTreeSet;

use chrono::Utc;
use sync_protocol::enroll::Village;
use sync_protocol::submission::SubmissionKind;

use super::*;
use crate::store::{DB_FILE, Identity, NewSubmission, SCHEMA_WRITES, Store};

fn enrolled(dir: &Path) -> Store {
    let mut store = Store::open(dir).unwrap();
    store
        .set_identity(&Identity {
            kiosk_id: "kiosk-7".into(),
            kiosk_number: 7,
            village: Village {
                county: "田东县".into(),
                township: "平马镇".into(),
                village: "青山村".into(),
            },
            server_url: "http://127.0.0.1:9".into(),
            server_id: "server-a".into(),
            enrolled_at: Utc::now(),
            server_pin: None,
        })
        .unwrap();
    store
}

fn complaint(store: &mut Store, text: &str) -> String {
    let receipt = store
        .submit(NewSubmission {
            text: Some(text.to_owned()),
            ..NewSubmission::new(SubmissionKind::Complaint)
        })
        .unwrap();
    receipt.number.to_string()
}

/// Every queued item's (receipt number, text), read through the real store.
fn queued(dir: &Path) -> Vec<(String, String)> {
    let store = Store::open(dir).unwrap();
    let far = Utc::now() + chrono::TimeDelta::days(3650);
    store
        .due_submissions(far, 10_000)
        .unwrap()
        .into_iter()
        .map(|item| (item.receipt_number, item.text.unwrap_or_default()))
        .collect()
}

fn header_version(db: &Path) -> u32 {
    be32(&fs::read(db).unwrap()[USER_VERSION_AT..])
}

#[test]
fn no_database_yet_has_no_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    assert_eq!(schema_on_disk(&db).unwrap(), None);
    fs::write(&db, b"").unwrap();
    assert_eq!(schema_on_disk(&db).unwrap(), None);
    fs::write(&db, b"not a database, not at all, and long enough to have a header ....................................").unwrap();
    assert!(matches!(
        schema_on_disk(&db),
        Err(ClosedError::NotADatabase { .. })
    ));
}

#[test]
fn the_schema_is_read_from_the_log_a_crash_left_as_sqlite_would() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    drop(enrolled(dir.path()));
    assert_eq!(schema_on_disk(&db).unwrap(), Some(SCHEMA_WRITES));

    // A writer that never checkpoints and is still "running": its commits are only in the log.
    let conn = Connection::open(&db).unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch("CREATE TABLE later (x INTEGER); PRAGMA user_version = 41;")
        .unwrap();
    conn.execute_batch("PRAGMA user_version = 42;").unwrap();
    assert_eq!(
        header_version(&db),
        SCHEMA_WRITES,
        "the file itself is unchanged"
    );
    assert_eq!(schema_on_disk(&db).unwrap(), Some(42));

    // A torn last frame (power cut mid-write) is not committed: the commit before it counts.
    let wal = beside(&db, "-wal");
    let mut bytes = fs::read(&wal).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0xff;
    fs::write(&wal, &bytes).unwrap();
    assert_eq!(schema_on_disk(&db).unwrap(), Some(41));
    std::mem::forget(conn);
}

#[test]
fn a_snapshot_is_one_consistent_file_and_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let numbers = [
        complaint(&mut store, "路灯坏了"),
        complaint(&mut store, "水管漏了"),
    ];
    let db = dir.path().join(DB_FILE);
    let wal = beside(&db, "-wal");
    // Taken while the kiosk still has it open, as after a crash: part of it is in the log.
    assert!(wal.exists());
    let before = (fs::read(&db).unwrap(), fs::read(&wal).unwrap());

    let backup_dir = tempfile::tempdir().unwrap();
    let copy = backup_dir.path().join(DB_FILE);
    snapshot(&db, &copy).unwrap();
    assert_eq!(before, (fs::read(&db).unwrap(), fs::read(&wal).unwrap()));
    let names: Vec<_> = fs::read_dir(backup_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [DB_FILE], "one self-contained file");
    drop(store);
    let got: Vec<String> = queued(backup_dir.path())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(got, numbers);

    assert!(matches!(snapshot(&db, &copy), Err(ClosedError::Io { .. })));
}

#[test]
fn a_failed_releases_queue_merges_back_once_and_receipt_numbers_go_on() {
    let live = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = live.path().join(DB_FILE);
    let mut store = enrolled(live.path());
    complaint(&mut store, "before the update 1");
    complaint(&mut store, "before the update 2");
    drop(store);
    let backup = work.path().join("backup.sqlite3");
    snapshot(&db, &backup).unwrap();

    // The new release queues more, then fails.
    let mut store = Store::open(live.path()).unwrap();
    complaint(&mut store, "during the trial 1");
    complaint(&mut store, "during the trial 2");
    complaint(&mut store, "during the trial 3");
    drop(store);
    let failed = work.path().join("failed.sqlite3");
    snapshot(&db, &failed).unwrap();
    let expected = queued(live.path());
    assert_eq!(expected.len(), 5);

    let restored = tempfile::tempdir().unwrap();
    let merged_db = restored.path().join(DB_FILE);
    fs::copy(&backup, &merged_db).unwrap();
    let merged = merge_unsent(&merged_db, &failed).unwrap();
    assert_eq!(merged.submissions, 3);
    assert_eq!(merged.receipts, 3);
    assert_eq!(queued(restored.path()), expected);

    // Merging again adds nothing; the next receipt number is new.
    assert_eq!(
        merge_unsent(&merged_db, &failed).unwrap(),
        Merged::default()
    );
    let mut store = Store::open(restored.path()).unwrap();
    let next = complaint(&mut store, "after the rollback");
    drop(store);
    let all = queued(restored.path());
    let numbers: BTreeSet<&String> = all.iter().map(|(n, _)| n).collect();
    assert_eq!(numbers.len(), 6);
    assert_eq!(all.last().unwrap().0, next);
}

#[test]
fn a_merge_that_would_lose_a_required_column_is_refused_and_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let into_dir = work.path().join("into");
    let mut store = enrolled(&into_dir);
    complaint(&mut store, "kept");
    drop(store);
    let into = into_dir.join(DB_FILE);
    let from = work.path().join("from.sqlite3");
    let conn = Connection::open(&from).unwrap();
    conn.execute_batch("CREATE TABLE submissions (id TEXT PRIMARY KEY, text TEXT);")
        .unwrap();
    drop(conn);
    let before = queued(&into_dir);
    let err = merge_unsent(&into, &from).unwrap_err();
    assert!(
        matches!(
            err,
            ClosedError::Unmergeable {
                table: "submissions",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(queued(&into_dir), before);
}
