//! Paging by key ([`crate::store::paging`]) on every backend: the inbox in both orders, the
//! follow-up tasks, the fleet by kiosk number with its counts, and the catalogue's version
//! that the feed cache trusts.
//!
//! The paging checks put page boundaries inside runs of equal sort keys and add rows between
//! page reads that sort before the page being read: paging by offset repeats rows then, and
//! a key without the row number as its last part (or an order that breaks ties otherwise
//! than the key) skips or repeats some.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat, PrinterHealth};
use sync_protocol::submission::Submission;

use super::ratings::evaluation;
use super::store::replacing_claim;
use super::{catalog_item, enroll_in, new_code_in, submission, t0};
use crate::domain::access::Scope;
use crate::domain::fleet::{self, Alert, KioskRecord};
use crate::domain::ratings::FollowUpStep;
use crate::domain::review::ReviewState;
use crate::store::catalog_cache::CatalogCache;
use crate::store::fleet_summaries::FleetSummaries;
use crate::store::paging::{InboxKey, PageAt, TaskKey};
use crate::store::ratings::{FollowUpWrite, TaskFilter, TaskQuery};
use crate::store::review::{InboxOrder, InboxQuery, ReviewActionRecord, ReviewUpdate};
use crate::store::staff::{AuditEntry, FleetCounts, FleetQuery, FleetSummary, FleetSummaryQuery};
use crate::store::{IngestItem, IngestOutcome, Store, StoreError};

/// Generates one `#[tokio::test]` per check; `$open` evaluates to `(Arc<dyn Store>, guard)`.
#[macro_export]
macro_rules! paging_conformance_tests {
    ($open:expr) => {
        $crate::paging_conformance_tests!(@each $open;
            the_newest_inbox_pages_by_key_through_ties_and_arrivals,
            the_most_urgent_inbox_pages_by_key_open_before_finished,
            inbox_pages_keep_the_scope_and_every_filter,
            follow_up_tasks_page_by_key_through_ties_and_arrivals,
            the_fleet_pages_by_kiosk_number_and_counts_alerts_for_the_whole_scope,
            a_fleet_summary_is_kept_for_its_time_counted_once_at_a_time_and_forgotten_after_a_change,
            the_catalogue_version_moves_with_the_feed_and_the_cache_follows_it
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::paging::$check(store).await;
            }
        )*
    };
}

fn place(path: &str) -> Village {
    match path.parse::<Scope>() {
        Ok(Scope::Village(village)) => village,
        _ => panic!("`{path}` is not county/township/village"),
    }
}

fn scope(text: &str) -> Scope {
    text.parse().expect("scope")
}

fn day(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// Ingests `sent` from `kiosk`, received at `at`.
async fn arrive(store: &dyn Store, kiosk: &KioskRecord, sent: &Submission, at: DateTime<Utc>) {
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
    assert!(
        matches!(outcomes[..], [IngestOutcome::Accepted { .. }]),
        "{outcomes:?}"
    );
}

/// An application from `kiosk` with sequence `seq`, received at `at`; its receipt.
async fn apply_at(store: &dyn Store, kiosk: &KioskRecord, seq: u64, at: DateTime<Utc>) -> String {
    let sent = submission(kiosk.kiosk_number, seq);
    arrive(store, kiosk, &sent, at).await;
    sent.receipt_number
}

/// Moves a just-received submission to `status` with promised date `due`.
async fn set_state(store: &dyn Store, receipt: &str, status: SubmissionStatus, due: Option<&str>) {
    let found = store
        .find_submission(&crate::store::SubmissionRef::Receipt(receipt.to_owned()))
        .await
        .expect("find")
        .expect("stored");
    let at = t0() + Duration::days(1);
    let update = ReviewUpdate {
        submission_id: found.submission.id,
        expected: ReviewState::received(),
        next: ReviewState {
            status,
            stage: 1,
            levels: Some(1),
            accepted_at: Some(at),
            due_on: due.map(day),
            ..ReviewState::received()
        },
        villager_note: None,
        action: ReviewActionRecord {
            stage: 1,
            actor: "wang".into(),
            action: "accept".into(),
            comment: String::new(),
            at,
            materials: Vec::new(),
        },
        audit: AuditEntry::new(at, "wang", "review.accept").target(receipt),
    };
    store
        .apply_review(update)
        .await
        .expect("store")
        .expect("applied");
}

fn inbox_query(scope: Scope, order: InboxOrder, include_final: bool, limit: u32) -> InboxQuery {
    InboxQuery {
        scope,
        waiting_for: None,
        statuses: Vec::new(),
        include_final,
        kind: None,
        item_code: None,
        id_number: None,
        village: None,
        received_from: None,
        received_until: None,
        overdue_only: false,
        due_soon_only: false,
        today: day("2026-03-06"),
        due_soon_days: 3,
        order,
        page: PageAt::First,
        limit,
    }
}

/// One page's receipts, and the keys of its neighbours.
async fn inbox_page(
    store: &dyn Store,
    query: &InboxQuery,
    at: PageAt<InboxKey>,
) -> (Vec<String>, Option<InboxKey>, Option<InboxKey>) {
    let page = store
        .inbox(&InboxQuery {
            page: at,
            ..query.clone()
        })
        .await
        .expect("inbox");
    let receipts = page
        .items
        .iter()
        .map(|item| item.record.submission.receipt_number.clone())
        .collect();
    (receipts, page.previous, page.next)
}

/// Every page forward from the first; `between(n)` runs after page `n` (from 1) is read.
async fn walk_forward<F, Fut>(
    store: &dyn Store,
    query: &InboxQuery,
    mut between: F,
) -> Vec<Vec<String>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut pages = Vec::new();
    let mut at = PageAt::First;
    loop {
        let (receipts, previous, next) = inbox_page(store, query, at).await;
        assert_eq!(
            previous.is_some(),
            !pages.is_empty(),
            "only the first page has no page before it"
        );
        pages.push(receipts);
        between(pages.len()).await;
        match next {
            Some(key) => at = PageAt::After(key),
            None => return pages,
        }
        assert!(pages.len() < 100, "paging does not end");
    }
}

