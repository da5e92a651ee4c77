//! WebSocket conversations: the steps a real-time protocol needs on one connection
//! (SignalR's negotiate, JSON handshake, pings and invocations; a subscribe then a
//! push), shared by the `websocket` check and the load engine's WebSocket requests.
//!
//! A conversation may start with HTTP requests whose JSON answers give values
//! (`capture: {token: body.connectionToken}`); then it opens the WebSocket (with
//! headers on the upgrade request) and runs its steps in order. A step sends a text,
//! waits for a message meeting its expectations, and may capture values from it; later
//! URLs, headers and texts read them as `{captured.NAME}`. With `framing:
//! record-separator`, every text sent ends with the 0x1E record separator and every
//! frame received is split at it into messages (SignalR's JSON protocol), so a frame
//! that carries two messages is two messages, and a message is never a fragment.
//!
//! Each step's time (from its send, or its start when it sends nothing, to the message
//! that met its expectations) is measured on its own, as is the connect (TCP, TLS and
//! the WebSocket upgrade), so a check can judge "WebSocket connection < 50ms" apart
//! from a round trip.

use super::http::HttpCheck;
use crate::expect::{json_at, Expectation, Observe, Observed, Subject};
use crate::expr::PathSeg;
use crate::net::Io;
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use futures_util::{SinkExt, StreamExt};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The record separator SignalR's JSON protocol ends each message with.
pub const RECORD_SEPARATOR: char = '\u{1e}';

/// How messages map to WebSocket frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// One message per frame.
    #[default]
    Message,
    /// Messages end with 0x1E; a frame may hold several (SignalR's JSON protocol).
    RecordSeparator,
}

/// A value taken from an answer: `NAME` ← the JSON at `path` of the body or message.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub path: Vec<PathSeg>,
    /// As written (`body.connectionToken`), for messages.
    pub text: String,
}

/// One step on the open connection.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// The text sent; `None` waits for a message the server pushes.
    pub send: Option<Template>,
    /// What the awaited message must meet.
    pub expect: Vec<Expectation>,
    pub capture: Vec<Capture>,
    /// Whether the step waits for a message (meeting `expect`, any without); a step that
    /// expects and captures nothing only sends.
    pub wait: bool,
    pub timeout: Duration,
}

/// An HTTP request made before the WebSocket opens, and what it captures.
#[derive(Debug, Clone)]
pub struct Before {
    pub request: HttpCheck,
    pub capture: Vec<Capture>,
}

/// Where a conversation's measured time went, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timings {
    /// TCP, TLS and the WebSocket upgrade.
    pub connect: u64,
    /// Each step's time, in step order (opening steps first, where they ran).
    pub steps: Vec<u64>,
}

/// One received message as expectations see it (shared with the load hot path).
pub struct Received<'a> {
    pub text: Cow<'a, str>,
    pub json: Option<serde_json::Value>,
    pub micros: u64,
}

impl Observe for Received<'_> {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Message => Observed::Text(Cow::Borrowed(self.text.as_ref())),
            Subject::MessageJson(path) => match &self.json {
                Some(j) => json_at(j, path)
                    .map(Observed::Json)
                    .unwrap_or_else(Observed::Missing),
                None => Observed::Missing("the message is not JSON".into()),
            },
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a websocket step".into()),
        }
    }
}

/// Values captured so far on one conversation, by name (a later capture of the same
/// name replaces the value).
pub type Captured = Vec<(String, String)>;

