//! `/staff/follow-ups`: every 不满意/非常不满意 rating is a task, due a number of working days
//! after it arrived (`Settings::follow_up_days`, on the holiday calendar). The list shows open,
//! overdue or closed tasks; a task's page shows the rating and what staff recorded, with forms
//! to record the call-back, the fix and the close. The reviewing roles and administrators
//! record; viewers read. Each record is audited (`followup.call`, `followup.fix`,
//! `followup.close`, target the rating's receipt number) without the notes themselves.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse as _, Redirect};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Timelike as _, Utc};
use serde::Deserialize;
use sync_protocol::receipt::ReceiptNumber;

use super::access::{Needs, StaffRoute, route};
use super::ratings::{item_label, level_key};
use super::session::{Staff, StaffForm};
use super::{Frame, PageResult, StaffError, render};
use crate::domain::access::Role;
use crate::domain::calendar::{WorkingCalendar, china_date};
use crate::domain::county_time;
use crate::domain::ratings::{self, FollowUpStep, MAX_NOTE_CHARS, Stage, StepRefused};
use crate::staff::i18n::Lang;
use crate::state::AppState;
use crate::store::paging::{PageAt, TaskKey};
use crate::store::ratings::{FollowUpRefusal, FollowUpTask, FollowUpWrite, TaskFilter, TaskQuery};

pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/follow-ups", Needs::Session, get(list)),
        route(
            Method::GET,
            "/follow-ups/{receipt}",
            Needs::Session,
            get(show),
        ),
        route(
            Method::POST,
            "/follow-ups/{receipt}/call",
            Needs::Recorder,
            post(call),
        ),
        route(
            Method::POST,
            "/follow-ups/{receipt}/fix",
            Needs::Recorder,
            post(fix),
        ),
        route(
            Method::POST,
            "/follow-ups/{receipt}/close",
            Needs::Recorder,
            post(close),
        ),
    ]
}

/// Tasks per page of the list.
const PAGE_SIZE: u32 = 50;
/// The form field format of `<input type="datetime-local">`.
const LOCAL_MINUTE: &str = "%Y-%m-%dT%H:%M";

/// Who may record on a task (what the record routes need): those who handle villagers'
/// business, and administrators.
fn may_record(role: Role) -> bool {
    Needs::Recorder.admits(role, &crate::domain::access::Scope::All)
}

/// Now, as the call-back form's time field shows it.
fn now_local_minute() -> String {
    Utc::now()
        .with_timezone(&county_time::offset())
        .format(LOCAL_MINUTE)
        .to_string()
}