/// Every page backward from the one before `key`, in reading order (the first page first).
async fn walk_back(store: &dyn Store, query: &InboxQuery, key: InboxKey) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut at = PageAt::Before(key);
    loop {
        let (receipts, previous, next) = inbox_page(store, query, at).await;
        assert!(next.is_some(), "a page read backwards has one after it");
        pages.insert(0, receipts);
        match previous {
            Some(key) => at = PageAt::Before(key),
            None => return pages,
        }
        assert!(pages.len() < 100, "paging does not end");
    }
}

pub async fn the_newest_inbox_pages_by_key_through_ties_and_arrivals(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let kiosk = enroll_in(store, place("示范县/凤岭乡/石门村"), 1).await;
    let hour = |h: i64| t0() + Duration::hours(h);
    let s1 = apply_at(store, &kiosk, 1, hour(1)).await;
    // Six arrive in the same millisecond: the pages of three cut through them twice.
    let mut tied = Vec::new();
    for seq in 2..=7 {
        tied.push(apply_at(store, &kiosk, seq, hour(2)).await);
    }
    let s8 = apply_at(store, &kiosk, 8, hour(3)).await;
    // Newest first; among equals, the one stored last first.
    let mut expected = vec![s8.clone()];
    expected.extend(tied.iter().rev().cloned());
    expected.push(s1.clone());

    let query = inbox_query(scope("示范县"), InboxOrder::Newest, true, 3);
    let pages = walk_forward(store, &query, |read| {
        // While someone pages, more arrive: newer than all, and in the same millisecond as
        // the tied ones (stored later, so before them in this order). They are before the
        // page being read: an offset would now point at rows already shown.
        let at = if read == 1 { hour(4) } else { hour(2) };
        let (kiosk, seq) = (kiosk.clone(), 100 + read as u64);
        async move {
            if read <= 2 {
                apply_at(store, &kiosk, seq, at).await;
            }
        }
    })
    .await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 2],
        "{pages:?}"
    );
    assert_eq!(
        pages.concat(),
        expected,
        "every row once, in order, whatever arrived meanwhile"
    );

    // Backwards from the key of the eighth row: every row before it once, in order; pages
    // read backwards are full but the first.
    let whole = inbox_page(
        store,
        &InboxQuery {
            limit: 100,
            ..query.clone()
        },
        PageAt::First,
    )
    .await
    .0;
    assert_eq!(whole.len(), expected.len() + 2);
    assert_eq!(
        store.inbox(&query).await.expect("inbox").total,
        whole.len() as u64
    );
    let eighth = store
        .inbox(&InboxQuery {
            limit: 8,
            ..query.clone()
        })
        .await
        .expect("inbox")
        .next
        .expect("more after the eighth");
    let (tail, previous, next) = inbox_page(store, &query, PageAt::After(eighth)).await;
    assert_eq!(
        tail,
        whole[8..],
        "the page after a key is the rows after it"
    );
    assert_eq!((previous.is_some(), next), (true, None));
    let back = walk_back(store, &query, eighth).await;
    assert_eq!(back.concat(), whole[..7]);
    assert!(back.iter().skip(1).all(|page| page.len() == 3), "{back:?}");

    // A key of the other order is not one of this list's.
    let other = InboxKey::MostUrgent {
        is_final: false,
        due: day("2026-03-10"),
        received_at: hour(2),
        row: 1,
    };
    assert!(matches!(
        store
            .inbox(&InboxQuery {
                page: PageAt::After(other),
                ..query
            })
            .await,
        Err(StoreError::InvalidCursor(_))
    ));
}

