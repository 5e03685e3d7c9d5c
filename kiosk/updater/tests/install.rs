//! `booth-update` as the units run it: a good install through its trial to confirmation,
//! and bundles refused before anything is staged.

mod common;

use std::fs;

use booth_release::PublicKey;
use common::{Booth, FACTORY, release, stranger_key};

#[test]
fn a_good_release_installs_runs_on_trial_and_is_kept_once_healthy() {
    let booth = Booth::new();
    let queued = booth.store_with(3);
    let store_before = fs::read(booth.store_file()).unwrap();
    let bundle = booth.request(&release("0.2.0"));

    let out = booth.ok(&["install"]);
    assert_eq!(out, "release 0.2.0 installed and started on trial\n");
    assert_eq!(
        booth.systemctl_calls(),
        [
            "stop booth-kiosk.service",
            "start --no-block booth-kiosk.service"
        ]
    );
    assert_eq!(booth.link("current").as_deref(), Some("0.2.0"));
    assert_eq!(booth.link("previous").as_deref(), Some("factory"));
    let kiosk = booth.releases().join("current/files/bin/kiosk");
    assert_eq!(
        fs::read_to_string(&kiosk).unwrap(),
        "#!/bin/sh\necho kiosk 0.2.0\n"
    );
    assert!(booth.releases().join("0.2.0/manifest.sig").exists());
    assert!(
        !bundle.exists() && !booth.dirs.install_request().exists(),
        "the request is consumed"
    );
    assert_eq!(
        fs::read(booth.store_file()).unwrap(),
        store_before,
        "the store is only copied"
    );
    assert!(booth.data.join("update/backup/kiosk.sqlite3").exists());
    let state = booth.state();
    assert_eq!(state["install"]["phase"], "trial");
    assert_eq!(state["install"]["from"], "factory");

    // The kiosk unit starts it: a start on trial.
    assert_eq!(booth.ok(&["start-attempt"]), "release 0.2.0 on trial\n");
    let status = booth.ok(&["status"]);
    assert!(
        status.contains("trial of 0.2.0 (from factory): 1 of 3 starts"),
        "{status}"
    );
    // Not healthy yet: confirm does nothing.
    assert_eq!(booth.ok(&["confirm"]), "release 0.2.0 on trial\n");
    assert_eq!(booth.state()["install"]["phase"], "trial");

    booth.report_healthy("0.2.0");
    assert_eq!(booth.ok(&["confirm"]), "release 0.2.0 confirmed\n");
    let state = booth.state();
    assert_eq!(state["install"], serde_json::Value::Null);
    assert_eq!(state["highest_installed"], "0.2.0");
    assert_eq!(state["last"]["ending"], "installed");
    assert!(!booth.dirs.healthy().exists(), "the marker is consumed");
    assert_eq!(booth.queued(), queued);
    let json: serde_json::Value = serde_json::from_str(&booth.ok(&["status", "--json"])).unwrap();
    assert_eq!(json["report"]["state"], "installed");
    assert_eq!(json["report"]["running"], "0.2.0");
    assert_eq!(json["report"]["highest_installed"], "0.2.0");
    assert_eq!(json["current"], "0.2.0");
}

#[test]
fn a_confirmed_release_applies_its_key_changes_and_older_releases_go() {
    let booth = Booth::new();
    booth.store_with(1);
    let next_key = PublicKey::of(&stranger_key());
    let mut rotating = release("0.2.0");
    rotating.introduces = vec![next_key];
    for (step, r) in [rotating, release("0.3.0"), release("0.4.0")]
        .into_iter()
        .enumerate()
    {
        let mut r = r;
        if step > 0 {
            // Signed by the key the first release introduced: trusted only after it.
            r.signer = stranger_key();
        }
        booth.request(&r);
        booth.ok(&["install"]);
        booth.ok(&["start-attempt"]);
        booth.report_healthy(r.version);
        assert_eq!(
            booth.ok(&["confirm"]),
            format!("release {} confirmed\n", r.version)
        );
    }
    let trust = fs::read_to_string(booth.data.join("update/trust.json")).unwrap();
    assert!(trust.contains(&next_key.to_string()), "{trust}");
    let mut names: Vec<String> = fs::read_dir(booth.releases())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["0.3.0", "0.4.0", "current", "previous"]);
    assert_eq!(booth.link("previous").as_deref(), Some("0.3.0"));
}

#[test]
fn a_release_that_is_ready_and_heard_by_the_server_is_kept_by_the_minutely_check() {
    let booth = Booth::new();
    booth.store_with(1);
    booth.request(&release("0.2.0"));
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    booth.set_kiosk_active(true);
    assert_eq!(booth.check_at(1_000), "release 0.2.0 on trial\n");
    booth.report_heartbeat("0.2.0", kiosk_core::update::HeartbeatClass::Acknowledged);
    assert_eq!(booth.check_at(1_060), "release 0.2.0 confirmed\n");
}

