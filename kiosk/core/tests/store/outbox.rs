//! Submitting, sequence and receipt numbers, the sync client's queue operations, quarantine
//! and minimisation.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use kiosk_core::store::{DB_FILE, Receipt, Store, StoreError, SubmissionState};
use sync_protocol::personal::CountySecret;
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::{Invalid, ItemResult, Outcome, SubmissionKind};
use uuid::Uuid;

use crate::{ADDRESS, ID_NUMBER, NAME, PHONE, application, complaint, enrolled, identity, raw};

fn result(receipt: &Receipt, outcome: Outcome, message: Option<&str>) -> ItemResult {
    ItemResult {
        id: receipt.id,
        outcome,
        message: message.map(str::to_owned),
        code: None,
        received_at: outcome
            .is_acknowledged()
            .then(|| "2026-11-26T09:00:00Z".parse().unwrap()),
    }
}

fn state(store: &Store, receipt: &Receipt) -> SubmissionState {
    store.queue_item(&receipt.id.to_string()).unwrap().state
}

fn due_numbers(store: &Store, now: DateTime<Utc>) -> Vec<u64> {
    store
        .due_submissions(now, 100)
        .unwrap()
        .iter()
        .map(|s| s.kiosk_seq)
        .collect()
}

/// The stored applicant JSON and phone of a submission, read past the store.
fn stored_identity(dir: &std::path::Path, id: Uuid) -> (Option<String>, Option<String>) {
    raw(dir)
        .query_row(
            "SELECT applicant_json, contact_phone FROM submissions WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn a_submission_is_durable_once_submit_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(application()).unwrap();
    assert_eq!(receipt.seq, 1);
    assert_eq!(receipt.number, ReceiptNumber::new(7, 1));
    assert_eq!(receipt.masked_id.as_deref(), Some("450902********0028"));
    assert_eq!(receipt.id.get_version_num(), 7, "ids are UUIDv7");
    let before = store.due_submissions(Utc::now(), 10).unwrap();
    // No clean close: the commit alone must make it durable.
    std::mem::forget(store);

    let store = Store::open(dir.path()).unwrap();
    let after = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(after, before);
    let submission = &after[0];
    assert_eq!(submission.id, receipt.id);
    assert_eq!(submission.receipt_number, receipt.number.to_string());
    assert_eq!(submission.created_at, receipt.created_at);
    assert_eq!(submission.kind, SubmissionKind::Application);
    let applicant = submission.applicant.as_ref().unwrap();
    assert_eq!(applicant.name.as_deref(), Some(NAME));
    assert_eq!(applicant.id_number.as_deref(), Some(ID_NUMBER));
    assert_eq!(submission.validate(), Ok(()));
    assert_eq!(
        submission.content_digest(),
        before[0].content_digest(),
        "a retry uploads byte-identical content"
    );
    let local = store.receipt(&receipt.number.to_string()).unwrap().unwrap();
    assert_eq!(local.masked_id.as_deref(), Some("450902********0028"));
    assert_eq!(local.upload, SubmissionState::Pending);
    assert_eq!(local.status, None);
}

/// A supplement (补正材料) is queued like any application, with the case it completes in
/// what it uploads; a complaint cannot be one.
#[test]
fn a_supplement_is_queued_with_the_application_it_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let original = store.submit(application()).unwrap();
    let supplement = kiosk_core::store::NewSubmission {
        item_code: Some("PEN-001".into()),
        catalog_version: Some(3),
        supplement_to: Some(original.id),
        ..kiosk_core::store::NewSubmission::new(SubmissionKind::Application)
    };
    let receipt = store.submit(supplement).unwrap();
    assert_eq!(receipt.seq, 2);
    assert_eq!(receipt.masked_id, None);
    let before = store.due_submissions(Utc::now(), 10).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let due = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(due, before);
    assert_eq!(due[0].supplement_to, None);
    assert_eq!(due[1].id, receipt.id);
    assert_eq!(due[1].supplement_to, Some(original.id));
    assert_eq!(due[1].applicant, None);
    assert_eq!(due[1].validate(), Ok(()));
    assert_eq!(due[1].content_digest(), before[1].content_digest());
    let number = receipt.number.to_string();
    let local = store.receipt(&number).unwrap().unwrap();
    assert_eq!(local.supplement_to, Some(original.id));
    let first = store
        .receipt(&original.number.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(first.supplement_to, None);

    let mut store = store;
    let not_an_application = kiosk_core::store::NewSubmission {
        supplement_to: Some(original.id),
        ..complaint("再补一份")
    };
    assert!(matches!(
        store.submit(not_an_application).unwrap_err(),
        StoreError::Invalid(Invalid::SupplementOnlyForApplications)
    ));
}

#[test]
fn submitting_before_enrollment_is_refused_and_uses_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let error = store.submit(complaint("x")).unwrap_err();
    assert!(matches!(error, StoreError::NotEnrolled), "{error}");
    assert_eq!(
        error.to_string(),
        "enroll this booth first: kiosk enroll --server URL --code CODE"
    );
    assert_eq!(store.queue_stats(Utc::now()).unwrap().depth(), 0);
    store.set_identity(&identity(7)).unwrap();
    assert_eq!(store.submit(complaint("x")).unwrap().seq, 1);
}