/// The text of a captured JSON value: a string as is, anything else as JSON.
fn capture_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Takes every capture of `captures` from `json`; a missing value fails the step.
fn take(
    captures: &[Capture],
    json: Option<&serde_json::Value>,
    what: &str,
    into: &mut Captured,
) -> Result<(), Failure> {
    for c in captures {
        let value = json
            .ok_or_else(|| format!("the {what} is not JSON"))
            .and_then(|j| json_at(j, &c.path));
        match value {
            // A repeated step captures again: the value is replaced, never piled up.
            Ok(v) => match into.iter_mut().find(|(n, _)| *n == c.name) {
                Some((_, old)) => *old = capture_text(v),
                None => into.push((c.name.clone(), capture_text(v))),
            },
            Err(why) => {
                return Err(Failure::new(
                    FailureClass::Expectation,
                    format!("cannot capture `{}` from `{}`: {why}", c.name, c.text),
                ))
            }
        }
    }
    Ok(())
}

/// Runs the HTTP requests before the WebSocket, in order, capturing from their JSON
/// bodies. Each request's own timeout and expectations apply (default `status < 400`).
pub async fn run_before(
    before: &[Before],
    endpoints: &Endpoints,
    captured: &mut Captured,
) -> Result<(), Failure> {
    for b in before {
        let probe = b.request.prepare_captured(endpoints, captured)?;
        let response = probe.fetch().await.map_err(|f| {
            let reason = format!("before the WebSocket, {}: {}", probe.target(), f.reason);
            Failure { reason, ..f }
        })?;
        if !b.capture.is_empty() {
            let json: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
            take(&b.capture, json.as_ref(), "response body", captured)?;
        }
    }
    Ok(())
}

/// An open WebSocket that speaks in messages of a framing.
pub struct Session {
    ws: tokio_tungstenite::WebSocketStream<Box<dyn Io>>,
    framing: Framing,
    /// Messages of a frame already read but not yet consumed.
    pending: VecDeque<String>,
    pub captured: Captured,
}

impl Session {
    /// Upgrades `io` to a WebSocket at `url` with `headers` on the upgrade request.
    pub async fn open(
        io: Box<dyn Io>,
        url: &str,
        headers: &http::HeaderMap,
        framing: Framing,
        captured: Captured,
    ) -> Result<Session, Failure> {
        let protocol = |m: String| Failure::new(FailureClass::Protocol, m);
        let mut request = url
            .into_client_request()
            .map_err(|e| protocol(format!("`{url}` is not a WebSocket URL: {e}")))?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let (ws, _) = tokio_tungstenite::client_async(request, io)
            .await
            .map_err(|e| protocol(format!("WebSocket handshake failed: {e}")))?;
        Ok(Session {
            ws,
            framing,
            pending: VecDeque::new(),
            captured,
        })
    }

    /// Runs `step` within its timeout; returns its time in microseconds.
    pub async fn step(&mut self, step: &Step, endpoints: &Endpoints) -> Result<u64, Failure> {
        let mut closest = None;
        let run = self.exchange(step, endpoints, &mut closest);
        match tokio::time::timeout(step.timeout.as_std(), run).await {
            Ok(r) => r.map_err(|f| in_step(step, f)),
            Err(_) => {
                let what = match closest {
                    Some(_) => "no message met the expectations",
                    None => "no expected message",
                };
                let timeout = format!("{what} within {}", step.timeout);
                let f = Failure::new(FailureClass::Timeout, timeout);
                Err(in_step(step, Miss::add(&closest, f)))
            }
        }
    }

    /// Runs `steps` in order, keeping their times in `times` when asked (a check's
    /// `measure`; the load times round trips itself), or the first failure.
    pub async fn steps(
        &mut self,
        steps: &[Step],
        endpoints: &Endpoints,
        mut times: Option<&mut Vec<u64>>,
    ) -> Result<(), Failure> {
        for step in steps {
            let took = self.step(step, endpoints).await?;
            if let Some(t) = times.as_deref_mut() {
                t.push(took);
            }
        }
        Ok(())
    }

