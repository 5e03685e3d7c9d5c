//! Device benchmarks with a small self-written harness (no criterion, to keep builds short).
//!
//! ```text
//! cargo bench -p hardware --bench hardware              # every section, 30 runs each
//! BENCH_RUNS=5 cargo bench -p hardware --bench hardware # a quick run
//! cargo bench -p hardware --bench hardware -- printer   # sections whose name contains "printer"
//! ```
//!
//! Sections: `id_card` (read cycle through a real pseudo-terminal against the emulator, and the
//! codec alone), `printer` (receipt bytes native vs raster QR, wire time, encode time,
//! ESC/POS decoder throughput), `scanner` (framer throughput) and `camera` (a 5 MP still to a
//! 200 dpi page, stage by stage; the page's bytes against its seal's and text's fidelity at each
//! JPEG quality and chroma setting).
//!
//! A pseudo-terminal does not pace bytes at the baud rate, so the measured read cycle is the
//! driver + emulator overhead only; line times are computed from the bytes exchanged at
//! 10 bits per byte (8N1). `docs/benchmarks.md` explains how to read the tables.

use std::env;
use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hardware::id_card::emulator::{self, AfterRead, EmulatedCard, EmulatorConfig};
use hardware::id_card::frame::FrameDecoder;
use hardware::id_card::read::{encode_read_reply, split_read_reply};
use hardware::id_card::text::{encode_text_block, parse_text_block};
use hardware::id_card::{Reader, ReaderConfig, Response, Timeouts, samples};
use hardware::printer::decode::Decoder;
use hardware::printer::{EncodeOptions, PaperWidth, QrMode, encode, sample};
use hardware::scanner::{FrameItem, Framer, FramerConfig, Terminator};
use hardware::transport::{SerialTransport, Transport};

/// Line bits per byte on 8N1: start bit, 8 data bits, stop bit.
const BITS_PER_BYTE: f64 = 10.0;

/// Goal for the driver + emulator overhead of one read cycle.
const CYCLE_GOAL: Duration = Duration::from_millis(10);

/// Goal for native QR bytes as a fraction of raster QR bytes.
const NATIVE_RATIO_GOAL: f64 = 0.2;

type BenchResult = Result<(), Box<dyn std::error::Error>>;

/// One section of the benchmark, selected by name on the command line.
type Section = (&'static str, fn(&Settings) -> BenchResult);

fn main() -> BenchResult {
    let settings = Settings::from_env()?;
    println!(
        "hardware benchmarks: {} runs per measurement after {} warm-up runs (BENCH_RUNS, BENCH_WARMUP)",
        settings.runs, settings.warmup
    );
    let sections: [Section; 4] = [
        ("id_card", id_card),
        ("printer", printer),
        ("scanner", scanner),
        ("camera", camera),
    ];
    for (name, run) in sections {
        if settings.selects(name) {
            println!("\n== {name} ==");
            run(&settings)?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Settings {
    runs: usize,
    warmup: usize,
    filters: Vec<String>,
}

impl Settings {
    fn from_env() -> Result<Self, Box<dyn std::error::Error>> {
        let number = |name: &str, default: usize| -> Result<usize, String> {
            match env::var(name) {
                Ok(text) => text
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{name}={text} is not a positive whole number")),
                Err(_) => Ok(default),
            }
        };
        Ok(Self {
            runs: number("BENCH_RUNS", 30)?,
            warmup: number("BENCH_WARMUP", 3)?,
            // cargo passes `--bench`; anything else not starting with `-` picks sections.
            filters: env::args()
                .skip(1)
                .filter(|arg| !arg.starts_with('-'))
                .collect(),
        })
    }

    fn selects(&self, section: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| section.contains(f.as_str()))
    }
}

/// Order statistics of one measurement's samples.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: Duration,
    p10: Duration,
    p90: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }
}

/// Runs `f` for the warm-up, then `runs` timed samples of `iters` calls each; every sample is
/// the time per call. Batching keeps microsecond-scale work above the clock's resolution.
fn measure<E>(
    settings: &Settings,
    iters: u32,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Stats, E> {
    for _ in 0..settings.warmup {
        for _ in 0..iters {
            f()?;
        }
    }
    let mut samples = Vec::with_capacity(settings.runs);
    for _ in 0..settings.runs {
        let start = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        samples.push(start.elapsed() / iters);
    }
    Ok(Stats::of(samples))
}

#[path = "../../bench-support/table.rs"]
mod table;
use table::Table;

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 10.0 {
        format!("{micros:.2} µs")
    } else {
        format!("{micros:.1} µs")
    }
}

fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * BITS_PER_BYTE / f64::from(baud))
}

