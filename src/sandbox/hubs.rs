//! SignalR-style real-time hubs, as MyTrader's dashboard uses them: `/hubs/market-data`,
//! `/hubs/trading` and `/hubs/portfolio`, speaking SignalR's JSON hub protocol over a
//! WebSocket.
//!
//! - `POST /hubs/NAME/negotiate?negotiateVersion=1` answers `connectionId`,
//!   `connectionToken` and the WebSockets transport.
//! - `GET /hubs/NAME?id=TOKEN` upgrades; a token must come from a negotiate and is good
//!   once (an unknown one is a 404, as SignalR's "No Connection with that ID"). Without
//!   `id` the upgrade is accepted, as for a client that skips negotiation.
//! - Every message ends with the 0x1E record separator. The first must be the handshake
//!   `{"protocol":"json","version":1}`, answered `{}` (or `{"error":..}` and a close).
//! - Then: a ping `{"type":6}` is counted and not answered, as ASP.NET Core's SignalR
//!   does: the server sends its own ping every 15 s (its default keep-alive interval),
//!   so a check that waited for a ping reply would time the keep-alive; an invocation
//!   `{"type":1,"invocationId":"1","target":"GetQuote","arguments":["AAPL"]}` gets a
//!   completion `{"type":3,"invocationId":"1","result":..}` (or `"error"`); `{"type":7}`
//!   closes. The market-data hub pushes `ReceiveMarketData` invocations every tick.
//!
//! Faults apply to completions as to HTTP answers (delay, injected error, stall); the
//! `hub_down` fault makes one hub refuse negotiation and upgrades with 503 and close its
//! open sessions with a close message carrying the error.

use super::api::{error, portfolio_value};
use super::faults::Verdict;
use super::inject::{before_reply, INJECTED};
use super::orders::OrderRequest;
use super::quotes::{self, now_ms, UNIVERSE};
use super::server::AppState;
use crate::faults::Hub;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

const RS: char = '\u{1e}';

/// Negotiated tokens not yet used, oldest first; past this many the oldest is forgotten.
const KEPT_TOKENS: usize = 10_000;

/// A client that stops reading must not hold its session (or shutdown) forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The hubs' shared state: tokens handed out by negotiate, and what a test may count.
#[derive(Debug, Default)]
pub(crate) struct Hubs {
    tokens: Mutex<(HashMap<String, Hub>, VecDeque<String>)>,
    pub negotiations: AtomicU64,
    pub connections: AtomicU64,
    pub handshakes: AtomicU64,
    pub invocations: AtomicU64,
    pub pings: AtomicU64,
}

impl Hubs {
    fn issue(&self, hub: Hub) -> String {
        let token = format!("{:032x}", fastrand::u128(..));
        let mut guard = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if order.len() >= KEPT_TOKENS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        map.insert(token.clone(), hub);
        order.push_back(token.clone());
        token
    }

    /// Uses a token up; whether it was issued for `hub` and not used before. Its entry
    /// in the issue order stays until it is the oldest (forgetting it then is a no-op),
    /// so a connection costs no scan of the kept tokens.
    fn redeem(&self, token: &str, hub: Hub) -> bool {
        let mut guard = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.remove(token) == Some(hub)
    }

    pub fn stats(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "negotiations": n(&self.negotiations),
            "connections": n(&self.connections),
            "handshakes": n(&self.handshakes),
            "invocations": n(&self.invocations),
            "pings": n(&self.pings),
        })
    }
}

fn hub_named(name: &str) -> Result<Hub, Box<Response>> {
    Hub::from_name(name).ok_or_else(|| {
        Box::new(error(
            StatusCode::NOT_FOUND,
            format!("no hub `{name}`; the hubs are market-data, trading and portfolio"),
        ))
    })
}

fn down(state: &AppState, hub: Hub) -> Option<Response> {
    (state.faults().hub_down == Some(hub)).then(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("hub {} is down", hub.name()),
        )
    })
}

