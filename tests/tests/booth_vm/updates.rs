//! Over-the-air updates on the booth VM, as the county ships them: signed bundles uploaded to
//! the county server, rolled out to this booth, downloaded, installed at a quiet moment by the
//! image's root updater, judged on trial, and rolled back by the booth itself when they fail.
//! The power is cut during a download, a staging, a switch and a first start; releases that
//! crash at start, migrate the store and then crash, or never become READY are rolled back; the
//! booth's queue is compared item by item after every step.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use booth_tests::booth::{eventually, server_cli, server_receipts};
use booth_tests::fault_proxy::FaultMix;
use booth_tests::vm::releases::{self, Bundle, ReleaseKit};
use booth_tests::vm::rig::{self, Rig, at, tap};
use booth_tests::vm::{BoothImage, BoothVm};
use serde_json::Value;

use super::{with_report, workdir};

/// The booth's queue, item by item (the current release's own `kiosk queue list`).
const QUEUE: &str = "runuser -u booth -- /usr/lib/booth/kiosk-launch --data-dir /var/lib/booth queue list --json 2>/dev/null";

/// (id, receipt number, state) of every item; `sent` reads as `pending` (an upload under way
/// that the county has not answered: the app tries again at once after every start).
type Queue = Vec<(String, String, String)>;

fn queue(vm: &mut BoothVm) -> Queue {
    let out = vm.sh(QUEUE);
    let json = out
        .lines()
        .find(|line| line.starts_with('['))
        .unwrap_or_else(|| panic!("kiosk queue list --json printed no list:\n{out}"));
    let items: Vec<Value> = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}\n{out}"));
    items
        .iter()
        .map(|item| {
            let field = |name: &str| item[name].as_str().unwrap_or_default().to_owned();
            let state = match field("state").as_str() {
                "sent" => "pending".to_owned(),
                other => other.to_owned(),
            };
            (field("id"), field("receipt_number"), state)
        })
        .collect()
}

/// `booth-update status --json`, as a technician reads it.
fn status(vm: &mut BoothVm) -> Value {
    let out = vm.sh("/usr/lib/booth/booth-update status --json 2>/dev/null");
    let json = out
        .find('{')
        .map(|at| &out[at..])
        .unwrap_or_else(|| panic!("booth-update status --json printed nothing:\n{out}"));
    // The first value only: on a console just connected, the shell's next prompt and the echo
    // of the harness's end mark can follow it.
    serde_json::Deserializer::from_str(json)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("booth-update status --json printed no JSON:\n{out}"))
}

