//! A process's CPU time and resident memory from `/proc/<pid>/stat` and `/proc/<pid>/status`,
//! and a watcher that samples them through a run: CPU seconds spent in the run (not since the
//! process started) and the largest resident set seen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

/// Linux reports `/proc` CPU times in USER_HZ, which is 100 on every architecture it runs on
/// (what `sysconf(_SC_CLK_TCK)` returns).
const TICKS_PER_SECOND: u64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read {path}: is process {pid} running?")]
    Read {
        pid: u32,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} does not read as Linux writes it")]
    Format(String),
}

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// User plus system time since the process started.
    pub cpu: Duration,
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most it was ever resident (`VmHWM`).
    pub peak_rss_kib: u64,
}

fn read(pid: u32, file: &str) -> Result<String, ProcError> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::read_to_string(&path).map_err(|source| ProcError::Read { pid, path, source })
}

/// Reads process `pid` now.
pub fn sample(pid: u32) -> Result<Sample, ProcError> {
    let stat = read(pid, "stat")?;
    let cpu = cpu_of(&stat).ok_or_else(|| ProcError::Format(format!("/proc/{pid}/stat")))?;
    let status = read(pid, "status")?;
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .ok_or_else(|| ProcError::Format(format!("{field} in /proc/{pid}/status")))
    };
    Ok(Sample {
        cpu,
        rss_kib: kib("VmRSS:")?,
        peak_rss_kib: kib("VmHWM:")?,
    })
}

/// utime + stime from a `stat` line. The command name may hold spaces and parentheses, so
/// fields are counted after its last `)`: utime and stime are the 12th and 13th after it.
fn cpu_of(stat: &str) -> Option<Duration> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let total = ticks(11)? + ticks(12)?;
    Some(Duration::from_millis(total * 1000 / TICKS_PER_SECOND))
}

/// What a process used during a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    pub pid: u32,
    pub cpu_seconds: f64,
    /// CPU seconds per second of the run: 1.0 is one core busy throughout.
    pub cores: f64,
    /// The largest resident set sampled during the run.
    pub peak_rss_mib: f64,
    /// The process's own high-water mark (since it started).
    pub lifetime_peak_rss_mib: f64,
}

impl Usage {
    /// Several processes as one (the instances of one server): CPU and memory added up; the
    /// first one's pid.
    pub fn sum(usages: impl IntoIterator<Item = Usage>) -> Option<Usage> {
        usages.into_iter().reduce(|total, one| Usage {
            pid: total.pid,
            cpu_seconds: total.cpu_seconds + one.cpu_seconds,
            cores: total.cores + one.cores,
            peak_rss_mib: total.peak_rss_mib + one.peak_rss_mib,
            lifetime_peak_rss_mib: total.lifetime_peak_rss_mib + one.lifetime_peak_rss_mib,
        })
    }
}

/// Samples a process every `every` until [`Watch::finish`].
#[derive(Debug)]
pub struct Watch {
    pid: u32,
    first: Sample,
    started: tokio::time::Instant,
    peak_rss_kib: Arc<AtomicU64>,
    sampler: JoinHandle<()>,
}

impl Watch {
    pub fn start(pid: u32, every: Duration) -> Result<Self, ProcError> {
        let first = sample(pid)?;
        let peak_rss_kib = Arc::new(AtomicU64::new(first.rss_kib));
        let peak = Arc::clone(&peak_rss_kib);
        let sampler = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                match sample(pid) {
                    Ok(now) => {
                        peak.fetch_max(now.rss_kib, Ordering::Relaxed);
                    }
                    Err(_) => return,
                }
            }
        });
        Ok(Self {
            pid,
            first,
            started: tokio::time::Instant::now(),
            peak_rss_kib,
            sampler,
        })
    }

    /// The usage from the start until now; `None` if the process is gone.
    pub fn finish(self) -> Option<Usage> {
        self.sampler.abort();
        let last = sample(self.pid).ok()?;
        let seconds = self.started.elapsed().as_secs_f64();
        let cpu = last.cpu.saturating_sub(self.first.cpu).as_secs_f64();
        let peak = self.peak_rss_kib.load(Ordering::Relaxed).max(last.rss_kib);
        Some(Usage {
            pid: self.pid,
            cpu_seconds: cpu,
            cores: cpu / seconds.max(f64::MIN_POSITIVE),
            peak_rss_mib: peak as f64 / 1024.0,
            lifetime_peak_rss_mib: last.peak_rss_kib as f64 / 1024.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "4242 (tokio (worker) 1) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 130 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_of(stat), Some(Duration::from_millis(3800)));
        assert_eq!(cpu_of("garbage"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = sample(std::process::id()).unwrap();
        assert!(me.rss_kib > 0);
        assert!(me.peak_rss_kib >= me.rss_kib);
        assert!(sample(u32::MAX).is_err());
    }
}
