//! `kiosk hw demo`: the three emulators on pseudo-terminals and the real drivers against them,
//! step by step — read a card, print its receipt (saved as text and PNG), scan the receipt's QR
//! code — then the faults a technician meets. Nothing here is a mock: the drivers open the
//! pseudo-terminal paths exactly as they open /dev/ttyUSB0.

use std::path::PathBuf;
use std::time::Duration;

use hardware::id_card::emulator::{self as reader_emulator, EmulatedCard, Fault as ReaderFault};
use hardware::id_card::{Reader, ReaderConfig, samples};
use hardware::printer::decode::PrintedLine;
use hardware::printer::emulator::{self as printer_emulator, Fault as PrinterFault};
use hardware::printer::{PaperWidth, Printer, PrinterConfig, QrMode, sample};
use hardware::scanner::emulator as scanner_emulator;
use hardware::scanner::{Scanner, ScannerConfig};
use hardware::transport::SerialTransport;

use kiosk_core::devices::{PRINTER_BAUD, READER_BAUD, SCANNER_BAUD, printer_status_line};

use super::read_card::CardView;

#[derive(Debug, clap::Args)]
pub struct Demo {
    /// Where the printed receipts are saved (receipt-NNNN.txt and .png).
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
    /// Paper width in millimetres: 58 or 80.
    #[arg(long, default_value = "58")]
    width: PaperWidth,
}

impl Demo {
    pub fn run(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.out)?;
        let reader_device = reader_emulator::spawn(reader_emulator::EmulatorConfig {
            card: Some(EmulatedCard::new(samples::resident())?),
            ..Default::default()
        })?;
        let printer_device = printer_emulator::spawn(printer_emulator::EmulatorConfig {
            width: self.width,
            output_dir: Some(self.out.clone()),
            ..Default::default()
        })?;
        let scanner_device = scanner_emulator::spawn(scanner_emulator::EmulatorConfig::default())?;
        let reader_path = reader_device
            .path()
            .expect("pty emulator")
            .display()
            .to_string();
        let printer_path = printer_device.path().display().to_string();
        let scanner_path = scanner_device.path().display().to_string();
        println!(
            "emulated ID card reader on {reader_path}, printer on {printer_path}, scanner on {scanner_path}\n"
        );

        println!("1. read the card  (kiosk hw read-card --port {reader_path})");
        let mut reader = Reader::new(
            SerialTransport::open(&reader_path, READER_BAUD)?,
            ReaderConfig::default(),
        );
        let read = reader.read_card()?;
        print!("{}", indent(&CardView::new(&read, false).text()));

        println!(
            "\n2. print the receipt  (kiosk hw print-test --port {printer_path} --width {})",
            self.width.millimetres()
        );
        let mut printer = Printer::new(
            SerialTransport::open(&printer_path, PRINTER_BAUD)?,
            PrinterConfig {
                width: self.width,
                qr_mode: QrMode::Native,
                ..PrinterConfig::default()
            },
        );
        let report = printer.print(&sample::standard_receipt())?;
        let receipts = printer_device.wait_for_receipts(1, Duration::from_secs(5));
        let receipt = receipts
            .last()
            .ok_or_else(|| anyhow::anyhow!("the printer emulator cut no receipt"))?;
        println!(
            "   sent {} bytes; {}",
            report.bytes_sent,
            printer_status_line(report.status.as_ref().expect("status checked"))
        );
        wait_for_files(&printer_device, 2);
        for file in printer_device.written_files() {
            println!("   saved {}", file.display());
        }
        let qr_payload = receipt
            .lines
            .iter()
            .find_map(|line| match line {
                PrintedLine::Qr(qr) => Some(String::from_utf8_lossy(&qr.payload).into_owned()),
                _ => None,
            })
            .ok_or_else(|| anyhow::anyhow!("the printed receipt has no QR code"))?;

        println!("\n3. scan the receipt's QR code  (kiosk hw scan --port {scanner_path})");
        let mut scanner = Scanner::new(
            SerialTransport::open(&scanner_path, SCANNER_BAUD)?,
            ScannerConfig::default(),
        );
        scanner_device.scan(&qr_payload)?;
        let scan = scanner
            .next_code(Duration::from_secs(5))?
            .ok_or_else(|| anyhow::anyhow!("the scanner emulator sent nothing"))?;
        println!("   scanned {}", scan.text);

        println!("\n4. faults, and what the technician is told");
        reader_device.set_fault(ReaderFault::NoCard);
        println!(
            "   no card on the reader  → {}",
            one_line(reader.read_card().err())
        );
        reader_device.set_fault(ReaderFault::Silent);
        println!(
            "   reader unplugged/silent → {}",
            one_line(reader.read_card().err())
        );
        printer_device.set_fault(PrinterFault::PaperEnd);
        println!(
            "   printer out of paper   → {}",
            one_line(printer.print(&sample::standard_receipt()).err())
        );
        printer_device.set_fault(PrinterFault::CoverOpen);
        println!(
            "   printer cover open     → {}",
            one_line(printer.print(&sample::standard_receipt()).err())
        );

        println!(
            "\nnow try it by hand: `kiosk hw emulate id-card` (or printer, scanner) in one terminal,"
        );
        println!("then `kiosk hw read-card --port <the path it prints>` in another.");
        Ok(())
    }
}

fn wait_for_files(printer: &printer_emulator::EmulatorHandle, count: usize) {
    for _ in 0..100 {
        if printer.written_files().len() >= count {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn one_line<E: std::error::Error>(err: Option<E>) -> String {
    err.map_or_else(|| "no error (unexpected)".to_owned(), |e| e.to_string())
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("   {line}\n")).collect()
}
