//! End-to-end tests: a real sandbox on `127.0.0.1:0`, driven by reqwest and a
//! tungstenite client. Timing assertions are lower bounds only; the machine is shared.

use super::{quotes, Deps, Sandbox};
use crate::faults::Faults;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

mod api;
mod faults;
mod lifecycle;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Generous bound on anything that should be quick, so a hang fails instead of blocking.
const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    sandbox: Sandbox,
    stop: CancellationToken,
    base: String,
    http: reqwest::Client,
}

fn faults(flags: &[&str]) -> Faults {
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    Faults::parse_flags(&flags).unwrap()
}

fn client(timeout: Duration) -> reqwest::Client {
    // reqwest is built without a bundled crypto provider; plain http still needs one
    // installed to build a client. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

async fn start_with(f: Faults, tick: Duration) -> Running {
    let stop = CancellationToken::new();
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        f,
        tick,
        Deps::default(),
        stop.clone(),
    )
    .await
    .unwrap();
    Running {
        base: format!("http://{}", sandbox.addr()),
        sandbox,
        stop,
        http: client(PATIENCE),
    }
}

async fn start(flags: &[&str]) -> Running {
    start_with(faults(flags), Duration::from_secs(1)).await
}

impl Running {
    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    async fn ws(&self) -> Ws {
        let url = format!("ws://{}/ws/market", self.sandbox.addr());
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .unwrap()
            .unwrap();
        ws
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(PATIENCE, self.sandbox.wait())
            .await
            .unwrap()
            .unwrap();
    }
}

async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, body)
}

/// The next text message that satisfies `want`, skipping others (ticks interleave).
async fn next_text(ws: &mut Ws, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let msg = tokio::time::timeout(PATIENCE, ws.next()).await.unwrap();
        if let Some(Ok(Message::Text(t))) = msg {
            if want(t.as_str()) {
                return t.to_string();
            }
        } else if !matches!(msg, Some(Ok(_))) {
            panic!("socket ended: {msg:?}");
        }
    }
    panic!("no matching message within {PATIENCE:?}");
}

fn is_type(text: &str, kind: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v["type"] == kind)
}
