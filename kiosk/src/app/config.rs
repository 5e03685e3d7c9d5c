//! The booth's TOML configuration (`kiosk run --config PATH`): where the store lives, which
//! port each device is on, and the session timings. The server comes from enrollment, not
//! from here, so a copied config file cannot point a booth at another server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hardware::printer::PaperWidth;
use serde::Deserialize;

use kiosk_core::devices::PortSpec;
use kiosk_core::devices::usb_names::{Role, UsbIdPattern};

/// The documented example, shipped as `kiosk/booth.example.toml`.
pub const EXAMPLE: &str = include_str!("../../booth.example.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the booth config {path}: {source}: give an existing file with --config")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the booth config {path} is not valid: {message} (see kiosk/booth.example.toml)")]
    Parse { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The offline store and the booth's key.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// "zh_CN" or "en": the language every session starts in.
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub devices: DevicesConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub update: UpdateConfig,
    /// The file this config was loaded from (absolute), where technician mode saves the ports
    /// chosen on its devices page; None for a config built in code.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Over-the-air updates.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Seconds the home page must be untouched (and nothing printing) before a downloaded
    /// release is installed; at least 10.
    #[serde(default = "default_quiet_after")]
    pub quiet_after_s: u64,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        Self {
            quiet_after_s: default_quiet_after(),
        }
    }
}

impl UpdateConfig {
    /// Never under 10 s: an install must not cut in between a villager's taps.
    pub fn quiet_after(&self) -> Duration {
        Duration::from_secs(self.quiet_after_s.max(10))
    }
}

fn default_quiet_after() -> u64 {
    kiosk_core::update::quiet::QUIET_AFTER.as_secs()
}

/// How often the booth asks the county server for news. Defaults suit a village line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Seconds between pulls of the catalogue, notices and statuses.
    #[serde(default = "default_sync_every")]
    pub feeds_every_s: u64,
    /// Seconds between heartbeats.
    #[serde(default = "default_sync_every")]
    pub heartbeat_every_s: u64,
    /// On a booth without a document camera, an application's receipt carries a code for the
    /// county server's one-time page where the villager's phone uploads the materials.
    #[serde(default = "default_phone_uploads")]
    pub phone_uploads: bool,
    /// The county server's address as villagers' phones reach it (`https://…`), when it is not
    /// the address this booth syncs with (a booth on a private line, say).
    #[serde(default)]
    pub phone_upload_url: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            feeds_every_s: default_sync_every(),
            heartbeat_every_s: default_sync_every(),
            phone_uploads: default_phone_uploads(),
            phone_upload_url: None,
        }
    }
}

fn default_phone_uploads() -> bool {
    true
}

fn default_sync_every() -> u64 {
    60
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesConfig {
    pub id_card: Option<SerialDevice>,
    pub printer: Option<PrinterDevice>,
    pub scanner: Option<SerialDevice>,
    pub camera: Option<CameraDevice>,
}

/// The document camera (高拍仪) that photographs application materials.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraDevice {
    /// A V4L2 capture node (`/dev/booth/camera`, `/dev/video0`) or a folder of recorded
    /// frames (the demo's emulated camera).
    pub device: PathBuf,
    /// The USB ids this camera may have; none: any USB camera is the booth's camera.
    #[serde(default, deserialize_with = "usb_ids")]
    pub usb_ids: Vec<UsbIdPattern>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialDevice {
    /// A path (`/dev/ttyUSB0`, `/dev/serial/by-id/…`) or a USB id (`usb:1a86:7523`).
    #[serde(deserialize_with = "port_spec")]
    pub port: PortSpec,
    /// Not set: the device's usual rate (ID card reader 115200, scanner 9600).
    pub baud: Option<u32>,
    /// The USB ids this device may have, for its udev name (`kiosk udev-name`).
    #[serde(default, deserialize_with = "usb_ids")]
    pub usb_ids: Vec<UsbIdPattern>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterDevice {
    #[serde(deserialize_with = "port_spec")]
    pub port: PortSpec,
    pub baud: Option<u32>,
    /// 58 or 80 (mm).
    #[serde(default = "default_paper", deserialize_with = "paper_width")]
    pub paper: PaperWidth,
    #[serde(default, deserialize_with = "usb_ids")]
    pub usb_ids: Vec<UsbIdPattern>,
}

impl DevicesConfig {
    /// Each configured device's `usb_ids`, for naming a USB device (`kiosk udev-name`).
    pub fn usb_ids(&self) -> Vec<(Role, &[UsbIdPattern])> {
        [
            (Role::IdReader, self.id_card.as_ref().map(|d| &d.usb_ids)),
            (Role::Printer, self.printer.as_ref().map(|d| &d.usb_ids)),
            (Role::Scanner, self.scanner.as_ref().map(|d| &d.usb_ids)),
            (Role::Camera, self.camera.as_ref().map(|d| &d.usb_ids)),
        ]
        .into_iter()
        .filter_map(|(role, ids)| Some((role, ids?.as_slice())))
        .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Seconds without a touch before "still there?" appears.
    #[serde(default = "default_prompt_after")]
    pub idle_prompt_after_s: u64,
    /// Seconds without a touch before the session is cleared and Home shows.
    #[serde(default = "default_reset_after")]
    pub reset_after_s: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_prompt_after_s: default_prompt_after(),
            reset_after_s: default_reset_after(),
        }
    }
}

impl SessionConfig {
    pub fn prompt_after(&self) -> Duration {
        Duration::from_secs(self.idle_prompt_after_s)
    }

    pub fn reset_after(&self) -> Duration {
        Duration::from_secs(self.reset_after_s.max(self.idle_prompt_after_s))
    }
}

impl AppConfig {
    /// A config with the defaults and this data directory: no devices.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            language: default_language(),
            devices: DevicesConfig::default(),
            session: SessionConfig::default(),
            sync: SyncConfig::default(),
            update: UpdateConfig::default(),
            source: None,
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        config.source = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        Ok(config)
    }

    /// Parses a config; the error is toml's message, one line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if !matches!(config.language.as_str(), "zh_CN" | "en") {
            return Err(format!(
                "language = {:?}: use \"zh_CN\" or \"en\"",
                config.language
            ));
        }
        if let Some(url) = &config.sync.phone_upload_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!(
                "sync.phone_upload_url = {url:?}: write the county server's address as phones reach it, like \"https://zwfw.example.gov.cn\""
            ));
        }
        Ok(config)
    }
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/booth")
}

