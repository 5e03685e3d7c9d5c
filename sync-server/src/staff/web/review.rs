//! The review pages: the inbox of submissions in scope, one submission with its history and
//! the actions its level allows, the logged view of a full ID number, the logged search by
//! full ID number, and the CSV export.
//! Complaints and consultations go through the same pages and chain as applications.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use chrono::Utc;
use serde::Deserialize;
use sync_protocol::feed::{
    CatalogItem, MAX_CORRECTION_MATERIALS, Material, StatusChange, SubmissionStatus,
};
use sync_protocol::submission::{Submission, SubmissionKind, mask_id_number};

use super::access::{Needs, StaffRoute, route};
use super::csv::field as csv_field;
use super::session::{Staff, StaffForm};
use super::{Frame, PageResult, StaffError, render};
use crate::domain::access::Role;
use crate::domain::calendar::{WorkingCalendar, china_date};
use crate::domain::county_time;
use crate::domain::review::{self, Action, ReviewState, Rules};
use crate::state::AppState;
use crate::store::paging::{InboxKey, PageAt};
use crate::store::review::{InboxOrder, InboxQuery, ReviewActionRecord, ReviewItem, ReviewUpdate};
use crate::store::{PHONE_UPLOAD_ACTION, SUPPLEMENT_ACTION, StoreError, SubmissionRef};

pub fn routes() -> Vec<StaffRoute> {
    use axum::routing::{get, post};
    vec![
        route(Method::GET, "/inbox", Needs::Session, get(inbox)),
        // Searching by full ID number shows only what the account's scope holds.
        route(
            Method::POST,
            "/inbox/by-id",
            Needs::Session,
            post(find_by_id),
        ),
        route(Method::GET, "/export.csv", Needs::Session, get(export)),
        route(
            Method::GET,
            "/submissions/{receipt}",
            Needs::Session,
            get(show),
        ),
        route(
            Method::POST,
            "/submissions/{receipt}",
            Needs::Reviewer,
            post(act),
        ),
        route(
            Method::POST,
            "/submissions/{receipt}/identity",
            Needs::Reviewer,
            post(show_identity),
        ),
        // A photographed page: the picture, its thumbnail, and a page to turn and enlarge it.
        // Every fetch is audit-logged.
        route(
            Method::GET,
            "/submissions/{receipt}/pages/{sha256}",
            Needs::Session,
            get(super::pages::picture),
        ),
        route(
            Method::GET,
            "/submissions/{receipt}/pages/{sha256}/thumbnail",
            Needs::Session,
            get(super::pages::thumbnail),
        ),
        route(
            Method::GET,
            "/submissions/{receipt}/pages/{sha256}/view",
            Needs::Session,
            get(super::pages::view),
        ),
    ]
}

/// Rows per inbox page.
const PAGE_SIZE: u32 = 25;
/// The most rows one export holds.
const EXPORT_LIMIT: u32 = 50_000;

/// The catalogue by code (a few hundred items at most: read whole, through the cache the
/// booths' feed uses, so an unchanged catalogue costs a version lookup).
pub async fn catalog_by_code(state: &AppState) -> Result<HashMap<String, CatalogItem>, StoreError> {
    let mut items = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let cached = state
            .catalog()
            .page(
                state.store(),
                after.as_deref(),
                sync_protocol::feed::MAX_PAGE,
            )
            .await?;
        for item in &cached.page.items {
            items.insert(item.code.clone(), item.clone());
        }
        if !cached.page.more {
            return Ok(items);
        }
        after = Some(cached.page.cursor.clone());
    }
}

fn rules_of(
    state: &AppState,
    item: &ReviewItem,
    catalog: &HashMap<String, CatalogItem>,
) -> Option<Rules> {
    let catalog_item = item
        .record
        .submission
        .item_code
        .as_deref()
        .and_then(|code| catalog.get(code))
        .map(|c| (c.review_levels, c.time_limit));
    state
        .settings()
        .review_rules
        .for_submission(item.record.kind(), catalog_item)
}

