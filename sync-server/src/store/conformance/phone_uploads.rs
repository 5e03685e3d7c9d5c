//! The one-time phone upload on every backend: an application keeps its token's hash, the
//! hash finds it (and nothing else does), the first upload uses the token and lists its pages
//! as the application's own complete files, after the material's pages, with the history's
//! entry; a second upload, or one past the page cap, changes nothing.

use std::sync::Arc;

use chrono::Duration;
use sync_protocol::attachment::sha256_hex;
use sync_protocol::phone_upload::token_hash;

use super::attachments::page;
use super::{enroll, submission, t0};
use crate::store::attachments::{PhonePage, PhoneUploadOutcome};
use crate::store::{IngestItem, IngestOutcome, PHONE_UPLOAD_ACTION, PHONE_UPLOAD_ACTOR, Store};

#[macro_export]
macro_rules! phone_upload_conformance_tests {
    ($open:expr) => {
        $crate::phone_upload_conformance_tests!(@each $open;
            a_phone_upload_is_found_by_its_hash_and_used_once,
            a_phone_upload_past_the_page_cap_or_unknown_changes_nothing
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::phone_uploads::$check(store).await;
            }
        )*
    };
}

const TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAA";

fn phone_page(content: &[u8], material: u16, name: &str) -> PhonePage {
    PhonePage {
        sha256: sha256_hex(content),
        bytes: content.len() as u64,
        material,
        material_name: name.into(),
        sealed_with: 1,
    }
}

/// An application offering a phone upload under [`TOKEN`], with one booth page of material 0.
async fn offered(store: &dyn Store) -> uuid::Uuid {
    let kiosk = enroll(store, "石门村", 1).await;
    let mut sent = submission(kiosk.kiosk_number, 1);
    sent.attachments = vec![page(b"booth page", 0, 1)];
    sent.phone_upload = Some(token_hash(TOKEN));
    let outcomes = store
        .ingest(
            &kiosk.kiosk_id,
            vec![IngestItem {
                content_digest: sent.content_digest(),
                submission: sent.clone(),
            }],
            t0(),
        )
        .await
        .expect("ingest");
    assert!(matches!(outcomes[..], [IngestOutcome::Accepted { .. }]));
    sent.id
}

pub async fn a_phone_upload_is_found_by_its_hash_and_used_once(store: Arc<dyn Store>) {
    let id = offered(&*store).await;
    let hash = token_hash(TOKEN);
    let slot = store
        .phone_upload_slot(&hash)
        .await
        .expect("look up")
        .expect("the hash finds its application");
    assert_eq!((slot.submission_id, slot.used, slot.pages), (id, None, 1));
    assert_eq!(
        store
            .phone_upload_slot(&token_hash("BAAAAAAAAAAAAAAAAAAAAA"))
            .await
            .expect("look up"),
        None
    );
    // The token's own text is not its hash.
    assert_eq!(store.phone_upload_slot(TOKEN).await.expect("look up"), None);

    let at = t0() + Duration::hours(2);
    let pages = vec![
        phone_page(b"phone 1", 0, "居民户口簿"),
        phone_page(b"phone 2", 2, "收入证明"),
        phone_page(b"phone 3", 2, "收入证明"),
    ];
    assert_eq!(
        store
            .record_phone_upload(&hash, pages.clone(), 40, at)
            .await
            .expect("record"),
        PhoneUploadOutcome::Recorded {
            submission_id: id,
            pages: 3
        }
    );
    let files = store.submission_files(id).await.expect("files");
    let shown: Vec<(u16, u16, bool, Option<_>)> = files
        .iter()
        .map(|f| (f.material, f.page, f.complete_at.is_some(), f.phone_at))
        .collect();
    assert_eq!(
        shown,
        vec![
            (0, 1, false, None),
            (0, 2, true, Some(at)),
            (2, 1, true, Some(at)),
            (2, 2, true, Some(at)),
        ],
        "the phone's pages follow the booth's, complete, marked with the upload's time"
    );
    let phone = files
        .iter()
        .find(|f| f.page == 2 && f.material == 0)
        .expect("page");
    assert_eq!((phone.bytes, phone.received, phone.sealed), (7, 7, false));

    let history = store.review_actions(id).await.expect("history");
    let entry = history.last().expect("an entry");
    assert_eq!(
        (
            entry.action.as_str(),
            entry.actor.as_str(),
            entry.comment.as_str(),
            entry.at
        ),
        (PHONE_UPLOAD_ACTION, PHONE_UPLOAD_ACTOR, "3", at)
    );
    let named: Vec<(u16, &str)> = entry
        .materials
        .iter()
        .map(|m| (m.index, m.name.as_str()))
        .collect();
    assert_eq!(named, vec![(0, "居民户口簿"), (2, "收入证明")]);

    let slot = store
        .phone_upload_slot(&hash)
        .await
        .expect("look up")
        .expect("slot");
    assert_eq!((slot.used, slot.pages), (Some((at, 3)), 4));

    // Used: a second upload changes nothing.
    assert_eq!(
        store
            .record_phone_upload(
                &hash,
                vec![phone_page(b"phone 4", 1, "x")],
                40,
                at + Duration::minutes(1)
            )
            .await
            .expect("record"),
        PhoneUploadOutcome::AlreadyUsed { at, pages: 3 }
    );
    assert_eq!(store.submission_files(id).await.expect("files").len(), 4);
    assert_eq!(
        store.review_actions(id).await.expect("history").len(),
        history.len()
    );
}

pub async fn a_phone_upload_past_the_page_cap_or_unknown_changes_nothing(store: Arc<dyn Store>) {
    let id = offered(&*store).await;
    let hash = token_hash(TOKEN);
    let three = vec![
        phone_page(b"a", 0, "居民户口簿"),
        phone_page(b"b", 0, "居民户口簿"),
        phone_page(b"c", 0, "居民户口簿"),
    ];
    assert_eq!(
        store
            .record_phone_upload(&hash, three.clone(), 3, t0())
            .await
            .expect("record"),
        PhoneUploadOutcome::TooManyPages { held: 1 }
    );
    assert_eq!(
        store
            .record_phone_upload(&token_hash("unknown"), three.clone(), 40, t0())
            .await
            .expect("record"),
        PhoneUploadOutcome::Unknown
    );
    assert_eq!(store.submission_files(id).await.expect("files").len(), 1);
    assert!(store.review_actions(id).await.expect("history").is_empty());
    let slot = store
        .phone_upload_slot(&hash)
        .await
        .expect("look up")
        .expect("slot");
    assert_eq!(slot.used, None, "still open after the refusals");
    // At the cap exactly, it goes in.
    assert!(matches!(
        store
            .record_phone_upload(&hash, three, 4, t0())
            .await
            .expect("record"),
        PhoneUploadOutcome::Recorded { pages: 3, .. }
    ));
}