pub async fn the_most_urgent_inbox_pages_by_key_open_before_finished(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let kiosk = enroll_in(store, place("示范县/凤岭乡/石门村"), 1).await;
    let hour = |h: i64| t0() + Duration::hours(h);
    let mut seq = 0;
    let mut make = async |at: DateTime<Utc>, status: SubmissionStatus, due: Option<&str>| {
        seq += 1;
        let receipt = apply_at(store, &kiosk, seq, at).await;
        if status != SubmissionStatus::Received {
            set_state(store, &receipt, status, due).await;
        }
        receipt
    };
    use SubmissionStatus::{Accepted, Approved, Received, Rejected};
    // Stored out of order, so the order below is the key's and not the rows'.
    let c1 = make(hour(2), Received, None).await;
    let a: Vec<String> = {
        let mut a = Vec::new();
        for _ in 0..4 {
            // Same promised date, same arrival: only the row number tells them apart.
            a.push(make(hour(1), Accepted, Some("2026-03-10")).await);
        }
        a
    };
    let f2 = make(hour(1), Rejected, None).await;
    let b1 = make(hour(3), Accepted, Some("2026-03-05")).await;
    let c2 = make(hour(1), Received, None).await;
    let f1 = make(hour(1), Approved, Some("2026-03-01")).await;
    let expected: Vec<String> = [vec![b1.clone()], a.clone(), vec![c2.clone(), c1.clone()]]
        .concat()
        .into_iter()
        .chain([f1.clone(), f2.clone()])
        .collect();

    let query = inbox_query(scope("示范县/凤岭乡"), InboxOrder::MostUrgent, true, 2);
    let pages = walk_forward(store, &query, |read| {
        // Arrivals that sort before the page being read: more urgent open ones, and one
        // due the same day as the tied ones but arrived earlier.
        let (at, due) = match read {
            1 => (hour(1), "2026-03-04"),
            _ => (hour(0), "2026-03-10"),
        };
        let kiosk = kiosk.clone();
        let seq = 100 + read as u64;
        async move {
            if read <= 3 {
                let receipt = apply_at(store, &kiosk, seq, at).await;
                set_state(store, &receipt, Accepted, Some(due)).await;
            }
        }
    })
    .await;
    assert_eq!(
        pages.concat(),
        expected,
        "open by promised date (none last), then finished; ties by arrival, then row"
    );
    assert!(pages[..pages.len() - 1].iter().all(|page| page.len() == 2));

    // Open ones only: the finished never come, and the pages end with the undated.
    let open = InboxQuery {
        include_final: false,
        limit: 100,
        ..query.clone()
    };
    let (receipts, _, next) = inbox_page(store, &open, PageAt::First).await;
    assert_eq!(next, None);
    assert_eq!(receipts.len(), expected.len() - 2 + 3);
    assert_eq!(receipts[receipts.len() - 2..], [c2.clone(), c1.clone()]);
    assert!(!receipts.contains(&f1) && !receipts.contains(&f2));

    // Backwards from the last open one: every open one before it once, most urgent first;
    // the page after it starts with the finished.
    let last_open = store
        .inbox(&InboxQuery {
            limit: receipts.len() as u32,
            ..query.clone()
        })
        .await
        .expect("inbox")
        .next
        .expect("the finished ones follow");
    let back = walk_back(store, &query, last_open).await;
    assert_eq!(back.concat(), receipts[..receipts.len() - 1]);
    let (after, _, next) = inbox_page(store, &query, PageAt::After(last_open)).await;
    assert_eq!((after, next), (vec![f1, f2], None));
}

