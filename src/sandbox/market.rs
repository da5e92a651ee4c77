//! `GET /ws/market`: the market-data WebSocket. It pushes a tick of quotes every period,
//! answers `ping` (text) and `{"type":"ping","id":X}` (JSON), narrows ticks on
//! `{"type":"subscribe","symbols":[..]}`, and closes with 1001 when the sandbox shuts
//! down. Faults apply to replies; ticks keep their schedule.

use super::faults::Verdict;
use super::inject::{before_reply, INJECTED};
use super::quotes::{self, now_ms, Instrument, Quote, UNIVERSE};
use super::server::AppState;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// A client that stops reading must not hold its session (or shutdown) forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(socket, state))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Ping {
        #[serde(default)]
        id: Value,
    },
    Subscribe {
        symbols: Vec<String>,
    },
}

/// What a session does after reading one client message.
enum Reply {
    Text(String),
    Json(Value),
}

async fn session(mut socket: WebSocket, state: AppState) {
    let _open = state.open_socket();
    let mut ticks = tokio::time::interval(state.tick);
    // A slow client gets fresh quotes, not a burst of stale ones.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut watched: Vec<&'static Instrument> = UNIVERSE.iter().collect();
    let mut seq: u64 = 0;
    loop {
        let outgoing = tokio::select! {
            () = state.shutdown.cancelled() => {
                let bye = Message::Close(Some(CloseFrame {
                    code: close_code::AWAY,
                    reason: "sandbox shutting down".into(),
                }));
                let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(bye)).await;
                return;
            }
            _ = ticks.tick() => {
                seq += 1;
                Some(tick(seq, &watched))
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) => return,
                Some(Ok(Message::Text(text))) => {
                    let reply = answer(text.as_str(), &mut watched);
                    reply_with_faults(&state, reply).await
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = Reply::Json(error("binary messages are not supported; send JSON text"));
                    reply_with_faults(&state, reply).await
                }
                // Pings are answered by the protocol layer; a Close is echoed by it too,
                // after which the next read ends the session.
                Some(Ok(_)) => None,
            },
        };
        if let Some(message) = outgoing {
            match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }
}

fn tick(seq: u64, watched: &[&'static Instrument]) -> Message {
    let ts = now_ms();
    let quotes: Vec<Quote> = watched.iter().map(|i| i.quote_at(ts)).collect();
    let body = json!({ "type": "tick", "seq": seq, "ts": ts, "quotes": quotes });
    Message::Text(body.to_string().into())
}

fn error(reason: impl Into<String>) -> Value {
    json!({ "type": "error", "error": reason.into() })
}

/// The reply to one text message, before faults; updates the subscription.
fn answer(text: &str, watched: &mut Vec<&'static Instrument>) -> Reply {
    if text.trim() == "ping" {
        return Reply::Text("pong".into());
    }
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(m) => m,
        Err(e) => {
            return Reply::Json(error(format!(
                "cannot read message: {e}; send `ping`, {{\"type\":\"ping\",\"id\":1}} or \
                 {{\"type\":\"subscribe\",\"symbols\":[\"AAPL\"]}}"
            )))
        }
    };
    match message {
        ClientMessage::Ping { id } => {
            Reply::Json(json!({ "type": "pong", "id": id, "ts": now_ms() }))
        }
        ClientMessage::Subscribe { symbols } => {
            let mut chosen = Vec::new();
            for symbol in &symbols {
                match quotes::lookup(symbol) {
                    Some(inst) if !chosen.contains(&inst) => chosen.push(inst),
                    Some(_) => {}
                    None => {
                        return Reply::Json(error(format!(
                            "unknown symbol `{symbol}`; known symbols: {}",
                            quotes::symbols()
                        )))
                    }
                }
            }
            // An empty list means "everything again", the state a new session starts in.
            *watched = if chosen.is_empty() {
                UNIVERSE.iter().collect()
            } else {
                chosen
            };
            let names: Vec<&str> = watched.iter().map(|i| i.symbol).collect();
            Reply::Json(json!({ "type": "subscribed", "symbols": names }))
        }
    }
}

/// Applies the current faults to a reply: delay it, replace it with an injected error,
/// or swallow it (a stall: the client waits for an answer that never comes while the
/// session keeps ticking).
async fn reply_with_faults(state: &AppState, reply: Reply) -> Option<Message> {
    let message = match reply {
        Reply::Text(text) => Message::Text(text.into()),
        Reply::Json(value) => Message::Text(value.to_string().into()),
    };
    match before_reply(state).await {
        Verdict::Answer => Some(message),
        Verdict::Fail => Some(Message::Text(error(INJECTED).to_string().into())),
        Verdict::Stall => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_reply(text: &str, watched: &mut Vec<&'static Instrument>) -> Value {
        match answer(text, watched) {
            Reply::Json(v) => v,
            Reply::Text(t) => panic!("expected JSON, got text {t}"),
        }
    }

    #[test]
    fn answers_pings_and_subscriptions() {
        let mut watched: Vec<&'static Instrument> = UNIVERSE.iter().collect();
        assert!(matches!(answer(" ping\n", &mut watched), Reply::Text(t) if t == "pong"));
        let pong = json_reply(r#"{"type":"ping","id":"abc"}"#, &mut watched);
        assert_eq!(
            (pong["type"].as_str(), pong["id"].as_str()),
            (Some("pong"), Some("abc"))
        );

        let sub = json_reply(
            r#"{"type":"subscribe","symbols":["msft","MSFT","tsla"]}"#,
            &mut watched,
        );
        assert_eq!(sub["symbols"], json!(["MSFT", "TSLA"]));
        assert_eq!(watched.len(), 2);
        let bad = json_reply(r#"{"type":"subscribe","symbols":["NOPE"]}"#, &mut watched);
        assert!(
            bad["error"].as_str().is_some_and(|e| e.contains("`NOPE`")),
            "{bad}"
        );
        assert_eq!(watched.len(), 2, "a bad subscribe changes nothing");
        json_reply(r#"{"type":"subscribe","symbols":[]}"#, &mut watched);
        assert_eq!(watched.len(), UNIVERSE.len());

        let junk = json_reply("hello", &mut watched);
        assert!(
            junk["error"]
                .as_str()
                .is_some_and(|e| e.contains("send `ping`")),
            "{junk}"
        );
    }
}
