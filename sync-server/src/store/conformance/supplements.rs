//! 补正 on every backend: a correction request's materials kept with its action and carried
//! by its status change into the booth's feed; supplements that join their original's case
//! (from any booth, whatever the case's status), never cases of their own, and refused with
//! nothing stored when the original is unknown.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sync_protocol::feed::{CorrectionMaterial, SubmissionStatus};
use sync_protocol::submission::{Submission, SubmissionKind};
use uuid::Uuid;

use super::attachments::page;
use super::{enroll, submission, t0};
use crate::domain::access::Scope;
use crate::domain::fleet::KioskRecord;
use crate::domain::review::ReviewState;
use crate::store::paging::PageAt;
use crate::store::review::{InboxOrder, InboxQuery, ReviewActionRecord, ReviewUpdate};
use crate::store::staff::AuditEntry;
use crate::store::{
    IngestItem, IngestOutcome, IngestRefusal, SUPPLEMENT_ACTION, Store, SubmissionFilter,
    SubmissionRef,
};

#[macro_export]
macro_rules! supplement_conformance_tests {
    ($open:expr) => {
        $crate::supplement_conformance_tests!(@each $open;
            a_correction_names_its_materials_in_the_history_and_the_booths_feed,
            a_supplement_joins_its_case_from_any_booth_and_is_no_case_of_its_own,
            a_supplement_of_an_unknown_original_is_refused_and_nothing_is_stored,
            a_supplement_joins_whatever_the_cases_status_and_through_another_supplement
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::supplements::$check(store).await;
            }
        )*
    };
}

fn item(submission: &Submission) -> IngestItem {
    IngestItem {
        submission: submission.clone(),
        content_digest: submission.content_digest(),
    }
}

async fn ingest(
    store: &dyn Store,
    kiosk: &KioskRecord,
    sent: &[&Submission],
    at: DateTime<Utc>,
) -> Vec<IngestOutcome> {
    store
        .ingest(&kiosk.kiosk_id, sent.iter().map(|s| item(s)).collect(), at)
        .await
        .expect("ingest")
}

/// A supplement from `kiosk` (sequence `seq`) to `original`, with one page of material
/// `material` and nothing personal.
fn supplement(kiosk: &KioskRecord, seq: u64, original: Uuid, material: u16) -> Submission {
    let mut sent = submission(kiosk.kiosk_number, seq);
    sent.applicant = None;
    sent.contact_phone = None;
    sent.fields.clear();
    sent.supplement_to = Some(original);
    sent.attachments = vec![page(format!("again {seq}").as_bytes(), material, 1)];
    sent
}

fn inbox(limit: u32) -> InboxQuery {
    InboxQuery {
        scope: Scope::All,
        waiting_for: None,
        statuses: Vec::new(),
        include_final: true,
        kind: None,
        item_code: None,
        id_number: None,
        village: None,
        received_from: None,
        received_until: None,
        overdue_only: false,
        due_soon_only: false,
        today: "2026-03-06".parse().expect("date"),
        due_soon_days: 3,
        order: InboxOrder::Newest,
        page: PageAt::First,
        limit,
    }
}

/// Moves `id`, as it stands, to `status` by `action` with `materials`, at `at`.
async fn review(
    store: &dyn Store,
    id: Uuid,
    status: SubmissionStatus,
    action: &str,
    materials: Vec<CorrectionMaterial>,
    at: DateTime<Utc>,
) -> sync_protocol::feed::StatusChange {
    let state = store
        .review_item(&SubmissionRef::Id(id), &Scope::All)
        .await
        .expect("store")
        .expect("a case")
        .state;
    store
        .apply_review(ReviewUpdate {
            submission_id: id,
            next: ReviewState {
                status,
                ..state.clone()
            },
            expected: state,
            villager_note: Some("请补正以下材料：居民身份证、银行卡。原因：看不清".into()),
            action: ReviewActionRecord {
                stage: 1,
                actor: "wang".into(),
                action: action.into(),
                comment: "看不清".into(),
                at,
                materials,
            },
            audit: AuditEntry::new(at, "wang", &format!("review.{action}")),
        })
        .await
        .expect("store")
        .expect("applied")
}

