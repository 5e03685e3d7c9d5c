//! The HTTP application: [`AppState`] (the store and the in-memory parts) and [`app`], the
//! router with its middleware, ready for `axum::serve` or `tower::ServiceExt::oneshot`.
//!
//! Middleware, outermost first: `Date` header → request log and metrics → JSON error bodies
//! for framework errors → timeout → bounded body read; signed routes add the signature check
//! after those, so an oversized body is refused before the store is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use chrono::{DateTime, Utc};
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use crate::metrics::Metrics;
use crate::nonces::NonceCache;
use crate::rate_limit::EnrollLimiter;
use crate::routes::{self, Access};
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use crate::{auth, body, middleware, observe};

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    server_id: String,
    settings: Settings,
    nonces: NonceCache,
    enroll_limiter: EnrollLimiter,
    login_limiter: EnrollLimiter,
    metrics: Metrics,
    /// When `last_seen` was last written per kiosk, to write it at most every
    /// `settings.last_seen_every`.
    last_seen_written: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("server_id", &self.shared.server_id)
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Reads the server id from the store.
    pub async fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self, StoreError> {
        let server_id = store.server_id().await?;
        Ok(Self {
            shared: Arc::new(Shared {
                enroll_limiter: EnrollLimiter::new(settings.enroll_limits),
                login_limiter: EnrollLimiter::new(settings.login_limits),
                store,
                server_id,
                settings,
                nonces: NonceCache::default(),
                metrics: Metrics::default(),
                last_seen_written: Mutex::default(),
            }),
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.shared.store.as_ref()
    }

    pub fn store_handle(&self) -> Arc<dyn Store> {
        Arc::clone(&self.shared.store)
    }

    pub fn server_id(&self) -> &str {
        &self.shared.server_id
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    pub fn nonces(&self) -> &NonceCache {
        &self.shared.nonces
    }

    pub fn enroll_limiter(&self) -> &EnrollLimiter {
        &self.shared.enroll_limiter
    }

    /// Staff login attempts (the same sliding window as enrollment guesses).
    pub fn login_limiter(&self) -> &EnrollLimiter {
        &self.shared.login_limiter
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Records a verified request from `kiosk_id` (throttled). A failure is logged, not
    /// returned: the request itself can still be served.
    pub async fn note_seen(&self, kiosk_id: &str, now: DateTime<Utc>) {
        let due = {
            let mut written = self
                .shared
                .last_seen_written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let every = self.shared.settings.last_seen_every;
            let due = written.get(kiosk_id).is_none_or(|at| at.elapsed() >= every);
            if due {
                written.insert(kiosk_id.to_owned(), Instant::now());
            }
            due
        };
        if due && let Err(error) = self.store().touch_kiosk(kiosk_id, now).await {
            tracing::warn!(error = %error, kiosk = kiosk_id, "could not record last seen");
        }
    }
}

/// The router over `state`.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes::table() {
        let handler = match route.access {
            Access::Public => route.handler,
            // route_layer: a wrong method still gets 405, not a signature refusal.
            Access::Signed => route
                .handler
                .route_layer(from_fn_with_state(state.clone(), auth::require_signature)),
        };
        router = router.route(route.path, handler);
    }
    router
        .nest("/staff", crate::staff::web::router())
        .route(
            "/staff/",
            axum::routing::get(|| async { axum::response::Redirect::to("/staff") }),
        )
        .route(
            "/",
            axum::routing::get(|| async { axum::response::Redirect::to("/staff/") }),
        )
        .fallback(routes::not_found)
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(middleware::date_header))
                .layer(from_fn_with_state(state.clone(), observe::observe))
                .layer(from_fn(middleware::error_bodies))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    state.settings().request_timeout,
                ))
                .layer(from_fn_with_state(state.clone(), body::buffer_body)),
        )
        .with_state(state)
}
