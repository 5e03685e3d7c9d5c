//! `booth-update`: the booth's updater, run by systemd units as root. The binary's edge, and
//! the only place `anyhow` is used.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use booth_update::Updater;
use booth_update::layout::Layout;
use booth_update::systemctl::Systemctl;
use booth_update::trial::Verdict;
use clap::{Parser, Subcommand};

/// Installs verified releases of the booth app, judges them on trial and rolls back by
/// itself. Run by systemd; a technician uses `status`.
#[derive(Debug, Parser)]
#[command(name = "booth-update", version)]
struct Cli {
    /// The root of the booth's file system (the tests use a temporary directory).
    #[arg(long, value_name = "DIR", default_value = "/", global = true)]
    root: PathBuf,
    /// The systemctl to run (the tests give a script that logs its calls).
    #[arg(long, value_name = "PATH", default_value = "systemctl", global = true)]
    systemctl: PathBuf,
    /// The booth's clock in seconds since 1970 (the tests).
    #[arg(long, value_name = "UNIX", global = true, hide = true)]
    now: Option<u64>,
    /// The image's app's version instead of this build's (the tests: a newer image).
    #[arg(long, value_name = "V", global = true, hide = true)]
    factory_version: Option<booth_release::Version>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the release the kiosk's install request names (booth-update.path).
    Install,
    /// Before each start of the kiosk (its ExecStartPre): recover, count a start of a release
    /// on trial, roll back after too many. Never fails the start.
    StartAttempt,
    /// Judge the release on trial (booth-update-check.timer, every minute).
    Check,
    /// The kiosk says the release on trial is healthy: keep it (booth-update-confirm.path).
    Confirm,
    /// Finish or undo a half-done install or rollback (at boot, after the install service).
    Recover {
        /// Also start the kiosk if it is not running.
        #[arg(long)]
        start_kiosk: bool,
    },
    /// What runs, the update state, the last install's outcome, the trusted keys.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut updater = Updater::new(
        Layout::new(&cli.root),
        Systemctl {
            program: cli.systemctl.clone(),
        },
    );
    updater.now_unix = cli.now;
    if let Some(version) = cli.factory_version {
        updater.factory_version = version;
    }
    let start_attempt = matches!(cli.command, Command::StartAttempt);
    match run(&updater, &cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("booth-update: {}", error_line::one_line(err.as_ref()));
            // A broken updater must not keep the booth from starting what it has.
            if start_attempt {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(updater: &Updater, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Install => {
            let version = updater.install().context("install")?;
            println!("release {version} installed and started on trial");
        }
        Command::StartAttempt => say(&updater.start_attempt().context("start-attempt")?),
        Command::Check => say(&updater.check().context("check")?),
        Command::Confirm => say(&updater.confirm().context("confirm")?),
        &Command::Recover { start_kiosk } => {
            let recovered = updater.recover(start_kiosk).context("recover")?;
            println!("recover: {recovered:?}");
        }
        &Command::Status { json } => {
            let status = updater.status().context("status")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                for line in status.lines() {
                    println!("{line}");
                }
            }
        }
    }
    Ok(())
}

fn say(verdict: &Verdict) {
    match verdict {
        Verdict::NotOnTrial => println!("no release on trial"),
        Verdict::OnTrial(version) => println!("release {version} on trial"),
        Verdict::Confirmed(version) => println!("release {version} confirmed"),
        Verdict::RolledBack {
            version,
            to,
            stage,
            store_restored,
        } => println!(
            "release {version} rolled back to {to} at {stage}{}",
            if *store_restored {
                ", store backup restored and the queue merged back"
            } else {
                ""
            }
        ),
    }
}