fn mib_per_s(bytes: usize, per_pass: Duration) -> String {
    format!(
        "{:.1} MiB/s",
        bytes as f64 / per_pass.as_secs_f64() / (1024.0 * 1024.0)
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

// ---------------------------------------------------------------------------------------------
// ID card reader

/// Counts the bytes a driver sends and receives, to know what a real line would carry.
#[derive(Debug)]
struct Counting<T> {
    inner: T,
    bytes: Arc<AtomicUsize>,
}

impl<T: Transport> Transport for Counting<T> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes.fetch_add(bytes.len(), Ordering::Relaxed);
        self.inner.send(bytes)
    }

    fn receive(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let n = self.inner.receive(buf, timeout)?;
        self.bytes.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    fn clear_input(&mut self) -> io::Result<()> {
        self.inner.clear_input()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// Bytes on the line (both directions) for one `read_card()` after the first, which also sends
/// `61 FF` once.
fn bytes_per_cycle(path: &str, appended: bool) -> Result<usize, Box<dyn std::error::Error>> {
    let bytes = Arc::new(AtomicUsize::new(0));
    let mut reader = Reader::new(
        Counting {
            inner: SerialTransport::open(path, 115_200)?,
            bytes: bytes.clone(),
        },
        reader_config(appended),
    );
    reader.read_card()?;
    bytes.store(0, Ordering::Relaxed);
    reader.read_card()?;
    Ok(bytes.load(Ordering::Relaxed))
}

fn reader_config(appended_address: bool) -> ReaderConfig {
    ReaderConfig {
        // Generous, so a busy machine shows up as a slow sample rather than a failed read.
        timeouts: Timeouts::uniform(Duration::from_secs(3)),
        retries: 0,
        read_appended_address: appended_address,
        ..ReaderConfig::default()
    }
}

fn id_card(settings: &Settings) -> BenchResult {
    let emulator = emulator::spawn(EmulatorConfig {
        card: Some(EmulatedCard::new(samples::resident())?),
        // The card stays found after a read, so one placement serves every cycle.
        after_read: AfterRead::StillFound,
        ..EmulatorConfig::default()
    })?;
    let path = emulator
        .path()
        .and_then(|p| p.to_str())
        .ok_or("the emulator's pseudo-terminal has no UTF-8 path")?
        .to_owned();

    let mut table = Table::new(&[
        "read_card() via pty",
        "bytes",
        "median",
        "p10",
        "p90",
        "min",
        "max",
        "wire @115200",
        "pty / wire",
        "goal ≤10 ms",
    ]);
    for (label, appended) in [
        ("with appended address (default)", true),
        ("without appended address", false),
    ] {
        let bytes = bytes_per_cycle(&path, appended)?;
        let mut reader = Reader::new(
            SerialTransport::open(&path, 115_200)?,
            reader_config(appended),
        );
        emulator.control().clear_commands();
        let stats = measure(settings, 1, || {
            reader.read_card().map(|read| {
                black_box(read);
            })
        })?;
        // Proof that every timed cycle really crossed the pty: status, find, select, read
        // (and the appended address), plus the one `61 FF` of the reader's first cycle.
        let per_cycle = if appended { 5 } else { 4 };
        let expected = (settings.warmup + settings.runs) * per_cycle + 1;
        let seen = emulator.commands().len();
        if seen != expected {
            return Err(format!(
                "the emulator saw {seen} commands for {expected} expected; the timing is void"
            )
            .into());
        }
        let wire = wire_time(bytes, 115_200);
        table.row(vec![
            label.to_owned(),
            bytes.to_string(),
            ms(stats.median),
            ms(stats.p10),
            ms(stats.p90),
            ms(stats.min),
            ms(stats.max),
            ms(wire),
            format!(
                "{:.2} %",
                100.0 * stats.median.as_secs_f64() / wire.as_secs_f64().max(f64::MIN_POSITIVE)
            ),
            verdict(stats.median <= CYCLE_GOAL).to_owned(),
        ]);
    }
    table.print();
    println!(
        "pty time = driver + emulator overhead (a pty does not pace bytes at the baud rate); \
         wire time is computed at 10 bits/byte and excludes the SAM's own card read time."
    );
    emulator.stop();

    // The codec alone: one 1295-byte read reply through the decoder, split and parsed.
    let text = encode_text_block(&samples::resident())?;
    let reply = Response::new(0x90, encode_read_reply(&text, &[0x5A; 1024], None)?).encode()?;
    println!(
        "the 1295-byte read reply alone takes {} on the line at 115200 baud.",
        ms(wire_time(reply.len(), 115_200))
    );
    let mut decoder = FrameDecoder::new();
    let codec = measure(
        settings,
        2000,
        || -> Result<(), Box<dyn std::error::Error>> {
            let mut frames = decoder.push(black_box(&reply));
            let frame = frames.pop().ok_or("no frame decoded")??;
            let mut response = frame.into_response()?;
            let split = split_read_reply(&mut response.data, false)?;
            black_box(parse_text_block(&split.text)?);
            Ok(())
        },
    )?;
    let frame_only = measure(settings, 2000, || -> Result<(), &'static str> {
        let frames = decoder.push(black_box(&reply));
        if frames.len() == 1 {
            black_box(frames);
            Ok(())
        } else {
            Err("the read reply did not decode to one frame")
        }
    })?;
    let mut codec_table = Table::new(&["codec on a 1295-byte read reply", "median", "p10", "p90"]);
    for (label, stats) in [
        ("FrameDecoder::push only", frame_only),
        ("decode + split + parse_text_block", codec),
    ] {
        codec_table.row(vec![
            label.to_owned(),
            us(stats.median),
            us(stats.p10),
            us(stats.p90),
        ]);
    }
    println!();
    codec_table.print();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Printer

fn printer(settings: &Settings) -> BenchResult {
    let receipt = sample::standard_receipt();
    let mut sizes = Table::new(&[
        "standard receipt",
        "native B",
        "raster B",
        "native/raster",
        "goal ≤0.20",
        "native @9600",
        "raster @9600",
        "native @115200",
        "raster @115200",
    ]);
    let mut timing = Table::new(&["encode()", "median", "p10", "p90", "min", "max"]);
    let mut decoding = Table::new(&["ESC/POS Decoder::push", "bytes", "median", "p90", "rate"]);
    for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
        let mut bytes = [Vec::new(), Vec::new()];
        for (slot, mode) in bytes.iter_mut().zip([QrMode::Native, QrMode::Raster]) {
            let options = EncodeOptions {
                width,
                qr_mode: mode,
                ..EncodeOptions::default()
            };
            *slot = encode(&receipt, &options)?;
            let stats = measure(settings, 20, || {
                encode(black_box(&receipt), &options).map(|out| {
                    black_box(out);
                })
            })?;
            timing.row(vec![
                format!("{width}, {mode:?} QR"),
                us(stats.median),
                us(stats.p10),
                us(stats.p90),
                us(stats.min),
                us(stats.max),
            ]);
            let job = slot.clone();
            let stats = measure(settings, 20, || -> Result<(), &'static str> {
                let events = Decoder::new().push(black_box(&job));
                if events.is_empty() {
                    return Err("the encoded receipt decoded to nothing");
                }
                black_box(events);
                Ok(())
            })?;
            decoding.row(vec![
                format!("{width}, {mode:?} QR"),
                job.len().to_string(),
                us(stats.median),
                us(stats.p90),
                mib_per_s(job.len(), stats.median),
            ]);
        }
        let [native, raster] = &bytes;
        let ratio = native.len() as f64 / raster.len() as f64;
        sizes.row(vec![
            width.to_string(),
            native.len().to_string(),
            raster.len().to_string(),
            format!("{ratio:.3} (1/{:.1})", 1.0 / ratio),
            verdict(ratio <= NATIVE_RATIO_GOAL).to_owned(),
            ms(wire_time(native.len(), 9600)),
            ms(wire_time(raster.len(), 9600)),
            ms(wire_time(native.len(), 115_200)),
            ms(wire_time(raster.len(), 115_200)),
        ]);
    }
    sizes.print();
    println!(
        "wire times are computed at 10 bits/byte; the printer's own print speed is not included."
    );
    println!();
    timing.print();
    println!();
    decoding.print();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scanner

fn scanner(settings: &Settings) -> BenchResult {
    // 1000 codes like the booth's receipt links, CR LF terminated, arriving in 64-byte reads.
    let mut stream = Vec::new();
    for i in 0..1000 {
        stream.extend_from_slice(
            format!("https://zw.example.gov.cn/r?n=20250101-{i:06}&c=ABCDEF\r\n").as_bytes(),
        );
    }
    let mut table = Table::new(&["scanner Framer::push", "bytes", "median", "p90", "rate"]);
    for terminator in [Terminator::CrLf, Terminator::Auto] {
        let config = FramerConfig {
            terminator,
            ..FramerConfig::default()
        };
        let stats = measure(settings, 5, || -> Result<(), &'static str> {
            let mut framer = Framer::new(config);
            let mut codes = 0usize;
            for chunk in black_box(&stream).chunks(64) {
                codes += framer
                    .push(chunk)
                    .iter()
                    .filter(|item| matches!(item, FrameItem::Code(_)))
                    .count();
            }
            if codes == 1000 {
                Ok(())
            } else {
                Err("the framer did not return 1000 codes")
            }
        })?;
        table.row(vec![
            format!("{terminator:?}, 64-byte chunks"),
            stream.len().to_string(),
            us(stats.median),
            us(stats.p90),
            mib_per_s(stream.len(), stats.median),
        ]);
    }
    table.print();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Document camera

/// Goal for one page, from the camera's still to the encoded page and thumbnail.
const PAGE_GOAL: Duration = Duration::from_millis(1500);

fn camera(settings: &Settings) -> BenchResult {
    use hardware::camera::DocumentScene;
    use hardware::camera::page::{self, Chroma, PageSettings, edges, encode, flatten};

    // Each run takes a good part of a second: at most 10 runs, whatever BENCH_RUNS says.
    let settings = &Settings {
        runs: settings.runs.min(10),
        warmup: 1,
        filters: Vec::new(),
    };
    let scene = DocumentScene::a4_on_desk(2592, 1944, 1);
    let frame = scene.mjpeg_frame(85);
    let page_settings = PageSettings::default();
    let still = frame.to_rgb()?;
    let quad = edges::find_page(&still).ok_or("no page found in the emulated still")?;
    let size = flatten::output_size(&quad, &page_settings);
    let flat = flatten::flatten(&still, &quad, size);

    let mut table = Table::new(&[
        "camera: one page, 2592×1944 MJPEG still → 1654×2339",
        "median",
        "p10",
        "p90",
    ]);
    let mut row = |name: &str, stats: Stats| {
        table.row(vec![
            name.to_owned(),
            ms(stats.median),
            ms(stats.p10),
            ms(stats.p90),
        ]);
    };
    row(
        "decode the MJPEG still",
        measure(settings, 1, || frame.to_rgb().map(drop))?,
    );
    row(
        "find the page's edges",
        measure(settings, 1, || {
            edges::find_page(&still).map(drop).ok_or("no page")
        })?,
    );
    row(
        "flatten (perspective, bilinear)",
        measure(settings, 1, || -> Result<(), &str> {
            black_box(flatten::flatten(&still, &quad, size));
            Ok(())
        })?,
    );
    row(
        "encode within 500 KB",
        measure(settings, 1, || {
            encode::within_budget(&flat, &page_settings).map(drop)
        })?,
    );
    row(
        "thumbnail",
        measure(settings, 1, || encode::thumbnail(&flat, 240).map(drop))?,
    );
    let total = measure(settings, 1, || -> BenchResult {
        page::process(&frame.to_rgb()?, &page_settings)?;
        Ok(())
    })?;
    row("the whole page (decode + process)", total);
    table.print();
    println!(
        "goal: a page in ≤ {} ms on this machine: {}",
        PAGE_GOAL.as_millis(),
        verdict(total.median <= PAGE_GOAL)
    );

    // What each setting keeps: bytes, the seal's red pixels still red, and the page's luma
    // PSNR against the flattened page before encoding (JPEG's loss alone).
    let mut table = Table::new(&[
        "chroma",
        "quality",
        "page bytes",
        "seal pixels still red",
        "luma PSNR",
    ]);
    let seal_red = |p: &image::Rgb<u8>| {
        let [r, g, b] = p.0;
        i32::from(r) - i32::from(g.max(b)) > 90
    };
    let seal_pixels: Vec<(u32, u32)> = flat
        .enumerate_pixels()
        .filter(|(_, _, p)| seal_red(p))
        .map(|(x, y, _)| (x, y))
        .collect();
    for chroma in [Chroma::Full, Chroma::Quarter] {
        for quality in [95u8, 85, 75, 65, 50] {
            let bytes = encode::encode(&flat, quality, chroma, 200)?;
            let decoded = image::load_from_memory(&bytes)?.into_rgb8();
            let kept = seal_pixels
                .iter()
                .filter(|&&(x, y)| seal_red(decoded.get_pixel(x, y)))
                .count();
            table.row(vec![
                format!("{chroma:?}"),
                quality.to_string(),
                format!("{} KB", bytes.len() / 1024),
                format!(
                    "{:.1} %",
                    100.0 * kept as f64 / seal_pixels.len().max(1) as f64
                ),
                format!("{:.1} dB", luma_psnr(&flat, &decoded)),
            ]);
        }
    }
    table.print();
    println!("({} seal pixels in the flattened page)", seal_pixels.len());
    Ok(())
}

fn luma_psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let luma = |p: &image::Rgb<u8>| {
        0.299 * f64::from(p.0[0]) + 0.587 * f64::from(p.0[1]) + 0.114 * f64::from(p.0[2])
    };
    let mse = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (luma(p) - luma(q)).powi(2))
        .sum::<f64>()
        / (a.width() as f64 * a.height() as f64);
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}
