//! `kiosk hw …`: the technician's device commands. Every command works against real devices or
//! against `kiosk hw emulate`, which puts an emulated device on a fresh pseudo-terminal.
//!
//! One file per command, each with the same two verbs: a clap `Args` struct and `run`.

mod camera;
mod demo;
mod emulate;
mod list;
mod print_test;
mod printer_status;
mod read_card;
mod scan;

use std::time::Duration;

use clap::Subcommand;
use hardware::scanner::{DuplicateFilter, Terminator};
use hardware::transport::Transport;
use kiosk_core::devices::PortSpec;

#[derive(Debug, Subcommand)]
pub enum HwCommand {
    /// List serial ports (with USB vendor:product ids) and USB printers.
    List(list::List),
    /// Read the resident ID card on the reader (the number is always shown masked).
    ReadCard(read_card::ReadCard),
    /// Print the standard receipt after checking the printer's status.
    PrintTest(print_test::PrintTest),
    /// Show the printer's status: online, cover, paper, cutter, errors.
    PrinterStatus(printer_status::PrinterStatusCmd),
    /// Print the codes the QR/barcode scanner reads.
    Scan(scan::Scan),
    /// The document camera: list cameras, capture a page to a file.
    #[command(subcommand)]
    Camera(camera::CameraCmd),
    /// Start an emulated device on a new pseudo-terminal and print its path.
    #[command(subcommand)]
    Emulate(emulate::Emulate),
    /// Start all three emulators and run read-card, print-test and scan against them.
    Demo(demo::Demo),
}

impl HwCommand {
    pub fn run(&self) -> anyhow::Result<()> {
        match self {
            Self::List(cmd) => cmd.run(),
            Self::ReadCard(cmd) => cmd.run(),
            Self::PrintTest(cmd) => cmd.run(),
            Self::PrinterStatus(cmd) => cmd.run(),
            Self::Scan(cmd) => cmd.run(),
            Self::Camera(cmd) => cmd.run(),
            Self::Emulate(cmd) => cmd.run(),
            Self::Demo(cmd) => cmd.run(),
        }
    }
}

/// Which port, and at what speed.
#[derive(Debug, clap::Args)]
pub struct PortArgs {
    /// The device: a path (/dev/ttyUSB0, /dev/serial/by-id/…, /dev/usb/lp0, an emulator's
    /// /dev/pts/N) or a USB id (usb:1a86:7523).
    #[arg(long)]
    pub port: PortSpec,
    /// Baud rate; defaults to the device's usual one (ID reader 115200, printer and scanner 9600).
    #[arg(long)]
    pub baud: Option<u32>,
}

impl PortArgs {
    pub fn baud_or(&self, usual: u32) -> u32 {
        self.baud.unwrap_or(usual)
    }

    pub fn open(&self, usual_baud: u32) -> anyhow::Result<Box<dyn Transport>> {
        Ok(self.port.open(self.baud_or(usual_baud))?)
    }
}

/// How the scanner frames codes (shared by `scan` and `demo`).
#[derive(Debug, clap::Args)]
pub struct ScannerSetup {
    /// What ends each code: auto, cr, lf, crlf, or none (a pause ends it).
    #[arg(long, default_value = "auto")]
    pub suffix: Terminator,
    /// Drop the same code read again within this window (0s keeps repeats).
    #[arg(long = "repeat-window", default_value = "1500ms", value_parser = parse_duration)]
    pub duplicate_window: Duration,
}

impl Default for ScannerSetup {
    fn default() -> Self {
        Self {
            suffix: Terminator::Auto,
            duplicate_window: DuplicateFilter::DEFAULT_WINDOW,
        }
    }
}

/// Parses `500ms`, `2s`, `1.5s` or `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. 500ms, 2s or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" | "min" => value * 60.0,
        _ => return Err(format!("`{text}` has an unknown unit: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
        assert!(parse_duration("3h").unwrap_err().contains("unit"));
    }
}
