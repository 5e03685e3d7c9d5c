//! `kiosk hw print-test`: print the standard application receipt, after a status check.

use hardware::printer::{PaperWidth, Printer, PrinterConfig, QrMode, WhenSilent, sample};

use super::PortArgs;
use kiosk_core::devices::{PRINTER_BAUD, printer_status_line};

#[derive(Debug, clap::Args)]
pub struct PrintTest {
    #[command(flatten)]
    port: PortArgs,
    /// Paper width in millimetres: 58 (384 dots) or 80 (576 dots).
    #[arg(long, default_value = "58")]
    width: PaperWidth,
    /// How the QR code is sent: `native` (GS ( k) or `raster` (an image, for printers without QR).
    #[arg(long, default_value = "native")]
    qr: QrMode,
    /// Print even if the printer does not answer status requests (many /dev/usb/lp printers).
    #[arg(long)]
    no_status: bool,
}

impl PrintTest {
    pub fn run(&self) -> anyhow::Result<()> {
        let transport = self.port.open(PRINTER_BAUD)?;
        let config = PrinterConfig {
            width: self.width,
            qr_mode: self.qr,
            when_silent: if self.no_status {
                WhenSilent::PrintAnyway
            } else {
                WhenSilent::Fail
            },
            ..PrinterConfig::default()
        };
        let mut printer = Printer::new(transport, config);
        let report = printer.print(&sample::standard_receipt())?;
        let state = report
            .status
            .as_ref()
            .map(printer_status_line)
            .unwrap_or_else(|| "status not checked".to_owned());
        let qr = match self.qr {
            QrMode::Native => "native",
            QrMode::Raster => "raster",
        };
        println!(
            "printed the standard receipt ({} bytes, {}, {qr} QR); {state}",
            report.bytes_sent, self.width
        );
        Ok(())
    }
}
