//! `GET /staff/healthz`: `/healthz` with details for staff, as JSON. Any logged-in account
//! sees them; anyone else is sent to the login page like on every staff page, and the public
//! `/healthz` stays `{"status":"ok"}`.
//!
//! The detail is the audit chain's head (seq, hash, time): a head that later goes backwards,
//! or changes at a seq already seen, shows the log was cut or rewritten (see
//! [`crate::store::audit_chain`]). It is here rather than on `/healthz` because the session
//! cookie is scoped to `/staff`: a browser never sends it to `/healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::response::IntoResponse as _;
use serde_json::json;

use super::PageResult;
use super::access::{Needs, StaffRoute, route};
use super::session::Staff;
use crate::state::AppState;

pub fn routes() -> Vec<StaffRoute> {
    vec![route(
        Method::GET,
        "/healthz",
        Needs::Session,
        axum::routing::get(show),
    )]
}

async fn show(State(state): State<AppState>, staff: Staff) -> PageResult {
    let head = state
        .store()
        .audit_head()
        .await
        .map_err(|e| staff.fail(e))?;
    let audit_chain = head.map(|head| {
        json!({
            "seq": head.seq,
            "hash": head.hash.to_string(),
            "at": head.at,
        })
    });
    Ok(Json(json!({
        "status": "ok",
        "details": { "audit_chain": audit_chain },
    }))
    .into_response())
}
