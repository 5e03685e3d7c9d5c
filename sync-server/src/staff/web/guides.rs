//! The service-guide editor (administrators whose scope spans the county): every catalogue item, one item's editor
//! with its draft, publication, withdrawal and history, and old versions read-only.
//!
//! Edits go into a draft booths never see; publishing makes the draft the item's next version
//! in the catalogue feed. The form is plain text ([`crate::staff::guide_form`]), so every
//! field works without a script. The catalogue is the county's, one for every booth (its
//! review levels decide every township's chain): only an administrator whose scope spans the
//! county edits it (`access::Needs::CountyAdmin`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::DateTime;
use serde::Deserialize;
use sync_protocol::feed::{CatalogItem, IdentityNeed, Office, TimeLimit};

use super::access::{Needs, StaffRoute, route};
use super::session::{NoFields, Staff, StaffForm};
use super::{Frame, PageError, PageResult, StaffError, render};
use crate::domain::catalog::check_item;
use crate::domain::county_time;
use crate::staff::guide_form::{self, GuideForm};
use crate::staff::i18n::Tr;
use crate::state::AppState;
use crate::store::content::{Guide, GuideRefusal, GuideSummary};

/// The catalogue is the county's, one for every booth: its pages are for administrators whose
/// scope spans the county.
pub fn routes() -> Vec<StaffRoute> {
    let county = Needs::CountyAdmin;
    vec![
        route(Method::GET, "/guides", county, get(list)),
        route(Method::POST, "/guides", county, post(create)),
        route(Method::GET, "/guides/{code}", county, get(show)),
        route(
            Method::POST,
            "/guides/{code}/draft",
            county,
            post(save_draft),
        ),
        route(
            Method::POST,
            "/guides/{code}/publish",
            county,
            post(publish),
        ),
        route(
            Method::POST,
            "/guides/{code}/discard",
            county,
            post(discard),
        ),
        route(
            Method::POST,
            "/guides/{code}/withdraw",
            county,
            post(withdraw),
        ),
        route(
            Method::POST,
            "/guides/{code}/restore",
            county,
            post(restore),
        ),
        route(
            Method::GET,
            "/guides/{code}/versions/{version}",
            county,
            get(version),
        ),
    ]
}

/// A path segment with everything but unreserved characters percent-encoded (item codes come
/// from import files and may hold anything).
fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn item_path(code: &str) -> String {
    format!("/staff/guides/{}", segment(code))
}

/// `?done=…` after a redirect: which message the page opens with.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    fn flash(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "created" => "guide.done.created",
            "saved" => "guide.done.saved",
            "published" => "guide.done.published",
            "discarded" => "guide.done.discarded",
            "withdrawn" => "guide.done.withdrawn",
            "restored" => "guide.done.restored",
            _ => return None,
        })
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

// ── the list ──

/// One line of the list.
#[derive(Debug)]
struct GuideRow {
    code: String,
    path: String,
    name: String,
    category: String,
    version: Option<String>,
    withdrawn: bool,
    has_draft: bool,
}

impl GuideRow {
    fn of(guide: GuideSummary, tr: &Tr) -> Self {
        Self {
            path: item_path(&guide.code),
            version: guide.version.map(|v| version_label(tr, v)),
            code: guide.code,
            name: guide.name_zh,
            category: guide.category,
            withdrawn: guide.withdrawn,
            has_draft: guide.has_draft,
        }
    }
}

#[derive(Template)]
#[template(path = "staff/guides.html")]
struct ListPage {
    frame: Frame,
    guides: Vec<GuideRow>,
    new_code: String,
    new_name: String,
    problem: Option<String>,
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    flash: Option<&'static str>,
    new_code: String,
    new_name: String,
    problem: Option<String>,
) -> Result<Response, PageError> {
    let tr = Tr::new(staff.lang);
    let guides = state
        .store()
        .list_guides()
        .await
        .map_err(|e| staff.fail(e))?
        .into_iter()
        .map(|guide| GuideRow::of(guide, &tr))
        .collect();
    let mut frame = staff.frame("guides");
    frame.flash = flash;
    frame.here = "/staff/guides".into();
    Ok(render(
        &ListPage {
            frame,
            guides,
            new_code,
            new_name,
            problem,
        },
        staff.lang,
    ))
}

