//! The fleet page, for administrators: the booths in their scope with their health and their
//! release (running, targeted, the updater's state and last failure), the alerts that need
//! someone to act (the rules are in [`crate::domain::fleet`]; a rollout that paused itself,
//! for county-wide administrators), issuing an enrollment code with the QR code a booth
//! scans, and revoking a booth.
//!
//! Other roles get 403. Booths outside the member's scope are never loaded; acting on one
//! answers 404 like a missing one, and a code for a village outside it is refused (403).

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header, uri::Authority};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use sync_protocol::enroll::{EnrollQr, Village};
use sync_protocol::release::{UpdateReport, UpdateState};

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm};
use super::{Frame, PageError, PageResult, StaffError, render};
use crate::api::enroll_codes::{self, IssueError, IssuedCode};
use crate::domain::access::Scope;
use crate::domain::fleet::KioskRecord;
use crate::domain::fleet::{self, Alert, Paper, Presence};
use crate::domain::releases;
use crate::staff::i18n::Tr;
use crate::state::AppState;
use crate::store::paging::PageAt;
use crate::store::staff::FleetQuery;
use crate::store::{KioskRef, RevokeOutcome};

pub fn routes() -> Vec<StaffRoute> {
    vec![
        route(Method::GET, "/fleet", Needs::Admin, get(show)),
        route(
            Method::POST,
            "/fleet/enroll-code",
            Needs::Admin,
            post(issue_code),
        ),
        route(
            Method::POST,
            "/fleet/{kiosk_id}/revoke",
            Needs::Admin,
            post(revoke),
        ),
    ]
}

/// The validities an administrator picks from (values of [`enroll_codes::parse_ttl`]).
const VALIDITIES: &[(&str, &str)] = &[
    ("1h", "fleet.code.ttl_1h"),
    ("1d", "fleet.code.ttl_1d"),
    ("7d", "fleet.code.ttl_7d"),
];

/// Longest county, township or village name accepted from the form.
const MAX_NAME_CHARS: usize = crate::domain::limits::PLACE_NAME;

/// One booth as a table row shows it.
#[derive(Debug)]
struct KioskView {
    id: String,
    number: u32,
    place: String,
    presence_key: &'static str,
    presence_class: &'static str,
    seen: String,
    queue: String,
    oldest: String,
    quarantined: String,
    paper_key: &'static str,
    paper_class: &'static str,
    version: String,
    /// The release the county wants it to run, if any.
    target: String,
    /// `update.state.*` of its last update report; empty without one.
    update_key: String,
    /// Bytes downloaded and the last failure, as one line.
    update_detail: String,
    update_class: &'static str,
    clock: String,
    alerting: bool,
    /// For revoked booths: `fleet.state.revoked` or `fleet.state.replaced`, and when.
    retired_key: &'static str,
    retired_at: String,
}

#[derive(Debug)]
struct AlertView {
    number: u32,
    place: String,
    text: String,
    severe: bool,
    /// The booth's row: on this page, or the page that starts with it.
    href: String,
}

/// Booth numbers per page of the table.
const PAGE_SIZE: u32 = 100;
/// Alerting booths whose alerts are listed (every alert is counted).
const ALERT_LIMIT: u32 = 100;