/// One inbox row as shown.
#[derive(Debug)]
struct Row {
    receipt: String,
    kind_key: String,
    item: String,
    village: String,
    received: String,
    status_key: String,
    level: String,
    due: String,
    /// `overdue`, `due-soon` or empty.
    urgency: &'static str,
}

fn urgency(state: &ReviewState, today: chrono::NaiveDate, soon_days: u32) -> &'static str {
    if state.is_overdue(today) {
        "overdue"
    } else if !state.is_final()
        && state
            .due_on
            .is_some_and(|due| due <= today + chrono::Duration::days(i64::from(soon_days)))
    {
        "due-soon"
    } else {
        ""
    }
}

fn row(
    item: &ReviewItem,
    catalog: &HashMap<String, CatalogItem>,
    today: chrono::NaiveDate,
    soon: u32,
    lang: crate::staff::i18n::Lang,
) -> Row {
    let submission = &item.record.submission;
    let item_name = submission
        .item_code
        .as_deref()
        .map_or_else(String::new, |code| {
            catalog.get(code).map_or_else(
                || code.to_owned(),
                |c| match lang {
                    crate::staff::i18n::Lang::Zh => c.name_zh.clone(),
                    crate::staff::i18n::Lang::En => c.name_en.clone(),
                },
            )
        });
    let levels = item.state.levels.unwrap_or(0);
    Row {
        receipt: submission.receipt_number.clone(),
        kind_key: format!("kind.{}", submission.kind.as_str()),
        item: item_name,
        village: format!("{} {}", item.village.township, item.village.village),
        received: county_time::shown(item.record.received_at),
        status_key: format!("status.{}", item.record.status.as_str()),
        level: if levels > 0 {
            format!("{}/{}", item.state.stage, levels)
        } else {
            format!("{}", item.state.stage)
        },
        due: item.state.due_on.map(|d| d.to_string()).unwrap_or_default(),
        urgency: urgency(&item.state, today, soon),
    }
}

/// The inbox's filters as the GET form sends them (empty strings for "any").
#[derive(Debug, Default, Deserialize, Clone)]
pub struct InboxParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    village: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    due_soon: String,
    /// `1` to show only what waits for the member's level; absent on a first visit means
    /// yes for reviewing roles (the form always sends it, as `0` or `1`).
    #[serde(default)]
    mine: Option<String>,
    #[serde(default)]
    sort: String,
    /// The page after this key (a link's [`InboxKey`]); empty for the first page.
    #[serde(default)]
    after: String,
    /// The page before this key.
    #[serde(default)]
    before: String,
}

impl InboxParams {
    fn mine(&self, role: Role) -> bool {
        match self.mine.as_deref() {
            Some(value) => value == "1",
            None => role.reviews(),
        }
    }