#[test]
fn what_the_server_would_refuse_for_good_is_refused_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let no_rating = kiosk_core::store::NewSubmission::new(SubmissionKind::Evaluation);
    assert!(matches!(
        store.submit(no_rating).unwrap_err(),
        StoreError::Invalid(Invalid::Rating)
    ));
    let mut no_item = application();
    no_item.item_code = None;
    assert!(matches!(
        store.submit(no_item).unwrap_err(),
        StoreError::Invalid(Invalid::MissingItem)
    ));
    let mut bad_id = application();
    bad_id.applicant.as_mut().unwrap().id_number = Some("12345".into());
    let error = store.submit(bad_id).unwrap_err();
    assert!(error.to_string().contains("18 characters"), "{error}");
    assert_eq!(store.queue_stats(Utc::now()).unwrap().depth(), 0);
    assert_eq!(
        store.submit(complaint("x")).unwrap().seq,
        1,
        "no number was used up"
    );
}

#[test]
fn sequence_and_receipt_numbers_are_unique_and_carry_the_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipts: Vec<Receipt> = (0..300)
        .map(|i| store.submit(complaint(&format!("#{i}"))).unwrap())
        .collect();
    let seqs: Vec<u64> = receipts.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<u64>>());
    let numbers: BTreeSet<String> = receipts.iter().map(|r| r.number.to_string()).collect();
    assert_eq!(numbers.len(), 300);
    let ids: BTreeSet<Uuid> = receipts.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 300);
    for receipt in &receipts {
        let parsed: ReceiptNumber = receipt.number.to_string().parse().unwrap();
        assert_eq!((parsed.kiosk(), parsed.seq()), (7, receipt.seq));
    }
    assert_eq!(
        due_numbers(&store, Utc::now()),
        seqs[..100].to_vec(),
        "oldest first, at most the limit"
    );
}

#[test]
fn re_enrolling_keeps_issued_numbers_and_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let old: Vec<Receipt> = (0..2)
        .map(|_| store.submit(complaint("x")).unwrap())
        .collect();
    store.set_identity(&identity(8)).unwrap();
    let new = store.submit(complaint("y")).unwrap();
    assert_eq!(new.seq, 3);
    assert_eq!(new.number, ReceiptNumber::new(8, 3));
    let due = store.due_submissions(Utc::now(), 10).unwrap();
    let numbers: Vec<&str> = due.iter().map(|s| s.receipt_number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            old[0].number.to_string(),
            old[1].number.to_string(),
            new.number.to_string()
        ]
    );
}

