//! How values are spelled in SQLite: times as fixed-width RFC 3339 text (so text order is
//! time order and `<=` works in SQL), ids as hyphenated UUID text.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use uuid::Uuid;

use super::error::Fault;

/// `2026-11-26T08:00:00.000000Z`: always 27 characters for years 0000–9999.
pub(crate) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, Fault> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Fault::decode("time", e))
}

pub(crate) fn parse_optional_time(text: Option<&str>) -> Result<Option<DateTime<Utc>>, Fault> {
    text.map(parse_time).transpose()
}

pub(crate) fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid, Fault> {
    Uuid::parse_str(text).map_err(|e| Fault::decode("submission id", e))
}

/// "Due at once, whatever the booth's clock says": new and re-queued items get this as their
/// next attempt time, so a booth whose clock runs behind still uploads them immediately.
pub(crate) fn due_at_once() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}
