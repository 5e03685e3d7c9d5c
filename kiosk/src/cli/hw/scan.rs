//! `kiosk hw scan`: print the codes a QR/barcode scanner reads, surviving unplug and replug.

use std::time::{Duration, Instant};

use hardware::scanner::{ReconnectConfig, ReconnectingScanner, ScannerEvent};
use kiosk_core::devices::SCANNER_BAUD;

use super::{PortArgs, parse_duration};
use crate::cli::hw::ScannerSetup;

#[derive(Debug, clap::Args)]
pub struct Scan {
    #[command(flatten)]
    port: PortArgs,
    /// Stop after this many codes.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Give up when no code arrives for this long (e.g. 30s, 500ms).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    setup: ScannerSetup,
    /// Print one JSON object per code.
    #[arg(long)]
    json: bool,
}

impl Scan {
    pub fn run(&self) -> anyhow::Result<()> {
        let path = self.port.port.resolve()?;
        // A keyboard-mode scanner's port leads to an input event node; a build without
        // `evdev` says so here instead of opening the node as a serial port.
        let node = kiosk::app::hid_scanner::scanner_node(&path)?;
        #[cfg(feature = "evdev")]
        if node == Some(kiosk::app::hid_scanner::ScannerNode::Keyboard) {
            return self.run_keyboard(&path);
        }
        #[cfg(not(feature = "evdev"))]
        let _ = node;
        let mut config = ReconnectConfig::new(path, self.port.baud_or(SCANNER_BAUD));
        config.scanner.terminator = self.setup.suffix;
        config.scanner.duplicate_window = self.setup.duplicate_window;
        let mut scanner = ReconnectingScanner::connect(config)?;
        // On stderr, so it tells a person (and a test) when to scan without disturbing --json.
        eprintln!(
            "waiting for {} code(s) on {} (scan now)…",
            self.count,
            scanner.path()
        );
        let mut read = 0;
        let mut last_activity = Instant::now();
        while read < self.count {
            let waited = last_activity.elapsed();
            if waited >= self.timeout {
                anyhow::bail!(
                    "no code from the scanner on {} within {:?}: check the scanner beeps when it reads, its suffix setting and the baud rate ({})",
                    scanner.path(),
                    self.timeout,
                    self.port.baud_or(SCANNER_BAUD)
                );
            }
            let Some(event) = scanner.next_event(self.timeout - waited) else {
                continue;
            };
            match event {
                ScannerEvent::Scan(scan) => {
                    read += 1;
                    last_activity = Instant::now();
                    let encoding = format!("{:?}", scan.encoding).to_lowercase();
                    self.print(&scan.text, &encoding, scan.raw.len());
                }
                ScannerEvent::Rejected(err) => eprintln!("warning: {err}"),
                ScannerEvent::Disconnected { cause, .. } => {
                    eprintln!("warning: {cause}; waiting for it to return")
                }
                ScannerEvent::Reconnected { port } => {
                    last_activity = Instant::now();
                    eprintln!("scanner on {port} is back");
                }
                ScannerEvent::Connected { .. } => {}
            }
        }
        Ok(())
    }

    /// A keyboard-mode (HID) scanner: its key presses, decoded with the US layout, one code
    /// per Enter. The node is grabbed, so the codes go nowhere else meanwhile.
    #[cfg(feature = "evdev")]
    fn run_keyboard(&self, path: &str) -> anyhow::Result<()> {
        use hardware::scanner::{HidConfig, HidError, HidScanner};

        let config = HidConfig {
            duplicate_window: self.setup.duplicate_window,
            ..HidConfig::default()
        };
        let mut scanner = HidScanner::open(path, config)?;
        eprintln!(
            "waiting for {} code(s) on {path} (keyboard mode; scan now)…",
            self.count
        );
        let mut read = 0;
        let mut last_activity = Instant::now();
        while read < self.count {
            let waited = last_activity.elapsed();
            if waited >= self.timeout {
                anyhow::bail!(
                    "no code from the keyboard-mode scanner on {path} within {:?}: check the scanner beeps when it reads and ends each code with Enter",
                    self.timeout
                );
            }
            match scanner.next_code(self.timeout - waited) {
                Ok(Some(code)) => {
                    read += 1;
                    last_activity = Instant::now();
                    self.print(&code, "keyboard", code.len());
                }
                Ok(None) => {}
                Err(err @ HidError::TooLong { .. }) => eprintln!("warning: {err}"),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    fn print(&self, text: &str, encoding: &str, bytes: usize) {
        if self.json {
            let line = serde_json::json!({ "text": text, "encoding": encoding, "bytes": bytes });
            println!("{line}");
        } else {
            println!("{text}");
        }
    }
}
