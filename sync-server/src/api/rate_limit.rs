//! The limit on guessing enrollment codes: attempts per client address and in total, over a
//! sliding window. An attempt counts when it starts (so a burst of concurrent guesses cannot
//! slip past the check) and is refunded when it succeeds, so only failures use up the budget.
//!
//! The per-address key is the TCP peer. Behind a reverse proxy every attempt shares the
//! proxy's address and the per-address limit acts as a second global one; that is the safe
//! side (enrollment is rare), and it never trusts client-supplied forwarding headers.
//! The global limit means an attacker can hold up enrollment for everyone while attacking;
//! it cannot make a guess succeed.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits for [`EnrollLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrollLimits {
    pub per_address: usize,
    pub global: usize,
    pub window: Duration,
}

impl Default for EnrollLimits {
    fn default() -> Self {
        Self {
            per_address: 10,
            global: 60,
            window: Duration::from_secs(60),
        }
    }
}

/// An admitted attempt; call [`EnrollLimiter::succeeded`] with it when the code worked.
#[derive(Debug)]
pub struct Attempt {
    address: Option<IpAddr>,
    at: Instant,
}

#[derive(Debug)]
pub struct EnrollLimiter {
    limits: EnrollLimits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    global: VecDeque<Instant>,
    by_address: HashMap<Option<IpAddr>, VecDeque<Instant>>,
}

impl EnrollLimiter {
    pub fn new(limits: EnrollLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    /// Admits an attempt, or says how many seconds to wait.
    pub fn admit(&self, address: Option<IpAddr>) -> Result<Attempt, u64> {
        let now = Instant::now();
        let window = self.limits.window;
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let forget_old = |times: &mut VecDeque<Instant>| {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                times.pop_front();
            }
        };
        forget_old(&mut state.global);
        state.by_address.retain(|_, times| {
            forget_old(times);
            !times.is_empty()
        });
        let wait_for = |times: &VecDeque<Instant>| {
            let oldest = times.front().copied().unwrap_or(now);
            (window.saturating_sub(now.duration_since(oldest)).as_secs() + 1).max(1)
        };
        let mine = state.by_address.entry(address).or_default();
        if mine.len() >= self.limits.per_address {
            return Err(wait_for(mine));
        }
        mine.push_back(now);
        if state.global.len() >= self.limits.global {
            let wait = wait_for(&state.global);
            if let Some(mine) = state.by_address.get_mut(&address) {
                mine.pop_back();
            }
            return Err(wait);
        }
        state.global.push_back(now);
        Ok(Attempt { address, at: now })
    }

    /// Gives a successful attempt back.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the attempt makes a second refund impossible"
    )]
    pub fn succeeded(&self, attempt: Attempt) {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let remove = |times: &mut VecDeque<Instant>| {
            if let Some(index) = times.iter().position(|t| *t == attempt.at) {
                times.remove(index);
            }
        };
        remove(&mut state.global);
        if let Some(times) = state.by_address.get_mut(&attempt.address) {
            remove(times);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_address: usize, global: usize) -> EnrollLimiter {
        EnrollLimiter::new(EnrollLimits {
            per_address,
            global,
            window: Duration::from_secs(3600),
        })
    }

    #[test]
    fn failures_per_address_run_out_and_successes_are_refunded() {
        let limiter = limiter(2, 100);
        let me = Some(IpAddr::from([10, 0, 0, 1]));
        let first = limiter.admit(me).unwrap();
        limiter.succeeded(first);
        limiter.admit(me).unwrap();
        limiter.admit(me).unwrap();
        let wait = limiter.admit(me).unwrap_err();
        assert!((1..=3600).contains(&wait), "{wait}");
        assert!(limiter.admit(Some(IpAddr::from([10, 0, 0, 2]))).is_ok());
    }

    #[test]
    fn the_global_limit_holds_across_addresses() {
        let limiter = limiter(10, 3);
        for last in 1..=3 {
            limiter.admit(Some(IpAddr::from([10, 0, 0, last]))).unwrap();
        }
        assert!(limiter.admit(Some(IpAddr::from([10, 0, 0, 9]))).is_err());
    }
}
