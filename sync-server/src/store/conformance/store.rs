//! The [`Store`] trait's own behaviour: enrollment and replacement, revocation and the fleet,
//! heartbeats, ingest (duplicates, conflicts, concurrency), the statuses feed, catalogue
//! imports, notices, listing, stats, and session sliding.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::feed::SubmissionStatus;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::receipt::ReceiptNumber;
use sync_protocol::submission::Submission;
use uuid::Uuid;

use super::{
    audit_lines, catalog_item, claim, enroll, enroll_in, new_code, new_code_in, submission, t0,
    village,
};
use crate::domain::access::{Role, Scope, SessionLifetime};
use crate::domain::fleet::KioskRecord;
use crate::store::paging::PageAt;
use crate::store::staff::{AuditEntry, FleetQuery, NewSession, NewStaffUser};
use crate::store::{
    ConflictReason, EnrollClaim, EnrollRefusal, Enrollment, IngestItem, IngestOutcome, KioskRef,
    NewEnrollCode, NewNotice, Replacement, RevokeOutcome, Store, StoreError, SubmissionFilter,
    SubmissionRef,
};

/// Generates one `#[tokio::test]` per conformance check; `$open` evaluates to
/// `(Arc<dyn Store>, guard)` where the guard keeps the store's files alive.
#[macro_export]
macro_rules! store_conformance_tests {
    ($open:expr) => {
        $crate::store_conformance_tests!(@each $open;
            server_id_is_stable,
            enrollment_numbers_kiosks_from_one_in_their_village,
            an_enroll_code_is_single_use,
            concurrent_enrollments_with_one_code_make_one_kiosk,
            expired_and_unknown_codes_are_refused_without_effect,
            a_public_key_enrolls_once_and_the_code_survives,
            a_repeated_enrollment_with_the_same_key_gets_the_same_kiosk,
            a_replacement_keeps_the_number_and_hands_over_submissions_and_statuses,
            submissions_stay_in_the_village_they_were_made_in_when_the_booth_moves,
            a_replacement_needs_an_unrevoked_proven_predecessor,
            a_lost_replacement_is_replaced_again_until_it_is_used,
            revocation_is_recorded_once,
            fleet_lists_and_revokes_only_in_scope_with_an_audit_line,
            an_enroll_code_from_staff_is_stored_with_its_audit_line,
            heartbeats_and_sightings_are_kept,
            a_repeated_submission_is_a_duplicate_with_the_original_time,
            different_content_under_a_taken_id_or_receipt_conflicts,
            concurrent_copies_of_a_submission_store_one,
            a_batch_answers_each_item_in_order,
            the_statuses_feed_pages_a_kiosks_own_changes,
            status_changes_are_kept_in_order,
            catalog_imports_bump_versions_and_withdraw,
            notices_reach_their_villages,
            submissions_list_by_kiosk_and_status,
            stats_count_kiosks_and_submissions,
            a_session_slides_in_steps_up_to_its_absolute_limit
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::store::$check(store).await;
            }
        )*
    };
}

/// A claim by a booth that proves it was `previous` (whose key is `[previous_key_byte; 32]`).
pub(super) fn replacing_claim(
    code_key: &str,
    key_byte: u8,
    previous: &KioskRecord,
    now: DateTime<Utc>,
) -> EnrollClaim {
    EnrollClaim {
        replaces: Some(Replacement {
            kiosk_id: previous.kiosk_id.clone(),
            proven_key: Some(previous.public_key),
        }),
        ..claim(code_key, key_byte, now)
    }
}

fn item(submission: &Submission) -> IngestItem {
    IngestItem {
        submission: submission.clone(),
        content_digest: submission.content_digest(),
    }
}

pub async fn server_id_is_stable(store: Arc<dyn Store>) {
    let first = store.server_id().await.unwrap();
    assert!(!first.is_empty());
    assert_eq!(store.server_id().await.unwrap(), first);
}

pub async fn enrollment_numbers_kiosks_from_one_in_their_village(store: Arc<dyn Store>) {
    let first = enroll(store.as_ref(), "石门村", 1).await;
    let second = enroll(store.as_ref(), "六合村", 2).await;
    assert_eq!((first.kiosk_number, second.kiosk_number), (1, 2));
    assert_eq!(first.village, village("石门村"));
    assert_eq!(first.public_key, [1; 32]);
    assert_eq!(first.enrolled_at, t0());
    assert!(!first.is_revoked());
    assert_eq!(
        store
            .find_kiosk(&KioskRef::Id(second.kiosk_id.clone()))
            .await
            .unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.find_kiosk(&KioskRef::Number(1)).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.list_kiosks().await.unwrap(), vec![first, second]);
}

