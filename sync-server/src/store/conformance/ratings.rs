//! What every backend must do for the ratings dashboard and the follow-ups of bad ratings
//! ([`RatingsStore`](crate::store::RatingsStore)). A rating's received time is the `now` it
//! was ingested at.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::{CatalogItem, IdentityNeed};
use sync_protocol::submission::{Submission, SubmissionKind};

use super::{enroll_in, submission, t0};
use crate::domain::access::Scope;
use crate::domain::fleet::KioskRecord;
use crate::domain::ratings::{FollowUpStep, RatingCount, StepRefused, china_day_start};
use crate::store::paging::PageAt;
use crate::store::ratings::{FollowUpRefusal, FollowUpWrite, RatingsQuery, TaskFilter, TaskQuery};
use crate::store::staff::{AuditEntry, AuditFilter};
use crate::store::{IngestItem, IngestOutcome, Store};

/// Generates one `#[tokio::test]` per check; `$open` evaluates to `(Arc<dyn Store>, guard)`.
#[macro_export]
macro_rules! ratings_conformance_tests {
    ($open:expr) => {
        $crate::ratings_conformance_tests!(@each $open;
            ratings_are_counted_per_item_village_and_china_day_in_scope_and_range,
            bad_ratings_are_tasks_in_scope_oldest_first,
            follow_ups_are_recorded_with_their_audit_lines_and_refusals_write_nothing
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::ratings::$check(store).await;
            }
        )*
    };
}

fn village(township: &str, name: &str) -> Village {
    Village {
        county: "示范县".into(),
        township: township.into(),
        village: name.into(),
    }
}

/// An evaluation as the booth sends it from kiosk `kiosk_number`: no identity, the reason and
/// free text only when bad.
pub fn evaluation(kiosk_number: u32, seq: u64, rating: u8, item: Option<&str>) -> Submission {
    let mut sent = submission(kiosk_number, seq);
    sent.kind = SubmissionKind::Evaluation;
    sent.rating = Some(rating);
    sent.item_code = item.map(str::to_owned);
    sent.applicant = None;
    sent.contact_phone = None;
    sent.fields.clear();
    if rating <= 2 {
        sent.fields.insert("reason".into(), "等待时间长".into());
        sent.text = Some("排队一上午".into());
    }
    sent
}

async fn ingest_at(store: &dyn Store, kiosk: &KioskRecord, sent: &Submission, at: DateTime<Utc>) {
    let outcomes = store
        .ingest(
            &kiosk.kiosk_id,
            vec![IngestItem {
                submission: sent.clone(),
                content_digest: sent.content_digest(),
            }],
            at,
        )
        .await
        .expect("ingest");
    assert!(matches!(outcomes[..], [IngestOutcome::Accepted { .. }]));
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap_or_default()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or_default()
}

/// A catalogue item named `name_zh` (and `Temporary assistance`): the main suite's sample,
/// reviewed at one level and asking nothing of the villager.
pub fn catalog_item(code: &str, name_zh: &str) -> CatalogItem {
    CatalogItem {
        name_en: "Temporary assistance".into(),
        conditions: Vec::new(),
        materials: Vec::new(),
        steps: Vec::new(),
        identity: IdentityNeed::None,
        review_levels: 1,
        ..super::catalog_item(code, name_zh)
    }
}

fn township(name: &str) -> Scope {
    Scope::Township {
        county: "示范县".into(),
        township: name.into(),
    }
}

fn sorted(mut counts: Vec<RatingCount>) -> Vec<(Option<String>, String, NaiveDate, u8, u64)> {
    let mut rows: Vec<_> = counts
        .drain(..)
        .map(|c| (c.item_code, c.village.village, c.day, c.rating, c.count))
        .collect();
    rows.sort();
    rows
}

