//! The county's clock: staff pages show times and take dates in China Standard Time (UTC+8,
//! no daylight saving), whatever zone the server's machine is set to.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The county's date at `now`.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&beijing()).date_naive()
}

/// `2026-03-01 16:05`, county time.
pub fn shown(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_county_day_starts_at_midnight_beijing_time() {
        let late_utc: DateTime<Utc> = "2026-03-01T16:30:00Z".parse().unwrap();
        assert_eq!(today(late_utc).to_string(), "2026-03-02");
        assert_eq!(shown(late_utc), "2026-03-02 00:30");
    }
}
