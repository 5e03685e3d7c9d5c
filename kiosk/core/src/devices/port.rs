//! Naming a device's port: a path (`/dev/ttyUSB0`, `/dev/serial/by-id/…`, `/dev/usb/lp0`, a
//! pseudo-terminal) or a USB id (`usb:1a86:7523`) resolved against the ports present now.

use hardware::ports::{self, PortInfo, PortKind};
use hardware::transport::{OpenError, SerialTransport, Transport, UsbLpTransport};

/// A port as the technician wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A device node path.
    Path(String),
    /// A USB vendor:product id, found among the listed ports.
    UsbId { vid: u16, pid: u16 },
}

/// Why a port could not be resolved or opened.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("`{0}` is not a port: give a path like /dev/ttyUSB0 or a USB id like usb:1a86:7523")]
    BadSpec(String),
    #[error(
        "no device with USB id {vid:04x}:{pid:04x} is plugged in: check the cable, then `kiosk hw list`"
    )]
    UsbIdAbsent { vid: u16, pid: u16 },
    #[error(transparent)]
    List(#[from] ports::ListError),
    #[error(transparent)]
    Open(#[from] OpenError),
}

impl std::str::FromStr for PortSpec {
    type Err = PortError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(id) = text.strip_prefix("usb:") {
            let (vid, pid) =
                ports::parse_usb_id(id).ok_or_else(|| PortError::BadSpec(text.to_owned()))?;
            return Ok(Self::UsbId { vid, pid });
        }
        if text.is_empty() {
            return Err(PortError::BadSpec(text.to_owned()));
        }
        Ok(Self::Path(text.to_owned()))
    }
}

impl std::fmt::Display for PortSpec {
    /// As the technician writes it: the path, or `usb:VID:PID`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => f.write_str(path),
            Self::UsbId { vid, pid } => write!(f, "usb:{vid:04x}:{pid:04x}"),
        }
    }
}

impl PortSpec {
    /// The device node this spec names now.
    pub fn resolve(&self) -> Result<String, PortError> {
        match self {
            Self::Path(path) => Ok(path.clone()),
            Self::UsbId { vid, pid } => {
                let listed: Vec<PortInfo> = ports::list()?;
                ports::find_by_usb_id(&listed, *vid, *pid)
                    .map(|p| p.path.clone())
                    .ok_or(PortError::UsbIdAbsent {
                        vid: *vid,
                        pid: *pid,
                    })
            }
        }
    }

    /// Opens the port: `usblp` printer nodes as files, everything else as a serial port.
    pub fn open(&self, baud: u32) -> Result<Box<dyn Transport>, PortError> {
        let path = self.resolve()?;
        if path.starts_with("/dev/usb/lp") {
            Ok(Box::new(UsbLpTransport::open(&path)?))
        } else {
            Ok(Box::new(SerialTransport::open(&path, baud)?))
        }
    }
}

/// What kind of device sits behind a listed port, as the technician reads it in `kiosk hw
/// list` and on the touchscreen's devices page: `USB 1a86:7523 QinHeng CH340 serial 0001`.
pub fn describe_port(kind: &PortKind) -> String {
    match kind {
        PortKind::Usb {
            vid,
            pid,
            manufacturer,
            product,
            serial_number,
        } => {
            let mut words = vec![format!("USB {vid:04x}:{pid:04x}")];
            words.extend([manufacturer, product].into_iter().flatten().cloned());
            if let Some(serial) = serial_number {
                words.push(format!("serial {serial}"));
            }
            words.join(" ")
        }
        PortKind::UsbPrinter => "USB printer (usblp)".to_owned(),
        PortKind::Pci => "on-board serial".to_owned(),
        PortKind::Bluetooth => "Bluetooth".to_owned(),
        PortKind::Unknown => "serial".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_described_by_kind_and_usb_names() {
        let bridge = PortKind::Usb {
            vid: 0x1a86,
            pid: 0x7523,
            manufacturer: None,
            product: Some("CH340".into()),
            serial_number: Some("0001".into()),
        };
        assert_eq!(describe_port(&bridge), "USB 1a86:7523 CH340 serial 0001");
        assert_eq!(describe_port(&PortKind::UsbPrinter), "USB printer (usblp)");
    }

    #[test]
    fn specs_parse_paths_and_usb_ids() {
        assert_eq!(
            "/dev/ttyUSB0".parse::<PortSpec>().unwrap(),
            PortSpec::Path("/dev/ttyUSB0".into())
        );
        assert_eq!(
            "usb:1a86:7523".parse::<PortSpec>().unwrap(),
            PortSpec::UsbId {
                vid: 0x1a86,
                pid: 0x7523
            }
        );
        assert_eq!(
            "usb:1A86:7523".parse::<PortSpec>().unwrap().to_string(),
            "usb:1a86:7523"
        );
        let err = "usb:nonsense".parse::<PortSpec>().unwrap_err().to_string();
        assert!(
            err.contains("usb:nonsense") && err.contains("usb:1a86:7523"),
            "{err}"
        );
    }

    #[test]
    fn an_absent_usb_id_says_what_to_check() {
        let err = PortSpec::UsbId {
            vid: 0xdead,
            pid: 0xbeef,
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dead:beef") && err.contains("kiosk hw list"),
            "{err}"
        );
    }
}
