//! The audit log's hash chain ([`crate::store::audit_chain`]): every audited write, however
//! it comes and however many at once, appends one line chained onto the last with the
//! canonical hash, so a log written by any backend verifies, and its head is what was written
//! last. (Tampering is the backend's file's business: see the SQLite tests.)

use std::sync::Arc;

use chrono::Duration;

use super::{new_code, t0};
use crate::domain::access::{LockPolicy, Role, Scope};
use crate::store::audit_chain::{
    self, AuditHead, BreakReason, ChainBreak, ChainHash, ChainVerdict, KeptHead, link,
};
use crate::store::staff::{AuditEntry, AuditFilter, NewSession, NewStaffUser};
use crate::store::{NewEnrollCode, Store};

/// Generates one `#[tokio::test]` per check, like [`crate::store_conformance_tests`].
#[macro_export]
macro_rules! audit_conformance_tests {
    ($open:expr) => {
        $crate::audit_conformance_tests!(@each $open;
            an_empty_log_is_an_intact_chain_without_a_head,
            every_audited_write_appends_one_line_with_the_canonical_hash,
            concurrent_writes_make_one_linear_chain,
            a_long_chain_verifies_across_pages,
            the_chain_pages_oldest_first_after_a_seq,
            a_kept_head_is_reached_as_the_log_grows
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::audit::$check(store).await;
            }
        )*
    };
}

fn line(n: usize) -> AuditEntry {
    AuditEntry::new(t0() + Duration::milliseconds(n as i64), "wang", "test.line")
        .target(format!("t-{n}"))
}

/// Appends `count` lines at once, from as many tasks.
async fn append_concurrently(store: &Arc<dyn Store>, count: usize) {
    let tasks: Vec<_> = (0..count)
        .map(|n| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.append_audit(line(n)).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("append");
    }
}

async fn verdict(store: &dyn Store, kept: Option<KeptHead>) -> ChainVerdict {
    audit_chain::verify(store, kept).await.expect("verify")
}

/// Recomputes the chain from the lines as [`crate::store::StaffStore::list_audit`] returns
/// them (not from the hashes the backend stored): the backend must have hashed exactly what
/// it keeps, with seqs 1, 2, 3 … Returns the head's hash.
async fn recomputed_head(store: &dyn Store) -> Option<(i64, ChainHash)> {
    let mut lines = store
        .list_audit(&AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        })
        .await
        .expect("list audit");
    lines.reverse();
    let mut prev = ChainHash::GENESIS;
    for (expected_seq, record) in (1..).zip(&lines) {
        assert_eq!(record.seq, expected_seq, "seqs run 1, 2, 3 … without gaps");
        prev = link(record.seq, &record.entry, &prev);
    }
    lines.last().map(|last| (last.seq, prev))
}

fn head_of(verdict: &ChainVerdict) -> AuditHead {
    match verdict {
        ChainVerdict::Intact {
            head: Some(head), ..
        } => *head,
        other => panic!("expected an intact chain with a head, got {other:?}"),
    }
}

pub async fn an_empty_log_is_an_intact_chain_without_a_head(store: Arc<dyn Store>) {
    assert_eq!(store.audit_head().await.unwrap(), None);
    assert_eq!(
        verdict(store.as_ref(), None).await,
        ChainVerdict::Intact {
            rows: 0,
            head: None,
            reaches_kept_head: false
        }
    );
    assert!(store.audit_chain_page(None, 10).await.unwrap().is_empty());
}