pub async fn inbox_pages_keep_the_scope_and_every_filter(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let here = enroll_in(store, place("示范县/凤岭乡/石门村"), 1).await;
    let next_door = enroll_in(store, place("示范县/凤岭乡/义江村"), 2).await;
    // Same village name, another township: a village filter names the village, not its
    // township, as the staff form has it.
    let namesake = enroll_in(store, place("示范县/白圩镇/石门村"), 3).await;
    let elsewhere = enroll_in(store, place("邻县/凤岭乡/石门村"), 4).await;
    let at = t0() + Duration::hours(1);
    let mut mine = Vec::new();
    for seq in 1..=5 {
        mine.push(apply_at(store, &here, seq, at).await);
    }
    let neighbour = apply_at(store, &next_door, 1, at).await;
    let namesake_one = apply_at(store, &namesake, 1, at).await;
    let far = apply_at(store, &elsewhere, 1, at).await;
    let evaluation = evaluation(here.kiosk_number, 9, 1, None);
    arrive(store, &here, &evaluation, at).await;
    set_state(
        store,
        &mine[0],
        SubmissionStatus::Accepted,
        Some("2026-03-02"),
    )
    .await;
    set_state(
        store,
        &mine[1],
        SubmissionStatus::Accepted,
        Some("2026-03-07"),
    )
    .await;
    set_state(
        store,
        &mine[2],
        SubmissionStatus::Approved,
        Some("2026-03-02"),
    )
    .await;

    let all_pages = async |query: InboxQuery| -> (Vec<String>, u64) {
        let mut receipts = Vec::new();
        let mut at = PageAt::First;
        let total = store.inbox(&query).await.expect("inbox").total;
        loop {
            let (page, _, next) = inbox_page(store, &query, at).await;
            receipts.extend(page);
            match next {
                Some(key) => at = PageAt::After(key),
                None => return (receipts, total),
            }
        }
    };
    let sorted = |mut receipts: Vec<String>| {
        receipts.sort();
        receipts
    };
    for order in [InboxOrder::Newest, InboxOrder::MostUrgent] {
        let query = |scope_text: &str| inbox_query(scope(scope_text), order, true, 2);
        let (village, total) = all_pages(query("示范县/凤岭乡/石门村")).await;
        assert_eq!(sorted(village), sorted(mine.clone()), "{order:?}");
        assert_eq!(total, 5);
        let (township, _) = all_pages(query("示范县/凤岭乡")).await;
        assert_eq!(
            sorted(township),
            sorted([mine.clone(), vec![neighbour.clone()]].concat())
        );
        let (by_name, total) = all_pages(InboxQuery {
            village: Some("石门村".into()),
            ..query("示范县")
        })
        .await;
        assert_eq!(
            sorted(by_name),
            sorted([mine.clone(), vec![namesake_one.clone()]].concat())
        );
        assert_eq!(total, 6);
        let (everything, _) = all_pages(query("*")).await;
        assert_eq!(everything.len(), 8, "no evaluation in any inbox");
        assert!(everything.contains(&far));
        let (open, total) = all_pages(InboxQuery {
            include_final: false,
            ..query("示范县/凤岭乡/石门村")
        })
        .await;
        assert_eq!(total, 4);
        assert!(!open.contains(&mine[2]));
        let (accepted, _) = all_pages(InboxQuery {
            statuses: vec![SubmissionStatus::Accepted],
            ..query("示范县")
        })
        .await;
        assert_eq!(sorted(accepted), sorted(mine[..2].to_vec()));
        let (overdue, total) = all_pages(InboxQuery {
            overdue_only: true,
            ..query("示范县")
        })
        .await;
        assert_eq!((overdue, total), (vec![mine[0].clone()], 1));
        let (soon, _) = all_pages(InboxQuery {
            due_soon_only: true,
            ..query("示范县")
        })
        .await;
        assert_eq!(soon, [mine[1].clone()]);
        let counted = store
            .inbox(&InboxQuery {
                limit: 0,
                ..query("示范县")
            })
            .await
            .expect("inbox");
        assert_eq!(
            (counted.items.len(), counted.total, counted.next),
            (0, 7, None)
        );
    }
}

