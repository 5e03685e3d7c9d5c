//! `kiosk devices check`: probes the booth's devices and records what it found, so the next
//! heartbeat tells the county (paper running out, a reader unplugged) before villagers do.
//! Until the booth app owns the devices and reports continuously, a technician or a timer runs
//! this.

use std::path::Path;

use chrono::Utc;
use hardware::printer::PaperWidth;
use kiosk_core::devices::{self, PortSpec};
use kiosk_core::store::DeviceReport;
use sync_protocol::heartbeat::{DeviceHealth, PrinterHealth};

use super::open_store;

#[derive(Debug, clap::Subcommand)]
pub enum DevicesCommand {
    /// Probe the reader, printer and scanner and record their health for the heartbeat.
    Check(Check),
}

impl DevicesCommand {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        match self {
            Self::Check(check) => check.run(data_dir),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Check {
    /// The ID card reader's port (path or usb:VID:PID), at its usual 115200 baud.
    #[arg(long)]
    reader: Option<PortSpec>,
    /// The receipt printer's port, at 9600 baud.
    #[arg(long)]
    printer: Option<PortSpec>,
    /// The scanner's port (present when it opens; a scanner only talks when it scans).
    #[arg(long)]
    scanner: Option<PortSpec>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl Check {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        let reader_present = self.reader.as_ref().is_some_and(|port| {
            let probe = devices::open_reader(port, None)
                .map_err(anyhow::Error::from)
                .and_then(|mut reader| Ok(reader.sam_status()?));
            probe
                .map_err(|e| problems.push(format!("reader: {}", super::one_line(&e))))
                .is_ok()
        });
        let printer = self.printer.as_ref().and_then(|port| {
            let probe = devices::open_printer(port, None, PaperWidth::default())
                .map_err(anyhow::Error::from)
                .and_then(|mut printer| Ok(printer.status()?));
            match probe {
                Ok(status) => Some(PrinterHealth {
                    online: status.online,
                    paper_end: status.paper_end,
                    paper_near_end: status.paper_near_end,
                    cover_open: status.cover_open,
                }),
                Err(e) => {
                    problems.push(format!("printer: {}", super::one_line(&e)));
                    None
                }
            }
        });
        let scanner_present = self.scanner.as_ref().is_some_and(|port| {
            devices::open_scanner(port, None)
                .map_err(|e| problems.push(format!("scanner: {e}")))
                .is_ok()
        });
        let report = DeviceReport {
            health: DeviceHealth {
                printer,
                reader_present,
                scanner_present,
            },
            checked_at: Utc::now(),
        };
        open_store(data_dir)?.set_device_health(&report)?;
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "report": report, "problems": problems })
            );
            return Ok(());
        }
        let yes_no = |present: bool| if present { "present" } else { "absent" };
        println!("reader: {}", yes_no(report.health.reader_present));
        match report.health.printer {
            Some(p) if p.paper_end => println!("printer: out of paper"),
            Some(p) if p.cover_open => println!("printer: cover open"),
            Some(p) if p.paper_near_end => println!("printer: paper near end"),
            Some(p) if !p.online => println!("printer: offline"),
            Some(_) => println!("printer: ready"),
            None => println!("printer: absent"),
        }
        println!("scanner: {}", yes_no(report.health.scanner_present));
        for problem in &problems {
            println!("  {problem}");
        }
        println!("recorded for the next heartbeat");
        Ok(())
    }
}
