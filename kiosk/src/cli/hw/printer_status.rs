//! `kiosk hw printer-status`: ask the printer for its real-time status (`DLE EOT 1..4`).

use hardware::printer::{Printer, PrinterConfig, PrinterStatus};

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
            println!("{}", describe(&status));
        }
        Ok(())
    }
}

/// Most booth receipt printers ship at 9600 baud; USB-CDC and `usblp` ignore it.
pub const PRINTER_BAUD: u32 = 9600;

/// One line a technician can act on.
pub fn describe(status: &PrinterStatus) -> String {
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
    if problems.is_empty() {
        "printer ready: online, paper present, cover closed".to_owned()
    } else {
        problems.join("; ")
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
