//! The admin API a drill uses to change faults while the sandbox runs. These routes sit
//! outside the fault layer, so a sandbox told to fail every request can still be told
//! to stop.

use super::api::error;
use super::server::AppState;
use crate::faults::Faults;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// `GET /admin/faults`: the current faults, in the shape `PUT` accepts.
pub(crate) async fn get_faults(State(state): State<AppState>) -> Response {
    Json(state.faults()).into_response()
}

/// `PUT` or `POST /admin/faults`: replaces every fault; a missing field clears it.
pub(crate) async fn set_faults(State(state): State<AppState>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid faults: {e}; send an object with any of `latency`, `jitter` \
                     (durations like \"300ms\"), `errors`, `stall` (percentages like \"30%\"), \
                     `leak` (bytes per second like \"1MB\") and `hub_down` (\"market-data\", \
                     \"trading\" or \"portfolio\")"
                ),
            )
        }
    };
    tracing::info!(%faults, "Sandbox faults changed through the admin API.");
    state.faults.send_replace(faults);
    Json(faults).into_response()
}

/// `GET /admin/stats`: what a drill may want to confirm from the inside.
pub(crate) async fn stats(State(state): State<AppState>) -> Response {
    let orders = state.orders.lock().map(|b| b.len()).unwrap_or(0);
    Json(json!({
        "uptime_s": state.started.elapsed().as_secs(),
        "leaked_bytes": state.leak.bytes(),
        "orders_kept": orders,
        "websockets_open": *state.sockets.borrow(),
        "hubs": state.hubs.stats(),
    }))
    .into_response()
}
