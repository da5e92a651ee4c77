//! The reference system's own Prometheus metrics at `GET /metrics`: requests by route and
//! status code (injected faults included), so a real Prometheus can scrape it and
//! golive's `prometheus` check kind can judge what it scraped.

use super::server::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{IntCounterVec, Opts, Registry};

/// The reference system's registry.
pub(crate) struct Exposition {
    registry: Registry,
    requests: IntCounterVec,
}

impl std::fmt::Debug for Exposition {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("Exposition")
    }
}

impl Exposition {
    pub fn new() -> Exposition {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sandbox_http_requests_total",
                "Requests the reference system answered, by route and status code.",
            ),
            &["route", "code"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        Exposition { registry, requests }
    }
}

/// Middleware outside the fault layer: every answer is counted, injected ones too.
pub(crate) async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let response = next.run(req).await;
    state
        .exposition
        .requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let _ =
        prometheus::TextEncoder::new().encode_utf8(&state.exposition.registry.gather(), &mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
