//! printer driver against its emulator over a pseudo-terminal.

use std::time::Duration;

use hardware::printer::decode::{Assembler, DecodedReceipt, Decoder};
use hardware::printer::emulator::{self, EmulatorConfig, EmulatorHandle, EmulatorStats, Fault};
use hardware::printer::{
    PaperWidth, Printer, PrinterConfig, PrinterError, QrMode, Receipt, encode, render, sample,
};
use hardware::transport::{Pty, SerialTransport, Transport};

/// Generous: the machine running the tests may be busy.
const WAIT: Duration = Duration::from_secs(20);

fn emulator(width: PaperWidth, dir: Option<&std::path::Path>) -> EmulatorHandle {
    emulator::spawn(EmulatorConfig {
        width,
        output_dir: dir.map(|d| d.to_owned()),
        ..EmulatorConfig::default()
    })
    .unwrap()
}

fn printer(path: &std::path::Path, width: PaperWidth, qr_mode: QrMode) -> Printer<SerialTransport> {
    let transport = SerialTransport::open(path.to_str().unwrap(), 115_200).unwrap();
    Printer::new(
        transport,
        PrinterConfig {
            width,
            qr_mode,
            status_timeout: Duration::from_secs(5),
            ..PrinterConfig::default()
        },
    )
}

/// The receipt as our own decoder reads the bytes the driver sends.
fn locally_decoded(receipt: &Receipt, config: &PrinterConfig) -> DecodedReceipt {
    let bytes = encode(receipt, &config.encode_options()).unwrap();
    let mut assembler = Assembler::new(config.width);
    let mut receipts: Vec<_> = Decoder::new()
        .push(&bytes)
        .iter()
        .filter_map(|event| assembler.push(event))
        .collect();
    assert_eq!(receipts.len(), 1);
    receipts.remove(0)
}

#[test]
fn the_standard_receipt_prints_at_both_widths_in_both_qr_modes() {
    let application = sample::standard_application();
    for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
        for qr_mode in [QrMode::Native, QrMode::Raster] {
            let dir = tempfile::tempdir().unwrap();
            let emulator = emulator(width, Some(dir.path()));
            let mut printer = printer(emulator.path(), width, qr_mode);
            let report = printer.print(&sample::standard_receipt()).unwrap();
            assert!(!report.paper_near_end());
            assert!(report.status.is_some_and(|s| s.online));

            let received = emulator.wait_for_receipts(1, WAIT);
            assert_eq!(received.len(), 1, "{width} {qr_mode:?}");
            let receipt = &received[0];
            assert_eq!(
                *receipt,
                locally_decoded(&sample::standard_receipt(), printer.config())
            );
            assert_eq!(
                receipt.qr_payloads(),
                [application.qr_payload.as_bytes()],
                "{width} {qr_mode:?}"
            );
            let lines = receipt.text_lines();
            assert_eq!(lines[0], "便民服务亭回执单");
            assert!(lines.contains(&"申请人证件：450902********1234".to_owned()));

            let stats = emulator.stats();
            assert_eq!(stats.status_requests, 4);
            assert_eq!(stats.bytes_received, 12 + report.bytes_sent);

            let text = std::fs::read_to_string(dir.path().join("receipt-0001.txt")).unwrap();
            assert_eq!(text, render::text(receipt, width));
            assert!(text.ends_with("----- cut -----\n"));
            let png = std::fs::read(dir.path().join("receipt-0001.png")).unwrap();
            let decoder = png::Decoder::new(std::io::Cursor::new(png));
            let info = decoder.read_info().unwrap().info().clone();
            assert_eq!(info.width, u32::from(width.dots()));
            assert!(
                info.height > 300,
                "a whole receipt, not a strip: {}",
                info.height
            );
            assert_eq!(
                emulator.written_files(),
                [
                    dir.path().join("receipt-0001.txt"),
                    dir.path().join("receipt-0001.png")
                ]
            );
            emulator.stop().unwrap();
        }
    }
}

