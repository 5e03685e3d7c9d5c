//! The kiosk unit, through `systemctl` (a script that logs its calls, in the tests).

use std::path::PathBuf;
use std::process::Command;

/// The booth app's unit.
pub const KIOSK_UNIT: &str = "booth-kiosk.service";

/// Why a `systemctl` call failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemctlError {
    #[error("cannot run {}: {source}", .program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`systemctl {command}` failed ({status}): {stderr}; see `journalctl -u {KIOSK_UNIT}`")]
    Failed {
        command: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// Runs `systemctl`.
#[derive(Debug, Clone)]
pub struct Systemctl {
    pub program: PathBuf,
}

impl Systemctl {
    /// Stops the kiosk and waits until it is stopped (a clean stop closes the store).
    pub fn stop_kiosk(&self) -> Result<(), SystemctlError> {
        self.run(&["stop", KIOSK_UNIT])
    }

    /// Starts the kiosk without waiting: its start runs `booth-update start-attempt`, which
    /// waits for the lock the caller may hold.
    pub fn start_kiosk(&self) -> Result<(), SystemctlError> {
        self.run(&["start", "--no-block", KIOSK_UNIT])
    }

    /// Whether the kiosk is active, which for a `Type=notify` unit means it sent READY.
    pub fn kiosk_active(&self) -> Result<bool, SystemctlError> {
        let status = Command::new(&self.program)
            .args(["is-active", "--quiet", KIOSK_UNIT])
            .status()
            .map_err(|source| SystemctlError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        Ok(status.success())
    }

    fn run(&self, args: &[&str]) -> Result<(), SystemctlError> {
        let output = Command::new(&self.program)
            .args(args)
            .output()
            .map_err(|source| SystemctlError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(SystemctlError::Failed {
            command: args.join(" "),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim()
                .replace('\n', "; "),
        })
    }
}
