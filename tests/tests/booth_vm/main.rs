//! The booth image in a virtual machine: its own kernel, udev, systemd and DRM display, the
//! host's device emulators plugged in as USB serial adapters, the county server on the host's
//! loopback as the guest's only way out. What a field technician and a villager do, by touch.
//!
//! Needs the image (`BOOTH_IMAGE`): `./test` builds it with `scripts/booth-image/build` and
//! runs these one at a time (`--ignored --test-threads 1`); each boots QEMU under software
//! emulation for a few minutes. On failure, everything the VM printed and the screens it
//! showed are kept in the directory the message names.

use std::path::PathBuf;
use std::time::Duration;

use booth_tests::booth::server_receipts;
use booth_tests::fault_proxy::FaultMix;
use booth_tests::vm::rig::{self, HID_SCANNER_ID, Materials, Rig, at, tap};
use booth_tests::vm::{BoothImage, BoothVm, Disk, PcBoot};

mod camera;
mod updates;

/// Where a test's VM files go: kept after a failure for the report, under target/.
fn workdir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("booth-vm")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("VM work directory");
    dir
}

/// Runs `body`; on a panic, prints the VM's report first.
fn with_report(vm: &mut BoothVm, body: impl FnOnce(&mut BoothVm)) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(vm)));
    if let Err(panic) = result {
        eprintln!("{}", vm.report());
        std::panic::resume_unwind(panic);
    }
}

