//! Saving the ports chosen on the devices page into the booth config file, keeping its
//! comments and everything else as written. Once saved, the devices page switches the running
//! booth's devices to them (`crate::app::devices::Devices::use_reader_port` and the like).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::devices::Slot;
use crate::app::config::AppConfig;

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot read the booth config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the booth config {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the booth config {path} would not be valid with these ports: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write the booth config {path}: {source}: check it is writable")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The config's table for a device.
fn table_name(slot: Slot) -> &'static str {
    match slot {
        Slot::Reader => "id_card",
        Slot::Printer => "printer",
        Slot::Scanner => "scanner",
    }
}

/// Sets `port` for each device in `ports` in `text`; the result must still be a valid config.
pub fn with_ports(text: &str, ports: &[(Slot, String)]) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let devices = doc
        .entry("devices")
        .or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            table.set_implicit(true);
            toml_edit::Item::Table(table)
        })
        .as_table_mut()
        .ok_or("`devices` is not a table")?;
    for (slot, port) in ports {
        let device = devices
            .entry(table_name(*slot))
            .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("`devices.{}` is not a table", table_name(*slot)))?;
        device["port"] = toml_edit::value(port.as_str());
    }
    let written = doc.to_string();
    AppConfig::parse(&written)?;
    Ok(written)
}

/// Writes the ports into the config file at `path` (atomically: a crash leaves the old file).
pub fn save(path: &Path, ports: &[(Slot, String)]) -> Result<(), SaveError> {
    let text = std::fs::read_to_string(path).map_err(|source| SaveError::Read {
        path: path.to_owned(),
        source,
    })?;
    if let Err(message) = text.parse::<toml_edit::DocumentMut>() {
        return Err(SaveError::Parse {
            path: path.to_owned(),
            message: message.to_string(),
        });
    }
    let written = with_ports(&text, ports).map_err(|message| SaveError::Invalid {
        path: path.to_owned(),
        message,
    })?;
    // The config keeps the mode it had: the technician may have opened it to other users.
    let write = || -> std::io::Result<()> {
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        kiosk_core::atomic_file::write(path, written.as_bytes(), mode)
    };
    write().map_err(|source| SaveError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_core::devices::PortSpec;

    #[test]
    fn ports_are_set_and_comments_kept() {
        let text = crate::app::config::EXAMPLE;
        let written = with_ports(
            text,
            &[
                (Slot::Reader, "/dev/ttyUSB1".into()),
                (Slot::Scanner, "usb:1a86:7523".into()),
            ],
        )
        .expect("the example takes new ports");
        assert!(written.contains("# Roll width in mm: 58 or 80."));
        let config = AppConfig::parse(&written).expect("still valid");
        assert_eq!(
            config.devices.id_card.expect("reader").port,
            PortSpec::Path("/dev/ttyUSB1".into())
        );
        assert_eq!(
            config.devices.scanner.expect("scanner").port,
            PortSpec::UsbId {
                vid: 0x1a86,
                pid: 0x7523
            }
        );
        assert_eq!(
            config.devices.printer.expect("printer").port,
            PortSpec::Path("/dev/booth/printer".into())
        );
    }

    #[test]
    fn a_config_without_devices_gets_them() {
        let written = with_ports(
            "language = \"en\"\n",
            &[(Slot::Printer, "/dev/usb/lp1".into())],
        )
        .expect("valid");
        let config = AppConfig::parse(&written).expect("valid");
        assert_eq!(config.language, "en");
        assert_eq!(
            config.devices.printer.expect("printer").port,
            PortSpec::Path("/dev/usb/lp1".into())
        );
        assert!(with_ports("devices = 3\n", &[(Slot::Printer, "x".into())]).is_err());
    }

    #[test]
    fn saving_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("booth.toml");
        std::fs::write(
            &path,
            "# mine\n[devices.printer]\nport = \"/dev/usb/lp0\"\n",
        )
        .unwrap();
        save(&path, &[(Slot::Printer, "/dev/ttyS4".into())]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mine\n"), "{text}");
        assert!(text.contains("port = \"/dev/ttyS4\""), "{text}");
        let err = save(&dir.path().join("absent.toml"), &[]).unwrap_err();
        assert!(matches!(err, SaveError::Read { .. }), "{err}");
    }
}
