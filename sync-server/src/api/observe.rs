//! One log line and the metrics for every request: method, route (the template, never the
//! raw path), status, error code, latency, and the kiosk id once verified. Nothing from the
//! body or the query is logged, so no personal data reaches the logs.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sync_protocol::ErrorCode;
use tracing::Instrument as _;

use crate::state::AppState;

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        kiosk = tracing::field::Empty,
    );
    let started = Instant::now();
    let in_flight = state.metrics().request_started();
    let response = next.run(request).instrument(span.clone()).await;
    let latency = started.elapsed();
    drop(in_flight);
    let status = response.status();
    let code = response.extensions().get::<ErrorCode>().copied();
    state
        .metrics()
        .record_request(&route, method.as_str(), status.as_u16(), latency);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match code {
        None => tracing::info!(status = status.as_u16(), latency_ms, "handled"),
        Some(code) if status.is_server_error() => {
            tracing::error!(status = status.as_u16(), code = %code, latency_ms, "failed")
        }
        Some(code) => tracing::warn!(status = status.as_u16(), code = %code, latency_ms, "refused"),
    }
    response
}
