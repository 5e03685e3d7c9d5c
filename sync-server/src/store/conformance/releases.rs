//! [`ReleaseStore`](crate::store::ReleaseStore): releases kept once by version and by bundle,
//! rollouts and the states they move through, and the automatic pause and completion that
//! heartbeats bring about, each with its audit line.

use std::sync::Arc;

use booth_release::Version;
use chrono::Duration;
use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
use sync_protocol::release::{FailureStage, UpdateFailure, UpdateReport, UpdateState};

use super::{audit_lines, enroll, t0};
use crate::domain::releases::{ReleaseSummary, RolloutState, RolloutTargets};
use crate::store::Store;
use crate::store::releases::{
    NewRelease, NewRollout, ReleaseRefusal, RolloutChange, RolloutRefusal,
};
use crate::store::staff::AuditEntry;

/// Generates one `#[tokio::test]` per release check; `$open` as for
/// [`store_conformance_tests!`](crate::store_conformance_tests).
#[macro_export]
macro_rules! release_conformance_tests {
    ($open:expr) => {
        $crate::release_conformance_tests!(@each $open;
            a_release_is_kept_once_by_version_and_by_bundle,
            releases_are_listed_newest_version_first,
            a_rollout_needs_a_known_release_and_someone_to_include,
            rollout_changes_follow_their_states_with_an_audit_line_each,
            failures_past_the_threshold_pause_a_rollout_once,
            a_rollout_completes_when_every_booth_runs_it
        );
    };
    (@each $open:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let (store, _guard) = $open;
                $crate::store::conformance::releases::$check(store).await;
            }
        )*
    };
}

fn v(text: &str) -> Version {
    text.parse().expect("version")
}

fn summary() -> ReleaseSummary {
    ReleaseSummary {
        min_version: v("1.0.0"),
        supersedes_highest: None,
        store_reads: "1..2".into(),
        store_writes: 2,
        files: 3,
        files_bytes: 4096,
        signed_by: vec!["0123456789abcdef".into()],
        notes: Some("修复打印".into()),
    }
}

/// A release of `version` whose bundle's digest is `fill` repeated.
pub fn new_release(version: &str, fill: char) -> NewRelease {
    NewRelease {
        version: v(version),
        bundle: fill.to_string().repeat(64),
        size: 20 << 20,
        summary: summary(),
        uploaded_by: "county".into(),
        uploaded_at: t0(),
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::new(t0(), "county", action)
}

fn everyone() -> RolloutTargets {
    RolloutTargets {
        percent: 100,
        ..RolloutTargets::default()
    }
}

fn rollout_of(version: &str, targets: RolloutTargets) -> NewRollout {
    NewRollout {
        version: v(version),
        targets,
        failure_threshold: 20,
        created_by: "county".into(),
        created_at: t0(),
    }
}

fn heartbeat(update: Option<UpdateReport>) -> Heartbeat {
    Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: DeviceHealth::default(),
        app_version: "1.0.0".into(),
        disk_free_bytes: 1,
        uptime_s: 1,
        clock_offset_ms: 0,
        update,
    }
}

fn rolled_back(version: &str) -> UpdateReport {
    UpdateReport {
        running: v("1.0.0"),
        highest_installed: v("1.0.0"),
        target: Some(v(version)),
        state: UpdateState::RolledBack,
        downloaded_bytes: None,
        last_failure: Some(UpdateFailure {
            version: v(version),
            stage: FailureStage::Ready,
            reason: "not ready in time".into(),
        }),
    }
}

fn installed(version: &str) -> UpdateReport {
    UpdateReport {
        running: v(version),
        highest_installed: v(version),
        target: Some(v(version)),
        state: UpdateState::Installed,
        downloaded_bytes: None,
        last_failure: None,
    }
}

pub async fn a_release_is_kept_once_by_version_and_by_bundle(store: Arc<dyn Store>) {
    let kept = store
        .add_release(new_release("1.2.0", 'a'), audit("release.upload"))
        .await
        .unwrap()
        .expect("a new release");
    assert_eq!(kept, new_release("1.2.0", 'a'));
    assert_eq!(store.find_release(v("1.2.0")).await.unwrap(), Some(kept));
    assert_eq!(store.find_release(v("1.2.1")).await.unwrap(), None);
    assert_eq!(
        store
            .add_release(new_release("1.2.0", 'b'), audit("release.upload"))
            .await
            .unwrap(),
        Err(ReleaseRefusal::VersionExists(v("1.2.0")))
    );
    assert_eq!(
        store
            .add_release(new_release("1.3.0", 'a'), audit("release.upload"))
            .await
            .unwrap(),
        Err(ReleaseRefusal::BundleExists(v("1.2.0")))
    );
    assert_eq!(store.list_releases().await.unwrap().len(), 1);
    assert_eq!(
        audit_lines(store.as_ref(), "release.upload").await.len(),
        1,
        "a refusal writes no audit line"
    );
}