pub async fn an_enroll_code_is_single_use(store: Arc<dyn Store>) {
    let code = new_code(store.as_ref(), "石门村").await;
    store
        .enroll_kiosk(claim(&code, 1, t0()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.enroll_kiosk(claim(&code, 2, t0())).await.unwrap(),
        Err(EnrollRefusal::AlreadyUsed),
        "another key cannot use a used code"
    );
    assert_eq!(store.list_kiosks().await.unwrap().len(), 1);
}

pub async fn concurrent_enrollments_with_one_code_make_one_kiosk(store: Arc<dyn Store>) {
    let code = new_code(store.as_ref(), "石门村").await;
    let attempts: Vec<_> = (1..=8u8)
        .map(|key| {
            let store = Arc::clone(&store);
            let code = code.clone();
            tokio::spawn(async move { store.enroll_kiosk(claim(&code, key, t0())).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap().unwrap() {
            Ok(_) => won += 1,
            Err(refusal) => assert_eq!(refusal, EnrollRefusal::AlreadyUsed),
        }
    }
    assert_eq!(won, 1, "exactly one enrollment wins the code");
    assert_eq!(store.list_kiosks().await.unwrap().len(), 1);
}

pub async fn expired_and_unknown_codes_are_refused_without_effect(store: Arc<dyn Store>) {
    let code = new_code(store.as_ref(), "石门村").await;
    let late = t0() + Duration::days(1);
    assert_eq!(
        store.enroll_kiosk(claim(&code, 1, late)).await.unwrap(),
        Err(EnrollRefusal::Expired(late))
    );
    assert_eq!(
        store
            .enroll_kiosk(claim("no-such-code", 1, t0()))
            .await
            .unwrap(),
        Err(EnrollRefusal::UnknownCode)
    );
    assert!(store.list_kiosks().await.unwrap().is_empty());
    // Just before expiry the same code still works: the refusals changed nothing.
    let just_in_time = late - Duration::milliseconds(1);
    assert!(
        store
            .enroll_kiosk(claim(&code, 1, just_in_time))
            .await
            .unwrap()
            .is_ok()
    );
}

pub async fn a_public_key_enrolls_once_and_the_code_survives(store: Arc<dyn Store>) {
    let first = enroll(store.as_ref(), "石门村", 7).await;
    let code = new_code(store.as_ref(), "石门村").await;
    assert_eq!(
        store.enroll_kiosk(claim(&code, 7, t0())).await.unwrap(),
        Err(EnrollRefusal::KeyAlreadyEnrolled(first.kiosk_id))
    );
    assert!(
        store
            .enroll_kiosk(claim(&code, 8, t0()))
            .await
            .unwrap()
            .is_ok()
    );
}

pub async fn a_repeated_enrollment_with_the_same_key_gets_the_same_kiosk(store: Arc<dyn Store>) {
    let code = new_code(store.as_ref(), "石门村").await;
    let Enrollment::New(first) = store
        .enroll_kiosk(claim(&code, 3, t0()))
        .await
        .unwrap()
        .unwrap()
    else {
        panic!("a first enrollment is new");
    };
    // Even after the code's expiry: the booth may retry hours later, after a power cut.
    let retry = claim(&code, 3, t0() + Duration::days(2));
    assert_ne!(retry.kiosk_id, first.kiosk_id);
    assert_eq!(
        store.enroll_kiosk(retry).await.unwrap(),
        Ok(Enrollment::Repeated(first.clone()))
    );
    assert_eq!(
        store.enroll_kiosk(claim(&code, 4, t0())).await.unwrap(),
        Err(EnrollRefusal::AlreadyUsed)
    );
    assert_eq!(store.list_kiosks().await.unwrap(), vec![first.clone()]);
    // A revoked kiosk is still the one the code made; the caller decides what to answer.
    store
        .revoke_kiosk(&KioskRef::Id(first.kiosk_id.clone()), t0())
        .await
        .unwrap();
    match store.enroll_kiosk(claim(&code, 3, t0())).await.unwrap() {
        Ok(Enrollment::Repeated(kiosk)) => {
            assert_eq!(kiosk.kiosk_id, first.kiosk_id);
            assert_eq!(kiosk.revoked_at, Some(t0()));
        }
        other => panic!("expected Repeated, got {other:?}"),
    }
}

pub async fn a_replacement_keeps_the_number_and_hands_over_submissions_and_statuses(
    store: Arc<dyn Store>,
) {
    let old = enroll(store.as_ref(), "石门村", 1).await;
    let neighbour = enroll(store.as_ref(), "六合村", 2).await;
    let first = submission(old.kiosk_number, 1);
    let second = submission(old.kiosk_number, 2);
    store
        .ingest(&old.kiosk_id, vec![item(&first), item(&second)], t0())
        .await
        .unwrap();
    store
        .set_status(
            &SubmissionRef::Id(first.id),
            SubmissionStatus::Accepted,
            None,
            t0() + Duration::minutes(1),
        )
        .await
        .unwrap();
    store
        .ingest(
            &neighbour.kiosk_id,
            vec![item(&submission(neighbour.kiosk_number, 1))],
            t0(),
        )
        .await
        .unwrap();

    let code = new_code(store.as_ref(), "石门村").await;
    let at = t0() + Duration::hours(1);
    let Enrollment::Replacement {
        kiosk: new,
        replaced,
    } = store
        .enroll_kiosk(replacing_claim(&code, 3, &old, at))
        .await
        .unwrap()
        .unwrap()
    else {
        panic!("a proven, active predecessor is replaced");
    };
    assert_eq!(replaced, old.kiosk_id);
    assert_eq!(new.kiosk_number, old.kiosk_number, "the number is kept");
    assert_eq!(new.public_key, [3; 32]);
    assert!(!new.is_revoked());
    let retired = store
        .find_kiosk(&KioskRef::Id(old.kiosk_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retired.revoked_at, Some(at));
    assert_eq!(retired.replaced_by.as_deref(), Some(new.kiosk_id.as_str()));
    assert_eq!(
        store
            .find_kiosk(&KioskRef::Number(old.kiosk_number))
            .await
            .unwrap(),
        Some(new.clone()),
        "a number names its active kiosk"
    );
    assert_eq!(
        store.list_kiosks().await.unwrap(),
        vec![retired.clone(), new.clone(), neighbour.clone()],
        "by number, the retired one first"
    );

    let owners: Vec<String> = store
        .list_submissions(&SubmissionFilter {
            kiosk: Some(KioskRef::Number(old.kiosk_number)),
            ..SubmissionFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.kiosk_id)
        .collect();
    assert_eq!(owners, vec![new.kiosk_id.clone(), new.kiosk_id.clone()]);
    let statuses = store.statuses_page(&new.kiosk_id, None, 10).await.unwrap();
    let delivered: Vec<_> = statuses
        .items
        .iter()
        .map(|c| (c.submission_id, c.status))
        .collect();
    assert_eq!(
        delivered,
        vec![
            (first.id, SubmissionStatus::Received),
            (second.id, SubmissionStatus::Received),
            (first.id, SubmissionStatus::Accepted),
        ],
        "the new kiosk's feed, from the start, carries the old kiosk's changes"
    );
    assert!(
        store
            .statuses_page(&old.kiosk_id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .statuses_page(&neighbour.kiosk_id, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1,
        "other kiosks keep theirs"
    );

    // The booth goes on: a queued submission numbered before, a resent one, a new status.
    let queued = submission(old.kiosk_number, 3);
    let outcomes = store
        .ingest(&new.kiosk_id, vec![item(&queued), item(&second)], at)
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            IngestOutcome::Accepted { received_at: at },
            IngestOutcome::Duplicate { received_at: t0() },
        ]
    );
    store
        .set_status(
            &SubmissionRef::Receipt(second.receipt_number.clone()),
            SubmissionStatus::Approved,
            None,
            at + Duration::minutes(1),
        )
        .await
        .unwrap();
    let next = store
        .statuses_page(&new.kiosk_id, Some(&statuses.cursor), 10)
        .await
        .unwrap();
    let statuses_after: Vec<_> = next
        .items
        .iter()
        .map(|c| (c.submission_id, c.status))
        .collect();
    assert_eq!(
        statuses_after,
        vec![
            (queued.id, SubmissionStatus::Received),
            (second.id, SubmissionStatus::Approved),
        ]
    );

    // Numbers are still never reused.
    assert_eq!(enroll(store.as_ref(), "石门村", 4).await.kiosk_number, 3);
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.kiosks_active, stats.kiosks_revoked), (3, 1));
}

/// A booth moved to another township keeps its number and statuses feed, but what it took in
/// before stays in the old village's scope: the new township's staff never see it.
pub async fn submissions_stay_in_the_village_they_were_made_in_when_the_booth_moves(
    store: Arc<dyn Store>,
) {
    let home = village("石门村");
    let elsewhere = Village {
        county: "示范县".into(),
        township: "白圩镇".into(),
        village: "六合村".into(),
    };
    let old = enroll_in(store.as_ref(), home.clone(), 1).await;
    let uploaded = submission(old.kiosk_number, 1);
    store
        .ingest(&old.kiosk_id, vec![item(&uploaded)], t0())
        .await
        .unwrap();
    let moved_at = t0() + Duration::hours(1);
    let code = new_code_in(store.as_ref(), elsewhere.clone()).await;
    let new = store
        .enroll_kiosk(replacing_claim(&code, 2, &old, moved_at))
        .await
        .unwrap()
        .unwrap()
        .into_kiosk();
    assert_eq!(new.village, elsewhere);
    assert_eq!(new.kiosk_number, old.kiosk_number);
    // Made before the move, uploaded after it; then one made after it.
    let queued = Submission {
        created_at: moved_at - Duration::minutes(10),
        ..submission(old.kiosk_number, 2)
    };
    let later = Submission {
        created_at: moved_at + Duration::minutes(10),
        ..submission(old.kiosk_number, 3)
    };
    store
        .ingest(
            &new.kiosk_id,
            vec![item(&queued), item(&later)],
            moved_at + Duration::hours(1),
        )
        .await
        .unwrap();

    let old_township: Scope = "示范县/凤岭乡".parse().unwrap();
    let new_township: Scope = "示范县/白圩镇".parse().unwrap();
    for (made, place) in [(&uploaded, &home), (&queued, &home), (&later, &elsewhere)] {
        let id = SubmissionRef::Id(made.id);
        let (inside, outside) = if place == &home {
            (&old_township, &new_township)
        } else {
            (&new_township, &old_township)
        };
        let found = store.review_item(&id, inside).await.unwrap();
        assert_eq!(
            found.map(|item| item.village),
            Some(place.clone()),
            "{}",
            made.kiosk_seq
        );
        assert_eq!(
            store.review_item(&id, outside).await.unwrap(),
            None,
            "submission {} is outside {outside}",
            made.kiosk_seq
        );
    }
}

pub async fn a_replacement_needs_an_unrevoked_proven_predecessor(store: Arc<dyn Store>) {
    let old = enroll(store.as_ref(), "石门村", 1).await;
    store
        .ingest(
            &old.kiosk_id,
            vec![item(&submission(old.kiosk_number, 1))],
            t0(),
        )
        .await
        .unwrap();

    // A key that is not the predecessor's proves nothing, and the code stays unused.
    let code = new_code(store.as_ref(), "石门村").await;
    let mut unproven = replacing_claim(&code, 2, &old, t0());
    if let Some(replacement) = unproven.replaces.as_mut() {
        replacement.proven_key = Some([9; 32]);
    }
    assert_eq!(
        store.enroll_kiosk(unproven.clone()).await.unwrap(),
        Err(EnrollRefusal::ReplacementNotProven(old.kiosk_id.clone()))
    );
    // A proof that verified with no key: refused too, and only once the code checks out.
    if let Some(replacement) = unproven.replaces.as_mut() {
        replacement.proven_key = None;
    }
    assert_eq!(
        store.enroll_kiosk(unproven.clone()).await.unwrap(),
        Err(EnrollRefusal::ReplacementNotProven(old.kiosk_id.clone()))
    );
    assert_eq!(
        store
            .enroll_kiosk(EnrollClaim {
                code_key: "no-such-code".into(),
                ..unproven
            })
            .await
            .unwrap(),
        Err(EnrollRefusal::UnknownCode)
    );
    // The new key must be new, replacement or not.
    assert_eq!(
        store
            .enroll_kiosk(replacing_claim(&code, 1, &old, t0()))
            .await
            .unwrap(),
        Err(EnrollRefusal::KeyAlreadyEnrolled(old.kiosk_id.clone()))
    );
    assert_eq!(store.list_kiosks().await.unwrap(), vec![old.clone()]);

    // A predecessor this store never had: a plain enrollment.
    let stranger = KioskRecord {
        kiosk_id: Uuid::now_v7().to_string(),
        ..old.clone()
    };
    let plain = store
        .enroll_kiosk(replacing_claim(&code, 2, &stranger, t0()))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(plain, Enrollment::New(_)), "{plain:?}");
    assert_eq!(plain.kiosk().kiosk_number, 2);

    // Revoked by staff: its key vouches for nothing; a plain enrollment, nothing moves.
    store
        .revoke_kiosk(&KioskRef::Id(old.kiosk_id.clone()), t0())
        .await
        .unwrap();
    let code = new_code(store.as_ref(), "石门村").await;
    let after_revocation = store
        .enroll_kiosk(replacing_claim(&code, 3, &old, t0()))
        .await
        .unwrap()
        .unwrap();
    let Enrollment::New(fresh) = after_revocation else {
        panic!("expected a plain enrollment, got {after_revocation:?}");
    };
    assert_eq!(fresh.kiosk_number, 3);
    let revoked = store
        .find_kiosk(&KioskRef::Id(old.kiosk_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.replaced_by, None);
    assert_eq!(
        store
            .list_submissions(&SubmissionFilter {
                kiosk: Some(KioskRef::Id(old.kiosk_id.clone())),
                ..SubmissionFilter::default()
            })
            .await
            .unwrap()
            .len(),
        1,
        "a revoked kiosk keeps its submissions"
    );
}

pub async fn a_lost_replacement_is_replaced_again_until_it_is_used(store: Arc<dyn Store>) {
    let old = enroll(store.as_ref(), "石门村", 1).await;
    let kept = submission(old.kiosk_number, 1);
    store
        .ingest(&old.kiosk_id, vec![item(&kept)], t0())
        .await
        .unwrap();
    // The booth re-enrolls, but the answer (and the new key) is lost before it is stored.
    let lost_code = new_code(store.as_ref(), "石门村").await;
    let lost = store
        .enroll_kiosk(replacing_claim(&lost_code, 2, &old, t0()))
        .await
        .unwrap()
        .unwrap()
        .into_kiosk();
    // With a new code and its old key still in hand, the booth tries again.
    let code = new_code(store.as_ref(), "石门村").await;
    let at = t0() + Duration::minutes(5);
    let again = store
        .enroll_kiosk(replacing_claim(&code, 3, &old, at))
        .await
        .unwrap()
        .unwrap();
    let Enrollment::Replacement {
        kiosk: current,
        replaced,
    } = again
    else {
        panic!("the unused successor is replaced, got {again:?}");
    };
    assert_eq!(replaced, lost.kiosk_id);
    assert_eq!(current.kiosk_number, old.kiosk_number);
    let found = store
        .find_submission(&SubmissionRef::Id(kept.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.kiosk_id, current.kiosk_id);
    let lost = store
        .find_kiosk(&KioskRef::Id(lost.kiosk_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lost.replaced_by.as_deref(), Some(current.kiosk_id.as_str()));

    // Once the booth has used its new identity, the old key no longer reaches it.
    store.touch_kiosk(&current.kiosk_id, at).await.unwrap();
    let code = new_code(store.as_ref(), "石门村").await;
    let late = store
        .enroll_kiosk(replacing_claim(&code, 4, &old, at))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(late, Enrollment::New(_)), "{late:?}");
    assert_eq!(late.kiosk().kiosk_number, old.kiosk_number + 1);
    let current_now = store
        .find_kiosk(&KioskRef::Id(current.kiosk_id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !current_now.is_revoked(),
        "the booth in use keeps its identity"
    );
}

pub async fn revocation_is_recorded_once(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let by_id = KioskRef::Id(kiosk.kiosk_id.clone());
    let at = t0() + Duration::hours(1);
    let RevokeOutcome::Revoked(revoked) = store.revoke_kiosk(&by_id, at).await.unwrap() else {
        panic!("the first revocation revokes");
    };
    assert_eq!(revoked.revoked_at, Some(at));
    let again = store
        .revoke_kiosk(
            &KioskRef::Number(kiosk.kiosk_number),
            at + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(again, RevokeOutcome::AlreadyRevoked(revoked.clone()));
    assert_eq!(
        store.find_kiosk(&by_id).await.unwrap().unwrap().revoked_at,
        Some(at)
    );
    assert_eq!(
        store.revoke_kiosk(&KioskRef::Number(99), at).await.unwrap(),
        RevokeOutcome::NotFound
    );
}

/// Enrolls a kiosk in `county/township/village` with public key `[key_byte; 32]`.
async fn enroll_at(store: &dyn Store, place: &str, key_byte: u8) -> KioskRecord {
    let Ok(Scope::Village(village)) = place.parse::<Scope>() else {
        panic!("`{place}` is not county/township/village");
    };
    enroll_in(store, village, key_byte).await
}

pub async fn fleet_lists_and_revokes_only_in_scope_with_an_audit_line(store: Arc<dyn Store>) {
    let fengling = enroll_at(store.as_ref(), "示范县/凤岭乡/石门村", 1).await;
    let baixu = enroll_at(store.as_ref(), "示范县/白圩镇/义江村", 2).await;
    let elsewhere = enroll_at(store.as_ref(), "邻县/凤岭乡/石门村", 3).await;
    let numbers = |kiosks: Vec<KioskRecord>| -> Vec<u32> {
        kiosks.iter().map(|kiosk| kiosk.kiosk_number).collect()
    };
    let scope = |text: &str| text.parse::<Scope>().expect("scope");
    let list = |text: &str| {
        let store = Arc::clone(&store);
        let scope = scope(text);
        async move {
            store
                .fleet_page(&FleetQuery {
                    scope,
                    page: PageAt::First,
                    limit: 100,
                })
                .await
                .expect("list")
                .kiosks
        }
    };
    assert_eq!(
        numbers(list("示范县/凤岭乡").await),
        [fengling.kiosk_number]
    );
    assert_eq!(
        numbers(list("示范县").await),
        [fengling.kiosk_number, baixu.kiosk_number]
    );
    assert_eq!(numbers(list("*").await).len(), 3);
    assert_eq!(
        numbers(list("邻县/凤岭乡/石门村").await),
        [elsewhere.kiosk_number]
    );
    assert!(list("示范县/凤岭乡/义江村").await.is_empty());

    let township = scope("示范县/凤岭乡");
    let at = t0() + Duration::hours(1);
    let audit = || AuditEntry::new(at, "admin", "fleet.revoke").target("kiosk");
    let outside = store
        .revoke_kiosk_in(&township, &baixu.kiosk_id, at, audit())
        .await
        .unwrap();
    assert_eq!(outside, RevokeOutcome::NotFound, "outside the scope");
    assert!(
        !store
            .find_kiosk(&KioskRef::Id(baixu.kiosk_id.clone()))
            .await
            .unwrap()
            .unwrap()
            .is_revoked()
    );
    assert!(audit_lines(store.as_ref(), "fleet.revoke").await.is_empty());

    let RevokeOutcome::Revoked(revoked) = store
        .revoke_kiosk_in(&township, &fengling.kiosk_id, at, audit())
        .await
        .unwrap()
    else {
        panic!("a kiosk in scope is revoked");
    };
    assert_eq!(revoked.revoked_at, Some(at));
    let again = store
        .revoke_kiosk_in(&township, &fengling.kiosk_id, at, audit())
        .await
        .unwrap();
    assert!(matches!(again, RevokeOutcome::AlreadyRevoked(_)));
    assert_eq!(
        store
            .revoke_kiosk_in(&township, "no-such-kiosk", at, audit())
            .await
            .unwrap(),
        RevokeOutcome::NotFound
    );
    assert_eq!(
        audit_lines(store.as_ref(), "fleet.revoke").await,
        [audit()],
        "one line, for the one change"
    );
}

pub async fn an_enroll_code_from_staff_is_stored_with_its_audit_line(store: Arc<dyn Store>) {
    let code_key = format!("code-{}", Uuid::now_v7());
    let audit = AuditEntry::new(t0(), "admin", "fleet.enroll_code").target("示范县/凤岭乡/石门村");
    store
        .create_enroll_code_audited(
            NewEnrollCode {
                code_key: code_key.clone(),
                village: village("石门村"),
                created_at: t0(),
                expires_at: t0() + Duration::days(1),
            },
            audit.clone(),
        )
        .await
        .unwrap();
    assert_eq!(
        audit_lines(store.as_ref(), "fleet.enroll_code").await,
        [audit]
    );
    let kiosk = store
        .enroll_kiosk(claim(&code_key, 1, t0()))
        .await
        .unwrap()
        .expect("the code enrolls");
    assert_eq!(kiosk.kiosk().village, village("石门村"));
}

pub async fn heartbeats_and_sightings_are_kept(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let by_id = KioskRef::Id(kiosk.kiosk_id.clone());
    assert_eq!(kiosk.last_seen_at, None);
    let heartbeat = Heartbeat {
        queue_depth: 3,
        oldest_pending_age_s: Some(120),
        quarantined: 1,
        devices: DeviceHealth::default(),
        app_version: "0.2.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 3600,
        clock_offset_ms: -1500,
        update: None,
    };
    let at = t0() + Duration::minutes(5);
    store
        .record_heartbeat(&kiosk.kiosk_id, &heartbeat, at)
        .await
        .unwrap();
    let found = store.find_kiosk(&by_id).await.unwrap().unwrap();
    let record = found.last_heartbeat.expect("heartbeat kept");
    assert_eq!(record.heartbeat, heartbeat);
    assert_eq!(record.received_at, at);
    assert_eq!(found.last_seen_at, Some(at));

    let later = at + Duration::minutes(1);
    store.touch_kiosk(&kiosk.kiosk_id, later).await.unwrap();
    store.touch_kiosk(&kiosk.kiosk_id, at).await.unwrap();
    let found = store.find_kiosk(&by_id).await.unwrap().unwrap();
    assert_eq!(found.last_seen_at, Some(later), "last seen never goes back");
}

pub async fn a_repeated_submission_is_a_duplicate_with_the_original_time(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let sent = submission(kiosk.kiosk_number, 1);
    let first_at = t0() + Duration::milliseconds(1234);
    let first = store
        .ingest(&kiosk.kiosk_id, vec![item(&sent)], first_at)
        .await
        .unwrap();
    assert_eq!(
        first,
        vec![IngestOutcome::Accepted {
            received_at: first_at
        }]
    );
    let again = store
        .ingest(
            &kiosk.kiosk_id,
            vec![item(&sent)],
            t0() + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![IngestOutcome::Duplicate {
            received_at: first_at
        }]
    );
    let stored = store
        .find_submission(&SubmissionRef::Id(sent.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.submission, sent, "stored with its personal data");
    assert_eq!(stored.status, SubmissionStatus::Received);
    assert_eq!(stored.received_at, first_at);
    assert_eq!(stored.kiosk_id, kiosk.kiosk_id);
    let feed = store
        .statuses_page(&kiosk.kiosk_id, None, 10)
        .await
        .unwrap();
    assert_eq!(feed.items.len(), 1, "one `received` change, not two");
    assert_eq!(feed.items[0].status, SubmissionStatus::Received);
    assert_eq!(feed.items[0].changed_at, first_at);
}

pub async fn different_content_under_a_taken_id_or_receipt_conflicts(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let original = submission(kiosk.kiosk_number, 1);
    store
        .ingest(&kiosk.kiosk_id, vec![item(&original)], t0())
        .await
        .unwrap();

    let mut changed = original.clone();
    changed.fields.insert("household_size".into(), "5".into());
    let mut same_receipt = submission(kiosk.kiosk_number, 1);
    same_receipt.text = Some("another".into());
    let outcomes = store
        .ingest(
            &kiosk.kiosk_id,
            vec![item(&changed), item(&same_receipt)],
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            IngestOutcome::Conflict(ConflictReason::DifferentContent),
            IngestOutcome::Conflict(ConflictReason::ReceiptNumberTaken { by: original.id }),
        ]
    );
    let stored = store
        .find_submission(&SubmissionRef::Id(original.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.submission, original, "the original stands");
    assert_eq!(
        store
            .find_submission(&SubmissionRef::Id(same_receipt.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .statuses_page(&kiosk.kiosk_id, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn concurrent_copies_of_a_submission_store_one(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let sent = submission(kiosk.kiosk_number, 1);
    let copies: Vec<_> = (0..8i64)
        .map(|n| {
            let store = Arc::clone(&store);
            let kiosk_id = kiosk.kiosk_id.clone();
            let copy = item(&sent);
            tokio::spawn(async move {
                store
                    .ingest(&kiosk_id, vec![copy], t0() + Duration::seconds(n))
                    .await
            })
        })
        .collect();
    let mut accepted_at = Vec::new();
    let mut duplicate_at = Vec::new();
    for copy in copies {
        match copy.await.unwrap().unwrap()[..] {
            [IngestOutcome::Accepted { received_at }] => accepted_at.push(received_at),
            [IngestOutcome::Duplicate { received_at }] => duplicate_at.push(received_at),
            ref other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted_at.len(), 1, "exactly one copy is accepted");
    assert!(
        duplicate_at.iter().all(|at| *at == accepted_at[0]),
        "duplicates report the accepted copy's time"
    );
    let all = store
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

pub async fn a_batch_answers_each_item_in_order(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let old = submission(kiosk.kiosk_number, 1);
    store
        .ingest(&kiosk.kiosk_id, vec![item(&old)], t0())
        .await
        .unwrap();
    let mut clash = old.clone();
    clash.rating = Some(5);
    let new = submission(kiosk.kiosk_number, 2);
    let at = t0() + Duration::minutes(1);
    let outcomes = store
        .ingest(
            &kiosk.kiosk_id,
            vec![item(&new), item(&clash), item(&old), item(&new)],
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            IngestOutcome::Accepted { received_at: at },
            IngestOutcome::Conflict(ConflictReason::DifferentContent),
            IngestOutcome::Duplicate { received_at: t0() },
            IngestOutcome::Duplicate { received_at: at },
        ]
    );
}

pub async fn the_statuses_feed_pages_a_kiosks_own_changes(store: Arc<dyn Store>) {
    let mine = enroll(store.as_ref(), "石门村", 1).await;
    let theirs = enroll(store.as_ref(), "六合村", 2).await;
    for seq in 1..=3 {
        let own = submission(mine.kiosk_number, seq);
        store
            .ingest(&mine.kiosk_id, vec![item(&own)], t0())
            .await
            .unwrap();
        let other = submission(theirs.kiosk_number, seq);
        store
            .ingest(&theirs.kiosk_id, vec![item(&other)], t0())
            .await
            .unwrap();
    }
    let first = ReceiptNumber::new(mine.kiosk_number, 1).to_string();
    store
        .set_status(
            &SubmissionRef::Receipt(first.clone()),
            SubmissionStatus::Accepted,
            Some("已受理".into()),
            t0() + Duration::hours(1),
        )
        .await
        .unwrap()
        .expect("found by receipt");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .statuses_page(&mine.kiosk_id, cursor.as_deref(), 1)
            .await
            .unwrap();
        assert!(page.items.len() <= 1);
        seen.extend(page.items.iter().cloned());
        cursor = Some(page.cursor.clone());
        if !page.more {
            break;
        }
    }
    assert_eq!(seen.len(), 4, "three `received` and one `accepted`");
    assert!(
        seen.iter()
            .all(|c| c.receipt_number.starts_with(&first[..3]))
    );
    assert_eq!(seen[3].status, SubmissionStatus::Accepted);
    assert_eq!(seen[3].note.as_deref(), Some("已受理"));

    let end = store
        .statuses_page(&mine.kiosk_id, cursor.as_deref(), 10)
        .await
        .unwrap();
    assert!(end.items.is_empty() && !end.more);
    assert_eq!(Some(end.cursor), cursor, "the cursor stays put at the end");

    store
        .set_status(
            &SubmissionRef::Receipt(first),
            SubmissionStatus::Approved,
            None,
            t0() + Duration::hours(2),
        )
        .await
        .unwrap();
    let next = store
        .statuses_page(&mine.kiosk_id, cursor.as_deref(), 10)
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1, "only the new change after the cursor");
    assert_eq!(next.items[0].status, SubmissionStatus::Approved);

    match store.statuses_page(&mine.kiosk_id, Some("bogus"), 10).await {
        Err(StoreError::InvalidCursor(text)) => assert_eq!(text, "bogus"),
        other => panic!("expected InvalidCursor, got {other:?}"),
    }
}

pub async fn status_changes_are_kept_in_order(store: Arc<dyn Store>) {
    let kiosk = enroll(store.as_ref(), "石门村", 1).await;
    let sent = submission(kiosk.kiosk_number, 1);
    store
        .ingest(&kiosk.kiosk_id, vec![item(&sent)], t0())
        .await
        .unwrap();
    let at = t0() + Duration::days(1);
    let change = store
        .set_status(
            &SubmissionRef::Id(sent.id),
            SubmissionStatus::NeedsCorrection,
            Some("请补交户口簿复印件".into()),
            at,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.status, SubmissionStatus::NeedsCorrection);
    assert_eq!(change.changed_at, at);
    let stored = store
        .find_submission(&SubmissionRef::Receipt(sent.receipt_number.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, SubmissionStatus::NeedsCorrection);
    assert_eq!(stored.status_changed_at, at);
    let history = store.submission_history(sent.id).await.unwrap();
    let statuses: Vec<_> = history.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![
            SubmissionStatus::Received,
            SubmissionStatus::NeedsCorrection
        ]
    );
    assert_eq!(
        store
            .set_status(
                &SubmissionRef::Id(Uuid::now_v7()),
                SubmissionStatus::Approved,
                None,
                at
            )
            .await
            .unwrap(),
        None
    );
}

pub async fn catalog_imports_bump_versions_and_withdraw(store: Arc<dyn Store>) {
    let pension = catalog_item("GX-SB-001", "养老保险");
    let dibao = catalog_item("GX-MZ-001", "低保");
    let report = store
        .import_catalog(vec![pension.clone(), dibao.clone()], t0())
        .await
        .unwrap();
    assert_eq!(report.added.len(), 2);
    let first = store.catalog_page(None, 10).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.items.iter().all(|i| i.version == 1 && !i.withdrawn));
    assert!(!first.more);

    let unchanged = store
        .import_catalog(vec![pension.clone(), dibao.clone()], t0())
        .await
        .unwrap();
    assert_eq!(unchanged.unchanged.len(), 2);
    let quiet = store.catalog_page(Some(&first.cursor), 10).await.unwrap();
    assert!(quiet.items.is_empty(), "an unchanged import adds nothing");

    let mut changed = pension.clone();
    changed.steps.push("领取结果".into());
    let report = store.import_catalog(vec![changed], t0()).await.unwrap();
    assert_eq!(report.updated, vec!["GX-SB-001".to_string()]);
    assert_eq!(report.withdrawn, vec!["GX-MZ-001".to_string()]);
    let next = store.catalog_page(Some(&first.cursor), 10).await.unwrap();
    let by_code: BTreeMap<_, _> = next.items.iter().map(|i| (i.code.as_str(), i)).collect();
    assert_eq!(by_code.len(), 2);
    assert_eq!(by_code["GX-SB-001"].version, 2);
    assert_eq!(by_code["GX-SB-001"].steps.len(), 3);
    assert!(by_code["GX-MZ-001"].withdrawn);
    assert_eq!(by_code["GX-MZ-001"].version, 2);

    let back = store
        .import_catalog(vec![pension, dibao], t0())
        .await
        .unwrap();
    assert_eq!(
        back.updated.len(),
        2,
        "the changed one reverts, the withdrawn one returns"
    );
    let whole = store.catalog_page(None, 10).await.unwrap();
    assert_eq!(
        whole.items.len(),
        2,
        "each item once, in its latest version"
    );
    assert!(whole.items.iter().all(|i| i.version == 3 && !i.withdrawn));
}

pub async fn notices_reach_their_villages(store: Arc<dyn Store>) {
    let on = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let notice = |title: &str, villages: &[&str]| NewNotice {
        title: title.into(),
        body: "正文".into(),
        published_on: on,
        expires_on: None,
        villages: villages.iter().map(|v| (*v).to_owned()).collect(),
    };
    let everyone = store
        .add_notice(notice("全县通知", &[]), t0())
        .await
        .unwrap();
    store
        .add_notice(notice("六合村通知", &["六合村"]), t0())
        .await
        .unwrap();
    let both = store
        .add_notice(notice("两村通知", &["石门村", "六合村"]), t0())
        .await
        .unwrap();
    let page = store.notices_page("石门村", None, 10).await.unwrap();
    let titles: Vec<_> = page.items.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, vec!["全县通知", "两村通知"]);
    assert_eq!(page.items[0], everyone);
    assert_eq!(page.items[1], both);

    let first = store.notices_page("石门村", None, 1).await.unwrap();
    assert!(first.more);
    let rest = store
        .notices_page("石门村", Some(&first.cursor), 10)
        .await
        .unwrap();
    assert_eq!(rest.items, vec![both]);
    assert!(!rest.more);
}

pub async fn submissions_list_by_kiosk_and_status(store: Arc<dyn Store>) {
    let a = enroll(store.as_ref(), "石门村", 1).await;
    let b = enroll(store.as_ref(), "六合村", 2).await;
    let a1 = submission(a.kiosk_number, 1);
    let a2 = submission(a.kiosk_number, 2);
    let b1 = submission(b.kiosk_number, 1);
    store
        .ingest(&a.kiosk_id, vec![item(&a1)], t0())
        .await
        .unwrap();
    store
        .ingest(&b.kiosk_id, vec![item(&b1)], t0() + Duration::seconds(1))
        .await
        .unwrap();
    store
        .ingest(&a.kiosk_id, vec![item(&a2)], t0() + Duration::seconds(2))
        .await
        .unwrap();
    store
        .set_status(
            &SubmissionRef::Id(a1.id),
            SubmissionStatus::Approved,
            None,
            t0(),
        )
        .await
        .unwrap();
    let ids = |records: Vec<crate::store::SubmissionRecord>| -> Vec<Uuid> {
        records.into_iter().map(|r| r.submission.id).collect()
    };
    let all = store
        .list_submissions(&SubmissionFilter::default())
        .await
        .unwrap();
    assert_eq!(ids(all), vec![a2.id, b1.id, a1.id], "newest first");
    let of_a = SubmissionFilter {
        kiosk: Some(KioskRef::Number(a.kiosk_number)),
        ..SubmissionFilter::default()
    };
    assert_eq!(
        ids(store.list_submissions(&of_a).await.unwrap()),
        vec![a2.id, a1.id]
    );
    let of_b = SubmissionFilter {
        kiosk: Some(KioskRef::Id(b.kiosk_id.clone())),
        ..SubmissionFilter::default()
    };
    assert_eq!(
        ids(store.list_submissions(&of_b).await.unwrap()),
        vec![b1.id]
    );
    let approved = SubmissionFilter {
        status: Some(SubmissionStatus::Approved),
        ..SubmissionFilter::default()
    };
    assert_eq!(
        ids(store.list_submissions(&approved).await.unwrap()),
        vec![a1.id]
    );
    let limited = SubmissionFilter {
        limit: Some(1),
        ..SubmissionFilter::default()
    };
    assert_eq!(store.list_submissions(&limited).await.unwrap().len(), 1);
}

pub async fn stats_count_kiosks_and_submissions(store: Arc<dyn Store>) {
    let a = enroll(store.as_ref(), "石门村", 1).await;
    let b = enroll(store.as_ref(), "六合村", 2).await;
    store
        .revoke_kiosk(&KioskRef::Id(b.kiosk_id.clone()), t0())
        .await
        .unwrap();
    for seq in 1..=2 {
        store
            .ingest(
                &a.kiosk_id,
                vec![item(&submission(a.kiosk_number, seq))],
                t0(),
            )
            .await
            .unwrap();
    }
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.kiosks_active, stats.kiosks_revoked), (1, 1));
    assert_eq!(
        stats.submissions_by_status,
        vec![(SubmissionStatus::Received, 2)]
    );
}

/// A session's idle expiry slides with use, in steps of a thirtieth of the idle time (so that
/// not every page view is a write), never past the absolute limit; past its expiry it is gone.
pub async fn a_session_slides_in_steps_up_to_its_absolute_limit(store: Arc<dyn Store>) {
    let lifetime = SessionLifetime {
        idle: Duration::minutes(30),
        absolute: Duration::minutes(90),
    };
    let audit = |action: &str| AuditEntry::new(t0(), "test", action);
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
        .expect("store answers")
        .expect("account created");
    store
        .open_session(
            NewSession {
                token_hash: "session".into(),
                username: "li".into(),
                csrf_token: "csrf".into(),
                now: t0(),
                expires_at: t0() + lifetime.idle,
                remote: None,
            },
            audit("login.ok"),
        )
        .await
        .expect("session opened");
    let expiry_at = |minutes: i64, seconds: i64| {
        let store = Arc::clone(&store);
        async move {
            let now = t0() + Duration::minutes(minutes) + Duration::seconds(seconds);
            store
                .resume_session("session", now, lifetime)
                .await
                .expect("store answers")
                .map(|session| session.expires_at - t0())
        }
    };
    assert_eq!(expiry_at(10, 0).await, Some(Duration::minutes(40)), "slid");
    assert_eq!(
        expiry_at(10, 50).await,
        Some(Duration::minutes(40)),
        "within a step: not written again"
    );
    assert_eq!(
        expiry_at(11, 0).await,
        Some(Duration::minutes(41)),
        "a whole step later: slid again"
    );
    assert_eq!(expiry_at(40, 0).await, Some(Duration::minutes(70)));
    assert_eq!(
        expiry_at(65, 0).await,
        Some(Duration::minutes(90)),
        "capped at the absolute limit"
    );
    assert_eq!(expiry_at(89, 0).await, Some(Duration::minutes(90)));
    assert_eq!(expiry_at(90, 1).await, None, "past the absolute limit");
    assert_eq!(expiry_at(10, 0).await, None, "an ended session stays ended");
}