pub async fn ratings_are_counted_per_item_village_and_china_day_in_scope_and_range(
    store: Arc<dyn Store>,
) {
    let here = enroll_in(store.as_ref(), village("凤岭乡", "义江村"), 1).await;
    let there = enroll_in(store.as_ref(), village("白圩镇", "那坡村"), 2).await;
    // 23:59 and 00:00 China time: two China dates a minute apart.
    let late = at("2026-03-02T15:59:00Z");
    let midnight = at("2026-03-02T16:00:00Z");
    let store = store.as_ref();
    ingest_at(
        store,
        &here,
        &evaluation(here.kiosk_number, 1, 5, Some("X")),
        late,
    )
    .await;
    ingest_at(
        store,
        &here,
        &evaluation(here.kiosk_number, 2, 5, Some("X")),
        midnight,
    )
    .await;
    ingest_at(
        store,
        &here,
        &evaluation(here.kiosk_number, 3, 2, Some("X")),
        late,
    )
    .await;
    ingest_at(
        store,
        &here,
        &evaluation(here.kiosk_number, 4, 2, Some("X")),
        late,
    )
    .await;
    ingest_at(
        store,
        &here,
        &evaluation(here.kiosk_number, 5, 1, None),
        late,
    )
    .await;
    ingest_at(store, &here, &submission(here.kiosk_number, 6), late).await;
    ingest_at(
        store,
        &there,
        &evaluation(there.kiosk_number, 1, 4, Some("X")),
        late,
    )
    .await;

    let query = |scope: Scope, until: &str| RatingsQuery {
        scope,
        received_from: china_day_start(day("2026-03-02")),
        received_until: china_day_start(day(until)),
    };
    let x = Some("X".to_owned());
    let counted = store
        .rating_counts(&query(township("凤岭乡"), "2026-03-04"))
        .await
        .expect("count");
    assert_eq!(
        sorted(counted),
        [
            (None, "义江村".into(), day("2026-03-02"), 1, 1),
            (x.clone(), "义江村".into(), day("2026-03-02"), 2, 2),
            (x.clone(), "义江村".into(), day("2026-03-02"), 5, 1),
            (x.clone(), "义江村".into(), day("2026-03-03"), 5, 1),
        ],
        "evaluations only, in the township, by China date"
    );
    let everywhere = store
        .rating_counts(&query(Scope::All, "2026-03-03"))
        .await
        .expect("count");
    assert_eq!(
        sorted(everywhere),
        [
            (None, "义江村".into(), day("2026-03-02"), 1, 1),
            (x.clone(), "义江村".into(), day("2026-03-02"), 2, 2),
            (x.clone(), "义江村".into(), day("2026-03-02"), 5, 1),
            (x, "那坡村".into(), day("2026-03-02"), 4, 1),
        ],
        "every scope, and the range ends before 3 March"
    );
}

pub async fn bad_ratings_are_tasks_in_scope_oldest_first(store: Arc<dyn Store>) {
    let store = store.as_ref();
    store
        .import_catalog(vec![catalog_item("X", "临时救助")], t0())
        .await
        .expect("catalogue");
    let here = enroll_in(store, village("凤岭乡", "义江村"), 1).await;
    let there = enroll_in(store, village("白圩镇", "那坡村"), 2).await;
    let later = evaluation(here.kiosk_number, 1, 2, Some("X"));
    let earlier = evaluation(here.kiosk_number, 2, 1, None);
    let fine = evaluation(here.kiosk_number, 3, 3, Some("X"));
    let elsewhere = evaluation(there.kiosk_number, 1, 1, Some("X"));
    ingest_at(store, &here, &later, at("2026-03-05T02:00:00Z")).await;
    ingest_at(store, &here, &earlier, at("2026-03-02T02:00:00Z")).await;
    ingest_at(store, &here, &fine, at("2026-03-01T02:00:00Z")).await;
    ingest_at(store, &there, &elsewhere, at("2026-03-01T02:00:00Z")).await;

    let list = |filter, limit| TaskQuery {
        scope: township("凤岭乡"),
        filter,
        page: PageAt::First,
        limit,
    };
    let open = store
        .follow_up_tasks(&list(TaskFilter::Open, 10))
        .await
        .expect("tasks");
    let receipts: Vec<&str> = open
        .tasks
        .iter()
        .map(|t| t.record.submission.receipt_number.as_str())
        .collect();
    assert_eq!(
        receipts,
        [
            earlier.receipt_number.as_str(),
            later.receipt_number.as_str()
        ],
        "bad ratings in scope, oldest first"
    );
    assert_eq!(open.total, 2);
    assert_eq!(open.tasks[0].item, None);
    let named = open.tasks[1].item.as_ref().expect("a catalogue item");
    assert_eq!(
        (named.code.as_str(), named.name_zh.as_str()),
        ("X", "临时救助")
    );
    assert_eq!(open.tasks[1].village, village("凤岭乡", "义江村"));
    assert_eq!(open.tasks[1].follow_up, None);
    assert_eq!(
        open.tasks[1].record.submission.text.as_deref(),
        Some("排队一上午")
    );

    let before = store
        .follow_up_tasks(&list(TaskFilter::ReceivedBefore(day("2026-03-05")), 10))
        .await
        .expect("tasks");
    assert_eq!(before.total, 1);
    assert_eq!(
        before.tasks[0].record.submission.receipt_number,
        earlier.receipt_number
    );
    let counted = store
        .follow_up_tasks(&list(TaskFilter::Open, 0))
        .await
        .expect("tasks");
    assert_eq!((counted.tasks.len(), counted.total), (0, 2));
    let closed = store
        .follow_up_tasks(&list(TaskFilter::Closed, 10))
        .await
        .expect("tasks");
    assert_eq!(closed.total, 0);

    let scope = township("凤岭乡");
    let find = |receipt: &str, scope: &Scope| {
        let receipt = receipt.to_owned();
        let scope = scope.clone();
        async move { store.follow_up_task(&receipt, &scope).await.expect("find") }
    };
    assert!(find(&later.receipt_number, &scope).await.is_some());
    assert!(
        find(&fine.receipt_number, &scope).await.is_none(),
        "基本满意 is no task"
    );
    assert!(
        find(&elsewhere.receipt_number, &scope).await.is_none(),
        "outside the scope"
    );
    assert!(find(&elsewhere.receipt_number, &Scope::All).await.is_some());
}

