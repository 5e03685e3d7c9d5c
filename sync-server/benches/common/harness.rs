//! The small self-written bench harness (no criterion, to keep builds short): numbers from the
//! environment, order statistics, plain text tables, and a scratch directory on the disk the
//! target directory lives on. Shared with `kiosk/benches/kiosk` through `#[path]`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A positive whole number from the environment, `default` when unset.
pub fn env_number(name: &str, default: usize) -> BenchResult<usize> {
    match env::var(name) {
        Ok(text) => Ok(text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name}={text} is not a positive whole number"))?),
        Err(_) => Ok(default),
    }
}

/// Section names given on the command line; cargo's own `--bench` is skipped.
pub fn selected_sections() -> Vec<String> {
    env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect()
}

pub fn selects(filters: &[String], section: &str) -> bool {
    filters.is_empty() || filters.iter().any(|f| section.contains(f.as_str()))
}

/// A fresh directory under `BENCH_DIR`, else cargo's target tmp dir: a real disk, the same one
/// for the code under test and its baseline (`/tmp` may be a tmpfs, whose fsync is free).
pub fn scratch_dir(prefix: &str) -> BenchResult<tempfile::TempDir> {
    let base = env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new().prefix(prefix).tempdir_in(base)?)
}

/// `df -PT` of `dir`, so the output says which file system the fsyncs hit.
pub fn describe_disk(dir: &Path) -> String {
    Command::new("df")
        .arg("-PT")
        .arg(dir)
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .nth(1)
                .map(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    format!(
                        "{} ({}) mounted on {}",
                        cols.first().unwrap_or(&"?"),
                        cols.get(1).unwrap_or(&"?"),
                        cols.last().unwrap_or(&"?")
                    )
                })
        })
        .unwrap_or_else(|| "unknown file system".to_owned())
}

/// Order statistics of one measurement's samples (nearest rank).
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub count: usize,
    pub median: Duration,
    pub p10: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub min: Duration,
    pub max: Duration,
}

impl Stats {
    /// `samples` must not be empty.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            count: samples.len(),
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            p99: at(0.99),
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }
}

#[path = "../../../bench-support/table.rs"]
mod table;
#[allow(unused_imports)] // each bench uses part of the harness
pub use table::Table;

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux
/// reports it in USER_HZ = 100 ticks per second); `None` elsewhere.
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it are plain numbers.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 counted from the state.
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn per_second(items: usize, took: Duration) -> f64 {
    items as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE)
}

pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// The median of `values` (the upper one of an even count); 0 for none.
pub fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
