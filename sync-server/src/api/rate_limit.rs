//! The limit on guessing enrollment codes: attempts per client address and in total, over a
//! sliding window. An attempt counts when it starts (so a burst of concurrent guesses cannot
//! slip past the check) and is refunded when it succeeds, so only failures use up the budget.
//!
//! The per-address key is the TCP peer. Behind a reverse proxy every attempt shares the
//! proxy's address and the per-address limit acts as a second global one; that is the safe
//! side (enrollment is rare), and it never trusts client-supplied forwarding headers.
//! The global limit means an attacker can hold up enrollment for everyone while attacking;
//! it cannot make a guess succeed.
//!
//! Behind [`EnrollLimit`]: [`EnrollLimiter`] counts in memory, for one server process;
//! `crate::shared::postgres::PgEnrollLimiter` counts in the PostgreSQL database, so several
//! instances share one budget (with two, alternating between them would double it).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::StoreFuture;

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

/// The future of a refund. It cannot fail: an implementation that could not give an attempt
/// back logs why and leaves it counted, which only errs on the safe side (the window ends it).
pub type Refund<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The guessing limit on enrollment codes, shared by whatever serves `POST /api/v1/enroll`.
/// An error from [`EnrollLimit::admit`] means the attempts could not be counted: the attempt
/// must be refused.
pub trait EnrollLimit: Send + Sync + std::fmt::Debug {
    /// Admits an attempt, or says how many seconds to wait.
    fn admit(&self, address: Option<IpAddr>) -> StoreFuture<'_, Result<Attempt, u64>>;

    /// Gives a successful attempt back.
    fn succeeded(&self, attempt: Attempt) -> Refund<'_>;
}

/// An admitted attempt; call [`EnrollLimit::succeeded`] with it when the code worked.
#[derive(Debug)]
pub struct Attempt {
    address: Option<IpAddr>,
    mark: Mark,
}

/// Which counted attempt to give back: each implementation knows its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// [`EnrollLimiter`]'s: when it was counted.
    At(Instant),
    /// A database row's id.
    Row(i64),
}

impl Attempt {
    pub(crate) fn new(address: Option<IpAddr>, mark: Mark) -> Self {
        Self { address, mark }
    }

    pub(crate) fn mark(&self) -> Mark {
        self.mark
    }
}

/// Seconds to wait when the oldest attempt counted in a full window was `elapsed` ago: until
/// it leaves the window, rounded up, at least 1.
pub(crate) fn wait_s(window: Duration, elapsed: Duration) -> u64 {
    (window.saturating_sub(elapsed).as_secs() + 1).max(1)
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
            wait_s(window, now.duration_since(oldest))
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
        Ok(Attempt::new(address, Mark::At(now)))
    }

    /// Gives a successful attempt back.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the attempt makes a second refund impossible"
    )]
    pub fn succeeded(&self, attempt: Attempt) {
        // Only this limiter's own attempts carry an instant; there is nothing else to give back.
        let Mark::At(at) = attempt.mark else { return };
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let remove = |times: &mut VecDeque<Instant>| {
            if let Some(index) = times.iter().position(|t| *t == at) {
                times.remove(index);
            }
        };
        remove(&mut state.global);
        if let Some(times) = state.by_address.get_mut(&attempt.address) {
            remove(times);
        }
    }
}

impl EnrollLimit for EnrollLimiter {
    fn admit(&self, address: Option<IpAddr>) -> StoreFuture<'_, Result<Attempt, u64>> {
        Box::pin(std::future::ready(Ok(Self::admit(self, address))))
    }

    fn succeeded(&self, attempt: Attempt) -> Refund<'_> {
        Self::succeeded(self, attempt);
        Box::pin(std::future::ready(()))
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
