//! The HTTP application: [`app`], the router over an [`AppState`] with its middleware, ready
//! for `axum::serve` or `tower::ServiceExt::oneshot`. It joins the kiosk API's route table and
//! the staff pages under `/staff`.
//!
//! Middleware, outermost first: `Date` header → request log and metrics → JSON error bodies
//! for framework errors → timeout → bounded body read; signed routes add a turn under the
//! admission gate and then the signature check after those, so an oversized body is refused
//! before the store is read, and a request turned away costs no signature check.
//!
//! The one-time phone upload page (`/m/{token}`, [`crate::phone_upload`]) is public HTML
//! outside both; its upload, like the release upload below, reads its own body under its own
//! caps and deadline.
//!
//! One route is different: the staff page's release upload ([`STREAMED_UPLOAD`]) streams its
//! body to disk under its own cap and a longer deadline (`ReleaseSettings`), after the staff
//! guard has checked the session and role: a bundle is up to 256 MiB, far above the body
//! limit, and takes longer than a request may. The timeout is on producing the response's
//! head; a download's body streams after it (paced by `api::throttle`).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse as _, Response};
use tower::ServiceBuilder;

use crate::api::routes::{self, Access};
use crate::api::{admission, auth, body, middleware, observe, scraper};
use crate::state::AppState;

/// The router over `state`.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes::table() {
        let handler = match route.access {
            Access::Public => route.handler,
            // route_layer: a wrong method still gets 405, not a signature refusal.
            // The turn first: a request turned away costs no signature check.
            Access::Signed => route
                .handler
                .route_layer(from_fn_with_state(state.clone(), auth::require_signature))
                .route_layer(from_fn_with_state(state.clone(), admission::admit)),
            Access::Scraper => route
                .handler
                .route_layer(from_fn_with_state(state.clone(), scraper::require_token)),
        };
        router = router.route(route.path, handler);
    }
    router
        .nest("/staff", crate::staff::web::router(&state))
        .merge(crate::phone_upload::routes())
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
                .layer(from_fn_with_state(state.clone(), deadline))
                .layer(from_fn_with_state(state.clone(), buffer_body)),
        )
        .with_state(state)
}

/// `POST` here streams its body (the staff page's bundle upload).
pub const STREAMED_UPLOAD: &str = "/staff/releases";

fn streams_its_body(request: &Request) -> bool {
    request.method() == Method::POST && request.uri().path() == STREAMED_UPLOAD
}

/// The request timeout (the upload's own for [`STREAMED_UPLOAD`] and a phone's upload);
/// past it, 408.
async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = if streams_its_body(&request) {
        state.settings().releases.upload_timeout
    } else if crate::phone_upload::is_upload(&request) {
        crate::phone_upload::UPLOAD_TIMEOUT
    } else {
        state.settings().request_timeout
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// [`body::buffer_body`], but for [`STREAMED_UPLOAD`] and a phone's upload (read photograph
/// by photograph under its own caps, `crate::phone_upload`).
async fn buffer_body(state: State<AppState>, request: Request, next: Next) -> Response {
    if streams_its_body(&request) || crate::phone_upload::is_upload(&request) {
        return next.run(request).await;
    }
    body::buffer_body(state, request, next).await
}
