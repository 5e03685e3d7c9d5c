//! The audit log, for administrators whose scope spans the county
//! (`access::Needs::CountyAdmin`: it records every account's actions, so it is no township's
//! to read): every staff action and every view of full personal data, filterable, newest
//! first. Read only: the table refuses changes (schema triggers).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Method;
use chrono::NaiveDate;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::Staff;
use super::{Frame, PageResult, StaffError, render};
use crate::domain::county_time;
use crate::state::AppState;
use crate::store::staff::AuditFilter;

pub fn routes() -> Vec<StaffRoute> {
    vec![route(
        Method::GET,
        "/audit",
        Needs::CountyAdmin,
        axum::routing::get(show),
    )]
}

const PAGE_SIZE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    before: Option<i64>,
}

#[derive(Debug)]
struct Line {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    remote: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    frame: Frame,
    params: AuditParams,
    lines: Vec<Line>,
    older: Option<String>,
}

fn parse_day(text: &str) -> Result<Option<NaiveDate>, StaffError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| StaffError::BadRequest(format!("`{text}` is not a date: use YYYY-MM-DD")))
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<AuditParams>,
) -> PageResult {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let from = parse_day(&params.from).map_err(|e| staff.fail(e))?;
    let until = parse_day(&params.until).map_err(|e| staff.fail(e))?;
    let filter = AuditFilter {
        actor: text(&params.actor),
        action: text(&params.action),
        target: text(&params.target),
        from: from.map(county_time::day_start),
        until: until.map(|d| county_time::day_start(d + chrono::Duration::days(1))),
        before_seq: params.before,
        limit: PAGE_SIZE,
    };
    let records = state
        .store()
        .list_audit(&filter)
        .await
        .map_err(|e| staff.fail(e))?;
    let older = (records.len() == PAGE_SIZE as usize)
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            let pairs = [
                ("actor", params.actor.as_str()),
                ("action", params.action.as_str()),
                ("target", params.target.as_str()),
                ("from", params.from.as_str()),
                ("until", params.until.as_str()),
                ("before", &seq.to_string()),
            ];
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        });
    let lines = records
        .into_iter()
        .map(|r| Line {
            at: r
                .entry
                .at
                .with_timezone(&county_time::offset())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            actor: r.entry.actor,
            action: r.entry.action,
            target: r.entry.target.unwrap_or_default(),
            detail: r.entry.detail.unwrap_or_default(),
            remote: r.entry.remote.unwrap_or_default(),
        })
        .collect();
    Ok(render(
        &AuditPage {
            frame: staff.frame("audit"),
            params,
            lines,
            older,
        },
        staff.lang,
    ))
}
