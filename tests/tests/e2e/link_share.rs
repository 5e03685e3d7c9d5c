//! The pages' share of a slow village line: the booth's engine and page uploader against the
//! real `sync-server` through a 512 kbit/s line each way (one first-in, first-out queue per
//! direction, `booth_tests::slow_link`), while the engine sends a heartbeat every 5 s and a
//! villager files a short complaint every 4 s. Measures the pages' goodput against the line
//! and how long the heartbeats and complaints take meanwhile (docs/benchmarks.md, "Pages on a
//! 512 kbit/s line"). A measurement: it asserts what arrived, never how fast.
//!
//! ```sh
//! cargo test -p booth-tests --test e2e link_share -- --ignored --nocapture
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booth_tests::booth::{Booth, County, Server, enroll_code, server_receipts};
use booth_tests::slow_link::SlowLink;
use kiosk_core::store::{NewSubmission, Store, SubmissionState};
use kiosk_core::sync::client::Client;
use kiosk_core::sync::{ClockOffset, Engine, EngineConfig, SyncEvent};
use sync_protocol::submission::SubmissionKind;

use super::pages::apply_with_pages;

/// 512 kbit/s.
const LINE_BYTES_PER_S: u64 = 64_000;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
const COMPLAINT_EVERY: Duration = Duration::from_secs(4);

/// Median and largest of `values`.
fn median_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    match values {
        [] => (f64::NAN, f64::NAN),
        _ => (values[values.len() / 2], values[values.len() - 1]),
    }
}

#[test]
#[ignore = "a measurement of about two minutes: see the module's command"]
fn pages_share_a_512_kbit_line_with_heartbeats_and_small_submissions() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let upstream = server.url.trim_start_matches("http://").parse().unwrap();
    let line = SlowLink::start(upstream, LINE_BYTES_PER_S).unwrap();
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&line.url(), &enroll_code(county.path(), "青山村"));
    let (applications, listed_bytes) = apply_with_pages(&booth, 4);
    let pages = applications.len() as u64 * 3;

    let store = Arc::new(Mutex::new(Store::open(&booth.dir).unwrap()));
    let identity = store.lock().unwrap().identity().unwrap().unwrap();
    let client = Client::new(
        &line.url(),
        None,
        identity.kiosk_id,
        kiosk_core::identity::load(&booth.dir).unwrap(),
        ClockOffset::default(),
    )
    .unwrap();
    let mut config = EngineConfig::new(&booth.dir);
    config.heartbeat_every = HEARTBEAT_EVERY;
    let (events, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::new(client, Arc::clone(&store), config).with_events(events);
    let handle = engine.handle();
    let progress = engine.files_progress();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let task = runtime.spawn(engine.run(async {
        let _ = stopped.await;
    }));

    let mut first_chunk = None;
    let mut pages_done = None;
    let mut heartbeats = Vec::new();
    let mut complaints: Vec<(String, Instant, Option<Instant>)> = Vec::new();
    let mut next_complaint = started;
    loop {
        let now = Instant::now();
        assert!(
            now - started < Duration::from_secs(600),
            "the pages did not arrive in 10 minutes"
        );
        while let Ok(event) = heard.try_recv() {
            if matches!(event, SyncEvent::HeartbeatSent { .. }) {
                heartbeats.push(now);
            }
        }
        if first_chunk.is_none()
            && progress
                .bytes_sent
                .load(std::sync::atomic::Ordering::Relaxed)
                > 0
        {
            first_chunk = Some(now);
        }
        let (pending, held, refused) = store.lock().unwrap().file_counts().unwrap();
        assert_eq!(refused, 0);
        if pages_done.is_none() && pending == 0 && held == pages {
            pages_done = Some(now);
        }
        if pages_done.is_none() && now >= next_complaint {
            let complaint = NewSubmission {
                text: Some("村口的路灯坏了，晚上看不见路。".into()),
                ..NewSubmission::new(SubmissionKind::Complaint)
            };
            let receipt = store.lock().unwrap().submit(complaint).unwrap();
            handle.wake();
            complaints.push((receipt.number.to_string(), now, None));
            next_complaint += COMPLAINT_EVERY;
        }
        for (number, _, acknowledged) in complaints.iter_mut().filter(|c| c.2.is_none()) {
            let receipt = store.lock().unwrap().receipt(number).unwrap().unwrap();
            if receipt.upload == SubmissionState::Acknowledged {
                *acknowledged = Some(now);
            }
        }
        if pages_done.is_some() && complaints.iter().all(|c| c.2.is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = stop.send(());
    runtime.block_on(task).unwrap().unwrap();

    let (first_chunk, pages_done) = (first_chunk.unwrap(), pages_done.unwrap());
    let upload_s = (pages_done - first_chunk).as_secs_f64();
    let goodput = listed_bytes as f64 / upload_s;
    let mut waits: Vec<f64> = complaints
        .iter()
        .map(|(_, sent, acknowledged)| (acknowledged.unwrap() - *sent).as_secs_f64())
        .collect();
    let during: Vec<Instant> = heartbeats
        .iter()
        .copied()
        .filter(|t| (first_chunk..=pages_done).contains(t))
        .collect();
    let mut gaps: Vec<f64> = during
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    let (wait_median, wait_max) = median_max(&mut waits);
    let (gap_median, gap_max) = median_max(&mut gaps);
    eprintln!(
        "{pages} pages, {listed_bytes} bytes, in {upload_s:.1} s from the first chunk to the last page held: goodput {goodput:.0} B/s = {:.1} % of the {LINE_BYTES_PER_S} B/s line (carried up {} B, down {} B in {:.1} s)",
        100.0 * goodput / LINE_BYTES_PER_S as f64,
        line.carried_up(),
        line.carried_down(),
        started.elapsed().as_secs_f64(),
    );
    eprintln!(
        "meanwhile: {} complaints, filed to acknowledged median {wait_median:.2} s, max {wait_max:.2} s; {} heartbeats (every {} s asked), apart median {gap_median:.2} s, max {gap_max:.2} s",
        complaints.len(),
        during.len(),
        HEARTBEAT_EVERY.as_secs()
    );

    // What arrived: every application and complaint once, every page held.
    let on_server = server_receipts(county.path());
    for number in applications
        .iter()
        .chain(complaints.iter().map(|(number, _, _)| number))
    {
        assert_eq!(on_server.get(number), Some(&1), "{number} once");
    }
    assert_eq!(store.lock().unwrap().file_counts().unwrap(), (0, pages, 0));
    drop(server);
}
