//! 好差评: the five-level ratings villagers give at the booth, tallied for the dashboard, and
//! the follow-up every 不满意/非常不满意 rating owes the villager. Pure logic over fixed inputs:
//! the store reads and writes, the staff pages show.
//!
//! - [`Tally`], [`aggregate`]: counts and shares per item, village, month or week.
//! - [`due_on`], [`overdue_before`]: a follow-up is due a number of working days after the
//!   rating arrived.
//! - [`FollowUp`], [`apply_step`]: what recording a call-back, a fix or the close does.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use sync_protocol::enroll::Village;

use crate::domain::calendar::{WorkingCalendar, china_date};

/// Ratings at or below this (不满意 2, 非常不满意 1) are follow-up tasks.
pub const BAD_AT_MOST: u8 = 2;
/// Ratings at or above this (满意 4, 非常满意 5) count as satisfied.
pub const SATISFIED_FROM: u8 = 4;
/// Working days staff have to call back and fix, unless the settings say otherwise.
pub const DEFAULT_FOLLOW_UP_DAYS: u32 = 5;
/// The longest note staff may record, in characters.
pub const MAX_NOTE_CHARS: usize = super::limits::NOTE;

pub fn is_bad(rating: u8) -> bool {
    (1..=BAD_AT_MOST).contains(&rating)
}

/// How many ratings of each level, 1 (非常不满意) to 5 (非常满意).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    counts: [u64; 5],
}

impl Tally {
    /// Adds `count` ratings of `rating`; a level outside 1–5 is not counted (the booth and the
    /// server both refuse one, so it can only come from a hand-edited store).
    pub fn add(&mut self, rating: u8, count: u64) {
        if let Some(slot) = rating
            .checked_sub(1)
            .and_then(|i| self.counts.get_mut(usize::from(i)))
        {
            *slot += count;
        }
    }

    pub fn count(&self, rating: u8) -> u64 {
        rating
            .checked_sub(1)
            .and_then(|i| self.counts.get(usize::from(i)))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// 满意 and 非常满意 together.
    pub fn satisfied(&self) -> u64 {
        (SATISFIED_FROM..=5).map(|r| self.count(r)).sum()
    }

    fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    /// The bar of a group: `units` slices split among the levels (worst first, as `counts`) by
    /// largest remainder, so the slices always add up to the whole bar. All zero when empty.
    pub fn bar(&self, units: u32) -> [u32; 5] {
        let total = self.total();
        let mut slices = [0u32; 5];
        if total == 0 {
            return slices;
        }
        let units_wide = u64::from(units);
        let mut remainders = [(0u64, 0usize); 5];
        for (i, count) in self.counts.iter().enumerate() {
            let exact = count * units_wide;
            slices[i] = u32::try_from(exact / total).unwrap_or(units);
            remainders[i] = (exact % total, i);
        }
        let given: u32 = slices.iter().sum();
        // Largest remainder first; among equal ones the better level, so ties never make a
        // group look worse than it is.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        for &(_, i) in remainders.iter().take((units - given) as usize) {
            slices[i] += 1;
        }
        slices
    }
}

/// `part` of `total` as a percentage with one decimal, rounded half up (`66.7%`); `–` when
/// there is nothing to divide.
pub fn share(part: u64, total: u64) -> String {
    if total == 0 {
        return "–".to_owned();
    }
    let tenths = (part * 2000 + total) / (2 * total);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// Ratings of one level for one item in one village on one day (China time): the store's
/// answer, already counted, so the dashboard never loads single ratings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingCount {
    /// `None` when the rating named no catalogue item.
    pub item_code: Option<String>,
    pub village: Village,
    pub day: NaiveDate,
    pub rating: u8,
    pub count: u64,
}

/// What the dashboard groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    #[default]
    Item,
    Village,
    Month,
    /// Monday to Sunday.
    Week,
}

impl GroupBy {
    pub const ALL: [Self; 4] = [Self::Item, Self::Village, Self::Month, Self::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Item => "item",
            Self::Village => "village",
            Self::Month => "month",
            Self::Week => "week",
        }
    }
}

impl FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|by| by.as_str() == text.trim())
            .ok_or_else(|| format!("`{text}` is not a grouping: use item, village, month or week"))
    }
}

/// What one row of the dashboard stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Item(Option<String>),
    Village(Village),
    /// The first day of the month.
    Month(NaiveDate),
    /// The Monday of the week.
    Week(NaiveDate),
}