    /// Closes politely; errors are of no interest once the conversation is judged.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    async fn exchange(
        &mut self,
        step: &Step,
        endpoints: &Endpoints,
        closest: &mut Option<Miss>,
    ) -> Result<u64, Failure> {
        let t0 = Instant::now();
        if let Some(send) = &step.send {
            let mut text = send.render_captured(endpoints, None, &self.captured);
            if self.framing == Framing::RecordSeparator {
                text.push(RECORD_SEPARATOR);
            }
            self.ws
                .send(Message::text(text))
                .await
                .map_err(|e| Failure::new(FailureClass::Connect, format!("sending failed: {e}")))?;
        }
        if !step.wait {
            return Ok(micros_since(t0));
        }
        let wants_json = !step.capture.is_empty()
            || step
                .expect
                .iter()
                .any(|e| matches!(e.subject, Subject::MessageJson(_)));
        loop {
            let text = self
                .next_message()
                .await
                .map_err(|f| Miss::add(closest, f))?;
            let received = Received {
                json: if wants_json {
                    serde_json::from_str(&text).ok()
                } else {
                    None
                },
                text: Cow::Owned(text),
                micros: micros_since(t0),
            };
            let mut met = 0;
            let verdict = step.expect.iter().try_for_each(|e| {
                e.check(&received)?;
                met += 1;
                Ok(())
            });
            match verdict {
                Ok(()) => {
                    take(
                        &step.capture,
                        received.json.as_ref(),
                        "message",
                        &mut self.captured,
                    )?;
                    return Ok(received.micros);
                }
                Err(why) => Miss::keep(closest, met, why, &received.text),
            }
        }
    }

    /// The next message: a pending one of the last frame, or the next frame's first.
    async fn next_message(&mut self) -> Result<String, Failure> {
        let closed = || {
            Failure::new(
                FailureClass::Protocol,
                "the server closed the connection before the expected message",
            )
        };
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(m);
            }
            let text = match self.ws.next().await {
                Some(Ok(Message::Text(t))) => t.as_str().to_string(),
                Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(Message::Close(_))) | None => return Err(closed()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    return Err(Failure::new(
                        FailureClass::Protocol,
                        format!("the connection failed: {e}"),
                    ))
                }
            };
            match self.framing {
                Framing::Message => return Ok(text),
                Framing::RecordSeparator => self.pending.extend(split_records(&text)),
            }
        }
    }
}

/// The messages of a record-separated frame; empty records (the trailing separator)
/// are not messages.
pub fn split_records(frame: &str) -> impl Iterator<Item = String> + '_ {
    frame
        .split(RECORD_SEPARATOR)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
}

/// The message that came nearest to meeting a step's expectations: it met the most of
/// them (the latest of equals), so a failure names the answer the server did give (a
/// hub's error completion) rather than whatever came last (a keep-alive ping).
struct Miss {
    /// Expectations met, in order, before the one that failed.
    met: usize,
    why: String,
    message: String,
}

impl Miss {
    /// Keeps the miss of `message`, which met `met` expectations, if none so far came
    /// nearer.
    fn keep(closest: &mut Option<Miss>, met: usize, why: String, message: &str) {
        if closest.as_ref().is_none_or(|c| met >= c.met) {
            *closest = Some(Miss {
                met,
                why,
                message: brief(message),
            });
        }
    }

    /// `f` with the closest miss, if any, added to its reason (and the message, unless
    /// the miss already shows it whole).
    fn add(closest: &Option<Miss>, f: Failure) -> Failure {
        let reason = match closest {
            // An expectation on the whole message shows it already (quoted).
            Some(m) if m.why.contains(&format!("{:?}", m.message)) => {
                format!("{} (closest: {})", f.reason, m.why)
            }
            Some(m) => format!(
                "{} (closest: {}; the message: {})",
                f.reason, m.why, m.message
            ),
            None => return f,
        };
        Failure { reason, ..f }
    }
}

/// A received message as a reason shows it, cut when long.
fn brief(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}… ({} bytes)", text.len())
    } else {
        text.to_string()
    }
}

fn in_step(step: &Step, f: Failure) -> Failure {
    Failure {
        reason: format!("step `{}`: {}", step.name, f.reason),
        ..f
    }
}

