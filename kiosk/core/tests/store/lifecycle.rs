//! Creating, migrating and reopening the store; identity and settings; concurrent writers.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use kiosk_core::store::{DB_FILE, Store, StoreError};
use sync_protocol::feed::{Feed, FeedPage};

use crate::{complaint, enrolled, identity, raw};

#[test]
fn a_new_data_directory_gets_the_current_schema_privately() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("var/lib/kiosk");
    let store = Store::open(&data).unwrap();
    assert_eq!(store.identity().unwrap(), None);
    assert_eq!(store.queue_stats(Utc::now()).unwrap().depth(), 0);
    assert!(!store.checked_after_unclean_shutdown());
    drop(store);

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory is private");
    assert_eq!(mode(&data.join(DB_FILE)), 0o600, "the database is private");

    let conn = raw(&data);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 8);
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let tables: BTreeSet<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in [
        "identity",
        "settings",
        "submissions",
        "receipts",
        "catalog",
        "notices",
        "feed_cursors",
        "discard_audit",
        "open_sessions",
        "status_history",
        "files",
    ] {
        assert!(tables.contains(table), "missing table {table}: {tables:?}");
    }
    let open_sessions: i64 = conn
        .query_row("SELECT count(*) FROM open_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(open_sessions, 0, "a clean close removes its session row");
    drop(conn);

    let again = Store::open(&data).unwrap();
    assert!(!again.checked_after_unclean_shutdown());
}

#[test]
fn a_database_from_a_newer_kiosk_is_refused_not_downgraded() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    raw(dir.path())
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::TooNew {
                found: 99,
                known: 8,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("update the kiosk software"),
        "{error}"
    );
}

/// A booth updated from schema 2 keeps each receipt's latest status as the first line of its
/// history, and its old receipts (handed in before holder keys existed) match no card.
/// Schema 5 adds the server's certificate pin beside its address: a booth enrolled before
/// keeps its identity, unpinned, and a pin stored since reads back whole.
#[test]
fn migrating_from_schema_4_keeps_the_identity_without_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let before = enrolled(dir.path()).identity().unwrap().unwrap();
    raw(dir.path())
        .execute_batch(
            "ALTER TABLE receipts DROP COLUMN status_materials;
             ALTER TABLE status_history DROP COLUMN materials;
             ALTER TABLE submissions DROP COLUMN supplement_to;
             ALTER TABLE submissions DROP COLUMN phone_upload_token;
             DROP TABLE files;
             ALTER TABLE identity DROP COLUMN server_pin;
             PRAGMA user_version = 4;",
        )
        .unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.identity().unwrap(), Some(before.clone()));
    assert_eq!(before.server_pin, None);
    let pinned = kiosk_core::store::Identity {
        server_url: "https://10.0.0.5:8443".into(),
        server_pin: Some(
            "sha256:3f2a9c0177be0d4e11223344556677889900aabbccddeeff0123456789abcdef"
                .parse()
                .unwrap(),
        ),
        ..before
    };
    store.set_identity(&pinned).unwrap();
    assert_eq!(store.identity().unwrap(), Some(pinned));
}