impl GroupKey {
    /// Orders keys: items by code (none first), villages by county, township and name,
    /// periods by date.
    fn sort_key(&self) -> (u8, Option<&str>, [&str; 3], NaiveDate) {
        match self {
            Self::Item(code) => (0, code.as_deref(), [""; 3], NaiveDate::MIN),
            Self::Village(v) => (
                1,
                None,
                [&v.county, &v.township, &v.village],
                NaiveDate::MIN,
            ),
            Self::Month(day) => (2, None, [""; 3], *day),
            Self::Week(day) => (3, None, [""; 3], *day),
        }
    }
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for GroupKey {
    /// The language-neutral label of a period; items and villages are named by the page.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Item(code) => f.write_str(code.as_deref().unwrap_or("-")),
            Self::Village(v) => write!(f, "{} {}", v.township, v.village),
            Self::Month(first) => write!(f, "{}-{:02}", first.year(), first.month()),
            Self::Week(monday) => write!(
                f,
                "{} – {}",
                monday.format("%Y-%m-%d"),
                (*monday + Duration::days(6)).format("%m-%d")
            ),
        }
    }
}

/// One row of the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub key: GroupKey,
    pub tally: Tally,
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn week_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The rows of the dashboard over `from..=until`. Items and villages: the most rated first
/// (then by key), only those rated. Months and weeks: in order, every period of the range
/// including those without a rating, so a quiet month shows as one. Counts of days outside
/// the range are left out.
pub fn aggregate(
    counts: &[RatingCount],
    by: GroupBy,
    from: NaiveDate,
    until: NaiveDate,
) -> Vec<Group> {
    let key_of = |count: &RatingCount| match by {
        GroupBy::Item => GroupKey::Item(count.item_code.clone()),
        GroupBy::Village => GroupKey::Village(count.village.clone()),
        GroupBy::Month => GroupKey::Month(month_of(count.day)),
        GroupBy::Week => GroupKey::Week(week_of(count.day)),
    };
    let mut tallies: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    match by {
        GroupBy::Month => {
            let mut month = month_of(from);
            while month <= until {
                tallies.entry(GroupKey::Month(month)).or_default();
                month = month + Months::new(1);
            }
        }
        GroupBy::Week => {
            let mut monday = week_of(from);
            while monday <= until {
                tallies.entry(GroupKey::Week(monday)).or_default();
                monday += Duration::days(7);
            }
        }
        GroupBy::Item | GroupBy::Village => {}
    }
    for count in counts.iter().filter(|c| (from..=until).contains(&c.day)) {
        tallies
            .entry(key_of(count))
            .or_default()
            .add(count.rating, count.count);
    }
    let mut groups: Vec<Group> = tallies
        .into_iter()
        .map(|(key, tally)| Group { key, tally })
        .collect();
    if matches!(by, GroupBy::Item | GroupBy::Village) {
        // Stable: equal totals keep the key order from the map.
        groups.sort_by_key(|g| std::cmp::Reverse(g.tally.total()));
    }
    groups
}

/// Every group together.
pub fn overall(groups: &[Group]) -> Tally {
    let mut all = Tally::default();
    for group in groups {
        all.merge(&group.tally);
    }
    all
}

/// The instant a China date begins.
pub use crate::domain::county_time::day_start as china_day_start;

/// The dashboard's default range: the last three months up to `today`.
pub fn default_range(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let from = today
        .checked_sub_months(Months::new(3))
        .map_or(today, |d| d + Duration::days(1));
    (from, today)
}

/// The last day to have called back and fixed a bad rating received at `received_at`:
/// `days` working days after the China date it arrived (that day itself not counted).
pub fn due_on(received_at: DateTime<Utc>, days: u32, calendar: &WorkingCalendar) -> NaiveDate {
    calendar.add_working_days(china_date(received_at), days)
}

/// The China date from which an open task received on it is not yet overdue `today`: a task
/// is overdue when its due date has passed, and the due date never goes back as the received
/// date goes forward, so "overdue" is "received before this day" and a store can filter on it.
pub fn overdue_before(today: NaiveDate, days: u32, calendar: &WorkingCalendar) -> NaiveDate {
    let mut day = today;
    // Each step back crosses at most one working day; a year of holidays is far beyond any
    // real calendar, and the bound keeps a malformed one from looping.
    for _ in 0..(u64::from(days) + 366) {
        let earlier = day - Duration::days(1);
        if calendar.add_working_days(earlier, days) < today {
            break;
        }
        day = earlier;
    }
    day
}

