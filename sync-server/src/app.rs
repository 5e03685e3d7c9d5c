//! The HTTP application: [`app`], the router over an [`AppState`] with its middleware, ready
//! for `axum::serve` or `tower::ServiceExt::oneshot`. It joins the kiosk API's route table and
//! the staff pages under `/staff`.
//!
//! Middleware, outermost first: `Date` header → request log and metrics → JSON error bodies
//! for framework errors → timeout → bounded body read; signed routes add the signature check
//! after those, so an oversized body is refused before the store is read.

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use crate::api::routes::{self, Access};
use crate::api::{auth, body, middleware, observe, scraper};
use crate::state::AppState;

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
            Access::Scraper => route
                .handler
                .route_layer(from_fn_with_state(state.clone(), scraper::require_token)),
        };
        router = router.route(route.path, handler);
    }
    router
        .nest("/staff", crate::staff::web::router(&state))
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