pub async fn releases_are_listed_newest_version_first(store: Arc<dyn Store>) {
    for (version, fill) in [("1.9.0", 'a'), ("1.10.0", 'b'), ("0.20.3", 'c')] {
        store
            .add_release(new_release(version, fill), audit("release.upload"))
            .await
            .unwrap()
            .unwrap();
    }
    let order: Vec<String> = store
        .list_releases()
        .await
        .unwrap()
        .iter()
        .map(|r| r.version.to_string())
        .collect();
    assert_eq!(order, ["1.10.0", "1.9.0", "0.20.3"]);
}

pub async fn a_rollout_needs_a_known_release_and_someone_to_include(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .create_rollout(rollout_of("2.0.0", everyone()), audit("rollout.create"))
            .await
            .unwrap(),
        Err(RolloutRefusal::UnknownRelease(v("2.0.0")))
    );
    store
        .add_release(new_release("2.0.0", 'd'), audit("release.upload"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .create_rollout(
                rollout_of("2.0.0", RolloutTargets::default()),
                audit("rollout.create")
            )
            .await
            .unwrap(),
        Err(RolloutRefusal::NoTargets)
    );
    assert!(audit_lines(store.as_ref(), "rollout").await.is_empty());
    let targets = RolloutTargets {
        percent: 10,
        townships: ["示范县/凤岭乡".to_owned()].into(),
        villages: ["示范县/白圩镇/白圩村".to_owned()].into(),
        booths: [7, 9].into(),
    };
    let made = store
        .create_rollout(
            rollout_of("2.0.0", targets.clone()),
            audit("rollout.create"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.state, RolloutState::Active);
    assert_eq!(made.targets, targets);
    assert_eq!(made.bundle, "d".repeat(64));
    assert_eq!(made.size, 20 << 20);
    assert_eq!(
        store.find_rollout(made.id).await.unwrap(),
        Some(made.clone())
    );
    let second = store
        .create_rollout(rollout_of("2.0.0", everyone()), audit("rollout.create"))
        .await
        .unwrap()
        .unwrap();
    assert!(second.id > made.id);
    let listed: Vec<i64> = store
        .list_rollouts()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, [second.id, made.id], "newest first");
    let lines = audit_lines(store.as_ref(), "rollout.create").await;
    assert_eq!(
        lines[0].target.as_deref(),
        Some(format!("rollout {}", second.id).as_str())
    );
}