pub async fn follow_ups_are_recorded_with_their_audit_lines_and_refusals_write_nothing(
    store: Arc<dyn Store>,
) {
    let store = store.as_ref();
    let here = enroll_in(store, village("凤岭乡", "义江村"), 1).await;
    let bad = evaluation(here.kiosk_number, 1, 1, Some("X"));
    ingest_at(store, &here, &bad, t0()).await;
    let receipt = bad.receipt_number.clone();
    let now = t0() + Duration::days(1);
    let write = |step: FollowUpStep, scope: Scope| FollowUpWrite {
        receipt_number: receipt.clone(),
        scope,
        now,
        actor: "li".into(),
        audit: AuditEntry::new(now, "li", step.audit_action()).target(receipt.clone()),
        step,
    };
    let audit = || async {
        store
            .list_audit(&AuditFilter {
                actor: Some("li".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .expect("audit")
            .into_iter()
            .rev()
            .map(|r| (r.entry.action, r.entry.target.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let scope = township("凤岭乡");

    assert_eq!(
        store
            .record_follow_up(write(FollowUpStep::Close, scope.clone()))
            .await
            .expect("store"),
        Err(FollowUpRefusal::Step(StepRefused::NoFix))
    );
    assert_eq!(
        store
            .record_follow_up(write(
                FollowUpStep::Fix {
                    note: "加开窗口".into()
                },
                township("白圩镇"),
            ))
            .await
            .expect("store"),
        Err(FollowUpRefusal::Missing),
        "outside the scope"
    );
    let untouched = store
        .follow_up_task(&receipt, &scope)
        .await
        .expect("find")
        .expect("in scope");
    assert_eq!(untouched.follow_up, None, "refusals write nothing");
    assert!(audit().await.is_empty(), "and audit nothing");

    let called_at = t0() + Duration::hours(3);
    let called = store
        .record_follow_up(write(
            FollowUpStep::Call {
                at: called_at,
                note: "等太久了".into(),
            },
            scope.clone(),
        ))
        .await
        .expect("store")
        .expect("recorded");
    assert_eq!(called.called_back_at, Some(called_at));
    store
        .record_follow_up(write(
            FollowUpStep::Fix {
                note: "加开窗口".into(),
            },
            scope.clone(),
        ))
        .await
        .expect("store")
        .expect("recorded");
    let closed = store
        .record_follow_up(write(FollowUpStep::Close, scope.clone()))
        .await
        .expect("store")
        .expect("recorded");
    assert_eq!(
        (closed.closed_at, closed.closed_by.as_deref()),
        (Some(now), Some("li"))
    );
    let stored = store
        .follow_up_task(&receipt, &scope)
        .await
        .expect("find")
        .expect("in scope")
        .follow_up
        .expect("recorded");
    assert_eq!(stored, closed, "what was returned is what a read gives");
    assert_eq!(stored.call_note.as_deref(), Some("等太久了"));
    assert_eq!(stored.fix_note.as_deref(), Some("加开窗口"));

    assert_eq!(
        store
            .record_follow_up(write(FollowUpStep::Close, scope.clone()))
            .await
            .expect("store"),
        Err(FollowUpRefusal::Step(StepRefused::Closed))
    );
    let lists = |filter| TaskQuery {
        scope: scope.clone(),
        filter,
        page: PageAt::First,
        limit: 10,
    };
    assert_eq!(
        store
            .follow_up_tasks(&lists(TaskFilter::Open))
            .await
            .expect("tasks")
            .total,
        0
    );
    assert_eq!(
        store
            .follow_up_tasks(&lists(TaskFilter::Closed))
            .await
            .expect("tasks")
            .total,
        1
    );
    assert_eq!(
        audit().await,
        [
            ("followup.call".to_owned(), receipt.clone()),
            ("followup.fix".to_owned(), receipt.clone()),
            ("followup.close".to_owned(), receipt.clone()),
        ]
    );
}
