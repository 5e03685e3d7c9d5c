//! Small formatting helpers shared by the commands.

use chrono::{DateTime, Utc};

/// `2026-03-01 08:00:00 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `12s ago`, `5m ago`, `3h ago`, `2d ago` (or `in …` for the future).
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds();
    let magnitude = secs.unsigned_abs();
    let text = match magnitude {
        0..60 => format!("{magnitude}s"),
        60..3600 => format!("{}m", magnitude / 60),
        3600..86_400 => format!("{}h", magnitude / 3600),
        _ => format!("{}d", magnitude / 86_400),
    };
    if secs >= 0 {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
