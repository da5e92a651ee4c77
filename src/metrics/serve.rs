//! The scrape endpoint: `GET /metrics` answers the current exposition, `GET /` a line
//! pointing there. Runs until the caller's cancellation token fires, then stops within a
//! bounded time whatever its clients do: a client that never finishes its request must
//! not keep golive from exiting (nor from stopping after SIGTERM).

use super::{Metrics, CONTENT_TYPE};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// How long the server waits for each other.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client has this long to send a request's headers; then its connection is closed.
    pub header_read: Duration,
    /// After the cancellation, open requests have this long to be answered; then every
    /// connection left is dropped.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // A scrape is one small GET from a Prometheus nearby: seconds are plenty.
        Limits {
            header_read: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(2),
        }
    }
}

/// Serves `/metrics` on `addr` (port 0 picks a free one) until `cancel` fires. Returns
/// the bound address and the server task, which ends at most
/// [`Limits::shutdown_grace`] after the cancellation.
pub async fn serve(
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(metrics, addr, cancel, Limits::default()).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    cancel: CancellationToken,
    limits: Limits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = Router::new()
        .route("/metrics", get(exposition))
        .route("/", get(index))
        .with_state(metrics);
    let (bound, task) = serve_app(listener, app, cancel, limits)?;
    tracing::info!(address = %bound, "Serving metrics at /metrics.");
    Ok((bound, task))
}

/// Serves `app` on a bound listener until `cancel` fires, with the same bounds as the
/// metrics endpoint (the monitor's status page uses it too).
pub fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
    limits: Limits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = cancel.cancelled() => break,
                a = listener.accept() => a,
            };
            // Finished connections leave the set as new ones arrive.
            while conns.try_join_next().is_some() {}
            match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, app.clone(), cancel.clone(), limits));
                }
                Err(e) => {
                    // Out of file descriptors, usually: back off rather than spin.
                    tracing::warn!(address = %bound, error = %e, "Accepting a metrics client failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        drop(listener);
        let drained = tokio::time::timeout(limits.shutdown_grace, async {
            while conns.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                address = %bound,
                open = conns.len(),
                "Dropping metrics clients that did not finish in time."
            );
            conns.abort_all();
        }
    });
    Ok((bound, task))
}

/// One client's connection: HTTP/1 with a header read timeout; on cancellation it
/// finishes the request in progress and closes (the caller drops it if that takes too
/// long).
async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    cancel: CancellationToken,
    limits: Limits,
) {
    let service = hyper_util::service::TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn exposition(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        metrics.render_scrape(),
    )
}

async fn index() -> &'static str {
    "golive: Prometheus metrics of this run are at /metrics\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RunLabels;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn metrics() -> Arc<Metrics> {
        Arc::new(Metrics::new(&RunLabels {
            run_id: "t".into(),
            system: "s".into(),
            checklist: "c".into(),
        }))
    }

    /// Sends a request's first line and one header, never the blank line that ends it.
    async fn half_request(addr: SocketAddr) -> tokio::net::TcpStream {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        s
    }

    #[tokio::test]
    async fn a_client_holding_a_half_sent_request_does_not_hold_the_shutdown() {
        let cancel = CancellationToken::new();
        let limits = Limits {
            header_read: Duration::from_secs(3600),
            shutdown_grace: Duration::from_millis(200),
        };
        let (addr, task) = serve_with(
            metrics(),
            "127.0.0.1:0".parse().unwrap(),
            cancel.clone(),
            limits,
        )
        .await
        .unwrap();
        let _held = half_request(addr).await;
        // Let the server accept it before the cancellation.
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
        // The bound guards the test; the server's own grace is 200 ms.
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the server stopped although a client held a request open")
            .unwrap();
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_disconnected() {
        let cancel = CancellationToken::new();
        let limits = Limits {
            header_read: Duration::from_millis(200),
            shutdown_grace: Duration::from_secs(1),
        };
        let (addr, _task) = serve_with(
            metrics(),
            "127.0.0.1:0".parse().unwrap(),
            cancel.clone(),
            limits,
        )
        .await
        .unwrap();
        let mut held = half_request(addr).await;
        let mut buf = Vec::new();
        // The server closes (possibly after a 408): the read ends instead of waiting.
        let read = tokio::time::timeout(Duration::from_secs(30), held.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the connection stayed open");
        // An honest client is still served.
        let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
        ok.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(30), ok.read_to_string(&mut answer))
            .await
            .expect("answered")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        cancel.cancel();
    }
}
