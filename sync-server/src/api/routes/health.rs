//! `GET /healthz`: 200 `{"status":"ok"}` when the store answers a read, else 500.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::state::AppState;

pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store().server_id().await?;
    Ok(Json(json!({ "status": "ok" })))
}
