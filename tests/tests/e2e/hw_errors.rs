//! Errors a technician meets before any device answers: wrong port, wrong device, the demo.

use std::time::Duration;

use booth_tests::{Background, run_kiosk};

const START: Duration = Duration::from_secs(20);
const COMMAND: Duration = Duration::from_secs(60);

#[test]
fn a_missing_port_is_named_with_what_to_check() {
    for command in ["read-card", "print-test", "printer-status", "scan"] {
        let out = run_kiosk(&["hw", command, "--port", "/dev/ttyUSB_absent"], COMMAND);
        assert!(!out.success, "{command}: {out}");
        assert_eq!(
            out.stderr.trim(),
            "kiosk: serial port /dev/ttyUSB_absent does not exist: check the cable and run `kiosk hw list`",
            "{command}: {out}"
        );
    }
}

#[test]
fn an_absent_usb_id_is_named() {
    let out = run_kiosk(&["hw", "read-card", "--port", "usb:dead:beef"], COMMAND);
    assert!(!out.success, "{out}");
    assert!(
        out.stderr.contains("dead:beef") && out.stderr.contains("kiosk hw list"),
        "{out}"
    );
}

#[test]
fn reading_a_card_from_the_scanner_port_says_it_is_the_wrong_device() {
    let scanner = Background::spawn(&[
        "hw",
        "emulate",
        "scanner",
        "--code",
        "NOT-A-CARD-READER",
        "--every",
        "100ms",
    ]);
    let port = scanner.wait_for_line("port:", START);
    let out = run_kiosk(&["hw", "read-card", "--port", &port], COMMAND);
    assert!(!out.success, "{out}");
    assert!(
        out.stderr.contains("not ID card reader frames") && out.stderr.contains(&port),
        "{out}"
    );
}

#[test]
fn printing_to_the_card_reader_says_the_printer_is_silent() {
    let reader = Background::spawn(&["hw", "emulate", "id-card"]);
    let port = reader.wait_for_line("port:", START);
    let out = run_kiosk(&["hw", "print-test", "--port", &port], COMMAND);
    assert!(!out.success, "{out}");
    assert!(
        out.stderr.contains("did not answer") && out.stderr.contains(&port),
        "{out}"
    );
}

#[test]
fn the_device_demo_reads_prints_and_scans() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_kiosk(
        &["hw", "demo", "--out", dir.path().to_str().unwrap()],
        COMMAND,
    );
    assert!(out.success, "{out}");
    assert!(out.stdout.contains("110105********0016"), "{out}");
    assert!(out.stdout.contains("scanned https://"), "{out}");
    assert!(dir.path().join("receipt-0001.png").exists(), "{out}");
    assert!(
        out.stdout.contains("out of paper") && out.stdout.contains("no reply"),
        "{out}"
    );
}

#[test]
fn list_runs_on_a_machine_without_devices() {
    let out = run_kiosk(&["hw", "list", "--json"], COMMAND);
    assert!(out.success, "{out}");
    let _: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
}
