//! When to try again after a failure: exponential backoff with full jitter
//! (`rand(0, min(cap, base·2^n))`) when nothing says how long to wait; when the server said
//! `Retry-After: s`, a random wait in `[s, 2s]` (the spread at most the cap), however many
//! times it said so.
//!
//! The server's answer wins over the curve: a server that answers is up and knows its load,
//! and a booth that kept doubling past what it was told stayed away long after the server had
//! room. In a storm of 14,000 booths told "5 s" again and again, the doubling left the server
//! nearly idle for minutes while the last booths waited out 5-minute backoffs
//! (docs/benchmarks.md, "A reconnect storm").
//!
//! Full jitter applies to the very first retry too: when a village's power comes back, every
//! booth in the county reconnects in the same second unless each one waits its own random time.

use std::time::Duration;

/// The shape of the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// A `Retry-After` longer than this is taken as this: a misconfigured server must not park
    /// a booth for a week.
    pub max_retry_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(5 * 60),
            max_retry_after: Duration::from_secs(60 * 60),
        }
    }
}

/// How long to wait before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    /// The whole wait.
    pub total: Duration,
    /// The part the server asked for: nothing may cut the wait shorter than this.
    pub floor: Duration,
}

/// Consecutive failures and the random source; one per thing that is retried.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    failures: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// Seeded from the OS, so booths do not share a sequence.
    pub fn new(policy: BackoffPolicy) -> Self {
        Self::with_rng(policy, fastrand::Rng::new())
    }

    /// With a given random source (tests use a seed).
    pub fn with_rng(policy: BackoffPolicy, rng: fastrand::Rng) -> Self {
        Self {
            policy,
            failures: 0,
            rng,
        }
    }

    /// Records one more failure and returns the wait before the next attempt.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Delay {
        let ceiling = ceiling(self.policy, self.failures);
        self.failures = self.failures.saturating_add(1);
        match retry_after {
            Some(asked) => {
                let floor = asked.min(self.policy.max_retry_after);
                let spread = random_up_to(&mut self.rng, floor.min(self.policy.cap));
                Delay {
                    total: floor + spread,
                    floor,
                }
            }
            None => Delay {
                total: random_up_to(&mut self.rng, ceiling),
                floor: Duration::ZERO,
            },
        }
    }

    /// A random wait below `ceiling`, for spreading one-off events (the first try after a
    /// restart, the resume after an outage) without counting a failure.
    pub fn jitter(&mut self, ceiling: Duration) -> Duration {
        random_up_to(&mut self.rng, ceiling)
    }

    /// Back to the start after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn policy(&self) -> BackoffPolicy {
        self.policy
    }
}

/// `min(cap, base·2^n)`, without overflowing for large `n`.
pub fn ceiling(policy: BackoffPolicy, failures: u32) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    policy
        .base
        .checked_mul(factor)
        .unwrap_or(policy.cap)
        .min(policy.cap)
}

fn random_up_to(rng: &mut fastrand::Rng, ceiling: Duration) -> Duration {
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.u64(0..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BackoffPolicy {
        BackoffPolicy::default()
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let secs = |n| ceiling(policy(), n).as_secs();
        assert_eq!(
            (0..10).map(secs).collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
        );
        assert_eq!(secs(40), 300);
        assert_eq!(secs(u32::MAX), 300);
    }

    #[test]
    fn every_delay_is_jittered_within_the_ceiling_including_the_first() {
        let mut backoff = Backoff::with_rng(policy(), fastrand::Rng::with_seed(7));
        for n in 0..30 {
            let delay = backoff.next_delay(None);
            assert!(
                delay.total <= ceiling(policy(), n),
                "attempt {n}: {delay:?}"
            );
            assert_eq!(delay.floor, Duration::ZERO);
        }
        assert_eq!(backoff.failures(), 30);
        // Full jitter: the waits spread over the whole range instead of clustering at the top.
        let mut backoff = Backoff::with_rng(policy(), fastrand::Rng::with_seed(11));
        let firsts: Vec<Duration> = (0..200)
            .map(|_| {
                backoff.reset();
                backoff.next_delay(None).total
            })
            .collect();
        assert!(firsts.iter().any(|d| *d < Duration::from_millis(250)));
        assert!(firsts.iter().any(|d| *d > Duration::from_millis(750)));
    }

    #[test]
    fn two_booths_with_different_seeds_wait_differently() {
        let mut a = Backoff::with_rng(policy(), fastrand::Rng::with_seed(1));
        let mut b = Backoff::with_rng(policy(), fastrand::Rng::with_seed(2));
        let waits = |backoff: &mut Backoff| {
            (0..8)
                .map(|_| backoff.next_delay(None).total)
                .collect::<Vec<_>>()
        };
        assert_ne!(waits(&mut a), waits(&mut b));
    }

    #[test]
    fn retry_after_is_honoured_spread_over_one_more_window_and_bounded() {
        let mut backoff = Backoff::with_rng(policy(), fastrand::Rng::with_seed(3));
        let asked = Duration::from_secs(30);
        let mut waits = Vec::new();
        // However often the server says it, the booth comes back in [30 s, 60 s]: it does not
        // double past what it was told.
        for _ in 0..40 {
            let delay = backoff.next_delay(Some(asked));
            assert_eq!(delay.floor, asked);
            assert!(
                delay.total >= asked && delay.total <= 2 * asked,
                "{delay:?}"
            );
            waits.push(delay.total);
        }
        assert!(
            waits.iter().any(|w| *w < Duration::from_secs(40)),
            "spread low"
        );
        assert!(
            waits.iter().any(|w| *w > Duration::from_secs(50)),
            "spread high"
        );
        let absurd = backoff.next_delay(Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(absurd.floor, Duration::from_secs(3_600));
        assert!(absurd.total >= absurd.floor);
        assert!(absurd.total <= absurd.floor + policy().cap);
        // Without a Retry-After the curve goes on from the failures counted.
        assert!(backoff.next_delay(None).total <= policy().cap);
    }

    #[test]
    fn a_success_starts_over() {
        let mut backoff = Backoff::with_rng(policy(), fastrand::Rng::with_seed(5));
        for _ in 0..12 {
            backoff.next_delay(None);
        }
        backoff.reset();
        assert!(backoff.next_delay(None).total <= Duration::from_secs(1));
    }
}
