//! Photographed pages through a village link: the booth's uploader against the real
//! `sync-server` through a proxy that drops, delays, resets and half-closes connections, with
//! the booth stopped dead in the middle of uploads again and again (its sync cut at a random
//! instant, as a power cut or a kill would: everything it knows is in its store). Every page
//! arrives once, intact (the server keeps a file only when its bytes hash to its name and its
//! seal opens), and the bytes sent twice are at most one chunk per cut.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booth_tests::booth::{Booth, County, Server, enroll_code, server_receipts};
use booth_tests::fault_proxy::{FaultMix, FaultProxy};
use kiosk_core::store::{NewPage, NewSubmission, Store};
use kiosk_core::sync::client::Client;
use kiosk_core::sync::{ClockOffset, Engine, EngineConfig};
use sync_protocol::attachment::MAX_CHUNK_BYTES;
use sync_protocol::submission::SubmissionKind;

/// A real JPEG (a small picture) grown to `size` bytes with comment segments of noise, so it
/// decodes like a page and does not compress.
fn page_bytes(size: usize, seed: u64) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([
            (x * 8) as u8 ^ seed as u8,
            (y * 10) as u8,
            (seed as u8).wrapping_mul(3),
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture)
        .expect("encode");
    let mut x = seed as u32 + 1;
    let mut out = jpeg[..2].to_vec();
    while out.len() + jpeg.len() - 2 < size {
        let room = size - (out.len() + jpeg.len() - 2);
        let payload = room.saturating_sub(4).clamp(1, 65_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((payload + 2) as u16).to_be_bytes());
        for _ in 0..payload {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            out.push((x >> 16) as u8);
        }
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// `count` applications of two materials, a page each (and a second page of the first),
/// through the store library; their receipt numbers and the bytes of all their files.
pub(crate) fn apply_with_pages(booth: &Booth, count: usize) -> (BTreeSet<String>, u64) {
    let mut store = Store::open(&booth.dir).expect("open the booth's store");
    let mut receipts = BTreeSet::new();
    for i in 0..count as u64 {
        let mut new = NewSubmission::new(SubmissionKind::Application);
        new.item_code = Some("GX-SB-001".into());
        new.catalog_version = Some(1);
        new.pages = vec![
            NewPage {
                material: 0,
                material_name: "居民身份证".into(),
                page: 1,
                jpeg: page_bytes(300_000 + 7_000 * i as usize, i * 3 + 1),
            },
            NewPage {
                material: 0,
                material_name: "居民身份证".into(),
                page: 2,
                jpeg: page_bytes(120_000, i * 3 + 2),
            },
            NewPage {
                material: 1,
                material_name: "居民户口簿".into(),
                page: 1,
                jpeg: page_bytes(450_000, i * 3 + 3),
            },
        ];
        receipts.insert(store.submit(new).expect("submit").number.to_string());
    }
    let listed: u64 = store
        .due_submissions(chrono::Utc::now(), 1000)
        .expect("queue")
        .iter()
        .flat_map(|s| s.attachments.iter().map(|f| f.bytes))
        .sum();
    (receipts, listed)
}

fn engine(
    booth: &Booth,
    server_url: &str,
    progress: &mut Option<Arc<kiosk_core::sync::FilesProgress>>,
) -> Engine {
    let store = Store::open(&booth.dir).unwrap();
    let identity = store.identity().unwrap().unwrap();
    let key = kiosk_core::identity::load(&booth.dir).unwrap();
    let client = Client::new(
        server_url,
        None,
        identity.kiosk_id,
        key,
        ClockOffset::default(),
    )
    .unwrap();
    let mut config = EngineConfig::new(&booth.dir);
    config.backoff.base = Duration::from_millis(50);
    config.backoff.cap = Duration::from_millis(500);
    config.files.backoff = config.backoff;
    let engine = Engine::new(client, Arc::new(Mutex::new(store)), config);
    *progress = Some(engine.files_progress());
    engine
}

fn files_kept(county: &Path) -> usize {
    std::fs::read_dir(county.join("files/files")).map_or(0, |d| d.count())
}

fn parts_left(county: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                walk(&entry.path(), out);
            } else {
                out.push(entry.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(&county.join("files/parts"), &mut out);
    out
}

#[test]
fn pages_arrive_once_and_intact_through_a_bad_link_with_the_booth_cut_off_mid_upload() {
    let county = County::new();
    let booth_dir = tempfile::tempdir().unwrap();
    let server = Server::start(county.path(), 0);
    let upstream = server.url.trim_start_matches("http://").parse().unwrap();
    let proxy = FaultProxy::start(upstream, FaultMix::NONE, 0xf11e_0001).unwrap();
    let booth = Booth::new(booth_dir.path());
    booth.enroll(&proxy.url(), &enroll_code(county.path(), "青山村"));
    let (receipts, listed_bytes) = apply_with_pages(&booth, 6);
    let files = receipts.len() * 3;

    // Drawn per TCP chunk the booth sends, so a 64 KiB request meets about five draws.
    proxy.set_mix(FaultMix {
        drop: 0.02,
        delay: 0.05,
        reset_mid_response: 0.03,
        half_close: 0.01,
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut sent = 0u64;
    let mut cuts = 0u64;
    let mut rounds = 0;
    let mut seed = 0x5eed_u64;
    let drained = loop {
        rounds += 1;
        assert!(rounds < 400, "the pages did not arrive in 400 rounds");
        let mut progress = None;
        let mut booth_engine = engine(&booth, &proxy.url(), &mut progress);
        // Cut the booth off at a random instant in one round out of two.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let limit = if rounds % 2 == 1 {
            Duration::from_millis(100 + seed % 900)
        } else {
            Duration::from_secs(60)
        };
        let outcome =
            runtime.block_on(async { tokio::time::timeout(limit, booth_engine.run_once()).await });
        sent += progress.unwrap().bytes_sent.load(Ordering::Relaxed);
        match outcome {
            Err(_) => cuts += 1,
            Ok(Ok(summary)) if summary.pending == 0 && summary.pages_pending == 0 => break summary,
            Ok(_) => {}
        }
    };
    let faults = [
        &proxy.stats().dropped,
        &proxy.stats().reset,
        &proxy.stats().half_closed,
    ]
    .map(|c| c.load(Ordering::Relaxed));
    let extra = sent.saturating_sub(listed_bytes);
    let allowed = (cuts + faults.iter().sum::<u64>()) * MAX_CHUNK_BYTES as u64;
    eprintln!(
        "{files} pages, {listed_bytes} bytes listed; {sent} bytes of chunks sent in {rounds} rounds: {extra} sent twice ({:.1} %), with {cuts} cuts of the booth and {faults:?} dropped/reset/half-closed connections (at most {allowed} allowed); last round: {drained:?}",
        100.0 * extra as f64 / listed_bytes as f64
    );
    assert!(
        faults.iter().all(|&n| n > 0),
        "every fault happened: {faults:?}"
    );
    assert!(
        extra <= allowed,
        "{extra} bytes sent twice, more than a chunk per cut ({allowed})"
    );

    // Each submission once on the server; each page kept once, no chunk left behind.
    let on_server = server_receipts(county.path());
    assert_eq!(on_server.keys().cloned().collect::<BTreeSet<_>>(), receipts);
    assert!(on_server.values().all(|&n| n == 1), "{on_server:?}");
    assert_eq!(files_kept(county.path()), files, "every page kept once");
    assert!(
        parts_left(county.path()).is_empty(),
        "{:?}",
        parts_left(county.path())
    );
    // The booth forgot them: settled in its store, deleted from its disk.
    let store = Store::open(&booth.dir).unwrap();
    assert_eq!(store.file_counts().unwrap(), (0, files as u64, 0));
    let left = std::fs::read_dir(booth.dir.join("files")).map_or(0, |d| d.count());
    assert_eq!(
        left, 0,
        "the booth keeps no copy of a page the county holds"
    );
    drop(server);
}