/// Waits until the updater's status satisfies `done`; returns it.
fn wait_for_status(
    vm: &mut BoothVm,
    limit: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let now = status(vm);
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; booth-update status:\n{now:#}\n{}",
            vm.sh("journalctl -b -u booth-update -u booth-update-check -u booth-update-confirm -u booth-update-recover -u booth-kiosk --no-pager -o short-monotonic | tail -n 60")
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn running(status: &Value) -> &str {
    status["report"]["running"].as_str().unwrap_or_default()
}

fn report_state(status: &Value) -> &str {
    status["report"]["state"].as_str().unwrap_or_default()
}

/// Confirmed: running `version`, nothing on trial.
fn installed(status: &Value, version: &str) -> bool {
    running(status) == version && report_state(status) == "installed"
}

/// Polls the county until `check` says yes; on a timeout, panics with what it last saw.
fn county_shows(limit: Duration, what: &str, mut check: impl FnMut() -> (bool, String)) {
    let deadline = Instant::now() + limit;
    loop {
        let (done, seen) = check();
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; last seen:\n{seen}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn rollout(county: &std::path::Path, bundle: &Bundle, kiosk_number: &str) {
    server_cli(
        county,
        &[
            "rollout",
            "create",
            &bundle.version,
            "--booth",
            kiosk_number,
        ],
    );
}

/// The rollout line of `version` in `sync-server rollout list`.
fn rollout_line(county: &std::path::Path, version: &str) -> String {
    let out = server_cli(county, &["rollout", "list"]);
    out.stdout
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some(version))
        .unwrap_or_default()
        .to_owned()
}

/// Makes the updater hang at its fail point `point` from now on in this boot (a reboot forgets
/// it), so the power can be pulled right there.
fn hang_now_at(vm: &mut BoothVm, point: &str) {
    vm.sh(&format!(
        "systemctl set-environment BOOTH_UPDATE_FAIL_AT={point}:hang"
    ));
}

/// The drop-in that makes the updater hang at a fail point from the next boot on: the install
/// request an interrupted install leaves starts the updater as soon as the booth boots.
const HANG_DROP_IN: &str = "/etc/systemd/system/booth-update.service.d/test-hang.conf";

fn hang_next_boot_at(vm: &mut BoothVm, point: &str) {
    vm.sh(&format!(
        "mkdir -p $(dirname {HANG_DROP_IN}) && printf '[Service]\\nEnvironment=BOOTH_UPDATE_FAIL_AT={point}:hang\\n' > {HANG_DROP_IN} && sync"
    ));
}

/// The drop-in that slows the app's start down, after `booth-update start-attempt` counted it.
const SLOW_START_DROP_IN: &str = "/etc/systemd/system/booth-kiosk.service.d/test-slow-start.conf";

/// Waits until the updater says it hangs at `point`.
fn wait_hanging_at(vm: &mut BoothVm, point: &str) {
    vm.wait_for_sh(
        "journalctl -b -u booth-update -o cat --no-pager | grep 'hanging at' || true",
        Duration::from_secs(600),
        &format!("the updater reaches {point}"),
        |out| out.contains(&format!("hanging at {point} ")),
    );
}

/// Waits until the release rolled back to is up again (READY: systemd says active).
fn previous_release_runs_again(vm: &mut BoothVm) {
    vm.wait_for_sh(
        "systemctl is-active booth-kiosk || true",
        Duration::from_secs(180),
        "the previous release runs again",
        |out| out.trim() == "active",
    );
}

/// The releases directory, sorted, one line.
fn releases_dir(vm: &mut BoothVm) -> String {
    vm.sh("ls -1 /var/lib/booth/releases | sort | tr '\\n' ' '")
        .trim()
        .to_owned()
}

#[test]
#[ignore = "boots the booth image under QEMU: run by ./test (needs BOOTH_IMAGE)"]
fn releases_reach_the_booth_and_bad_ones_roll_back_by_themselves() {
    let dir = workdir("updates");
    let debs = std::env::var_os("BOOTH_DEBS")
        .map(PathBuf::from)
        .expect("BOOTH_DEBS: the booth's packages (./test sets it)");
    let kit = ReleaseKit::new(&dir, &debs);
    let good = kit.app("0.2.0");
    let cut = kit.app("0.2.1");
    let crash = kit.script(
        "0.3.0",
        releases::CRASH_AT_START,
        releases::this_builds_schemas(),
    );
    // Signed as writing this build's schema (a release may migrate only to a schema its
    // predecessor reads), it migrates one further anyway.
    let migrate = kit.script(
        "0.4.0",
        &releases::migrate_then_crash(kiosk_core::store::SCHEMA_WRITES + 1),
        releases::this_builds_schemas(),
    );
    let hangs = kit.script(
        "0.6.0",
        releases::NEVER_READY,
        releases::this_builds_schemas(),
    );
    let tampered = kit.tampered("0.5.0");
    let unknown = kit.unknown_key("0.5.1");
    let older = kit.script(
        "0.1.5",
        releases::CRASH_AT_START,
        releases::this_builds_schemas(),
    );
    let refused = [&tampered, &unknown, &older];
    let mut rig = Rig::new_with(
        BoothImage::from_env(),
        &dir,
        // Slow enough for a power cut to land in the middle of a download.
        &["--download-kib-per-s", "1024"],
        &refused.map(|b| b.path.clone()),
    );
    let county = rig.county.path().to_owned();
    let keys = kit.public_keys_file();
    for bundle in [&good, &cut, &crash, &migrate, &hangs] {
        server_cli(
            &county,
            &[
                "--release-keys",
                keys.to_str().expect("utf-8 path"),
                "release",
                "upload",
                bundle.path.to_str().expect("utf-8 path"),
            ],
        );
    }

    let mut vm = rig.power_on(false);
    let mut kiosk_number = String::new();
    let mut before = Queue::new();
    with_report(&mut vm, |vm| {
        vm.wait_for_log("first provisioning", Duration::from_secs(60));
        rig::technician_names_the_devices(vm, &format!("0403:6001:{}", rig::SCANNER_SERIAL));
        let (_, qr) = rig.enrollment();
        rig.scanner.scan(&qr).expect("scan the enrollment QR code");
        vm.wait_for_log("enrollment QR code scanned", Duration::from_secs(60));
        rig::technician_sets_the_pin_and_enrolls(vm);
        rig::technician_quickens_updates(vm);
        let kiosks: Value =
            serde_json::from_str(&server_cli(&county, &["kiosk", "list", "--json"]).stdout)
                .expect("kiosk list --json");
        kiosk_number = kiosks[0]["kiosk_number"].to_string();

        let receipt = rig::villager_applies(&rig, vm, 0, rig::Materials::NoCamera);
        let number = rig::receipt_number(&receipt);
        eventually(
            Duration::from_secs(120),
            "the submission reaches the county",
            || server_receipts(&county).get(&number) == Some(&1),
        );
        tap(vm, at::RECEIPT_HOME, "home");
        vm.wait_for_sh(
            QUEUE,
            Duration::from_secs(60),
            "the booth records the county's acknowledgement",
            |out| out.contains("\"acknowledged\""),
        );
        before = queue(vm);
        assert_eq!(before.len(), 1, "{before:?}");

        // A good release, rolled out to this booth: downloaded, installed once the booth is
        // quiet, on trial until READY and one heartbeat acknowledged, then kept.
        let started = Instant::now();
        rollout(&county, &good, &kiosk_number);
        wait_for_status(
            vm,
            Duration::from_secs(900),
            "0.2.0 installed and confirmed",
            |s| installed(s, "0.2.0"),
        );
        eprintln!(
            "rollout started to the booth running 0.2.0, confirmed: {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(
            vm.sh("readlink /var/lib/booth/releases/current").trim(),
            "0.2.0"
        );
        assert_eq!(queue(vm), before, "the queue after the update");
        county_shows(
            Duration::from_secs(60),
            "the county sees the booth on 0.2.0",
            || {
                let line = rollout_line(&county, "0.2.0");
                let kiosks = server_cli(&county, &["kiosk", "list"]).stdout;
                (
                    line.contains("installed 1") && kiosks.contains("0.2.0"),
                    format!("{line}\n{kiosks}"),
                )
            },
        );

        // Refused before anything is staged: a bundle changed after signing, one signed by a
        // key this booth does not trust, and an older release than it ever ran. Each is put in
        // the inbox with an install request, as a compromised app could (the inbox is the
        // app's); the root updater checks everything again.
        vm.attach_tools();
        for bundle in refused {
            let listed = releases_dir(vm);
            let name = format!("{}.bundle", bundle.sha256);
            let request = serde_json::json!({
                "format": 1, "version": bundle.version, "bundle": bundle.sha256, "file": name,
            });
            let file = bundle
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name");
            vm.sh(&format!(
                "runuser -u booth -- cp /mnt/tools/{file} /var/lib/booth/update/inbox/{name} && \
                 printf '%s' '{request}' | runuser -u booth -- tee /var/lib/booth/update/inbox/install-request.json >/dev/null"
            ));
            let refusal = wait_for_status(
                vm,
                Duration::from_secs(180),
                &format!("{} refused", bundle.version),
                |s| {
                    s["state"]["last"]["version"].as_str() == Some(bundle.version.as_str())
                        && !s["pending_request"].as_bool().unwrap_or(true)
                },
            );
            eprintln!(
                "{} refused: {}",
                bundle.version, refusal["state"]["last"]["reason"]
            );
            assert_eq!(refusal["state"]["last"]["ending"], "failed", "{refusal:#}");
            assert_eq!(running(&refusal), "0.2.0");
            assert_eq!(
                releases_dir(vm),
                listed,
                "nothing staged for {}",
                bundle.version
            );
        }

        // The next release: the power goes in the middle of its download.
        rollout(&county, &cut, &kiosk_number);
        vm.wait_for_sh(
            "stat -c %s /var/lib/booth/update/inbox/*.partial 2>/dev/null || echo 0",
            Duration::from_secs(300),
            "the download of 0.2.1 under way",
            |out| out.trim().parse::<u64>().unwrap_or(0) > 0,
        );
    });
    vm.power_cut();

    // The booth comes back on 0.2.0 and the download resumes; the power goes while the
    // updater stages the release.
    let mut vm = rig.power_on(false);
    with_report(&mut vm, |vm| {
        // The confirmed release survives the power cut.
        let after_cut = status(vm);
        assert_eq!(running(&after_cut), "0.2.0", "{after_cut:#}");
        assert_eq!(
            vm.sh("readlink /var/lib/booth/releases/current").trim(),
            "0.2.0"
        );
        hang_now_at(vm, "after-stage");
        wait_hanging_at(vm, "after-stage");
        assert!(releases_dir(vm).contains("0.2.1.partial"));
        hang_next_boot_at(vm, "before-rename-current");
    });
    vm.power_cut();

    // The half-staged release is undone and the install tried again at once; the power goes
    // in the middle of the switch (the app stopped for it).
    let mut vm = rig.power_on_to_console();
    with_report(&mut vm, |vm| {
        wait_hanging_at(vm, "before-rename-current");
        vm.sh(&format!("rm {HANG_DROP_IN} && sync"));
        // From the next boot the app's starts take 45 s longer (after the updater counted the
        // start), so the power can go while the new release is starting.
        vm.sh(&format!(
            "mkdir -p $(dirname {SLOW_START_DROP_IN}) && printf '[Service]\\nExecStartPre=/bin/sleep 45\\n' > {SLOW_START_DROP_IN} && sync"
        ));
    });
    vm.power_cut();

    // The switch is finished or undone; the power goes while the new release first starts.
    let mut vm = rig.power_on_to_console();
    with_report(&mut vm, |vm| {
        let starting = wait_for_status(
            vm,
            Duration::from_secs(600),
            "0.2.1 starting on trial",
            |s| {
                s["state"]["install"]["phase"] == "trial"
                    && s["state"]["install"]["trial"]["starts"].as_u64() >= Some(1)
            },
        );
        eprintln!(
            "power cut at the first start of 0.2.1: {} (trial {})",
            vm.sh("systemctl is-active booth-kiosk || true").trim(),
            starting["state"]["install"]["trial"]
        );
    });
    vm.power_cut();

    let mut vm = rig.power_on(false);
    with_report(&mut vm, |vm| {
        vm.sh(&format!(
            "rm {SLOW_START_DROP_IN} && systemctl daemon-reload"
        ));
        wait_for_status(
            vm,
            Duration::from_secs(600),
            "0.2.1 installed and confirmed after four power cuts",
            |s| installed(s, "0.2.1"),
        );
        assert_eq!(queue(vm), before, "the queue after four power cuts");
        assert!(
            !releases_dir(vm).contains(".partial"),
            "{}",
            releases_dir(vm)
        );

        // A release that crashes at start: three starts, then back to 0.2.1 by itself; the
        // booth says why in its heartbeat, and the rollout of one booth pauses.
        let started = Instant::now();
        rollout(&county, &crash, &kiosk_number);
        // Its trial is short (three quick crashes): it may be over by the time this looks.
        let seen = wait_for_status(vm, Duration::from_secs(600), "0.3.0 installed", |s| {
            s["state"]["install"]["version"] == "0.3.0" || s["state"]["last"]["version"] == "0.3.0"
        });
        let trial_started = Instant::now();
        let on_trial = seen["state"]["install"]["version"] == "0.3.0";
        let back = wait_for_status(vm, Duration::from_secs(600), "0.3.0 rolled back", |s| {
            running(s) == "0.2.1" && report_state(s) == "rolled_back"
        });
        eprintln!(
            "rollout of a crashing release to the booth back on its previous one: {:.1} s ({}); {}",
            started.elapsed().as_secs_f64(),
            if on_trial {
                format!(
                    "seen on trial, rolled back {:.1} s later",
                    trial_started.elapsed().as_secs_f64()
                )
            } else {
                "its trial was over before the status was read".to_owned()
            },
            back["report"]["last_failure"]
        );
        assert_eq!(back["report"]["last_failure"]["version"], "0.3.0");
        previous_release_runs_again(vm);
        county_shows(
            Duration::from_secs(120),
            "the rollout of 0.3.0 pauses itself",
            || {
                let line = rollout_line(&county, "0.3.0");
                (line.contains("paused") && line.contains("failed 1"), line)
            },
        );
        assert_eq!(queue(vm), before, "the queue after a rollback");

        // A release that migrates the store, then crashes. A villager's application waits
        // offline in the queue when it is installed.
        tap(vm, at::HOME_APPLY, "apply-list");
        rollout(&county, &migrate, &kiosk_number);
        vm.wait_for_sh(
            &format!(
                "test -f /var/lib/booth/update/inbox/{}.bundle && echo downloaded || echo no",
                migrate.sha256
            ),
            Duration::from_secs(300),
            "0.4.0 downloaded",
            |out| out.contains("downloaded"),
        );
        rig.proxy.set_mix(FaultMix {
            drop: 1.0,
            ..FaultMix::NONE
        });
        vm.wait_for_log("session ended", Duration::from_secs(120));
        let receipt = rig::villager_applies(&rig, vm, 1, rig::Materials::NoCamera);
        let offline = rig::receipt_number(&receipt);
        tap(vm, at::RECEIPT_HOME, "home-offline");
        let waiting = queue(vm);
        assert_eq!(waiting.len(), 2, "{waiting:?}");
        assert_eq!(waiting[1].1, offline);
        assert_eq!(waiting[1].2, "pending");
        let back = wait_for_status(vm, Duration::from_secs(600), "0.4.0 rolled back", |s| {
            s["state"]["last"]["version"] == "0.4.0" && running(s) == "0.2.1"
        });
        eprintln!("after the migrating release: {:#}", back["state"]["last"]);
        assert_eq!(back["state"]["last"]["store_restored"], true, "{back:#}");
        previous_release_runs_again(vm);
        assert_eq!(
            queue(vm),
            waiting,
            "the queue after a migration rolled back"
        );

        // The network returns: the application goes up, once.
        rig.proxy.set_mix(FaultMix::NONE);
        eventually(
            Duration::from_secs(180),
            "the offline application reaches the county",
            || server_receipts(&county).get(&offline) == Some(&1),
        );
        vm.wait_for_sh(
            QUEUE,
            Duration::from_secs(120),
            "the booth records the acknowledgement",
            |out| !out.contains("\"pending\"") && !out.contains("\"sent\""),
        );
        std::thread::sleep(Duration::from_secs(15));
        let held = server_receipts(&county);
        assert_eq!(held.values().sum::<usize>(), 2, "{held:?}");
        let settled = queue(vm);

        // A release that starts but never says READY. Its starts time out after 40 s here (a
        // drop-in for this boot) rather than the booth's 180 s, which allows for slow disks.
        vm.sh("mkdir -p /run/systemd/system/booth-kiosk.service.d && printf '[Service]\\nTimeoutStartSec=40s\\n' > /run/systemd/system/booth-kiosk.service.d/test-timeout.conf && systemctl daemon-reload");
        let started = Instant::now();
        rollout(&county, &hangs, &kiosk_number);
        let back = wait_for_status(vm, Duration::from_secs(900), "0.6.0 rolled back", |s| {
            s["state"]["last"]["version"] == "0.6.0" && running(s) == "0.2.1"
        });
        eprintln!(
            "rollout of a release that never becomes READY to the booth back on its previous one: {:.1} s; {}",
            started.elapsed().as_secs_f64(),
            back["report"]["last_failure"]
        );
        assert_eq!(back["state"]["last"]["ending"], "rolled_back", "{back:#}");
        previous_release_runs_again(vm);
        assert_eq!(queue(vm), settled, "the queue after a release that hung");
    });
    vm.power_off();
}