    fn query(
        &self,
        staff: &Staff,
        today: chrono::NaiveDate,
        soon: u32,
    ) -> Result<InboxQuery, StaffError> {
        let bad = |what: &str| StaffError::BadRequest(what.to_owned());
        let (statuses, include_final) = match self.status.as_str() {
            "" | "open" => (Vec::new(), false),
            "all" => (Vec::new(), true),
            other => (
                vec![other.parse::<SubmissionStatus>().map_err(|e| bad(&e))?],
                true,
            ),
        };
        let date = |text: &str, what: &str| {
            if text.trim().is_empty() {
                Ok(None)
            } else {
                text.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(&format!("{what} `{text}` is not a date: use YYYY-MM-DD")))
            }
        };
        let order = if self.sort == "urgent" {
            InboxOrder::MostUrgent
        } else {
            InboxOrder::Newest
        };
        Ok(InboxQuery {
            scope: staff.user.scope.clone(),
            waiting_for: self.mine(staff.user.role).then_some(staff.user.role),
            statuses,
            include_final,
            kind: match self.kind.as_str() {
                "" => None,
                other => Some(other.parse::<SubmissionKind>().map_err(|e| bad(&e))?),
            },
            item_code: Some(self.item.trim().to_owned()).filter(|s| !s.is_empty()),
            id_number: None,
            village: Some(self.village.trim().to_owned()).filter(|s| !s.is_empty()),
            received_from: date(&self.from, "from")?,
            received_until: date(&self.until, "until")?,
            overdue_only: self.overdue == "1",
            due_soon_only: self.due_soon == "1",
            today,
            due_soon_days: soon,
            order,
            page: self.page_at(order)?,
            limit: PAGE_SIZE,
        })
    }

    /// Where the page starts, from `after` or `before`; a key that is not one of `order`'s
    /// (a link edited by hand) is refused rather than read as another order's.
    fn page_at(&self, order: InboxOrder) -> Result<PageAt<InboxKey>, StaffError> {
        let key = |text: &str| {
            text.parse::<InboxKey>()
                .ok()
                .filter(|key| order.fits(key))
                .ok_or_else(|| {
                    StaffError::BadRequest(format!("`{text}` is not a page of this list"))
                })
        };
        match (self.after.trim(), self.before.trim()) {
            ("", "") => Ok(PageAt::First),
            (after, "") => Ok(PageAt::After(key(after)?)),
            ("", before) => Ok(PageAt::Before(key(before)?)),
            _ => Err(StaffError::BadRequest(
                "a page starts after a row or before one, not both".into(),
            )),
        }
    }

    /// The query string of these filters on the page at `at`.
    fn at(&self, at: &PageAt<InboxKey>) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("status", self.status.clone()),
            ("kind", self.kind.clone()),
            ("item", self.item.clone()),
            ("village", self.village.clone()),
            ("from", self.from.clone()),
            ("until", self.until.clone()),
            ("overdue", self.overdue.clone()),
            ("due_soon", self.due_soon.clone()),
            ("sort", self.sort.clone()),
        ];
        if let Some(mine) = &self.mine {
            pairs.push(("mine", mine.clone()));
        }
        pairs.retain(|(_, v)| !v.is_empty());
        match at {
            PageAt::First => {}
            PageAt::After(key) => pairs.push(("after", key.to_string())),
            PageAt::Before(key) => pairs.push(("before", key.to_string())),
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "staff/inbox.html")]
struct InboxPage {
    frame: Frame,
    params: InboxParams,
    mine: bool,
    show_mine: bool,
    rows: Vec<Row>,
    count_text: String,
    overdue: u64,
    due_soon: u64,
    items: Vec<(String, String)>,
    statuses: Vec<(&'static str, String)>,
    kinds: Vec<(&'static str, String)>,
    prev: Option<String>,
    next: Option<String>,
    export: String,
}

async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<InboxParams>,
) -> PageResult {
    let today = china_date(Utc::now());
    let soon = state.settings().due_soon_days;
    let query = params
        .query(&staff, today, soon)
        .map_err(|e| staff.fail(e))?;
    inbox_page(&state, &staff, params, &query, false).await
}

/// The ID number searched for. Posted, never in a URL: a URL ends up in browser history,
/// proxies' logs and `Referer` headers.
#[derive(Debug, Deserialize)]
pub struct IdSearch {
    #[serde(default)]
    id_number: String,
}

/// Every submission in scope with this full ID number, whatever its state, matched by the
/// store's keyed hash. The search is audit-logged (without the number).
async fn find_by_id(State(state): State<AppState>, form: StaffForm<IdSearch>) -> PageResult {
    let staff = form.staff;
    let number: String = form
        .form
        .id_number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let well_formed = number.len() == 18
        && number.chars().take(17).all(|c| c.is_ascii_digit())
        && number.ends_with(|c: char| c.is_ascii_digit() || c == 'X');
    if !well_formed {
        return Err(staff.fail(StaffError::BadRequest(
            "an ID number has 18 characters: 17 digits, then a digit or X".into(),
        )));
    }
    state
        .store()
        .append_audit(staff.audit("identity.search"))
        .await
        .map_err(|e| staff.fail(e))?;
    let today = china_date(Utc::now());
    let soon = state.settings().due_soon_days;
    let params = InboxParams {
        status: "all".into(),
        mine: Some("0".into()),
        ..InboxParams::default()
    };
    let mut query = params
        .query(&staff, today, soon)
        .map_err(|e| staff.fail(e))?;
    query.id_number = Some(number);
    inbox_page(&state, &staff, params, &query, true).await
}

/// The inbox page for `query` (its filters shown as `params`); `by_id`: an ID number search,
/// one page with no pager.
async fn inbox_page(
    state: &AppState,
    staff: &Staff,
    params: InboxParams,
    query: &InboxQuery,
    by_id: bool,
) -> PageResult {
    let today = query.today;
    let soon = query.due_soon_days;
    let store = state.store();
    let page = store.inbox(query).await.map_err(|e| staff.fail(e))?;
    let count = |overdue, due_soon| {
        let mut q = query.clone();
        q.id_number = None;
        q.overdue_only = overdue;
        q.due_soon_only = due_soon;
        q.statuses.clear();
        q.include_final = false;
        // Counted only: no rows read.
        q.limit = 0;
        q.page = PageAt::First;
        q
    };
    let overdue = store
        .inbox(&count(true, false))
        .await
        .map_err(|e| staff.fail(e))?
        .total;
    let due_soon = store
        .inbox(&count(false, true))
        .await
        .map_err(|e| staff.fail(e))?
        .total;
    let catalog = catalog_by_code(state).await.map_err(|e| staff.fail(e))?;
    let frame = staff.frame("inbox");
    let mut items: Vec<(String, String)> = catalog
        .values()
        .filter(|c| !c.withdrawn)
        .map(|c| (c.code.clone(), c.name_zh.clone()))
        .collect();
    items.sort();
    let rows = page
        .items
        .iter()
        .map(|item| row(item, &catalog, today, soon, staff.lang))
        .collect();
    let page_view = InboxPage {
        count_text: frame
            .t("inbox.count")
            .replace("{n}", &page.total.to_string()),
        statuses: std::iter::once(("open", frame.t("inbox.status.open").into_owned()))
            .chain(std::iter::once((
                "all",
                frame.t("inbox.status.all").into_owned(),
            )))
            .chain(SubmissionStatus::ALL.iter().map(|s| {
                (
                    s.as_str(),
                    frame.t(format!("status.{}", s.as_str())).into_owned(),
                )
            }))
            .collect(),
        kinds: [
            SubmissionKind::Application,
            SubmissionKind::Complaint,
            SubmissionKind::Consultation,
        ]
        .iter()
        .map(|k| {
            (
                k.as_str(),
                frame.t(format!("kind.{}", k.as_str())).into_owned(),
            )
        })
        .collect(),
        mine: params.mine(staff.user.role),
        show_mine: staff.user.role.reviews(),
        prev: page
            .previous
            .filter(|_| !by_id)
            .map(|key| params.at(&PageAt::Before(key))),
        next: page
            .next
            .filter(|_| !by_id)
            .map(|key| params.at(&PageAt::After(key))),
        export: params.at(&PageAt::First),
        frame,
        rows,
        overdue,
        due_soon,
        items,
        params,
    };
    Ok(render(&page_view, staff.lang))
}

/// A dated entry of the submission's history.
#[derive(Debug)]
struct HistoryLine {
    at: String,
    who: String,
    level_key: String,
    action_key: String,
    comment: String,
    /// The materials it named (a correction request's, a supplement's), by name.
    materials: String,
}

#[derive(Debug)]
struct ToldLine {
    at: String,
    status_key: String,
    note: String,
}

#[derive(Debug)]
struct Field {
    label: String,
    value: String,
}

#[derive(Debug)]
struct ActionForm {
    action: &'static str,
    label_key: String,
    needs_comment: bool,
    danger: bool,
    /// For a correction request: the item's materials to tick (index, name), guide order.
    materials: Vec<(u16, String)>,
}

#[derive(Template)]
#[template(path = "staff/submission.html")]
struct SubmissionPage {
    frame: Frame,
    receipt: String,
    kind_key: String,
    item: String,
    status_key: String,
    level: String,
    chain: String,
    due: String,
    urgency: &'static str,
    suspended: bool,
    kiosk: String,
    received: String,
    fields: Vec<Field>,
    text: Option<String>,
    rating: Option<u8>,
    phone: Option<String>,
    name: Option<String>,
    id_number: Option<String>,
    can_show_id: bool,
    address: Option<String>,
    history: Vec<HistoryLine>,
    told: Vec<ToldLine>,
    /// The item's materials with the pages photographed for each (applications only).
    materials: Vec<super::pages::MaterialRow>,
    actions: Vec<ActionForm>,
    is_final: bool,
    reviewed: bool,
    version: i64,
    problem: Option<String>,
}

pub(super) struct Loaded {
    item: ReviewItem,
    catalog: HashMap<String, CatalogItem>,
    calendar: WorkingCalendar,
    history: Vec<StatusChange>,
    actions: Vec<ReviewActionRecord>,
    files: Vec<crate::store::attachments::ListedFile>,
    /// The item's materials as the submission's catalogue version lists them: what its
    /// pages' and a correction's material numbers count in.
    listed: Vec<Material>,
    supplements: Vec<super::pages::Supplement>,
}

pub(super) async fn load(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
) -> Result<Loaded, StaffError> {
    let store = state.store();
    let item = store
        .review_item(
            &SubmissionRef::Receipt(receipt.to_owned()),
            &staff.user.scope,
        )
        .await?
        .ok_or(StaffError::NotFound)?;
    let catalog = catalog_by_code(state).await?;
    let calendar = WorkingCalendar::new(&store.calendar_days().await?);
    let id = item.record.submission.id;
    let history = store.submission_history(id).await?;
    let actions = store.review_actions(id).await?;
    let files = store.submission_files(id).await?;
    let listed = listed_materials(state, &item.record.submission, &catalog).await?;
    let supplements = super::pages::supplements_of(state, id).await?;
    Ok(Loaded {
        item,
        catalog,
        calendar,
        history,
        actions,
        files,
        listed,
        supplements,
    })
}

/// The materials of the item a submission applied for, at the catalogue version it was made
/// with when the store still has it (the booth counted its pages' materials in that list),
/// else as the catalogue lists them now.
async fn listed_materials(
    state: &AppState,
    submission: &Submission,
    catalog: &HashMap<String, CatalogItem>,
) -> Result<Vec<Material>, StaffError> {
    let Some(code) = submission.item_code.as_deref() else {
        return Ok(Vec::new());
    };
    if let Some(version) = submission.catalog_version
        && let Some(then) = state.store().guide_version(code, version).await?
    {
        return Ok(then.item.materials);
    }
    Ok(catalog
        .get(code)
        .map(|item| item.materials.clone())
        .unwrap_or_default())
}

/// The materials the correction request waiting for the villager names: the last request's,
/// while the submission still needs correction.
fn requested(loaded: &Loaded) -> Vec<u16> {
    if loaded.item.record.status != SubmissionStatus::NeedsCorrection {
        return Vec::new();
    }
    loaded
        .actions
        .iter()
        .rev()
        .find(|a| a.action == Action::RequestCorrection.as_str())
        .map(|a| a.materials.iter().map(|m| m.index).collect())
        .unwrap_or_default()
}

fn submission_page(
    state: &AppState,
    staff: &Staff,
    loaded: &Loaded,
    flash: Option<&'static str>,
    problem: Option<String>,
    full_id: bool,
) -> SubmissionPage {
    let item = &loaded.item;
    let submission = &item.record.submission;
    let now = Utc::now();
    let today = china_date(now);
    let rules = rules_of(state, item, &loaded.catalog);
    let catalog_item = submission
        .item_code
        .as_deref()
        .and_then(|code| loaded.catalog.get(code));
    let labels: HashMap<&str, &str> = catalog_item
        .map(|c| {
            c.form
                .iter()
                .map(|f| (f.key.as_str(), f.label_zh.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let fields = submission
        .fields
        .iter()
        .map(|(key, value)| Field {
            label: labels
                .get(key.as_str())
                .map_or_else(|| key.clone(), |l| (*l).to_owned()),
            value: value.clone(),
        })
        .collect();
    let applicant = submission.applicant.clone().unwrap_or_default();
    let levels = item.state.levels.or(rules.map(|r| r.levels)).unwrap_or(1);
    let actions = review::available(&item.state, staff.user.role, rules, &loaded.calendar, now)
        .into_iter()
        .map(|action| ActionForm {
            action: action.as_str(),
            label_key: format!("action.{}", action.as_str()),
            needs_comment: action.needs_comment(),
            danger: matches!(action, Action::Reject | Action::Return),
            materials: if action == Action::RequestCorrection {
                loaded
                    .listed
                    .iter()
                    .enumerate()
                    .map(|(index, m)| (index as u16, m.name.clone()))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let mut frame = staff.frame("inbox");
    frame.flash = flash;
    let soon = state.settings().due_soon_days;
    SubmissionPage {
        receipt: submission.receipt_number.clone(),
        kind_key: format!("kind.{}", submission.kind.as_str()),
        item: catalog_item.map_or_else(
            || submission.item_code.clone().unwrap_or_default(),
            |c| format!("{} ({})", c.name_zh, c.code),
        ),
        status_key: format!("status.{}", item.record.status.as_str()),
        level: format!("level.{}", item.state.stage.min(3)),
        chain: (1..=levels)
            .map(|stage| {
                frame
                    .t(format!("role.{}", review::role_at(stage, levels).as_str()))
                    .into_owned()
            })
            .collect::<Vec<_>>()
            .join(" → "),
        due: item.state.due_on.map(|d| d.to_string()).unwrap_or_default(),
        urgency: urgency(&item.state, today, soon),
        suspended: item.state.suspended_at.is_some(),
        kiosk: format!(
            "#{} · {} {} {}",
            item.record.kiosk_number,
            item.village.county,
            item.village.township,
            item.village.village
        ),
        received: county_time::shown(item.record.received_at),
        fields,
        text: submission.text.clone(),
        rating: submission.rating,
        phone: submission.contact_phone.clone(),
        name: applicant.name.clone(),
        id_number: applicant.id_number.as_deref().map(|id| {
            if full_id {
                id.to_owned()
            } else {
                mask_id_number(id)
            }
        }),
        can_show_id: staff.user.role.reviews() && applicant.id_number.is_some() && !full_id,
        address: applicant.address,
        history: loaded
            .actions
            .iter()
            .map(|a| HistoryLine {
                at: county_time::shown(a.at),
                // A supplement's entry names its booth by number.
                who: if a.action == SUPPLEMENT_ACTION {
                    format!("{} {}", frame.t("sub.kiosk"), a.actor)
                } else if a.action == PHONE_UPLOAD_ACTION {
                    frame.t("pages.by_phone").into_owned()
                } else {
                    a.actor.clone()
                },
                level_key: format!("level.{}", a.stage.min(3)),
                action_key: format!("action.{}", a.action),
                // A phone upload's comment is its number of pages.
                comment: if a.action == PHONE_UPLOAD_ACTION {
                    format!("（{} {}）", a.comment, frame.t("pages.pages"))
                } else {
                    a.comment.clone()
                },
                materials: a
                    .materials
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
            })
            .collect(),
        told: loaded
            .history
            .iter()
            .map(|c| ToldLine {
                at: county_time::shown(c.changed_at),
                status_key: format!("status.{}", c.status.as_str()),
                note: c.note.clone().unwrap_or_default(),
            })
            .collect(),
        materials: super::pages::materials(
            &submission.receipt_number,
            &loaded.listed,
            submission,
            &loaded.files,
            &loaded.supplements,
            &requested(loaded),
        ),
        actions,
        is_final: item.state.is_final(),
        reviewed: rules.is_some(),
        version: item.record.status_changed_at.timestamp_millis(),
        problem,
        frame,
    }
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(receipt): Path<String>,
    Query(query): Query<DoneQuery>,
) -> PageResult {
    let loaded = match load(&state, &staff, &receipt).await {
        Ok(loaded) => loaded,
        Err(StaffError::NotFound) => {
            return match case_of_supplement(&state, &staff, &receipt).await {
                Ok(Some(case)) => Ok(Redirect::to(&format!(
                    "/staff/submissions/{}",
                    urlencode_path(&case)
                ))
                .into_response()),
                Ok(None) => Err(staff.fail(StaffError::NotFound)),
                Err(error) => Err(staff.fail(error)),
            };
        }
        Err(error) => return Err(staff.fail(error)),
    };
    let flash = query.done.is_some().then_some("sub.done");
    Ok(render(
        &submission_page(&state, &staff, &loaded, flash, None, false),
        staff.lang,
    ))
}

/// A supplement's receipt leads to its case's page, for an account that may see the case.
async fn case_of_supplement(
    state: &AppState,
    staff: &Staff,
    receipt: &str,
) -> Result<Option<String>, StaffError> {
    let store = state.store();
    let Some(record) = store
        .find_submission(&SubmissionRef::Receipt(receipt.to_owned()))
        .await?
    else {
        return Ok(None);
    };
    let Some(original) = record.supplement_to else {
        return Ok(None);
    };
    Ok(store
        .review_item(&SubmissionRef::Id(original), &staff.user.scope)
        .await?
        .map(|case| case.record.submission.receipt_number))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The review form. Read from the form's pairs: a correction request ticks any number of
/// `material` boxes, which a struct cannot take from `application/x-www-form-urlencoded`.
#[derive(Debug, Default)]
pub struct ActForm {
    action: String,
    comment: String,
    /// The `status_changed_at` the page was rendered from.
    version: String,
    /// The materials ticked, by their index in the item's list.
    materials: Vec<u16>,
}

impl ActForm {
    fn read(pairs: Vec<(String, String)>) -> Result<Self, StaffError> {
        let mut form = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "action" => form.action = value,
                "comment" => form.comment = value,
                "version" => form.version = value,
                "material" => {
                    if form.materials.len() == MAX_CORRECTION_MATERIALS {
                        return Err(StaffError::BadRequest(format!(
                            "a correction request names at most {MAX_CORRECTION_MATERIALS} materials"
                        )));
                    }
                    let index = value.trim().parse::<u16>().map_err(|_| {
                        StaffError::BadRequest(format!(
                            "`{}` is not a material of the list: reload the page",
                            crate::domain::limits::clip(&value, 20)
                        ))
                    })?;
                    form.materials.push(index);
                }
                _ => {}
            }
        }
        Ok(form)
    }
}

async fn act(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    form: StaffForm<Vec<(String, String)>>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let form = ActForm::read(form).map_err(|e| staff.fail(e))?;
    let loaded = load(&state, &staff, &receipt)
        .await
        .map_err(|e| staff.fail(e))?;
    let action: Action = form
        .action
        .parse()
        .map_err(|e: String| staff.fail(StaffError::BadRequest(e)))?;
    if form.comment.chars().count() > crate::domain::limits::NOTE {
        return Err(staff.fail(StaffError::BadRequest(
            "the comment is over 2000 characters".into(),
        )));
    }
    // Names from the item's list, never from the form; a number the list lacks is refused.
    let materials = review::correction_materials(&loaded.listed, &form.materials)
        .map_err(|refusal| staff.fail(StaffError::BadRequest(refusal.to_string())))?;
    let now = Utc::now();
    let rules = rules_of(&state, &loaded.item, &loaded.catalog);
    let planned = review::plan(
        &loaded.item.state,
        action,
        staff.user.role,
        rules,
        review::Said {
            comment: &form.comment,
            materials: &materials,
        },
        &loaded.calendar,
        now,
    );
    if matches!(planned, Err(review::Refusal::NotYourLevel { .. })) {
        return Err(staff.fail(StaffError::Forbidden));
    }
    // The page acted from must show what is stored now; another tab or colleague may have
    // moved it on, and acting on what one did not see is not allowed.
    if form.version.trim()
        != loaded
            .item
            .record
            .status_changed_at
            .timestamp_millis()
            .to_string()
    {
        return Err(staff.fail(StaffError::Conflict));
    }
    let transition = match planned {
        Ok(transition) => transition,
        Err(refusal) => {
            let problem = format!("{}{refusal}", staff.frame("").t("sub.refused"));
            let mut response = render(
                &submission_page(&state, &staff, &loaded, None, Some(problem), false),
                staff.lang,
            );
            *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let submission = &loaded.item.record.submission;
    // The materials by their numbers in the guide: the audit line says what was asked for.
    let named = if materials.is_empty() {
        String::new()
    } else {
        let numbers: Vec<String> = materials
            .iter()
            .map(|m| (m.index + 1).to_string())
            .collect();
        format!("; materials {}", numbers.join(","))
    };
    let update = ReviewUpdate {
        submission_id: submission.id,
        expected: loaded.item.state.clone(),
        next: transition.state.clone(),
        villager_note: transition.villager_note.clone(),
        action: ReviewActionRecord {
            stage: loaded.item.state.stage,
            actor: staff.user.username.clone(),
            action: action.as_str().to_owned(),
            comment: form.comment.trim().to_owned(),
            at: now,
            materials,
        },
        audit: staff
            .audit(&format!("review.{}", action.as_str()))
            .target(&submission.receipt_number)
            .detail(format!(
                "level {} → {} {:?}{}",
                loaded.item.state.stage, transition.state.stage, transition.state.status, named
            )),
    };
    match state.store().apply_review(update).await {
        Ok(Ok(_)) => Ok(Redirect::to(&format!(
            "/staff/submissions/{}?done=1",
            urlencode_path(&receipt)
        ))
        .into_response()),
        Ok(Err(_)) => Err(staff.fail(StaffError::Conflict)),
        Err(error) => Err(staff.fail(error)),
    }
}

fn urlencode_path(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// The full ID number, for a reviewing role that asks; the view is audit-logged before the
/// number is shown.
async fn show_identity(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
    form: StaffForm<NoFields>,
) -> PageResult {
    let staff = form.staff;
    let loaded = load(&state, &staff, &receipt)
        .await
        .map_err(|e| staff.fail(e))?;
    state
        .store()
        .append_audit(
            staff
                .audit("identity.view")
                .target(&loaded.item.record.submission.receipt_number),
        )
        .await
        .map_err(|e| staff.fail(e))?;
    Ok(render(
        &submission_page(&state, &staff, &loaded, Some("sub.id_shown"), None, true),
        staff.lang,
    ))
}

/// The inbox's filters as a CSV file for Excel: UTF-8 with a byte-order mark (without it
/// Excel reads Chinese as mojibake), CRLF line ends, ID numbers masked.
async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(params): Query<InboxParams>,
) -> PageResult {
    let today = china_date(Utc::now());
    let mut query = params
        .query(&staff, today, state.settings().due_soon_days)
        .map_err(|e| staff.fail(e))?;
    query.page = PageAt::First;
    query.limit = EXPORT_LIMIT;
    let store = state.store();
    let page = store.inbox(&query).await.map_err(|e| staff.fail(e))?;
    let catalog = catalog_by_code(&state).await.map_err(|e| staff.fail(e))?;
    let tr = staff.frame("").tr;
    let mut csv = String::from("\u{feff}");
    let header = [
        "col.receipt",
        "col.kind",
        "col.item",
        "col.village",
        "col.received",
        "col.status",
        "col.level",
        "col.due",
        "sub.name",
        "sub.id_number",
        "sub.phone",
    ];
    csv.push_str(
        &header
            .iter()
            .map(|key| csv_field(&tr.t(key)))
            .collect::<Vec<_>>()
            .join(","),
    );
    csv.push_str("\r\n");
    for item in &page.items {
        let row = row(
            item,
            &catalog,
            today,
            state.settings().due_soon_days,
            staff.lang,
        );
        let applicant = item.record.submission.applicant.clone().unwrap_or_default();
        let cells = [
            row.receipt,
            tr.t(&row.kind_key).into_owned(),
            row.item,
            row.village,
            row.received,
            tr.t(&row.status_key).into_owned(),
            row.level,
            row.due,
            applicant.name.unwrap_or_default(),
            applicant
                .id_number
                .as_deref()
                .map(mask_id_number)
                .unwrap_or_default(),
            item.record
                .submission
                .contact_phone
                .clone()
                .unwrap_or_default(),
        ];
        csv.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push_str("\r\n");
    }
    store
        .append_audit(staff.audit("export.csv").detail(format!(
            "{} rows; {}",
            page.items.len(),
            params.at(&PageAt::First)
        )))
        .await
        .map_err(|e| staff.fail(e))?;
    let filename = format!("submissions-{today}.csv");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
        .into_response())
}
