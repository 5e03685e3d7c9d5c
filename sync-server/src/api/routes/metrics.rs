//! `GET /metrics`: Prometheus text (see [`crate::api::metrics`]).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;

use crate::api::error::ApiError;
use crate::state::AppState;

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.store().stats().await?;
    let kiosks = state.store().list_kiosks().await?;
    let text = state.metrics().render(&stats, &kiosks, Utc::now());
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