fn micros_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_separated_frame_is_split_into_its_messages() {
        let frame = "{}\u{1e}{\"type\":6}\u{1e}";
        let got: Vec<String> = split_records(frame).collect();
        assert_eq!(got, ["{}", "{\"type\":6}"]);
        assert_eq!(split_records("\u{1e}").count(), 0);
        assert_eq!(
            split_records("{\"a\":1}").collect::<Vec<_>>(),
            ["{\"a\":1}"]
        );
    }

    #[test]
    fn a_failure_names_the_message_that_came_nearest_not_the_last() {
        let completion = r#"{"type":3,"invocationId":"f1","error":"the market is closed"}"#;
        let mut closest = None;
        Miss::keep(
            &mut closest,
            0,
            "expected message.type == 3, got 6".into(),
            r#"{"type":6}"#,
        );
        // The hub's error completion met two expectations; the pings after it, none.
        Miss::keep(
            &mut closest,
            2,
            "expected message.result == 42, but `result` is not in the JSON document".into(),
            completion,
        );
        Miss::keep(
            &mut closest,
            0,
            "expected message.type == 3, got 6".into(),
            r#"{"type":6}"#,
        );
        let timeout = Failure::new(
            FailureClass::Timeout,
            "no message met the expectations within 1s",
        );
        let f = Miss::add(&closest, timeout);
        assert_eq!(f.class, FailureClass::Timeout);
        assert_eq!(
            f.reason,
            format!("no message met the expectations within 1s (closest: expected message.result == 42, but `result` is not in the JSON document; the message: {completion})")
        );
        // A later message as near replaces it; a miss that shows the message is not repeated.
        Miss::keep(
            &mut closest,
            2,
            r#"expected message == "{}", got "{\"error\":1}""#.into(),
            r#"{"error":1}"#,
        );
        let closed = Failure::new(FailureClass::Protocol, "the server closed the connection");
        assert_eq!(
            Miss::add(&closest, closed).reason,
            r#"the server closed the connection (closest: expected message == "{}", got "{\"error\":1}")"#
        );
        // Long messages are cut.
        let long = "y".repeat(300);
        assert_eq!(brief(&long), format!("{}… (300 bytes)", "y".repeat(200)));
        let none = Failure::new(FailureClass::Timeout, "no expected message within 1s");
        assert_eq!(
            Miss::add(&None, none).reason,
            "no expected message within 1s"
        );
    }

    #[test]
    fn captures_take_strings_as_text_and_others_as_json() {
        let json: serde_json::Value =
            serde_json::json!({"connectionToken": "abc", "n": 3, "o": {"x": [1]}});
        let caps = [
            ("token", vec![PathSeg::Key("connectionToken".into())]),
            ("n", vec![PathSeg::Key("n".into())]),
            ("o", vec![PathSeg::Key("o".into())]),
        ]
        .map(|(name, path)| Capture {
            name: name.into(),
            text: format!("body.{name}"),
            path,
        });
        let mut into = Captured::new();
        take(&caps, Some(&json), "response body", &mut into).unwrap();
        assert_eq!(
            into,
            [
                ("token".to_string(), "abc".to_string()),
                ("n".into(), "3".into()),
                ("o".into(), r#"{"x":[1]}"#.into())
            ]
        );
        let missing = Capture {
            name: "id".into(),
            text: "body.connectionId".into(),
            path: vec![PathSeg::Key("connectionId".into())],
        };
        let err = take(
            std::slice::from_ref(&missing),
            Some(&json),
            "response body",
            &mut into,
        )
        .unwrap_err();
        assert_eq!(err.class, FailureClass::Expectation);
        assert!(
            err.reason
                .contains("cannot capture `id` from `body.connectionId`"),
            "{}",
            err.reason
        );
        let err = take(&[missing], None, "message", &mut into).unwrap_err();
        assert!(
            err.reason.contains("the message is not JSON"),
            "{}",
            err.reason
        );
    }
}
