//! The county's clock: dates, deadlines and the times staff read are China Standard Time
//! (UTC+8, no daylight saving), whatever zone the server's machine is set to. The one place
//! that offset is written down.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone as _, Utc};

/// UTC+8.
pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The county's date at `at`.
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&offset()).date_naive()
}

/// The instant the county's `day` begins.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    offset()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .map_or(DateTime::<Utc>::MIN_UTC, |at| at.with_timezone(&Utc))
}

/// `2026-03-01 16:05`, county time.
pub fn shown(at: DateTime<Utc>) -> String {
    at.with_timezone(&offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_county_day_starts_at_midnight_beijing_time() {
        let late_utc: DateTime<Utc> = "2026-03-01T16:30:00Z".parse().unwrap();
        assert_eq!(date(late_utc).to_string(), "2026-03-02");
        assert_eq!(shown(late_utc), "2026-03-02 00:30");
        let start = day_start("2026-03-02".parse().unwrap());
        assert_eq!(
            start,
            "2026-03-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