pub async fn follow_up_tasks_page_by_key_through_ties_and_arrivals(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let kiosk = enroll_in(store, place("示范县/凤岭乡/义江村"), 1).await;
    let at = t0() + Duration::hours(2);
    let mut bad = Vec::new();
    for seq in 1..=5 {
        let rating = evaluation(kiosk.kiosk_number, seq, 1 + (seq % 2) as u8, None);
        arrive(store, &kiosk, &rating, at).await;
        bad.push(rating.receipt_number);
    }
    let fine = evaluation(kiosk.kiosk_number, 6, 5, None);
    arrive(store, &kiosk, &fine, at).await;

    let list = |filter, page| TaskQuery {
        scope: scope("示范县/凤岭乡"),
        filter,
        page,
        limit: 2,
    };
    let mut seen = Vec::new();
    let mut at_page = PageAt::First;
    let mut seq = 100;
    loop {
        let page = store
            .follow_up_tasks(&list(TaskFilter::Open, at_page))
            .await
            .expect("tasks");
        seen.extend(
            page.tasks
                .iter()
                .map(|t| t.record.submission.receipt_number.clone()),
        );
        // An older bad rating arrives (a booth that was offline): it sorts first.
        seq += 1;
        let late = evaluation(kiosk.kiosk_number, seq, 1, None);
        arrive(store, &kiosk, &late, at - Duration::hours(1)).await;
        match page.next {
            Some(key) => at_page = PageAt::After(key),
            None => break,
        }
    }
    assert_eq!(seen, bad, "oldest first, ties by row, each once");

    // Closed ones: the most recently closed first; closed in one instant, by row, newest row
    // first.
    let now = t0() + Duration::days(1);
    for receipt in &bad {
        for step in [
            FollowUpStep::Fix {
                note: "加开窗口".into(),
            },
            FollowUpStep::Close,
        ] {
            store
                .record_follow_up(FollowUpWrite {
                    receipt_number: receipt.clone(),
                    scope: Scope::All,
                    now,
                    actor: "li".into(),
                    audit: AuditEntry::new(now, "li", step.audit_action()).target(receipt),
                    step,
                })
                .await
                .expect("store")
                .expect("recorded");
        }
    }
    let mut closed = Vec::new();
    let mut at_page: PageAt<TaskKey> = PageAt::First;
    loop {
        let page = store
            .follow_up_tasks(&list(TaskFilter::Closed, at_page))
            .await
            .expect("tasks");
        assert_eq!(page.total, 5);
        closed.extend(
            page.tasks
                .iter()
                .map(|t| t.record.submission.receipt_number.clone()),
        );
        match page.next {
            Some(key) => at_page = PageAt::After(key),
            None => break,
        }
    }
    let mut newest_first = bad.clone();
    newest_first.reverse();
    assert_eq!(closed, newest_first);
    let last_key = store
        .follow_up_tasks(&TaskQuery {
            limit: 4,
            ..list(TaskFilter::Closed, PageAt::First)
        })
        .await
        .expect("tasks")
        .next
        .expect("one more");
    let back = store
        .follow_up_tasks(&list(TaskFilter::Closed, PageAt::Before(last_key)))
        .await
        .expect("tasks");
    assert_eq!(
        back.tasks
            .iter()
            .map(|t| t.record.submission.receipt_number.clone())
            .collect::<Vec<_>>(),
        newest_first[1..3]
    );
    assert!(back.previous.is_some() && back.next.is_some());
}

fn heartbeat(printer: Option<PrinterHealth>) -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth {
            printer,
            reader_present: true,
            scanner_present: true,
        },
        app_version: "0.3.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 0,
        update: None,
    }
}

fn printer(paper_end: bool, paper_near_end: bool, cover_open: bool) -> Option<PrinterHealth> {
    Some(PrinterHealth {
        online: !paper_end && !cover_open,
        paper_end,
        paper_near_end,
        cover_open,
    })
}

