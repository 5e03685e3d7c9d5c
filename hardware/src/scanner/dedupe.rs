//! Suppressing the same code read twice in quick succession.
//!
//! A booth scanner usually runs in presentation mode: it reads continuously while a phone or
//! slip sits in front of the window, so one deliberate scan arrives as several. The filter
//! takes the time as a parameter, so it is tested without sleeping.

use std::time::{Duration, Instant};

/// Drops a code equal to the previous one if it arrives within `window` of the last time that
/// code was seen.
///
/// The window slides: every repeat, even a dropped one, restarts it, so a code held in front
/// of the scanner yields one scan however long it stays there. A different code in between,
/// or a gap longer than the window, lets the same code through again.
#[derive(Debug, Clone)]
pub struct DuplicateFilter {
    window: Duration,
    last: Option<(String, Instant)>,
}

impl DuplicateFilter {
    /// The default window: long enough to cover a presentation-mode scanner's re-reads, short
    /// enough that a person scanning again on purpose is not ignored.
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(1500);

    /// A filter with the given window; `Duration::ZERO` lets every code through.
    pub fn new(window: Duration) -> Self {
        Self { window, last: None }
    }

    /// The window in use.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether `code`, seen at `now`, should be delivered. Records it either way.
    pub fn admit(&mut self, code: &str, now: Instant) -> bool {
        let repeat = match &self.last {
            Some((last, at)) => {
                last == code && now.checked_duration_since(*at).unwrap_or_default() < self.window
            }
            None => false,
        };
        match &mut self.last {
            Some((last, at)) if last == code => *at = now,
            _ => self.last = Some((code.to_owned(), now)),
        }
        !repeat
    }

    /// Forgets the last code, so the next one is delivered whatever it is.
    pub fn clear(&mut self) {
        self.last = None;
    }
}

impl Default for DuplicateFilter {
    fn default() -> Self {
        Self::new(Self::DEFAULT_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_repeat_inside_the_window_is_dropped_and_one_after_it_passes() {
        let t0 = Instant::now();
        let mut f = DuplicateFilter::new(ms(1500));
        assert!(f.admit("A", t0));
        assert!(!f.admit("A", t0 + ms(200)));
        assert!(
            !f.admit("A", t0 + ms(1600)),
            "the window restarted at 200 ms"
        );
        assert!(f.admit("A", t0 + ms(3200)));
    }

    #[test]
    fn a_different_code_resets_the_filter() {
        let t0 = Instant::now();
        let mut f = DuplicateFilter::default();
        assert!(f.admit("A", t0));
        assert!(f.admit("B", t0 + ms(10)));
        assert!(f.admit("A", t0 + ms(20)));
        assert!(!f.admit("A", t0 + ms(30)));
    }

    #[test]
    fn a_zero_window_admits_everything() {
        let t0 = Instant::now();
        let mut f = DuplicateFilter::new(Duration::ZERO);
        assert!(f.admit("A", t0));
        assert!(f.admit("A", t0));
    }

    #[test]
    fn time_going_backwards_counts_as_a_repeat_not_a_panic() {
        let t0 = Instant::now() + ms(5000);
        let mut f = DuplicateFilter::new(ms(100));
        assert!(f.admit("A", t0));
        assert!(!f.admit("A", t0 - ms(1000)));
    }

    #[test]
    fn clear_lets_the_same_code_through() {
        let t0 = Instant::now();
        let mut f = DuplicateFilter::default();
        assert!(f.admit("A", t0));
        f.clear();
        assert!(f.admit("A", t0 + ms(1)));
    }
}
