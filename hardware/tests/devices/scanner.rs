//! The scanner driver against its emulator over a pseudo-terminal.

use std::time::{Duration, Instant};

use hardware::scanner::emulator::{self, CodeEncoding, EmulatorConfig, Suffix};
use hardware::scanner::{
    ReconnectConfig, ReconnectingScanner, Scan, Scanner, ScannerConfig, ScannerError, ScannerEvent,
    Terminator, TextEncoding,
};
use hardware::transport::{SerialTransport, Transport};

/// Generous: the machine running the tests may be busy.
const WAIT: Duration = Duration::from_secs(10);

fn emulate(suffix: Suffix) -> emulator::ScannerEmulator {
    emulator::spawn(EmulatorConfig {
        suffix,
        between_codes: Duration::ZERO,
        ..EmulatorConfig::default()
    })
    .unwrap()
}

fn host(emulator: &emulator::ScannerEmulator, config: ScannerConfig) -> Scanner<SerialTransport> {
    let port = SerialTransport::open(emulator.path().to_str().unwrap(), 9600).unwrap();
    Scanner::new(port, config)
}

fn next_scan(scanner: &mut Scanner<SerialTransport>) -> Scan {
    scanner
        .next_code(WAIT)
        .unwrap()
        .expect("a scan within the wait")
}

#[test]
fn every_suffix_is_framed_in_auto_mode() {
    for suffix in [Suffix::Cr, Suffix::Lf, Suffix::CrLf] {
        let emulator = emulate(suffix);
        let mut scanner = host(
            &emulator,
            ScannerConfig {
                idle_flush: None,
                ..ScannerConfig::default()
            },
        );
        for code in ["https://x.cn/r/A1?b=2", "6901234567892", "ABC-123"] {
            emulator.scan(code).unwrap();
        }
        for code in ["https://x.cn/r/A1?b=2", "6901234567892", "ABC-123"] {
            let scan = next_scan(&mut scanner);
            assert_eq!(scan.text, code, "suffix {suffix}");
            assert_eq!(scan.raw, code.as_bytes());
            assert_eq!(scan.encoding, TextEncoding::Utf8);
        }
        assert!(
            scanner
                .next_code(Duration::from_millis(100))
                .unwrap()
                .is_none(),
            "suffix {suffix} left no stray frame"
        );
    }
}

#[test]
fn each_suffix_is_framed_by_its_own_terminator() {
    for (suffix, terminator) in [
        (Suffix::Cr, Terminator::Cr),
        (Suffix::Lf, Terminator::Lf),
        (Suffix::CrLf, Terminator::CrLf),
    ] {
        let emulator = emulate(suffix);
        let mut scanner = host(
            &emulator,
            ScannerConfig {
                terminator,
                idle_flush: None,
                ..ScannerConfig::default()
            },
        );
        emulator.scan("FIRST").unwrap();
        emulator.scan("SECOND").unwrap();
        assert_eq!(next_scan(&mut scanner).text, "FIRST", "{terminator}");
        assert_eq!(next_scan(&mut scanner).text, "SECOND", "{terminator}");
    }
}

