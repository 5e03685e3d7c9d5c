//! A release that fails on the booth is rolled back by the updater alone: one that crashes
//! at every start, one the server keeps refusing, and one that migrated the store beyond
//! what the previous release reads (then the backup is restored with its queue merged back).

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::{Booth, release};
use kiosk_core::update::HeartbeatClass;

/// A booth with `n` items queued and release `version` installed and on trial.
fn on_trial(version: &'static str) -> Booth {
    let booth = Booth::new();
    booth.store_with(4);
    booth.request(&release(version));
    booth.ok(&["install"]);
    booth.systemctl_calls();
    booth
}

#[test]
fn a_release_that_crashes_at_every_start_is_rolled_back_at_the_fourth() {
    let booth = on_trial("0.2.0");
    let store = fs::read(booth.store_file()).unwrap();
    for _ in 0..3 {
        assert_eq!(booth.ok(&["start-attempt"]), "release 0.2.0 on trial\n");
        assert_eq!(booth.link("current").as_deref(), Some("0.2.0"));
    }
    assert_eq!(
        booth.ok(&["start-attempt"]),
        "release 0.2.0 rolled back to factory at start\n"
    );
    assert_eq!(booth.link("current").as_deref(), Some("factory"));
    assert_eq!(
        booth.systemctl_calls(),
        Vec::<String>::new(),
        "inside the kiosk's own start"
    );
    assert_eq!(
        fs::read(booth.store_file()).unwrap(),
        store,
        "the store is left alone"
    );
    let state = booth.state();
    assert_eq!(state["last"]["ending"], "rolled_back");
    assert_eq!(state["last"]["stage"], "start");
    assert_eq!(state["last"]["store_restored"], false);
    assert_eq!(state["rolled_back"], serde_json::json!(["0.2.0"]));
    // The next start runs the factory app, and is no trial.
    assert_eq!(booth.ok(&["start-attempt"]), "no release on trial\n");
    let json: serde_json::Value = serde_json::from_str(&booth.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["report"]["state"], "rolled_back");
    assert_eq!(json["report"]["last_failure"]["stage"], "start");
    // The same release is not taken again.
    booth.request(&release("0.2.0"));
    let err = booth.fails(&["install"]);
    assert!(
        err.contains("release 0.2.0 was rolled back on this booth before"),
        "{err}"
    );
}

#[test]
fn a_ready_release_the_server_refuses_is_rolled_back_but_not_while_the_network_is_down() {
    let booth = on_trial("0.2.0");
    booth.ok(&["start-attempt"]);
    booth.set_kiosk_active(true);
    let mut now = 10_000;
    booth.check_at(now);
    // Three hours without a network: on trial all along.
    booth.report_heartbeat("0.2.0", HeartbeatClass::Unreachable);
    for _ in 0..(3 * 60) {
        now += 60;
        assert_eq!(booth.check_at(now), "release 0.2.0 on trial\n");
    }
    assert_eq!(booth.state()["install"]["trial"]["network_up_secs"], 0);
    // The network is back and the server refuses it: rolled back after ten minutes.
    booth.report_heartbeat("0.2.0", HeartbeatClass::Refused);
    for _ in 0..9 {
        now += 60;
        assert_eq!(booth.check_at(now), "release 0.2.0 on trial\n");
    }
    now += 60;
    assert_eq!(
        booth.check_at(now),
        "release 0.2.0 rolled back to factory at heartbeat\n"
    );
    let calls = booth.systemctl_calls();
    let acted: Vec<&String> = calls
        .iter()
        .filter(|c| !c.starts_with("is-active"))
        .collect();
    assert_eq!(
        acted,
        [
            "stop booth-kiosk.service",
            "start --no-block booth-kiosk.service"
        ],
        "the running release is stopped, the previous one started"
    );
    assert_eq!(booth.link("current").as_deref(), Some("factory"));
    let state = booth.state();
    assert_eq!(state["last"]["stage"], "heartbeat");
    let reason = state["last"]["reason"].as_str().unwrap();
    assert!(reason.contains("the signature does not verify"), "{reason}");
}

/// Every item once, in the order queued.
fn assert_each_once(booth: &Booth, expected: &[(String, String)]) {
    let got = booth.queued();
    assert_eq!(got, expected);
    let ids: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), got.len(), "no item twice");
}

