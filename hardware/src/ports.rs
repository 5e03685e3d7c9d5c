//! Finding devices: serial ports (with USB ids when the port sits on USB) and `usblp` printers.

use std::path::Path;

use serialport::SerialPortType;

/// One device node a booth device may be attached to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortInfo {
    /// The node to open, e.g. `/dev/ttyUSB0` or `/dev/usb/lp0`.
    pub path: String,
    /// How the node is attached.
    pub kind: PortKind,
}

/// How a port is attached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "bus", rename_all = "snake_case")]
pub enum PortKind {
    /// A USB-serial bridge or USB-CDC device.
    Usb {
        vid: u16,
        pid: u16,
        manufacturer: Option<String>,
        product: Option<String>,
        serial_number: Option<String>,
    },
    /// A USB printer-class device through the kernel's `usblp` driver.
    UsbPrinter,
    /// An on-board or PCI UART.
    Pci,
    /// A Bluetooth RFCOMM link.
    Bluetooth,
    /// A port the OS could not classify.
    Unknown,
}

impl PortInfo {
    /// `vid:pid` in the usual lowercase hex form, when the port is on USB.
    pub fn usb_id(&self) -> Option<String> {
        match &self.kind {
            PortKind::Usb { vid, pid, .. } => Some(format!("{vid:04x}:{pid:04x}")),
            _ => None,
        }
    }
}

/// Error while listing ports.
#[derive(Debug, thiserror::Error)]
#[error("cannot list serial ports: {source}")]
pub struct ListError {
    #[from]
    source: serialport::Error,
}

/// Lists serial ports and `usblp` printers. Pseudo-terminals are never listed (the kernel does
/// not report them as serial hardware); emulators print their own path instead.
pub fn list() -> Result<Vec<PortInfo>, ListError> {
    let mut ports: Vec<PortInfo> = if Path::new("/sys/class/tty").is_dir() {
        serialport::available_ports()?
            .into_iter()
            .map(|p| PortInfo {
                path: p.port_name,
                kind: kind_of(p.port_type),
            })
            .collect()
    } else {
        Vec::new()
    };
    if let Ok(entries) = std::fs::read_dir("/dev/usb") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("lp") {
                ports.push(PortInfo {
                    path: format!("/dev/usb/{name}"),
                    kind: PortKind::UsbPrinter,
                });
            }
        }
    }
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ports)
}

/// Finds the port of a USB device by `vid:pid` (e.g. `1a86:7523`), so a booth survives its
/// devices being plugged into different sockets.
pub fn find_by_usb_id(ports: &[PortInfo], vid: u16, pid: u16) -> Option<&PortInfo> {
    ports
        .iter()
        .find(|p| matches!(p.kind, PortKind::Usb { vid: v, pid: p, .. } if v == vid && p == pid))
}

/// Parses `vid:pid` as written on the label or by `lsusb`.
pub fn parse_usb_id(text: &str) -> Option<(u16, u16)> {
    let (vid, pid) = text.split_once(':')?;
    Some((
        u16::from_str_radix(vid, 16).ok()?,
        u16::from_str_radix(pid, 16).ok()?,
    ))
}

fn kind_of(port_type: SerialPortType) -> PortKind {
    match port_type {
        SerialPortType::UsbPort(usb) => PortKind::Usb {
            vid: usb.vid,
            pid: usb.pid,
            manufacturer: usb.manufacturer,
            product: usb.product,
            serial_number: usb.serial_number,
        },
        SerialPortType::PciPort => PortKind::Pci,
        SerialPortType::BluetoothPort => PortKind::Bluetooth,
        SerialPortType::Unknown => PortKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_ids_parse_and_match() {
        assert_eq!(parse_usb_id("1a86:7523"), Some((0x1a86, 0x7523)));
        assert_eq!(parse_usb_id("1a86"), None);
        assert_eq!(parse_usb_id("zz:7523"), None);
        let ports = vec![
            PortInfo {
                path: "/dev/ttyS0".into(),
                kind: PortKind::Pci,
            },
            PortInfo {
                path: "/dev/ttyUSB0".into(),
                kind: PortKind::Usb {
                    vid: 0x1a86,
                    pid: 0x7523,
                    manufacturer: None,
                    product: None,
                    serial_number: None,
                },
            },
        ];
        assert_eq!(
            find_by_usb_id(&ports, 0x1a86, 0x7523).map(|p| p.path.as_str()),
            Some("/dev/ttyUSB0")
        );
        assert_eq!(ports[1].usb_id().as_deref(), Some("1a86:7523"));
        assert!(find_by_usb_id(&ports, 0x0483, 0x5740).is_none());
    }
}