/// What staff recorded about one bad rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub called_back_at: Option<DateTime<Utc>>,
    /// What the villager said on the call.
    pub call_note: Option<String>,
    /// What was done about it.
    pub fix_note: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl FollowUp {
    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }
}

/// Where a task stands, for the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nobody has called the villager yet.
    AwaitingCall,
    Called,
    /// A fix is recorded; only the close is left.
    Fixed,
    Closed,
}

pub fn stage(follow_up: Option<&FollowUp>) -> Stage {
    match follow_up {
        None => Stage::AwaitingCall,
        Some(f) if f.is_closed() => Stage::Closed,
        Some(f) if f.fix_note.is_some() => Stage::Fixed,
        Some(f) if f.called_back_at.is_some() => Stage::Called,
        Some(_) => Stage::AwaitingCall,
    }
}

/// One thing staff record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpStep {
    /// The villager was called back at `at` and said `note`. Recording it again corrects it.
    Call { at: DateTime<Utc>, note: String },
    /// What was done; recording it again corrects it.
    Fix { note: String },
    /// Done: needs a fix on record.
    Close,
}

impl FollowUpStep {
    /// The audit action that records it.
    pub fn audit_action(&self) -> &'static str {
        match self {
            Self::Call { .. } => "followup.call",
            Self::Fix { .. } => "followup.fix",
            Self::Close => "followup.close",
        }
    }
}

/// Why a step was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepRefused {
    #[error("the task is closed: nothing more can be recorded on it")]
    Closed,
    #[error("the note is empty: write what was said or done")]
    EmptyNote,
    #[error("the note is longer than {MAX_NOTE_CHARS} characters: shorten it")]
    NoteTooLong,
    #[error("the call-back time is in the future: enter when the call took place")]
    CallInFuture,
    #[error("the call-back time is before the rating arrived: check the date")]
    CallBeforeRating,
    #[error("no fix is recorded: record what was done before closing")]
    NoFix,
}

fn note(text: &str) -> Result<String, StepRefused> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StepRefused::EmptyNote);
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(StepRefused::NoteTooLong);
    }
    Ok(text.to_owned())
}

