//! A device's settings that the running booth may change under its worker thread: the
//! technician's devices page sets a new port, and the worker, woken, reopens on it without a
//! restart.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A value (`None`: no such device) with a generation that every change bumps.
#[derive(Debug)]
pub struct Swappable<T> {
    current: Mutex<(Option<T>, u64)>,
    changed: Condvar,
}

impl<T: Clone> Swappable<T> {
    pub fn new(value: Option<T>) -> Self {
        Self {
            current: Mutex::new((value, 0)),
            changed: Condvar::new(),
        }
    }

    /// The value and its generation.
    pub fn get(&self) -> (Option<T>, u64) {
        self.lock().clone()
    }

    pub fn generation(&self) -> u64 {
        self.lock().1
    }

    pub fn is_set(&self) -> bool {
        self.lock().0.is_some()
    }

    /// Replaces the value (given the one it has now) and wakes whoever waits for a change.
    pub fn update(&self, change: impl FnOnce(Option<T>) -> T) {
        let mut current = self.lock();
        let value = change(current.0.take());
        *current = (Some(value), current.1 + 1);
        self.changed.notify_all();
    }

    /// Returns once the generation is past `seen` (`true`), or after `timeout` (`false`).
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> bool {
        let current = self.lock();
        let (current, _) = self
            .changed
            .wait_timeout_while(current, timeout, |(_, generation)| *generation == seen)
            .unwrap_or_else(PoisonError::into_inner);
        current.1 != seen
    }

    fn lock(&self) -> MutexGuard<'_, (Option<T>, u64)> {
        // Every write replaces the whole value: a poisoned lock still holds a consistent one.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    #[test]
    fn a_change_bumps_the_generation_and_wakes_a_waiter() {
        let port = Arc::new(Swappable::new(None::<String>));
        assert!(!port.is_set());
        let (_, seen) = port.get();
        let waiter = {
            let port = Arc::clone(&port);
            // Only a broken wake-up waits this long, and then says so.
            thread::spawn(move || port.wait_for_change(seen, Duration::from_secs(60)))
        };
        port.update(|old| {
            assert_eq!(old, None);
            "/dev/ttyUSB1".to_owned()
        });
        assert!(waiter.join().unwrap(), "woken by the change");
        assert!(
            !port.wait_for_change(seen + 1, Duration::ZERO),
            "no change since"
        );
        assert_eq!(port.get(), (Some("/dev/ttyUSB1".to_owned()), seen + 1));
        port.update(|old| format!("{}-2", old.unwrap()));
        assert_eq!(port.get().0.as_deref(), Some("/dev/ttyUSB1-2"));
        assert_eq!(port.generation(), seen + 2);
    }
}
