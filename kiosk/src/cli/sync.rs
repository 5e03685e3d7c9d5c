//! `kiosk sync`: the booth's service (`kiosk sync`, runs until SIGINT/SIGTERM, one line per
//! event on stderr) and the technician's one-shot (`kiosk sync --once`: upload everything,
//! pull every feed, send a heartbeat, print a summary; exit 0 only when nothing is pending).

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use kiosk_core::store::{Identity, Store};
use kiosk_core::sync::clock::describe_offset;
use kiosk_core::sync::{
    Client, ClockOffset, Engine, EngineConfig, EngineError, OnceSummary, SyncError, clock_warning,
    finish_pending,
};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Sync {
    /// Upload everything pending (waiting items too), pull every feed and send one heartbeat,
    /// then exit: 0 when nothing is left pending.
    #[arg(long)]
    once: bool,
    /// With --once: print the summary as JSON.
    #[arg(long, requires = "once")]
    json: bool,
}

impl Sync {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (mut engine, identity) = booth_engine(data_dir)?;
        if self.once {
            let summary = runtime.block_on(engine.run_once()).map_err(engine_error)?;
            self.report(&summary);
            if summary.pending > 0 {
                anyhow::bail!(
                    "{} submission(s) still pending: run `kiosk sync --once` again, or see `kiosk queue status`",
                    summary.pending
                );
            }
            if summary.pages_pending > 0 {
                anyhow::bail!(
                    "{} photographed page(s) still to upload: run `kiosk sync --once` again, or see `kiosk queue status`",
                    summary.pages_pending
                );
            }
            return Ok(());
        }
        eprintln!(
            "kiosk sync: booth {} (kiosk number {}) syncing with {}",
            identity.kiosk_id, identity.kiosk_number, identity.server_url
        );
        if let Some(warning) = clock_warning(engine.clock_offset_ms()) {
            eprintln!("kiosk sync: {warning}");
        }
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        engine = engine.with_events(events);
        runtime.block_on(async move {
            let printer = tokio::spawn(async move {
                while let Some(event) = received.recv().await {
                    eprintln!("kiosk sync: {event}");
                }
            });
            let result = engine.run(shutdown_signal()).await;
            let _ = printer.await;
            result.map_err(engine_error)
        })
    }

    fn report(&self, summary: &OnceSummary) {
        let warning = clock_warning(summary.clock_offset_ms);
        if self.json {
            let mut value = json!(summary);
            value["clock_warning"] = json!(warning);
            println!("{value}");
            return;
        }
        println!("{}", describe(summary));
        if let Some(warning) = warning {
            println!("{warning}");
        }
    }
}

/// The engine of the enrolled booth in `data_dir`, finishing an interrupted enrollment first.
fn booth_engine(data_dir: &Path) -> anyhow::Result<(Engine, Identity)> {
    finish_pending(data_dir)?;
    let store = Store::open(data_dir)?;
    let identity = store
        .identity()?
        .context("this booth is not enrolled: kiosk enroll --server URL --code CODE")?;
    let key = kiosk_core::identity::load(data_dir)?;
    let clock = ClockOffset::new(store.clock_offset_ms()?);
    let client = Client::new(
        &identity.server_url,
        identity.server_pin,
        identity.kiosk_id.clone(),
        key,
        clock,
    )?;
    let engine = Engine::new(
        client,
        Arc::new(Mutex::new(store)),
        EngineConfig::new(data_dir),
    );
    Ok((engine, identity))
}

/// `uploaded 3, duplicates 0, quarantined 1, pending 0; pages sent 2, waiting 0; catalog +12,
/// notices +2, statuses +1; clock offset +2 days 0 h`.
fn describe(summary: &OnceSummary) -> String {
    format!(
        "uploaded {}, duplicates {}, quarantined {}, pending {}; pages sent {}, waiting {}; catalog +{}, notices +{}, statuses +{}; clock offset {}",
        summary.uploaded,
        summary.duplicates,
        summary.quarantined,
        summary.pending,
        summary.pages_sent,
        summary.pages_pending,
        summary.catalog,
        summary.notices,
        summary.statuses,
        describe_offset(summary.clock_offset_ms)
    )
}

/// Network and server failures read best as their own line; the HTTP library's chain below
/// them says nothing more to a technician.
fn engine_error(err: EngineError) -> anyhow::Error {
    match err {
        EngineError::Sync(sync @ (SyncError::Network { .. } | SyncError::Protocol { .. })) => {
            anyhow::anyhow!("{sync}")
        }
        other => anyhow::Error::new(other),
    }
}

/// Completes on SIGINT or SIGTERM (what systemd sends to stop the service).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_one_line() {
        let summary = OnceSummary {
            uploaded: 3,
            duplicates: 1,
            quarantined: 1,
            pending: 0,
            catalog: 12,
            notices: 2,
            statuses: 1,
            clock_offset_ms: 2 * 86_400_000,
            heartbeat_sent: true,
            pages_sent: 2,
            pages_pending: 0,
        };
        assert_eq!(
            describe(&summary),
            "uploaded 3, duplicates 1, quarantined 1, pending 0; pages sent 2, waiting 0; catalog +12, notices +2, statuses +1; clock offset +2 days 0 h"
        );
    }
}
