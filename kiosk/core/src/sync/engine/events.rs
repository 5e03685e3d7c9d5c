//! What the engine tells the log and the tests, and what `kiosk sync --once` prints.

use std::time::Duration;

use sync_protocol::feed::Feed;

use crate::sync::clock::{clock_warning, describe_offset, human_duration};

/// What happened, one line each, for the service's log and the tests. No personal data:
/// receipt numbers, counts, error codes and server messages only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Uploaded {
        accepted: usize,
        duplicates: usize,
    },
    Quarantined {
        receipt_number: String,
        reason: String,
    },
    FeedPulled {
        feed: Feed,
        items: usize,
    },
    HeartbeatSent {
        queue_depth: u64,
    },
    ClockOffset {
        offset_ms: i64,
    },
    /// A failure; the engine waits `retry_in`, less if a probe or a wake-up says so.
    Waiting {
        error: String,
        retry_in: Duration,
        probing: bool,
    },
    /// The server holds a page whole (its local copy is gone).
    PageSent {
        bytes: u64,
    },
    /// The server refused a page for good (kept on the booth for the technician).
    PageRefused {
        reason: String,
    },
    /// The server answered a probe: the wait is over.
    Reachable,
    Stopped,
}

impl std::fmt::Display for SyncEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uploaded {
                accepted,
                duplicates,
            } => write!(
                f,
                "uploaded {} ({accepted} accepted, {duplicates} already there)",
                accepted + duplicates
            ),
            Self::Quarantined {
                receipt_number,
                reason,
            } => write!(
                f,
                "held back {receipt_number}: {reason} (kiosk queue quarantined lists it)"
            ),
            Self::FeedPulled { feed, items } => write!(f, "{} +{items}", feed.as_str()),
            Self::HeartbeatSent { queue_depth } => {
                write!(f, "heartbeat sent (queue depth {queue_depth})")
            }
            Self::ClockOffset { offset_ms } => match clock_warning(*offset_ms) {
                Some(warning) => f.write_str(&warning),
                None => write!(f, "clock offset {}", describe_offset(*offset_ms)),
            },
            Self::Waiting {
                error,
                retry_in,
                probing,
            } => {
                if *retry_in < Duration::from_secs(1) {
                    return write!(f, "{error}; trying again at once");
                }
                write!(f, "{error}; next try in {}", human_duration(*retry_in))?;
                if *probing {
                    f.write_str(" or as soon as the server answers")?;
                }
                Ok(())
            }
            Self::PageSent { bytes } => write!(f, "page uploaded ({} KB)", bytes / 1024),
            Self::PageRefused { reason } => write!(f, "page held back: {reason}"),
            Self::Reachable => f.write_str("the county server answers again: resuming"),
            Self::Stopped => f.write_str("sync stopped"),
        }
    }
}

/// The result of `kiosk sync --once`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OnceSummary {
    pub uploaded: usize,
    pub duplicates: usize,
    pub quarantined: usize,
    /// Still pending or sent afterwards.
    pub pending: u64,
    pub catalog: usize,
    pub notices: usize,
    pub statuses: usize,
    pub clock_offset_ms: i64,
    pub heartbeat_sent: bool,
    /// Pages the server now holds whole.
    pub pages_sent: u64,
    /// Pages still to send afterwards.
    pub pages_pending: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_one_line_each() {
        let lines: Vec<String> = [
            SyncEvent::Uploaded {
                accepted: 3,
                duplicates: 1,
            },
            SyncEvent::Quarantined {
                receipt_number: "007-00042-M".into(),
                reason: "receipt number does not carry sequence number 43".into(),
            },
            SyncEvent::FeedPulled {
                feed: Feed::Catalog,
                items: 12,
            },
            SyncEvent::Waiting {
                error: "cannot reach the county server at http://county: timed out; check the booth's network".into(),
                retry_in: Duration::from_secs(75),
                probing: true,
            },
            SyncEvent::Waiting {
                error: "the county server at http://county is busy or failing (HTTP 503)".into(),
                retry_in: Duration::from_millis(300),
                probing: false,
            },
            SyncEvent::ClockOffset { offset_ms: 1_500 },
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            lines,
            [
                "uploaded 4 (3 accepted, 1 already there)",
                "held back 007-00042-M: receipt number does not carry sequence number 43 (kiosk queue quarantined lists it)",
                "catalog +12",
                "cannot reach the county server at http://county: timed out; check the booth's network; next try in 1 min 15 s or as soon as the server answers",
                "the county server at http://county is busy or failing (HTTP 503); trying again at once",
                "clock offset +2 s",
            ]
        );
    }
}