/// The follow-up after `step`, recorded by `actor` at `now` on a rating received at
/// `received_at`; `current` is what was recorded before (none yet: an untouched task).
pub fn apply_step(
    current: Option<&FollowUp>,
    step: &FollowUpStep,
    received_at: DateTime<Utc>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<FollowUp, StepRefused> {
    let mut next = current.cloned().unwrap_or(FollowUp {
        called_back_at: None,
        call_note: None,
        fix_note: None,
        closed_at: None,
        closed_by: None,
        updated_at: now,
    });
    if next.is_closed() {
        return Err(StepRefused::Closed);
    }
    match step {
        FollowUpStep::Call { at, note: said } => {
            if *at > now {
                return Err(StepRefused::CallInFuture);
            }
            // Staff enter minutes: a call in the minute the rating arrived is not before it.
            let received_minute = received_at
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(received_at);
            if *at < received_minute {
                return Err(StepRefused::CallBeforeRating);
            }
            next.call_note = Some(note(said)?);
            next.called_back_at = Some(*at);
        }
        FollowUpStep::Fix { note: done } => next.fix_note = Some(note(done)?),
        FollowUpStep::Close => {
            if next.fix_note.is_none() {
                return Err(StepRefused::NoFix);
            }
            next.closed_at = Some(now);
            next.closed_by = Some(actor.to_owned());
        }
    }
    next.updated_at = now;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{CalendarDay, DayKind};

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn village(name: &str) -> Village {
        Village {
            county: "示范县".into(),
            township: "凤岭乡".into(),
            village: name.into(),
        }
    }

    fn count(item: Option<&str>, village_name: &str, day: &str, rating: u8, n: u64) -> RatingCount {
        RatingCount {
            item_code: item.map(str::to_owned),
            village: village(village_name),
            day: date(day),
            rating,
            count: n,
        }
    }

    #[test]
    fn a_tally_counts_levels_shares_and_the_satisfied() {
        let mut tally = Tally::default();
        for rating in [5, 4, 2, 1] {
            tally.add(rating, 1);
        }
        tally.add(0, 9);
        tally.add(6, 9);
        assert_eq!(tally.total(), 4, "levels outside 1–5 are not counted");
        assert_eq!((tally.count(5), tally.count(3), tally.count(1)), (1, 0, 1));
        assert_eq!(tally.satisfied(), 2);
        assert_eq!(share(tally.satisfied(), tally.total()), "50.0%");
        assert_eq!(share(2, 3), "66.7%");
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(1, 8), "12.5%");
        assert_eq!(share(0, 0), "–");
    }

    #[test]
    fn a_bar_always_fills_its_units_by_largest_remainder() {
        let mut thirds = Tally::default();
        for rating in [5, 4, 3] {
            thirds.add(rating, 1);
        }
        // 20/3 each: 6 + 6 + 6 and the two spare units to the better levels.
        assert_eq!(thirds.bar(20), [0, 0, 6, 7, 7]);
        let mut mostly_good = Tally::default();
        mostly_good.add(5, 97);
        mostly_good.add(1, 3);
        assert_eq!(mostly_good.bar(20), [1, 0, 0, 0, 19]);
        assert_eq!(Tally::default().bar(20), [0; 5]);
        let mut many = Tally::default();
        for (rating, n) in [(1, 13), (2, 7), (3, 29), (4, 31), (5, 19)] {
            many.add(rating, n);
        }
        assert_eq!(many.bar(20).iter().sum::<u32>(), 20);
    }

    #[test]
    fn items_and_villages_are_grouped_most_rated_first() {
        let counts = [
            count(Some("A"), "义江村", "2026-03-02", 5, 1),
            count(Some("B"), "义江村", "2026-03-02", 2, 2),
            count(Some("B"), "石门村", "2026-03-03", 1, 1),
            count(None, "石门村", "2026-03-03", 4, 1),
        ];
        let from = date("2026-03-01");
        let until = date("2026-03-31");
        let items = aggregate(&counts, GroupBy::Item, from, until);
        let keys: Vec<_> = items.iter().map(|g| g.key.clone()).collect();
        assert_eq!(
            keys,
            [
                GroupKey::Item(Some("B".into())),
                GroupKey::Item(None),
                GroupKey::Item(Some("A".into())),
            ]
        );
        assert_eq!((items[0].tally.count(2), items[0].tally.count(1)), (2, 1));
        let villages = aggregate(&counts, GroupBy::Village, from, until);
        assert_eq!(villages.len(), 2);
        assert_eq!(villages[0].key, GroupKey::Village(village("义江村")));
        assert_eq!(villages[0].tally.total(), 3);
        assert_eq!(overall(&villages).total(), 5);
        assert_eq!(villages[1].key.to_string(), "凤岭乡 石门村");
    }

    #[test]
    fn periods_cover_the_whole_range_even_when_quiet() {
        let counts = [
            count(Some("A"), "义江村", "2026-01-31", 5, 2),
            count(Some("A"), "义江村", "2026-03-01", 1, 1),
        ];
        let months = aggregate(
            &counts,
            GroupBy::Month,
            date("2026-01-15"),
            date("2026-03-10"),
        );
        let labels: Vec<_> = months.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(labels, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(
            months.iter().map(|g| g.tally.total()).collect::<Vec<_>>(),
            [2, 0, 1]
        );
        // 2026-03-01 is a Sunday: it belongs to the week from Monday 23 February; 31 January
        // is outside the range.
        let weeks = aggregate(
            &counts,
            GroupBy::Week,
            date("2026-02-23"),
            date("2026-03-02"),
        );
        let labels: Vec<_> = weeks.iter().map(|g| g.key.to_string()).collect();
        assert_eq!(labels, ["2026-02-23 – 03-01", "2026-03-02 – 03-08"]);
        assert_eq!(weeks[0].tally.count(1), 1);
        assert_eq!(weeks[1].tally.total(), 0);
    }

    #[test]
    fn groupings_parse_from_the_form() {
        assert_eq!("village".parse::<GroupBy>(), Ok(GroupBy::Village));
        assert!("day".parse::<GroupBy>().is_err());
    }

    #[test]
    fn the_default_range_is_the_last_three_months() {
        assert_eq!(
            default_range(date("2026-05-31")),
            (date("2026-03-01"), date("2026-05-31"))
        );
        assert_eq!(
            china_day_start(date("2026-03-01")),
            at("2026-02-28T16:00:00Z")
        );
    }

    fn with_holiday(day: &str) -> WorkingCalendar {
        WorkingCalendar::new(&[CalendarDay {
            day: date(day),
            kind: DayKind::Holiday,
            name: "清明节".into(),
        }])
    }

    #[test]
    fn a_follow_up_is_due_working_days_after_the_china_date_it_arrived() {
        let plain = WorkingCalendar::default();
        // Thursday 2 April 2026, 17:00 in China: five working days is Thursday 9 April.
        let received = at("2026-04-02T09:00:00Z");
        assert_eq!(due_on(received, 5, &plain), date("2026-04-09"));
        // With Monday 6 April off, Friday 10 April.
        assert_eq!(
            due_on(received, 5, &with_holiday("2026-04-06")),
            date("2026-04-10")
        );
        // 01:00 UTC+8 on Friday is still Thursday in UTC: the China date counts.
        let early_friday = at("2026-04-02T17:00:00Z");
        assert_eq!(due_on(early_friday, 5, &plain), date("2026-04-10"));
        assert_eq!(due_on(received, 3, &plain), date("2026-04-07"));
    }

    #[test]
    fn overdue_is_received_before_a_cutoff_that_agrees_with_the_due_date() {
        let calendars = [WorkingCalendar::default(), with_holiday("2026-04-06")];
        for calendar in &calendars {
            for today in (0..40).map(|d| date("2026-03-20") + Duration::days(d)) {
                for days in [0, 1, 5] {
                    let cutoff = overdue_before(today, days, calendar);
                    for received in (0..30).map(|d| today - Duration::days(d)) {
                        let overdue = calendar.add_working_days(received, days) < today;
                        assert_eq!(
                            received < cutoff,
                            overdue,
                            "today {today}, {days} days, received {received}"
                        );
                    }
                }
            }
        }
        // Monday 13 April, with 6 April off: received Thursday 2 April is due Friday 10 April
        // and overdue; received Friday 3 April is due today and is not.
        assert_eq!(
            overdue_before(date("2026-04-13"), 5, &with_holiday("2026-04-06")),
            date("2026-04-03")
        );
    }

    #[test]
    fn a_task_is_called_fixed_and_closed_and_then_stays_closed() {
        let received = at("2026-04-02T09:00:30Z");
        let now = at("2026-04-03T02:00:00Z");
        let call = FollowUpStep::Call {
            at: at("2026-04-03T01:30:00Z"),
            note: "  等太久了  ".into(),
        };
        let called = apply_step(None, &call, received, now, "li").unwrap();
        assert_eq!(called.call_note.as_deref(), Some("等太久了"));
        assert_eq!(stage(Some(&called)), Stage::Called);
        assert_eq!(stage(None), Stage::AwaitingCall);

        assert_eq!(
            apply_step(Some(&called), &FollowUpStep::Close, received, now, "li"),
            Err(StepRefused::NoFix)
        );
        let fix = FollowUpStep::Fix {
            note: "加开窗口".into(),
        };
        let fixed = apply_step(Some(&called), &fix, received, now, "li").unwrap();
        assert_eq!(stage(Some(&fixed)), Stage::Fixed);
        assert_eq!(fixed.called_back_at, called.called_back_at, "kept");

        let later = now + Duration::hours(1);
        let closed =
            apply_step(Some(&fixed), &FollowUpStep::Close, received, later, "wang").unwrap();
        assert_eq!(
            (
                closed.closed_at,
                closed.closed_by.as_deref(),
                closed.updated_at
            ),
            (Some(later), Some("wang"), later)
        );
        assert_eq!(stage(Some(&closed)), Stage::Closed);
        for step in [call, fix, FollowUpStep::Close] {
            assert_eq!(
                apply_step(Some(&closed), &step, received, later, "li"),
                Err(StepRefused::Closed)
            );
        }
    }

    #[test]
    fn notes_and_call_times_are_checked() {
        let received = at("2026-04-02T09:00:30Z");
        let now = at("2026-04-03T02:00:00Z");
        let call = |when: &str, note: &str| FollowUpStep::Call {
            at: at(when),
            note: note.into(),
        };
        let refused =
            |step: FollowUpStep| apply_step(None, &step, received, now, "li").unwrap_err();
        assert_eq!(
            refused(call("2026-04-03T02:01:00Z", "好")),
            StepRefused::CallInFuture
        );
        assert_eq!(
            refused(call("2026-04-02T08:59:00Z", "好")),
            StepRefused::CallBeforeRating
        );
        assert_eq!(
            refused(call("2026-04-02T10:00:00Z", " \n ")),
            StepRefused::EmptyNote
        );
        assert_eq!(
            refused(FollowUpStep::Fix {
                note: "长".repeat(MAX_NOTE_CHARS + 1)
            }),
            StepRefused::NoteTooLong
        );
        // Entered to the minute, within the minute the rating arrived.
        assert!(
            apply_step(
                None,
                &call("2026-04-02T09:00:00Z", "好"),
                received,
                now,
                "li"
            )
            .is_ok()
        );
        assert_eq!(FollowUpStep::Close.audit_action(), "followup.close");
    }
}
