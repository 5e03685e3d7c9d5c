//! The booth's clock correction: after a power cut the booth may wake up days off, so it learns
//! `server time − booth time` from every response's `Date` header and signs with corrected
//! time (the server refuses `created` more than 300 s away from its own clock).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// Beyond this the technician is told the clock is off (signing still works).
pub const WARN_OFFSET: Duration = Duration::from_secs(60);

/// A `Date` header has whole seconds, and the request takes time: a new measurement within
/// this of the current offset carries no information, and ignoring it keeps the persisted value
/// from flapping on every response.
const NOISE_MS: i64 = 2_000;

/// Server time minus booth time, in milliseconds; shared by the client (which learns it) and
/// whoever persists or shows it. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClockOffset(Arc<AtomicI64>);

impl ClockOffset {
    /// Starts from a persisted offset (0 for a booth that never talked to the server).
    pub fn new(offset_ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(offset_ms)))
    }

    pub fn get_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set_ms(&self, offset_ms: i64) {
        self.0.store(offset_ms, Ordering::Relaxed);
    }

    /// The booth's clock corrected to server time: what requests are signed with.
    pub fn server_now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.get_ms())
    }

    /// Learns from a response: `server_date` from its `Date` header, `sent`/`received` the
    /// booth's (uncorrected) clock around the exchange. Returns the new offset when it changed.
    /// `force` takes the measurement even inside the noise band (after a `stale_timestamp`).
    pub fn learn(
        &self,
        server_date: DateTime<Utc>,
        sent: DateTime<Utc>,
        received: DateTime<Utc>,
        force: bool,
    ) -> Option<i64> {
        let measured = measure_offset_ms(server_date, sent, received);
        let current = self.get_ms();
        if measured == current || (!force && (measured - current).abs() <= NOISE_MS) {
            return None;
        }
        self.set_ms(measured);
        Some(measured)
    }
}

/// `Date` is truncated to the second, so the server's clock read somewhere in
/// `[date, date + 1 s)`: take the middle, against the middle of the exchange.
pub fn measure_offset_ms(
    server_date: DateTime<Utc>,
    sent: DateTime<Utc>,
    received: DateTime<Utc>,
) -> i64 {
    let server_ms = server_date.timestamp_millis() + 500;
    let local_ms = sent.timestamp_millis() + (received - sent).num_milliseconds() / 2;
    server_ms - local_ms
}