#[test]
fn paper_end_and_cover_open_refuse_and_send_no_receipt_bytes() {
    for fault in [Fault::PaperEnd, Fault::CoverOpen, Fault::Offline] {
        let dir = tempfile::tempdir().unwrap();
        let emulator = emulator(PaperWidth::Mm58, Some(dir.path()));
        emulator.set_fault(fault);
        let mut printer = printer(emulator.path(), PaperWidth::Mm58, QrMode::Native);
        let err = printer.print(&sample::standard_receipt()).unwrap_err();
        match fault {
            Fault::PaperEnd => assert!(matches!(err, PrinterError::PaperEnd { .. }), "{err}"),
            Fault::CoverOpen => assert!(matches!(err, PrinterError::CoverOpen { .. }), "{err}"),
            _ => assert!(matches!(err, PrinterError::Offline { .. }), "{err}"),
        }
        assert!(
            err.to_string().contains(emulator.path().to_str().unwrap()),
            "{err}"
        );
        assert_eq!(err.status(), Some(&fault.status()));
        assert_eq!(
            emulator.stats(),
            EmulatorStats {
                bytes_received: 12,
                status_requests: 4,
                print_events: 0
            },
            "{fault}: only the four status requests reached the printer"
        );
        drop(printer);
        let emulator_files = emulator.written_files();
        emulator.stop().unwrap();
        assert!(emulator_files.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn paper_near_end_prints_and_reports_it() {
    let emulator = emulator(PaperWidth::Mm80, None);
    emulator.set_fault(Fault::NearEnd);
    let mut printer = printer(emulator.path(), PaperWidth::Mm80, QrMode::Native);
    let report = printer.print(&sample::standard_receipt()).unwrap();
    assert!(report.paper_near_end());
    assert_eq!(emulator.wait_for_receipts(1, WAIT).len(), 1);
}

#[test]
fn a_fixed_fault_lets_the_next_receipt_through_alone() {
    let emulator = emulator(PaperWidth::Mm58, None);
    let mut printer = printer(emulator.path(), PaperWidth::Mm58, QrMode::Native);
    emulator.set_fault(Fault::CoverOpen);
    assert!(matches!(
        printer.print(&Receipt::new().text("first").cut()),
        Err(PrinterError::CoverOpen { .. })
    ));
    emulator.set_fault(Fault::None);
    assert_eq!(printer.status().unwrap(), Fault::None.status());
    printer.print(&Receipt::new().text("second").cut()).unwrap();
    let received = emulator.wait_for_receipts(1, WAIT);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].text_lines(), ["second"]);
}

#[test]
fn a_silent_printer_is_a_typed_error_naming_the_port() {
    let emulator = emulator(PaperWidth::Mm58, None);
    emulator.set_silent(true);
    let path = emulator.path().to_str().unwrap().to_owned();
    let transport = SerialTransport::open(&path, 9600).unwrap();
    let mut printer = Printer::new(
        transport,
        PrinterConfig {
            status_timeout: Duration::from_millis(300),
            ..PrinterConfig::default()
        },
    );
    let err = printer.print(&sample::standard_receipt()).unwrap_err();
    assert!(matches!(err, PrinterError::Silent { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "printer on {path} did not answer a status request: check power, cable and baud rate"
        )
    );
    let stats = emulator.stats();
    assert_eq!((stats.status_requests, stats.print_events), (1, 0));
}

#[test]
fn a_device_answering_garbage_is_the_wrong_protocol() {
    let mut pty = Pty::open().unwrap();
    let path = pty.path().to_str().unwrap().to_owned();
    let device = std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        let n = pty.device().receive(&mut buf, WAIT).unwrap();
        assert_eq!(&buf[..n], [0x10, 0x04, 0x01]);
        // An ID card reader's preamble byte, say.
        pty.device().send(&[0xAA]).unwrap();
        pty
    });
    let mut printer = printer(
        std::path::Path::new(&path),
        PaperWidth::Mm58,
        QrMode::Native,
    );
    let err = printer.status().unwrap_err();
    assert!(
        matches!(err, PrinterError::WrongProtocol { byte: 0xAA, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&path), "{err}");
    drop(device.join().unwrap());
    assert_eq!(printer.into_inner().name(), path);
}

#[test]
fn the_emulator_answers_on_its_stable_link_and_numbers_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyPRINTER");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("receipt-0041.txt"), "earlier run").unwrap();
    let emulator = emulator::spawn(EmulatorConfig {
        output_dir: Some(out.clone()),
        link: Some(link.clone()),
        ..EmulatorConfig::default()
    })
    .unwrap();
    assert_eq!(emulator.link(), Some(link.as_path()));
    let mut printer = printer(&link, PaperWidth::Mm58, QrMode::Raster);
    printer.print(&Receipt::new().text("一").cut()).unwrap();
    printer.print(&Receipt::new().text("二").cut()).unwrap();
    assert_eq!(emulator.wait_for_receipts(2, WAIT).len(), 2);
    assert_eq!(
        std::fs::read_to_string(out.join("receipt-0043.txt")).unwrap(),
        "二\n----- cut -----\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("receipt-0041.txt")).unwrap(),
        "earlier run"
    );
    drop(printer);
    emulator.stop().unwrap();
    assert!(!link.exists(), "the link goes away with the emulator");
}