pub async fn a_correction_names_its_materials_in_the_history_and_the_booths_feed(
    store: Arc<dyn Store>,
) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let original = submission(kiosk.kiosk_number, 1);
    ingest(store.as_ref(), &kiosk, &[&original], t0()).await;
    let named = vec![
        CorrectionMaterial {
            index: 0,
            name: "居民身份证".into(),
        },
        CorrectionMaterial {
            index: 2,
            name: "银行卡".into(),
        },
    ];
    let at = t0() + Duration::hours(1);
    let change = review(
        store.as_ref(),
        original.id,
        SubmissionStatus::NeedsCorrection,
        "request_correction",
        named.clone(),
        at,
    )
    .await;
    assert_eq!(change.materials, named);

    let feed = store
        .statuses_page(&kiosk.kiosk_id, None, 10)
        .await
        .expect("feed");
    let carried: Vec<_> = feed
        .items
        .iter()
        .map(|c| (c.status, c.materials.clone()))
        .collect();
    assert_eq!(
        carried,
        [
            (SubmissionStatus::Received, Vec::new()),
            (SubmissionStatus::NeedsCorrection, named.clone())
        ]
    );
    assert_eq!(feed.items[1], change, "the booth reads what was applied");
    let history = store
        .submission_history(original.id)
        .await
        .expect("history");
    assert_eq!(history.last().map(|c| &c.materials), Some(&named));
    let actions = store.review_actions(original.id).await.expect("actions");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].materials, named);
    assert_eq!(actions[0].action, "request_correction");

    // An action naming none keeps none.
    let back = review(
        store.as_ref(),
        original.id,
        SubmissionStatus::Received,
        "correction_received",
        Vec::new(),
        at + Duration::hours(1),
    )
    .await;
    assert!(back.materials.is_empty());
    let actions = store.review_actions(original.id).await.expect("actions");
    assert!(actions[1].materials.is_empty());
}

