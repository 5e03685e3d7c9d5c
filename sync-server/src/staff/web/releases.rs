//! Releases and rollouts, for county-wide administrators ([`Needs::CountyAdmin`]): upload a
//! signed bundle, list releases, start a rollout (a percentage of all booths, townships,
//! villages, booth numbers), pause, resume, widen and stop it, and follow its progress with
//! the alert of an automatic pause.
//!
//! County-wide only: a release and a rollout reach every township's booths (a percentage is
//! of the whole fleet), so an administrator of one township may neither start one nor read
//! the county's progress counts; they see their own booths' update state on the fleet page.
//!
//! The upload is the one staff form that is not urlencoded: a multipart body streamed to
//! disk (`release_shelf`), whose first part must be the session's form token, checked before
//! one byte of the bundle is written; the bundle is verified against the configured release
//! keys before anything is kept. Every action is audited in the store's transaction.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use booth_release::Version;
use chrono::Utc;
use serde::Deserialize;

use super::access::{Needs, StaffRoute, route};
use super::session::{Staff, StaffForm, cross_origin};
use super::{Frame, PageError, PageResult, StaffError, render};
use crate::domain::releases::{
    self, ReleaseSummary, Rollout, RolloutState, parse_targets, parse_threshold,
};
use crate::release_upload::{self, UploadError};
use crate::staff::i18n::Tr;
use crate::staff::token;
use crate::state::AppState;
use crate::store::releases::{NewRollout, ReleaseRecord, RolloutChange};

pub fn routes() -> Vec<StaffRoute> {
    vec![
        route(Method::GET, "/releases", Needs::CountyAdmin, get(show)),
        // The body is streamed under the upload's own cap (see `app::STREAMED_UPLOAD`).
        route(
            Method::POST,
            "/releases",
            Needs::CountyAdmin,
            post(upload).layer(DefaultBodyLimit::disable()),
        ),
        route(Method::POST, "/rollouts", Needs::CountyAdmin, post(create)),
        route(
            Method::POST,
            "/rollouts/{id}/pause",
            Needs::CountyAdmin,
            post(pause),
        ),
        route(
            Method::POST,
            "/rollouts/{id}/resume",
            Needs::CountyAdmin,
            post(resume),
        ),
        route(
            Method::POST,
            "/rollouts/{id}/stop",
            Needs::CountyAdmin,
            post(stop),
        ),
        route(
            Method::POST,
            "/rollouts/{id}/widen",
            Needs::CountyAdmin,
            post(widen),
        ),
    ]
}

#[derive(Debug)]
struct ReleaseView {
    version: String,
    bundle: String,
    size: String,
    summary: ReleaseSummary,
    signed_by: String,
    uploaded_by: String,
    uploaded_at: String,
}

#[derive(Debug)]
struct RolloutView {
    id: i64,
    version: String,
    targets: String,
    state_key: String,
    state_class: &'static str,
    threshold: u8,
    reason: Option<String>,
    targeted: u64,
    in_progress: u64,
    installed: u64,
    failed: u64,
    can_pause: bool,
    can_resume: bool,
    can_stop: bool,
    can_widen: bool,
    percent: u8,
}

#[derive(Template)]
#[template(path = "staff/releases.html")]
struct ReleasesPage {
    frame: Frame,
    alerts: Vec<RolloutView>,
    rollouts: Vec<RolloutView>,
    releases: Vec<ReleaseView>,
    form: RolloutForm,
    max_mib: u64,
    keys_file: String,
    keys: usize,
    problem: Option<String>,
}

/// The rollout form's fields (also what it shows again after a refusal).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RolloutForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    percent: String,
    #[serde(default)]
    townships: String,
    #[serde(default)]
    villages: String,
    #[serde(default)]
    booths: String,
    #[serde(default)]
    threshold: String,
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn rollout_view(rollout: &Rollout, progress: releases::Progress) -> RolloutView {
    use RolloutState::{Active, Completed, Paused, Stopped};
    let state_class = match rollout.state {
        Active => "good",
        Paused => "warn",
        Stopped => "",
        Completed => "done",
    };
    RolloutView {
        id: rollout.id,
        version: rollout.version.to_string(),
        targets: rollout.targets.to_string(),
        state_key: format!("rollout.state.{}", rollout.state),
        state_class,
        threshold: rollout.failure_threshold,
        reason: rollout.state_reason.clone(),
        targeted: progress.targeted,
        in_progress: progress.in_progress,
        installed: progress.installed,
        failed: progress.failed,
        can_pause: rollout.state == Active,
        can_resume: rollout.state == Paused,
        can_stop: rollout.state != Stopped,
        can_widen: rollout.state != Stopped,
        percent: rollout.targets.percent,
    }
}

