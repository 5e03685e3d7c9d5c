//! `kiosk run [--config PATH]`: the booth's touchscreen app, until its window closes.
//!
//! The config (TOML, documented in `kiosk/booth.example.toml`) names the data directory, the
//! language and each device's port; the county server comes from enrollment. The config's
//! `data_dir` wins when it sets one; otherwise `--data-dir` (or `KIOSK_DATA_DIR`) is used.
//! Without `--config`: defaults, no devices.
//!
//! The window needs a display backend compiled in: `--features winit` (a desktop window, for
//! development and the demo) or `--features linuxkms` (a booth without a desktop: DRM/KMS and
//! libinput). A binary built without either says so and exits 1. Logs go to stderr
//! (`RUST_LOG` filters them; `info` by default).
//!
//! Under systemd (`Type=notify`, `$NOTIFY_SOCKET` set) it sends `READY=1` with a `STATUS=` line
//! once the window is up and the devices were asked, `WATCHDOG=1` from the UI thread when the
//! unit sets `WatchdogSec=`, and `STOPPING=1` on a clean exit (see `kiosk::app::service`).
//! SIGTERM and SIGINT end the event loop, so a stop closes the store cleanly.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kiosk::app::{App, AppConfig, ServiceNotify};
use kiosk::launch;

#[derive(Debug, clap::Args)]
pub struct Run {
    /// The booth config (see kiosk/booth.example.toml).
    #[arg(long, value_name = "PATH", env = "KIOSK_CONFIG")]
    config: Option<PathBuf>,
}

impl Run {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let config = load_config(self.config.as_deref(), data_dir)?;
        launch::check_backend()?;
        launch::check_display()?;
        launch::init_logging();
        // Read first: a service whose notify socket is unusable must fail, not start silently
        // and be killed by systemd's start timeout.
        let service = ServiceNotify::from_env()?;
        tracing::info!(data_dir = %config.data_dir.display(), systemd = service.is_some(), "kiosk run: starting the booth");
        let app = App::start(config)?;
        // `systemctl stop` sends SIGTERM: end the event loop so the store closes cleanly.
        ctrlc::set_handler(quit_event_loop).context("cannot handle SIGTERM")?;
        match &service {
            Some(service) => app.run_as_service(service)?,
            None => app.run()?,
        }
        tracing::info!("kiosk run: stopped");
        Ok(())
    }
}

fn quit_event_loop() {
    let _ = slint::invoke_from_event_loop(|| {
        let _ = slint::quit_event_loop();
    });
}

/// The config from `path` (its `data_dir` if it sets one, else `data_dir`), or the defaults.
pub fn load_config(path: Option<&Path>, data_dir: &Path) -> anyhow::Result<AppConfig> {
    let Some(path) = path else {
        return Ok(AppConfig::with_data_dir(data_dir));
    };
    let mut config = AppConfig::load(path)?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the booth config {}", path.display()))?;
    let sets_data_dir = text
        .parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key("data_dir"));
    if !sets_data_dir {
        config.data_dir = data_dir.to_owned();
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_dir_comes_from_the_config_or_the_command_line() {
        let dir = std::env::temp_dir().join(format!("kiosk-run-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let with = dir.join("with.toml");
        std::fs::write(&with, "data_dir = \"/srv/booth\"\n").unwrap();
        let without = dir.join("without.toml");
        std::fs::write(&without, "language = \"en\"\n").unwrap();
        let cli = Path::new("/var/lib/other");
        assert_eq!(
            load_config(Some(&with), cli).unwrap().data_dir,
            Path::new("/srv/booth")
        );
        let config = load_config(Some(&without), cli).unwrap();
        assert_eq!(
            (config.data_dir.as_path(), config.language.as_str()),
            (cli, "en")
        );
        assert_eq!(
            load_config(None, cli).unwrap(),
            AppConfig::with_data_dir(cli)
        );
        let err = load_config(Some(&dir.join("absent.toml")), cli).unwrap_err();
        assert!(err.to_string().contains("--config"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
