//! The printer driver: checks real-time status, then sends the receipt — or refuses with a
//! reason a technician can act on.

use std::io;
use std::time::{Duration, Instant};

use super::encode::{CutStyle, EncodeError, EncodeOptions, QrMode, encode};
use super::paper::PaperWidth;
use super::receipt::Receipt;
use super::status::{PrinterStatus, StatusRequest, is_status_reply};
use crate::transport::{Transport, receive_exact_until};

/// What to do when the printer does not answer status requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WhenSilent {
    /// Refuse to print: a silent serial printer is off, unplugged or at the wrong baud rate.
    #[default]
    Fail,
    /// Print blind. For `usblp` printers, many of which never answer `DLE EOT`; the report
    /// then carries no status.
    PrintAnyway,
}

/// How the printer is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterConfig {
    pub width: PaperWidth,
    pub qr_mode: QrMode,
    pub cut: CutStyle,
    /// How long to wait for each status byte.
    pub status_timeout: Duration,
    pub when_silent: WhenSilent,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        Self {
            width: PaperWidth::Mm58,
            qr_mode: QrMode::Native,
            cut: CutStyle::Partial,
            status_timeout: Duration::from_millis(500),
            when_silent: WhenSilent::Fail,
        }
    }
}

impl PrinterConfig {
    pub fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            width: self.width,
            qr_mode: self.qr_mode,
            cut: self.cut,
        }
    }
}

/// What happened when a receipt was printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    /// The status checked before printing; `None` when a silent printer was printed to blind.
    pub status: Option<PrinterStatus>,
    pub bytes_sent: usize,
}

impl PrintReport {
    /// The roll is running out: someone should bring paper.
    pub fn paper_near_end(&self) -> bool {
        self.status.is_some_and(|s| s.paper_near_end)
    }
}

/// Why the printer did not print or report its status.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error("printer on {port} did not answer a status request: check power, cable and baud rate")]
    Silent { port: String },
    #[error(
        "printer on {port} answered a status request with {byte:#04x}, which is not ESC/POS status: wrong protocol, device or baud rate — check what is connected and its settings"
    )]
    WrongProtocol { port: String, byte: u8 },
    #[error("printer on {port} is out of paper: load a new roll and close the cover")]
    PaperEnd { port: String, status: PrinterStatus },
    #[error("printer on {port} has its cover open: close the cover firmly")]
    CoverOpen { port: String, status: PrinterStatus },
    #[error(
        "printer on {port} reports a cutter error: open the cover, clear paper from the cutter and close it"
    )]
    CutterError { port: String, status: PrinterStatus },
    #[error(
        "printer on {port} reports an unrecoverable error: power it off and on, and call for service if it persists"
    )]
    Unrecoverable { port: String, status: PrinterStatus },
    #[error(
        "printer on {port} is offline: check its panel lights and paper, then press FEED or power-cycle it"
    )]
    Offline { port: String, status: PrinterStatus },
    #[error(
        "lost contact with the printer on {port}: check the cable and that the device still exists"
    )]
    Io {
        port: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot print this receipt on {port}")]
    Encode {
        port: String,
        #[source]
        source: EncodeError,
    },
}