#[test]
fn a_migration_the_previous_release_reads_is_kept_as_it_is_on_rollback() {
    let booth = Booth::new();
    let mut expected = booth.store_with(2);
    // 0.2.0 already reads the next schema ("expand"); 0.3.0 then migrates to it.
    let next = kiosk_core::store::SCHEMA_WRITES + 1;
    let mut expand = release("0.2.0");
    expand.reads = (1, next);
    booth.request(&expand);
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    booth.report_healthy("0.2.0");
    booth.ok(&["confirm"]);
    let mut migrate = release("0.3.0");
    migrate.reads = (next - 1, next);
    migrate.writes = next;
    booth.request(&migrate);
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    // 0.3.0 runs: takes submissions, migrates, then fails at every start.
    expected.extend(booth.queue(3, "during the trial"));
    booth.migrate_store_to(next);
    for _ in 0..2 {
        booth.ok(&["start-attempt"]);
    }
    let store = fs::read(booth.store_file()).unwrap();
    assert_eq!(
        booth.ok(&["start-attempt"]),
        "release 0.3.0 rolled back to 0.2.0 at start\n"
    );
    assert_eq!(booth.link("current").as_deref(), Some("0.2.0"));
    assert_eq!(
        fs::read(booth.store_file()).unwrap(),
        store,
        "0.2.0 reads the schema 0.3.0 left: no restore"
    );
    assert_eq!(booth.state()["last"]["store_restored"], false);
    assert_each_once(&booth, &expected);
}

/// A booth where 0.2.0 (signed as writing this build's schema) took submissions on trial,
/// then left the store at the next schema, which the factory release cannot read.
fn migrated_beyond_its_manifest() -> (Booth, Vec<(String, String)>) {
    let booth = Booth::new();
    let mut expected = booth.store_with(4);
    booth.request(&release("0.2.0"));
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    expected.extend(booth.queue(3, "during the trial"));
    booth.migrate_store_to(kiosk_core::store::SCHEMA_WRITES + 1);
    if rustix::process::geteuid().is_root() {
        // As on a booth: the store is the kiosk user's, the data directory root's.
        std::os::unix::fs::chown(
            booth.data.join("kiosk.sqlite3"),
            Some(KIOSK_UID),
            Some(KIOSK_UID),
        )
        .unwrap();
    }
    (booth, expected)
}

/// The kiosk user's id when the tests run as root (as CI does): not root's, not the data
/// directory owner's.
const KIOSK_UID: u32 = 4242;

fn assert_restored_and_merged(booth: &Booth, expected: &[(String, String)]) {
    assert_eq!(booth.link("current").as_deref(), Some("factory"));
    let state = booth.state();
    assert_eq!(state["install"], serde_json::Value::Null);
    assert_eq!(state["last"]["ending"], "rolled_back");
    assert_eq!(state["last"]["stage"], "migrate");
    assert_eq!(state["last"]["store_restored"], true);
    // The restored store is the kiosk's, whoever owns the data directory.
    if rustix::process::geteuid().is_root() {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(booth.data.join("kiosk.sqlite3")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (KIOSK_UID, KIOSK_UID));
    }
    assert_each_once(booth, expected);
    // The factory release's store opens it, and receipt numbers go on.
    let mut more = expected.to_vec();
    more.extend(booth.queue(1, "after the rollback"));
    assert_each_once(booth, &more);
    assert!(
        booth
            .data
            .join("update/failed-store/kiosk.sqlite3")
            .exists(),
        "kept for a technician"
    );
    assert!(!booth.data.join(".kiosk.sqlite3.restore").exists());
}

#[test]
fn a_store_the_previous_release_cannot_read_is_restored_with_the_trial_s_queue_merged_back() {
    let (booth, expected) = migrated_beyond_its_manifest();
    assert_eq!(
        booth.ok(&["start-attempt"]),
        "release 0.2.0 rolled back to factory at migrate, store backup restored and the queue merged back\n"
    );
    assert_restored_and_merged(&booth, &expected);
}

#[test]
fn a_power_cut_during_the_restore_is_finished_by_recover() {
    for point in [
        "before-rename-current",
        "rollback-after-switch",
        "restore-after-aside",
        "restore-before-rename",
    ] {
        let (booth, expected) = migrated_beyond_its_manifest();
        let output = booth.run_at(&["start-attempt"], Some(point), None);
        assert!(
            !output.status.success(),
            "{point}: the updater stopped there"
        );
        assert_eq!(booth.state()["install"]["phase"], "rolling_back", "{point}");
        let recovered = booth.ok(&["recover"]);
        assert_eq!(recovered, "recover: RollbackFinished\n", "{point}");
        assert_restored_and_merged(&booth, &expected);
    }
}
