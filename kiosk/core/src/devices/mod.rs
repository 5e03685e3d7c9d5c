//! The booth's three devices as the rest of the booth opens and names them: the only home of
//! their default baud rates, of opening a reader, printer or scanner from a port spec, of waiting
//! for a card, of the printer's status in words and of a port's description.
//!
//! - [`camera`]: the document camera, a V4L2 device or a folder of recorded frames.
//! - [`port`]: a port named by path or `usb:VID:PID`, and how a listed port is described.
//! - [`probe`]: the technician's one-shot tests on a port (read a card, print, scan).
//! - [`self_test`]: the booth's start-up check of each configured device, for `STATUS=`.
//! - [`usb_names`]: which of the booth's devices a USB device is, from the ids in its config
//!   (`kiosk udev-name`).
//!
//! Everything here blocks on the device: callers with a UI run it on a worker thread.

pub mod camera;
pub mod port;
pub mod probe;
pub mod self_test;
pub mod usb_names;

use std::time::{Duration, Instant};

use hardware::id_card::{CardRead, PollEvent, Reader, ReaderConfig, ReaderError, Status};
use hardware::printer::{PaperWidth, Printer, PrinterConfig, PrinterStatus};
use hardware::scanner::{Scanner, ScannerConfig};
use hardware::transport::Transport;

pub use port::{PortError, PortSpec, describe_port};

/// GA 467 ID card modules ship at 115200 baud.
pub const READER_BAUD: u32 = 115_200;
/// Most booth receipt printers ship at 9600 baud; USB-CDC and `usblp` ignore it.
pub const PRINTER_BAUD: u32 = 9600;
/// Serial QR scanners ship at 9600 baud.
pub const SCANNER_BAUD: u32 = 9600;
/// How often a waiting reader is polled: GA 467 readers want about one poll a second, and a
/// little faster feels instant to a villager.
pub const CARD_POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Opens the ID card reader on `port` (`baud` overrides the usual 115200).
pub fn open_reader(
    port: &PortSpec,
    baud: Option<u32>,
) -> Result<Reader<Box<dyn Transport>>, PortError> {
    let transport = port.open(baud.unwrap_or(READER_BAUD))?;
    Ok(Reader::new(transport, ReaderConfig::default()))
}

/// Opens the receipt printer on `port` for `paper` (`baud` overrides the usual 9600).
pub fn open_printer(
    port: &PortSpec,
    baud: Option<u32>,
    paper: PaperWidth,
) -> Result<Printer<Box<dyn Transport>>, PortError> {
    let transport = port.open(baud.unwrap_or(PRINTER_BAUD))?;
    let config = PrinterConfig {
        width: paper,
        ..PrinterConfig::default()
    };
    Ok(Printer::new(transport, config))
}

/// Opens a serial QR scanner on `port` (`baud` overrides the usual 9600).
pub fn open_scanner(
    port: &PortSpec,
    baud: Option<u32>,
) -> Result<Scanner<Box<dyn Transport>>, PortError> {
    let transport = port.open(baud.unwrap_or(SCANNER_BAUD))?;
    Ok(Scanner::new(transport, ScannerConfig::default()))
}

/// Why no card was read while waiting for one.
#[derive(Debug, thiserror::Error)]
pub enum CardWaitError {
    #[error(transparent)]
    Reader(#[from] ReaderError),
    #[error("no card was placed on the reader at {port} within {} s: place the card flat on the reader", .wait.as_secs())]
    NoCard { port: String, wait: Duration },
}

/// Polls `reader` until a card is placed and read, or `wait` passes. A card lifted mid-read or
/// not yet selectable is polled again, as the booth does; any other reader error ends the wait.
pub fn wait_for_card<T: Transport>(
    reader: &mut Reader<T>,
    wait: Duration,
) -> Result<CardRead, CardWaitError> {
    let deadline = Instant::now() + wait;
    loop {
        match reader.poll() {
            Ok(PollEvent::Placed(read)) => return Ok(*read),
            Ok(_) => {}
            Err(ReaderError::Status {
                status: Status::ReadFailed | Status::SelectFailed,
                ..
            }) => {}
            Err(err) => return Err(err.into()),
        }
        if Instant::now() >= deadline {
            return Err(CardWaitError::NoCard {
                port: reader.port().to_string(),
                wait,
            });
        }
        std::thread::sleep(CARD_POLL_INTERVAL);
    }
}

/// What is wrong with a printer, as one line a technician can act on; `None` when nothing is.
pub fn printer_problems(status: &PrinterStatus) -> Option<String> {
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

/// The printer's state as one line, healthy or not.
pub fn printer_status_line(status: &PrinterStatus) -> String {
    printer_problems(status)
        .unwrap_or_else(|| "printer ready: online, paper present, cover closed".to_owned())
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
        assert_eq!(printer_problems(&status(false, false)), None);
        assert_eq!(
            printer_status_line(&status(false, false)),
            "printer ready: online, paper present, cover closed"
        );
        assert_eq!(
            printer_problems(&status(true, true)).as_deref(),
            Some("cover open: close it; paper end: load a new roll")
        );
    }
}
