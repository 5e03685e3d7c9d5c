//! A log-linear latency histogram in the manner of HdrHistogram, written here because the
//! workspace has none and the figures need p99.9 over millions of samples without keeping them.
//!
//! Values are microseconds. Below 128 µs every value has its own bucket; above, each power of
//! two is split into 64 buckets, so a quantile is off by at most 1/64 (1.6 %) of its value.
//! Buckets are atomic counters: thousands of booth tasks record without a lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are exact.
const LINEAR: u64 = 2 * SUB;
/// Values from 2^40 µs (12.7 days) on share the last bucket.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = (LINEAR + (MAX_EXP - SUB_BITS - 1) as u64 * SUB) as usize;

/// Counts of durations, safe to record into from many tasks at once.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

fn index_of(us: u64) -> usize {
    if us < LINEAR {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros();
    if exp >= MAX_EXP {
        return BUCKETS - 1;
    }
    let shift = exp - SUB_BITS;
    let top = us >> shift;
    (LINEAR + u64::from(exp - SUB_BITS - 1) * SUB + (top - SUB)) as usize
}

/// The highest value that lands in bucket `index`: quantiles are reported on the safe side.
fn highest_in(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let above = index - LINEAR;
    let exp = above / SUB + u64::from(SUB_BITS) + 1;
    let top = SUB + above % SUB;
    let shift = exp - u64::from(SUB_BITS);
    (top << shift) + (1 << shift) - 1
}

impl Histogram {
    pub fn record(&self, value: Duration) {
        let us = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.counts[index_of(us)].fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }

    pub fn mean(&self) -> Duration {
        let count = self.count();
        if count == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.sum_us.load(Ordering::Relaxed) / count)
    }

    /// The value at quantile `q` (0–1): the smallest bucket bound with at least `q` of the
    /// samples at or below it, never above the largest value recorded. Zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        // Nearest rank: the ceil(q·n)-th smallest sample, at least the first.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count.load(Ordering::Relaxed);
            if seen >= rank {
                let max = self.max_us.load(Ordering::Relaxed);
                return Duration::from_micros(highest_in(index).min(max));
            }
        }
        self.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order_within_their_precision() {
        let mut last = 0;
        for us in (0..5_000).chain((5_000..100_000_000).step_by(997)) {
            let index = index_of(us);
            assert!(index >= last, "{us} µs went back to bucket {index}");
            last = index;
            let high = highest_in(index);
            assert!(high >= us, "{us} µs is above its bucket's bound {high}");
            assert!(
                (high - us) as f64 <= us as f64 / SUB as f64,
                "{us} µs: bound {high} is more than 1/64 away"
            );
        }
        assert_eq!(index_of(u64::MAX), BUCKETS - 1);
        assert!(index_of((1 << MAX_EXP) - 1) < BUCKETS);
    }

    #[test]
    fn quantiles_match_the_samples() {
        let histogram = Histogram::default();
        for ms in 1..=1000 {
            histogram.record(Duration::from_millis(ms));
        }
        let near = |q: f64, ms: u64| {
            let got = histogram.quantile(q).as_secs_f64() * 1e3;
            assert!(
                (got - ms as f64).abs() <= ms as f64 / 60.0,
                "q{q}: {got} ms, expected about {ms}"
            );
        };
        near(0.5, 500);
        near(0.99, 990);
        near(0.999, 999);
        assert_eq!(histogram.quantile(1.0), Duration::from_millis(1000));
        assert_eq!(histogram.count(), 1000);
        assert_eq!(histogram.max(), Duration::from_millis(1000));
        assert_eq!(histogram.mean(), Duration::from_micros(500_500));
    }

    #[test]
    fn a_slow_tail_shows_in_the_high_quantiles_only() {
        let histogram = Histogram::default();
        for _ in 0..9_990 {
            histogram.record(Duration::from_millis(2));
        }
        for _ in 0..10 {
            histogram.record(Duration::from_millis(400));
        }
        assert!(histogram.quantile(0.99) < Duration::from_millis(3));
        assert!(histogram.quantile(0.9995) >= Duration::from_millis(390));
        assert_eq!(Histogram::default().quantile(0.99), Duration::ZERO);
    }
}