#[test]
fn results_acknowledge_or_quarantine_each_item_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let r: Vec<Receipt> = (0..5)
        .map(|i| store.submit(complaint(&format!("#{i}"))).unwrap())
        .collect();
    let ids: Vec<Uuid> = r.iter().map(|r| r.id).collect();
    store.mark_sent(&ids).unwrap();
    let results = vec![
        result(&r[0], Outcome::Accepted, None),
        result(
            &r[1],
            Outcome::Conflict,
            Some("id taken by a different body"),
        ),
        result(&r[2], Outcome::Duplicate, None),
        result(
            &r[4],
            Outcome::Invalid,
            Some("an evaluation needs a rating from 1 to 5"),
        ),
        // An id this booth never issued is ignored.
        ItemResult {
            id: Uuid::now_v7(),
            outcome: Outcome::Accepted,
            message: None,
            code: None,
            received_at: None,
        },
    ];
    let now = Utc::now();
    store.record_results(&results, now).unwrap();

    assert_eq!(state(&store, &r[0]), SubmissionState::Acknowledged);
    assert_eq!(state(&store, &r[1]), SubmissionState::Quarantined);
    assert_eq!(state(&store, &r[2]), SubmissionState::Acknowledged);
    assert_eq!(
        state(&store, &r[3]),
        SubmissionState::Sent,
        "no result: untouched"
    );
    assert_eq!(state(&store, &r[4]), SubmissionState::Quarantined);
    let held = store.quarantined().unwrap();
    assert_eq!(
        held.iter().map(|i| i.seq).collect::<Vec<_>>(),
        [2, 5],
        "oldest first"
    );
    assert_eq!(
        held[0].last_error.as_deref(),
        Some("id taken by a different body")
    );
    assert_eq!(held[0].attempts, 1, "mark_sent counted the attempt once");
    assert_eq!(due_numbers(&store, now), [4]);
    let stats = store.queue_stats(now).unwrap();
    assert_eq!(
        (
            stats.pending,
            stats.sent,
            stats.acknowledged,
            stats.quarantined
        ),
        (0, 1, 2, 2)
    );
    let received = store.receipt(&r[0].number.to_string()).unwrap().unwrap();
    assert_eq!(
        received.status,
        Some(sync_protocol::feed::SubmissionStatus::Received)
    );
    assert_eq!(received.upload, SubmissionState::Acknowledged);

    // Recording the same answer again (a retried batch) changes nothing.
    store.record_results(&results, now).unwrap();
    assert_eq!(store.queue_stats(now).unwrap(), stats);
    assert_eq!(store.quarantined().unwrap(), held);
}

#[test]
fn a_quarantined_item_in_the_middle_does_not_block_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let r: Vec<Receipt> = (0..3)
        .map(|_| store.submit(complaint("x")).unwrap())
        .collect();
    let now = Utc::now();
    store
        .record_results(&[result(&r[1], Outcome::Conflict, Some("conflict"))], now)
        .unwrap();
    assert_eq!(due_numbers(&store, now), [1, 3]);
    store
        .record_results(
            &[
                result(&r[0], Outcome::Accepted, None),
                result(&r[2], Outcome::Accepted, None),
            ],
            now,
        )
        .unwrap();
    assert!(due_numbers(&store, now).is_empty());
    let stats = store.queue_stats(now).unwrap();
    assert_eq!(
        (stats.depth(), stats.quarantined, stats.acknowledged),
        (0, 1, 2)
    );
    assert_eq!(stats.oldest_pending_age_s, None);
    assert_eq!(store.next_attempt_at().unwrap(), None, "nothing waits");
}

