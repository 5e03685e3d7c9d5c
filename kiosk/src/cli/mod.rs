//! Command-line entry points: one module per command group, one file per command.
//!
//! - `hw`: device tools (ignore `--data-dir`).
//! - `enroll`: trade a one-time code for the booth's identity.
//! - `sync`: the upload/feed/heartbeat service, or one pass with `--once`.
//! - `submit`: hand in a submission offline and print its receipt number.
//! - `queue`: the outbox: status, quarantined items, re-queue, discard.
//! - `receipt`: look a receipt up for the villager's progress query.
//! - `run`: the touchscreen app (`--config`). The whole booth on one machine is `kiosk-demo`
//!   (crate `kiosk/demo`), kept out of the booth's binary.
//! - `technician-pin`: set the PIN that opens technician mode on the touchscreen.
//! - `udev-name`: the `/dev/booth/` name of a USB device, for udev's `IMPORT{program}`.
//!
//! Every command that prints data has `--json`; errors are one line on stderr, exit code 1.

mod devices;
mod enroll;
mod hw;
mod notices;
mod queue;
mod receipt;
mod run;
mod submit;
mod sync;
mod technician_pin;
mod udev_name;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use kiosk_core::store::Store;

/// The village booth: the touchscreen app (`run`), device tools, the offline
/// submission queue and receipts.
#[derive(Debug, Parser)]
#[command(name = "kiosk", version, about)]
pub struct Cli {
    /// The booth's data directory: its database and key.
    #[arg(
        long,
        global = true,
        env = "KIOSK_DATA_DIR",
        default_value = "/var/lib/booth",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The booth's touchscreen app, from a TOML config (see kiosk/booth.example.toml).
    Run(run::Run),
    /// Set the PIN that opens technician mode (hold the village name for 3 s).
    TechnicianPin(technician_pin::SetPin),
    /// Devices: list ports, read a card, print, scan, or emulate a device on a pseudo-terminal.
    #[command(subcommand)]
    Hw(hw::HwCommand),
    /// Hand in a submission; prints its receipt number. Works offline.
    Submit(submit::Submit),
    /// The outbox: status, quarantined items, re-queue, discard.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Receipts issued by this booth.
    #[command(subcommand)]
    Receipt(receipt::ReceiptCommand),
    /// The government notices this booth shows today.
    Notices(notices::Notices),
    /// Enroll this booth with the county server using a one-time code from staff.
    Enroll(enroll::Enroll),
    /// Sync with the county server: run as the booth's service, or `--once` to drain and pull.
    Sync(sync::Sync),
    /// The booth's devices: check them and record their health for the heartbeat.
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
    /// For udev's IMPORT{program}: prints BOOTH_NAME=id-reader|printer|scanner for the USB
    /// device in udev's environment, from the `usb_ids` of the booth config.
    UdevName(udev_name::UdevName),
}

impl Cli {
    pub fn run(&self) -> anyhow::Result<()> {
        let data_dir = self.data_dir.as_path();
        match &self.command {
            Command::Run(command) => command.run(data_dir),
            Command::TechnicianPin(command) => command.run(data_dir),
            Command::Hw(command) => command.run(),
            Command::Submit(command) => command.run(data_dir),
            Command::Queue(command) => command.run(data_dir),
            Command::Receipt(command) => command.run(data_dir),
            Command::Notices(command) => command.run(data_dir),
            Command::Enroll(command) => command.run(data_dir),
            Command::Sync(command) => command.run(data_dir),
            Command::Devices(command) => command.run(data_dir),
            Command::UdevName(command) => command.run(),
        }
    }
}

/// Opens the booth's store; its errors already name the file and what to do.
fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(data_dir)?)
}

/// An error and its causes on one line (see the `error-line` crate).
pub fn one_line(err: &anyhow::Error) -> String {
    error_line::one_line(err.as_ref())
}
