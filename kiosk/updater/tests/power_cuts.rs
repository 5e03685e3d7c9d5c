//! A power cut at every step of an install (the updater aborted at each fail point), then
//! `recover` as the next boot runs it: the booth runs one whole release, the store file is
//! byte for byte what it was, and the install goes through when tried again.

mod common;

use std::fs;

use common::{Booth, release};

/// Every step of `install`, in order.
const POINTS: [&str; 9] = [
    "before-stage",
    "after-stage",
    "after-rename",
    "after-stop",
    "after-backup",
    "before-rename-previous",
    "before-rename-current",
    "after-switch",
    "before-start",
];

#[test]
fn a_power_cut_at_any_step_of_an_install_leaves_one_whole_release_and_the_store_as_it_was() {
    for point in POINTS {
        let booth = Booth::new();
        let queued = booth.store_with(3);
        let store = fs::read(booth.store_file()).unwrap();
        booth.request(&release("0.2.0"));
        let output = booth.run_at(&["install"], Some(point), None);
        assert!(
            !output.status.success(),
            "{point}: the updater stopped there"
        );

        // The next boot: recover (the kiosk's ExecStartPre runs it, and the install
        // service's ExecStopPost with --start-kiosk).
        let recovered = booth.ok(&["recover", "--start-kiosk"]);
        assert_eq!(
            fs::read(booth.store_file()).unwrap(),
            store,
            "{point}: store untouched"
        );
        let leftovers: Vec<String> = fs::read_dir(booth.releases())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".partial") || name.ends_with(".new"))
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
        let state = booth.state();
        match booth.link("current").as_deref() {
            Some("0.2.0") => {
                // The switch was done: the release is on trial, and whole.
                assert!(
                    point == "after-switch" || point == "before-start",
                    "{point}"
                );
                let expected = if point == "before-start" {
                    "recover: Nothing\n"
                } else {
                    "recover: SwitchFinished\n"
                };
                assert_eq!(recovered, expected, "{point}");
                assert_eq!(state["install"]["phase"], "trial", "{point}");
                assert!(
                    booth.releases().join("0.2.0/files/bin/kiosk").is_file(),
                    "{point}"
                );
                assert_eq!(booth.ok(&["start-attempt"]), "release 0.2.0 on trial\n");
            }
            current => {
                // Undone: the factory release runs; nothing of 0.2.0 is left.
                assert!(
                    matches!(current, None | Some("factory")),
                    "{point}: {current:?}"
                );
                assert_eq!(recovered, "recover: Undone\n", "{point}");
                assert_eq!(state["install"], serde_json::Value::Null, "{point}");
                assert_eq!(state["last"]["ending"], "failed", "{point}");
                assert!(!booth.releases().join("0.2.0").exists(), "{point}");
                assert_eq!(state["interrupted"]["count"], 1, "{point}");
                // The request is still there: the install is tried again and goes through.
                assert!(booth.dirs.install_request().exists(), "{point}");
                booth.ok(&["install"]);
                assert_eq!(booth.link("current").as_deref(), Some("0.2.0"), "{point}");
            }
        }
        // A kiosk stopped by the install is started again.
        let calls = booth.systemctl_calls();
        assert!(
            calls.iter().any(|c| c.starts_with("start")),
            "{point}: the kiosk runs again: {calls:?}"
        );
        assert_eq!(booth.queued(), queued, "{point}");
        booth.report_healthy("0.2.0");
        assert_eq!(
            booth.ok(&["confirm"]),
            "release 0.2.0 confirmed\n",
            "{point}"
        );
    }
}

#[test]
fn an_install_that_keeps_being_cut_off_is_given_up_after_three_tries() {
    let booth = Booth::new();
    booth.store_with(1);
    booth.request(&release("0.2.0"));
    for _ in 0..3 {
        assert!(
            !booth
                .run_at(&["install"], Some("after-stop"), None)
                .status
                .success()
        );
        booth.ok(&["recover", "--start-kiosk"]);
    }
    let err = booth.fails(&["install"]);
    assert!(err.contains("was stopped 3 times"), "{err}");
    assert!(!booth.dirs.install_request().exists());
    assert_eq!(booth.link("current"), None);
}