#[test]
fn a_failed_attempt_waits_for_its_next_attempt_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let a = store.submit(complaint("a")).unwrap();
    let b = store.submit(complaint("b")).unwrap();
    let now = Utc::now();
    assert!(
        store.next_attempt_at().unwrap().unwrap() <= now,
        "new items are due at once"
    );
    store.mark_sent(&[a.id]).unwrap();
    let later = now + TimeDelta::seconds(60);
    store
        .record_failure(&[a.id, b.id], "connection refused", later)
        .unwrap();
    for receipt in [&a, &b] {
        let item = store.queue_item(&receipt.number.to_string()).unwrap();
        assert_eq!(item.state, SubmissionState::Pending);
        assert_eq!(item.attempts, 1, "each attempt counts once");
        assert_eq!(item.last_error.as_deref(), Some("connection refused"));
    }
    assert!(due_numbers(&store, now).is_empty());
    assert_eq!(due_numbers(&store, later), [1, 2]);
    let next = store.next_attempt_at().unwrap().unwrap();
    assert!(
        (next - later).abs() < TimeDelta::milliseconds(1),
        "{next} vs {later}"
    );
    let stats = store.queue_stats(now + TimeDelta::hours(1)).unwrap();
    let age = stats.oldest_pending_age_s.unwrap();
    assert!((3500..=3700).contains(&age), "oldest pending age {age}");
}

#[test]
fn a_technician_can_requeue_or_discard_only_quarantined_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let held = store.submit(application()).unwrap();
    let waiting = store.submit(complaint("x")).unwrap();
    let now = Utc::now();
    store
        .record_results(&[result(&held, Outcome::Invalid, Some("bad form"))], now)
        .unwrap();

    let error = store.requeue(&waiting.number.to_string()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NotQuarantined {
                state: "pending",
                ..
            }
        ),
        "{error}"
    );
    // Typed by a person: lower case, no dashes.
    let typed = held.number.to_string().to_lowercase().replace('-', "");
    let requeued = store.requeue(&typed).unwrap();
    assert_eq!(requeued.state, SubmissionState::Pending);
    assert_eq!(due_numbers(&store, now), [1, 2]);

    store
        .record_results(&[result(&held, Outcome::Invalid, Some("bad form"))], now)
        .unwrap();
    assert!(matches!(
        store.discard(&held.id.to_string(), "  ").unwrap_err(),
        StoreError::EmptyReason(_)
    ));
    let record = store
        .discard(
            &held.id.to_string(),
            "villager re-applied at the township office",
        )
        .unwrap();
    assert_eq!(record.receipt_number, held.number.to_string());
    assert_eq!(record.last_error.as_deref(), Some("bad form"));
    assert_eq!(store.discards().unwrap(), vec![record]);
    assert_eq!(state(&store, &held), SubmissionState::Discarded);
    assert_eq!(stored_identity(dir.path(), held.id), (None, None));
    // A late acknowledgement does not bring it back.
    store
        .record_results(&[result(&held, Outcome::Accepted, None)], now)
        .unwrap();
    assert_eq!(state(&store, &held), SubmissionState::Discarded);
    assert_eq!(store.queue_stats(now).unwrap().discarded, 1);
}

#[test]
fn typed_receipt_numbers_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(complaint("x")).unwrap();
    let text = receipt.number.to_string();
    let mut typo: Vec<char> = text.chars().collect();
    typo[4] = if typo[4] == '1' { '2' } else { '1' };
    let typo: String = typo.into_iter().collect();
    let error = store.requeue(&typo).unwrap_err();
    assert!(matches!(error, StoreError::ReceiptNumber(_)), "{error}");
    assert!(error.to_string().contains("fails its check"), "{error}");
    assert!(matches!(
        store.receipt(&typo).unwrap_err(),
        StoreError::ReceiptNumber(_)
    ));

    let unknown = ReceiptNumber::new(7, 999).to_string();
    assert_eq!(store.receipt(&unknown).unwrap(), None);
    let error = store.existing_receipt(&unknown).unwrap_err();
    assert!(matches!(error, StoreError::UnknownReceipt(_)), "{error}");
    assert!(matches!(
        store.requeue(&unknown).unwrap_err(),
        StoreError::UnknownSubmission(_)
    ));
    let spoken = format!(" {} ", text.to_lowercase().replace('0', "o"));
    assert_eq!(store.receipt(&spoken).unwrap().unwrap().number, text);
}

