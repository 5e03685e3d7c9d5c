//! `kiosk hw emulate scanner` + `kiosk hw scan`.

use std::time::Duration;

use booth_tests::{Background, run_kiosk};

const START: Duration = Duration::from_secs(20);
const COMMAND: Duration = Duration::from_secs(30);

/// Scanners drop bytes left over from before the port was opened, so these tests type codes
/// only once `kiosk hw scan` says it is waiting, as a person would scan.
#[test]
fn codes_arrive_with_every_suffix() {
    for suffix in ["cr", "lf", "crlf"] {
        let mut scanner = Background::spawn(&["hw", "emulate", "scanner", "--suffix", suffix]);
        let port = scanner.wait_for_line("port:", START);
        let reading = Background::spawn(&[
            "hw",
            "scan",
            "--port",
            &port,
            "--count",
            "2",
            "--timeout",
            "20s",
        ]);
        reading.wait_for_stderr("waiting for", START);
        scanner.send_line("BM-20250312-0042");
        scanner.send_line("https://x.cn/r/A1?b=2");
        assert_eq!(
            reading.wait_for_line("BM-", COMMAND),
            "20250312-0042",
            "{suffix}"
        );
        assert_eq!(
            reading.wait_for_line("https://", COMMAND),
            "x.cn/r/A1?b=2",
            "{suffix}"
        );
    }
}

#[test]
fn chinese_codes_in_gb18030_decode_and_json_names_the_encoding() {
    let mut scanner = Background::spawn(&["hw", "emulate", "scanner", "--encoding", "gb18030"]);
    let port = scanner.wait_for_line("port:", START);
    let reading = Background::spawn(&["hw", "scan", "--port", &port, "--json", "--timeout", "20s"]);
    reading.wait_for_stderr("waiting for", START);
    scanner.send_line("回执BM-0042");
    let line = format!("{{{}", reading.wait_for_line("{", COMMAND));
    let scan: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(scan["text"], "回执BM-0042", "{line}");
    assert_eq!(scan["encoding"], "gb18030", "{line}");
}

#[test]
fn lines_typed_into_the_emulator_are_scanned() {
    let mut scanner = Background::spawn(&["hw", "emulate", "scanner"]);
    let port = scanner.wait_for_line("port:", START);
    let reading = Background::spawn(&["hw", "scan", "--port", &port, "--timeout", "20s"]);
    reading.wait_for_stderr("waiting for", START);
    scanner.send_line("QR-TYPED-1");
    assert_eq!(reading.wait_for_line("QR-TYPED-1", COMMAND), "");
}

#[test]
fn no_scan_within_the_timeout_is_a_clear_error() {
    let scanner = Background::spawn(&["hw", "emulate", "scanner"]);
    let port = scanner.wait_for_line("port:", START);
    let out = run_kiosk(
        &["hw", "scan", "--port", &port, "--timeout", "300ms"],
        COMMAND,
    );
    assert!(!out.success, "{out}");
    assert!(
        out.stderr.contains("no code from the scanner") && out.stderr.contains(&port),
        "{out}"
    );
}

#[test]
fn a_scan_survives_the_scanner_being_unplugged_and_plugged_back() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttySCANNER");
    let link = link.to_str().unwrap();
    let mut first = Background::spawn(&["hw", "emulate", "scanner", "--link", link]);
    first.wait_for_line("link:", START);
    let reading = Background::spawn(&["hw", "scan", "--port", link, "--timeout", "20s"]);
    std::thread::sleep(Duration::from_millis(500));
    // Unplugged: stopped cleanly, so its link goes away as udev removes a by-id link. (A
    // SIGKILL would leave the link pointing at a pty number another test may get next.)
    assert!(
        first.terminate(START).is_some(),
        "the scanner emulator did not stop"
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut second = Background::spawn(&["hw", "emulate", "scanner", "--link", link]);
    second.wait_for_line("link:", START);
    reading.wait_for_stderr("is back", COMMAND);
    second.send_line("AFTER-REPLUG");
    assert_eq!(reading.wait_for_line("AFTER-REPLUG", COMMAND), "");
}
