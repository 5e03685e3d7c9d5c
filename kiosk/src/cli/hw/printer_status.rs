//! `kiosk hw printer-status`: ask the printer for its real-time status (`DLE EOT 1..4`).

use hardware::printer::{Printer, PrinterConfig, PrinterStatus};
use kiosk_core::devices::{PRINTER_BAUD, printer_status_line};

use super::PortArgs;

#[derive(Debug, clap::Args)]
pub struct PrinterStatusCmd {
    #[command(flatten)]
    port: PortArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl PrinterStatusCmd {
    pub fn run(&self) -> anyhow::Result<()> {
        let transport = self.port.open(PRINTER_BAUD)?;
        let mut printer = Printer::new(transport, PrinterConfig::default());
        let status = printer.status()?;
        if self.json {
            println!("{}", status_json(&status));
        } else {
            println!("{}", printer_status_line(&status));
        }
        Ok(())
    }
}

fn status_json(status: &PrinterStatus) -> serde_json::Value {
    serde_json::json!({
        "online": status.online,
        "cover_open": status.cover_open,
        "paper_end": status.paper_end,
        "paper_near_end": status.paper_near_end,
        "cutter_error": status.cutter_error,
        "mechanical_error": status.mechanical_error,
        "unrecoverable_error": status.unrecoverable_error,
        "auto_recoverable_error": status.auto_recoverable_error,
    })
}
