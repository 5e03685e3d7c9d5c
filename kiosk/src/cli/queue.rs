//! `kiosk queue …`: the technician's view of the outbox: how much waits, what the server
//! refused, and putting refused items back or dropping them (with an audit record).
//!
//! `status` reads times on the booth's corrected clock (the one the sync client schedules
//! with) and ends with the clock warning when the booth's clock is off (`clock_warning` in
//! `--json`, null when fine).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use kiosk_core::store::{QueueItem, QueueStats};
use kiosk_core::sync::clock_warning;
use serde_json::json;

use super::open_store;

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Counts by state, the oldest waiting submission's age and the next upload attempt.
    Status(Status),
    /// Every submission the booth holds, oldest first: receipt, state, attempts (no personal
    /// data), to compare a booth's queue before and after a repair or an update.
    List(List),
    /// Submissions the server refused for good, with its reason.
    Quarantined(Quarantined),
    /// Put a quarantined submission back in the queue (by id or receipt number).
    Requeue(Requeue),
    /// Drop a quarantined submission; the id, receipt number and reason go to the audit log.
    Discard(Discard),
}

impl QueueCommand {
    pub fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        match self {
            Self::Status(cmd) => cmd.run(data_dir),
            Self::List(cmd) => cmd.run(data_dir),
            Self::Quarantined(cmd) => cmd.run(data_dir),
            Self::Requeue(cmd) => cmd.run(data_dir),
            Self::Discard(cmd) => cmd.run(data_dir),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Status {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Status {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let store = open_store(data_dir)?;
        // The sync client schedules in server time, so the view uses the corrected clock too.
        let now = store.corrected_now()?;
        let stats = store.queue_stats(now)?;
        // Items due at once carry a time in the past: show them as due now.
        let next = store.next_attempt_at()?.map(|at| at.max(now));
        let warning = clock_warning(store.clock_offset_ms()?);
        let files = store.file_counts()?;
        if self.json {
            println!(
                "{}",
                status_json(&stats, files, next, now, warning.as_deref())
            );
        } else {
            print!("{}", describe_status(&stats, files, next, now));
            if let Some(warning) = warning {
                println!("{warning}");
            }
        }
        Ok(())
    }
}

/// The photographed pages the queue's submissions list: (waiting to upload, held by the
/// county, refused by it).
type FileCounts = (u64, u64, u64);

fn status_json(
    stats: &QueueStats,
    (files_pending, files_held, files_refused): FileCounts,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    clock_warning: Option<&str>,
) -> String {
    json!({
        "pending": stats.pending,
        "sent": stats.sent,
        "quarantined": stats.quarantined,
        "acknowledged": stats.acknowledged,
        "discarded": stats.discarded,
        "files_pending": files_pending,
        "files_held": files_held,
        "files_refused": files_refused,
        "oldest_pending_age_s": stats.oldest_pending_age_s,
        "next_attempt_at": next,
        "next_attempt_in_s": next.map(|at| (at - now).num_seconds().max(0)),
        "last_error": stats.last_error,
        "clock_warning": clock_warning,
    })
    .to_string()
}

fn describe_status(
    stats: &QueueStats,
    (files_pending, files_held, files_refused): FileCounts,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let oldest = stats.oldest_pending_age_s.map_or_else(
        || "none".to_owned(),
        |s| format!("{} ago", human_duration(s)),
    );
    let next = match next {
        None => "none (nothing waits)".to_owned(),
        Some(at) if at <= now => "now".to_owned(),
        Some(at) => format!(
            "in {} ({})",
            human_duration(u64::try_from((at - now).num_seconds()).unwrap_or(0)),
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
    };
    let mut text = format!(
        "pending: {}\nsent: {}\nquarantined: {}\nacknowledged: {}\ndiscarded: {}\noldest pending: {oldest}\nnext attempt: {next}\n",
        stats.pending, stats.sent, stats.quarantined, stats.acknowledged, stats.discarded
    );
    text.push_str(&format!(
        "pages: {files_pending} to upload, {files_held} held by the county, {files_refused} refused\n"
    ));
    // What holds the queue up, e.g. a county server showing another certificate.
    if let Some(error) = &stats.last_error {
        text.push_str(&format!("last error: {error}\n"));
    }
    text
}

/// `45s`, `5m 12s`, `3h 04m`, `2d 05h`.
fn human_duration(seconds: u64) -> String {
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if days > 0 {
        format!("{days}d {hours:02}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {secs:02}s")
    } else {
        format!("{secs}s")
    }
}

#[derive(Debug, clap::Args)]
pub struct List {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl List {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let items = open_store(data_dir)?.queue_items()?;
        if self.json {
            println!("{}", serde_json::to_string(&items)?);
        } else if items.is_empty() {
            println!("no submissions");
        } else {
            for item in &items {
                println!(
                    "{}  {}  {}{}  attempts {}  created {}",
                    item.receipt_number,
                    item.state.as_str(),
                    item.kind.as_str(),
                    item.item_code
                        .as_deref()
                        .map_or_else(String::new, |c| format!(" {c}")),
                    item.attempts,
                    item.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct Quarantined {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Quarantined {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let items = open_store(data_dir)?.quarantined()?;
        if self.json {
            println!("{}", serde_json::to_string(&items)?);
        } else if items.is_empty() {
            println!("no quarantined submissions");
        } else {
            for item in &items {
                println!("{}", describe_item(item));
            }
        }
        Ok(())
    }
}

/// Two lines: what it is, then why it is held.
fn describe_item(item: &QueueItem) -> String {
    format!(
        "{}  {}{}  attempts {}  created {}  id {}\n  reason: {}",
        item.receipt_number,
        item.kind.as_str(),
        item.item_code
            .as_deref()
            .map_or_else(String::new, |c| format!(" {c}")),
        item.attempts,
        item.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        item.id,
        item.last_error.as_deref().unwrap_or("none recorded"),
    )
}

#[derive(Debug, clap::Args)]
pub struct Requeue {
    /// The submission's id or receipt number.
    #[arg(value_name = "ID|RECEIPT")]
    target: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Requeue {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let item = open_store(data_dir)?.requeue(&self.target)?;
        if self.json {
            println!("{}", serde_json::to_string(&item)?);
        } else {
            println!(
                "re-queued {}: it is uploaded on the next sync",
                item.receipt_number
            );
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct Discard {
    /// The submission's id or receipt number.
    #[arg(value_name = "ID|RECEIPT")]
    target: String,
    /// Why it is dropped; kept in the audit log.
    #[arg(long)]
    reason: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Discard {
    fn run(&self, data_dir: &Path) -> anyhow::Result<()> {
        let record = open_store(data_dir)?.discard(&self.target, &self.reason)?;
        if self.json {
            println!("{}", serde_json::to_string(&record)?);
        } else {
            println!(
                "discarded {}: its content is erased; the reason is in the audit log",
                record.receipt_number
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(312), "5m 12s");
        assert_eq!(human_duration(3 * 3600 + 4 * 60), "3h 04m");
        assert_eq!(human_duration(2 * 86_400 + 5 * 3600), "2d 05h");
    }

    #[test]
    fn the_json_status_carries_the_clock_warning() {
        let now = Utc::now();
        let stats = QueueStats {
            pending: 2,
            ..QueueStats::default()
        };
        let fine: serde_json::Value =
            serde_json::from_str(&status_json(&stats, (0, 0, 0), Some(now), now, None)).unwrap();
        assert_eq!(fine["clock_warning"], serde_json::Value::Null);
        assert_eq!(fine["next_attempt_in_s"], 0);
        let warning = clock_warning(2 * 86_400_000);
        let off: serde_json::Value = serde_json::from_str(&status_json(
            &stats,
            (0, 0, 0),
            None,
            now,
            warning.as_deref(),
        ))
        .unwrap();
        assert!(
            off["clock_warning"]
                .as_str()
                .is_some_and(|w| w.starts_with("the booth's clock is off by 2 days")),
            "{off}"
        );
    }

    #[test]
    fn the_status_says_what_holds_the_queue_up() {
        let stats = QueueStats {
            pending: 1,
            last_error: Some("the county server at https://h showed certificate sha256:ab".into()),
            ..QueueStats::default()
        };
        let text = describe_status(&stats, (1, 2, 0), None, Utc::now());
        assert!(
            text.contains("pages: 1 to upload, 2 held by the county, 0 refused\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "last error: the county server at https://h showed certificate sha256:ab\n"
            ),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&status_json(&stats, (0, 0, 0), None, Utc::now(), None)).unwrap();
        assert_eq!(json["last_error"], stats.last_error.unwrap().as_str());
    }

    #[test]
    fn an_empty_queue_says_nothing_waits() {
        let text = describe_status(&QueueStats::default(), (0, 0, 0), None, Utc::now());
        assert!(text.contains("pending: 0"), "{text}");
        assert!(text.contains("next attempt: none"), "{text}");
    }
}
