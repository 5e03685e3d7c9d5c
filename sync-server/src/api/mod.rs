//! The kiosk API under `/api/v1`: what booths enroll with and sync to, and what operators
//! scrape. It sits beside the staff pages, over the store and the domain rules.
//!
//! - [`routes`]: the route table, one file per endpoint (enroll, submissions, feeds,
//!   heartbeat, releases, health, metrics, openapi).
//! - [`admission`]: how many signed requests are worked on at once and how many wait, each
//!   for a bounded time (beyond: 503 with `Retry-After`).
//! - [`throttle`]: the cap on bundle downloads at once and the pace of each.
//! - [`auth`]: signed-request verification (RFC 9421 style, see `sync_protocol::signing`),
//!   with [`nonces`] (replay memory) in front of the handlers.
//! - [`body`]: the bounded body reader (413 `body_too_large`) and the JSON extractor (400
//!   `malformed_json`); [`error`]: every error response is a `sync_protocol::ErrorBody`;
//!   [`middleware`]: the `Date` header on every response and error bodies for framework
//!   errors; [`observe`]: the per-request log line and metrics.
//! - [`enroll_codes`]: one-time enrollment codes (generation, typing forgiveness, expiry),
//!   which the staff fleet page issues too, and [`rate_limit`]: the limit on guessing them
//!   (and on staff logins).
//! - [`metrics`]: the Prometheus text at `/metrics`, for the holder of the token [`scraper`]
//!   checks; [`openapi`]: the hand-written OpenAPI
//!   document at `/api/v1/openapi.json`.

pub mod admission;
pub mod auth;
pub mod body;
pub mod enroll_codes;
pub mod error;
pub mod metrics;
pub mod middleware;
pub mod nonces;
pub mod observe;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod scraper;
pub mod throttle;
