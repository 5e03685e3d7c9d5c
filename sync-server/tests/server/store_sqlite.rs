//! The conformance suite on the SQLite backend, and what is particular to SQLite: several
//! processes on one file (the server and staff commands), migrations, the WAL.

use std::sync::Arc;

use chrono::Utc;
use sync_server::store::conformance::{enroll, submission, t0};
use sync_server::store::sealing::KeyRing;
use sync_server::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use sync_server::store::{
    IngestItem, IngestOutcome, KioskRef, RevokeOutcome, Store, StoreError, SubmissionFilter,
};
use tempfile::TempDir;

/// One ring for the whole test binary: every handle on a file must hold its keys.
fn keys() -> Arc<KeyRing> {
    static KEYS: std::sync::LazyLock<Arc<KeyRing>> =
        std::sync::LazyLock::new(|| Arc::new(KeyRing::generate()));
    Arc::clone(&KEYS)
}

fn open() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("server.sqlite3"), keys()).expect("open store");
    (Arc::new(store), dir)
}

sync_server::store_conformance_tests!(open());
sync_server::ratings_conformance_tests!(open());

mod content {
    use super::open;

    sync_server::content_conformance_tests!(open());
}

mod audit_chain {
    use super::open;

    sync_server::audit_conformance_tests!(open());
}

mod attachments {
    use super::open;

    sync_server::attachment_conformance_tests!(open());
}

mod supplements {
    use super::open;

    sync_server::supplement_conformance_tests!(open());
}

mod phone_uploads {
    use super::open;

    sync_server::phone_upload_conformance_tests!(open());
}

mod paging {
    use super::open;

    sync_server::paging_conformance_tests!(open());
}

mod releases {
    use super::open;

    sync_server::release_conformance_tests!(open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_handle_on_the_file_sees_and_makes_changes_at_once() {
    let (server, dir) = open();
    // What a staff command does while the server runs: its own connections on the same file.
    let staff =
        SqliteStore::open(&dir.path().join("server.sqlite3"), keys()).expect("second handle");
    let kiosk = enroll(server.as_ref(), "石门村", 1).await;
    let by_id = KioskRef::Id(kiosk.kiosk_id.clone());
    assert!(matches!(
        staff.revoke_kiosk(&by_id, Utc::now()).await.unwrap(),
        RevokeOutcome::Revoked(_)
    ));
    assert!(
        server
            .find_kiosk(&by_id)
            .await
            .unwrap()
            .unwrap()
            .is_revoked(),
        "the server reads the staff command's revocation"
    );
    assert_eq!(
        staff.server_id().await.unwrap(),
        server.server_id().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_from_two_handles_all_commit() {
    let (server, dir) = open();
    let staff: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("server.sqlite3"), keys()).expect("second handle"),
    );
    let kiosk = enroll(server.as_ref(), "石门村", 1).await;
    let mut tasks = Vec::new();
    for seq in 1..=60u64 {
        let store = if seq % 2 == 0 {
            Arc::clone(&server)
        } else {
            Arc::clone(&staff)
        };
        let kiosk_id = kiosk.kiosk_id.clone();
        let sent = submission(kiosk.kiosk_number, seq);
        tasks.push(tokio::spawn(async move {
            store
                .ingest(
                    &kiosk_id,
                    vec![IngestItem {
                        content_digest: sent.content_digest(),
                        submission: sent,
                    }],
                    t0(),
                )
                .await
        }));
    }
    for task in tasks {
        let outcomes = task.await.unwrap().expect("every write commits");
        assert!(matches!(outcomes[..], [IngestOutcome::Accepted { .. }]));
    }
    let stored = server
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 60);
}

#[tokio::test]
async fn the_file_is_wal_versioned_and_keeps_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite3");
    let first_id = {
        let store = SqliteStore::open(&path, keys()).unwrap();
        store.server_id().await.unwrap()
    };
    let store = SqliteStore::open(&path, keys()).unwrap();
    assert_eq!(store.server_id().await.unwrap(), first_id);
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);

    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    match SqliteStore::open(&path, keys()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("a newer schema must refuse to open, got {other:?}"),
    }
}
