//! `GET /api/v1/releases/{bundle}`: the bytes of a release bundle, for the signing kiosk only
//! while it is the kiosk's target (or one it started in a rollout still running, so a download
//! cut off when a newer rollout came can finish). Any other name answers 404 exactly like a
//! name no release has: a booth cannot learn which releases exist by asking.
//!
//! `ETag` is the bundle's SHA-256 (quoted); `Range: bytes=N-` (or `N-M`) answers 206 with
//! `Content-Range`, so a booth resumes after a cut; a range past the end answers 416 with
//! `Content-Range: bytes */SIZE`. The file is streamed, paced and capped as
//! [`crate::api::throttle`] says: the bundle is never read into memory.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_protocol::ErrorCode;
use sync_protocol::release::is_bundle_name;

use crate::api::auth::AuthenticatedKiosk;
use crate::api::error::ApiError;
use crate::api::throttle;
use crate::domain::releases;
use crate::state::AppState;
use crate::store::KioskRef;

/// How long a booth refused for a full server waits before it asks again.
const RETRY_AFTER_S: u64 = 60;

fn not_targeted() -> ApiError {
    ApiError::not_found("no such release for this booth: download the bundle its heartbeat names")
}

pub async fn download(
    State(state): State<AppState>,
    Extension(kiosk): Extension<AuthenticatedKiosk>,
    Path(bundle): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !is_bundle_name(&bundle) {
        return Err(not_targeted());
    }
    let store = state.store();
    let record = store
        .find_kiosk(&KioskRef::Id(kiosk.kiosk_id.clone()))
        .await?
        .ok_or_else(not_targeted)?;
    let rollouts = store.list_rollouts().await?;
    let rollout = releases::downloadable(&rollouts, &record)
        .into_iter()
        .find(|rollout| rollout.bundle == bundle)
        .ok_or_else(not_targeted)?;
    let size = rollout.size;
    let range = match requested_range(&headers, size) {
        Ok(range) => range,
        Err(()) => return Ok(unsatisfiable(size)),
    };
    let Some(place) = state.downloads().try_enter() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RateLimited,
            "the server is sending as many release bundles as it may: the booth asks again later",
        )
        .retry_after(RETRY_AFTER_S));
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let length = if size == 0 { 0 } else { end - start + 1 };
    let rate = state.settings().releases.download_rate;
    let body = throttle::paced_file(state.shelf().path_of(&bundle), start, length, rate, place)
        .await
        .map_err(|error| ApiError::internal(&error))?;
    tracing::info!(version = %rollout.version, start, length, "bundle download");
    let mut response = body.into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{bundle}\"")) {
        out.insert(header::ETAG, etag);
    }
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// The byte range asked for (inclusive), `None` for the whole file; `Err` for a range that
/// cannot be served. Only one range of the `bytes` unit: `N-`, `N-M`, or `-K` (the last K).
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?.trim();
    let spec = text.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Err(());
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let number = |text: &str| text.trim().parse::<u64>().map_err(|_| ());
    let (start, end) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (false, true) => (number(first)?, size.checked_sub(1).ok_or(())?),
        (false, false) => (number(first)?, number(last)?.min(size.saturating_sub(1))),
        (true, false) => {
            let suffix = number(last)?.min(size);
            if suffix == 0 {
                return Err(());
            }
            (size - suffix, size - 1)
        }
        (true, true) => return Err(()),
    };
    if start >= size || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn unsatisfiable(size: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorCode::InvalidRequest,
        format!(
            "the range asked for is not within the bundle's {size} bytes: ask for bytes=N- with N below {size}, or without Range"
        ),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, value.parse().unwrap());
        requested_range(&headers, size)
    }

    #[test]
    fn ranges_resume_from_an_offset_and_refuse_what_is_past_the_end() {
        assert_eq!(requested_range(&HeaderMap::new(), 10), Ok(None));
        assert_eq!(range("bytes=4-", 10), Ok(Some((4, 9))));
        assert_eq!(range("bytes=0-", 10), Ok(Some((0, 9))));
        assert_eq!(range("bytes=2-5", 10), Ok(Some((2, 5))));
        assert_eq!(range("bytes=2-50", 10), Ok(Some((2, 9))));
        assert_eq!(range("bytes=-3", 10), Ok(Some((7, 9))));
        for bad in [
            "bytes=10-",
            "bytes=5-2",
            "bytes=0-1,3-4",
            "items=0-",
            "bytes=-",
            "bytes=x-",
        ] {
            assert_eq!(range(bad, 10), Err(()), "{bad}");
        }
    }
}
