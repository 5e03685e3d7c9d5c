//! `sync-server`: the county server binary, a thin shell over the `sync_server` library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Whatever this process creates (the database, its WAL files, SQLite's temporary files,
    // secrets) is its user's alone; `data_dir` also sets the modes it needs explicitly.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = cli::Cli::parse();
    cli::init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sync-server: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sync-server: {}", cli::one_line(&err));
            ExitCode::FAILURE
        }
    }
}
