//! [`AttachmentStore`](crate::store::AttachmentStore): which files a kiosk may upload, the
//! upload's offset moved only from where it is, once, and files completed and restarted.

use std::sync::Arc;

use chrono::Duration;
use sync_protocol::attachment::{AttachmentRef, sha256_hex};

use super::{enroll, submission, t0};
use crate::store::attachments::Advance;
use crate::store::{IngestItem, IngestOutcome, Store};

#[macro_export]
macro_rules! attachment_conformance_tests {
    ($open:expr) => {
        $crate::attachment_conformance_tests!(@each $open;
            a_kiosk_uploads_only_the_files_its_submissions_list,
            an_upload_moves_only_from_where_it_is_and_completes_once,
            concurrent_copies_of_a_chunk_advance_the_upload_once,
            a_restarted_upload_starts_from_nothing
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::attachments::$check(store).await;
            }
        )*
    };
}

/// A listed page of material `material`.
pub fn page(content: &[u8], material: u16, page: u16) -> AttachmentRef {
    AttachmentRef {
        sha256: sha256_hex(content),
        bytes: 1000,
        material,
        material_name: "居民户口簿".into(),
        page,
        sealed: true,
    }
}

fn item(submission: &sync_protocol::submission::Submission) -> IngestItem {
    IngestItem {
        submission: submission.clone(),
        content_digest: submission.content_digest(),
    }
}

/// Kiosk 石门村 with one application listing `files`; its kiosk id.
async fn listed(store: &dyn Store, files: Vec<AttachmentRef>) -> (String, uuid::Uuid) {
    let kiosk = enroll(store, "石门村", 1).await;
    let mut application = submission(kiosk.kiosk_number, 1);
    application.attachments = files;
    let outcome = store
        .ingest(&kiosk.kiosk_id, vec![item(&application)], t0())
        .await
        .unwrap();
    assert!(
        matches!(outcome[..], [IngestOutcome::Accepted { .. }]),
        "{outcome:?}"
    );
    // A retry of the same submission lists nothing twice.
    store
        .ingest(
            &kiosk.kiosk_id,
            vec![item(&application)],
            t0() + Duration::seconds(5),
        )
        .await
        .unwrap();
    (kiosk.kiosk_id, application.id)
}

pub async fn a_kiosk_uploads_only_the_files_its_submissions_list(store: Arc<dyn Store>) {
    let second = page(b"second", 0, 2);
    let first = page(b"first", 0, 1);
    let other_material = page(b"other", 1, 1);
    let (kiosk_id, id) = listed(
        store.as_ref(),
        vec![second.clone(), other_material.clone(), first.clone()],
    )
    .await;
    let files = store.submission_files(id).await.unwrap();
    let order: Vec<_> = files.iter().map(|f| (f.material, f.page)).collect();
    assert_eq!(order, [(0, 1), (0, 2), (1, 1)], "by material, then page");
    assert!(
        files
            .iter()
            .all(|f| f.received == 0 && f.complete_at.is_none() && f.sealed)
    );
    assert_eq!(files[0].sha256, first.sha256);
    assert_eq!(files[0].bytes, 1000);

    let found = store.listed_file(&kiosk_id, &first.sha256).await.unwrap();
    assert_eq!(found.map(|f| f.submission_id), Some(id));
    // Another kiosk, and a name nobody listed: nothing.
    let stranger = enroll(store.as_ref(), "六合村", 2).await;
    assert_eq!(
        store
            .listed_file(&stranger.kiosk_id, &first.sha256)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .advance_upload(&stranger.kiosk_id, &first.sha256, 0, 10)
            .await
            .unwrap(),
        Advance::NotListed
    );
    let unlisted = sha256_hex(b"never listed");
    assert_eq!(store.listed_file(&kiosk_id, &unlisted).await.unwrap(), None);
    assert_eq!(
        store
            .advance_upload(&kiosk_id, &unlisted, 0, 10)
            .await
            .unwrap(),
        Advance::NotListed
    );
}

pub async fn an_upload_moves_only_from_where_it_is_and_completes_once(store: Arc<dyn Store>) {
    let file = page(b"page", 0, 1);
    let (kiosk_id, id) = listed(store.as_ref(), vec![file.clone()]).await;
    let name = &file.sha256;
    assert_eq!(
        store.advance_upload(&kiosk_id, name, 0, 400).await.unwrap(),
        Advance::Advanced { received: 400 }
    );
    // The same chunk again (a retry after a lost answer), and one from a wrong offset.
    assert_eq!(
        store.advance_upload(&kiosk_id, name, 0, 400).await.unwrap(),
        Advance::Elsewhere {
            received: 400,
            complete: false
        }
    );
    assert_eq!(
        store
            .advance_upload(&kiosk_id, name, 800, 1000)
            .await
            .unwrap(),
        Advance::Elsewhere {
            received: 400,
            complete: false
        }
    );
    assert_eq!(
        store
            .advance_upload(&kiosk_id, name, 400, 1000)
            .await
            .unwrap(),
        Advance::Advanced { received: 1000 }
    );
    let done = t0() + Duration::seconds(30);
    let sealed_before = store.count_sealed_with(1).await.unwrap();
    store.finish_upload(&kiosk_id, name, 1, done).await.unwrap();
    assert_eq!(
        store.count_sealed_with(1).await.unwrap(),
        sealed_before + 1,
        "a kept file keeps its at-rest key in use"
    );
    let held = store.listed_file(&kiosk_id, name).await.unwrap().unwrap();
    assert_eq!((held.received, held.complete_at), (1000, Some(done)));
    assert_eq!(
        store
            .advance_upload(&kiosk_id, name, 1000, 1000)
            .await
            .unwrap(),
        Advance::Elsewhere {
            received: 1000,
            complete: true
        }
    );
    let files = store.submission_files(id).await.unwrap();
    assert_eq!(files[0].complete_at, Some(done));
}

pub async fn concurrent_copies_of_a_chunk_advance_the_upload_once(store: Arc<dyn Store>) {
    let file = page(b"page", 0, 1);
    let (kiosk_id, _) = listed(store.as_ref(), vec![file.clone()]).await;
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let (kiosk_id, name) = (kiosk_id.clone(), file.sha256.clone());
            tokio::spawn(async move { store.advance_upload(&kiosk_id, &name, 0, 500).await })
        })
        .collect();
    let mut advanced = 0;
    for attempt in tries {
        match attempt.await.unwrap().unwrap() {
            Advance::Advanced { received: 500 } => advanced += 1,
            Advance::Elsewhere {
                received: 500,
                complete: false,
            } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(advanced, 1, "exactly one copy moves the upload");
}

pub async fn a_restarted_upload_starts_from_nothing(store: Arc<dyn Store>) {
    let file = page(b"page", 0, 1);
    let (kiosk_id, _) = listed(store.as_ref(), vec![file.clone()]).await;
    store
        .advance_upload(&kiosk_id, &file.sha256, 0, 1000)
        .await
        .unwrap();
    store.restart_upload(&kiosk_id, &file.sha256).await.unwrap();
    let file = store
        .listed_file(&kiosk_id, &file.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((file.received, file.complete_at), (0, None));
}