async fn page(
    state: &AppState,
    staff: &Staff,
    form: RolloutForm,
    problem: Option<String>,
) -> Result<ReleasesPage, PageError> {
    let store = state.store();
    let fail = |e| staff.fail(e);
    let records = store.list_releases().await.map_err(fail)?;
    let rollouts = store.list_rollouts().await.map_err(fail)?;
    let kiosks = store.list_kiosks().await.map_err(fail)?;
    let views: Vec<RolloutView> = rollouts
        .iter()
        .map(|rollout| rollout_view(rollout, releases::progress(rollout, &kiosks)))
        .collect();
    let alerts = rollouts
        .iter()
        .zip(&views)
        .filter(|(rollout, _)| rollout.paused_automatically())
        .map(|(rollout, _)| rollout_view(rollout, releases::progress(rollout, &kiosks)))
        .collect();
    let form = RolloutForm {
        version: if form.version.is_empty() {
            records
                .first()
                .map(|r| r.version.to_string())
                .unwrap_or_default()
        } else {
            form.version
        },
        ..form
    };
    let mut frame = staff.frame("releases");
    frame.here = "/staff/releases".into();
    let settings = &state.settings().releases;
    Ok(ReleasesPage {
        frame,
        alerts,
        rollouts: views,
        releases: records.iter().map(release_view).collect(),
        form,
        max_mib: settings.max_bundle_bytes / (1024 * 1024),
        keys_file: settings.keys.path.display().to_string(),
        keys: settings.keys.keys.len(),
        problem,
    })
}

fn release_view(record: &ReleaseRecord) -> ReleaseView {
    ReleaseView {
        version: record.version.to_string(),
        bundle: record.bundle.clone(),
        size: mib(record.size),
        signed_by: record.summary.signed_by.join(", "),
        summary: record.summary.clone(),
        uploaded_by: record.uploaded_by.clone(),
        uploaded_at: crate::domain::county_time::shown(record.uploaded_at),
    }
}

pub async fn show(
    staff: Staff,
    State(state): State<AppState>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let mut page = page(&state, &staff, RolloutForm::default(), None).await?;
    page.frame.flash = match query.done.as_deref() {
        Some("uploaded") => Some("release.uploaded"),
        Some("created") => Some("rollout.created"),
        Some("changed") => Some("rollout.changed"),
        _ => None,
    };
    Ok(render(&page, staff.lang))
}

/// The page again with a one-line refusal.
async fn refuse(
    state: &AppState,
    staff: &Staff,
    form: RolloutForm,
    status: StatusCode,
    problem: String,
) -> PageResult {
    let page = page(state, staff, form, Some(problem)).await?;
    let mut response = render(&page, staff.lang);
    *response.status_mut() = status;
    Ok(response)
}

/// The longest `csrf` part read from an upload form; a token is far shorter.
const MAX_TOKEN_PART: usize = 256;

/// `POST /staff/releases`: a multipart form whose first part is `csrf` and whose second is
/// the bundle file `bundle`.
pub async fn upload(
    staff: Staff,
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> PageResult {
    if cross_origin(&headers) {
        return Err(staff.fail(StaffError::Csrf));
    }
    let settings = &state.settings().releases;
    let max = settings.max_bundle_bytes;
    let tr = Tr::new(staff.lang);
    let bad = |e: axum::extract::multipart::MultipartError| {
        staff.fail(StaffError::BadRequest(e.body_text()))
    };
    // The token first: nothing of the bundle is read for a forged form. The route has no body
    // limit (the bundle is streamed under its own cap), so the token part is read with one.
    let token = match multipart.next_field().await.map_err(bad)? {
        Some(mut field) if field.name() == Some("csrf") => {
            let mut token = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                token.extend_from_slice(&chunk);
                if token.len() > MAX_TOKEN_PART {
                    return Err(staff.fail(StaffError::Csrf));
                }
            }
            String::from_utf8(token).unwrap_or_default()
        }
        _ => String::new(),
    };
    if !token::same(token.trim(), &staff.csrf) {
        return Err(staff.fail(StaffError::Csrf));
    }
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || tr.t("release.too_large").replace("{max}", &mib(max));
    // A little room for the form's own lines around the file.
    if declared.is_some_and(|length| length > max + 64 * 1024) {
        let form = RolloutForm::default();
        return refuse(
            &state,
            &staff,
            form,
            StatusCode::PAYLOAD_TOO_LARGE,
            too_large(),
        )
        .await;
    }
    let mut field = match multipart.next_field().await.map_err(bad)? {
        Some(field) if field.name() == Some("bundle") => field,
        _ => {
            let problem = tr.t("release.no_file").into_owned();
            return refuse(
                &state,
                &staff,
                RolloutForm::default(),
                StatusCode::BAD_REQUEST,
                problem,
            )
            .await;
        }
    };
    let shelf = state.shelf();
    let mut incoming = shelf.receive(max).map_err(|e| {
        tracing::error!(error = %e, "cannot receive a release upload");
        staff.fail(StaffError::Internal)
    })?;
    while let Some(chunk) = field.chunk().await.map_err(bad)? {
        if let Err(error) = incoming.write(&chunk) {
            return upload_refused(&state, &staff, &UploadError::Shelf(error)).await;
        }
    }
    let received = incoming.finish().map_err(|e| {
        tracing::error!(error = %e, "cannot receive a release upload");
        staff.fail(StaffError::Internal)
    })?;
    if received.size == 0 {
        let problem = tr.t("release.no_file").into_owned();
        return refuse(
            &state,
            &staff,
            RolloutForm::default(),
            StatusCode::BAD_REQUEST,
            problem,
        )
        .await;
    }
    match release_upload::take_in(
        state.store(),
        shelf,
        &settings.keys,
        received,
        staff.audit("release.upload"),
    )
    .await
    {
        Ok(record) => {
            tracing::info!(version = %record.version, bundle = record.bundle, "release uploaded");
            Ok(Redirect::to("/staff/releases?done=uploaded").into_response())
        }
        Err(error) => upload_refused(&state, &staff, &error).await,
    }
}

