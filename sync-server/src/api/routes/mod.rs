//! The route table: every endpoint once, with its method, path and whether it is signed.
//! [`crate::app::app`] builds the router from it, and the OpenAPI test holds the document to
//! it, so neither can gain a route the other lacks.
//!
//! One file per endpoint: [`enroll`], [`submissions`], [`attachments`], [`feeds`], [`heartbeat`],
//! [`releases`], [`health`], [`metrics`], [`openapi`].

pub mod attachments;
pub mod enroll;
pub mod feeds;
pub mod health;
pub mod heartbeat;
pub mod metrics;
pub mod openapi;
pub mod releases;
pub mod submissions;

use axum::http::Method;
use axum::routing::{MethodRouter, get, post, put};
use sync_protocol::paths;

use crate::api::error::ApiError;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Signed by an enrolled, unrevoked kiosk.
    Signed,
    /// The metrics scraper's bearer token ([`crate::api::scraper`]).
    Scraper,
}

#[derive(Debug)]
pub struct Route {
    pub method: Method,
    /// axum's syntax, which is also OpenAPI's: `/api/v1/feeds/{feed}`.
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

/// The path of the feeds route.
pub const FEED_PATH: &str = "/api/v1/feeds/{feed}";
/// The path of the bundle download route.
pub const RELEASE_PATH: &str = "/api/v1/releases/{bundle}";

pub fn table() -> Vec<Route> {
    let route = |method, path, access, handler| Route {
        method,
        path,
        access,
        handler,
    };
    vec![
        route(
            Method::POST,
            paths::ENROLL,
            Access::Public,
            post(enroll::enroll),
        ),
        route(
            Method::POST,
            paths::SUBMISSIONS,
            Access::Signed,
            post(submissions::submit),
        ),
        route(
            Method::GET,
            attachments::PATH,
            Access::Signed,
            get(attachments::status_of),
        ),
        route(
            Method::PUT,
            attachments::PATH,
            Access::Signed,
            put(attachments::upload),
        ),
        route(Method::GET, FEED_PATH, Access::Signed, get(feeds::feed)),
        route(
            Method::POST,
            paths::HEARTBEAT,
            Access::Signed,
            post(heartbeat::heartbeat),
        ),
        route(
            Method::GET,
            RELEASE_PATH,
            Access::Signed,
            get(releases::download),
        ),
        route(
            Method::GET,
            paths::HEALTH,
            Access::Public,
            get(health::health),
        ),
        route(
            Method::GET,
            paths::METRICS,
            Access::Scraper,
            get(metrics::metrics),
        ),
        route(
            Method::GET,
            paths::OPENAPI,
            Access::Public,
            get(openapi::openapi),
        ),
    ]
}

/// The fallback: a JSON 404 naming the way to the API description.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see /api/v1/openapi.json")
}
