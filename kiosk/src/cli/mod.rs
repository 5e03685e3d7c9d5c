//! Command-line entry points: one module per command group, one file per command.

mod hw;

use clap::{Parser, Subcommand};

/// The village booth: device tools for technicians (the touchscreen app comes later).
#[derive(Debug, Parser)]
#[command(name = "kiosk", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Devices: list ports, read a card, print, scan, or emulate a device on a pseudo-terminal.
    #[command(subcommand)]
    Hw(hw::HwCommand),
}

impl Cli {
    pub fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            Command::Hw(command) => command.run(),
        }
    }
}

/// An error and its causes on one line, skipping a cause whose text the message already shows.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line.replace('\n', " ")
}
