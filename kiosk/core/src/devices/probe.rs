//! Device tests on a port the running booth does not use yet: each opens the port afresh,
//! does one thing and closes it. Blocking: run them in background work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hardware::id_card::{Reader, ReaderConfig, ReaderError, Timeouts};
use hardware::printer::{PaperWidth, PrinterError, PrinterStatus, Receipt, Style};

use super::{CardWaitError, PortError, PortSpec, READER_BAUD};
use crate::receipt_paper::beijing;

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
    Card(#[from] CardWaitError),
    #[error(transparent)]
    Printer(#[from] PrinterError),
    #[error(transparent)]
    Scanner(#[from] hardware::scanner::ScannerError),
}

/// Reads one card on `port`; returns the masked ID number (never the name or address).
pub fn read_card(port: &PortSpec, wait: Duration) -> Result<String, ProbeError> {
    let mut reader = super::open_reader(port, None)?;
    let read = super::wait_for_card(&mut reader, wait)?;
    Ok(read.card.id_number().to_string())
}

/// Prints `receipt` on `port` after a status check.
pub fn print(port: &PortSpec, paper: PaperWidth, receipt: &Receipt) -> Result<(), ProbeError> {
    super::open_printer(port, None, paper)?.print(receipt)?;
    Ok(())
}

pub fn printer_status(port: &PortSpec) -> Result<PrinterStatus, ProbeError> {
    Ok(super::open_printer(port, None, PaperWidth::default())?.status()?)
}

/// Waits for one code on `port`; `None` when nothing was scanned in time.
pub fn wait_for_scan(port: &PortSpec, wait: Duration) -> Result<Option<String>, ProbeError> {
    let mut scanner = super::open_scanner(port, None)?;
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
