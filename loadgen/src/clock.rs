//! Booth time: the simulated clock booths keep their schedule by, running `compress` times
//! faster than the real one (`--compress 60`: a booth-minute lasts one real second), and the
//! day's shape of submissions with its morning peak.
//!
//! Only schedules run on booth time. Signatures, `created_at` and `Retry-After` use the real
//! clock: the server checks them against its own.

use std::time::Duration;

use tokio::time::Instant;

const DAY_S: f64 = 86_400.0;

/// Submissions per hour of the day, relative: nothing at night, most of the day's between
/// 8 and 12 (villagers come before the fields and the market), a smaller afternoon hump.
/// 60 % of a day's submissions fall in 08:00–12:00, 20 % in 09:00–10:00 alone.
pub const HOURLY_WEIGHTS: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, // 00–06
    2.0, 8.0, 12.0, 10.0, 6.0, // 07–11
    2.0, 3.0, 5.0, 5.0, 4.0, 2.0, 1.0, // 12–18
    0.0, 0.0, 0.0, 0.0, 0.0, // 19–23
];

/// Real time ↔ booth time.
#[derive(Debug, Clone, Copy)]
pub struct BoothClock {
    started: Instant,
    /// Booth seconds since midnight when the run started.
    start_of_day_s: f64,
    compress: f64,
}

impl BoothClock {
    /// A clock at `start_hour` (0–24) now, `compress` times faster than real time.
    pub fn new(start_hour: f64, compress: f64) -> Self {
        Self {
            started: Instant::now(),
            start_of_day_s: start_hour.rem_euclid(24.0) * 3600.0,
            compress: compress.max(f64::MIN_POSITIVE),
        }
    }

    pub fn compress(&self) -> f64 {
        self.compress
    }

    /// How long `booth` time lasts in real time.
    pub fn real(&self, booth: Duration) -> Duration {
        booth.div_f64(self.compress)
    }

    /// Booth seconds since the midnight before the run began, at real instant `at`.
    pub fn booth_seconds(&self, at: Instant) -> f64 {
        self.start_of_day_s
            + at.saturating_duration_since(self.started).as_secs_f64() * self.compress
    }

    /// The real instant at which the booth clock reads `booth_seconds`.
    pub fn instant_of(&self, booth_seconds: f64) -> Instant {
        let ahead = ((booth_seconds - self.start_of_day_s) / self.compress).max(0.0);
        self.started + Duration::from_secs_f64(ahead)
    }
}

/// When submissions happen: `per_day` per booth, spread over the day by [`HOURLY_WEIGHTS`].
#[derive(Debug, Clone, Copy)]
pub struct DayProfile {
    per_day: f64,
}

impl DayProfile {
    pub fn new(per_day: f64) -> Self {
        Self {
            per_day: per_day.max(0.0),
        }
    }

    fn weight_sum() -> f64 {
        HOURLY_WEIGHTS.iter().sum()
    }

    /// Submissions per booth-second at booth time `booth_seconds`.
    pub fn rate(&self, booth_seconds: f64) -> f64 {
        let hour = (booth_seconds.rem_euclid(DAY_S) / 3600.0) as usize;
        self.per_day * HOURLY_WEIGHTS[hour.min(23)] / Self::weight_sum() / 3600.0
    }

    fn peak_rate(&self) -> f64 {
        let peak = HOURLY_WEIGHTS.iter().copied().fold(0.0, f64::max);
        self.per_day * peak / Self::weight_sum() / 3600.0
    }

    /// The booth time of the next submission after `after` (a Poisson process whose rate
    /// follows the day, drawn by thinning); `None` when there are none.
    pub fn next_after(&self, rng: &mut fastrand::Rng, after: f64) -> Option<f64> {
        let peak = self.peak_rate();
        if peak <= 0.0 {
            return None;
        }
        let mut at = after;
        loop {
            // An exponential gap at the peak rate; kept where the day's rate says so.
            at += -(1.0 - rng.f64()).ln() / peak;
            if rng.f64() * peak < self.rate(at) {
                return Some(at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_has_its_submissions_and_most_in_the_morning() {
        let profile = DayProfile::new(5.0);
        let mut rng = fastrand::Rng::with_seed(42);
        let booths = 2_000;
        let mut per_hour = [0u32; 24];
        let mut total = 0;
        for _ in 0..booths {
            let mut at = 0.0;
            while let Some(next) = profile.next_after(&mut rng, at) {
                if next >= DAY_S {
                    break;
                }
                per_hour[(next / 3600.0) as usize] += 1;
                total += 1;
                at = next;
            }
        }
        let per_booth = f64::from(total) / f64::from(booths);
        assert!((4.7..5.3).contains(&per_booth), "{per_booth} a day");
        let morning: u32 = per_hour[8..12].iter().sum();
        let share = f64::from(morning) / f64::from(total);
        assert!((0.55..0.65).contains(&share), "morning share {share}");
        assert_eq!(per_hour[0..7].iter().sum::<u32>(), 0, "nobody at night");
        assert_eq!(DayProfile::new(0.0).next_after(&mut rng, 0.0), None);
    }

    #[test]
    fn booth_time_runs_compress_times_faster() {
        let clock = BoothClock::new(9.0, 60.0);
        assert_eq!(clock.real(Duration::from_secs(60)), Duration::from_secs(1));
        let at = clock.instant_of(9.0 * 3600.0 + 120.0);
        assert!((clock.booth_seconds(at) - (9.0 * 3600.0 + 120.0)).abs() < 0.01);
    }
}