/// A validity choice of the code form.
#[derive(Debug)]
struct Validity {
    value: &'static str,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "staff/fleet.html")]
struct FleetPage {
    frame: Frame,
    alerts: Vec<AlertView>,
    /// Every alert in the scope, listed or not.
    alert_total: u64,
    /// Each kind of alert with how many booths have it, those with any.
    alert_counts: Vec<(String, u64)>,
    /// The list holds the alerts of only the first [`ALERT_LIMIT`] booths, in words.
    alerts_cut: Option<String>,
    /// How old the counts and the alert list are, in words, when kept from an earlier view
    /// ([`crate::store::fleet_summaries`]).
    counted: Option<String>,
    /// Rollouts that paused themselves, for county-wide administrators.
    rollout_alerts: Vec<String>,
    active: Vec<KioskView>,
    retired: Vec<KioskView>,
    /// Active and retired booths in the whole scope (the tables show one page).
    active_total: u64,
    retired_total: u64,
    /// The query strings of the neighbouring pages, for the pager.
    previous: Option<String>,
    next: Option<String>,
    form: CodeForm,
    validities: Vec<Validity>,
    /// A one-line refusal of the last form, translated.
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/fleet_code.html")]
struct CodePage {
    frame: Frame,
    code: String,
    place: String,
    expires_at: String,
    expires_in: String,
    server: String,
    /// The served certificate's pin, for an https address; empty otherwise.
    pin: String,
    /// Made here from the payload, never from input: safe to embed unescaped.
    qr_svg: String,
}

/// The enrollment code form's fields (also what the form shows again after a refusal).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    county: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    village: String,
    #[serde(default)]
    ttl: String,
}

impl CodeForm {
    /// The member's own scope, as far as it narrows, so a township's administrator only
    /// types the village.
    fn prefilled(scope: &Scope) -> Self {
        let (county, township, village) = scope.parts();
        Self {
            county: county.unwrap_or_default().to_owned(),
            township: township.unwrap_or_default().to_owned(),
            village: village.unwrap_or_default().to_owned(),
            ttl: VALIDITIES[0].0.to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    /// The page of booths numbered after this one; absent for the first.
    after: Option<u32>,
    /// The page of booths numbered before this one.
    before: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    confirm: Option<String>,
}

pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let at = match (query.after, query.before) {
        (None, None) => PageAt::First,
        (Some(after), None) => PageAt::After(after),
        (None, Some(before)) => PageAt::Before(before),
        (Some(_), Some(_)) => {
            return Err(staff.fail(StaffError::BadRequest(
                "a page starts after a booth or before one, not both".into(),
            )));
        }
    };
    let form = CodeForm::prefilled(&staff.user.scope);
    let mut page = fleet_page(&state, &staff, form, None, at).await?;
    if query.done.as_deref() == Some("revoked") {
        page.frame.flash = Some("fleet.revoked");
    }
    Ok(render(&page, staff.lang))
}

async fn fleet_page(
    state: &AppState,
    staff: &Staff,
    form: CodeForm,
    problem: Option<String>,
    at: PageAt<u32>,
) -> Result<FleetPage, PageError> {
    let scope = &staff.user.scope;
    let now = Utc::now();
    let fleet = state
        .store()
        .fleet_page(&FleetQuery {
            scope: scope.clone(),
            page: at,
            limit: PAGE_SIZE,
        })
        .await
        .map_err(|e| staff.fail(e))?;
    let summary = state
        .fleet_summaries()
        .summary(state.store(), scope, ALERT_LIMIT)
        .await
        .map_err(|e| staff.fail(e))?;
    let rollouts = state
        .store()
        .list_rollouts()
        .await
        .map_err(|e| staff.fail(e))?;
    let tr = Tr::new(staff.lang);
    // One county's staff know their county; only a county-wide view needs it spelled out.
    let with_county = *scope == Scope::All;
    // A rollout's counts are the whole county's: a township's administrator sees their own
    // booths' update state in the table, not the county's numbers.
    let rollout_alerts = if scope.is_county_wide() {
        rollouts
            .iter()
            .filter(|rollout| rollout.paused_automatically())
            .map(|rollout| {
                tr.t("fleet.alert.rollout_paused")
                    .replace("{id}", &rollout.id.to_string())
                    .replace("{version}", &rollout.version.to_string())
                    .replace("{reason}", rollout.state_reason.as_deref().unwrap_or(""))
            })
            .collect()
    } else {
        Vec::new()
    };
    let on_page = |number: u32| fleet.kiosks.iter().any(|k| k.kiosk_number == number);
    let mut alerts = Vec::new();
    for kiosk in &summary.summary.alerting {
        let number = kiosk.kiosk_number;
        // The page that starts with the booth (numbers after the one before it).
        let href = if on_page(number) {
            format!("#kiosk-{number}")
        } else {
            format!(
                "/staff/fleet?after={}#kiosk-{number}",
                number.saturating_sub(1)
            )
        };
        let place = place(&kiosk.village, with_county);
        // Worded as they were counted, so the list agrees with the numbers above it.
        alerts.extend(
            fleet::alerts(kiosk, summary.at)
                .iter()
                .map(|alert| AlertView {
                    number,
                    place: place.clone(),
                    text: alert_text(alert, summary.at, tr),
                    severe: alert.is_severe(),
                    href: href.clone(),
                }),
        );
    }
    let counts = summary.summary.counts;
    let alerts_cut = (alerts.len() as u64) < counts.alerts();
    let (mut active, mut retired) = (Vec::new(), Vec::new());
    for kiosk in &fleet.kiosks {
        let place = place(&kiosk.village, with_county);
        let alerting = !fleet::alerts(kiosk, now).is_empty();
        let mut view = kiosk_view(kiosk, place, alerting, now, tr);
        view.target = releases::target_for(&rollouts, kiosk)
            .map_or_else(|| "—".to_owned(), |rollout| rollout.version.to_string());
        if kiosk.is_revoked() {
            retired.push(view);
        } else {
            active.push(view);
        }
    }
    // Severe first; the sort is stable, so by kiosk number within each.
    alerts.sort_by_key(|alert| !alert.severe);
    let mut frame = staff.frame("fleet");
    frame.here = "/staff/fleet".into();
    let validities = VALIDITIES
        .iter()
        .map(|(value, key)| Validity {
            value,
            label: tr.t(key).into_owned(),
            selected: form.ttl == *value,
        })
        .collect();
    let alert_counts = [
        ("fleet.count.offline", counts.offline),
        ("fleet.count.paper_out", counts.paper_out),
        ("fleet.count.paper_near_end", counts.paper_near_end),
        ("fleet.count.queue_not_draining", counts.queue_not_draining),
        ("fleet.count.quarantined", counts.quarantined),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(key, n)| (tr.t(key).into_owned(), n))
    .collect();
    Ok(FleetPage {
        frame,
        alerts,
        alert_total: counts.alerts(),
        alert_counts,
        alerts_cut: alerts_cut.then(|| {
            tr.t("fleet.alerts_more")
                .replace("{n}", &summary.summary.alerting.len().to_string())
        }),
        // Said once the counts are a second old, as they are when kept from an earlier view.
        counted: ((now - summary.at).num_seconds() >= 1).then(|| {
            tr.t("fleet.counted")
                .replace("{ago}", &ago(summary.at, now, tr))
                .replace(
                    "{keep}",
                    &state.fleet_summaries().keep().as_secs().to_string(),
                )
        }),
        rollout_alerts,
        active,
        retired,
        active_total: counts.active,
        retired_total: counts.retired,
        previous: fleet.previous.map(|number| format!("before={number}")),
        next: fleet.next.map(|number| format!("after={number}")),
        form,
        validities,
        problem,
    })
}

fn kiosk_view(
    kiosk: &KioskRecord,
    place: String,
    alerting: bool,
    now: DateTime<Utc>,
    tr: Tr,
) -> KioskView {
    let heartbeat = kiosk
        .last_heartbeat
        .as_ref()
        .map(|record| &record.heartbeat);
    let dash = || "—".to_owned();
    let update = heartbeat.and_then(|h| h.update.as_ref());
    let (presence_key, presence_class) = match fleet::presence(kiosk, now) {
        Presence::Online => ("fleet.presence.online", "good"),
        Presence::Offline => ("fleet.presence.offline", "bad"),
        Presence::NeverSeen => ("fleet.presence.never", "warn"),
        Presence::Revoked => ("fleet.presence.revoked", ""),
    };
    let (paper_key, paper_class) = match fleet::paper(heartbeat) {
        Paper::Out => ("fleet.paper.out", "bad"),
        Paper::CoverOpen => ("fleet.paper.cover_open", "bad"),
        Paper::NearEnd => ("fleet.paper.near_end", "warn"),
        Paper::PrinterOffline => ("fleet.paper.printer_offline", "warn"),
        Paper::Ok => ("fleet.paper.ok", "good"),
        Paper::NoPrinter => ("fleet.paper.no_printer", ""),
        Paper::Unknown => ("fleet.paper.unknown", ""),
    };
    let (retired_key, retired_at) = match kiosk.revoked_at {
        Some(at) if kiosk.replaced_by.is_some() => ("fleet.state.replaced", ago(at, now, tr)),
        Some(at) => ("fleet.state.revoked", ago(at, now, tr)),
        None => ("", String::new()),
    };
    KioskView {
        id: kiosk.kiosk_id.clone(),
        number: kiosk.kiosk_number,
        place,
        presence_key,
        presence_class,
        seen: kiosk
            .last_seen_at
            .map_or_else(|| tr.t("fleet.never").into_owned(), |at| ago(at, now, tr)),
        queue: heartbeat.map_or_else(dash, |h| h.queue_depth.to_string()),
        oldest: heartbeat
            .and_then(|h| h.oldest_pending_age_s)
            .map_or_else(dash, |s| span(i64::try_from(s).unwrap_or(i64::MAX), tr)),
        quarantined: heartbeat.map_or_else(dash, |h| h.quarantined.to_string()),
        paper_key,
        paper_class,
        version: heartbeat.map_or_else(
            || kiosk.app_version.clone(),
            |h| {
                h.update
                    .as_ref()
                    .map_or_else(|| h.app_version.clone(), |u| u.running.to_string())
            },
        ),
        target: "—".to_owned(),
        update_key: update.map_or_else(String::new, |u| {
            format!("update.state.{}", u.state.as_str())
        }),
        update_detail: update.map_or_else(String::new, update_detail),
        update_class: match update.map(|u| u.state) {
            Some(state) if state.is_failure() => "bad",
            Some(UpdateState::Installed) => "good",
            Some(UpdateState::Idle) | None => "",
            Some(_) => "warn",
        },
        clock: heartbeat.map_or_else(dash, |h| {
            format!("{:+.1} s", h.clock_offset_ms as f64 / 1000.0)
        }),
        alerting,
        retired_key,
        retired_at,
    }
}

/// What a booth's updater reported besides its state: bytes downloaded towards its target,
/// and its last failure (version, stage, reason: the reason was cut to its cap on arrival).
fn update_detail(update: &UpdateReport) -> String {
    let mut parts = Vec::new();
    if let (Some(bytes), Some(target)) = (update.downloaded_bytes, update.target) {
        parts.push(format!(
            "{target}: {:.1} MiB",
            bytes as f64 / (1024.0 * 1024.0)
        ));
    }
    if let Some(failure) = &update.last_failure {
        parts.push(format!(
            "{} {}: {}",
            failure.version,
            failure.stage.as_str(),
            failure.reason
        ));
    }
    parts.join(" · ")
}

/// `凤岭乡 / 石门村` (with the county in front when asked), skipping empty parts.
fn place(village: &Village, with_county: bool) -> String {
    let county = with_county.then_some(village.county.as_str());
    county
        .into_iter()
        .chain([village.township.as_str(), village.village.as_str()])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The full `county/township/village` path, as scopes are written (for audit lines).
fn village_path(village: &Village) -> String {
    format!(
        "{}/{}/{}",
        village.county, village.township, village.village
    )
}

/// `5 分钟` / `5 min`: the largest whole unit.
fn span(seconds: i64, tr: Tr) -> String {
    let seconds = seconds.max(0);
    let (n, key) = match seconds {
        0..60 => (seconds, "fleet.unit.s"),
        60..3600 => (seconds / 60, "fleet.unit.min"),
        3600..86_400 => (seconds / 3600, "fleet.unit.h"),
        _ => (seconds / 86_400, "fleet.unit.d"),
    };
    tr.t(key).replace("{n}", &n.to_string())
}

fn ago(at: DateTime<Utc>, now: DateTime<Utc>, tr: Tr) -> String {
    tr.t("fleet.ago")
        .replace("{span}", &span((now - at).num_seconds(), tr))
}

fn alert_text(alert: &Alert, now: DateTime<Utc>, tr: Tr) -> String {
    let text = tr.t(format!("fleet.alert.{}", alert.kind()));
    match alert {
        Alert::Offline { since } => text.replace("{span}", &span((now - *since).num_seconds(), tr)),
        Alert::PaperOut | Alert::PaperNearEnd => text.into_owned(),
        Alert::QueueNotDraining {
            oldest_pending_s,
            queue_depth,
        } => text.replace("{n}", &queue_depth.to_string()).replace(
            "{span}",
            &span(i64::try_from(*oldest_pending_s).unwrap_or(i64::MAX), tr),
        ),
        Alert::Quarantined { count } => text.replace("{n}", &count.to_string()),
    }
}

/// The fleet page again with a one-line refusal above the code form.
async fn refuse(
    state: &AppState,
    staff: &Staff,
    form: CodeForm,
    status: StatusCode,
    problem: String,
) -> PageResult {
    let page = fleet_page(state, staff, form, Some(problem), PageAt::First).await?;
    let mut response = render(&page, staff.lang);
    *response.status_mut() = status;
    Ok(response)
}

/// The village and validity of a code form, or why not (status and translated line).
fn check_code_form(
    form: &CodeForm,
    scope: &Scope,
    tr: Tr,
) -> Result<(Village, Duration), (StatusCode, String)> {
    let village = Village {
        county: form.county.trim().to_owned(),
        township: form.township.trim().to_owned(),
        village: form.village.trim().to_owned(),
    };
    let bad = |key: &str| (StatusCode::BAD_REQUEST, tr.t(key).into_owned());
    if village.village.is_empty() {
        return Err(bad("fleet.code.village_required"));
    }
    // `/` separates the parts of a scope: a name holding one could never be in a scope.
    if [&village.county, &village.township, &village.village]
        .iter()
        .any(|part| part.contains('/') || part.chars().count() > MAX_NAME_CHARS)
    {
        return Err(bad("fleet.code.bad_name"));
    }
    let ttl = VALIDITIES
        .iter()
        .find(|(value, _)| *value == form.ttl)
        .and_then(|(value, _)| enroll_codes::parse_ttl(value).ok())
        .ok_or_else(|| bad("fleet.code.bad_ttl"))?;
    if !scope.covers(&village) {
        return Err((
            StatusCode::FORBIDDEN,
            tr.t("fleet.code.out_of_scope")
                .replace("{scope}", &scope.to_string()),
        ));
    }
    Ok((village, ttl))
}

/// The address booths reach this server at: `--public-url` if given, else the one the
/// administrator's browser used (scheme by whether the server speaks TLS).
fn booth_server_url(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.settings().public_url {
        return Some(url.clone());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: Authority = host.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let scheme = if state.settings().secure_cookies {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{authority}"))
}

/// The QR code as inline SVG (without the XML declaration, which has no place in HTML).
fn qr_svg(payload: &str) -> Result<String, qrcode::types::QrError> {
    let svg = QrCode::new(payload.as_bytes())?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

pub async fn issue_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: StaffForm<CodeForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let tr = Tr::new(staff.lang);
    let (village, ttl) = match check_code_form(&form, &staff.user.scope, tr) {
        Ok(checked) => checked,
        Err((status, problem)) => return refuse(&state, &staff, form, status, problem).await,
    };
    // Before the code exists: a code no booth can be pointed at helps nobody.
    let Some(server) = booth_server_url(&state, &headers) else {
        return Err(staff.fail(StaffError::BadRequest(
            "no usable Host header to put in the QR code: start the server with --public-url"
                .into(),
        )));
    };
    let now = Utc::now();
    let audit = |issued: &IssuedCode| {
        staff
            .audit("fleet.enroll_code")
            .target(village_path(&issued.village))
            .detail(format!("expires {}", issued.expires_at.to_rfc3339()))
    };
    let issued =
        enroll_codes::issue_audited(state.store(), state.code_secret(), village, ttl, now, audit)
            .await
            .map_err(|error| match error {
                IssueError::Store(error) => staff.fail(error),
                IssueError::Random(error) => {
                    tracing::error!(error = %error, "no random code");
                    staff.fail(StaffError::Internal)
                }
            })?;
    // Only an https address has a certificate to pin (a booth refuses a pin for http).
    let pin = state
        .settings()
        .tls_pin
        .filter(|_| server.starts_with("https://"));
    let payload = EnrollQr {
        server: server.clone(),
        code: issued.code.clone(),
        pin,
    }
    .payload();
    let qr_svg = qr_svg(&payload).map_err(|error| {
        tracing::error!(error = %error, "the enrollment QR code did not fit");
        staff.fail(StaffError::Internal)
    })?;
    let mut frame = staff.frame("fleet");
    frame.here = "/staff/fleet".into();
    let page = CodePage {
        frame,
        place: place(&issued.village, true),
        expires_at: issued
            .expires_at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M (UTC%:z)")
            .to_string(),
        // The validity asked for, not the expiry minus now: that is short of it by the
        // fraction of a second the expiry was rounded down.
        expires_in: tr.t("fleet.in").replace(
            "{span}",
            &span(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX), tr),
        ),
        code: issued.code,
        server,
        pin: pin.map(|pin| pin.to_string()).unwrap_or_default(),
        qr_svg,
    };
    Ok(render(&page, staff.lang))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(kiosk_id): Path<String>,
    form: StaffForm<RevokeForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    let scope = &staff.user.scope;
    let kiosk = state
        .store()
        .find_kiosk(&KioskRef::Id(kiosk_id))
        .await
        .map_err(|e| staff.fail(e))?
        .filter(|kiosk| scope.covers(&kiosk.village))
        .ok_or_else(|| staff.fail(StaffError::NotFound))?;
    if form.confirm.as_deref() != Some("yes") {
        let problem = Tr::new(staff.lang)
            .t("fleet.revoke.unconfirmed")
            .replace("{n}", &kiosk.kiosk_number.to_string());
        let form = CodeForm::prefilled(scope);
        return refuse(&state, &staff, form, StatusCode::BAD_REQUEST, problem).await;
    }
    let audit = staff
        .audit("fleet.revoke")
        .target(&kiosk.kiosk_id)
        .detail(format!(
            "#{} {}",
            kiosk.kiosk_number,
            village_path(&kiosk.village)
        ));
    match state
        .store()
        .revoke_kiosk_in(scope, &kiosk.kiosk_id, Utc::now(), audit)
        .await
    {
        // Already revoked (someone was quicker): what was asked for holds either way.
        Ok(RevokeOutcome::Revoked(_) | RevokeOutcome::AlreadyRevoked(_)) => {
            state.fleet_summaries().forget();
            Ok(Redirect::to("/staff/fleet?done=revoked").into_response())
        }
        Ok(RevokeOutcome::NotFound) => Err(staff.fail(StaffError::NotFound)),
        Err(error) => Err(staff.fail(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::i18n::Lang;

    #[test]
    fn spans_use_the_largest_whole_unit_in_both_languages() {
        let zh = Tr::new(Lang::Zh);
        let en = Tr::new(Lang::En);
        assert_eq!(span(59, en), "59 s");
        assert_eq!(span(60, en), "1 min");
        assert_eq!(span(7199, zh), "1小时");
        assert_eq!(span(3 * 86_400 + 5, zh), "3天");
        assert_eq!(
            span(-5, en),
            "0 s",
            "a clock step back is not negative time"
        );
    }

    #[test]
    fn the_code_form_wants_a_village_inside_the_scope_and_a_listed_validity() {
        let tr = Tr::new(Lang::En);
        let scope: Scope = "示范县/凤岭乡".parse().unwrap();
        let form = |township: &str, village: &str, ttl: &str| CodeForm {
            county: " 示范县 ".into(),
            township: township.into(),
            village: village.into(),
            ttl: ttl.into(),
        };
        let (village, ttl) = check_code_form(&form("凤岭乡", "石门村 ", "1d"), &scope, tr).unwrap();
        assert_eq!(village_path(&village), "示范县/凤岭乡/石门村");
        assert_eq!(ttl, Duration::from_secs(86_400));
        let status = |form: CodeForm| check_code_form(&form, &scope, tr).unwrap_err().0;
        assert_eq!(
            status(form("白圩镇", "石门村", "1h")),
            StatusCode::FORBIDDEN
        );
        assert_eq!(status(form("凤岭乡", " ", "1h")), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(form("凤岭乡", "石/门", "1h")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(form("凤岭乡", "石门村", "30d")),
            StatusCode::BAD_REQUEST
        );
        let (_, problem) =
            check_code_form(&form("白圩镇", "石门村", "1h"), &scope, tr).unwrap_err();
        assert!(problem.contains("示范县/凤岭乡"), "{problem}");
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("booth-enroll:v1?server=http%3A%2F%2Fh&code=ABCD-EFGH").unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("style"), "the CSP allows no inline style");
    }
}
