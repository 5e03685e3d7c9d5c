//! Limits on guessing staff passwords, at login and on the own-password page, over a sliding
//! window. They key on the name as typed, never on whether an account has it, so a name that
//! exists and one that does not answer alike (the same statuses in the same order).
//!
//! There is no global limit: one that everybody shares is one an attacker can use up for
//! everybody (190 failures from 10 addresses once locked every handler out). Instead:
//!
//! - per address, over all names: one machine guessing many names;
//! - per (name, address): one machine guessing one account. Strict, and it blocks only that
//!   machine for that name;
//! - per name, over all addresses: many machines guessing one account. Softer, and when it is
//!   used up it blocks that name for every browser except one that has logged in as that
//!   name before (a *device*: a random cookie given at a successful login and remembered here
//!   for [`LoginLimits::device_lifetime`]). Such a browser has its own failure budget
//!   ([`LoginLimits::per_device`]) and is counted in nothing else, so a handler at their usual
//!   browser logs in while someone else hammers their account, even from the same office
//!   address. A new browser waits out the window.
//!
//! An attempt counts when it starts (so a burst of concurrent guesses cannot slip past the
//! check) and is refunded when the password was right.
//!
//! Behind [`LoginLimit`], in two forms: [`LoginLimiter`] keeps the counts in memory, for one
//! server process (devices are forgotten on restart; the browsers then count as new ones until
//! their next login); `crate::shared::postgres::PgLoginLimiter` keeps them in the PostgreSQL
//! database, so several instances share every budget (with two, a guesser alternating
//! between them would get twice the guesses) and honour each other's devices.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::api::rate_limit::Refund;
use crate::staff::token;
use crate::store::StoreFuture;

/// The limits of [`LoginLimiter`]; failures within `window` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub window: Duration,
    pub per_address: usize,
    pub per_name_and_address: usize,
    pub per_name: usize,
    pub per_device: usize,
    pub device_lifetime: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_address: 30,
            per_name_and_address: 5,
            per_name: 30,
            per_device: 10,
            device_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Why an attempt was not let through, and for how many seconds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This address failed too often, whatever the names.
    Address { wait_s: u64 },
    /// This name failed too often (from here, or from everywhere).
    Name { wait_s: u64 },
}

impl Refused {
    pub fn wait_s(self) -> u64 {
        match self {
            Self::Address { wait_s } | Self::Name { wait_s } => wait_s,
        }
    }
}

/// Seconds to wait when the oldest failure counted in a full window was `elapsed` ago: until it
/// leaves the window, at least 1.
pub(crate) fn wait_s(window: Duration, elapsed: Duration) -> u64 {
    window.saturating_sub(elapsed).as_secs().max(1)
}

/// The limits on guessing staff passwords, shared by the login and own-password pages.
///
/// An error from [`LoginLimit::admit`] means the failures could not be counted; the caller
/// must then refuse to check the password (fail closed), or every instance whose database
/// connection fails would become a place to guess without limit.
pub trait LoginLimit: Send + Sync + std::fmt::Debug {
    /// Admits a password check for `name` from `address`, by a browser that sent `device`
    /// (the device cookie, if any), or says why not.
    fn admit<'a>(
        &'a self,
        name: &'a str,
        address: Option<IpAddr>,
        device: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Attempt, Refused>>;

    /// The password was right: the attempt is given back, and this machine's failures for this
    /// name are forgotten (not its failures for other names, nor other machines' for this one).
    fn succeeded(&self, attempt: Attempt) -> Refund<'_>;

    /// The password could not be checked (the server was busy): the attempt counts for nothing.
    fn not_checked(&self, attempt: Attempt) -> Refund<'_>;

    /// Remembers the browser that just logged in as `name`; returns the cookie's secret.
    fn remember_device<'a>(&'a self, name: &'a str) -> StoreFuture<'a, String>;

    /// How long a device cookie is good for.
    fn device_lifetime(&self) -> Duration;
}

/// An admitted attempt; hand it to [`LoginLimit::succeeded`] when the password was right.
#[derive(Debug)]
pub struct Attempt {
    pub(crate) counted: Counted,
    pub(crate) mark: Mark,
}

/// Which budget an attempt was counted in.
#[derive(Debug)]
pub(crate) enum Counted {
    /// A known device's (its key: the digest of its cookie).
    Device(String),
    /// The address's, the name's and the pair's.
    Open {
        name: String,
        address: Option<IpAddr>,
    },
}

