//! Wrong-PIN limits: after [`MAX_TRIES`] wrong PINs in a row the entry is locked for
//! [`LOCKOUT`]; the count starts over after the lock-out or a right PIN. Kept in memory: a
//! restart clears it, which at a booth needs the power switch in a locked cabinet.

use std::time::{Duration, Instant};

pub const MAX_TRIES: u32 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PinGuard {
    failures: u32,
    locked_until: Option<Instant>,
}

/// What the PIN page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A PIN may be tried.
    Open,
    /// The last PIN was wrong; this many tries remain before the lock-out.
    Wrong { tries_left: u32 },
    /// No PIN is checked until the lock-out ends (in whole minutes, rounded up).
    Locked { minutes_left: u64 },
}

impl PinGuard {
    pub fn verdict(&self, now: Instant) -> Verdict {
        match self.locked_until {
            Some(until) if until > now => Verdict::Locked {
                minutes_left: (until - now).as_secs().div_ceil(60).max(1),
            },
            Some(_) => Verdict::Open,
            None if self.failures > 0 => Verdict::Wrong {
                tries_left: MAX_TRIES - self.failures,
            },
            None => Verdict::Open,
        }
    }

    /// Counts a wrong PIN; the fifth in a row locks.
    pub fn failed(&mut self, now: Instant) -> Verdict {
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures >= MAX_TRIES {
            self.locked_until = Some(now + LOCKOUT);
        }
        self.verdict(now)
    }

    pub fn succeeded(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_pins_lock_for_five_minutes() {
        let mut guard = PinGuard::default();
        let start = Instant::now();
        assert_eq!(guard.verdict(start), Verdict::Open);
        for left in (1..MAX_TRIES).rev() {
            assert_eq!(guard.failed(start), Verdict::Wrong { tries_left: left });
        }
        assert_eq!(guard.failed(start), Verdict::Locked { minutes_left: 5 });
        let later = start + Duration::from_secs(4 * 60 + 30);
        assert_eq!(guard.verdict(later), Verdict::Locked { minutes_left: 1 });
        let after = start + LOCKOUT;
        assert_eq!(guard.verdict(after), Verdict::Open);
        // The count starts over after the lock-out.
        assert_eq!(
            guard.failed(after),
            Verdict::Wrong {
                tries_left: MAX_TRIES - 1
            }
        );
    }

    #[test]
    fn a_right_pin_clears_the_count() {
        let mut guard = PinGuard::default();
        let now = Instant::now();
        guard.failed(now);
        guard.failed(now);
        guard.succeeded();
        assert_eq!(guard.verdict(now), Verdict::Open);
    }
}
