//! What the county needs to know about its booths at a glance: whether each is online, how
//! its printer's paper is, and the alerts that need someone to act. Pure functions over a
//! [`KioskRecord`] and a `now`, so the rules are tested with fixed times and the staff page
//! only shows what they say.
//!
//! The rules:
//! - **Online** means seen (any verified request, heartbeats included) within
//!   [`ONLINE_WITHIN`]. A booth sends a heartbeat every minute, so five missed in a row make it
//!   offline; one late heartbeat does not.
//! - **Offline** alert: not seen for over [`OFFLINE_ALERT_AFTER`] (a booth never seen counts
//!   from its enrollment). Shorter gaps are a power cut or a network hiccup that mends itself.
//! - **Paper** alert: the last heartbeat's printer reports paper out or near its end. It stays
//!   while the booth is offline: it is the last thing known, and someone must bring paper.
//! - **Queue not draining** alert: the oldest submission waiting on the booth is older than
//!   [`QUEUE_STUCK_AFTER`] while the booth is online. Online, a booth uploads within seconds,
//!   so an hour-old item means uploads are failing; offline, the offline alert already says
//!   why nothing drains.
//! - **Quarantined** alert: the booth holds items the server refused for good; a technician
//!   must look at them (`kiosk queue quarantined`).
//! - A revoked kiosk has no alerts: it no longer belongs to the fleet.

use chrono::{DateTime, Duration, Utc};
use sync_protocol::enroll::Village;
use sync_protocol::heartbeat::{Heartbeat, PrinterHealth};

/// An enrolled kiosk. A kiosk number belongs to one active kiosk at a time; kiosks it was
/// handed over from keep it in the record, revoked with `replaced_by` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskRecord {
    pub kiosk_id: String,
    pub kiosk_number: u32,
    pub public_key: [u8; 32],
    pub village: Village,
    pub app_version: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The kiosk that took over when this booth re-enrolled (set with `revoked_at`).
    pub replaced_by: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub last_heartbeat: Option<HeartbeatRecord>,
}

impl KioskRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// The latest heartbeat of a kiosk and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRecord {
    pub heartbeat: Heartbeat,
    pub received_at: DateTime<Utc>,
}

/// Seen within this long: online.
pub const ONLINE_WITHIN: Duration = Duration::minutes(5);
/// Unseen for longer than this: an offline alert.
pub const OFFLINE_ALERT_AFTER: Duration = Duration::hours(1);
/// An item waiting longer than this on an online booth: the queue is not draining.
pub const QUEUE_STUCK_AFTER: Duration = Duration::hours(1);

/// Whether a kiosk is reachable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Online,
    Offline,
    /// Enrolled but has made no verified request since.
    NeverSeen,
    /// Revoked by staff, or replaced when its booth re-enrolled.
    Revoked,
}

pub fn presence(kiosk: &KioskRecord, now: DateTime<Utc>) -> Presence {
    if kiosk.is_revoked() {
        return Presence::Revoked;
    }
    match kiosk.last_seen_at {
        None => Presence::NeverSeen,
        // A booth clock ahead of the server cannot make `last_seen_at` future: it is the
        // server's time of the request.
        Some(seen) if now - seen <= ONLINE_WITHIN => Presence::Online,
        Some(_) => Presence::Offline,
    }
}

/// The printer's paper as the last heartbeat told it, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    Out,
    CoverOpen,
    NearEnd,
    /// The printer did not answer (unplugged, switched off).
    PrinterOffline,
    Ok,
    /// The booth has no printer configured, or it never answered.
    NoPrinter,
    /// No heartbeat yet.
    Unknown,
}

pub fn paper(heartbeat: Option<&Heartbeat>) -> Paper {
    let Some(heartbeat) = heartbeat else {
        return Paper::Unknown;
    };
    match heartbeat.devices.printer {
        None => Paper::NoPrinter,
        // Paper flags first: an ESC/POS printer reports itself offline whenever the paper is
        // out or the cover open, and the flags say what to do about it.
        Some(PrinterHealth {
            paper_end: true, ..
        }) => Paper::Out,
        Some(PrinterHealth {
            cover_open: true, ..
        }) => Paper::CoverOpen,
        Some(PrinterHealth {
            paper_near_end: true,
            ..
        }) => Paper::NearEnd,
        Some(PrinterHealth { online: false, .. }) => Paper::PrinterOffline,
        Some(_) => Paper::Ok,
    }
}

/// Something about a booth that needs someone to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    /// Unseen since `since` (its enrollment if it was never seen).
    Offline {
        since: DateTime<Utc>,
    },
    PaperOut,
    PaperNearEnd,
    /// The oldest waiting item is `oldest_pending_s` old, with `queue_depth` waiting.
    QueueNotDraining {
        oldest_pending_s: u64,
        queue_depth: u64,
    },
    Quarantined {
        count: u64,
    },
}

