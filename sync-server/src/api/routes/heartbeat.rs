//! `POST /api/v1/heartbeat`: the booth's health report; the latest one per kiosk is kept.
//! The answer names the release the county wants the booth to run
//! (`domain::releases::target_for`), read after the report is kept: a report that paused a
//! rollout already counts for the answer to it.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use sync_protocol::heartbeat::{Heartbeat, HeartbeatResponse};
use sync_protocol::release::ReleaseTarget;

use crate::api::auth::AuthenticatedKiosk;
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::domain::{limits, releases};
use crate::state::AppState;
use crate::store::KioskRef;

pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    JsonBody(mut heartbeat): JsonBody<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    check_app_version(&heartbeat.app_version)?;
    // Cut, not refused: a booth whose failure says too much must still be heard.
    if let Some(failure) = heartbeat
        .update
        .as_mut()
        .and_then(|update| update.last_failure.as_mut())
    {
        failure.reason = limits::clip(&failure.reason, limits::UPDATE_FAILURE_REASON).into_owned();
    }
    let now = Utc::now();
    state
        .store()
        .record_heartbeat(&kiosk.kiosk_id, &heartbeat, now)
        .await?;
    tracing::info!(
        queue_depth = heartbeat.queue_depth,
        quarantined = heartbeat.quarantined,
        clock_offset_ms = heartbeat.clock_offset_ms,
        "heartbeat"
    );
    Ok(Json(HeartbeatResponse {
        server_time: now,
        county_key: Some(state.county().public_key().clone()),
        release: target(&state, &kiosk.kiosk_id).await?,
    }))
}

/// The release the kiosk is told to run now.
async fn target(state: &AppState, kiosk_id: &str) -> Result<Option<ReleaseTarget>, ApiError> {
    let store = state.store();
    let rollouts = store.list_rollouts().await?;
    if rollouts.is_empty() {
        return Ok(None);
    }
    let Some(kiosk) = store.find_kiosk(&KioskRef::Id(kiosk_id.to_owned())).await? else {
        return Ok(None);
    };
    Ok(
        releases::target_for(&rollouts, &kiosk).map(|rollout| ReleaseTarget {
            version: rollout.version,
            bundle: rollout.bundle.clone(),
            size: rollout.size,
        }),
    )
}

/// The version a booth reports is kept (per kiosk, shown on the fleet page): a version number,
/// not a text of any length.
pub fn check_app_version(version: &str) -> Result<(), ApiError> {
    let chars = version.chars().count();
    if chars > limits::APP_VERSION {
        return Err(ApiError::invalid_request(format!(
            "app_version has {chars} characters, more than the {} a version may have: send the version number only",
            limits::APP_VERSION
        )));
    }
    Ok(())
}