#[test]
fn migrating_from_schema_2_seeds_the_status_history() {
    use sync_protocol::feed::{StatusChange, SubmissionStatus};
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(complaint("路灯坏了")).unwrap();
    let number = receipt.number.to_string();
    let changed_at = Utc::now() - TimeDelta::hours(1);
    store
        .apply_status_page(&FeedPage {
            items: vec![StatusChange {
                submission_id: receipt.id,
                receipt_number: number.clone(),
                status: SubmissionStatus::Accepted,
                note: Some("已转交".into()),
                changed_at,
                materials: Vec::new(),
            }],
            cursor: "s1".into(),
            more: false,
        })
        .unwrap();
    drop(store);
    // Back to what schema 2 had: no history table, no holder column, no sealed column.
    raw(dir.path())
        .execute_batch(
            "ALTER TABLE receipts DROP COLUMN status_materials;
             ALTER TABLE submissions DROP COLUMN supplement_to;
             ALTER TABLE submissions DROP COLUMN phone_upload_token;
             DROP TABLE files;
             ALTER TABLE identity DROP COLUMN server_pin;
             ALTER TABLE submissions DROP COLUMN sealed_json;
             DROP TABLE status_history;
             DROP INDEX receipts_by_holder;
             ALTER TABLE receipts DROP COLUMN holder_key;
             PRAGMA user_version = 2;",
        )
        .unwrap();

    let store = Store::open(dir.path()).unwrap();
    let history = store.status_history(&number).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status, SubmissionStatus::Accepted);
    assert_eq!(history[0].note.as_deref(), Some("已转交"));
    assert_eq!(
        history[0].changed_at.timestamp_micros(),
        changed_at.timestamp_micros()
    );
    assert!(
        store
            .receipts_for_holder(crate::ID_NUMBER)
            .unwrap()
            .is_empty()
    );
}

/// Schema 7 keeps the materials a correction names, beside the receipt's status and in its
/// history, and what a queued supplement completes: a booth's statuses from before read back
/// without materials, and a correction applied since keeps them.
#[test]
fn migrating_from_schema_6_keeps_every_status_and_adds_correction_materials() {
    use sync_protocol::feed::{CorrectionMaterial, StatusChange, SubmissionStatus};
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(crate::application()).unwrap();
    let number = receipt.number.to_string();
    let change = |status, note: &str, hours_ago, materials| StatusChange {
        submission_id: receipt.id,
        receipt_number: number.clone(),
        status,
        note: Some(note.into()),
        changed_at: Utc::now() - TimeDelta::hours(hours_ago),
        materials,
    };
    let page = |items| FeedPage {
        items,
        cursor: "s".into(),
        more: false,
    };
    store
        .apply_status_page(&page(vec![change(
            SubmissionStatus::NeedsCorrection,
            "请补正材料：户口簿",
            3,
            Vec::new(),
        )]))
        .unwrap();
    drop(store);
    raw(dir.path())
        .execute_batch(
            "ALTER TABLE receipts DROP COLUMN status_materials;
             ALTER TABLE status_history DROP COLUMN materials;
             ALTER TABLE submissions DROP COLUMN supplement_to;
             ALTER TABLE submissions DROP COLUMN phone_upload_token;
             PRAGMA user_version = 6;",
        )
        .unwrap();

    let mut store = Store::open(dir.path()).unwrap();
    let shown = store.receipt(&number).unwrap().unwrap();
    assert_eq!(shown.status, Some(SubmissionStatus::NeedsCorrection));
    assert_eq!(shown.status_note.as_deref(), Some("请补正材料：户口簿"));
    assert!(shown.correction_materials.is_empty());
    assert!(
        store.status_history(&number).unwrap()[0]
            .materials
            .is_empty()
    );
    let named = vec![CorrectionMaterial {
        index: 1,
        name: "居民户口簿".into(),
    }];
    store
        .apply_status_page(&page(vec![change(
            SubmissionStatus::NeedsCorrection,
            "请补正以下材料：居民户口簿。原因：看不清",
            1,
            named.clone(),
        )]))
        .unwrap();
    assert_eq!(
        store
            .receipt(&number)
            .unwrap()
            .unwrap()
            .correction_materials,
        named
    );
}

#[test]
fn the_identity_and_settings_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store.set_clock_offset_ms(-1234).unwrap();
    store
        .set_retention_after_ack(Duration::from_secs(3600))
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.identity().unwrap(), Some(identity(7)));
    assert_eq!(store.clock_offset_ms().unwrap(), -1234);
    assert_eq!(
        store.retention_after_ack().unwrap(),
        Duration::from_secs(3600)
    );
}

