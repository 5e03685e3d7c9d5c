//! Whether technician mode is open, on which view, and what the PIN page says.

use std::time::Instant;

use slint::ComponentHandle;
use ui::{MainWindow, TechnicianAdapter, TechnicianPinState, TechnicianView};

use super::pin_guard::{PinGuard, Verdict};
use crate::app::bind::{Asserted, Changes, Flow};

/// The way in after the long press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A booth never provisioned: enrollment opens without a PIN (it sets one).
    FirstProvisioning,
    /// The PIN page (or, without a PIN, the page saying how to set one).
    Pin,
}

/// Shown as it is; the PIN guard's counts only through the PIN state.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Technician {
    unlocked: bool,
    /// Outlives sessions: Home does not lift a lock-out.
    guard: PinGuard,
    view: TechnicianView,
    pin_state: TechnicianPinState,
    tries_left: i32,
    locked_minutes: i32,
    enrolled: bool,
    pin_set: bool,
    /// The keypad writes the PIN entry; each clearing empties it on screen.
    pin_entry_cleared: Asserted<()>,
}

impl Technician {
    pub fn unlocked(&self) -> bool {
        self.unlocked
    }

    pub fn view_is(&self, view: TechnicianView) -> bool {
        self.view == view
    }

    pub fn pin_set(&self) -> bool {
        self.pin_set
    }

    /// The long press, once the store said whether the booth is enrolled and has a PIN.
    pub fn entry(&mut self, enrolled: bool, pin_set: bool, now: Instant) -> Entry {
        self.enrolled = enrolled;
        self.pin_set = pin_set;
        self.pin_entry_cleared.set(());
        if !enrolled && !pin_set {
            self.unlocked = true;
            return Entry::FirstProvisioning;
        }
        if pin_set {
            self.show_verdict(self.guard.verdict(now));
        } else {
            self.pin_state = TechnicianPinState::NotSet;
        }
        self.view = TechnicianView::Pin;
        Entry::Pin
    }

    /// `true` if the entry is locked: no PIN is checked, the page says for how long.
    pub fn refuses_pins(&mut self, now: Instant) -> bool {
        let verdict = self.guard.verdict(now);
        let locked = matches!(verdict, Verdict::Locked { .. });
        if locked {
            self.show_verdict(verdict);
        }
        locked
    }

    /// The store's answer to a PIN; a wrong one counts towards the lock-out.
    pub fn pin_checked(&mut self, right: bool, now: Instant) -> Verdict {
        if right {
            self.guard.succeeded();
            self.unlocked = true;
            self.pin_state = TechnicianPinState::Entering;
            return Verdict::Open;
        }
        let verdict = self.guard.failed(now);
        self.show_verdict(verdict);
        verdict
    }

    fn show_verdict(&mut self, verdict: Verdict) {
        self.pin_state = match verdict {
            Verdict::Open => TechnicianPinState::Entering,
            Verdict::Wrong { tries_left } => {
                self.tries_left = i32::try_from(tries_left).unwrap_or(i32::MAX);
                TechnicianPinState::Wrong
            }
            Verdict::Locked { minutes_left } => {
                self.locked_minutes = i32::try_from(minutes_left).unwrap_or(i32::MAX);
                TechnicianPinState::Locked
            }
        };
    }

    /// Shows `view` once unlocked; the view left, to wind down, or `None` if still locked.
    pub fn open(&mut self, view: TechnicianView) -> Option<TechnicianView> {
        if !self.unlocked {
            return None;
        }
        Some(std::mem::replace(&mut self.view, view))
    }

    /// This booth was just enrolled, with a PIN.
    pub fn enrolled_now(&mut self) {
        self.enrolled = true;
        self.pin_set = true;
    }

    /// The session ended: locked again, on an empty PIN page. Returns whether it was open.
    pub fn lock(&mut self) -> bool {
        self.view = TechnicianView::Pin;
        self.pin_state = TechnicianPinState::Entering;
        self.pin_entry_cleared.set(());
        std::mem::take(&mut self.unlocked)
    }
}

