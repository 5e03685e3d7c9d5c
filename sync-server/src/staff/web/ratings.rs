//! `/staff/ratings`: the 好差评 dashboard. Every role sees the ratings in its scope, counted per
//! item, village, month or week over a date range, with each level's count and share, the
//! share satisfied and a bar per group drawn with CSS classes (the CSP blocks inline styles).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::Staff;
use super::{Frame, PageResult, render};
use crate::domain::calendar::china_date;
use crate::domain::ratings::{self, GroupBy, GroupKey, Tally};
use crate::staff::i18n::Lang;
use crate::state::AppState;
use crate::store::ratings::{ItemName, RatingsQuery};

pub fn routes() -> Vec<StaffRoute> {
    vec![route(
        Method::GET,
        "/ratings",
        Needs::Session,
        axum::routing::get(show),
    )]
}

/// The level names, indexed by rating − 1.
pub const LEVEL_KEYS: [&str; 5] = ["rating.1", "rating.2", "rating.3", "rating.4", "rating.5"];

/// The text key of a rating's level.
pub fn level_key(rating: u8) -> &'static str {
    rating
        .checked_sub(1)
        .and_then(|i| LEVEL_KEYS.get(usize::from(i)))
        .copied()
        .unwrap_or("rating.unknown")
}

/// A catalogue item as a page names it: in the page's language, else Chinese, else its code.
pub fn item_label(item: &ItemName, lang: Lang) -> String {
    let names = match lang {
        Lang::Zh => [&item.name_zh, &item.name_en],
        Lang::En => [&item.name_en, &item.name_zh],
    };
    names
        .into_iter()
        .find(|name| !name.trim().is_empty())
        .unwrap_or(&item.code)
        .clone()
}

/// How many slices a bar has: each one is a `u1`…`u20` width class (5%) in staff.css.
const BAR_UNITS: u32 = 20;

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    by: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

/// One level's cell.
#[derive(Debug)]
struct Cell {
    count: u64,
    share: String,
}

/// One row: a group, or all of them.
#[derive(Debug)]
struct Row {
    label: String,
    total: u64,
    /// Best level first, as the columns.
    cells: Vec<Cell>,
    satisfied: String,
    /// The bar's slices, best level first: their classes (`l5 u7`).
    bar: Vec<String>,
}

