//! `kiosk hw list`: the serial ports and USB printers present, with USB ids when known.

use hardware::ports::{self, PortKind};

#[derive(Debug, clap::Args)]
pub struct List {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl List {
    pub fn run(&self) -> anyhow::Result<()> {
        let ports = ports::list()?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&ports)?);
            return Ok(());
        }
        if ports.is_empty() {
            println!(
                "no serial ports or USB printers found (emulators print their own path: `kiosk hw emulate --help`)"
            );
            return Ok(());
        }
        for port in &ports {
            let detail = match &port.kind {
                PortKind::Usb {
                    manufacturer,
                    product,
                    serial_number,
                    ..
                } => {
                    let names: Vec<&str> = [manufacturer, product]
                        .into_iter()
                        .flatten()
                        .map(String::as_str)
                        .collect();
                    let serial = serial_number
                        .as_deref()
                        .map(|s| format!(" serial {s}"))
                        .unwrap_or_default();
                    format!(
                        "usb {} {}{serial}",
                        port.usb_id().unwrap_or_default(),
                        names.join(" ")
                    )
                }
                PortKind::UsbPrinter => "usb printer (usblp)".to_owned(),
                PortKind::Pci => "on-board/PCI serial".to_owned(),
                PortKind::Bluetooth => "bluetooth".to_owned(),
                PortKind::Unknown => "serial".to_owned(),
            };
            println!("{:<28} {}", port.path, detail.trim_end());
        }
        Ok(())
    }
}