impl Flow for Technician {
    type View = Self;

    fn view(&self) -> Self {
        self.clone()
    }

    fn render(now: &Self, before: Option<&Self>, window: &MainWindow) {
        let adapter = window.global::<TechnicianAdapter>();
        let changes = Changes::new(now, before);
        changes.write(|v| &v.enrolled, |&e| adapter.set_enrolled(e));
        changes.write(|v| &v.pin_set, |&p| adapter.set_pin_set(p));
        changes.write(
            |v| &v.pin_entry_cleared,
            |_| adapter.set_pin_entry("".into()),
        );
        changes.write(|v| &v.tries_left, |&t| adapter.set_tries_left(t));
        changes.write(|v| &v.locked_minutes, |&m| adapter.set_locked_minutes(m));
        changes.write(|v| &v.pin_state, |&s| adapter.set_pin_state(s));
        changes.write(|v| &v.view, |&view| adapter.set_view(view));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::technician::pin_guard::{LOCKOUT, MAX_TRIES};

    fn at_pin_page() -> Technician {
        let mut technician = Technician::default();
        assert_eq!(technician.entry(true, true, Instant::now()), Entry::Pin);
        technician
    }

    #[test]
    fn a_booth_never_provisioned_opens_enrollment_without_a_pin() {
        let mut technician = Technician::default();
        let entry = technician.entry(false, false, Instant::now());
        assert_eq!(entry, Entry::FirstProvisioning);
        assert!(technician.unlocked());
        assert_eq!(
            technician.open(TechnicianView::Enroll),
            Some(TechnicianView::Pin)
        );
    }

    #[test]
    fn an_enrolled_booth_without_a_pin_says_how_to_set_one() {
        let mut technician = Technician::default();
        assert_eq!(technician.entry(true, false, Instant::now()), Entry::Pin);
        assert!(!technician.unlocked());
        assert_eq!(technician.view().pin_state, TechnicianPinState::NotSet);
        assert_eq!(technician.open(TechnicianView::Menu), None, "still locked");
    }

    #[test]
    fn a_right_pin_unlocks_the_menu() {
        let mut technician = at_pin_page();
        assert_eq!(technician.open(TechnicianView::Menu), None);
        let now = Instant::now();
        assert!(!technician.refuses_pins(now));
        technician.pin_checked(true, now);
        assert!(technician.unlocked());
        assert_eq!(
            technician.open(TechnicianView::Menu),
            Some(TechnicianView::Pin)
        );
        assert_eq!(technician.view().view, TechnicianView::Menu);
    }

    #[test]
    fn five_wrong_pins_lock_the_entry_across_sessions() {
        let mut technician = at_pin_page();
        let now = Instant::now();
        technician.pin_checked(false, now);
        let view = technician.view();
        assert_eq!(view.pin_state, TechnicianPinState::Wrong);
        assert_eq!(view.tries_left, i32::try_from(MAX_TRIES - 1).unwrap());
        for _ in 1..MAX_TRIES {
            technician.pin_checked(false, now);
        }
        let view = technician.view();
        assert_eq!(view.pin_state, TechnicianPinState::Locked);
        assert_eq!(view.locked_minutes, 5);
        assert!(!technician.unlocked());

        // Home ends the session; the next long press still finds the entry locked.
        assert!(!technician.lock());
        technician.entry(true, true, now);
        assert_eq!(technician.view().pin_state, TechnicianPinState::Locked);
        assert!(technician.refuses_pins(now));
        assert!(!technician.refuses_pins(now + LOCKOUT));
    }

    #[test]
    fn the_session_end_locks_and_empties_the_pin_entry() {
        let mut technician = at_pin_page();
        technician.pin_checked(true, Instant::now());
        technician.open(TechnicianView::Queue);
        let before = technician.view();
        assert!(technician.lock(), "it was open");
        let view = technician.view();
        assert_eq!(view.view, TechnicianView::Pin);
        assert_ne!(view.pin_entry_cleared, before.pin_entry_cleared);
        assert!(!technician.unlocked());
    }
}