#[test]
#[ignore = "boots the booth image under QEMU: run by ./test (needs BOOTH_IMAGE)"]
fn a_new_booth_is_enrolled_and_takes_an_application_on_its_own_screen() {
    let dir = workdir("first-booth");
    let rig = Rig::new(BoothImage::from_env(), &dir);
    let mut rig = rig;
    let mut vm = rig.power_on(false);
    eprintln!(
        "power-on to first frame: {:.1} s",
        vm.first_frame.as_secs_f64()
    );
    with_report(&mut vm, |vm| {
        // First boot: the booth opens its enrollment page by itself.
        vm.wait_for_log("first provisioning", Duration::from_secs(60));
        vm.screen("first-boot");
        rig::technician_names_the_devices(vm, &format!("0403:6001:{}", rig::SCANNER_SERIAL));
        let owner = vm.sh("stat -c '%G %a' $(readlink -f /dev/booth/id-reader)");
        assert_eq!(
            owner.trim(),
            "booth 660",
            "/dev/booth/id-reader's group and mode"
        );
        let camera_node = camera::a_technician_lists_the_camera_and_captures_a_page(vm);

        // The technician holds the county's enrollment QR code under the scanner.
        let (_, qr) = rig.enrollment();
        rig.scanner.scan(&qr).expect("scan the enrollment QR code");
        vm.wait_for_log("enrollment QR code scanned", Duration::from_secs(60));
        rig::technician_sets_the_pin_and_enrolls(vm);
        rig::wait_for_catalogue(vm);
        camera::technician_points_the_booth_at(vm, &camera_node);

        // A villager applies with the card and photographs the item's two materials under the
        // camera; the host's printer prints the receipt. The link to the county is bad: a
        // fifth of its chunks cut the connection mid-answer, a tenth are lost.
        rig.proxy.set_mix(FaultMix {
            reset_mid_response: 0.2,
            drop: 0.1,
            ..FaultMix::NONE
        });
        let receipt = rig::villager_applies(&rig, vm, 0, Materials::Photographed);
        let number = rig::receipt_number(&receipt);
        let text = receipt.join("\n");
        assert!(text.contains("户籍证明开具"), "{text}");
        assert!(
            text.contains("110105********0016"),
            "the ID number is masked on paper:\n{text}"
        );
        booth_tests::booth::eventually(
            Duration::from_secs(120),
            "the submission reaches the county",
            || server_receipts(rig.county.path()).get(&number) == Some(&1),
        );
        camera::both_pages_reach_the_county(&rig, vm, &number);

        // The township's handler asks for the register again; the villager comes back,
        // scans the receipt and photographs it at the booth, still through the bad link.
        tap(vm, at::RECEIPT_HOME, "home-after-applying");
        camera::a_handler_asks_for_the_register_again(&rig, &number);
        let correction = rig::villager_photographs_again(&rig, vm, &number, 1);
        let supplement = rig::receipt_number(&correction);
        let text = correction.join("\n");
        assert!(
            text.contains(&format!("补正的申请：{number}")),
            "the correction's receipt names the application:\n{text}"
        );
        camera::the_new_page_joins_the_application(&rig, vm, &number, &supplement);
        rig.proxy.set_mix(FaultMix::NONE);
        let cut = rig
            .proxy
            .stats()
            .reset
            .load(std::sync::atomic::Ordering::Relaxed)
            + rig
                .proxy
                .stats()
                .dropped
                .load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("the bad link cut or lost {cut} chunks on the way");
        assert!(cut > 0, "the link was bad while the pages went");

        let rss = vm.sh("grep VmRSS /proc/$(systemctl show -p MainPID --value booth-kiosk)/status");
        eprintln!(
            "the booth app's memory after the villager flow: {}",
            rss.trim()
        );

        // The reader's cable pulled and put back: the booth finds it again, no restart.
        let pid = vm.kiosk_pid();
        vm.unplug("reader");
        vm.wait_for_sh(
            "test -e /dev/booth/id-reader && echo present || echo gone",
            Duration::from_secs(30),
            "/dev/booth/id-reader goes with the unplugged reader",
            |out| out.contains("gone"),
        );
        rig.reader.remove();
        let usb = rig
            .usb_serials()
            .into_iter()
            .find(|u| u.id == "reader")
            .expect("reader");
        vm.plug(&usb);
        vm.wait_for_sh(
            "test -e /dev/booth/id-reader && echo present || echo gone",
            Duration::from_secs(60),
            "/dev/booth/id-reader comes back with the reader",
            |out| out.contains("present"),
        );
        tap(vm, at::RECEIPT_HOME, "home-again");
        let second = rig::villager_applies(&rig, vm, 2, Materials::BroughtLater);
        let second_number = rig::receipt_number(&second);
        assert_ne!(second_number, number);
        assert_eq!(
            vm.kiosk_pid(),
            pid,
            "the booth app was restarted for a replugged reader"
        );
        booth_tests::booth::eventually(
            Duration::from_secs(120),
            "the second submission reaches the county",
            || {
                let held = server_receipts(rig.county.path());
                held.get(&number) == Some(&1) && held.get(&second_number) == Some(&1)
            },
        );

        packages_upgrade_and_remove_keeping_data(vm);
    });
    vm.power_off();
}

/// The next release of booth-kiosk over this one, then removed and installed again: the
/// technician's config and the booth's data (its key, its receipts) stay; and the county
/// server's package installs, starts as a service and goes, leaving its database.
/// The booth's data files; SQLite's -wal and -shm come and go with the app (a clean stop folds
/// the log back into the database).
const STORE_FILES: &str = "ls -1 /var/lib/booth | grep -v -e '-wal$' -e '-shm$'";
/// The config compared by digest: the serial console may split a multi-byte character of its
/// Chinese comments across two reads.
const CONFIG_DIGEST: &str = "sha256sum /etc/booth/booth.toml";

