//! The scrape endpoint: `GET /metrics` answers the current exposition, `GET /` a line
//! pointing there. Runs until the caller's cancellation token fires.

use super::{Metrics, CONTENT_TYPE};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves `/metrics` on `addr` (port 0 picks a free one) until `cancel` fires. Returns
/// the bound address and the server task, which ends once open requests have been
/// answered after the cancellation.
pub async fn serve(
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(exposition))
        .route("/", get(index))
        .with_state(metrics);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::warn!(address = %bound, error = %e, "The metrics endpoint stopped.");
        }
    });
    tracing::info!(address = %bound, "Serving metrics at /metrics.");
    Ok((bound, task))
}

async fn exposition(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

async fn index() -> &'static str {
    "golive: Prometheus metrics of this run are at /metrics\n"
}
