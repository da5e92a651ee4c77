//! The reference system's web frontend on a second listener (`--web-listen`): one static
//! HTML page at `/` with no external assets, and `GET /health` answering 200 JSON. It
//! lets a single process serve two ports, as a system with an API and a web frontend
//! does, so checklists can exercise a service's named ports. It shares nothing with the
//! API listener and takes no faults: the frontend of a drill stays up.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The page: inline style only, so it renders with no network.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MyTrader</title>
<style>body{font-family:sans-serif;margin:2rem}h1{font-size:1.4rem}</style>
</head>
<body>
<h1>MyTrader</h1>
<p>The golive reference system's web frontend. Its API serves the portfolio,
quotes and orders.</p>
</body>
</html>
"#;

/// A running web frontend.
#[derive(Debug)]
pub struct Web {
    addr: SocketAddr,
    server: JoinHandle<io::Result<()>>,
}

impl Web {
    /// Binds `listen` and serves until `shutdown` is cancelled.
    pub async fn start(listen: SocketAddr, shutdown: CancellationToken) -> io::Result<Web> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/", get(page))
            .route("/health", get(health));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        });
        tracing::info!(%addr, "Sandbox web frontend is listening.");
        Ok(Web { addr, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Resolves once the server has stopped after shutdown, bounded by the sandbox's
    /// grace: a browser holding a connection open does not hold up the exit.
    pub async fn wait(self) -> io::Result<()> {
        match tokio::time::timeout(super::server::GRACE, self.server).await {
            Ok(joined) => joined.map_err(io::Error::other)?,
            Err(_) => {
                tracing::warn!("Sandbox web connections still open at the shutdown deadline.");
                Ok(())
            }
        }
    }
}

async fn page() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "UP", "component": "web" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_the_page_and_health_then_stops() {
        let stop = CancellationToken::new();
        let web = Web::start("127.0.0.1:0".parse().unwrap(), stop.clone())
            .await
            .unwrap();
        let base = format!("http://{}", web.addr());
        // reqwest is built without a bundled crypto provider; see `tests::client`.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let page = client.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("<h1>MyTrader</h1>"));
        let health = client.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let body: serde_json::Value = serde_json::from_str(&health.text().await.unwrap()).unwrap();
        assert_eq!(body["status"], "UP");
        stop.cancel();
        web.wait().await.unwrap();
    }
}