fn row(label: String, tally: &Tally) -> Row {
    let total = tally.total();
    let slices = tally.bar(BAR_UNITS);
    Row {
        label,
        total,
        cells: (1..=5u8)
            .rev()
            .map(|rating| Cell {
                count: tally.count(rating),
                share: ratings::share(tally.count(rating), total),
            })
            .collect(),
        satisfied: ratings::share(tally.satisfied(), total),
        bar: (1..=5u8)
            .rev()
            .zip(slices.iter().rev())
            .filter(|(_, units)| **units > 0)
            .map(|(rating, units)| format!("l{rating} u{units}"))
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "staff/ratings.html")]
struct DashboardPage {
    frame: Frame,
    by: &'static str,
    groupings: Vec<(&'static str, &'static str)>,
    group_heading: &'static str,
    from: String,
    until: String,
    problem: Option<&'static str>,
    /// Best level first.
    levels: Vec<(u8, &'static str)>,
    rows: Vec<Row>,
    all: Row,
}

fn grouping_keys(by: GroupBy) -> (&'static str, &'static str) {
    match by {
        GroupBy::Item => ("ratings.by.item", "ratings.col.item"),
        GroupBy::Village => ("ratings.by.village", "ratings.col.village"),
        GroupBy::Month => ("ratings.by.month", "ratings.col.month"),
        GroupBy::Week => ("ratings.by.week", "ratings.col.week"),
    }
}

/// What the form asked for, or the defaults with the reason they were used.
fn read_query(
    query: &DashboardQuery,
    today: NaiveDate,
) -> (GroupBy, NaiveDate, NaiveDate, Option<&'static str>) {
    let filled = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (default_from, default_until) = ratings::default_range(today);
    let mut problem = None;
    let by = match filled(&query.by).map(|b| b.parse::<GroupBy>()) {
        None => GroupBy::default(),
        Some(Ok(by)) => by,
        Some(Err(_)) => {
            problem = Some("ratings.bad_group");
            GroupBy::default()
        }
    };
    let date = |value: &Option<String>, default: NaiveDate| match filled(value) {
        None => Ok(default),
        Some(text) => text.parse::<NaiveDate>().map_err(|_| ()),
    };
    let (from, until) = match (
        date(&query.from, default_from),
        date(&query.until, default_until),
    ) {
        (Ok(from), Ok(until)) if from <= until => (from, until),
        (Ok(_), Ok(_)) => {
            problem = Some("ratings.bad_range");
            (default_from, default_until)
        }
        _ => {
            problem = Some("ratings.bad_date");
            (default_from, default_until)
        }
    };
    (by, from, until, problem)
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<DashboardQuery>,
) -> PageResult {
    let today = china_date(Utc::now());
    let (by, from, until, problem) = read_query(&query, today);
    let counts = state
        .store()
        .rating_counts(&RatingsQuery {
            scope: staff.user.scope.clone(),
            received_from: ratings::china_day_start(from),
            received_until: ratings::china_day_start(until + Duration::days(1)),
        })
        .await
        .map_err(|e| staff.fail(e))?;
    let groups = ratings::aggregate(&counts, by, from, until);
    let mut codes: Vec<String> = counts.iter().filter_map(|c| c.item_code.clone()).collect();
    codes.sort();
    codes.dedup();
    let names: HashMap<String, ItemName> = if by == GroupBy::Item && !codes.is_empty() {
        state
            .store()
            .item_names(&codes)
            .await
            .map_err(|e| staff.fail(e))?
            .into_iter()
            .map(|item| (item.code.clone(), item))
            .collect()
    } else {
        HashMap::new()
    };
    let frame = staff.frame("ratings");
    let label = |key: &GroupKey| match key {
        GroupKey::Item(None) => frame.t("ratings.no_item").into_owned(),
        GroupKey::Item(Some(code)) => names
            .get(code)
            .map_or_else(|| code.clone(), |item| item_label(item, staff.lang)),
        other => other.to_string(),
    };
    let rows = groups
        .iter()
        .map(|group| row(label(&group.key), &group.tally))
        .collect();
    let all = row(
        frame.t("ratings.all").into_owned(),
        &ratings::overall(&groups),
    );
    let (_, group_heading) = grouping_keys(by);
    let page = DashboardPage {
        by: by.as_str(),
        groupings: GroupBy::ALL
            .into_iter()
            .map(|g| (g.as_str(), grouping_keys(g).0))
            .collect(),
        group_heading,
        from: from.to_string(),
        until: until.to_string(),
        problem,
        levels: (1..=5u8).rev().map(|r| (r, level_key(r))).collect(),
        rows,
        all,
        frame,
    };
    Ok(render(&page, staff.lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(by: &str, from: &str, until: &str) -> DashboardQuery {
        let some = |v: &str| Some(v.to_owned());
        DashboardQuery {
            by: some(by),
            from: some(from),
            until: some(until),
        }
    }

    #[test]
    fn the_form_falls_back_to_the_last_three_months_by_item_with_a_reason() {
        let today: NaiveDate = "2026-05-31".parse().unwrap();
        let defaults = |problem| (GroupBy::Item, "2026-03-01".parse().unwrap(), today, problem);
        assert_eq!(read_query(&query("", "", ""), today), defaults(None));
        assert_eq!(
            read_query(&query("week", "2026-01-01", "2026-01-31"), today),
            (
                GroupBy::Week,
                "2026-01-01".parse().unwrap(),
                "2026-01-31".parse().unwrap(),
                None
            )
        );
        assert_eq!(
            read_query(&query("", "2026-13-01", ""), today),
            defaults(Some("ratings.bad_date"))
        );
        assert_eq!(
            read_query(&query("", "2026-02-01", "2026-01-01"), today),
            defaults(Some("ratings.bad_range"))
        );
        assert_eq!(
            read_query(&query("day", "", ""), today),
            defaults(Some("ratings.bad_group"))
        );
    }

    #[test]
    fn a_row_lists_levels_best_first_and_its_bar_fills_twenty_units() {
        let mut tally = Tally::default();
        for rating in [5, 4, 2, 1] {
            tally.add(rating, 1);
        }
        let row = row("义江村".into(), &tally);
        let counts: Vec<u64> = row.cells.iter().map(|c| c.count).collect();
        assert_eq!(counts, [1, 1, 0, 1, 1]);
        assert_eq!(row.cells[0].share, "25.0%");
        assert_eq!(row.satisfied, "50.0%");
        assert_eq!(row.bar, ["l5 u5", "l4 u5", "l2 u5", "l1 u5"]);
        assert_eq!(level_key(2), "rating.2");
        assert_eq!(level_key(9), "rating.unknown");
    }

    #[test]
    fn items_are_named_in_the_page_language_then_chinese_then_by_code() {
        let item = |zh: &str, en: &str| ItemName {
            code: "GX-MZ-001".into(),
            name_zh: zh.into(),
            name_en: en.into(),
        };
        assert_eq!(
            item_label(&item("临时救助", "Temporary assistance"), Lang::Zh),
            "临时救助"
        );
        assert_eq!(
            item_label(&item("临时救助", "Temporary assistance"), Lang::En),
            "Temporary assistance"
        );
        assert_eq!(item_label(&item("临时救助", ""), Lang::En), "临时救助");
        assert_eq!(item_label(&item("", " "), Lang::Zh), "GX-MZ-001");
    }
}
