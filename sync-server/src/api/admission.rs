//! Admission: how many of the booths' signed requests the server works on at once, and how
//! many wait for a turn, each for a bounded time; anyone beyond is answered at once with `503
//! rate_limited` and `Retry-After` ([`AdmissionSettings`], options of `serve`).
//!
//! The connection cap alone let every connection it admitted start its request at once. In a
//! reconnect storm (14,000 booths back together) 512 requests then shared the CPU and the
//! store's writer, each took seconds, each held its connection's place meanwhile, and the
//! booths beyond the cap waited in the kernel's backlog until their connect timeouts: errors a
//! booth can only guess how long to wait out (docs/benchmarks.md, "A reconnect storm"). With
//! the work bounded and the wait bounded, every request is answered promptly — served, or told
//! when to come back — so places turn over and the backlog drains.
//!
//! The gate sits in front of the signature check, so a request turned away costs no signature
//! verification and no store access. Unsigned routes (`/healthz`, enrollment, `/metrics`, the
//! staff pages) do not pass through it: a booth's probe must tell "up" from "down" even when
//! the server is busy, and staff work has its own limits.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sync_protocol::ErrorCode;

use crate::api::error::ApiError;
use crate::gate::Gate;
use crate::state::AppState;

/// The bounds of the booth API's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// Signed requests worked on at once.
    pub in_flight: usize,
    /// Signed requests waiting for a turn; more are answered `503` at once.
    pub queue: usize,
    /// The longest a request waits for a turn before it is answered `503`.
    pub wait: Duration,
}

impl AdmissionSettings {
    /// For a machine with `cores` cores: 32 requests at once per core (enough that the
    /// store's writer gets full batches to commit together), four times that waiting, for at
    /// most a second.
    pub fn for_cores(cores: usize) -> Self {
        let in_flight = 32 * cores.max(1);
        Self {
            in_flight,
            queue: 4 * in_flight,
            wait: Duration::from_secs(1),
        }
    }

    pub fn gate(&self) -> Gate {
        Gate::new(self.in_flight, self.queue, Some(self.wait))
    }
}

/// What a request turned away at admission is told to wait, in seconds: the same as a
/// connection turned away at the cap, and a booth's full-jitter backoff is floored by it.
pub const BUSY_RETRY_AFTER_S: u64 = crate::connections::TURN_AWAY_RETRY_AFTER_S;

/// Lets a signed request through once it has a turn, holding the turn until its response's
/// head is made (a download's body streams after, under its own cap).
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.admission().enter().await {
        Ok(_turn) => next.run(request).await,
        Err(_) => busy().into_response(),
    }
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::RateLimited,
        format!(
            "the server is working on as many booth requests as it may: try again after {BUSY_RETRY_AFTER_S} seconds"
        ),
    )
    .retry_after(BUSY_RETRY_AFTER_S)
}