fn china_minute(at: DateTime<Utc>) -> String {
    at.with_timezone(&county_time::offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A time typed into the call-back form, read as China time; `None` if it is not one.
fn parse_local_minute(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let local = NaiveDateTime::parse_from_str(text, LOCAL_MINUTE)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()?;
    county_time::offset()
        .from_local_datetime(&local)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

fn stage_key(stage: Stage) -> &'static str {
    match stage {
        Stage::AwaitingCall => "followups.stage.awaiting_call",
        Stage::Called => "followups.stage.called",
        Stage::Fixed => "followups.stage.fixed",
        Stage::Closed => "followups.stage.closed",
    }
}

fn refusal_key(refused: StepRefused) -> &'static str {
    match refused {
        StepRefused::Closed => "followups.refused.closed",
        StepRefused::EmptyNote => "followups.refused.empty",
        StepRefused::NoteTooLong => "followups.refused.too_long",
        StepRefused::CallInFuture => "followups.refused.future",
        StepRefused::CallBeforeRating => "followups.refused.before_rating",
        StepRefused::NoFix => "followups.refused.no_fix",
    }
}

/// The due-date rule as this server applies it today.
struct Clock {
    today: NaiveDate,
    days: u32,
    calendar: WorkingCalendar,
}

impl Clock {
    async fn read(state: &AppState, staff: &Staff) -> Result<Self, super::PageError> {
        let days = state
            .store()
            .calendar_days()
            .await
            .map_err(|e| staff.fail(e))?;
        Ok(Self {
            today: china_date(Utc::now()),
            days: state.settings().follow_up_days,
            calendar: WorkingCalendar::new(&days),
        })
    }

    fn due(&self, received_at: DateTime<Utc>) -> NaiveDate {
        ratings::due_on(received_at, self.days, &self.calendar)
    }
}

/// A task as a list row or the head of its page.
#[derive(Debug)]
struct TaskView {
    receipt: String,
    rating: u8,
    level_key: &'static str,
    item: String,
    item_code: String,
    kiosk_number: u32,
    village: String,
    village_path: String,
    received: String,
    received_date: String,
    due: String,
    overdue: bool,
    stage_key: &'static str,
}

fn task_view(task: &FollowUpTask, clock: &Clock, frame: &Frame, lang: Lang) -> TaskView {
    let submission = &task.record.submission;
    let rating = submission.rating.unwrap_or(0);
    let due = clock.due(task.record.received_at);
    let stage = ratings::stage(task.follow_up.as_ref());
    let item_code = submission.item_code.clone().unwrap_or_default();
    TaskView {
        receipt: submission.receipt_number.clone(),
        rating,
        level_key: level_key(rating),
        item: match (&task.item, &submission.item_code) {
            (Some(item), _) => item_label(item, lang),
            (None, Some(code)) => code.clone(),
            (None, None) => frame.t("ratings.no_item").into_owned(),
        },
        item_code,
        kiosk_number: task.record.kiosk_number,
        village: format!("{} {}", task.village.township, task.village.village),
        village_path: format!(
            "{}/{}/{}",
            task.village.county, task.village.township, task.village.village
        ),
        received: china_minute(task.record.received_at),
        received_date: china_date(task.record.received_at).to_string(),
        due: due.to_string(),
        overdue: stage != Stage::Closed && due < clock.today,
        stage_key: stage_key(stage),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    show: Option<String>,
    /// The page after this key (a link's [`TaskKey`]); absent for the first page.
    after: Option<String>,
    /// The page before this key.
    before: Option<String>,
}

impl ListQuery {
    /// Where the shown list's page starts.
    fn page_at(&self) -> Result<PageAt<TaskKey>, StaffError> {
        let key = |text: &str| {
            text.parse::<TaskKey>()
                .map_err(|e| StaffError::BadRequest(e.to_string()))
        };
        match (self.after.as_deref(), self.before.as_deref()) {
            (None | Some(""), None | Some("")) => Ok(PageAt::First),
            (Some(after), None | Some("")) => Ok(PageAt::After(key(after)?)),
            (None | Some(""), Some(before)) => Ok(PageAt::Before(key(before)?)),
            _ => Err(StaffError::BadRequest(
                "a page starts after a task or before one, not both".into(),
            )),
        }
    }
}

/// One tab of the list.
#[derive(Debug)]
struct Tab {
    value: &'static str,
    key: &'static str,
    total: u64,
    current: bool,
}

#[derive(Template)]
#[template(path = "staff/follow_ups.html")]
struct ListPage {
    frame: Frame,
    tabs: Vec<Tab>,
    tasks: Vec<TaskView>,
    closed_list: bool,
    /// The query strings of the neighbouring pages, for the pager.
    previous: Option<String>,
    next: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> PageResult {
    let clock = Clock::read(&state, &staff).await?;
    let cutoff = ratings::overdue_before(clock.today, clock.days, &clock.calendar);
    let filters = [
        ("open", "followups.show.open", TaskFilter::Open),
        (
            "overdue",
            "followups.show.overdue",
            TaskFilter::ReceivedBefore(cutoff),
        ),
        ("closed", "followups.show.closed", TaskFilter::Closed),
    ];
    let shown = query.show.as_deref().unwrap_or("open");
    let (show, _, filter) = filters
        .iter()
        .find(|(value, _, _)| *value == shown)
        .copied()
        .unwrap_or(filters[0]);
    let page = query.page_at().map_err(|e| staff.fail(e))?;
    let scope = &staff.user.scope;
    let mut tabs = Vec::new();
    let mut shown_page = None;
    for (value, key, tab_filter) in filters {
        let current = value == show;
        let found = state
            .store()
            .follow_up_tasks(&TaskQuery {
                scope: scope.clone(),
                filter: tab_filter,
                page: if current { page.clone() } else { PageAt::First },
                limit: if current { PAGE_SIZE } else { 0 },
            })
            .await
            .map_err(|e| staff.fail(e))?;
        tabs.push(Tab {
            value,
            key,
            total: found.total,
            current,
        });
        if current {
            shown_page = Some(found);
        }
    }
    let shown_page = shown_page.unwrap_or_default();
    let frame = staff.frame("followups");
    // Oldest received first is earliest due first (the due date never goes back as the
    // received date goes forward), so overdue tasks lead the open list.
    let tasks = shown_page
        .tasks
        .iter()
        .map(|task| task_view(task, &clock, &frame, staff.lang))
        .collect();
    // Keys are digits and dots: nothing to escape.
    let page_query = |at: &str, key: TaskKey| format!("show={show}&{at}={key}");
    let page_view = ListPage {
        tabs,
        tasks,
        closed_list: filter == TaskFilter::Closed,
        previous: shown_page.previous.map(|key| page_query("before", key)),
        next: shown_page.next.map(|key| page_query("after", key)),
        frame,
    };
    Ok(render(&page_view, staff.lang))
}

/// What was recorded, as the page shows it.
#[derive(Debug, Default)]
struct RecordView {
    called_back_at: Option<String>,
    call_note: Option<String>,
    fix_note: Option<String>,
    closed_at: Option<String>,
    closed_by: Option<String>,
}

/// What the member typed into a refused form (`None`: not in that form), shown again so
/// nothing typed is lost.
#[derive(Debug, Default)]
struct Drafts {
    called_at: Option<String>,
    call_note: Option<String>,
    fix_note: Option<String>,
}

/// What the forms show: the drafts, else what is recorded, else now for the call's time.
#[derive(Debug)]
struct FormValues {
    called_at: String,
    call_note: String,
    fix_note: String,
}

#[derive(Template)]
#[template(path = "staff/follow_up.html")]
struct TaskPage {
    frame: Frame,
    task: TaskView,
    text: Option<String>,
    reason: Option<String>,
    rated_receipt: Option<String>,
    record: RecordView,
    can_record: bool,
    closed: bool,
    problem: Option<&'static str>,
    drafts: FormValues,
    max_note: usize,
}

/// The receipt number as the store keeps it, from however it was typed into the address.
fn canonical_receipt(text: &str) -> Option<String> {
    text.parse::<ReceiptNumber>().ok().map(|r| r.to_string())
}

async fn load(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
) -> Result<FollowUpTask, super::PageError> {
    let Some(receipt) = canonical_receipt(receipt) else {
        return Err(staff.fail(StaffError::NotFound));
    };
    state
        .store()
        .follow_up_task(&receipt, &staff.user.scope)
        .await
        .map_err(|e| staff.fail(e))?
        .ok_or_else(|| staff.fail(StaffError::NotFound))
}

fn task_page(
    staff: &Staff,
    task: &FollowUpTask,
    clock: &Clock,
    problem: Option<&'static str>,
    drafts: Drafts,
) -> TaskPage {
    let frame = staff.frame("followups");
    let view = task_view(task, clock, &frame, staff.lang);
    let submission = &task.record.submission;
    let follow_up = task.follow_up.as_ref();
    let record = follow_up.map_or_else(RecordView::default, |f| RecordView {
        called_back_at: f.called_back_at.map(china_minute),
        call_note: f.call_note.clone(),
        fix_note: f.fix_note.clone(),
        closed_at: f.closed_at.map(china_minute),
        closed_by: f.closed_by.clone(),
    });
    let drafts = FormValues {
        called_at: drafts
            .called_at
            .filter(|at| !at.trim().is_empty())
            .unwrap_or_else(now_local_minute),
        call_note: drafts
            .call_note
            .or_else(|| record.call_note.clone())
            .unwrap_or_default(),
        fix_note: drafts
            .fix_note
            .or_else(|| record.fix_note.clone())
            .unwrap_or_default(),
    };
    let closed = follow_up.is_some_and(ratings::FollowUp::is_closed);
    let field = |name: &str| {
        submission
            .fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    TaskPage {
        task: view,
        text: submission
            .text
            .clone()
            .filter(|text| !text.trim().is_empty()),
        reason: field("reason"),
        rated_receipt: field("receipt_number"),
        record,
        can_record: may_record(staff.user.role) && !closed,
        closed,
        problem,
        drafts,
        max_note: MAX_NOTE_CHARS,
        frame,
    }
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(receipt): Path<String>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let task = load(&state, &staff, &receipt).await?;
    let clock = Clock::read(&state, &staff).await?;
    let mut page = task_page(&staff, &task, &clock, None, Drafts::default());
    page.frame.flash = match query.saved.as_deref() {
        Some("call") => Some("followups.saved.call"),
        Some("fix") => Some("followups.saved.fix"),
        Some("close") => Some("followups.saved.close"),
        _ => None,
    };
    Ok(render(&page, staff.lang))
}

#[derive(Debug, Deserialize)]
pub struct CallForm {
    #[serde(default)]
    called_at: String,
    #[serde(default)]
    call_note: String,
}

#[derive(Debug, Deserialize)]
pub struct FixForm {
    #[serde(default)]
    fix_note: String,
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {}

pub async fn call(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    form: StaffForm<CallForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let drafts = Drafts {
        called_at: Some(form.called_at.clone()),
        call_note: Some(form.call_note.clone()),
        fix_note: None,
    };
    let at = if form.called_at.trim().is_empty() {
        // To the minute, as if typed: a sub-millisecond instant could land after the store's
        // millisecond `now` and read as a call in the future.
        Utc::now()
            .with_second(0)
            .and_then(|at| at.with_nanosecond(0))
    } else {
        parse_local_minute(&form.called_at)
    };
    let step = at.map(|at| FollowUpStep::Call {
        at,
        note: form.call_note,
    });
    record(&state, &staff, &receipt, step, "call", drafts).await
}

pub async fn fix(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    form: StaffForm<FixForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let drafts = Drafts {
        fix_note: Some(form.fix_note.clone()),
        ..Drafts::default()
    };
    let step = Some(FollowUpStep::Fix {
        note: form.fix_note,
    });
    record(&state, &staff, &receipt, step, "fix", drafts).await
}

pub async fn close(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    form: StaffForm<CloseForm>,
) -> PageResult {
    let staff = form.staff;
    record(
        &state,
        &staff,
        &receipt,
        Some(FollowUpStep::Close),
        "close",
        Drafts::default(),
    )
    .await
}

/// Records `step` (`None`: the form's time could not be read) and goes back to the task's
/// page; a refusal shows that page again with one line saying why and the member's drafts.
async fn record(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
    step: Option<FollowUpStep>,
    saved: &str,
    drafts: Drafts,
) -> PageResult {
    let task = load(state, staff, receipt).await?;
    let receipt = task.record.submission.receipt_number.clone();
    let Some(step) = step else {
        return refuse(
            state,
            staff,
            &task,
            "followups.refused.bad_time",
            StatusCode::BAD_REQUEST,
            drafts,
        )
        .await;
    };
    let audit = staff.audit(step.audit_action()).target(&receipt);
    let written = state
        .store()
        .record_follow_up(FollowUpWrite {
            receipt_number: receipt.clone(),
            scope: staff.user.scope.clone(),
            now: audit.at,
            actor: staff.user.username.clone(),
            step,
            audit,
        })
        .await
        .map_err(|e| staff.fail(e))?;
    match written {
        Ok(_) => {
            Ok(Redirect::to(&format!("/staff/follow-ups/{receipt}?saved={saved}")).into_response())
        }
        Err(FollowUpRefusal::Missing) => Err(staff.fail(StaffError::NotFound)),
        Err(FollowUpRefusal::Step(refused)) => {
            let status = if refused == StepRefused::Closed {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            refuse(state, staff, &task, refusal_key(refused), status, drafts).await
        }
    }
}

/// The task's page again, with one line saying why and what the member typed.
async fn refuse(
    state: &AppState,
    staff: &Staff,
    task: &FollowUpTask,
    problem: &'static str,
    status: StatusCode,
    drafts: Drafts,
) -> PageResult {
    let clock = Clock::read(state, staff).await?;
    let mut response = render(
        &task_page(staff, task, &clock, Some(problem), drafts),
        staff.lang,
    );
    *response.status_mut() = status;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::i18n::follow_ups::KEYS;

    #[test]
    fn call_back_times_are_read_as_china_time() {
        let expected: DateTime<Utc> = "2026-03-01T01:30:00Z".parse().unwrap();
        for typed in [
            "2026-03-01T09:30",
            "2026-03-01T09:30:00",
            " 2026-03-01 09:30 ",
        ] {
            assert_eq!(parse_local_minute(typed), Some(expected), "{typed}");
        }
        assert_eq!(parse_local_minute("昨天上午"), None);
        assert_eq!(china_minute(expected), "2026-03-01 09:30");
    }

    #[test]
    fn reviewing_roles_and_administrators_record_and_viewers_do_not() {
        let recording: Vec<Role> = Role::ALL.into_iter().filter(|r| may_record(*r)).collect();
        assert_eq!(
            recording,
            [Role::Admin, Role::Handler, Role::Reviewer, Role::Approver]
        );
    }

    #[test]
    fn every_refusal_and_stage_has_its_text() {
        let keys: Vec<&str> = KEYS.iter().map(|(key, _, _)| *key).collect();
        let refusals = [
            StepRefused::Closed,
            StepRefused::EmptyNote,
            StepRefused::NoteTooLong,
            StepRefused::CallInFuture,
            StepRefused::CallBeforeRating,
            StepRefused::NoFix,
        ];
        for key in refusals.map(refusal_key) {
            assert!(keys.contains(&key), "{key}");
        }
        let stages = [
            Stage::AwaitingCall,
            Stage::Called,
            Stage::Fixed,
            Stage::Closed,
        ];
        for key in stages.map(stage_key) {
            assert!(keys.contains(&key), "{key}");
        }
        assert!(
            KEYS.iter()
                .any(|(_, zh, _)| zh.contains(&MAX_NOTE_CHARS.to_string())),
            "the too-long message names the limit"
        );
    }
}