fn packages_upgrade_and_remove_keeping_data(vm: &mut BoothVm) {
    vm.attach_tools();
    let config = vm.sh("cat /etc/booth/booth.toml");
    assert!(config.contains(rig::READER_SERIAL), "{config}");
    let config_before = vm.sh(CONFIG_DIGEST);
    let store_before = vm.sh(STORE_FILES);

    let pid = vm.kiosk_pid();
    vm.sh("dpkg -i /mnt/tools/booth-kiosk-upgrade.deb </dev/null");
    let version = vm.sh("dpkg-query -W -f '${Version}' booth-kiosk");
    assert!(version.contains("+upgrade1"), "{version}");
    vm.wait_until_kiosk_back(pid, Duration::from_secs(180));
    assert_eq!(
        vm.sh(CONFIG_DIGEST),
        config_before,
        "an upgrade keeps the config"
    );
    assert_eq!(
        vm.sh(STORE_FILES),
        store_before,
        "an upgrade keeps the data"
    );

    vm.sh("dpkg -r booth-kiosk </dev/null");
    let state = vm.sh("systemctl is-active booth-kiosk || true");
    assert_ne!(state.trim(), "active", "removing stops the app");
    assert_eq!(vm.sh(STORE_FILES), store_before, "removing keeps the data");
    vm.sh("dpkg -i /mnt/tools/booth-kiosk_*.deb </dev/null");
    vm.wait_for_sh(
        "systemctl is-active booth-kiosk || true",
        Duration::from_secs(180),
        "booth-kiosk runs again after a reinstall",
        |out| out.trim() == "active",
    );
    assert_eq!(
        vm.sh(CONFIG_DIGEST),
        config_before,
        "a reinstall keeps the config"
    );
    let queue = vm.sh("runuser -u booth -- kiosk --data-dir /var/lib/booth queue status --json");
    assert!(
        queue.contains("\"acknowledged\":3"),
        "the booth still knows its three receipts: {queue}"
    );

    vm.sh("dpkg -i /mnt/tools/booth-sync-server_*.deb </dev/null");
    vm.wait_for_sh(
        "systemctl is-active booth-sync-server || true",
        Duration::from_secs(120),
        "the county server's service starts",
        |out| out.trim() == "active",
    );
    let key = vm.sh("stat -c '%U %a' /etc/sync-server/keys.json");
    assert_eq!(
        key.trim(),
        "sync-server 600",
        "the key file is the service's own"
    );
    let security = vm.sh(
        "for unit in booth-kiosk booth-sync-server; do echo $unit: $(systemd-analyze security --no-pager $unit | tail -n 1); done",
    );
    eprintln!("systemd-analyze security:\n{security}");
    vm.sh("dpkg -r booth-sync-server </dev/null");
    let database = vm.sh("ls -A /var/lib/sync-server");
    assert!(
        !database.trim().is_empty(),
        "removing keeps the county database"
    );
}