/// `POST /hubs/NAME/negotiate`.
pub(crate) async fn negotiate(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let hub = match hub_named(&name) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    if let Some(r) = down(&state, hub) {
        return r;
    }
    state.hubs.negotiations.fetch_add(1, Ordering::Relaxed);
    let token = state.hubs.issue(hub);
    Json(json!({
        "negotiateVersion": 1,
        "connectionId": format!("{:022x}", fastrand::u128(..) >> 40),
        "connectionToken": token,
        "availableTransports": [
            {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
        ],
    }))
    .into_response()
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Connect {
    id: Option<String>,
}

/// `GET /hubs/NAME` (WebSocket upgrade).
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<Connect>,
    ws: WebSocketUpgrade,
) -> Response {
    let hub = match hub_named(&name) {
        Ok(h) => h,
        Err(r) => return *r,
    };
    if let Some(r) = down(&state, hub) {
        return r;
    }
    if let Some(id) = &q.id {
        if !state.hubs.redeem(id, hub) {
            return error(StatusCode::NOT_FOUND, "No Connection with that ID");
        }
    }
    state.hubs.connections.fetch_add(1, Ordering::Relaxed);
    ws.on_upgrade(move |socket| session(socket, state, hub))
}

/// How often a hub session sends its own ping: ASP.NET Core SignalR's default
/// `KeepAliveInterval`.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

fn record(v: &Value) -> Message {
    let mut text = v.to_string();
    text.push(RS);
    Message::Text(text.into())
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn session(mut socket: WebSocket, state: AppState, hub: Hub) {
    let _open = state.open_socket();
    let mut handshaken = false;
    let mut ticks = tokio::time::interval(state.tick);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    keep_alive.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut faults = state.faults.subscribe();
    loop {
        let incoming = tokio::select! {
            () = state.shutdown.cancelled() => {
                let _ = send(&mut socket, record(&json!({"type": 7, "error": "server shutting down"}))).await;
                return;
            }
            _ = faults.changed() => {
                if state.faults().hub_down == Some(hub) {
                    let bye = json!({"type": 7, "error": format!("hub {} is down", hub.name())});
                    let _ = send(&mut socket, record(&bye)).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                continue;
            }
            _ = ticks.tick(), if handshaken && hub == Hub::MarketData => {
                let ts = now_ms();
                let quotes: Vec<_> = UNIVERSE.iter().map(|i| i.quote_at(ts)).collect();
                let push = json!({"type": 1, "target": "ReceiveMarketData", "arguments": [quotes]});
                if !send(&mut socket, record(&push)).await {
                    return;
                }
                continue;
            }
            _ = keep_alive.tick(), if handshaken => {
                if !send(&mut socket, record(&json!({"type": 6}))).await {
                    return;
                }
                continue;
            }
            m = socket.recv() => m,
        };
        let text = match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
            Some(Ok(Message::Text(t))) => t.as_str().to_string(),
            Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
            Some(Ok(_)) => continue,
        };
        for part in text.split(RS).filter(|p| !p.is_empty()) {
            let reply = if handshaken {
                match answer(&state, hub, part) {
                    Answer::Reply(v) => with_faults(&state, v).await,
                    Answer::Close => return,
                    Answer::Nothing => None,
                }
            } else {
                match handshake(part) {
                    Ok(()) => {
                        handshaken = true;
                        state.hubs.handshakes.fetch_add(1, Ordering::Relaxed);
                        Some(json!({}))
                    }
                    Err(e) => {
                        let _ = send(&mut socket, record(&json!({ "error": e }))).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
            };
            if let Some(v) = reply {
                if !send(&mut socket, record(&v)).await {
                    return;
                }
            }
        }
    }
}

fn handshake(text: &str) -> Result<(), String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("Error parsing handshake request: {e}"))?;
    match (v["protocol"].as_str(), v["version"].as_u64()) {
        (Some("json"), Some(1)) => Ok(()),
        (Some(p), _) if p != "json" => Err(format!("Requested protocol '{p}' is not available.")),
        _ => Err("The handshake needs protocol \"json\" and version 1.".into()),
    }
}

enum Answer {
    Reply(Value),
    Close,
    Nothing,
}

/// What one hub message asks for, before faults.
fn answer(state: &AppState, hub: Hub, text: &str) -> Answer {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Answer::Close;
    };
    match v["type"].as_u64() {
        Some(6) => {
            state.hubs.pings.fetch_add(1, Ordering::Relaxed);
            Answer::Nothing
        }
        Some(7) => Answer::Close,
        Some(1) => {
            state.hubs.invocations.fetch_add(1, Ordering::Relaxed);
            let target = v["target"].as_str().unwrap_or_default();
            let args = v["arguments"].as_array().cloned().unwrap_or_default();
            // Without an invocationId the caller wants no completion (fire and forget).
            let Some(id) = v["invocationId"].as_str().map(str::to_string) else {
                return Answer::Nothing;
            };
            Answer::Reply(match invoke(state, hub, target, &args) {
                Ok(result) => json!({"type": 3, "invocationId": id, "result": result}),
                Err(e) => json!({"type": 3, "invocationId": id, "error": e}),
            })
        }
        _ => Answer::Nothing,
    }
}

fn invoke(state: &AppState, hub: Hub, target: &str, args: &[Value]) -> Result<Value, String> {
    let unknown = || Err(format!("Unknown hub method '{target}' on {}", hub.name()));
    match (hub, target) {
        (Hub::MarketData, "GetQuote") => {
            let symbol = args.first().and_then(Value::as_str).unwrap_or_default();
            quotes::lookup(symbol)
                .map(|i| json!(i.quote_at(now_ms())))
                .ok_or_else(|| {
                    format!(
                        "unknown symbol `{symbol}`; known symbols: {}",
                        quotes::symbols()
                    )
                })
        }
        (Hub::MarketData, "GetMarketData") => {
            let ts = now_ms();
            Ok(json!(UNIVERSE
                .iter()
                .map(|i| i.quote_at(ts))
                .collect::<Vec<_>>()))
        }
        (Hub::Trading, "PlaceOrder") => {
            let request: OrderRequest =
                serde_json::from_value(args.first().cloned().unwrap_or_default())
                    .map_err(|e| format!("invalid order: {e}"))?;
            let valid = request
                .validate()
                .map_err(|e| format!("invalid order: {e}"))?;
            let order = state
                .orders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .place(valid, now_ms());
            Ok(json!(order))
        }
        (Hub::Portfolio, "GetPortfolio") => Ok(portfolio_value()),
        _ => unknown(),
    }
}

/// Applies the current faults to a completion: delay it, replace its result with an
/// injected error, or swallow it (a stall).
async fn with_faults(state: &AppState, mut completion: Value) -> Option<Value> {
    match before_reply(state).await {
        Verdict::Answer => Some(completion),
        Verdict::Fail => {
            if let Some(o) = completion.as_object_mut() {
                o.remove("result");
                o.insert("error".into(), json!(INJECTED));
            }
            Some(completion)
        }
        Verdict::Stall => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_needs_the_json_protocol_version_1() {
        assert!(handshake(r#"{"protocol":"json","version":1}"#).is_ok());
        assert!(handshake(r#"{"protocol":"messagepack","version":1}"#)
            .unwrap_err()
            .contains("'messagepack' is not available"));
        assert!(handshake("{").unwrap_err().contains("parsing handshake"));
        assert!(handshake(r#"{"protocol":"json"}"#).is_err());
    }

    #[test]
    fn a_token_is_good_once_and_for_its_own_hub() {
        let hubs = Hubs::default();
        let t = hubs.issue(Hub::Trading);
        assert!(!hubs.redeem(&t, Hub::MarketData));
        let t = hubs.issue(Hub::Trading);
        assert!(hubs.redeem(&t, Hub::Trading));
        assert!(!hubs.redeem(&t, Hub::Trading), "used twice");
        assert!(!hubs.redeem("nope", Hub::Trading));
    }
}