/// An HTTP date (RFC 9110 §5.6.7): IMF-fixdate, plus the obsolete RFC 850 and asctime forms
/// that recipients must still accept.
pub fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = DateTime::parse_from_rfc2822(text) {
        return Some(date.with_timezone(&Utc));
    }
    // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`.
    if let Some(rest) = text.strip_suffix(" GMT")
        && let Some((_, date)) = rest.split_once(", ")
        && let Ok(naive) = NaiveDateTime::parse_from_str(date, "%d-%b-%y %H:%M:%S")
    {
        return Some(naive.and_utc());
    }
    // asctime: `Sun Nov  6 08:49:37 1994`.
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    NaiveDateTime::parse_from_str(&collapsed, "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|naive| naive.and_utc())
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn format_http_date(date: DateTime<Utc>) -> String {
    date.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The line a technician sees when the booth's clock is more than [`WARN_OFFSET`] off, e.g.
/// `the booth's clock is off by 2 days 0 h (behind the server): signing with server time; set
/// the clock or check NTP`. `None` when the clock is fine.
pub fn clock_warning(offset_ms: i64) -> Option<String> {
    let off = Duration::from_millis(offset_ms.unsigned_abs());
    if off <= WARN_OFFSET {
        return None;
    }
    // A positive offset means the server is ahead: the booth's clock is behind.
    let direction = if offset_ms > 0 { "behind" } else { "ahead of" };
    Some(format!(
        "the booth's clock is off by {} ({direction} the server): signing with server time; set the clock or check NTP",
        human_duration(off)
    ))
}

/// `2 days 0 h`, `3 h 5 min`, `4 min 10 s`, `12 s`: two units, enough to act on, rounded to
/// the smaller one (an offset measured as 1 day 23 h 59 min 59.6 s reads `2 days 0 h`).
pub fn human_duration(duration: Duration) -> String {
    let rounded = |unit_ms: u128| (duration.as_millis() + unit_ms / 2) / unit_ms;
    let hours = rounded(3_600_000);
    if hours >= 24 {
        let days = hours / 24;
        let unit = if days == 1 { "day" } else { "days" };
        return format!("{days} {unit} {} h", hours % 24);
    }
    let minutes = rounded(60_000);
    if minutes >= 60 {
        return format!("{} h {} min", minutes / 60, minutes % 60);
    }
    let secs = rounded(1_000);
    if secs >= 60 {
        return format!("{} min {} s", secs / 60, secs % 60);
    }
    format!("{secs} s")
}

/// `+2 days 0 h`, `-12 s`, `0 s`: a signed offset for summaries.
pub fn describe_offset(offset_ms: i64) -> String {
    let magnitude = human_duration(Duration::from_millis(offset_ms.unsigned_abs()));
    // A sign on a value that rounds to nothing (`-0 s`) only puzzles the reader.
    let sign = match offset_ms.signum() {
        _ if magnitude == "0 s" => "",
        1 => "+",
        _ => "-",
    };
    format!("{sign}{magnitude}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn http_dates_parse_in_all_three_forms() {
        let expected = at("1994-11-06T08:49:37Z");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(expected)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(expected)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(expected));
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date(&format_http_date(expected)), Some(expected));
    }

    #[test]
    fn the_offset_is_server_minus_booth_around_the_exchange() {
        // The booth thinks it is 2 days earlier than the server.
        let sent = at("2026-11-24T08:00:00Z");
        let received = at("2026-11-24T08:00:01Z");
        let server = at("2026-11-26T08:00:00Z");
        let offset = measure_offset_ms(server, sent, received);
        assert_eq!(offset, 2 * 86_400_000);
        let clock = ClockOffset::default();
        assert_eq!(clock.learn(server, sent, received, false), Some(offset));
        let corrected = clock.server_now();
        assert!((corrected - Utc::now()).num_hours() >= 47, "{corrected}");
    }

    #[test]
    fn measurements_within_the_noise_are_ignored_unless_forced() {
        let clock = ClockOffset::new(10_000);
        let sent = at("2026-11-26T08:00:00Z");
        let server = at("2026-11-26T08:00:11Z");
        assert_eq!(clock.learn(server, sent, sent, false), None);
        assert_eq!(clock.get_ms(), 10_000);
        assert_eq!(clock.learn(server, sent, sent, true), Some(11_500));
        let far = at("2026-11-26T08:05:00Z");
        assert_eq!(clock.learn(far, sent, sent, false), Some(300_500));
    }

    #[test]
    fn the_technician_is_told_only_beyond_a_minute() {
        assert_eq!(clock_warning(59_000), None);
        assert_eq!(clock_warning(-60_000), None);
        assert_eq!(
            clock_warning(2 * 86_400_000 + 1_200).as_deref(),
            Some(
                "the booth's clock is off by 2 days 0 h (behind the server): signing with server time; set the clock or check NTP"
            )
        );
        assert!(
            clock_warning(-3_660_000)
                .unwrap()
                .contains("1 h 1 min (ahead of")
        );
        assert_eq!(describe_offset(-12_400), "-12 s");
        assert_eq!(describe_offset(0), "0 s");
        assert_eq!(describe_offset(-251), "0 s");
        assert_eq!(describe_offset(86_400_000 + 3_600_000), "+1 day 1 h");
        assert_eq!(human_duration(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(
            human_duration(Duration::from_millis(2 * 86_400_000 - 400)),
            "2 days 0 h"
        );
        assert_eq!(human_duration(Duration::from_secs(3_599)), "1 h 0 min");
        assert_eq!(human_duration(Duration::from_millis(59_600)), "1 min 0 s");
    }
}
