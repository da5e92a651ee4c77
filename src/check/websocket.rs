//! The `websocket` kind: connect (ws:// or wss://), optionally send a text message, and
//! wait for a message that meets every expectation. Latency is the round trip from
//! sending to that message, or the handshake time when nothing is sent.

use crate::expect::{json_at, Observe, Observed};
use crate::expect::{Expectation, Subject};
use crate::net::TlsClient;
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use futures_util::{SinkExt, StreamExt};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;

/// A validated WebSocket check.
#[derive(Debug, Clone)]
pub struct WebSocketCheck {
    pub url: Template,
    pub send: Option<Template>,
    pub expect: Vec<Expectation>,
    pub timeout: Duration,
    pub tls: TlsClient,
}

/// A [`WebSocketCheck`] with its URL rendered and TLS configured.
pub struct WebSocketProbe {
    check: WebSocketCheck,
    url: String,
    host: String,
    port: u16,
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    send: Option<String>,
}

/// One received WebSocket message as expectations see it (shared with the load hot path).
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
            _ => Observed::Missing("not observed by a websocket check".into()),
        }
    }
}

impl WebSocketCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<WebSocketProbe, Failure> {
        let setup = |m: String| Failure::new(FailureClass::Setup, m);
        let url = self.url.render(endpoints, None);
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| setup(format!("`{url}` is not a valid URL: {e}")))?;
        let secure = match parsed.scheme() {
            "ws" => false,
            "wss" => true,
            other => {
                return Err(setup(format!(
                    "`{url}` has scheme `{other}`; a websocket check needs ws:// or wss://"
                )))
            }
        };
        let host = crate::net::host(&parsed).unwrap_or_default();
        let port = parsed
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        let tls = if secure {
            let config = self.tls.config(&[]).map_err(setup)?;
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| setup(format!("`{host}` is not a valid TLS server name")))?;
            Some((Arc::new(config), name))
        } else {
            None
        };
        Ok(WebSocketProbe {
            check: self.clone(),
            url,
            host,
            port,
            tls,
            send: self.send.as_ref().map(|s| s.render(endpoints, None)),
        })
    }
}

impl WebSocketProbe {
    pub async fn sample(&self) -> Result<u64, Failure> {
        let limit = self.check.timeout;
        let mut last_miss = None;
        let run = self.exchange(&mut last_miss);
        match tokio::time::timeout(limit.as_std(), run).await {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                FailureClass::Timeout,
                match last_miss {
                    Some(miss) => {
                        format!("no message met the expectations within {limit} (last: {miss})")
                    }
                    None => format!("no expected message within {limit}"),
                },
            )),
        }
    }

    async fn exchange(&self, last_miss: &mut Option<String>) -> Result<u64, Failure> {
        let start = Instant::now();
        let stream = crate::net::connect(&self.host, self.port, self.tls.as_ref()).await?;
        self.talk(stream, start, last_miss).await
    }

    async fn talk<S>(
        &self,
        stream: S,
        start: Instant,
        last_miss: &mut Option<String>,
    ) -> Result<u64, Failure>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut ws, _) = tokio_tungstenite::client_async(self.url.as_str(), stream)
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Protocol,
                    format!("WebSocket handshake failed: {e}"),
                )
            })?;
        let mut t0 = start;
        if let Some(text) = &self.send {
            t0 = Instant::now();
            ws.send(Message::text(text.clone())).await.map_err(|e| {
                Failure::new(FailureClass::Protocol, format!("sending failed: {e}"))
            })?;
        } else if self.check.expect.is_empty() {
            let _ = ws.close(None).await;
            return Ok(micros_since(start));
        }
        let micros = read_until_expected(&mut ws, t0, &self.check.expect, last_miss).await?;
        let _ = ws.close(None).await;
        Ok(micros)
    }
}

/// Reads messages until one meets every expectation and returns the microseconds since
/// `t0`; other traffic (ticks, notices) is skipped, the latest reason it did not match
/// kept in `last_miss`. The caller bounds it with its timeout. Shared with the load
/// engine's WebSocket round trips.
pub async fn read_until_expected<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    t0: Instant,
    expect: &[crate::expect::Expectation],
    last_miss: &mut Option<String>,
) -> Result<u64, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let wants_json = expect
        .iter()
        .any(|e| matches!(e.subject, Subject::MessageJson(_)));
    let closed = || {
        Failure::new(
            FailureClass::Protocol,
            "the server closed the connection before the expected message",
        )
    };
    loop {
        let msg = match ws.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                return Err(Failure::new(
                    FailureClass::Protocol,
                    format!("the connection failed: {e}"),
                ))
            }
            None => return Err(closed()),
        };
        let text = match &msg {
            Message::Text(t) => Cow::Borrowed(t.as_str()),
            Message::Binary(b) => String::from_utf8_lossy(b),
            Message::Close(_) => return Err(closed()),
            _ => continue,
        };
        let received = Received {
            json: if wants_json {
                serde_json::from_str(&text).ok()
            } else {
                None
            },
            text,
            micros: micros_since(t0),
        };
        match expect.iter().try_for_each(|e| e.check(&received)) {
            Ok(()) => return Ok(received.micros),
            Err(miss) => *last_miss = Some(miss),
        }
    }
}

fn micros_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX)
}
