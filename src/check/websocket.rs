//! The `websocket` kind: connect (ws:// or wss://), then hold a conversation (see
//! [`super::conversation`]): HTTP requests before the upgrade, headers on it, and steps
//! that send, wait for a message meeting their expectations and capture values. The
//! sample's latency is what `measure` names: the connect, one step, or the whole.

use super::conversation::{self, Before, Captured, Framing, Session, Step, Timings};
use crate::net::TlsClient;
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::sync::Arc;
use std::time::Instant;

/// Which time is a sample's latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// TCP, TLS and the WebSocket upgrade.
    Connect,
    /// One step, by index.
    Step(usize),
    /// From the first HTTP request (or the connect) to the last step's message.
    Conversation,
}

/// A validated WebSocket check.
#[derive(Debug, Clone)]
pub struct WebSocketCheck {
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub before: Vec<Before>,
    pub framing: Framing,
    pub steps: Vec<Step>,
    pub measure: Measure,
    /// Bounds the connect; each step has its own timeout.
    pub timeout: Duration,
    pub tls: TlsClient,
}

/// A [`WebSocketCheck`] with TLS configured, ready to sample.
pub struct WebSocketProbe {
    check: WebSocketCheck,
    endpoints: Endpoints,
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
    secure: bool,
}

impl WebSocketCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<WebSocketProbe, Failure> {
        let setup = |m: String| Failure::new(FailureClass::Setup, m);
        // Captured values may sit in the URL (SignalR's `?id={captured.token}`): check
        // its scheme and host here, render it whole per sample.
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
        let tls = if secure {
            let host = crate::net::host(&parsed).unwrap_or_default();
            let config = self.tls.config(&[]).map_err(setup)?;
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| setup(format!("`{host}` is not a valid TLS server name")))?;
            Some((Arc::new(config), name))
        } else {
            None
        };
        Ok(WebSocketProbe {
            check: self.clone(),
            endpoints: endpoints.clone(),
            tls,
            secure,
        })
    }
}

impl WebSocketProbe {
    pub async fn sample(&self) -> Result<u64, Failure> {
        let start = Instant::now();
        let timings = self.converse().await?;
        Ok(match self.check.measure {
            Measure::Connect => timings.connect,
            Measure::Step(i) => timings.steps.get(i).copied().unwrap_or_default(),
            Measure::Conversation => u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        })
    }

    async fn converse(&self) -> Result<Timings, Failure> {
        let check = &self.check;
        let mut captured = Captured::new();
        conversation::run_before(&check.before, &self.endpoints, &mut captured).await?;
        let url = check.url.render_captured(&self.endpoints, None, &captured);
        let parsed = reqwest::Url::parse(&url).map_err(|e| {
            Failure::new(
                FailureClass::Setup,
                format!("`{url}` is not a valid URL: {e}"),
            )
        })?;
        let host = crate::net::host(&parsed).unwrap_or_default();
        let port = parsed
            .port_or_known_default()
            .unwrap_or(if self.secure { 443 } else { 80 });
        let headers = super::header_map_captured(&check.headers, &self.endpoints, &captured)?;
        let t0 = Instant::now();
        let open = async {
            let io = crate::net::connect(&host, port, self.tls.as_ref()).await?;
            Session::open(io, &url, &headers, check.framing, captured).await
        };
        let mut session = match tokio::time::timeout(check.timeout.as_std(), open).await {
            Ok(s) => s?,
            Err(_) => {
                return Err(Failure::new(
                    FailureClass::Timeout,
                    format!(
                        "no WebSocket connection to {host}:{port} within {}",
                        check.timeout
                    ),
                ))
            }
        };
        let mut timings = Timings {
            connect: u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX),
            steps: Vec::with_capacity(check.steps.len()),
        };
        session
            .steps(&check.steps, &self.endpoints, Some(&mut timings.steps))
            .await?;
        session.close().await;
        Ok(timings)
    }
}
