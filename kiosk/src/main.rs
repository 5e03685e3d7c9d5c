//! `kiosk`: the booth binary, a thin shell over the `kiosk` and `hardware` libraries.
//!
//! Today it carries the technician's device commands (`kiosk hw …`); the touchscreen app and
//! the sync commands join it with their issues.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kiosk: {}", cli::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
