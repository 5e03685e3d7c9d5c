//! `loadgen`: see `loadgen --help` and the library's documentation (`src/lib.rs`).

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run::run(&args)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(report)) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(err) => {
                        eprintln!("loadgen: cannot write the report as JSON: {err}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.text());
            }
            if report.verdict.passed() {
                ExitCode::SUCCESS
            } else {
                // The run was made and measured, but something was lost, stored twice or left
                // queued: a different status from a run that could not be made.
                ExitCode::from(2)
            }
        }
        Err(err) => {
            eprintln!("loadgen: {}", error_line::one_line(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}