/// Which of the personal values still appear anywhere in the database's files.
fn personal_data_on_disk(dir: &std::path::Path) -> Vec<&'static str> {
    let mut found = Vec::new();
    for file in [DB_FILE.to_owned(), format!("{DB_FILE}-wal")] {
        let Ok(bytes) = std::fs::read(dir.join(&file)) else {
            continue;
        };
        for secret in [NAME, ID_NUMBER, ADDRESS, PHONE] {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(secret);
            }
        }
    }
    found
}

#[test]
fn acknowledgement_drops_the_applicant_identity_and_keeps_the_masked_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(application()).unwrap();
    // Padding around it, as on a real booth, so the row shares its page with others.
    for i in 0..5 {
        store.submit(complaint(&format!("#{i}"))).unwrap();
    }
    let (applicant, phone) = stored_identity(dir.path(), receipt.id);
    assert!(applicant.unwrap().contains(NAME));
    assert_eq!(phone.as_deref(), Some(PHONE));
    drop(store);
    assert_eq!(
        personal_data_on_disk(dir.path()).len(),
        4,
        "the search finds the data while it is kept"
    );

    let mut store = Store::open(dir.path()).unwrap();
    store
        .record_results(&[result(&receipt, Outcome::Accepted, None)], Utc::now())
        .unwrap();
    assert_eq!(stored_identity(dir.path(), receipt.id), (None, None));
    let local = store.receipt(&receipt.number.to_string()).unwrap().unwrap();
    assert_eq!(local.masked_id.as_deref(), Some("450902********0028"));
    drop(store);
    // Nothing of it is left in the files either: secure_delete zeroes the old cell.
    assert_eq!(personal_data_on_disk(dir.path()), Vec::<&str>::new());
}

#[test]
fn a_retention_period_keeps_the_identity_until_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    store
        .set_retention_after_ack(Duration::from_secs(3600))
        .unwrap();
    let receipt = store.submit(application()).unwrap();
    let acked = Utc::now();
    store
        .record_results(&[result(&receipt, Outcome::Duplicate, None)], acked)
        .unwrap();
    assert!(stored_identity(dir.path(), receipt.id).0.is_some());
    assert_eq!(
        store.minimise_due(acked + TimeDelta::minutes(30)).unwrap(),
        0
    );
    assert!(stored_identity(dir.path(), receipt.id).0.is_some());
    assert_eq!(store.minimise_due(acked + TimeDelta::hours(2)).unwrap(), 1);
    assert_eq!(stored_identity(dir.path(), receipt.id), (None, None));
}

/// What the county server would hold: the key pair booths seal to.
fn county() -> CountySecret {
    CountySecret::from_seed(&[11; 32])
}

/// An application whose personal values all appear in `SEALED_VALUES`.
fn personal_application() -> kiosk_core::store::NewSubmission {
    let mut new = application();
    new.fields.insert("guardian".into(), GUARDIAN.into());
    new.holder_id_number = Some(ID_NUMBER.into());
    new
}

const GUARDIAN: &str = "母亲李桂兰";
const COMPLAINT: &str = "村口路灯坏了三个月没人修";
const SEALED_VALUES: [&str; 6] = [NAME, ID_NUMBER, ADDRESS, PHONE, GUARDIAN, COMPLAINT];

