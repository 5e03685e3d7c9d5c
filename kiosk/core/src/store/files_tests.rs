//! The pages a submission carries, on the booth: written before the row that lists them,
//! listed in the submission (so in its digest), sealed when the county's key is known, kept
//! within the disk budget, handed to the uploader only after the submission is acknowledged,
//! and deleted once the server holds them.

use chrono::Utc;
use sync_protocol::attachment::{open_file, sha256_hex};
use sync_protocol::enroll::Village;
use sync_protocol::personal::CountySecret;
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

fn jpeg(size: usize, seed: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8];
    bytes.extend((0..size - 4).map(|i| (i as u8).wrapping_mul(seed)));
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

fn application_with(pages: Vec<NewPage>) -> NewSubmission {
    NewSubmission {
        item_code: Some("GX-SB-001".into()),
        catalog_version: Some(1),
        pages,
        ..NewSubmission::new(SubmissionKind::Application)
    }
}

fn page(material: u16, page: u16, jpeg: Vec<u8>) -> NewPage {
    NewPage {
        material,
        material_name: "居民户口簿".into(),
        page,
        jpeg,
    }
}

fn acknowledge(store: &mut Store, id: Uuid) {
    store
        .record_results(
            &[ItemResult {
                id,
                outcome: Outcome::Accepted,
                message: None,
                code: None,
                received_at: Some(Utc::now()),
            }],
            Utc::now(),
        )
        .unwrap();
}

fn files_on_disk(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(files::DIR))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn pages_are_sealed_on_disk_listed_in_the_submission_and_uploaded_only_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let county = CountySecret::from_seed(&[5; 32]);
    store.set_county_key(county.public_key()).unwrap();
    let first = jpeg(30_000, 3);
    let receipt = store
        .submit(application_with(vec![
            page(0, 1, first.clone()),
            page(1, 1, jpeg(20_000, 7)),
        ]))
        .unwrap();

    let due = store.due_submissions(Utc::now(), 10).unwrap();
    let listed = &due[0].attachments;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|f| f.sealed));
    assert_eq!((listed[0].material, listed[0].page), (0, 1));
    // On disk under its name: the sealed envelope, which opens at the county to the page.
    let on_disk = std::fs::read(dir.path().join(files::DIR).join(&listed[0].sha256)).unwrap();
    assert_eq!(sha256_hex(&on_disk), listed[0].sha256);
    assert_eq!(on_disk.len() as u64, listed[0].bytes);
    assert!(!on_disk.windows(64).any(|w| w == &first[100..164]));
    assert_eq!(open_file(&county, receipt.id, &on_disk).unwrap(), first);
    // Read again, the submission is the same: the same digest, so a retry is a duplicate.
    let again = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(again[0].content_digest(), due[0].content_digest());

    assert!(
        store.due_files(Utc::now(), 10).unwrap().is_empty(),
        "no file goes before its submission is acknowledged"
    );
    acknowledge(&mut store, receipt.id);
    let files = store.due_files(Utc::now(), 10).unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0].path.exists());

    store.record_file_held(&files[0].sha256).unwrap();
    assert!(
        !files[0].path.exists(),
        "the local copy goes once the server holds it"
    );
    assert_eq!(store.due_files(Utc::now(), 10).unwrap().len(), 1);
    let later = Utc::now() + chrono::TimeDelta::minutes(5);
    store
        .record_file_failure(&files[1].sha256, "network", later, false)
        .unwrap();
    assert!(store.due_files(Utc::now(), 10).unwrap().is_empty());
    let retry = store.due_files(later, 10).unwrap();
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));
    assert_eq!(store.file_counts().unwrap(), (1, 1, 0));
}

#[test]
fn a_full_budget_refuses_the_whole_submission_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store.set_files_budget(50_000).unwrap();
    store
        .submit(application_with(vec![page(0, 1, jpeg(30_000, 1))]))
        .unwrap();
    let before = files_on_disk(dir.path());
    let error = store
        .submit(application_with(vec![page(0, 1, jpeg(30_000, 2))]))
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::FilesFull {
                pending_bytes: 30_000,
                budget: 50_000
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("nothing was saved"), "{error}");
    assert_eq!(files_on_disk(dir.path()), before);
    assert_eq!(store.queue_stats(Utc::now()).unwrap().pending, 1);
}

#[test]
fn files_no_row_lists_are_removed_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store
        .submit(application_with(vec![page(0, 1, jpeg(10_000, 1))]))
        .unwrap();
    let listed = files_on_disk(dir.path());
    // A crash between writing a page and committing its submission leaves a stray file.
    std::fs::write(
        dir.path().join(files::DIR).join(sha256_hex(b"stray")),
        b"stray",
    )
    .unwrap();
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(
        files_on_disk(dir.path()),
        listed,
        "the listed page stays, the stray goes"
    );
    acknowledge(&mut store, receipt.id);
    assert_eq!(store.due_files(Utc::now(), 10).unwrap().len(), 1);
}