pub(crate) use crate::api::rate_limit::Mark;

/// Failure times per key, oldest first.
#[derive(Debug)]
struct Buckets<K>(HashMap<K, VecDeque<Instant>>);

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn forget_before(&mut self, cutoff: Option<Instant>) {
        let Some(cutoff) = cutoff else { return };
        self.0.retain(|_, times| {
            while times.front().is_some_and(|t| *t <= cutoff) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    /// Seconds until one more fits, if `key` holds `limit` already.
    fn full(&self, key: &K, limit: usize, now: Instant, window: Duration) -> Option<u64> {
        let times = self.0.get(key)?;
        (times.len() >= limit).then(|| {
            let oldest = times.front().copied().unwrap_or(now);
            wait_s(window, now.duration_since(oldest))
        })
    }

    fn push(&mut self, key: K, at: Instant) {
        self.0.entry(key).or_default().push_back(at);
    }

    fn remove(&mut self, key: &K, at: Instant) {
        if let Some(times) = self.0.get_mut(key)
            && let Some(index) = times.iter().position(|t| *t == at)
        {
            times.remove(index);
        }
    }

    fn clear(&mut self, key: &K) {
        self.0.remove(key);
    }
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

#[derive(Debug, Default)]
struct State {
    by_address: Buckets<Option<IpAddr>>,
    by_pair: Buckets<(String, Option<IpAddr>)>,
    by_name: Buckets<String>,
    by_device: Buckets<String>,
    /// Digest of a device cookie → the name it logged in as, and until when it counts.
    devices: HashMap<String, (String, Instant)>,
}

#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    state: Mutex<State>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a password check for `name` from `address`, by a browser that sent `device`
    /// (the device cookie, if any), or says why not.
    pub fn admit(
        &self,
        name: &str,
        address: Option<IpAddr>,
        device: Option<&str>,
    ) -> Result<Attempt, Refused> {
        let now = Instant::now();
        let window = self.limits.window;
        let limits = self.limits;
        let mut guard = self.lock();
        let state = &mut *guard;
        let cutoff = now.checked_sub(window);
        state.by_address.forget_before(cutoff);
        state.by_pair.forget_before(cutoff);
        state.by_name.forget_before(cutoff);
        state.by_device.forget_before(cutoff);
        state.devices.retain(|_, (_, until)| *until > now);

        let known_device = device
            .filter(|secret| token::well_formed(secret))
            .map(token::digest)
            .filter(|key| state.devices.get(key).is_some_and(|(n, _)| n == name));
        if let Some(key) = known_device {
            if let Some(wait_s) = state.by_device.full(&key, limits.per_device, now, window) {
                return Err(Refused::Name { wait_s });
            }
            state.by_device.push(key.clone(), now);
            return Ok(Attempt {
                counted: Counted::Device(key),
                mark: Mark::At(now),
            });
        }
        let pair = (name.to_owned(), address);
        if let Some(wait_s) = state
            .by_address
            .full(&address, limits.per_address, now, window)
        {
            return Err(Refused::Address { wait_s });
        }
        let name_full = state
            .by_pair
            .full(&pair, limits.per_name_and_address, now, window)
            .or_else(|| state.by_name.full(&pair.0, limits.per_name, now, window));
        if let Some(wait_s) = name_full {
            return Err(Refused::Name { wait_s });
        }
        state.by_address.push(address, now);
        state.by_name.push(pair.0.clone(), now);
        state.by_pair.push(pair, now);
        Ok(Attempt {
            counted: Counted::Open {
                name: name.to_owned(),
                address,
            },
            mark: Mark::At(now),
        })
    }

    /// The password was right: the attempt is given back, and this machine's failures for this
    /// name are forgotten (not its failures for other names, nor other machines' for this one).
    pub fn succeeded(&self, attempt: Attempt) {
        self.give_back(attempt, true);
    }

    /// The password could not be checked (the server was busy): the attempt counts for nothing.
    pub fn not_checked(&self, attempt: Attempt) {
        self.give_back(attempt, false);
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "taking the attempt makes a second refund impossible"
    )]
    fn give_back(&self, attempt: Attempt, forget_failures: bool) {
        // Only this limiter's own attempts carry an instant; there is nothing else to give back.
        let Mark::At(at) = attempt.mark else { return };
        let mut state = self.lock();
        match &attempt.counted {
            Counted::Device(key) if forget_failures => state.by_device.clear(key),
            Counted::Device(key) => state.by_device.remove(key, at),
            Counted::Open { name, address } => {
                let pair = (name.clone(), *address);
                state.by_address.remove(address, at);
                state.by_name.remove(name, at);
                if forget_failures {
                    state.by_pair.clear(&pair);
                } else {
                    state.by_pair.remove(&pair, at);
                }
            }
        }
    }

    /// Remembers the browser that just logged in as `name`; returns the cookie's secret.
    pub fn remember_device(&self, name: &str) -> Result<String, getrandom::Error> {
        let secret = token::random()?;
        let until = Instant::now() + self.limits.device_lifetime;
        self.lock()
            .devices
            .insert(token::digest(&secret), (name.to_owned(), until));
        Ok(secret)
    }

    /// How long a device cookie is good for.
    pub fn device_lifetime(&self) -> Duration {
        self.limits.device_lifetime
    }
}

impl LoginLimit for LoginLimiter {
    fn admit<'a>(
        &'a self,
        name: &'a str,
        address: Option<IpAddr>,
        device: Option<&'a str>,
    ) -> StoreFuture<'a, Result<Attempt, Refused>> {
        Box::pin(std::future::ready(Ok(Self::admit(
            self, name, address, device,
        ))))
    }

    fn succeeded(&self, attempt: Attempt) -> Refund<'_> {
        Self::succeeded(self, attempt);
        Box::pin(std::future::ready(()))
    }

    fn not_checked(&self, attempt: Attempt) -> Refund<'_> {
        Self::not_checked(self, attempt);
        Box::pin(std::future::ready(()))
    }

    fn remember_device<'a>(&'a self, name: &'a str) -> StoreFuture<'a, String> {
        let remembered = Self::remember_device(self, name)
            .map_err(|e| crate::store::StoreError::backend("draw a device cookie", e));
        Box::pin(std::future::ready(remembered))
    }

    fn device_lifetime(&self) -> Duration {
        Self::device_lifetime(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            window: Duration::from_secs(3600),
            per_address: 6,
            per_name_and_address: 2,
            per_name: 4,
            per_device: 2,
            device_lifetime: Duration::from_secs(3600),
        })
    }

    fn at(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn one_machine_is_stopped_per_name_and_overall() {
        let limiter = limiter();
        limiter.admit("li", at(1), None).unwrap();
        limiter.admit("li", at(1), None).unwrap();
        assert!(matches!(
            limiter.admit("li", at(1), None),
            Err(Refused::Name { .. })
        ));
        // Another name from the same machine, and the same name from another, still go.
        for name in ["a", "b", "c", "d"] {
            limiter.admit(name, at(1), None).unwrap();
        }
        assert!(matches!(
            limiter.admit("e", at(1), None),
            Err(Refused::Address { .. })
        ));
        limiter.admit("li", at(2), None).unwrap();
    }

    #[test]
    fn a_name_guessed_from_everywhere_stays_open_to_its_own_browser() {
        let limiter = limiter();
        let device = limiter.remember_device("li").unwrap();
        for last in 1..=4 {
            limiter.admit("li", at(last), None).unwrap();
        }
        assert!(matches!(
            limiter.admit("li", at(9), None),
            Err(Refused::Name { .. })
        ));
        // Its own browser, even from a guessing address; not for another name.
        let attempt = limiter.admit("li", at(1), Some(&device)).unwrap();
        limiter.succeeded(attempt);
        assert!(limiter.admit("wang", at(1), Some(&device)).is_ok());
        assert!(limiter.admit("li", at(9), Some("made-up")).is_err());
        // The device has its own small budget.
        limiter.admit("li", at(1), Some(&device)).unwrap();
        limiter.admit("li", at(1), Some(&device)).unwrap();
        assert!(limiter.admit("li", at(1), Some(&device)).is_err());
    }

    #[test]
    fn a_right_password_forgets_this_machine_s_failures_for_that_name() {
        let limiter = limiter();
        limiter.admit("li", at(1), None).unwrap();
        let attempt = limiter.admit("li", at(1), None).unwrap();
        limiter.succeeded(attempt);
        limiter.admit("li", at(1), None).unwrap();
        limiter.admit("li", at(1), None).unwrap();
    }
}