pub async fn a_supplement_joins_its_case_from_any_booth_and_is_no_case_of_its_own(
    store: Arc<dyn Store>,
) {
    let here = enroll(store.as_ref(), "石门村", 1).await;
    // Another village's booth: the villager brought the receipt there.
    let there = enroll(store.as_ref(), "六合村", 2).await;
    let mut original = submission(here.kiosk_number, 1);
    original.attachments = vec![page(b"first", 0, 1)];
    ingest(store.as_ref(), &here, &[&original], t0()).await;
    let before = store
        .find_submission(&SubmissionRef::Id(original.id))
        .await
        .expect("find")
        .expect("stored");

    let added = supplement(&there, 1, original.id, 1);
    let at = t0() + Duration::hours(2);
    let outcome = ingest(store.as_ref(), &there, &[&added], at).await;
    let received_at = match outcome[..] {
        [IngestOutcome::Accepted { received_at }] => received_at,
        _ => panic!("{outcome:?}"),
    };
    // A retry is the same answer, and adds nothing.
    let again = ingest(store.as_ref(), &there, &[&added], at + Duration::minutes(5)).await;
    assert_eq!(again, [IngestOutcome::Duplicate { received_at }]);

    let stored = store
        .find_submission(&SubmissionRef::Id(added.id))
        .await
        .expect("find")
        .expect("stored");
    assert_eq!(stored.supplement_to, Some(original.id));
    assert_eq!(stored.submission, added);
    assert_eq!(before.supplement_to, None);
    let joined = store
        .supplements(original.id, 10)
        .await
        .expect("supplements");
    assert_eq!(
        joined
            .iter()
            .map(|r| r.submission.receipt_number.as_str())
            .collect::<Vec<_>>(),
        [added.receipt_number.as_str()]
    );
    assert_eq!(joined[0].kiosk_number, there.kiosk_number);
    assert!(store.supplements(added.id, 10).await.unwrap().is_empty());

    // Its pages belong to the booth that sent it.
    let files = store.submission_files(added.id).await.expect("files");
    assert_eq!(
        files
            .iter()
            .map(|f| (f.material, f.page))
            .collect::<Vec<_>>(),
        [(1, 1)]
    );
    let sha = &added.attachments[0].sha256;
    assert_eq!(
        store
            .listed_file(&there.kiosk_id, sha)
            .await
            .unwrap()
            .map(|f| f.submission_id),
        Some(added.id)
    );
    assert_eq!(store.listed_file(&here.kiosk_id, sha).await.unwrap(), None);

    // The case's history says it came; its state is as it was.
    let actions = store.review_actions(original.id).await.expect("actions");
    assert_eq!(actions.len(), 1);
    let arrival = &actions[0];
    assert_eq!(arrival.action, SUPPLEMENT_ACTION);
    assert_eq!(arrival.actor, format!("#{}", there.kiosk_number));
    assert_eq!(arrival.comment, added.receipt_number);
    assert_eq!(arrival.stage, 1);
    assert_eq!(arrival.at, received_at);
    assert_eq!(
        arrival.materials,
        [CorrectionMaterial {
            index: 1,
            name: "居民户口簿".into()
        }]
    );
    let case = store
        .review_item(&SubmissionRef::Id(original.id), &Scope::All)
        .await
        .unwrap()
        .expect("the case");
    assert_eq!(case.state, ReviewState::received());
    assert_eq!(case.record.status_changed_at, before.status_changed_at);

    // Never a case: not reviewable, not in any list or count.
    for named in [
        SubmissionRef::Id(added.id),
        SubmissionRef::Receipt(added.receipt_number.clone()),
    ] {
        assert_eq!(store.review_item(&named, &Scope::All).await.unwrap(), None);
    }
    let page = store.inbox(&inbox(50)).await.expect("inbox");
    assert_eq!(page.total, 1);
    assert_eq!(
        page.items
            .iter()
            .map(|i| i.record.submission.id)
            .collect::<Vec<_>>(),
        [original.id]
    );
    let mut there_only = inbox(0);
    there_only.scope = Scope::Village(there.village.clone());
    assert_eq!(store.inbox(&there_only).await.unwrap().total, 0);
    let listed = store
        .list_submissions(&SubmissionFilter::default())
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|r| r.submission.id).collect::<Vec<_>>(),
        [original.id]
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        stats.submissions_by_status,
        [(SubmissionStatus::Received, 1)]
    );
    // The booth that sent it hears it arrived, as for anything it sends.
    let feed = store
        .statuses_page(&there.kiosk_id, None, 10)
        .await
        .expect("feed");
    assert_eq!(
        feed.items
            .iter()
            .map(|c| (c.submission_id, c.status))
            .collect::<Vec<_>>(),
        [(added.id, SubmissionStatus::Received)]
    );
}

