//! `GET /metrics`: Prometheus text (see [`crate::api::metrics`]).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;

use crate::api::error::ApiError;
use crate::connections::ConnectionGauge;
use crate::state::AppState;

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.store().stats().await?;
    let kiosks = state.store().list_kiosks().await?;
    let mut text = state.metrics().render(&stats, &kiosks, Utc::now());
    connections(&mut text, state.connections());
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