async fn upload_refused(state: &AppState, staff: &Staff, error: &UploadError) -> PageResult {
    if !error.is_refusal() {
        tracing::error!(error = %error, "a release upload failed");
        return Err(staff.fail(StaffError::Internal));
    }
    let tr = Tr::new(staff.lang);
    let status = match error {
        UploadError::Shelf(crate::release_shelf::ShelfError::TooLarge { .. }) => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        UploadError::Refused(_) => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    // The refusal itself is in English, one line, naming what was wrong.
    let problem = format!("{}{}", tr.t("release.refused"), error_line::one_line(error));
    refuse(state, staff, RolloutForm::default(), status, problem).await
}

pub async fn create(State(state): State<AppState>, form: StaffForm<RolloutForm>) -> PageResult {
    let StaffForm { staff, form } = form;
    let parsed = (|| {
        let version: Version = form
            .version
            .trim()
            .parse()
            .map_err(|e: booth_release::VersionError| e.to_string())?;
        let targets = parse_targets(&form.percent, &form.townships, &form.villages, &form.booths)
            .map_err(|e| e.to_string())?;
        let threshold = parse_threshold(&form.threshold).map_err(|e| e.to_string())?;
        Ok::<_, String>((version, targets, threshold))
    })();
    let (version, targets, failure_threshold) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            return refuse(&state, &staff, form, StatusCode::BAD_REQUEST, problem).await;
        }
    };
    let audit = staff.audit("rollout.create").detail(format!(
        "{version} to {targets}, pause past {failure_threshold} % failed"
    ));
    let rollout = NewRollout {
        version,
        targets,
        failure_threshold,
        created_by: staff.user.username.clone(),
        created_at: Utc::now(),
    };
    match state.store().create_rollout(rollout, audit).await {
        Ok(Ok(_)) => Ok(Redirect::to("/staff/releases?done=created").into_response()),
        Ok(Err(refusal)) => {
            refuse(
                &state,
                &staff,
                form,
                StatusCode::CONFLICT,
                refusal.to_string(),
            )
            .await
        }
        Err(error) => Err(staff.fail(error)),
    }
}

/// The widen form: what to add.
#[derive(Debug, Deserialize)]
pub struct WidenForm {
    #[serde(default)]
    percent: String,
    #[serde(default)]
    townships: String,
    #[serde(default)]
    villages: String,
    #[serde(default)]
    booths: String,
}

async fn change(state: &AppState, staff: &Staff, id: i64, change: RolloutChange) -> PageResult {
    let detail = match &change {
        RolloutChange::Widen(more) => format!("add {more}"),
        _ => String::new(),
    };
    let mut audit = staff.audit(change.action());
    if !detail.is_empty() {
        audit = audit.detail(detail);
    }
    match state.store().change_rollout(id, change, audit).await {
        Ok(Ok(_)) => Ok(Redirect::to("/staff/releases?done=changed").into_response()),
        Ok(Err(crate::store::releases::RolloutRefusal::UnknownRollout(_))) => {
            Err(staff.fail(StaffError::NotFound))
        }
        Ok(Err(refusal)) => {
            let form = RolloutForm::default();
            refuse(
                state,
                staff,
                form,
                StatusCode::CONFLICT,
                refusal.to_string(),
            )
            .await
        }
        Err(error) => Err(staff.fail(error)),
    }
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn pause(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm<NoFields>,
) -> PageResult {
    change(&state, &form.staff, id, RolloutChange::Pause).await
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm<NoFields>,
) -> PageResult {
    change(&state, &form.staff, id, RolloutChange::Resume).await
}

pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm<NoFields>,
) -> PageResult {
    change(&state, &form.staff, id, RolloutChange::Stop).await
}

pub async fn widen(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm<WidenForm>,
) -> PageResult {
    let StaffForm { staff, form } = form;
    match parse_targets(&form.percent, &form.townships, &form.villages, &form.booths) {
        Ok(more) => change(&state, &staff, id, RolloutChange::Widen(more)).await,
        Err(problem) => {
            let form = RolloutForm::default();
            refuse(
                &state,
                &staff,
                form,
                StatusCode::BAD_REQUEST,
                problem.to_string(),
            )
            .await
        }
    }
}
