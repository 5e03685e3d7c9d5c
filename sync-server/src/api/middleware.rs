//! Response rules that hold for every route, the framework's own answers included.
//!
//! - [`date_header`]: every response carries `Date` (booths learn their clock offset from it,
//!   most of all from a `stale_timestamp` refusal).
//! - [`error_bodies`]: an error response without a JSON body (a timeout's 408, a wrong
//!   method's 405) gets a `sync_protocol::ErrorBody`, so a booth can always read a code.
//!   Staff pages answer errors in HTML, which is left alone.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sync_protocol::ErrorCode;

use crate::api::error::ApiError;

/// An HTTP date (RFC 9110 IMF-fixdate), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub async fn date_header(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::DATE)
        && let Ok(value) = HeaderValue::from_str(&http_date(Utc::now()))
    {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

pub async fn error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // JSON is already ours; HTML is a staff page's own error page.
    let has_body = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || has_body {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            "no such endpoint: see /api/v1/openapi.json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::InvalidRequest,
            "this endpoint does not take that method: see /api/v1/openapi.json",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            ErrorCode::Internal,
            "the server took too long with this request: retry later",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::BodyTooLarge, "the request body is too large"),
        s if s.is_server_error() => (ErrorCode::Internal, "the server failed: retry later"),
        _ => (ErrorCode::InvalidRequest, "the request was refused"),
    };
    let (parts, _) = response.into_parts();
    let mut replaced = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_use_the_http_format() {
        let time: DateTime<Utc> = "1994-11-06T08:49:37Z".parse().unwrap();
        assert_eq!(http_date(time), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
