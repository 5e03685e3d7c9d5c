//! `GET /api/v1/openapi.json`: the document from [`crate::api::openapi`].

use axum::Json;

pub async fn openapi() -> Json<&'static serde_json::Value> {
    Json(crate::api::openapi::document())
}