fn default_language() -> String {
    "zh_CN".to_owned()
}

fn default_paper() -> PaperWidth {
    PaperWidth::Mm58
}

fn default_prompt_after() -> u64 {
    60
}

fn default_reset_after() -> u64 {
    90
}

fn port_spec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PortSpec, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

fn usb_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<UsbIdPattern>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| text.parse().map_err(serde::de::Error::custom))
        .collect()
}

fn paper_width<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PaperWidth, D::Error> {
    match u32::deserialize(d)? {
        58 => Ok(PaperWidth::Mm58),
        80 => Ok(PaperWidth::Mm80),
        other => Err(serde::de::Error::custom(format!(
            "paper = {other}: use 58 or 80"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_with_every_device() {
        let config = AppConfig::parse(EXAMPLE).expect("the example is valid");
        assert!(config.devices.id_card.is_some());
        assert!(config.devices.printer.is_some());
        assert!(config.devices.scanner.is_some());
        assert_eq!(config.session.prompt_after(), Duration::from_secs(60));
        assert_eq!(config.session.reset_after(), Duration::from_secs(90));
    }

    #[test]
    fn an_empty_config_means_defaults_and_no_devices() {
        let config = AppConfig::parse("").expect("empty is valid");
        assert_eq!(config, AppConfig::with_data_dir("/var/lib/booth"));
    }

    #[test]
    fn a_loaded_config_knows_its_file_for_technician_mode_to_save_into() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("booth.toml");
        std::fs::write(&path, "language = \"en\"\n").expect("write the config");
        let config = AppConfig::load(&path).expect("a valid config");
        assert_eq!(config.source.as_deref(), Some(path.as_path()));
        assert_eq!(AppConfig::parse("").expect("valid").source, None);
    }

    #[test]
    fn each_device_lists_its_usb_ids() {
        let config = AppConfig::parse(EXAMPLE).expect("the example is valid");
        let listed = config.devices.usb_ids();
        let roles: Vec<Role> = listed.iter().map(|(role, _)| *role).collect();
        assert_eq!(roles, Role::ALL);
        assert!(
            listed
                .iter()
                .all(|(role, ids)| !ids.is_empty() || *role == Role::Camera),
            "only the camera may take any USB device of its kind"
        );
        let config = AppConfig::parse(
            "[devices.printer]\nport = \"/dev/booth/printer\"\nusb_ids = [\"0416:5011\", \"1A86:7523:PRN01\"]\n",
        )
        .expect("valid");
        let printer = config.devices.printer.expect("a printer");
        assert_eq!(printer.usb_ids[1].to_string(), "1a86:7523:PRN01");
        let err = AppConfig::parse(
            "[devices.scanner]\nport = \"/dev/booth/scanner\"\nusb_ids = [\"usb:0c2e:0b61\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("usb:0c2e:0b61") && err.contains("VID:PID"),
            "{err}"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = AppConfig::parse("[devices.printer]\nport = \"/dev/usb/lp0\"\npaper = 57\n")
            .unwrap_err();
        assert!(err.contains("use 58 or 80"), "{err}");
        let err = AppConfig::parse("langauge = \"en\"\n").unwrap_err();
        assert!(err.contains("langauge"), "{err}");
        let err = AppConfig::parse("language = \"fr\"\n").unwrap_err();
        assert!(err.contains("zh_CN"), "{err}");
    }
}
