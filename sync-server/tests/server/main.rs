//! The server's library-level tests over real HTTP on 127.0.0.1 (port 0) or `oneshot`, with real
//! SQLite files in temporary directories.
//!
//! - `store_sqlite`: the store conformance suite on the SQLite backend.
//! - `store_postgres`: the same suites on PostgreSQL (a schema per test in the local server).
//! - `store_transfer`: `migrate-store` from SQLite into PostgreSQL, backups and restores of
//!   both, compared with per-table digests; the copy's table list against both schemas.
//! - `api`: enrollment, submissions, feeds, heartbeat, health, metrics, the `Date` header.
//! - `attachments_api`: files uploaded in chunks after the submission listing them, resumed,
//!   kept once and sealed at rest; every refusal keeps nothing.
//! - `data_dir`: the data directory and its files are private; codes need the secret.
//! - `enrollment`: code use, expiry, proofs, concurrency, the guessing limit.
//! - `re_enrollment`: a booth re-enrolling with its old key keeps its number and submissions;
//!   a retry with the same code and key gets the original answer.
//! - `return_paths`: redirect targets from the request stay on the staff pages.
//! - `security`: each refusal is a 4xx with its code and changes nothing in the store.
//! - `input_caps`: every staff form field, the login, the audit log and what booths send
//!   are capped before storage.
//! - `login_guessing`: limits on guessing staff passwords (no lockout for everybody, known
//!   and unknown names alike, the own-password page), and the bounded argon2 queue.
//! - `input_checks`: phone numbers refused at upload; formulas defused in the CSV export.
//! - `openapi`: the document matches the route table and the wire types.
//! - `personal_data`: personal values never readable in the database file or its WAL, staff
//!   still reading them; tampering refused; search by ID number; old databases sealed.
//! - `shared_state`: the replay memory and guessing limits, in memory and in PostgreSQL: two
//!   instances on one schema share every nonce, budget and remembered browser, races
//!   included; a limits database that does not answer admits nothing.
//! - `shutdown`: a graceful stop finishes the request in flight.
//! - `slow_clients`: half-sent request heads are cut off, connections are capped, and the
//!   server still answers while slow clients hold the cap.
//! - `staff_admin`: accounts, calendar and audit pages, for administrators only.
//! - `staff_auth`: staff login, lockout, throttling, sessions, CSRF, language (with
//!   `staff_client`, a cookie-keeping client for the staff pages).
//! - `staff_review`: the review chain over HTTP, each step reaching the booth's feed; scope
//!   and role rules; escaping; the logged full-ID view; the CSV export.
//! - `corrections`: 补正: the materials a handler ticks reach the booth's feed with the
//!   note; a supplement from any booth joins its case (pages on the case's page, in its
//!   scope), never a case of its own; an unknown original is refused with its code.
//! - `staff_scope`: every staff route, walked by village- and township-scoped accounts of
//!   every role, stays inside their scope; county pages need a county-wide administrator;
//!   a booth moved to another township leaves its history in the old one's scope.
//! - `staff_content`: the guide editor and notices pages: drafts, publishing into the feeds,
//!   withdrawal, history, roles, scope, escaping and the form token.
//! - `staff_ratings`: the 好差评 dashboard and follow-ups of bad ratings: counts and shares,
//!   due dates, scope, roles, escaping, CSRF and the audit trail.
//! - `staff_fleet`: the fleet page: administrators in their scope, alerts, enrollment codes
//!   with a scannable QR code, revocation, escaping.
//! - `releases_api`: the release target in the heartbeat's answer, the bundle download (Range,
//!   ETag, 404 for a booth it is not meant for, the cap), refused uploads leaving nothing, the
//!   automatic pause (bundles from `release_fixtures`, packed with a test key).
//! - `staff_releases`: the releases page: upload, rollouts and their actions, refusals on one
//!   line, CSRF, and every role and narrower scope refused on every action.
//! - `releases_cli`: `sync-server release` and `rollout` against a data directory.
//! - `session_lookup`: a session cookie is looked up with reads only; a made-up one never
//!   queues on the store's single writer.
//! - `tls`: HTTPS with a self-signed certificate, `Secure` cookies, handshake deadlines, and
//!   `serve` refusing plain HTTP off loopback and bad certificate files.
//! - `cli`: the `sync-server` binary: `serve`'s ready line, staff commands while it runs.
//! - `systemd`: `serve` under a notify socket: READY once listening, STOPPING on SIGTERM, the
//!   request in flight still answered.
//! - `audit_chain`: the audit log's hash chain: `audit verify` and `export` on untouched and
//!   tampered files, one chain from two handles, the head in `/staff/healthz` for staff.
//!
//! `tests/logs.rs` (no personal data in logs) is its own binary: see why there.

mod api;
mod attachments_api;
mod audit_chain;
mod cli;
mod common;
mod corrections;
mod data_dir;
mod enrollment;
mod input_caps;
mod input_checks;
mod login_guessing;
mod openapi;
mod personal_data;
mod phone_upload;
mod re_enrollment;
mod release_fixtures;
mod releases_api;
mod releases_cli;
mod return_paths;
mod security;
mod session_lookup;
mod shared_state;
mod shutdown;
mod slow_clients;
mod staff_admin;
mod staff_auth;
mod staff_client;
mod staff_content;
mod staff_fleet;
mod staff_ratings;
mod staff_releases;
mod staff_review;
mod staff_scope;
mod store_postgres;
mod store_sqlite;
mod store_transfer;
mod systemd;
mod tls;

/// A heartbeat of a booth without an updater, for the release tests.
fn releases_api_heartbeat() -> sync_protocol::heartbeat::Heartbeat {
    sync_protocol::heartbeat::Heartbeat {
        queue_depth: 0,
        oldest_pending_age_s: None,
        quarantined: 0,
        devices: sync_protocol::heartbeat::DeviceHealth::default(),
        app_version: "2.0.0".into(),
        disk_free_bytes: 1 << 30,
        uptime_s: 60,
        clock_offset_ms: 0,
        update: None,
    }
}
