//! Request bodies: read at most the configured limit before anything else looks at the
//! request (413 `body_too_large`), and decode JSON with our own error (400 `malformed_json`)
//! instead of axum's plain-text rejection. Content-Type is not insisted on: the body is JSON
//! or it is refused.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;
use crate::state::AppState;

/// Middleware: replaces the streaming body with the whole body, or answers 413.
pub async fn buffer_body(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings().body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::body_too_large(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    match read_bounded(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => error.into_response(),
    }
}

async fn read_bounded(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = std::pin::pin!(body);
    let mut buffer = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| {
            ApiError::invalid_request("the request body broke off while being read: send it again")
        })?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(ApiError::body_too_large(limit));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

/// Decodes a JSON body; the message says what is wrong and where.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed_json(format!("the body is not the expected JSON: {e}")))
}

/// The extractor for JSON bodies (already bounded by [`buffer_body`]).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|_| ApiError::invalid_request("the request body could not be read"))?;
        parse_json(&bytes).map(JsonBody)
    }
}