#[test]
fn a_kiosk_number_too_large_for_receipts_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let too_big = sync_protocol::receipt::MAX_KIOSK_NUMBER + 1;
    let error = store.set_identity(&identity(too_big)).unwrap_err();
    assert!(matches!(error, StoreError::KioskNumberOutOfRange(n) if n == too_big));
    assert_eq!(store.identity().unwrap(), None);
}

#[test]
fn re_enrolling_resets_the_feeds_that_belonged_to_the_old_identity() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store
        .apply_notice_page(&FeedPage {
            items: vec![],
            cursor: "n1".into(),
            more: false,
        })
        .unwrap();
    store
        .apply_status_page(&FeedPage {
            items: vec![],
            cursor: "s1".into(),
            more: false,
        })
        .unwrap();
    // Same server, new kiosk id: only its own status feed starts over.
    let mut new_kiosk = identity(8);
    new_kiosk.server_id = "server-a".into();
    store.set_identity(&new_kiosk).unwrap();
    assert_eq!(
        store.feed_cursor(Feed::Notices).unwrap().as_deref(),
        Some("n1")
    );
    assert_eq!(store.feed_cursor(Feed::Statuses).unwrap(), None);
    // A different server install: every feed starts over.
    let mut other_server = identity(9);
    other_server.server_id = "server-b".into();
    store.set_identity(&other_server).unwrap();
    assert_eq!(store.feed_cursor(Feed::Notices).unwrap(), None);
    assert_eq!(store.identity().unwrap(), Some(other_server));
}

#[test]
fn submissions_are_stamped_with_the_corrected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let two_days = TimeDelta::days(2);
    store
        .set_clock_offset_ms(two_days.num_milliseconds())
        .unwrap();
    let receipt = store.submit(complaint("路灯坏了")).unwrap();
    let expected = Utc::now() + two_days;
    // Generous: only the sign and size of the offset matter, not the machine's speed.
    assert!(
        (receipt.created_at - expected).abs() < TimeDelta::hours(1),
        "{} vs {expected}",
        receipt.created_at
    );
    // A booth whose clock runs behind still finds its new items due.
    assert_eq!(store.due_submissions(Utc::now(), 10).unwrap().len(), 1);
}

#[test]
fn the_store_can_move_to_a_worker_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let worker = std::thread::spawn(move || store.submit(complaint("x")).map(|r| r.seq));
    assert_eq!(worker.join().unwrap().unwrap(), 1);
}

#[test]
fn two_processes_writing_at_once_get_distinct_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    drop(enrolled(dir.path()));
    // Two stores are two connections, as the running app and a technician's CLI would be.
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let data = dir.path().to_owned();
            std::thread::spawn(move || {
                let mut store = Store::open(&data).unwrap();
                (0..40)
                    .map(|i| store.submit(complaint(&format!("#{i}"))).unwrap().seq)
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=80).collect::<Vec<u64>>());
}

/// Schema 8 keeps an application's one-time phone upload token: what a booth queued before
/// reads back without one, and an application made since carries it.
#[test]
fn migrating_from_schema_7_keeps_the_queue_and_adds_phone_upload_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let before = store.submit(crate::application()).unwrap();
    drop(store);
    raw(dir.path())
        .execute_batch(
            "ALTER TABLE submissions DROP COLUMN phone_upload_token;
             PRAGMA user_version = 7;",
        )
        .unwrap();

    let mut store = Store::open(dir.path()).unwrap();
    let kept = store.receipt(&before.number.to_string()).unwrap().unwrap();
    assert_eq!(kept.phone_upload_token, None);
    let due = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(due.len(), 1, "the queued application is still due");
    assert_eq!(due[0].phone_upload, None);
    let by_phone = store
        .submit(kiosk_core::store::NewSubmission {
            phone_upload: true,
            ..crate::application()
        })
        .unwrap();
    assert!(by_phone.phone_upload_token.is_some());
}