/// What the rules say of `kiosks` at `now`: counts, and the alerting ones in the page's order.
fn by_the_rules(kiosks: &[KioskRecord], now: DateTime<Utc>) -> (FleetCounts, Vec<u32>) {
    let mut counts = FleetCounts::default();
    let mut alerting: Vec<(bool, u32)> = Vec::new();
    for kiosk in kiosks {
        if kiosk.is_revoked() {
            counts.retired += 1;
            continue;
        }
        counts.active += 1;
        let alerts = fleet::alerts(kiosk, now);
        for alert in &alerts {
            match alert {
                Alert::Offline { .. } => counts.offline += 1,
                Alert::PaperOut => counts.paper_out += 1,
                Alert::PaperNearEnd => counts.paper_near_end += 1,
                Alert::QueueNotDraining { .. } => counts.queue_not_draining += 1,
                Alert::Quarantined { .. } => counts.quarantined += 1,
            }
        }
        if !alerts.is_empty() {
            alerting.push((!alerts.iter().any(Alert::is_severe), kiosk.kiosk_number));
        }
    }
    alerting.sort();
    (counts, alerting.into_iter().map(|(_, n)| n).collect())
}

pub async fn the_fleet_pages_by_kiosk_number_and_counts_alerts_for_the_whole_scope(
    store: Arc<dyn Store>,
) {
    let now = t0() + Duration::hours(2);
    let ago = |minutes: i64| now - Duration::minutes(minutes);
    let mut kiosks = Vec::new();
    for (n, path) in [
        "示范县/凤岭乡/石门村",
        "示范县/凤岭乡/义江村",
        "示范县/白圩镇/那坡村",
        "示范县/凤岭乡/石门村",
        "示范县/白圩镇/那坡村",
        "示范县/凤岭乡/石门村",
        "示范县/凤岭乡/义江村",
    ]
    .iter()
    .enumerate()
    {
        kiosks.push(enroll_in(store.as_ref(), place(path), 10 + n as u8).await);
    }
    let outside = enroll_in(store.as_ref(), place("邻县/凤岭乡/石门村"), 30).await;
    let beat = async |kiosk: &KioskRecord, heartbeat: Heartbeat, at: DateTime<Utc>| {
        store
            .record_heartbeat(&kiosk.kiosk_id, &heartbeat, at)
            .await
            .expect("heartbeat");
    };
    // 0: paper out. 1: near its end behind an open cover, and quarantined items. 2: a queue
    // an hour and a half old while online. 3: the same queue, but unseen for 90 minutes:
    // offline, and the queue says nothing then. 4: never seen since enrolled two hours ago.
    // 5: healthy, then replaced by a re-enrollment (its number goes on). 6: paper out, but
    // revoked. Outside the scope: paper out.
    beat(&kiosks[0], heartbeat(printer(true, true, false)), ago(1)).await;
    beat(
        &kiosks[1],
        Heartbeat {
            quarantined: 2,
            ..heartbeat(printer(false, true, true))
        },
        ago(1),
    )
    .await;
    let stuck = Heartbeat {
        queue_depth: 3,
        oldest_pending_age_s: Some(5400),
        ..heartbeat(printer(false, false, false))
    };
    beat(&kiosks[2], stuck.clone(), ago(2)).await;
    beat(&kiosks[3], stuck, ago(90)).await;
    beat(&kiosks[5], heartbeat(printer(false, false, false)), ago(1)).await;
    beat(&kiosks[6], heartbeat(printer(true, true, false)), ago(1)).await;
    beat(&outside, heartbeat(printer(true, true, false)), ago(1)).await;
    let code = new_code_in(store.as_ref(), place("示范县/凤岭乡/石门村")).await;
    let successor = store
        .enroll_kiosk(replacing_claim(&code, 50, &kiosks[5], ago(30)))
        .await
        .expect("store")
        .expect("replacement")
        .into_kiosk();
    assert_eq!(successor.kiosk_number, kiosks[5].kiosk_number);
    store
        .touch_kiosk(&successor.kiosk_id, ago(1))
        .await
        .expect("touch");
    store
        .revoke_kiosk(
            &crate::store::KioskRef::Id(kiosks[6].kiosk_id.clone()),
            ago(5),
        )
        .await
        .expect("revoke");

    let county = scope("示范县");
    let query = |page, limit| FleetQuery {
        scope: county.clone(),
        page,
        limit,
    };
    let summary = |alert_limit| FleetSummaryQuery {
        scope: county.clone(),
        alert_limit,
        now,
    };
    let in_scope: Vec<KioskRecord> = store
        .list_kiosks()
        .await
        .expect("kiosks")
        .into_iter()
        .filter(|kiosk| county.covers(&kiosk.village))
        .collect();
    let (counts, alerting) = by_the_rules(&in_scope, now);
    assert_eq!(
        counts,
        FleetCounts {
            active: 6,
            retired: 2,
            offline: 2,
            paper_out: 1,
            paper_near_end: 1,
            queue_not_draining: 1,
            quarantined: 1,
        },
        "the rules, as this check expects them"
    );
    let first = store.fleet_summary(&summary(3)).await.expect("fleet");
    assert_eq!(first.counts, counts, "counted by the store as by the rules");
    assert_eq!(
        first
            .alerting
            .iter()
            .map(|k| k.kiosk_number)
            .collect::<Vec<_>>(),
        alerting[..3],
        "severe first, then by number, at most the limit"
    );
    let every_alert = store.fleet_summary(&summary(100)).await.expect("fleet");
    assert_eq!(
        every_alert
            .alerting
            .iter()
            .map(|k| k.kiosk_number)
            .collect::<Vec<_>>(),
        alerting
    );
    assert_eq!(every_alert.counts, counts);
    assert_eq!(
        store.fleet_summary(&summary(0)).await.expect("fleet"),
        FleetSummary {
            counts,
            alerting: Vec::new()
        },
        "counted, none listed"
    );
    let everything = store
        .fleet_page(&query(PageAt::First, 100))
        .await
        .expect("fleet");
    assert_eq!(everything.kiosks, in_scope, "list_kiosks' order");
    assert_eq!((everything.previous, everything.next), (None, None));

    // By two numbers a page; the replaced kiosk shares a page with its successor.
    let mut pages: Vec<Vec<KioskRecord>> = Vec::new();
    let mut at = PageAt::First;
    loop {
        let page = store.fleet_page(&query(at, 2)).await.expect("fleet");
        assert_eq!(page.previous.is_some(), !pages.is_empty());
        pages.push(page.kiosks);
        match page.next {
            Some(number) => at = PageAt::After(number),
            None => break,
        }
    }
    assert_eq!(pages.concat(), in_scope);
    let numbers = |page: &[KioskRecord]| {
        let mut numbers: Vec<u32> = page.iter().map(|k| k.kiosk_number).collect();
        numbers.dedup();
        numbers
    };
    assert_eq!(
        pages.iter().map(|p| numbers(p).len()).collect::<Vec<_>>(),
        [2, 2, 2, 1]
    );
    let replaced = pages
        .iter()
        .find(|p| p.iter().any(|k| k.kiosk_id == successor.kiosk_id))
        .expect("the successor's page");
    assert!(replaced.iter().any(|k| k.kiosk_id == kiosks[5].kiosk_id));
    let last_number = pages[3][0].kiosk_number;
    let back = store
        .fleet_page(&query(PageAt::Before(last_number), 2))
        .await
        .expect("fleet");
    assert_eq!(back.kiosks, pages[2]);
    assert_eq!(
        back.next,
        Some(pages[2].last().expect("kiosk").kiosk_number)
    );

    let village_scope = scope("示范县/白圩镇/那坡村");
    let village = store
        .fleet_page(&FleetQuery {
            scope: village_scope.clone(),
            ..query(PageAt::First, 100)
        })
        .await
        .expect("fleet");
    let village_summary = store
        .fleet_summary(&FleetSummaryQuery {
            scope: village_scope,
            ..summary(100)
        })
        .await
        .expect("fleet");
    assert_eq!(
        village.kiosks,
        in_scope
            .iter()
            .filter(|k| k.village.village == "那坡村")
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(village.kiosks.len(), 2);
    assert_eq!(
        (
            village_summary.counts.active,
            village_summary.counts.offline,
            village_summary.counts.queue_not_draining
        ),
        (2, 1, 1)
    );
}

/// [`FleetSummaries`] over this store: what the fleet page shows of a scope's counts.
pub async fn a_fleet_summary_is_kept_for_its_time_counted_once_at_a_time_and_forgotten_after_a_change(
    store: Arc<dyn Store>,
) {
    let county = scope("示范县");
    let kiosk = enroll_in(store.as_ref(), place("示范县/凤岭乡/石门村"), 10).await;
    let neighbour = enroll_in(store.as_ref(), place("邻县/凤岭乡/石门村"), 11).await;
    let paper_out = async |kiosk: &KioskRecord| {
        store
            .record_heartbeat(
                &kiosk.kiosk_id,
                &heartbeat(printer(true, true, false)),
                Utc::now(),
            )
            .await
            .expect("heartbeat");
    };
    let kept = Arc::new(FleetSummaries::new(std::time::Duration::from_secs(3600)));
    let first = kept
        .summary(store.as_ref(), &county, 10)
        .await
        .expect("summary");
    assert_eq!(
        (first.summary.counts.active, first.summary.counts.paper_out),
        (1, 0)
    );
    assert_eq!(kept.store_counts(), 1);

    paper_out(&kiosk).await;
    let again = kept
        .summary(store.as_ref(), &county, 10)
        .await
        .expect("summary");
    assert_eq!(again.summary, first.summary, "kept: not counted again");
    assert_eq!(again.at, first.at);
    assert_eq!(kept.store_counts(), 1);

    // Another scope, or another length of the alert list, is counted for itself.
    paper_out(&neighbour).await;
    let everywhere = kept
        .summary(store.as_ref(), &scope("*"), 10)
        .await
        .expect("summary");
    assert_eq!(
        (
            everywhere.summary.counts.active,
            everywhere.summary.counts.paper_out
        ),
        (2, 2)
    );
    let shorter = kept
        .summary(store.as_ref(), &county, 0)
        .await
        .expect("summary");
    assert_eq!(shorter.summary.counts.paper_out, 1);
    assert!(shorter.summary.alerting.is_empty());
    assert_eq!(kept.store_counts(), 3);

    // After a change through this instance: counted again, once for ten views at once.
    kept.forget();
    let mut views = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (kept, store, county) = (Arc::clone(&kept), Arc::clone(&store), county.clone());
        views.spawn(async move {
            kept.summary(store.as_ref(), &county, 10)
                .await
                .expect("summary")
        });
    }
    let views = views.join_all().await;
    assert_eq!(kept.store_counts(), 4, "one count for the ten views");
    for view in &views {
        assert_eq!(view.summary.counts.paper_out, 1);
        assert_eq!(
            view.summary
                .alerting
                .iter()
                .map(|k| &k.kiosk_id)
                .collect::<Vec<_>>(),
            [&kiosk.kiosk_id]
        );
    }

    // Kept for no time: counted on every view.
    let live = FleetSummaries::new(std::time::Duration::ZERO);
    for _ in 0..3 {
        live.summary(store.as_ref(), &county, 10)
            .await
            .expect("summary");
    }
    assert_eq!(live.store_counts(), 3);
}