pub async fn list(State(state): State<AppState>, staff: Staff, done: Query<Done>) -> PageResult {
    list_page(
        &state,
        &staff,
        done.flash(),
        String::new(),
        String::new(),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NewItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
}

/// Codes are what booths, receipts and import files key on: upper-case letters, digits and
/// `-`, as in `GX-MZ-001`.
fn new_code(text: &str) -> Option<String> {
    let code = text.trim().to_ascii_uppercase();
    let fine = (1..=40).contains(&code.len())
        && code
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    fine.then_some(code)
}

/// A new item: only its code and name, the rest to be filled in before it can be published.
fn blank_item(code: &str, name_zh: &str) -> CatalogItem {
    CatalogItem {
        code: code.to_owned(),
        version: 0,
        name_zh: name_zh.to_owned(),
        name_en: String::new(),
        category: String::new(),
        legal_basis: String::new(),
        conditions: Vec::new(),
        materials: Vec::new(),
        steps: Vec::new(),
        time_limit: TimeLimit::OnTheSpot,
        fees: Vec::new(),
        office: Office {
            name: String::new(),
            address: String::new(),
            phone: String::new(),
        },
        complaint_phone: String::new(),
        identity: IdentityNeed::None,
        form: Vec::new(),
        review_levels: CatalogItem::default_review_levels(),
        withdrawn: false,
    }
}

pub async fn create(State(state): State<AppState>, form: StaffForm<NewItem>) -> PageResult {
    let StaffForm { staff, form } = form;
    let name = form.name_zh.trim();
    let problem = match new_code(&form.code) {
        None => "guide.new.bad_code",
        Some(_) if name.is_empty() => "guide.new.no_name",
        Some(code) => {
            let created = state
                .store()
                .create_guide(
                    blank_item(&code, name),
                    staff
                        .audit("guide.save_draft")
                        .target(&code)
                        .detail("new item"),
                )
                .await
                .map_err(|e| staff.fail(e))?;
            if created.is_ok() {
                return Ok(done(&code, "created"));
            }
            "guide.new.exists"
        }
    };
    let message = Tr::new(staff.lang).t(problem).into_owned();
    list_page(&state, &staff, None, form.code, form.name_zh, Some(message))
        .await
        .map(|page| with_status(page, StatusCode::BAD_REQUEST))
}

/// "第3版" / "version 3".
fn version_label(tr: &Tr, version: u32) -> String {
    tr.t("guide.version").replace("{}", &version.to_string())
}

// ── one item ──

/// The published state as the page shows it.
#[derive(Debug)]
struct PublishedView {
    version: u32,
    label: String,
    withdrawn: bool,
    at: String,
}

/// The draft as the page shows it.
#[derive(Debug)]
struct DraftView {
    at: String,
    by: String,
    /// What the publish form sends back, so only this save is published.
    saved_at_ms: i64,
    /// Set when the published version moved on since the draft was saved.
    stale: Option<String>,
    /// Labels of the fields the draft changes.
    changes: Vec<String>,
    /// Why it cannot be published yet.
    not_ready: Option<String>,
}

#[derive(Debug)]
struct VersionRow {
    version: u32,
    label: String,
    withdrawn: bool,
    at: String,
    by: String,
}

#[derive(Template)]
#[template(path = "staff/guide.html")]
struct ItemPage {
    frame: Frame,
    code: String,
    code_path: String,
    name: String,
    published: Option<PublishedView>,
    draft: Option<DraftView>,
    form: GuideForm,
    versions: Vec<VersionRow>,
    problem: Option<String>,
}

fn version_rows(guide: &Guide, tr: &Tr) -> Vec<VersionRow> {
    guide
        .versions
        .iter()
        .map(|v| VersionRow {
            version: v.version,
            label: version_label(tr, v.version),
            withdrawn: v.withdrawn,
            at: county_time::shown(v.published_at),
            by: v.published_by.clone(),
        })
        .collect()
}

fn item_page(
    staff: &Staff,
    guide: &Guide,
    typed: Option<GuideForm>,
    problem: Option<String>,
    flash: Option<&'static str>,
) -> Response {
    let tr = Tr::new(staff.lang);
    let published_item = guide.published.as_ref().map(|p| &p.item);
    let base = published_item.map_or(0, |item| item.version);
    let draft = guide.draft.as_ref().map(|draft| {
        let changes = match published_item {
            Some(published) => guide_form::changed_fields(published, &draft.item)
                .into_iter()
                .map(|field| tr.t(field.label_key()).into_owned())
                .collect(),
            None => Vec::new(),
        };
        DraftView {
            at: county_time::shown(draft.updated_at),
            by: draft.updated_by.clone(),
            saved_at_ms: draft.updated_at.timestamp_millis(),
            stale: (draft.item.version != base).then(|| {
                let key = if draft.item.version == 0 {
                    "guide.draft.stale_new"
                } else {
                    "guide.draft.stale"
                };
                tr.t(key)
                    .replace("{from}", &draft.item.version.to_string())
                    .replace("{to}", &base.to_string())
            }),
            changes,
            not_ready: check_item(&draft.item)
                .err()
                .map(|problem| guide_form::publish_problem(&problem, &tr)),
        }
    });
    let shown = guide
        .draft
        .as_ref()
        .map(|d| &d.item)
        .or(published_item)
        .map(|item| item.name_zh.clone())
        .unwrap_or_default();
    // The form's base is the published version on this page: saving from it says the editor
    // saw that version.
    let form = typed.unwrap_or_else(|| {
        let item = guide
            .draft
            .as_ref()
            .map(|d| &d.item)
            .or(published_item)
            .cloned()
            .unwrap_or_else(|| blank_item(&guide.code, ""));
        GuideForm::of(&item, base)
    });
    let mut frame = staff.frame("guides");
    frame.flash = flash;
    // A page re-rendered after a refused POST switches language on the item's own page.
    frame.here = item_path(&guide.code);
    render(
        &ItemPage {
            frame,
            code: guide.code.clone(),
            code_path: item_path(&guide.code),
            name: shown,
            published: guide.published.as_ref().map(|p| PublishedView {
                version: p.item.version,
                label: version_label(&tr, p.item.version),
                withdrawn: p.item.withdrawn,
                at: county_time::shown(p.updated_at),
            }),
            draft,
            form,
            versions: version_rows(guide, &tr),
            problem,
        },
        staff.lang,
    )
}

async fn load(state: &AppState, staff: &Staff, code: &str) -> Result<Guide, PageError> {
    state
        .store()
        .find_guide(code)
        .await
        .map_err(|e| staff.fail(e))?
        .ok_or_else(|| staff.fail(StaffError::NotFound))
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    done: Query<Done>,
) -> PageResult {
    let guide = load(&state, &staff, &code).await?;
    Ok(item_page(&staff, &guide, None, None, done.flash()))
}

/// The item page again with `refusal` explained, keeping what was typed.
async fn refused(
    state: &AppState,
    staff: &Staff,
    code: &str,
    typed: Option<GuideForm>,
    refusal: &GuideRefusal,
) -> PageResult {
    let tr = Tr::new(staff.lang);
    let (key, status) = match refusal {
        GuideRefusal::Unknown(_) => return Err(staff.fail(StaffError::NotFound)),
        GuideRefusal::Exists(_) => ("guide.new.exists", StatusCode::CONFLICT),
        GuideRefusal::NoDraft(_) => ("guide.refused.no_draft", StatusCode::CONFLICT),
        GuideRefusal::DraftChanged(_) => ("guide.refused.draft_changed", StatusCode::CONFLICT),
        GuideRefusal::Unchanged(_) => ("guide.refused.unchanged", StatusCode::BAD_REQUEST),
        GuideRefusal::Invalid { .. } => ("guide.refused.invalid", StatusCode::BAD_REQUEST),
        GuideRefusal::NotPublished(_) => ("guide.refused.not_published", StatusCode::CONFLICT),
        GuideRefusal::AlreadyWithdrawn(_) | GuideRefusal::NotWithdrawn(_) => {
            ("error.conflict", StatusCode::CONFLICT)
        }
    };
    let mut message = tr.t(key).into_owned();
    if let GuideRefusal::Invalid { problem, .. } = refusal {
        message.push_str(&guide_form::publish_problem(problem, &tr));
    }
    let guide = load(state, staff, code).await?;
    Ok(with_status(
        item_page(staff, &guide, typed, Some(message), None),
        status,
    ))
}

fn done(code: &str, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", item_path(code))).into_response()
}

pub async fn save_draft(
    State(state): State<AppState>,
    Path(code): Path<String>,
    form: StaffForm<GuideForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let base: u32 = form.base_version.trim().parse().map_err(|_| {
        staff.fail(StaffError::BadRequest(
            "base_version is not a version number: reload the page".into(),
        ))
    })?;
    let item = match form.to_item(&code) {
        Ok(item) => CatalogItem {
            version: base,
            ..item
        },
        Err(problem) => {
            let guide = load(&state, &staff, &code).await?;
            let message = problem.message(&Tr::new(staff.lang));
            return Ok(with_status(
                item_page(&staff, &guide, Some(form), Some(message), None),
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    let saved = state
        .store()
        .save_guide_draft(item, staff.audit("guide.save_draft").target(&code))
        .await
        .map_err(|e| staff.fail(e))?;
    match saved {
        Ok(_) => Ok(done(&code, "saved")),
        Err(refusal) => refused(&state, &staff, &code, Some(form), &refusal).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    draft_saved_at: String,
}

pub async fn publish(
    State(state): State<AppState>,
    Path(code): Path<String>,
    form: StaffForm<PublishForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let saved_at = form
        .draft_saved_at
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| {
            staff.fail(StaffError::BadRequest(
                "draft_saved_at is not a time: reload the page".into(),
            ))
        })?;
    let published = state
        .store()
        .publish_guide(&code, saved_at, staff.audit("guide.publish").target(&code))
        .await
        .map_err(|e| staff.fail(e))?;
    match published {
        Ok(_) => Ok(done(&code, "published")),
        Err(refusal) => refused(&state, &staff, &code, None, &refusal).await,
    }
}

pub async fn discard(
    State(state): State<AppState>,
    Path(code): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    let staff = form.staff;
    let discarded = state
        .store()
        .discard_guide_draft(&code, staff.audit("guide.discard").target(&code))
        .await
        .map_err(|e| staff.fail(e))?;
    match discarded {
        Ok(()) => Ok(done(&code, "discarded")),
        Err(refusal) => refused(&state, &staff, &code, None, &refusal).await,
    }
}

async fn set_withdrawn(state: &AppState, staff: &Staff, code: &str, withdrawn: bool) -> PageResult {
    let (action, what) = if withdrawn {
        ("guide.withdraw", "withdrawn")
    } else {
        ("guide.restore", "restored")
    };
    let changed = state
        .store()
        .set_guide_withdrawn(code, withdrawn, staff.audit(action).target(code))
        .await
        .map_err(|e| staff.fail(e))?;
    match changed {
        Ok(_) => Ok(done(code, what)),
        Err(refusal) => refused(state, staff, code, None, &refusal).await,
    }
}

pub async fn withdraw(
    State(state): State<AppState>,
    Path(code): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_withdrawn(&state, &form.staff, &code, true).await
}

pub async fn restore(
    State(state): State<AppState>,
    Path(code): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    set_withdrawn(&state, &form.staff, &code, false).await
}

// ── an old version ──

#[derive(Template)]
#[template(path = "staff/guide_version.html")]
struct VersionPage {
    frame: Frame,
    code: String,
    code_path: String,
    label: String,
    current: bool,
    withdrawn: bool,
    at: String,
    by: String,
    /// The version's fields as the editor writes them (read-only here).
    text: GuideForm,
    time_limit: String,
    identity_key: &'static str,
}

pub async fn version(
    State(state): State<AppState>,
    staff: Staff,
    Path((code, version)): Path<(String, String)>,
) -> PageResult {
    let version: u32 = version
        .parse()
        .map_err(|_| staff.fail(StaffError::NotFound))?;
    let store = state.store();
    let found = store
        .guide_version(&code, version)
        .await
        .map_err(|e| staff.fail(e))?
        .ok_or_else(|| staff.fail(StaffError::NotFound))?;
    let current = load(&state, &staff, &code)
        .await?
        .published
        .is_some_and(|p| p.item.version == version);
    let tr = Tr::new(staff.lang);
    let item = &found.item;
    let time_limit = match item.time_limit {
        TimeLimit::OnTheSpot => tr.t("guide.time.on_the_spot").into_owned(),
        TimeLimit::WorkingDays { days } => {
            tr.t("guide.time.in_days").replace("{}", &days.to_string())
        }
    };
    Ok(render(
        &VersionPage {
            frame: staff.frame("guides"),
            code: code.clone(),
            code_path: item_path(&code),
            label: version_label(&tr, version),
            current,
            withdrawn: item.withdrawn,
            at: county_time::shown(found.published_at),
            by: found.published_by.clone(),
            text: GuideForm::of(item, version),
            time_limit,
            identity_key: match item.identity {
                IdentityNeed::None => "guide.identity.none",
                IdentityNeed::IdNumber => "guide.identity.id_number",
                IdentityNeed::Full => "guide.identity.full",
            },
        },
        staff.lang,
    ))
}