/// Which of `values` appear in the database file or its WAL right now.
fn on_disk(dir: &std::path::Path, values: &[&'static str]) -> Vec<&'static str> {
    let mut bytes = Vec::new();
    for file in [DB_FILE.to_owned(), format!("{DB_FILE}-wal")] {
        if let Ok(more) = std::fs::read(dir.join(&file)) {
            bytes.extend(more);
        }
    }
    values
        .iter()
        .copied()
        .filter(|value| bytes.windows(value.len()).any(|w| w == value.as_bytes()))
        .collect()
}

#[test]
fn with_the_county_key_a_queued_submission_shows_nothing_personal_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    assert_eq!(store.set_county_key(county().public_key()).unwrap(), 0);
    let receipt = store.submit(personal_application()).unwrap();
    store.submit(complaint(COMPLAINT)).unwrap();

    // The store still open: the WAL holds every write so far.
    assert_eq!(on_disk(dir.path(), &SEALED_VALUES), Vec::<&str>::new());
    assert_eq!(receipt.masked_id.as_deref(), Some("450902********0028"));
    let local = store.receipt(&receipt.number.to_string()).unwrap().unwrap();
    assert_eq!(local.masked_id.as_deref(), Some("450902********0028"));
    assert_eq!(
        store.receipts_for_holder(ID_NUMBER).unwrap().len(),
        1,
        "the same card still finds its receipts"
    );

    let queued = store.due_submissions(Utc::now(), 10).unwrap();
    assert!(
        queued
            .iter()
            .all(|s| s.sealed.is_some() && !s.has_clear_personal())
    );
    let mut opened = queued[0].clone();
    opened.open_personal(&county()).unwrap();
    assert_eq!(opened.validate(), Ok(()));
    let applicant = opened.applicant.unwrap();
    assert_eq!(
        (applicant.name.as_deref(), applicant.id_number.as_deref()),
        (Some(NAME), Some(ID_NUMBER))
    );
    assert_eq!(opened.contact_phone.as_deref(), Some(PHONE));
    assert_eq!(
        opened.fields.get("guardian").map(String::as_str),
        Some(GUARDIAN)
    );
    let mut complaint = queued[1].clone();
    complaint.open_personal(&county()).unwrap();
    assert_eq!(complaint.text.as_deref(), Some(COMPLAINT));

    store
        .record_results(&[result(&receipt, Outcome::Accepted, None)], Utc::now())
        .unwrap();
    let blob: Option<String> = raw(dir.path())
        .query_row(
            "SELECT sealed_json FROM submissions WHERE id = ?1",
            [receipt.id.to_string()],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        blob, None,
        "minimised like the clear fields once acknowledged"
    );
}

#[test]
fn a_queue_from_before_the_key_is_sealed_when_the_key_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = enrolled(dir.path());
    let receipt = store.submit(personal_application()).unwrap();
    store.submit(complaint(COMPLAINT)).unwrap();
    let acknowledged = store.submit(complaint("已经上传")).unwrap();
    store
        .record_results(
            &[result(&acknowledged, Outcome::Accepted, None)],
            Utc::now(),
        )
        .unwrap();
    let before = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(
        on_disk(dir.path(), &SEALED_VALUES).len(),
        SEALED_VALUES.len(),
        "no key yet: held in the clear, so nothing is lost"
    );

    assert_eq!(store.set_county_key(county().public_key()).unwrap(), 2);
    assert_eq!(
        store.set_county_key(county().public_key()).unwrap(),
        0,
        "the same key again changes nothing"
    );
    drop(store);
    assert_eq!(on_disk(dir.path(), &SEALED_VALUES), Vec::<&str>::new());

    let store = Store::open(dir.path()).unwrap();
    let after = store.due_submissions(Utc::now(), 10).unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].id, receipt.id);
    for (mut sealed, plain) in after.into_iter().zip(before) {
        assert!(sealed.sealed.is_some());
        sealed.open_personal(&county()).unwrap();
        assert_eq!(
            sealed.content_digest(),
            plain.content_digest(),
            "the server sees the same content, so a retry of an earlier upload is a duplicate"
        );
    }
}
