//! When the booth may be taken down for an install: nobody using it, nothing printing.
//!
//! The kiosk asks for an install only at a quiet moment, so a villager never loses the form
//! they are filling in or a receipt half printed. The updater stops the app whatever it is
//! doing, so this check is the kiosk's, before it writes the install request.

use std::time::Duration;

/// How long the screen must have been untouched on the home page, unless the booth's config
/// says otherwise (`[update] quiet_after_s`).
pub const QUIET_AFTER: Duration = Duration::from_secs(120);

/// What the app knows about its use right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// The home page shows: no villager session (a session ends on the home page, by hand or
    /// after the idle reset).
    pub on_home: bool,
    /// A receipt or page is being printed.
    pub printing: bool,
    /// A card is on the reader (someone is standing there).
    pub card_present: bool,
    /// Since the last touch, key or scan.
    pub idle_for: Duration,
    /// How long untouched counts as quiet ([`QUIET_AFTER`] by default).
    pub quiet_after: Duration,
}

impl Activity {
    /// Whether an install may start now.
    pub fn is_quiet(&self) -> bool {
        self.on_home && !self.printing && !self.card_present && self.idle_for >= self.quiet_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_means_home_untouched_for_a_while_and_nothing_printing() {
        let quiet = Activity {
            on_home: true,
            printing: false,
            card_present: false,
            idle_for: QUIET_AFTER,
            quiet_after: QUIET_AFTER,
        };
        assert!(quiet.is_quiet());
        for busy in [
            Activity {
                on_home: false,
                ..quiet
            },
            Activity {
                printing: true,
                ..quiet
            },
            Activity {
                card_present: true,
                ..quiet
            },
            Activity {
                idle_for: QUIET_AFTER - Duration::from_secs(1),
                ..quiet
            },
        ] {
            assert!(!busy.is_quiet(), "{busy:?}");
        }
    }
}
