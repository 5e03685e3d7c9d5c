//! When a simulated booth tries again: `kiosk-core`'s rule (exponential with full jitter,
//! `rand(0, min(cap, base·2^n))`, when nothing says how long; after `Retry-After: s`, a random
//! wait in `[s, s + min(s, cap)]`), with the curve shortened by the compression factor. `Retry-After` is not shortened: it is the real
//! server's real time.

use std::time::Duration;

/// The booth's curve in booth time, as `kiosk_core::sync::backoff::BackoffPolicy` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub base: Duration,
    pub cap: Duration,
    /// A longer `Retry-After` is taken as this.
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(5 * 60),
            max_retry_after: Duration::from_secs(60 * 60),
        }
    }
}

impl Policy {
    /// The curve in real time when a booth-second lasts `1/compress` s.
    pub fn compressed(self, compress: f64) -> Self {
        let shrink = |d: Duration| d.div_f64(compress.max(1.0));
        Self {
            base: shrink(self.base),
            cap: shrink(self.cap),
            max_retry_after: self.max_retry_after,
        }
    }
}

/// Consecutive failures of one booth.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: Policy,
    failures: u32,
}

impl Backoff {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            failures: 0,
        }
    }

    /// Counts a failure and draws the wait before the next attempt.
    pub fn next_delay(
        &mut self,
        rng: &mut fastrand::Rng,
        retry_after: Option<Duration>,
    ) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        let ceiling = self
            .policy
            .base
            .checked_mul(factor)
            .unwrap_or(self.policy.cap)
            .min(self.policy.cap);
        self.failures = self.failures.saturating_add(1);
        match retry_after {
            // The server's word, spread over one more such window; never doubled.
            Some(asked) => {
                let floor = asked.min(self.policy.max_retry_after);
                floor + up_to(rng, floor.min(self.policy.cap))
            }
            None => up_to(rng, ceiling),
        }
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A uniformly random wait in `[0, ceiling]`.
pub fn up_to(rng: &mut fastrand::Rng, ceiling: Duration) -> Duration {
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.u64(0..=micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_jittered_up_to_the_cap_and_retry_after_is_a_floor() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut backoff = Backoff::new(Policy::default());
        for n in 0..20u32 {
            let ceiling = Duration::from_secs(1 << n.min(9)).min(Duration::from_secs(300));
            assert!(backoff.next_delay(&mut rng, None) <= ceiling, "attempt {n}");
        }
        assert_eq!(backoff.failures(), 20);
        backoff.reset();
        assert!(backoff.next_delay(&mut rng, None) <= Duration::from_secs(1));
        let floored = backoff.next_delay(&mut rng, Some(Duration::from_secs(30)));
        assert!(floored >= Duration::from_secs(30));
        for _ in 0..20 {
            let told = backoff.next_delay(&mut rng, Some(Duration::from_secs(5)));
            assert!(told >= Duration::from_secs(5) && told <= Duration::from_secs(10));
        }
        let bounded = backoff.next_delay(&mut rng, Some(Duration::from_secs(86_400)));
        assert!(bounded >= Duration::from_secs(3600) && bounded <= Duration::from_secs(3900));
    }

    #[test]
    fn compression_shortens_the_curve_but_not_the_servers_retry_after() {
        let policy = Policy::default().compressed(60.0);
        assert_eq!(policy.cap, Duration::from_secs(5));
        let mut rng = fastrand::Rng::with_seed(1);
        let mut backoff = Backoff::new(policy);
        for _ in 0..10 {
            assert!(backoff.next_delay(&mut rng, None) <= Duration::from_secs(5));
        }
        assert!(
            backoff.next_delay(&mut rng, Some(Duration::from_secs(9))) >= Duration::from_secs(9)
        );
    }
}