impl PrinterError {
    /// The printer state behind a refusal, if the refusal came from a status check.
    pub fn status(&self) -> Option<&PrinterStatus> {
        match self {
            PrinterError::PaperEnd { status, .. }
            | PrinterError::CoverOpen { status, .. }
            | PrinterError::CutterError { status, .. }
            | PrinterError::Unrecoverable { status, .. }
            | PrinterError::Offline { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// An ESC/POS receipt printer on some transport.
#[derive(Debug)]
pub struct Printer<T: Transport> {
    transport: T,
    config: PrinterConfig,
}

impl<T: Transport> Printer<T> {
    pub fn new(transport: T, config: PrinterConfig) -> Self {
        Self { transport, config }
    }

    pub fn config(&self) -> &PrinterConfig {
        &self.config
    }

    /// Hands the transport back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Asks `DLE EOT 1..4` and decodes the four replies.
    pub fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        // A reply that arrived after an earlier timeout must not answer this request.
        self.transport.clear_input().map_err(|e| self.io(e))?;
        let mut replies = [0u8; 4];
        for (request, reply) in StatusRequest::ALL.into_iter().zip(&mut replies) {
            *reply = self.ask(request)?;
        }
        PrinterStatus::from_replies(replies).map_err(|bad| PrinterError::WrongProtocol {
            port: self.port(),
            byte: bad.byte,
        })
    }

    fn ask(&mut self, request: StatusRequest) -> Result<u8, PrinterError> {
        self.transport
            .send(&request.bytes())
            .map_err(|e| self.io(e))?;
        let mut byte = [0u8; 1];
        let deadline = Instant::now() + self.config.status_timeout;
        let got = receive_exact_until(&mut self.transport, &mut byte, deadline)
            .map_err(|e| self.io(e))?;
        if got == 0 {
            return Err(PrinterError::Silent { port: self.port() });
        }
        if !is_status_reply(byte[0]) {
            return Err(PrinterError::WrongProtocol {
                port: self.port(),
                byte: byte[0],
            });
        }
        Ok(byte[0])
    }

    /// Checks status, then prints `receipt`. Nothing is sent when the printer cannot print
    /// (out of paper, cover open, offline, cutter or unrecoverable error), so no half receipt
    /// comes out later when someone fixes it. Paper near its end still prints; see
    /// [`PrintReport::paper_near_end`].
    pub fn print(&mut self, receipt: &Receipt) -> Result<PrintReport, PrinterError> {
        // Encoded first: a receipt that cannot be printed is refused before touching the device.
        let bytes = encode(receipt, &self.config.encode_options()).map_err(|source| {
            PrinterError::Encode {
                port: self.port(),
                source,
            }
        })?;
        let status = match self.status() {
            Ok(status) => Some(status),
            Err(PrinterError::Silent { .. })
                if self.config.when_silent == WhenSilent::PrintAnyway =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        if let Some(status) = status {
            self.refuse_if_blocked(status)?;
        }
        self.transport.send(&bytes).map_err(|e| self.io(e))?;
        Ok(PrintReport {
            status,
            bytes_sent: bytes.len(),
        })
    }

    fn refuse_if_blocked(&self, status: PrinterStatus) -> Result<(), PrinterError> {
        let port = self.port();
        let error = if status.cover_open {
            PrinterError::CoverOpen { port, status }
        } else if status.paper_end {
            PrinterError::PaperEnd { port, status }
        } else if status.cutter_error {
            PrinterError::CutterError { port, status }
        } else if status.unrecoverable_error {
            PrinterError::Unrecoverable { port, status }
        } else if !status.online {
            PrinterError::Offline { port, status }
        } else {
            return Ok(());
        };
        Err(error)
    }

    fn port(&self) -> String {
        self.transport.name().to_owned()
    }

    fn io(&self, source: io::Error) -> PrinterError {
        PrinterError::Io {
            port: self.port(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;
    use crate::printer::decode::{Decoder, Event};
    use crate::transport::{MemoryTransport, memory_pair};

    /// A printer answering every status request with `replies[n - 1]`, recording the rest.
    fn fake_printer(replies: Option<[u8; 4]>) -> (MemoryTransport, thread::JoinHandle<Vec<Event>>) {
        let (host, mut device) = memory_pair("test printer");
        let worker = thread::spawn(move || {
            let mut decoder = Decoder::new();
            let mut seen = Vec::new();
            let mut buf = [0u8; 512];
            while let Ok(n) = device.receive(&mut buf, Duration::from_secs(5)) {
                if n == 0 {
                    break;
                }
                for event in decoder.push(&buf[..n]) {
                    if let (Event::StatusRequest(k), Some(replies)) = (&event, replies) {
                        device.send(&[replies[usize::from(*k) - 1]]).unwrap();
                    }
                    seen.push(event);
                }
            }
            seen
        });
        (host, worker)
    }

    fn config() -> PrinterConfig {
        PrinterConfig {
            status_timeout: Duration::from_millis(200),
            ..PrinterConfig::default()
        }
    }

    fn only_status_requests(events: &[Event]) -> bool {
        events.iter().all(|e| matches!(e, Event::StatusRequest(_)))
    }

    #[test]
    fn a_healthy_printer_gets_the_receipt_after_four_status_requests() {
        let (host, worker) = fake_printer(Some([0x12; 4]));
        let mut printer = Printer::new(host, config());
        let report = printer.print(&Receipt::new().text("A").cut()).unwrap();
        assert_eq!(report.status, Some(PrinterStatus::default()));
        assert!(!report.paper_near_end());
        drop(printer.into_inner());
        let events = worker.join().unwrap();
        let requests: Vec<_> = events.iter().take(4).cloned().collect();
        assert_eq!(
            requests,
            (1..=4).map(Event::StatusRequest).collect::<Vec<_>>()
        );
        assert!(events.contains(&Event::Cut(crate::printer::decode::CutKind::Partial)));
        assert_eq!(report.bytes_sent, 4 + 2 + 4);
    }

    #[test]
    fn paper_end_and_cover_open_send_no_receipt_bytes() {
        for (replies, expect_paper) in [
            ([0x1A, 0x32, 0x12, 0x72], true),
            ([0x1A, 0x16, 0x12, 0x12], false),
        ] {
            let (host, worker) = fake_printer(Some(replies));
            let mut printer = Printer::new(host, config());
            let err = printer.print(&Receipt::new().text("A").cut()).unwrap_err();
            if expect_paper {
                assert!(matches!(err, PrinterError::PaperEnd { .. }), "{err}");
            } else {
                assert!(matches!(err, PrinterError::CoverOpen { .. }), "{err}");
            }
            assert!(err.to_string().contains("test printer (host end)"), "{err}");
            drop(printer);
            assert!(only_status_requests(&worker.join().unwrap()));
        }
    }

    #[test]
    fn each_blocking_state_has_its_own_error() {
        type Check = fn(&PrinterError) -> bool;
        let cases: [([u8; 4], Check); 3] = [
            ([0x1A, 0x52, 0x1A, 0x12], |e| {
                matches!(e, PrinterError::CutterError { .. })
            }),
            ([0x1A, 0x52, 0x32, 0x12], |e| {
                matches!(e, PrinterError::Unrecoverable { .. })
            }),
            ([0x1A, 0x12, 0x12, 0x12], |e| {
                matches!(e, PrinterError::Offline { .. })
            }),
        ];
        for (replies, is_expected) in cases {
            let (host, worker) = fake_printer(Some(replies));
            let mut printer = Printer::new(host, config());
            let err = printer.print(&Receipt::new().text("A")).unwrap_err();
            assert!(is_expected(&err), "{replies:02x?}: {err}");
            assert!(err.status().is_some());
            drop(printer);
            assert!(only_status_requests(&worker.join().unwrap()));
        }
    }

    #[test]
    fn paper_near_end_prints_and_says_so() {
        let (host, worker) = fake_printer(Some([0x12, 0x12, 0x12, 0x1E]));
        let mut printer = Printer::new(host, config());
        let report = printer.print(&Receipt::new().text("A")).unwrap();
        assert!(report.paper_near_end());
        drop(printer);
        assert!(!only_status_requests(&worker.join().unwrap()));
    }

    #[test]
    fn a_silent_printer_is_a_typed_error_naming_the_port() {
        let (host, worker) = fake_printer(None);
        let mut printer = Printer::new(host, config());
        let err = printer.print(&Receipt::new().text("A")).unwrap_err();
        assert!(matches!(err, PrinterError::Silent { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "printer on test printer (host end) did not answer a status request: check power, cable and baud rate"
        );
        drop(printer);
        let events = worker.join().unwrap();
        assert_eq!(events, [Event::StatusRequest(1)]);
    }

    #[test]
    fn a_silent_usblp_printer_can_be_printed_to_blind() {
        let (host, worker) = fake_printer(None);
        let config = PrinterConfig {
            when_silent: WhenSilent::PrintAnyway,
            ..config()
        };
        let mut printer = Printer::new(host, config);
        let report = printer.print(&Receipt::new().text("A")).unwrap();
        assert_eq!(report.status, None);
        drop(printer);
        assert!(worker.join().unwrap().contains(&Event::LineFeed));
    }

    #[test]
    fn a_reply_without_the_status_pattern_is_the_wrong_protocol() {
        let (host, worker) = fake_printer(Some([0x12, 0x00, 0x12, 0x12]));
        let mut printer = Printer::new(host, config());
        let err = printer.status().unwrap_err();
        assert!(
            matches!(err, PrinterError::WrongProtocol { byte: 0x00, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("wrong protocol"), "{err}");
        drop(printer);
        worker.join().unwrap();
    }

    #[test]
    fn a_vanished_device_is_an_io_error_with_its_source() {
        let (host, device) = memory_pair("gone");
        drop(device);
        let mut printer = Printer::new(host, config());
        let err = printer.status().unwrap_err();
        assert!(matches!(err, PrinterError::Io { .. }), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