pub async fn every_audited_write_appends_one_line_with_the_canonical_hash(store: Arc<dyn Store>) {
    let audit = |action: &str| {
        AuditEntry::new(t0(), "admin", action)
            .target("li")
            .detail("带中文的说明")
            .remote(Some("10.0.0.7".into()))
    };
    store
        .create_user(
            NewStaffUser {
                username: "li".into(),
                display_name: "李".into(),
                role: Role::Viewer,
                scope: Scope::All,
                password_hash: "not a real hash".into(),
            },
            t0(),
            audit("account.create"),
        )
        .await
        .unwrap()
        .unwrap();
    store
        .record_login_failure("li", LockPolicy::default(), audit("login.failed"))
        .await
        .unwrap();
    store
        .open_session(
            NewSession {
                token_hash: "session".into(),
                username: "li".into(),
                csrf_token: "csrf".into(),
                now: t0(),
                expires_at: t0() + Duration::hours(1),
                remote: None,
            },
            audit("login.ok"),
        )
        .await
        .unwrap();
    store
        .close_session("session", audit("logout"))
        .await
        .unwrap();
    store
        .set_disabled("li", true, audit("account.disable"))
        .await
        .unwrap()
        .unwrap();
    let code_key = new_code(store.as_ref(), "石门村").await;
    store
        .create_enroll_code_audited(
            NewEnrollCode {
                code_key: format!("{code_key}-staff"),
                village: sync_protocol::enroll::Village {
                    county: "示范县".into(),
                    township: "凤岭乡".into(),
                    village: "石门村".into(),
                },
                created_at: t0(),
                expires_at: t0() + Duration::days(1),
            },
            AuditEntry::new(t0(), "admin", "fleet.code"),
        )
        .await
        .unwrap();
    // No target, detail or remote: absent texts hash as absent.
    store
        .append_audit(AuditEntry::new(t0(), "system", "bare"))
        .await
        .unwrap();

    let verdict = verdict(store.as_ref(), None).await;
    let head = head_of(&verdict);
    assert!(matches!(verdict, ChainVerdict::Intact { rows: 7, .. }));
    assert_eq!(store.audit_head().await.unwrap(), Some(head));
    assert_eq!(recomputed_head(store.as_ref()).await, Some((7, head.hash)));
    assert_eq!(head.at, t0());
}

pub async fn concurrent_writes_make_one_linear_chain(store: Arc<dyn Store>) {
    append_concurrently(&store, 40).await;
    let verdict = verdict(store.as_ref(), None).await;
    assert!(
        matches!(verdict, ChainVerdict::Intact { rows: 40, .. }),
        "{verdict:?}"
    );
    let head = head_of(&verdict);
    assert_eq!(recomputed_head(store.as_ref()).await, Some((40, head.hash)));
    let lines = store.audit_chain_page(None, 100).await.unwrap();
    for pair in lines.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "line {} follows line {}",
            pair[1].record.seq, pair[0].record.seq
        );
    }
}

pub async fn a_long_chain_verifies_across_pages(store: Arc<dyn Store>) {
    // More than two of verify's pages, so a link across a page's edge is checked too.
    append_concurrently(&store, 1_001).await;
    let verdict = verdict(store.as_ref(), None).await;
    assert!(
        matches!(verdict, ChainVerdict::Intact { rows: 1_001, .. }),
        "{verdict:?}"
    );
    assert_eq!(head_of(&verdict).seq, 1_001);
}

pub async fn the_chain_pages_oldest_first_after_a_seq(store: Arc<dyn Store>) {
    for n in 0..5 {
        store.append_audit(line(n)).await.unwrap();
    }
    let seqs = |lines: Vec<audit_chain::ChainedAudit>| {
        lines
            .into_iter()
            .map(|line| (line.record.seq, line.record.entry))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        seqs(store.audit_chain_page(None, 2).await.unwrap()),
        vec![(1, line(0)), (2, line(1))]
    );
    assert_eq!(
        seqs(store.audit_chain_page(Some(2), 10).await.unwrap()),
        vec![(3, line(2)), (4, line(3)), (5, line(4))]
    );
    assert!(
        store
            .audit_chain_page(Some(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let first = &store.audit_chain_page(None, 1).await.unwrap()[0];
    assert_eq!(first.prev_hash, ChainHash::GENESIS);
    assert_eq!(first.hash, link(1, &line(0), &ChainHash::GENESIS));
}

pub async fn a_kept_head_is_reached_as_the_log_grows(store: Arc<dyn Store>) {
    append_concurrently(&store, 3).await;
    let head = store.audit_head().await.unwrap().expect("a head");
    let kept = KeptHead {
        seq: head.seq,
        hash: head.hash,
    };
    append_concurrently(&store, 3).await;
    let grown = verdict(store.as_ref(), Some(kept)).await;
    assert!(
        matches!(
            grown,
            ChainVerdict::Intact {
                rows: 6,
                reaches_kept_head: true,
                ..
            }
        ),
        "{grown:?}"
    );
    let other = KeptHead {
        hash: ChainHash::from_bytes([7; 32]),
        ..kept
    };
    assert_eq!(
        verdict(store.as_ref(), Some(other)).await,
        ChainVerdict::Broken(ChainBreak {
            seq: 3,
            reason: BreakReason::NotTheKeptHead { kept: other.hash }
        })
    );
    let beyond = KeptHead { seq: 9, ..kept };
    assert_eq!(
        verdict(store.as_ref(), Some(beyond)).await,
        ChainVerdict::Broken(ChainBreak {
            seq: 9,
            reason: BreakReason::KeptHeadMissing { last: Some(6) }
        })
    );
}
