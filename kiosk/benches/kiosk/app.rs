//! The booth app in this process on the software renderer (Slint's testing backend, the same
//! renderer `kiosk run` uses with `linuxkms-software` or `winit-software`), over a booth store
//! holding the seed catalogue:
//!
//! - start to first frame: `App::start` (store, devices, window, every page bound) plus the
//!   first full render of Home at 1080×1920;
//! - full-frame render time of Home and of the busiest list (Service guides, every item);
//! - resident memory after start, after 100 navigation cycles (warm) and after 1,000, where a
//!   cycle is Home → guides → an item → back → Home, each page rendered once.
//!
//! The real `kiosk run` under a display adds the windowing system's client libraries; its
//! figures come from `scripts/bench-kiosk-run.sh` (see docs/benchmarks.md).

use std::time::{Duration, Instant};

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use kiosk::app::{App, AppConfig};
use kiosk_core::store::Store;
use slint::ComponentHandle;
use sync_protocol::feed::FeedPage;
use ui::{AppState, GuidesAdapter, HomeActions, Page};

use crate::common::harness::{self, BenchResult, Stats, Table};

pub fn run() -> BenchResult {
    let samples = harness::env_number("BENCH_FRAMES", 30)?;
    let cycles = harness::env_number("BENCH_CYCLES", 1000)?;
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: true,
        threading: false,
        renderer_name: Some("software".into()),
    })))
    .map_err(|e| format!("install the software-rendering platform: {e}"))?;

    let scratch = harness::scratch_dir("app")?;
    let catalog = sync_server::domain::catalog::read_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-server/seed/catalog.json"),
    )?;
    let items = catalog.len();
    Store::open(scratch.path())?.apply_catalog_page(&FeedPage {
        items: catalog,
        cursor: "seed".into(),
        more: false,
    })?;
    let rss_before = resident_kib();

    let started = Instant::now();
    let app = App::start(AppConfig::with_data_dir(scratch.path()))?;
    app.window()
        .window()
        .set_size(slint::PhysicalSize::new(1080, 1920));
    app.window().show()?;
    app.window().window().take_snapshot()?;
    let first_frame = started.elapsed();
    let rss_started = resident_kib();

    let home = frame_times(&app, samples)?;
    open_guides(&app)?;
    let guides = frame_times(&app, samples)?;
    app.window()
        .global::<HomeActions>()
        .invoke_open_page(Page::Home);

    let warm = 100.min(cycles);
    for _ in 0..warm {
        navigation_cycle(&app)?;
    }
    let rss_warm = resident_kib();
    for _ in warm..cycles {
        navigation_cycle(&app)?;
    }
    let rss_end = resident_kib();

    println!("seed catalogue: {items} items; frames at 1080×1920, software renderer");
    let mut table = Table::new(&["measure", "median (p10–p90)"]);
    table.row(vec![
        "start to first frame (one run)".into(),
        harness::ms(first_frame),
    ]);
    table.row(vec!["render Home".into(), spread(&home)]);
    table.row(vec![
        format!("render Service guides ({items} rows)"),
        spread(&guides),
    ]);
    table.print();
    println!();
    let mut memory = Table::new(&["resident memory (VmRSS)", "MiB"]);
    memory.row(vec!["before App::start".into(), mib(rss_before)]);
    memory.row(vec!["after start and first frame".into(), mib(rss_started)]);
    memory.row(vec![
        format!("after {warm} navigation cycles"),
        mib(rss_warm),
    ]);
    memory.row(vec![
        format!("after {cycles} navigation cycles"),
        mib(rss_end),
    ]);
    memory.print();
    println!(
        "growth from cycle {warm} to {cycles}: {} KiB",
        rss_end.saturating_sub(rss_warm)
    );
    Ok(())
}

/// Opens Service guides and waits for this visit's catalogue load to land, pumping the UI
/// queue as the real app's 30 ms timer does (results left in the queue would pile up).
fn open_guides(app: &App) -> BenchResult {
    app.window()
        .global::<GuidesAdapter>()
        .set_items(slint::ModelRc::default());
    app.window()
        .global::<HomeActions>()
        .invoke_open_page(Page::Guides);
    let deadline = Instant::now() + Duration::from_secs(10);
    while slint::Model::row_count(&app.window().global::<GuidesAdapter>().get_items()) == 0 {
        if Instant::now() > deadline {
            return Err("the guides page did not load the catalogue within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
        app.pump();
    }
    Ok(())
}

fn navigation_cycle(app: &App) -> BenchResult {
    let window = app.window();
    open_guides(app)?;
    window.window().take_snapshot()?;
    let adapter = window.global::<GuidesAdapter>();
    let first = slint::Model::row_data(&adapter.get_items(), 0).ok_or("no guide rows")?;
    adapter.invoke_open_item(first.code);
    window.window().take_snapshot()?;
    adapter.invoke_back();
    window.window().take_snapshot()?;
    window.global::<HomeActions>().invoke_open_page(Page::Home);
    if window.global::<AppState>().get_current_page() != Page::Home {
        return Err("Home did not show".into());
    }
    window.window().take_snapshot()?;
    Ok(())
}

fn frame_times(app: &App, samples: usize) -> BenchResult<Stats> {
    let window = app.window().window();
    for _ in 0..3 {
        window.take_snapshot()?;
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        window.take_snapshot()?;
        times.push(started.elapsed());
    }
    Ok(Stats::of(times))
}

fn spread(stats: &Stats) -> String {
    format!(
        "{} ({:.1}–{:.1})",
        harness::ms(stats.median),
        stats.p10.as_secs_f64() * 1e3,
        stats.p90.as_secs_f64() * 1e3
    )
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