impl Alert {
    /// A stable name (`offline`, `paper_out` …): translation keys and CSS classes use it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Offline { .. } => "offline",
            Self::PaperOut => "paper_out",
            Self::PaperNearEnd => "paper_near_end",
            Self::QueueNotDraining { .. } => "queue_not_draining",
            Self::Quarantined { .. } => "quarantined",
        }
    }

    /// Whether the booth cannot serve villagers fully until someone acts (red), or should be
    /// looked at soon (amber).
    pub fn is_severe(&self) -> bool {
        matches!(
            self,
            Self::Offline { .. } | Self::PaperOut | Self::QueueNotDraining { .. }
        )
    }
}

/// What the alerts need of a kiosk's last heartbeat, apart from the time: the store keeps
/// it beside the heartbeat when one arrives, so the fleet page counts a county's alerts in
/// SQL (`revoked_at`, `last_seen_at` and these) instead of reading every booth's JSON.
/// [`alerts`] reads the same, so the counts and the list cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeartbeatAlerts {
    /// [`Alert::PaperOut`] or [`Alert::PaperNearEnd`].
    pub paper: Option<Alert>,
    /// Items wait, the oldest for over [`QUEUE_STUCK_AFTER`]: an alert while the booth is
    /// online.
    pub queue_stuck: bool,
    /// Items the server refused for good: an alert when above zero.
    pub quarantined: u64,
}

pub fn heartbeat_alerts(heartbeat: &Heartbeat) -> HeartbeatAlerts {
    let paper = match paper(Some(heartbeat)) {
        Paper::Out => Some(Alert::PaperOut),
        Paper::NearEnd => Some(Alert::PaperNearEnd),
        // Near end behind an open cover still needs paper brought.
        Paper::CoverOpen if heartbeat.devices.printer.is_some_and(|p| p.paper_near_end) => {
            Some(Alert::PaperNearEnd)
        }
        _ => None,
    };
    let stuck_after = u64::try_from(QUEUE_STUCK_AFTER.num_seconds()).unwrap_or(u64::MAX);
    HeartbeatAlerts {
        paper,
        queue_stuck: heartbeat.queue_depth > 0
            && heartbeat
                .oldest_pending_age_s
                .is_some_and(|oldest| oldest > stuck_after),
        quarantined: heartbeat.quarantined,
    }
}

/// The alerts of one kiosk now, in a fixed order (offline, paper, queue, quarantine).
pub fn alerts(kiosk: &KioskRecord, now: DateTime<Utc>) -> Vec<Alert> {
    if kiosk.is_revoked() {
        return Vec::new();
    }
    let mut alerts = Vec::new();
    let since = kiosk.last_seen_at.unwrap_or(kiosk.enrolled_at);
    if now - since > OFFLINE_ALERT_AFTER {
        alerts.push(Alert::Offline { since });
    }
    let Some(heartbeat) = kiosk
        .last_heartbeat
        .as_ref()
        .map(|record| &record.heartbeat)
    else {
        return alerts;
    };
    let found = heartbeat_alerts(heartbeat);
    alerts.extend(found.paper);
    if found.queue_stuck
        && presence(kiosk, now) == Presence::Online
        && let Some(oldest_pending_s) = heartbeat.oldest_pending_age_s
    {
        alerts.push(Alert::QueueNotDraining {
            oldest_pending_s,
            queue_depth: heartbeat.queue_depth,
        });
    }
    if found.quarantined > 0 {
        alerts.push(Alert::Quarantined {
            count: found.quarantined,
        });
    }
    alerts
}