pub async fn the_catalogue_version_moves_with_the_feed_and_the_cache_follows_it(
    store: Arc<dyn Store>,
) {
    let cache = CatalogCache::default();
    let read = async |cache: &CatalogCache| {
        let cached = cache.page(store.as_ref(), None, 10).await.expect("page");
        assert_eq!(
            cached.page,
            store.catalog_page(None, 10).await.expect("page"),
            "what the store answers now"
        );
        assert_eq!(
            serde_json::to_vec(&cached.page).expect("json"),
            cached.json.to_vec()
        );
        cached.page.items.len()
    };
    assert_eq!(store.catalog_version().await.expect("version"), 0);
    assert_eq!(read(&cache).await, 0);
    store
        .import_catalog(
            vec![catalog_item("A", "低保"), catalog_item("B", "临时救助")],
            t0(),
        )
        .await
        .expect("import");
    let version = store.catalog_version().await.expect("version");
    let whole = store.catalog_page(None, 100).await.expect("page");
    assert_eq!(
        version.to_string(),
        whole.cursor,
        "the feed's newest change"
    );
    assert_eq!(read(&cache).await, 2, "the import shows at once");
    assert_eq!(read(&cache).await, 2);
    let counts = cache.counts();
    assert_eq!((counts.reads, counts.hits), (2, 1), "{counts:?}");

    // The same items again change nothing: the version holds, and so does the page.
    store
        .import_catalog(
            vec![catalog_item("A", "低保"), catalog_item("B", "临时救助")],
            t0(),
        )
        .await
        .expect("import");
    assert_eq!(store.catalog_version().await.expect("version"), version);
    read(&cache).await;
    assert_eq!(cache.counts().hits, 2);

    // A withdrawal is a change, and the page after the old cursor shows it.
    store
        .import_catalog(vec![catalog_item("A", "低保")], t0())
        .await
        .expect("import");
    assert!(store.catalog_version().await.expect("version") > version);
    let after = cache
        .page(store.as_ref(), Some(&whole.cursor), 10)
        .await
        .expect("page");
    assert_eq!(after.page.items.len(), 1);
    assert!(after.page.items[0].withdrawn);
    assert_eq!(read(&cache).await, 2);
}
