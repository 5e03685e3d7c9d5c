//! Booth benchmarks with a small self-written harness (no criterion, to keep builds short).
//!
//! ```text
//! cargo bench -p kiosk --bench kiosk                        # both sections
//! cargo bench -p kiosk --bench kiosk -- submit              # submit latency only
//! BENCH_DRAIN=2000 BENCH_RUNS=1 cargo bench -p kiosk --bench kiosk -- drain   # a quick drain
//! ```
//!
//! Sections:
//! - `submit` ([`submit`]): `Store::submit` latency (call to durable commit) against a bare
//!   rusqlite insert with the same pragmas, interleaved on the same disk.
//! - `app` ([`app`]): the booth app on the software renderer: start to first frame, frame
//!   render times, resident memory over 1,000 navigation cycles.
//! - `drain` ([`drain`]): draining 10,000 queued submissions to the real sync server on
//!   loopback against the server's own batched inserts of the same rows.
//!
//! Environment: `BENCH_SUBMITS` (2000) and `BENCH_WARMUP` (20) for `submit`; `BENCH_DRAIN`
//! (10,000) and `BENCH_RUNS` (9) for `drain`; `BENCH_DIR` for the scratch files (default
//! cargo's target tmp dir, a real disk); `BENCH_LOG=off` leaves out the server's request log
//! (on by default at `info`, formatted into a sink, as `sync-server serve` logs).
//!
//! The harness and the in-process server helpers live in `sync-server/benches/common` and are
//! shared with the server's ingest bench. `docs/benchmarks.md` explains how to read the tables.

mod app;
#[path = "../../../sync-server/benches/common/mod.rs"]
mod common;
mod drain;
mod submit;

use chrono::Utc;
use kiosk_core::store::{Identity, NewSubmission};
use sync_protocol::submission::SubmissionKind;

use common::harness::{self, BenchResult};
use common::server;

/// One section of the benchmark, selected by name on the command line.
type Section = (&'static str, fn() -> BenchResult);

fn main() -> BenchResult {
    let filters = harness::selected_sections();
    let sections: [Section; 3] = [
        ("submit", submit::run),
        ("drain", drain::run),
        ("app", app::run),
    ];
    for (name, run) in sections {
        if harness::selects(&filters, name) {
            println!("\n== {name} ==");
            run()?;
        }
    }
    Ok(())
}

/// What a villager hands in for a pension application (the server bench sends the same).
fn sample_new_submission() -> NewSubmission {
    NewSubmission {
        item_code: Some(server::ITEM_CODE.into()),
        catalog_version: Some(1),
        fields: server::sample_fields(),
        applicant: Some(server::sample_applicant()),
        contact_phone: Some(server::SAMPLE_PHONE.into()),
        ..NewSubmission::new(SubmissionKind::Application)
    }
}

/// An identity for a booth that never talks to a server.
fn offline_identity() -> Identity {
    Identity {
        kiosk_id: "bench-kiosk".into(),
        kiosk_number: 7,
        village: server::village(),
        server_url: "http://127.0.0.1:9".into(),
        server_id: "bench-server".into(),
        enrolled_at: Utc::now(),
        server_pin: None,
    }
}
