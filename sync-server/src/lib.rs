//! The county sync server: the HTTP API booths (kiosks) enroll with and sync to, and the store
//! behind it (embedded SQLite by default, behind a trait a PostgreSQL store can implement).
//!
//! Map of the crate:
//! - [`server`]: [`server::run`] binds nothing itself: it serves a given listener until a
//!   shutdown future resolves, finishing in-flight requests. The binary and the tests use it.
//! - [`app`]: [`app::app`] builds the axum `Router` over an [`app::AppState`] (for `oneshot`
//!   tests) and layers the cross-cutting middleware.
//! - [`routes`]: the route table, one file per endpoint (enroll, submissions, feeds, heartbeat,
//!   health, metrics, openapi).
//! - [`auth`]: signed-request verification (RFC 9421 style, see `sync_protocol::signing`), with
//!   [`nonces`] (replay memory) in front of the handlers.
//! - [`body`]: the bounded body reader (413 `body_too_large`) and the JSON extractor (400
//!   `malformed_json`); [`api_error`]: every error response is a `sync_protocol::ErrorBody`;
//!   [`middleware`]: the `Date` header on every response and error bodies for framework errors;
//!   [`observe`]: the per-request log line and metrics.
//! - [`enroll_codes`]: one-time enrollment codes (generation, typing forgiveness, expiry), and
//!   [`rate_limit`]: the limit on guessing them.
//! - [`county_time`]: China Standard Time, the clock of every date and deadline.
//! - [`catalog`]: the catalogue import file and how an import changes item versions.
//! - [`fleet`]: online or not, paper, and the alert rules of the staff fleet page, as pure
//!   functions of a kiosk record and the time; [`tls`]: HTTPS for `serve` (rustls).
//! - [`metrics`]: the Prometheus text at `/metrics`; [`openapi`]: the hand-written OpenAPI
//!   document at `/api/v1/openapi.json`.
//! - [`store`]: the [`store::Store`] trait, its SQLite backend, and the conformance suite every
//!   backend must pass.
//! - [`review`]: the review chain as a state machine, and working days for its deadlines.
//! - [`ratings`]: 好差评 tallies for the dashboard, and the due date and steps of the
//!   follow-up every bad rating gets.
//! - [`staff`]: the county staff's web app under `/staff` (accounts, review, content, fleet,
//!   audit), server-rendered HTML.
//! - [`data_dir`]: where the server keeps its files; [`settings`]: limits and timeouts.
//!
//! Personal data (names, ID numbers, addresses, phone numbers, free text) is stored because the
//! county needs it, but never logged: log lines carry submission ids, kiosk ids, receipt
//! numbers, outcomes and latencies only.

pub mod api_error;
pub mod app;
pub mod auth;
pub mod body;
pub mod data_dir;
pub mod domain;
pub mod enroll_codes;
pub mod metrics;
pub mod middleware;
pub mod nonces;
pub mod observe;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod settings;
pub mod staff;
pub mod store;
pub mod tls;
