//! Device tests on a port the running booth does not use yet: each opens the port afresh,
//! does one thing and closes it. Blocking: run them in background work.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hardware::id_card::{PollEvent, Reader, ReaderConfig, ReaderError, Status, Timeouts};
use hardware::printer::{
    PaperWidth, Printer, PrinterConfig, PrinterError, PrinterStatus, Receipt, Style,
};
use hardware::scanner::{Scanner, ScannerConfig};

use crate::device_port::{PortError, PortSpec};
use crate::receipt_paper::beijing;

pub const READER_BAUD: u32 = 115_200;
pub const PRINTER_BAUD: u32 = 9600;
pub const SCANNER_BAUD: u32 = 9600;
/// How long a test waits for the technician to place a card or scan a code.
pub const TEST_WAIT: Duration = Duration::from_secs(20);

/// Why a test did not pass, as one line for the technician.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Reader(#[from] ReaderError),
    #[error(transparent)]
    Printer(#[from] PrinterError),
    #[error(transparent)]
    Scanner(#[from] hardware::scanner::ScannerError),
    #[error("no card was placed on the reader within {} s", .0.as_secs())]
    NoCard(Duration),
}

/// Reads one card on `port`; returns the masked ID number (never the name or address).
pub fn read_card(port: &PortSpec, wait: Duration) -> Result<String, ProbeError> {
    let mut reader = Reader::new(port.open(READER_BAUD)?, ReaderConfig::default());
    let deadline = Instant::now() + wait;
    loop {
        match reader.poll() {
            Ok(PollEvent::Placed(read)) => return Ok(read.card.id_number().to_string()),
            Ok(_) => {}
            // A card lifted mid-read or not yet selectable: keep polling, as the booth does.
            Err(ReaderError::Status {
                status: Status::ReadFailed | Status::SelectFailed,
                ..
            }) => {}
            Err(err) => return Err(err.into()),
        }
        if Instant::now() >= deadline {
            return Err(ProbeError::NoCard(wait));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Prints `receipt` on `port` after a status check.
pub fn print(port: &PortSpec, paper: PaperWidth, receipt: &Receipt) -> Result<(), ProbeError> {
    let config = PrinterConfig {
        width: paper,
        ..PrinterConfig::default()
    };
    Printer::new(port.open(PRINTER_BAUD)?, config).print(receipt)?;
    Ok(())
}

pub fn printer_status(port: &PortSpec) -> Result<PrinterStatus, ProbeError> {
    let mut printer = Printer::new(port.open(PRINTER_BAUD)?, PrinterConfig::default());
    Ok(printer.status()?)
}

/// Waits for one code on `port`; `None` when nothing was scanned in time.
pub fn wait_for_scan(port: &PortSpec, wait: Duration) -> Result<Option<String>, ProbeError> {
    let mut scanner = Scanner::new(port.open(SCANNER_BAUD)?, ScannerConfig::default());
    Ok(scanner.next_code(wait)?.map(|scan| scan.text))
}

/// Whether a GA 467 ID card reader answers on `path` (its SAM status).
pub fn is_reader(path: &str) -> bool {
    let Ok(transport) = PortSpec::Path(path.to_owned()).open(READER_BAUD) else {
        return false;
    };
    let config = ReaderConfig {
        timeouts: Timeouts::uniform(Duration::from_millis(400)),
        retries: 0,
        ..ReaderConfig::default()
    };
    Reader::new(transport, config).sam_status().is_ok()
}

/// Whether an ESC/POS printer answers a status request on `path`.
pub fn is_printer(path: &str) -> bool {
    printer_status(&PortSpec::Path(path.to_owned())).is_ok()
}

/// The one-line state of a printer, as `kiosk hw printer-status` prints it.
pub fn describe_status(status: &PrinterStatus) -> Option<String> {
    let problems: Vec<&str> = [
        (!status.online, "offline"),
        (status.cover_open, "cover open: close it"),
        (status.paper_end, "paper end: load a new roll"),
        (
            status.paper_near_end,
            "paper near end: bring a new roll soon",
        ),
        (status.cutter_error, "cutter error: clear the cutter"),
        (status.mechanical_error, "mechanical error"),
        (
            status.unrecoverable_error,
            "unrecoverable error: power-cycle or service",
        ),
        (
            status.auto_recoverable_error,
            "head too hot: it recovers by itself",
        ),
    ]
    .into_iter()
    .filter_map(|(on, text)| on.then_some(text))
    .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The technician's test page: which booth, when, and a line of each size to check the head.
pub fn test_receipt(kiosk: Option<(&str, u32)>, now: DateTime<Utc>) -> Receipt {
    let when = now.with_timezone(&beijing()).format("%Y-%m-%d %H:%M");
    let booth = kiosk.map_or_else(
        || "未登记".to_owned(),
        |(id, number)| format!("#{number} {id}"),
    );
    Receipt::new()
        .title("打印测试")
        .separator()
        .row("终端：", booth)
        .row("时间：", when.to_string())
        .text("如能看清本页，打印机工作正常。")
        .styled("ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789", Style::default())
        .styled("粗体 Bold", Style::default().bold())
        .separator()
        .feed(2)
        .cut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(paper_end: bool, cover_open: bool) -> PrinterStatus {
        PrinterStatus {
            online: true,
            cover_open,
            paper_end,
            paper_near_end: false,
            cutter_error: false,
            mechanical_error: false,
            unrecoverable_error: false,
            auto_recoverable_error: false,
        }
    }

    #[test]
    fn a_healthy_printer_has_nothing_to_say() {
        assert_eq!(describe_status(&status(false, false)), None);
        assert_eq!(
            describe_status(&status(true, true)).as_deref(),
            Some("cover open: close it; paper end: load a new roll")
        );
    }
}