#[test]
fn tampered_unknown_key_older_and_unreadable_store_bundles_are_refused_before_staging() {
    let booth = Booth::new();
    booth.store_with(2);
    // A booth that already runs 0.3.0, so there is something to roll back to.
    booth.request(&release("0.3.0"));
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    booth.report_healthy("0.3.0");
    booth.ok(&["confirm"]);
    booth.systemctl_calls();
    let releases = booth.releases_tree();
    let store = fs::read(booth.store_file()).unwrap();

    let tampered = || {
        let path = booth.request(&release("0.4.0"));
        let mut bytes = fs::read(&path).unwrap();
        // A byte of bin/kiosk's data: the signed manifest still verifies, its hash does not.
        let at = bytes
            .windows(10)
            .position(|w| w == b"echo kiosk")
            .expect("the app's bytes");
        bytes[at] ^= 1;
        fs::write(&path, bytes).unwrap();
    };
    let unknown = || {
        let mut r = release("0.4.0");
        r.signer = stranger_key();
        booth.request(&r);
    };
    let older = || {
        booth.request(&release("0.2.5"));
    };
    let unreadable = || {
        let mut r = release("0.4.0");
        r.reads = (90, 91);
        r.writes = 90;
        booth.request(&r);
    };
    let cases: [(&str, &dyn Fn(), &str); 4] = [
        (
            "tampered",
            &tampered,
            "does not match its SHA-256 in the signed manifest",
        ),
        ("unknown key", &unknown, "which this booth does not trust"),
        (
            "older",
            &older,
            "is older than 0.3.0, which this booth has installed",
        ),
        (
            "unreadable store",
            &unreadable,
            "reads store schemas 90..91",
        ),
    ];
    for (what, make, expected) in cases {
        make();
        let err = booth.fails(&["install"]);
        assert!(err.contains(expected), "{what}: {err}");
        assert_eq!(
            booth.releases_tree(),
            releases,
            "{what}: releases/ unchanged"
        );
        assert_eq!(fs::read(booth.store_file()).unwrap(), store, "{what}");
        assert_eq!(
            booth.systemctl_calls(),
            Vec::<String>::new(),
            "{what}: the kiosk ran on"
        );
        assert!(
            !booth.dirs.install_request().exists(),
            "{what}: request consumed"
        );
        assert_eq!(
            fs::read_dir(&booth.dirs.inbox).unwrap().count(),
            0,
            "{what}: bundle removed"
        );
        let state = booth.state();
        assert_eq!(state["last"]["ending"], "failed", "{what}");
        assert_eq!(state["last"]["stage"], "verify", "{what}");
        assert_eq!(state["install"], serde_json::Value::Null, "{what}");
    }
    assert_eq!(booth.link("current").as_deref(), Some("0.3.0"));
    let status = booth.ok(&["status"]);
    assert!(
        status.contains("last           0.4.0 Failed at verify"),
        "{status}"
    );
    assert!(
        FACTORY < "0.2.5",
        "the factory version is below the test releases"
    );
}

#[test]
fn without_a_request_install_says_so_and_changes_nothing() {
    let booth = Booth::new();
    let err = booth.fails(&["install"]);
    assert_eq!(
        err,
        "booth-update: install: no install request in the inbox: nothing to install"
    );
    assert_eq!(booth.ok(&["check"]), "no release on trial\n");
    let status = booth.ok(&["status"]);
    assert!(
        status.starts_with(&format!("running        {FACTORY} (factory)")),
        "{status}"
    );
}

#[test]
fn only_the_release_on_trial_can_say_it_is_healthy() {
    let booth = Booth::new();
    booth.store_with(1);
    booth.request(&release("0.2.0"));
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    // The factory app ran instead (say its release could not be executed): its reports do
    // not confirm 0.2.0.
    booth.report_healthy(FACTORY);
    assert_eq!(booth.ok(&["confirm"]), "release 0.2.0 on trial\n");
    assert!(
        !booth.dirs.healthy().exists(),
        "removed, so its path unit does not fire again"
    );
    booth.set_kiosk_active(true);
    assert_eq!(booth.check_at(100), "release 0.2.0 on trial\n");
    assert_eq!(booth.state()["install"]["phase"], "trial");
}

#[test]
fn a_newer_booth_image_runs_its_own_app_and_an_older_one_does_not() {
    let booth = Booth::new();
    booth.store_with(1);
    booth.request(&release("0.2.0"));
    booth.ok(&["install"]);
    booth.ok(&["start-attempt"]);
    booth.report_healthy("0.2.0");
    booth.ok(&["confirm"]);
    // An image whose app is older than the release: the release keeps running.
    booth.ok(&["recover", "--factory-version", "0.1.5"]);
    assert_eq!(booth.link("current").as_deref(), Some("0.2.0"));
    // A newer image: its app runs, the release is the way back.
    assert_eq!(
        booth.ok(&["recover", "--factory-version", "0.3.0"]),
        "recover: NewerImage\n"
    );
    assert_eq!(booth.link("current").as_deref(), Some("factory"));
    assert_eq!(booth.link("previous").as_deref(), Some("0.2.0"));
    let state = booth.state();
    assert_eq!(state["highest_installed"], "0.3.0");
    assert_eq!(state["last"]["version"], "0.3.0");
    // And 0.2.0 is now a downgrade.
    booth.request(&release("0.2.0"));
    let output = booth.run_at(&["install", "--factory-version", "0.3.0"], None, None);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("release 0.2.0 is older than 0.3.0"), "{err}");
}

/// The booth images the VM tests build pin `TEST-ONLY-release-keys`; the releases they install
/// are signed with `TEST-ONLY-release-key.secret`. The two must stay one key pair.
#[test]
fn the_test_images_pinned_key_is_the_test_signing_keys_public_half() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/TEST-ONLY-release-keys");
    let pinned = booth_update::trust::pinned_keys(&path).unwrap();
    assert_eq!(pinned, vec![PublicKey::of(&common::test_key())]);
}
