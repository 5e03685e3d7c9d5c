//! `kiosk udev-name --config PATH`: the booth's name for the device udev is adding, for a rule's
//! `IMPORT{program}`. It reads what udev puts in its environment (`SUBSYSTEM`, `DEVNAME`,
//! `ID_VENDOR_ID`, `ID_MODEL_ID`, `ID_SERIAL_SHORT`), matches the ids against each device's
//! `usb_ids` in the booth config, and prints `BOOTH_NAME=id-reader|printer|scanner`, which the
//! rule turns into the symlink `/dev/booth/$env{BOOTH_NAME}`.
//!
//! Nothing matches (another USB device, a node the booth never opens): no output, exit 0. Two
//! devices of the config match equally: no output, the reason on stderr in one line, exit 1,
//! so udev logs the failure. It opens neither the store nor a window: udev waits for it.

use std::path::PathBuf;

use anyhow::Context as _;
use kiosk::app::AppConfig;
use kiosk_core::devices::usb_names::{self, NodeKind, UsbDevice};

#[derive(Debug, clap::Args)]
pub struct UdevName {
    /// The booth config whose devices list their `usb_ids` (see kiosk/booth.example.toml).
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
}

impl UdevName {
    pub fn run(&self) -> anyhow::Result<()> {
        if let Some(line) = self.name(|name| std::env::var(name).ok())? {
            println!("{line}");
        }
        Ok(())
    }

    /// The line to print for the device `var` describes, if it is one of the booth's.
    fn name(&self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<String>> {
        let subsystem = var("SUBSYSTEM").unwrap_or_default();
        let devname = var("DEVNAME").unwrap_or_default();
        let Some(kind) = NodeKind::of(&subsystem, &devname) else {
            return Ok(None);
        };
        let id = |name| var(name).as_deref().and_then(usb_names::hex_id);
        let (Some(vid), Some(pid)) = (id("ID_VENDOR_ID"), id("ID_MODEL_ID")) else {
            return Ok(None);
        };
        let serial = var("ID_SERIAL_SHORT").filter(|s| !s.is_empty());
        let device = UsbDevice {
            vid,
            pid,
            serial: serial.as_deref(),
        };
        let config = AppConfig::load(&self.config)?;
        let role = usb_names::name_for(&device, kind, &config.devices.usb_ids())
            .with_context(|| format!("{devname} not named"))?;
        Ok(role.map(|role| format!("BOOTH_NAME={}", role.name())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_config(text: &str) -> (tempfile::TempDir, UdevName) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("booth.toml");
        std::fs::write(&config, text).unwrap();
        (dir, UdevName { config })
    }

    fn udev(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const CONFIG: &str = "[devices.id_card]\nport = \"/dev/booth/id-reader\"\nusb_ids = [\"1a86:7523\"]\n\n\
        [devices.printer]\nport = \"/dev/booth/printer\"\nusb_ids = [\"0416:5011\", \"1a86:7523:PRN01\", \"10c4:ea60\"]\n\n\
        [devices.scanner]\nport = \"/dev/booth/scanner\"\nusb_ids = [\"0c2e:0b61\", \"10c4:ea60\"]\n";

    #[test]
    fn udev_gets_the_name_of_the_matching_device() {
        let (_dir, command) = with_config(CONFIG);
        let name = |env| command.name(udev(env)).unwrap();
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "tty"),
                ("DEVNAME", "/dev/ttyUSB1"),
                ("ID_VENDOR_ID", "1a86"),
                ("ID_MODEL_ID", "7523"),
            ])
            .as_deref(),
            Some("BOOTH_NAME=id-reader")
        );
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "tty"),
                ("DEVNAME", "/dev/ttyUSB0"),
                ("ID_VENDOR_ID", "1a86"),
                ("ID_MODEL_ID", "7523"),
                ("ID_SERIAL_SHORT", "PRN01"),
            ])
            .as_deref(),
            Some("BOOTH_NAME=printer")
        );
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "usbmisc"),
                ("DEVNAME", "/dev/usb/lp0"),
                ("ID_VENDOR_ID", "0416"),
                ("ID_MODEL_ID", "5011"),
            ])
            .as_deref(),
            Some("BOOTH_NAME=printer")
        );
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "input"),
                ("DEVNAME", "/dev/input/event5"),
                ("ID_VENDOR_ID", "0c2e"),
                ("ID_MODEL_ID", "0b61"),
            ])
            .as_deref(),
            Some("BOOTH_NAME=scanner")
        );
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "input"),
                ("DEVNAME", "/dev/input/event5"),
                ("ID_VENDOR_ID", "10c4"),
                ("ID_MODEL_ID", "ea60"),
            ])
            .as_deref(),
            Some("BOOTH_NAME=scanner"),
            "a printer is never an input node, so the shared id is no tie here"
        );
    }

    #[test]
    fn other_devices_and_nodes_get_nothing() {
        let (_dir, command) = with_config(CONFIG);
        let name = |env| command.name(udev(env)).unwrap();
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "tty"),
                ("DEVNAME", "/dev/ttyACM0"),
                ("ID_VENDOR_ID", "2341"),
                ("ID_MODEL_ID", "0043"),
            ]),
            None
        );
        assert_eq!(
            name(&[
                ("SUBSYSTEM", "input"),
                ("DEVNAME", "/dev/input/mouse0"),
                ("ID_VENDOR_ID", "0c2e"),
                ("ID_MODEL_ID", "0b61"),
            ]),
            None
        );
        assert_eq!(
            name(&[("SUBSYSTEM", "tty"), ("DEVNAME", "/dev/ttyS0")]),
            None
        );
    }

    #[test]
    fn a_tie_is_one_line_naming_both_sections() {
        let (_dir, command) = with_config(CONFIG);
        let err = command
            .name(udev(&[
                ("SUBSYSTEM", "tty"),
                ("DEVNAME", "/dev/ttyUSB2"),
                ("ID_VENDOR_ID", "10c4"),
                ("ID_MODEL_ID", "ea60"),
            ]))
            .unwrap_err();
        let line = crate::cli::one_line(&err);
        assert!(
            line.starts_with("/dev/ttyUSB2 not named")
                && line.contains("[devices.printer]")
                && line.contains("[devices.scanner]")
                && !line.contains('\n'),
            "{line}"
        );
    }

    #[test]
    fn a_config_it_cannot_read_is_an_error() {
        let command = UdevName {
            config: PathBuf::from("/nonexistent/booth.toml"),
        };
        let err = command
            .name(udev(&[
                ("SUBSYSTEM", "tty"),
                ("DEVNAME", "/dev/ttyUSB0"),
                ("ID_VENDOR_ID", "1a86"),
                ("ID_MODEL_ID", "7523"),
            ]))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/booth.toml"), "{err}");
    }
}
