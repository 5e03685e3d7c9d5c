//! `POST /api/v1/heartbeat`: the booth's health report; the latest one per kiosk is kept.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use sync_protocol::heartbeat::{Heartbeat, HeartbeatResponse};

use crate::api::auth::AuthenticatedKiosk;
use crate::api::body::JsonBody;
use crate::api::error::ApiError;
use crate::domain::limits;
use crate::state::AppState;

pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    JsonBody(heartbeat): JsonBody<Heartbeat>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    check_app_version(&heartbeat.app_version)?;
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
        release: None,
    }))
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
