//! The booth's start-up check: each configured device asked once, quickly, before the booth
//! tells systemd it is ready. A missing or silent device does not stop the booth (a villager can
//! type an ID number or a receipt number), so the outcome is words for `STATUS=`, not an error.
//!
//! Run it before the device threads use the ports: the reader thread opens its port only while
//! a page asks for a card and the printer is opened per receipt, so at start-up both are free;
//! the scanner is never opened here (its thread holds it, and a scanner answers nothing anyway).

use std::path::Path;
use std::time::Duration;

use hardware::id_card::{Reader, ReaderConfig, ReaderError, Timeouts};
use hardware::printer::{PaperWidth, PrinterError};
use hardware::transport::OpenError;

use super::{PortError, PortSpec, READER_BAUD, printer_problems};

/// How long the reader may take to answer its SAM status at start-up: a present reader
/// answers in milliseconds, and a silent one must not delay the booth's start for long.
const READER_ANSWER: Duration = Duration::from_millis(500);

/// One device's state at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered (the reader's SAM, the printer's status) or, for a scanner, its node exists.
    Ready,
    /// Its port does not exist (unplugged, or no udev rule gave it its name).
    Absent,
    /// The port opened but nothing answered.
    Silent,
    /// Anything else, in a few words.
    Problem(String),
}

/// A configured device and what the start-up check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `reader`, `printer` or `scanner`.
    pub device: &'static str,
    /// The port as configured.
    pub port: String,
    pub outcome: Outcome,
}

/// Asks the ID card reader on `port` for its SAM status.
pub fn check_reader(port: &PortSpec, baud: Option<u32>) -> Outcome {
    let transport = match port.open(baud.unwrap_or(READER_BAUD)) {
        Ok(transport) => transport,
        Err(err) => return port_outcome(&err),
    };
    let config = ReaderConfig {
        timeouts: Timeouts::uniform(READER_ANSWER),
        retries: 0,
        ..ReaderConfig::default()
    };
    match Reader::new(transport, config).sam_status() {
        Ok(()) => Outcome::Ready,
        Err(ReaderError::NoReply { .. }) => Outcome::Silent,
        Err(err) => Outcome::Problem(err.to_string()),
    }
}

/// Asks the printer on `port` for its status; paper and cover problems are named.
pub fn check_printer(port: &PortSpec, baud: Option<u32>) -> Outcome {
    let mut printer = match super::open_printer(port, baud, PaperWidth::default()) {
        Ok(printer) => printer,
        Err(err) => return port_outcome(&err),
    };
    match printer.status() {
        Ok(status) => printer_problems(&status).map_or(Outcome::Ready, Outcome::Problem),
        Err(PrinterError::Silent { .. }) => Outcome::Silent,
        Err(err) => Outcome::Problem(err.to_string()),
    }
}

/// Whether the scanner's node exists: a scanner says nothing until it scans.
pub fn check_scanner(port: &PortSpec) -> Outcome {
    match port.resolve() {
        Ok(path) if Path::new(&path).exists() => Outcome::Ready,
        Ok(_) => Outcome::Absent,
        Err(err) => port_outcome(&err),
    }
}

fn port_outcome(err: &PortError) -> Outcome {
    match err {
        PortError::UsbIdAbsent { .. } | PortError::Open(OpenError::NotFound { .. }) => {
            Outcome::Absent
        }
        PortError::Open(OpenError::PermissionDenied { group, .. }) => {
            Outcome::Problem(format!("permission denied (group {group})"))
        }
        PortError::Open(OpenError::Busy { .. }) => {
            Outcome::Problem("in use by another program".to_owned())
        }
        other => Outcome::Problem(other.to_string()),
    }
}

/// The booth's state as the one line `systemctl status` shows, naming every device that is
/// not ready: `ready; reader /dev/booth/id-reader absent; printer /dev/booth/printer silent`.
pub fn status_line(checks: &[Check]) -> String {
    if checks.is_empty() {
        return "ready; no devices configured".to_owned();
    }
    let problems: Vec<String> = checks
        .iter()
        .filter_map(|check| {
            let what = match &check.outcome {
                Outcome::Ready => return None,
                Outcome::Absent => "absent",
                Outcome::Silent => "not answering",
                Outcome::Problem(words) => words,
            };
            Some(format!("{} {} {what}", check.device, check.port))
        })
        .collect();
    if problems.is_empty() {
        let names: Vec<&str> = checks.iter().map(|check| check.device).collect();
        format!("ready; {} ok", names.join(", "))
    } else {
        // One line whatever a message holds: systemd shows STATUS= on one line.
        format!("ready; {}", problems.join("; ")).replace(['\n', '\r'], " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(device: &'static str, port: &str, outcome: Outcome) -> Check {
        Check {
            device,
            port: port.to_owned(),
            outcome,
        }
    }

    #[test]
    fn the_status_names_only_what_is_not_ready() {
        assert_eq!(status_line(&[]), "ready; no devices configured");
        assert_eq!(
            status_line(&[
                check("reader", "/dev/booth/id-reader", Outcome::Ready),
                check("scanner", "/dev/booth/scanner", Outcome::Ready),
            ]),
            "ready; reader, scanner ok"
        );
        assert_eq!(
            status_line(&[
                check("reader", "/dev/booth/id-reader", Outcome::Absent),
                check("printer", "/dev/booth/printer", Outcome::Silent),
                check(
                    "scanner",
                    "/dev/booth/scanner",
                    Outcome::Problem("in use\nby another".into())
                ),
            ]),
            "ready; reader /dev/booth/id-reader absent; printer /dev/booth/printer not answering; scanner /dev/booth/scanner in use by another"
        );
    }

    #[test]
    fn a_missing_port_is_absent_for_every_device() {
        let dir = tempfile::tempdir().unwrap();
        let port = PortSpec::Path(dir.path().join("ttyNONE").to_str().unwrap().to_owned());
        assert_eq!(check_reader(&port, None), Outcome::Absent);
        assert_eq!(check_printer(&port, None), Outcome::Absent);
        assert_eq!(check_scanner(&port), Outcome::Absent);
        let usb = PortSpec::UsbId {
            vid: 0xdead,
            pid: 0xbeef,
        };
        assert_eq!(check_reader(&usb, None), Outcome::Absent);
    }

    #[test]
    fn devices_that_answer_are_ready_and_a_silent_reader_is_named() {
        use hardware::id_card::emulator::{self as card, Fault};
        use hardware::printer::emulator as printer;
        let path = |p: &Path| PortSpec::Path(p.to_str().unwrap().to_owned());
        let reader = card::spawn(card::EmulatorConfig::default()).unwrap();
        let reader_port = path(reader.path().unwrap());
        assert_eq!(check_reader(&reader_port, None), Outcome::Ready);
        reader.set_fault(Fault::Silent);
        assert_eq!(check_reader(&reader_port, None), Outcome::Silent);
        let printer = printer::spawn(printer::EmulatorConfig::default()).unwrap();
        assert_eq!(check_printer(&path(printer.path()), None), Outcome::Ready);
        assert_eq!(check_scanner(&path(printer.path())), Outcome::Ready);
    }
}
