//! `GET /metrics`: Prometheus text (see [`crate::api::metrics`]).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;

use crate::api::error::ApiError;
use crate::connections::ConnectionGauge;
use crate::gate::Gate;
use crate::state::AppState;

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.store().stats().await?;
    let kiosks = state.store().list_kiosks().await?;
    let mut text = state.metrics().render(&stats, &kiosks, Utc::now());
    connections(&mut text, state.connections());
    admission(&mut text, state.admission());
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

/// The connection cap's figures: how close the server runs to it, and how often it said
/// "later" (each a booth told to come back after `Retry-After`).
fn connections(out: &mut String, gauge: &ConnectionGauge) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "# HELP sync_connections_open Connections open now.\n\
         # TYPE sync_connections_open gauge\n\
         sync_connections_open {}\n\
         # HELP sync_connections_peak The most connections open at once since the start.\n\
         # TYPE sync_connections_peak gauge\n\
         sync_connections_peak {}\n\
         # HELP sync_connections_turned_away_total Connections answered 503 at the connection cap.\n\
         # TYPE sync_connections_turned_away_total counter\n\
         sync_connections_turned_away_total {}\n",
        gauge.open(),
        gauge.peak(),
        gauge.turned_away()
    );
}

/// The admission gate's figures: signed requests being worked on, waiting for a turn, and
/// told to come back later.
fn admission(out: &mut String, gate: &Gate) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "# HELP sync_admission_in_flight Signed booth requests being worked on now.\n\
         # TYPE sync_admission_in_flight gauge\n\
         sync_admission_in_flight {}\n\
         # HELP sync_admission_waiting Signed booth requests waiting for a turn now.\n\
         # TYPE sync_admission_waiting gauge\n\
         sync_admission_waiting {}\n\
         # HELP sync_admission_refused_total Signed booth requests answered 503 at admission.\n\
         # TYPE sync_admission_refused_total counter\n\
         sync_admission_refused_total {}\n",
        gate.busy(),
        gate.waiting(),
        gate.refused()
    );
}
