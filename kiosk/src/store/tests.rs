//! Tests that need the store's own connection: a full disk is simulated with
//! `PRAGMA max_page_count`, which makes SQLite fail a growing write with `SQLITE_FULL`
//! exactly as it does when the file system returns ENOSPC (the same error code and the same
//! rollback path), on a real file.

use chrono::Utc;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, IdentityNeed, Office, TimeLimit};
use sync_protocol::submission::SubmissionKind;

use super::*;

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
        })
        .unwrap();
    store
}

fn long_complaint() -> NewSubmission {
    NewSubmission {
        text: Some("路灯坏了。".repeat(800)),
        ..NewSubmission::new(SubmissionKind::Complaint)
    }
}

/// Lets the file grow by at most `pages` more pages on this connection.
fn fill_disk_after(store: &Store, pages: u64) {
    let used: u64 = store
        .conn
        .pragma_query_value(None, "page_count", |r| r.get(0))
        .unwrap();
    let _: u64 = store
        .conn
        .pragma_update_and_check(None, "max_page_count", used + pages, |r| r.get(0))
        .unwrap();
}

fn free_disk(store: &Store) {
    let _: u64 = store
        .conn
        .pragma_update_and_check(None, "max_page_count", 1_000_000_000u64, |r| r.get(0))
        .unwrap();
}

#[test]
fn a_full_disk_refuses_the_submission_whole_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let first = store.submit(long_complaint()).unwrap();
    let before = store.queue_stats(Utc::now()).unwrap();

    fill_disk_after(&store, 0);
    let error = store.submit(long_complaint()).unwrap_err();
    assert!(matches!(error, StoreError::DiskFull { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "the booth's disk is full at {}: free space; nothing was saved",
            dir.path().join(DB_FILE).display()
        )
    );
    assert_eq!(store.queue_stats(Utc::now()).unwrap(), before);
    // Reading still works on a full disk.
    assert!(store.receipt(&first.number.to_string()).unwrap().is_some());

    free_disk(&store);
    let next = store.submit(long_complaint()).unwrap();
    assert_eq!(next.seq, 2, "the failed submit used up no number");
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let check: String = store
        .conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (submissions, receipts): (i64, i64) = store
        .conn
        .query_row(
            "SELECT (SELECT count(*) FROM submissions), (SELECT count(*) FROM receipts)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((submissions, receipts), (2, 2), "nothing half written");
}

#[test]
fn a_full_disk_leaves_a_feed_page_and_its_cursor_unapplied() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let item = |code: &str| CatalogItem {
        code: code.into(),
        version: 1,
        name_zh: "城乡居民养老保险待遇申领".repeat(40),
        name_en: "Rural pension claim".into(),
        category: "社会保险".into(),
        legal_basis: "《社会保险法》".repeat(40),
        conditions: vec![],
        materials: vec![],
        steps: vec![],
        time_limit: TimeLimit::OnTheSpot,
        fees: vec![],
        office: Office {
            name: "乡镇社保所".into(),
            address: "镇政府一楼".into(),
            phone: "0776-5550000".into(),
        },
        complaint_phone: "12345".into(),
        identity: IdentityNeed::None,
        form: vec![],
        withdrawn: false,
    };
    let page = FeedPage {
        items: (0..20).map(|i| item(&format!("I{i:02}"))).collect(),
        cursor: "c1".into(),
        more: false,
    };
    fill_disk_after(&store, 1);
    let error = store.apply_catalog_page(&page).unwrap_err();
    assert!(matches!(error, StoreError::DiskFull { .. }), "{error}");
    assert_eq!(store.feed_cursor(Feed::Catalog).unwrap(), None);
    assert!(store.catalog_items().unwrap().is_empty());
    free_disk(&store);
    store.apply_catalog_page(&page).unwrap();
    assert_eq!(store.catalog_items().unwrap().len(), 20);
}

#[test]
fn corruption_noticed_while_open_leaves_the_session_for_the_next_check() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled(dir.path());
    let session = store.session_id.clone().unwrap();
    let corrupt = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        None,
    );
    let error = store.finish::<()>(Err(Fault::Sql(corrupt))).unwrap_err();
    assert!(matches!(error, StoreError::Damaged { .. }), "{error}");
    drop(store);
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM open_sessions WHERE session_id = ?1",
            [session],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 1);
}

/// A long queue must not make every batch slower: the uploader's and the minimiser's queries
/// walk the partial indexes of migration 2 instead of sorting or scanning the table.
#[test]
fn draining_queries_use_their_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = enrolled(dir.path());
    let plan = |sql: &str| -> String {
        let mut statement = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = statement
            .query_map(rusqlite::params!["2026-01-01", 100], |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    let due = plan(&format!("SELECT id {}", outbox::DUE_FROM));
    assert!(
        due.contains("submissions_unacknowledged") && !due.contains("TEMP B-TREE"),
        "{due}"
    );
    let minimise = plan(outbox::MINIMISE_SQL);
    assert!(minimise.contains("submissions_to_minimise"), "{minimise}");
}