#[test]
fn a_crlf_split_by_a_slow_line_is_one_terminator() {
    let emulator = emulator::spawn(EmulatorConfig {
        suffix: Suffix::CrLf,
        per_byte: Duration::from_millis(3),
        between_codes: Duration::ZERO,
        ..EmulatorConfig::default()
    })
    .unwrap();
    let mut scanner = host(
        &emulator,
        ScannerConfig {
            idle_flush: None,
            duplicate_window: Duration::ZERO,
            ..ScannerConfig::default()
        },
    );
    for code in ["A1", "B2", "C3"] {
        emulator.scan(code).unwrap();
    }
    let got: Vec<String> = (0..3).map(|_| next_scan(&mut scanner).text).collect();
    assert_eq!(got, ["A1", "B2", "C3"]);
    assert!(
        scanner
            .next_code(Duration::from_millis(100))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_scanner_without_suffix_is_framed_by_silence() {
    let emulator = emulate(Suffix::None);
    let mut scanner = host(
        &emulator,
        ScannerConfig {
            terminator: Terminator::None,
            idle_flush: Some(Duration::from_millis(100)),
            ..ScannerConfig::default()
        },
    );
    // One code at a time: codes sent back to back with no suffix are one code by definition.
    for code in ["6901234567892", "line one\r\nline two"] {
        emulator.scan(code).unwrap();
        assert_eq!(next_scan(&mut scanner).text, code);
    }
}

#[test]
fn gb18030_chinese_is_decoded_and_reported_as_gb18030() {
    let emulator = emulate(Suffix::CrLf);
    let mut scanner = host(&emulator, ScannerConfig::default());
    emulator
        .scan_as("榆林市便民服务中心 收据 No.0042", CodeEncoding::Gb18030)
        .unwrap();
    emulator.scan_as("姓名:张三", CodeEncoding::Utf8).unwrap();
    let scan = next_scan(&mut scanner);
    assert_eq!(scan.text, "榆林市便民服务中心 收据 No.0042");
    assert_eq!(scan.encoding, TextEncoding::Gb18030);
    assert_eq!(&scan.raw[..4], &[0xD3, 0xDC, 0xC1, 0xD6], "榆林 in GB18030");
    let scan = next_scan(&mut scanner);
    assert_eq!(scan.text, "姓名:张三");
    assert_eq!(scan.encoding, TextEncoding::Utf8);
}

#[test]
fn the_same_code_twice_in_the_window_is_delivered_once() {
    let emulator = emulate(Suffix::Cr);
    let mut scanner = host(
        &emulator,
        ScannerConfig {
            duplicate_window: Duration::from_secs(3600),
            ..ScannerConfig::default()
        },
    );
    for code in ["SAME", "SAME", "OTHER", "SAME"] {
        emulator.scan(code).unwrap();
    }
    assert_eq!(next_scan(&mut scanner).text, "SAME");
    assert_eq!(next_scan(&mut scanner).text, "OTHER");
    assert_eq!(
        next_scan(&mut scanner).text,
        "SAME",
        "a different code in between lets it through again"
    );

    // The port is exclusive: the first host lets go before the second opens it.
    drop(scanner);
    let mut keep_all = host(
        &emulator,
        ScannerConfig {
            duplicate_window: Duration::ZERO,
            ..ScannerConfig::default()
        },
    );
    emulator.scan("TWICE").unwrap();
    emulator.scan("TWICE").unwrap();
    assert_eq!(next_scan(&mut keep_all).text, "TWICE");
    assert_eq!(next_scan(&mut keep_all).text, "TWICE");
}

#[test]
fn silence_is_a_timeout_not_an_error() {
    let emulator = emulate(Suffix::CrLf);
    let mut scanner = host(&emulator, ScannerConfig::default());
    let started = Instant::now();
    assert!(
        scanner
            .next_code(Duration::from_millis(200))
            .unwrap()
            .is_none()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "waited the timeout"
    );
    emulator.scan("LATE").unwrap();
    assert_eq!(next_scan(&mut scanner).text, "LATE");
    let port = scanner.into_inner();
    assert_eq!(port.name(), emulator.path().to_str().unwrap());
}

#[test]
fn a_too_long_code_is_an_error_and_the_next_code_still_arrives() {
    let emulator = emulate(Suffix::CrLf);
    let mut scanner = host(
        &emulator,
        ScannerConfig {
            max_code_len: 64,
            ..ScannerConfig::default()
        },
    );
    emulator.scan_bytes(vec![b'9'; 300]).unwrap();
    emulator.scan("OK").unwrap();
    let err = scanner.next_code(WAIT).unwrap_err();
    assert!(
        matches!(
            err,
            ScannerError::TooLong {
                len: 300,
                max_len: 64,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(emulator.path().to_str().unwrap()) && message.contains("300-byte"),
        "{message}"
    );
    assert_eq!(next_scan(&mut scanner).text, "OK");
}

#[test]
fn line_noise_is_rejected_without_stopping_the_driver() {
    let emulator = emulate(Suffix::Lf);
    let mut scanner = host(&emulator, ScannerConfig::default());
    emulator.scan_bytes(vec![0xFF, 0xFE, 0x80, 0x81]).unwrap();
    emulator.scan("AFTER-NOISE").unwrap();
    let err = scanner.next_code(WAIT).unwrap_err();
    assert!(matches!(err, ScannerError::Undecodable { .. }), "{err:?}");
    assert!(!err.is_link_lost());
    assert_eq!(next_scan(&mut scanner).text, "AFTER-NOISE");
}

#[test]
fn an_unplugged_emulator_is_an_io_error() {
    let emulator = emulate(Suffix::Cr);
    let mut scanner = host(&emulator, ScannerConfig::default());
    emulator.stop().unwrap();
    let err = scanner.next_code(WAIT).unwrap_err();
    assert!(err.is_link_lost(), "{err:?}");
}

/// Waits for the next event, skipping nothing: the scenario below expects an exact sequence.
fn next_event(scanner: &mut ReconnectingScanner) -> ScannerEvent {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(event) = scanner.next_event(Duration::from_millis(250)) {
            return event;
        }
    }
    panic!(
        "no scanner event within {WAIT:?}; last open error: {:?}",
        scanner.last_open_error()
    );
}

#[test]
fn a_scanner_unplugged_and_plugged_back_is_reopened_by_its_stable_path() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("usb-Newland_HR52-if00");
    let first = emulator::spawn(EmulatorConfig {
        suffix: Suffix::CrLf,
        link: Some(link.clone()),
        ..EmulatorConfig::default()
    })
    .unwrap();
    let mut config = ReconnectConfig::new(link.to_str().unwrap(), 115_200);
    config.backoff.initial = Duration::from_millis(20);
    config.backoff.max = Duration::from_millis(200);
    let mut scanner = ReconnectingScanner::connect(config).unwrap();

    first.scan("BEFORE").unwrap();
    match next_event(&mut scanner) {
        ScannerEvent::Scan(scan) => assert_eq!(scan.text, "BEFORE"),
        other => panic!("expected the first scan, got {other:?}"),
    }

    // Unplugged: the pseudo-terminal and its link go away.
    first.stop().unwrap();
    assert!(!link.exists());
    match next_event(&mut scanner) {
        ScannerEvent::Disconnected { port, cause } => {
            assert_eq!(port, link.to_str().unwrap());
            assert!(
                cause.to_string().contains(link.to_str().unwrap()),
                "{cause}"
            );
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(!scanner.is_connected());
    for _ in 0..3 {
        let event = scanner.next_event(Duration::from_millis(100));
        assert!(
            event.is_none(),
            "a missing device reports nothing more: {event:?}"
        );
    }
    assert!(scanner.last_open_error().is_some());

    // Plugged back in: a new device node behind the same stable link.
    let second = emulator::spawn(EmulatorConfig {
        suffix: Suffix::Cr,
        link: Some(link.clone()),
        ..EmulatorConfig::default()
    })
    .unwrap();
    match next_event(&mut scanner) {
        ScannerEvent::Reconnected { port } => assert_eq!(port, link.to_str().unwrap()),
        other => panic!("expected Reconnected, got {other:?}"),
    }
    assert!(scanner.is_connected());
    second.scan("AFTER").unwrap();
    second.scan("AGAIN").unwrap();
    for want in ["AFTER", "AGAIN"] {
        match next_event(&mut scanner) {
            ScannerEvent::Scan(scan) => assert_eq!(scan.text, want),
            other => panic!("expected scan {want}, got {other:?}"),
        }
    }
}