pub async fn a_supplement_of_an_unknown_original_is_refused_and_nothing_is_stored(
    store: Arc<dyn Store>,
) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let nobody = Uuid::now_v7();
    let stray = supplement(&kiosk, 1, nobody, 0);
    let outcome = ingest(store.as_ref(), &kiosk, &[&stray], t0()).await;
    assert_eq!(
        outcome,
        [IngestOutcome::Refused(IngestRefusal::UnknownOriginal(
            nobody
        ))]
    );
    assert_eq!(
        store
            .find_submission(&SubmissionRef::Id(stray.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_submission(&SubmissionRef::Receipt(stray.receipt_number.clone()))
            .await
            .unwrap(),
        None
    );
    assert!(store.submission_files(stray.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .listed_file(&kiosk.kiosk_id, &stray.attachments[0].sha256)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .statuses_page(&kiosk.kiosk_id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Another item's case, or a complaint, is no original for it either.
    let mut other_item = submission(kiosk.kiosk_number, 2);
    other_item.item_code = Some("GX-MZ-002".into());
    let mut complaint = submission(kiosk.kiosk_number, 3);
    complaint.kind = SubmissionKind::Complaint;
    complaint.item_code = None;
    ingest(store.as_ref(), &kiosk, &[&other_item, &complaint], t0()).await;
    for (seq, original) in [(4, other_item.id), (5, complaint.id)] {
        let wrong = supplement(&kiosk, seq, original, 0);
        assert_eq!(
            ingest(store.as_ref(), &kiosk, &[&wrong], t0()).await,
            [IngestOutcome::Refused(IngestRefusal::NotTheOriginalsItem(
                original
            ))]
        );
    }

    // In one batch, an original counts for the supplements after it, not before it.
    let original = submission(kiosk.kiosk_number, 6);
    let after = supplement(&kiosk, 7, original.id, 0);
    let too_early = supplement(&kiosk, 8, original.id, 0);
    let outcomes = ingest(
        store.as_ref(),
        &kiosk,
        &[&too_early, &original, &after],
        t0() + Duration::minutes(1),
    )
    .await;
    assert_eq!(
        outcomes[0],
        IngestOutcome::Refused(IngestRefusal::UnknownOriginal(original.id))
    );
    assert!(matches!(outcomes[1], IngestOutcome::Accepted { .. }));
    assert!(matches!(outcomes[2], IngestOutcome::Accepted { .. }));
    assert_eq!(
        store
            .supplements(original.id, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.submission.id)
            .collect::<Vec<_>>(),
        [after.id]
    );
    // Sent again once the original is held, the early one joins.
    assert!(matches!(
        ingest(
            store.as_ref(),
            &kiosk,
            &[&too_early],
            t0() + Duration::minutes(2)
        )
        .await[..],
        [IngestOutcome::Accepted { .. }]
    ));
}

pub async fn a_supplement_joins_whatever_the_cases_status_and_through_another_supplement(
    store: Arc<dyn Store>,
) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let original = submission(kiosk.kiosk_number, 1);
    ingest(store.as_ref(), &kiosk, &[&original], t0()).await;
    review(
        store.as_ref(),
        original.id,
        SubmissionStatus::Rejected,
        "reject",
        Vec::new(),
        t0() + Duration::hours(1),
    )
    .await;
    let late = supplement(&kiosk, 2, original.id, 0);
    assert!(matches!(
        ingest(store.as_ref(), &kiosk, &[&late], t0() + Duration::hours(2)).await[..],
        [IngestOutcome::Accepted { .. }]
    ));
    // A booth that names the supplement (its receipt was scanned) joins the same case.
    let later = supplement(&kiosk, 3, late.id, 0);
    assert!(matches!(
        ingest(store.as_ref(), &kiosk, &[&later], t0() + Duration::hours(3)).await[..],
        [IngestOutcome::Accepted { .. }]
    ));
    let stored = store
        .find_submission(&SubmissionRef::Id(later.id))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.supplement_to, Some(original.id));
    assert_eq!(stored.submission.supplement_to, Some(late.id), "as signed");
    let joined: Vec<Uuid> = store
        .supplements(original.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.submission.id)
        .collect();
    assert_eq!(joined, [later.id, late.id], "newest first");
    assert_eq!(
        store
            .supplements(original.id, 1)
            .await
            .unwrap()
            .iter()
            .map(|r| r.submission.id)
            .collect::<Vec<_>>(),
        [later.id]
    );
    let actions = store.review_actions(original.id).await.unwrap();
    assert_eq!(
        actions
            .iter()
            .map(|a| a.action.as_str())
            .collect::<Vec<_>>(),
        ["reject", SUPPLEMENT_ACTION, SUPPLEMENT_ACTION]
    );
    let case = store
        .review_item(&SubmissionRef::Id(original.id), &Scope::All)
        .await
        .unwrap()
        .expect("the case");
    assert_eq!(case.state.status, SubmissionStatus::Rejected);
}
