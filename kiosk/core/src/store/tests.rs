//! Tests that need the store's own connection: a full disk is simulated with
//! `PRAGMA max_page_count`, which makes SQLite fail a growing write with `SQLITE_FULL`
//! exactly as it does when the file system returns ENOSPC (the same error code and the same
//! rollback path), on a real file.

use chrono::Utc;
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CatalogItem, Feed, FeedPage, IdentityNeed, Office, TimeLimit};
use sync_protocol::submission::{ItemResult, Outcome, SubmissionKind};

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
            server_pin: None,
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
        review_levels: 3,
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

const HOLDER_ID: &str = "45090219800101002X";

/// A rating handed in with the card read: the number reaches the store only as
/// `holder_id_number`, so any clear copy in the file would have come from the holder key.
fn rated_by(id_number: &str) -> NewSubmission {
    NewSubmission {
        rating: Some(4),
        item_code: Some("PEN-001".into()),
        holder_id_number: Some(id_number.into()),
        ..NewSubmission::new(SubmissionKind::Evaluation)
    }
}

fn file_contains(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

#[test]
fn a_card_finds_only_its_own_receipts_and_the_number_is_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let first = store.submit(rated_by(HOLDER_ID)).unwrap();
    store.submit(long_complaint()).unwrap();
    let other = store.submit(rated_by("450902198001010036")).unwrap();
    // Typed with a lowercase x: the same card.
    let second = store.submit(rated_by(&HOLDER_ID.to_lowercase())).unwrap();

    let mine: Vec<String> = store
        .receipts_for_holder(HOLDER_ID)
        .unwrap()
        .into_iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(
        mine,
        [second.number.to_string(), first.number.to_string()],
        "newest first"
    );
    let theirs = store.receipts_for_holder("450902198001010036").unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].number, other.number.to_string());
    assert!(
        store
            .receipts_for_holder("110101199003070011")
            .unwrap()
            .is_empty()
    );

    // Acknowledged and minimised: the card still finds it (statuses come after the upload).
    store
        .record_results(
            &[ItemResult {
                id: first.id,
                outcome: Outcome::Accepted,
                message: None,
                code: None,
                received_at: Some(Utc::now()),
            }],
            Utc::now(),
        )
        .unwrap();
    assert_eq!(store.receipts_for_holder(HOLDER_ID).unwrap().len(), 2);

    // Checkpoint so the WAL's content is in the main file too; both are searched.
    store
        .conn
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    for needle in [
        HOLDER_ID,
        "45090219800101002x",
        "450902198001010036",
        "19800101",
    ] {
        assert!(
            !file_contains(dir.path(), needle.as_bytes()),
            "`{needle}` is in the data directory in clear"
        );
    }
    let debug = format!("{:?}", rated_by(HOLDER_ID));
    assert!(!debug.contains("450902"), "{debug}");

    // Another store on the same directory uses the same secret.
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.receipts_for_holder(HOLDER_ID).unwrap().len(), 2);
}

#[test]
fn without_a_secret_no_card_finds_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store.submit(long_complaint()).unwrap();
    assert!(store.receipts_for_holder(HOLDER_ID).unwrap().is_empty());
    assert!(!dir.path().join(HOLDER_SECRET_FILE).exists());
    store.submit(rated_by(HOLDER_ID)).unwrap();
    assert!(dir.path().join(HOLDER_SECRET_FILE).exists());
    // Forgetting the secret forgets which card handed in what.
    drop(store);
    std::fs::remove_file(dir.path().join(HOLDER_SECRET_FILE)).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.receipts_for_holder(HOLDER_ID).unwrap().is_empty());
}

#[test]
fn the_status_history_keeps_every_change_once() {
    use sync_protocol::feed::{StatusChange, SubmissionStatus};
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(rated_by(HOLDER_ID)).unwrap();
    let number = receipt.number.to_string();
    assert!(store.status_history(&number).unwrap().is_empty());

    let received_at = Utc::now() - chrono::TimeDelta::hours(3);
    store
        .record_results(
            &[ItemResult {
                id: receipt.id,
                outcome: Outcome::Accepted,
                message: None,
                code: None,
                received_at: Some(received_at),
            }],
            Utc::now(),
        )
        .unwrap();
    let change = |status, note: Option<&str>, hours_ago| StatusChange {
        submission_id: receipt.id,
        receipt_number: number.clone(),
        status,
        note: note.map(Into::into),
        changed_at: Utc::now() - chrono::TimeDelta::hours(hours_ago),
        materials: Vec::new(),
    };
    let received = StatusChange {
        changed_at: received_at,
        ..change(SubmissionStatus::Received, None, 0)
    };
    let accepted = change(SubmissionStatus::Accepted, None, 2);
    let correction = change(SubmissionStatus::NeedsCorrection, Some("请带户口本原件"), 1);
    let page = |items: Vec<StatusChange>, cursor: &str| FeedPage {
        items,
        cursor: cursor.into(),
        more: false,
    };
    store
        .apply_status_page(&page(vec![received, accepted.clone()], "c1"))
        .unwrap();
    // A retried fetch repeats a change.
    store
        .apply_status_page(&page(vec![accepted, correction], "c2"))
        .unwrap();

    let history = store.status_history(&number).unwrap();
    let statuses: Vec<_> = history.iter().map(|h| h.status).collect();
    assert_eq!(
        statuses,
        [
            SubmissionStatus::Received,
            SubmissionStatus::Accepted,
            SubmissionStatus::NeedsCorrection
        ]
    );
    assert_eq!(history[2].note.as_deref(), Some("请带户口本原件"));
    let latest = store.receipt(&number).unwrap().unwrap();
    assert_eq!(latest.status, Some(SubmissionStatus::NeedsCorrection));
}

#[test]
fn materials_by_phone_keep_the_token_for_the_receipt_and_send_only_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store
        .submit(NewSubmission {
            item_code: Some("GX-GA-001".into()),
            phone_upload: true,
            ..NewSubmission::new(SubmissionKind::Application)
        })
        .unwrap();
    let token = receipt.phone_upload_token.clone().expect("a token made");
    assert!(sync_protocol::phone_upload::is_token(&token), "{token}");

    let due = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(
        due[0].phone_upload.as_deref(),
        Some(sync_protocol::phone_upload::token_hash(&token).as_str()),
        "the county gets the hash, signed with the submission"
    );
    let kept = store.receipt(&receipt.number.to_string()).unwrap().unwrap();
    assert_eq!(kept.phone_upload_token, Some(token), "for a reprint");

    // Without the phone, nothing of the kind.
    let plain = store.submit(long_complaint()).unwrap();
    assert_eq!(plain.phone_upload_token, None);
    let due = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(due[1].phone_upload, None);
}