#[test]
#[ignore = "boots the booth image under QEMU: run by ./test (needs BOOTH_IMAGE)"]
fn power_cuts_crashes_and_a_hung_screen_leave_the_booth_whole() {
    let dir = workdir("faults");
    let mut rig = Rig::new(BoothImage::from_env(), &dir);
    let mut vm = rig.power_on(true);
    let mut number = String::new();
    with_report(&mut vm, |vm| {
        vm.wait_for_log("first provisioning", Duration::from_secs(60));
        // This booth's scanner is a keyboard-mode (HID) one: QEMU's USB keyboard, typed on
        // through QMP, is a real input device in the guest.
        rig::technician_names_the_devices(vm, HID_SCANNER_ID);
        let scanner = vm.sh("readlink -f /dev/booth/scanner");
        assert!(scanner.trim().starts_with("/dev/input/event"), "{scanner}");
        let (_, qr) = rig.enrollment();
        vm.qmp
            .type_line("panel", &qr)
            .unwrap_or_else(|e| panic!("{e}"));
        vm.wait_for_log("enrollment QR code scanned", Duration::from_secs(60));
        rig::technician_sets_the_pin_and_enrolls(vm);
        // The catalogue comes down before the link goes bad (on a loaded machine the first
        // pull after enrollment can still be under way here).
        rig::wait_for_catalogue(vm);

        // The link swallows the county's answers: the upload reaches the county, the booth
        // never hears back. The power goes while it waits.
        rig.proxy.set_mix(FaultMix {
            half_close: 1.0,
            ..FaultMix::NONE
        });
        let receipt = rig::villager_applies(&rig, vm, 0, Materials::NoCamera);
        number = rig::receipt_number(&receipt);
        booth_tests::booth::eventually(
            Duration::from_secs(120),
            "the upload reaches the county",
            || server_receipts(rig.county.path()).contains_key(&number),
        );
    });
    vm.power_cut();

    rig.proxy.set_mix(FaultMix::NONE);
    // The same booth, the same keyboard-mode scanner.
    let mut vm = rig.power_on(true);
    with_report(&mut vm, |vm| {
        // Nothing lost, nothing doubled: the booth uploads again, the county answers "already
        // there", and the booth's queue empties.
        vm.wait_for_log("already there", Duration::from_secs(180));
        assert_eq!(server_receipts(rig.county.path()).get(&number), Some(&1));
        vm.wait_for_sh(
            "runuser -u booth -- kiosk --data-dir /var/lib/booth queue status --json",
            Duration::from_secs(120),
            "the booth's queue empties",
            |out| out.contains("\"pending\":0") || out.contains("\"pending\": 0"),
        );

        // The app killed outright: systemd brings it back.
        let pid = vm.kiosk_pid();
        vm.sh(&format!("kill -9 {pid}"));
        let back = vm.wait_until_kiosk_back(pid, Duration::from_secs(120));
        eprintln!(
            "kill -9 to the booth app ready again: {:.1} s",
            back.as_secs_f64()
        );

        // The UI thread hung (stopped by ptrace while the app's other threads run): the
        // watchdog it feeds goes hungry and systemd restarts the app.
        let pid = vm.kiosk_pid();
        vm.attach_tools();
        vm.sh(&format!("(/mnt/tools/freeze-thread {pid} > /tmp/freeze.log 2>&1 &) ; sleep 2; cat /tmp/freeze.log"));
        let back = vm.wait_until_kiosk_back(pid, Duration::from_secs(180));
        eprintln!(
            "hung UI thread to the booth app ready again: {:.1} s",
            back.as_secs_f64()
        );
        let journal =
            vm.sh("journalctl -b -u booth-kiosk --no-pager -o cat | grep -i watchdog || true");
        assert!(
            journal.contains("Watchdog timeout"),
            "systemd's watchdog fired:\n{journal}"
        );

        // A technician checks the keyboard-mode scanner by hand: with the app stopped (it
        // holds the scanner), `kiosk hw scan` prints what the scanner types.
        vm.sh("systemctl stop booth-kiosk");
        vm.sh("(kiosk hw scan --port /dev/booth/scanner --json --timeout 60s > /tmp/scan.json 2> /tmp/scan.err &) ; sleep 3");
        vm.qmp
            .type_line("panel", "https://county.example/r?n=A1-2")
            .unwrap_or_else(|e| panic!("{e}"));
        let scanned = vm.wait_for_sh(
            "cat /tmp/scan.json /tmp/scan.err",
            Duration::from_secs(60),
            "kiosk hw scan prints the typed code",
            |out| out.contains("\"text\""),
        );
        assert!(
            scanned.contains(r#""text":"https://county.example/r?n=A1-2""#)
                && scanned.contains(r#""encoding":"keyboard""#),
            "{scanned}"
        );
        vm.sh("systemctl start booth-kiosk");
    });
    vm.power_off();
}

#[test]
#[ignore = "boots the booth image under QEMU: run by ./test (needs BOOTH_IMAGE)"]
fn the_image_boots_like_a_booth_pc_through_uefi_and_its_boot_loader() {
    let dir = workdir("uefi");
    let image = BoothImage::from_env();
    let disk = Disk::fresh(&image, &dir);
    let pc = PcBoot::power_on(&disk, &dir.join("boot"));
    eprintln!(
        "UEFI power-on to the booth app's first frame: {:.1} s",
        pc.first_frame.as_secs_f64()
    );
}