#[cfg(test)]
mod tests {
    use sync_protocol::heartbeat::DeviceHealth;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339 time")
    }

    fn now() -> DateTime<Utc> {
        at("2026-03-01T10:00:00Z")
    }

    fn heartbeat(printer: Option<PrinterHealth>) -> Heartbeat {
        Heartbeat {
            queue_depth: 0,
            oldest_pending_age_s: None,
            quarantined: 0,
            devices: DeviceHealth {
                printer,
                reader_present: true,
                scanner_present: true,
            },
            app_version: "0.1.0".into(),
            disk_free_bytes: 1 << 30,
            uptime_s: 3600,
            clock_offset_ms: 0,
            update: None,
        }
    }

    fn printer_ok() -> PrinterHealth {
        PrinterHealth {
            online: true,
            ..PrinterHealth::default()
        }
    }

    /// Enrolled at 08:00, seen at `seen`, with `heartbeat` received then.
    fn kiosk(seen: Option<&str>, heartbeat: Option<Heartbeat>) -> KioskRecord {
        let seen = seen.map(at);
        KioskRecord {
            kiosk_id: "kiosk-1".into(),
            kiosk_number: 1,
            public_key: [1; 32],
            village: Village {
                county: "示范县".into(),
                township: "凤岭乡".into(),
                village: "石门村".into(),
            },
            app_version: "0.1.0".into(),
            enrolled_at: at("2026-03-01T08:00:00Z"),
            revoked_at: None,
            replaced_by: None,
            last_seen_at: seen,
            last_heartbeat: heartbeat
                .zip(seen)
                .map(|(heartbeat, received_at)| HeartbeatRecord {
                    heartbeat,
                    received_at,
                }),
        }
    }

    #[test]
    fn online_means_seen_within_five_minutes() {
        let seen = |time: &str| presence(&kiosk(Some(time), None), now());
        assert_eq!(seen("2026-03-01T09:59:30Z"), Presence::Online);
        assert_eq!(seen("2026-03-01T09:55:00Z"), Presence::Online);
        assert_eq!(seen("2026-03-01T09:54:59Z"), Presence::Offline);
        assert_eq!(presence(&kiosk(None, None), now()), Presence::NeverSeen);
        let revoked = KioskRecord {
            revoked_at: Some(at("2026-03-01T09:00:00Z")),
            ..kiosk(Some("2026-03-01T09:59:30Z"), None)
        };
        assert_eq!(presence(&revoked, now()), Presence::Revoked);
    }

    #[test]
    fn an_hour_unseen_is_an_offline_alert_counted_from_enrollment_if_never_seen() {
        let healthy = Some(heartbeat(Some(printer_ok())));
        assert_eq!(
            alerts(&kiosk(Some("2026-03-01T09:00:00Z"), healthy.clone()), now()),
            [],
            "exactly an hour is not over an hour"
        );
        assert_eq!(
            alerts(&kiosk(Some("2026-03-01T08:59:59Z"), healthy), now()),
            [Alert::Offline {
                since: at("2026-03-01T08:59:59Z")
            }]
        );
        assert_eq!(
            alerts(&kiosk(None, None), now()),
            [Alert::Offline {
                since: at("2026-03-01T08:00:00Z")
            }]
        );
        assert_eq!(
            alerts(&kiosk(None, None), at("2026-03-01T08:30:00Z")),
            [],
            "just enrolled"
        );
    }

    #[test]
    fn paper_out_or_near_end_is_an_alert_and_the_table_shows_the_printer() {
        let seen = Some("2026-03-01T09:59:00Z");
        let with = |printer: PrinterHealth| kiosk(seen, Some(heartbeat(Some(printer))));
        let out = PrinterHealth {
            online: false,
            paper_end: true,
            paper_near_end: true,
            cover_open: false,
        };
        assert_eq!(alerts(&with(out), now()), [Alert::PaperOut]);
        let near = PrinterHealth {
            paper_near_end: true,
            ..printer_ok()
        };
        assert_eq!(alerts(&with(near), now()), [Alert::PaperNearEnd]);
        let cover = PrinterHealth {
            online: false,
            cover_open: true,
            ..PrinterHealth::default()
        };
        assert_eq!(alerts(&with(cover), now()), []);
        let cover_and_near = PrinterHealth {
            paper_near_end: true,
            ..cover
        };
        assert_eq!(alerts(&with(cover_and_near), now()), [Alert::PaperNearEnd]);

        let shown = |printer| paper(Some(&heartbeat(printer)));
        assert_eq!(shown(Some(out)), Paper::Out);
        assert_eq!(shown(Some(near)), Paper::NearEnd);
        assert_eq!(shown(Some(cover_and_near)), Paper::CoverOpen);
        assert_eq!(shown(Some(PrinterHealth::default())), Paper::PrinterOffline);
        assert_eq!(shown(Some(printer_ok())), Paper::Ok);
        assert_eq!(shown(None), Paper::NoPrinter);
        assert_eq!(paper(None), Paper::Unknown);
    }

    #[test]
    fn a_queue_not_draining_is_an_old_pending_item_on_an_online_booth() {
        let waiting = |oldest: u64| Heartbeat {
            queue_depth: 3,
            oldest_pending_age_s: Some(oldest),
            ..heartbeat(Some(printer_ok()))
        };
        let online = Some("2026-03-01T09:58:00Z");
        assert_eq!(alerts(&kiosk(online, Some(waiting(3600))), now()), []);
        assert_eq!(
            alerts(&kiosk(online, Some(waiting(3601))), now()),
            [Alert::QueueNotDraining {
                oldest_pending_s: 3601,
                queue_depth: 3
            }]
        );
        // Offline for 20 minutes: not draining is expected, and no offline alert yet either.
        let offline = Some("2026-03-01T09:40:00Z");
        assert_eq!(alerts(&kiosk(offline, Some(waiting(7200))), now()), []);
        let drained = Heartbeat {
            queue_depth: 0,
            ..waiting(7200)
        };
        assert_eq!(alerts(&kiosk(online, Some(drained)), now()), []);
    }

    #[test]
    fn quarantined_items_are_an_alert_and_revoked_kiosks_have_none() {
        let quarantined = Heartbeat {
            quarantined: 2,
            ..heartbeat(Some(PrinterHealth {
                paper_end: true,
                ..printer_ok()
            }))
        };
        let stale = kiosk(Some("2026-03-01T07:00:00Z"), Some(quarantined));
        assert_eq!(
            alerts(&stale, now()),
            [
                Alert::Offline {
                    since: at("2026-03-01T07:00:00Z")
                },
                Alert::PaperOut,
                Alert::Quarantined { count: 2 }
            ]
        );
        let revoked = KioskRecord {
            revoked_at: Some(at("2026-03-01T09:00:00Z")),
            ..stale
        };
        assert_eq!(alerts(&revoked, now()), []);
    }
}
