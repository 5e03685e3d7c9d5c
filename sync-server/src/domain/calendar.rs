//! Working days: Monday to Friday, minus the holidays the calendar lists, plus the weekend
//! days it lists as worked in exchange (调休上班). Time limits of the catalogue are counted in
//! these days, on the calendar of China Standard Time (UTC+8, no daylight saving).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// A day that breaks the weekday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A weekday off (法定节假日 or 调休放假).
    Holiday,
    /// A weekend day worked (调休上班).
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::Workday => "workday",
        }
    }
}

impl std::str::FromStr for DayKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "holiday" => Ok(Self::Holiday),
            "workday" => Ok(Self::Workday),
            other => Err(format!(
                "`{other}` is not a kind of day: use holiday or workday"
            )),
        }
    }
}

/// One exception with its name (国庆节, 春节调休 …).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// The local date in China of an instant.
pub use crate::domain::county_time::date as china_date;

/// The exceptions, ready to answer questions about days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    exceptions: BTreeMap<NaiveDate, DayKind>,
}

impl WorkingCalendar {
    pub fn new(days: &[CalendarDay]) -> Self {
        Self {
            exceptions: days.iter().map(|d| (d.day, d.kind)).collect(),
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        match self.exceptions.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The day a limit of `days` working days runs out when counted from `start`: the start
    /// day itself does not count (期间开始的当日不计入), so one working day from a Friday
    /// is the Monday. Zero days (即办件) is the start day.
    pub fn add_working_days(&self, start: NaiveDate, days: u32) -> NaiveDate {
        let mut day = start;
        let mut left = days;
        while left > 0 {
            day += Duration::days(1);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to` (0 when `to` is not later).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            day += Duration::days(1);
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn national_day_2026() -> WorkingCalendar {
        // A week off from Thursday 1 October, with Saturday 10 October worked in exchange.
        let mut days: Vec<CalendarDay> = (1..=7)
            .map(|d| CalendarDay {
                day: NaiveDate::from_ymd_opt(2026, 10, d).unwrap(),
                kind: DayKind::Holiday,
                name: "国庆节".into(),
            })
            .collect();
        days.push(CalendarDay {
            day: date("2026-10-10"),
            kind: DayKind::Workday,
            name: "国庆节调休".into(),
        });
        WorkingCalendar::new(&days)
    }

    #[test]
    fn weekends_do_not_count_and_the_start_day_does_not_either() {
        let plain = WorkingCalendar::default();
        // Friday + 1 working day = Monday; + 5 = the next Friday.
        assert_eq!(
            plain.add_working_days(date("2026-11-27"), 1),
            date("2026-11-30")
        );
        assert_eq!(
            plain.add_working_days(date("2026-11-27"), 5),
            date("2026-12-04")
        );
        assert_eq!(
            plain.add_working_days(date("2026-11-28"), 0),
            date("2026-11-28")
        );
    }

    #[test]
    fn holidays_are_skipped_and_exchanged_weekend_days_are_worked() {
        let calendar = national_day_2026();
        assert!(!calendar.is_working_day(date("2026-10-05")), "a Monday off");
        assert!(
            calendar.is_working_day(date("2026-10-10")),
            "a Saturday worked"
        );
        // From Wednesday 30 September, 3 working days: 8 Oct (Thu), 9 (Fri), 10 (Sat, worked).
        assert_eq!(
            calendar.add_working_days(date("2026-09-30"), 3),
            date("2026-10-10")
        );
    }

    #[test]
    fn days_between_count_the_working_days_after_the_first() {
        let calendar = national_day_2026();
        assert_eq!(
            calendar.working_days_between(date("2026-09-30"), date("2026-10-12")),
            4,
            "8, 9, 10 and 12 October"
        );
        assert_eq!(
            calendar.working_days_between(date("2026-10-12"), date("2026-10-12")),
            0
        );
        assert_eq!(
            calendar.working_days_between(date("2026-10-12"), date("2026-10-01")),
            0
        );
    }
}