pub async fn rollout_changes_follow_their_states_with_an_audit_line_each(store: Arc<dyn Store>) {
    store
        .add_release(new_release("1.1.0", 'e'), audit("release.upload"))
        .await
        .unwrap()
        .unwrap();
    let ten = RolloutTargets {
        percent: 10,
        ..RolloutTargets::default()
    };
    let id = store
        .create_rollout(rollout_of("1.1.0", ten.clone()), audit("rollout.create"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let change = |change: RolloutChange| {
        let store = Arc::clone(&store);
        async move {
            let action = change.action();
            store
                .change_rollout(id, change, audit(action))
                .await
                .unwrap()
        }
    };
    let state = |result: Result<crate::domain::releases::Rollout, RolloutRefusal>| {
        result.map(|rollout| rollout.state)
    };
    assert!(matches!(
        change(RolloutChange::Resume).await,
        Err(RolloutRefusal::WrongState {
            doing: "resumed",
            ..
        })
    ));
    assert_eq!(
        state(change(RolloutChange::Pause).await),
        Ok(RolloutState::Paused)
    );
    assert!(change(RolloutChange::Pause).await.is_err());
    let thirty = RolloutTargets {
        percent: 30,
        ..RolloutTargets::default()
    };
    let widened = change(RolloutChange::Widen(thirty.clone())).await.unwrap();
    assert_eq!(
        widened.state,
        RolloutState::Paused,
        "widening keeps a pause"
    );
    assert_eq!(widened.targets.percent, 30);
    assert_eq!(
        change(RolloutChange::Widen(ten)).await,
        Err(RolloutRefusal::NothingAdded(id)),
        "a smaller percentage adds nobody"
    );
    assert_eq!(
        state(change(RolloutChange::Resume).await),
        Ok(RolloutState::Active)
    );
    assert_eq!(
        state(change(RolloutChange::Stop).await),
        Ok(RolloutState::Stopped)
    );
    for refused in [
        RolloutChange::Stop,
        RolloutChange::Resume,
        RolloutChange::Widen(everyone()),
    ] {
        assert!(change(refused).await.is_err());
    }
    assert_eq!(
        store
            .change_rollout(id + 100, RolloutChange::Pause, audit("rollout.pause"))
            .await
            .unwrap(),
        Err(RolloutRefusal::UnknownRollout(id + 100))
    );
    let actions: Vec<String> = audit_lines(store.as_ref(), "rollout.")
        .await
        .into_iter()
        .rev()
        .map(|line| line.action)
        .collect();
    assert_eq!(
        actions,
        [
            "rollout.create",
            "rollout.pause",
            "rollout.widen",
            "rollout.resume",
            "rollout.stop"
        ],
        "one line per change, none for a refusal"
    );
}

pub async fn failures_past_the_threshold_pause_a_rollout_once(store: Arc<dyn Store>) {
    store
        .add_release(new_release("1.5.0", 'f'), audit("release.upload"))
        .await
        .unwrap()
        .unwrap();
    let mut kiosks = Vec::new();
    for (n, name) in ["石门村", "义江村", "凤岭村", "甘棠村", "古城村"]
        .iter()
        .enumerate()
    {
        kiosks.push(enroll(store.as_ref(), name, 40 + u8::try_from(n).unwrap()).await);
    }
    let rollout = store
        .create_rollout(rollout_of("1.5.0", everyone()), audit("rollout.create"))
        .await
        .unwrap()
        .unwrap();
    let at = t0() + Duration::minutes(1);
    // Two failures of five: 100 % of those that started, but too few to pause.
    for kiosk in &kiosks[..2] {
        store
            .record_heartbeat(&kiosk.kiosk_id, &heartbeat(Some(rolled_back("1.5.0"))), at)
            .await
            .unwrap();
    }
    let still = store.find_rollout(rollout.id).await.unwrap().unwrap();
    assert_eq!(still.state, RolloutState::Active);
    store
        .record_heartbeat(
            &kiosks[2].kiosk_id,
            &heartbeat(Some(rolled_back("1.5.0"))),
            at,
        )
        .await
        .unwrap();
    let paused = store.find_rollout(rollout.id).await.unwrap().unwrap();
    assert_eq!(paused.state, RolloutState::Paused);
    assert!(paused.paused_automatically());
    let reason = paused.state_reason.clone().unwrap();
    assert!(reason.contains("3 of the 3 booths"), "{reason}");
    let lines = audit_lines(store.as_ref(), "rollout.auto_pause").await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].actor, "system");
    assert_eq!(lines[0].detail.as_deref(), Some(reason.as_str()));
    // More failures of a paused rollout change nothing more.
    store
        .record_heartbeat(
            &kiosks[3].kiosk_id,
            &heartbeat(Some(rolled_back("1.5.0"))),
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        audit_lines(store.as_ref(), "rollout.auto_pause")
            .await
            .len(),
        1
    );
    // Resumed by staff: the reason goes, and the next changed report pauses it again.
    let resumed = store
        .change_rollout(rollout.id, RolloutChange::Resume, audit("rollout.resume"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resumed.state_reason, None);
    store
        .record_heartbeat(
            &kiosks[4].kiosk_id,
            &heartbeat(Some(rolled_back("1.5.0"))),
            at,
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_rollout(rollout.id).await.unwrap().unwrap().state,
        RolloutState::Paused
    );
}

pub async fn a_rollout_completes_when_every_booth_runs_it(store: Arc<dyn Store>) {
    store
        .add_release(new_release("1.6.0", '0'), audit("release.upload"))
        .await
        .unwrap()
        .unwrap();
    let first = enroll(store.as_ref(), "石门村", 60).await;
    let second = enroll(store.as_ref(), "义江村", 61).await;
    let rollout = store
        .create_rollout(rollout_of("1.6.0", everyone()), audit("rollout.create"))
        .await
        .unwrap()
        .unwrap();
    let at = t0() + Duration::minutes(2);
    store
        .record_heartbeat(&first.kiosk_id, &heartbeat(Some(installed("1.6.0"))), at)
        .await
        .unwrap();
    // A heartbeat without an update report (a booth without the updater) settles nothing.
    store
        .record_heartbeat(&second.kiosk_id, &heartbeat(None), at)
        .await
        .unwrap();
    assert_eq!(
        store.find_rollout(rollout.id).await.unwrap().unwrap().state,
        RolloutState::Active
    );
    store
        .record_heartbeat(&second.kiosk_id, &heartbeat(Some(installed("1.6.0"))), at)
        .await
        .unwrap();
    let done = store.find_rollout(rollout.id).await.unwrap().unwrap();
    assert_eq!(done.state, RolloutState::Completed);
    let lines = audit_lines(store.as_ref(), "rollout.complete").await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].actor, "system");
}
