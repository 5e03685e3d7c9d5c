//! `kiosk hw emulate printer` + `kiosk hw print-test` / `printer-status`.

use std::path::Path;
use std::time::Duration;

use booth_tests::{Background, run_kiosk};

const START: Duration = Duration::from_secs(20);
const COMMAND: Duration = Duration::from_secs(30);

fn emulator(out: &Path, args: &[&str]) -> (Background, String) {
    let mut full = vec!["hw", "emulate", "printer", "--out", out.to_str().unwrap()];
    full.extend_from_slice(args);
    let process = Background::spawn(&full);
    let port = process.wait_for_line("port:", START);
    (process, port)
}

fn png_width(path: &Path) -> u32 {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    decoder.read_info().unwrap().info().width
}

#[test]
fn the_standard_receipt_prints_as_text_and_png_at_both_widths_and_qr_modes() {
    for (width, qr, dots) in [("58", "native", 384), ("80", "raster", 576)] {
        let dir = tempfile::tempdir().unwrap();
        let (printer, port) = emulator(dir.path(), &["--width", width]);
        let out = run_kiosk(
            &[
                "hw",
                "print-test",
                "--port",
                &port,
                "--width",
                width,
                "--qr",
                qr,
            ],
            COMMAND,
        );
        assert!(out.success, "{width} mm {qr}: {out}");
        assert!(out.stdout.contains("printer ready"), "{out}");
        let png_line = printer.wait_for_line("receipt:", START);
        let text = std::fs::read_to_string(dir.path().join("receipt-0001.txt")).unwrap();
        assert!(text.contains("便民服务亭回执单"), "{text}");
        assert!(
            text.contains("450902********1234"),
            "the applicant's number prints masked\n{text}"
        );
        assert!(
            text.contains("[QR: https://"),
            "{qr} QR decoded back from the bytes\n{text}"
        );
        assert!(text.contains("----- cut -----"), "{text}");
        assert!(
            png_line.ends_with(".txt") || png_line.ends_with(".png"),
            "{png_line}"
        );
        assert_eq!(png_width(&dir.path().join("receipt-0001.png")), dots);
    }
}

#[test]
fn paper_end_and_cover_open_refuse_to_print_and_print_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut printer, port) = emulator(dir.path(), &[]);
    for (fault, expected) in [("paper-end", "out of paper"), ("cover-open", "cover open")] {
        printer.send_line(&format!("fault {fault}"));
        printer.wait_for_line(&format!("ok: fault {fault}"), START);
        let out = run_kiosk(&["hw", "print-test", "--port", &port], COMMAND);
        assert!(!out.success, "{fault}: {out}");
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(
            out.stderr.contains(expected) && out.stderr.contains(&port),
            "{fault}: {out}"
        );
        let status = run_kiosk(&["hw", "printer-status", "--port", &port], COMMAND);
        assert!(status.success, "{status}");
        assert!(
            status.stdout.contains(fault.replace('-', " ").as_str()),
            "{fault}: {status}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !dir.path().join("receipt-0001.txt").exists(),
        "no receipt may come out while a fault blocks printing"
    );
}

#[test]
fn paper_near_end_prints_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (printer, port) = emulator(dir.path(), &["--fault", "near-end"]);
    let out = run_kiosk(&["hw", "print-test", "--port", &port], COMMAND);
    assert!(out.success, "{out}");
    assert!(out.stdout.contains("paper near end"), "{out}");
    printer.wait_for_line("receipt:", START);
}

#[test]
fn a_printer_that_never_answers_status_is_reported_and_can_be_printed_to_blind() {
    let dir = tempfile::tempdir().unwrap();
    let (printer, port) = emulator(dir.path(), &["--silent"]);
    let out = run_kiosk(&["hw", "printer-status", "--port", &port], COMMAND);
    assert!(!out.success, "{out}");
    assert!(
        out.stderr.contains("did not answer") && out.stderr.contains(&port),
        "{out}"
    );
    let blind = run_kiosk(
        &["hw", "print-test", "--port", &port, "--no-status"],
        COMMAND,
    );
    assert!(blind.success, "{blind}");
    assert!(blind.stdout.contains("status not checked"), "{blind}");
    printer.wait_for_line("receipt:", START);
}
