//! The working-day calendar, for administrators whose scope spans the county: the days that break the Monday-to-Friday
//! rule (holidays on weekdays, weekend days worked in exchange). Deadlines are counted with
//! it when a submission is accepted and when its clock restarts.

use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse as _, Redirect};
use chrono::NaiveDate;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm};
use super::{Frame, PageResult, render};
use crate::domain::calendar::{CalendarDay, DayKind};
use crate::state::AppState;

/// The calendar is the county's: a holiday moves every deadline in it.
pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/calendar", Needs::CountyAdmin, get(show)),
        route(Method::POST, "/calendar", Needs::CountyAdmin, post(add)),
        route(
            Method::POST,
            "/calendar/remove",
            Needs::CountyAdmin,
            post(remove),
        ),
    ]
}

#[derive(Debug)]
struct DayLine {
    day: String,
    weekday: String,
    kind_key: &'static str,
    name: String,
}

#[derive(Template)]
#[template(path = "staff/calendar.html")]
struct CalendarPage {
    frame: Frame,
    days: Vec<DayLine>,
    problem: Option<String>,
}

async fn page(state: &AppState, staff: &Staff, problem: Option<String>, saved: bool) -> PageResult {
    let days = state
        .store()
        .calendar_days()
        .await
        .map_err(|e| staff.fail(e))?
        .into_iter()
        .map(|d| DayLine {
            weekday: d.day.format("%a").to_string(),
            day: d.day.to_string(),
            kind_key: match d.kind {
                DayKind::Holiday => "calendar.holiday",
                DayKind::Workday => "calendar.workday",
            },
            name: d.name,
        })
        .collect();
    let mut frame = staff.frame("calendar");
    frame.flash = saved.then_some("calendar.saved");
    let status = if problem.is_some() {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        axum::http::StatusCode::OK
    };
    let mut response = render(
        &CalendarPage {
            frame,
            days,
            problem,
        },
        staff.lang,
    );
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<Saved>,
) -> PageResult {
    page(&state, &staff, None, query.saved.is_some()).await
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

async fn add(State(state): State<AppState>, form: StaffForm<AddForm>) -> PageResult {
    let StaffForm { staff, form } = form;
    let day: Result<NaiveDate, _> = form.day.trim().parse();
    let kind: Result<DayKind, _> = form.kind.parse();
    let name = form.name.trim();
    let (Ok(day), Ok(kind)) = (day, kind) else {
        return page(
            &state,
            &staff,
            Some(format!(
                "`{}`: give a date (YYYY-MM-DD) and a kind",
                form.day.trim()
            )),
            false,
        )
        .await;
    };
    if name.is_empty() || name.chars().count() > crate::domain::limits::DAY_NAME {
        return page(
            &state,
            &staff,
            Some("give the day a name of at most 40 characters".into()),
            false,
        )
        .await;
    }
    state
        .store()
        .set_calendar_day(
            CalendarDay {
                day,
                kind,
                name: name.to_owned(),
            },
            staff
                .audit("calendar.set")
                .target(day.to_string())
                .detail(format!("{} {name}", kind.as_str())),
        )
        .await
        .map_err(|e| staff.fail(e))?;
    Ok(Redirect::to("/staff/calendar?saved=1").into_response())
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    day: NaiveDate,
}

async fn remove(State(state): State<AppState>, form: StaffForm<RemoveForm>) -> PageResult {
    let StaffForm { staff, form } = form;
    state
        .store()
        .remove_calendar_day(
            form.day,
            staff.audit("calendar.remove").target(form.day.to_string()),
        )
        .await
        .map_err(|e| staff.fail(e))?;
    Ok(Redirect::to("/staff/calendar?saved=1").into_response())
}
