//! The load hot path's HTTP/1.1 client: one keep-alive connection per worker, driven by
//! hyper directly (no pool, no per-request allocation of a client), over plain TCP or
//! rustls. A connection that fails or times out is dropped and re-made on next use.

use crate::check::{read_until_expected, HttpResponse as Response};
use crate::expect::Expectation;
use crate::net::{Io, TlsClient};
use crate::tally::{Failure, FailureClass};
use bytes::Bytes;
use futures_util::SinkExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Largest response body read under load; larger is a protocol failure.
pub const MAX_BODY: usize = 1 << 20;

/// Where requests go.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    /// `host:port` for the Host header.
    pub authority: String,
    /// Path prefix of the target URL (without a trailing `/`).
    pub base_path: String,
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl Target {
    pub fn parse(url: &str, tls: &TlsClient) -> Result<Target, String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
        let secure = match parsed.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "`{url}` has scheme `{other}`; load targets are http:// or https://"
                ))
            }
        };
        let host = crate::net::host(&parsed).ok_or_else(|| format!("`{url}` has no host"))?;
        let port = parsed
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        let tls = if secure {
            let config = tls.config(&[b"http/1.1"])?;
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| format!("`{host}` is not a valid TLS name"))?;
            Some((Arc::new(config), name))
        } else {
            None
        };
        Ok(Target {
            authority: match parsed.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.clone(),
            },
            base_path: parsed.path().trim_end_matches('/').to_string(),
            host,
            port,
            tls,
        })
    }
}

/// One keep-alive connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(t: &Target) -> Result<Conn, Failure> {
        Self::handshake(t.stream().await?).await
    }

    async fn handshake<S>(io: S) -> Result<Conn, Failure>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Protocol,
                    format!("HTTP handshake failed: {e}"),
                )
            })?;
        // The connection task ends when the sender is dropped or the peer closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn { sender })
    }

    /// Sends one request and reads the whole (capped) response.
    pub async fn send(&mut self, req: http::Request<Full<Bytes>>) -> Result<Response, Failure> {
        self.sender.ready().await.map_err(|e| {
            Failure::new(FailureClass::Connect, format!("the connection closed: {e}"))
        })?;
        let resp = self.sender.send_request(req).await.map_err(|e| {
            let class = if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
                FailureClass::Connect
            } else {
                FailureClass::Protocol
            };
            Failure::new(class, format!("the request failed: {e}"))
        })?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Protocol,
                    format!("reading the response failed: {e}"),
                )
            })?
            .to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            json: None,
            micros: 0,
        })
    }
}

impl Target {
    /// A TCP (and, for https targets, TLS) stream to the target.
    async fn stream(&self) -> Result<Box<dyn Io>, Failure> {
        crate::net::connect(&self.host, self.port, self.tls.as_ref()).await
    }

    /// The ws:// or wss:// URL of `path` on this target.
    pub fn ws_url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.authority)
    }
}

/// A WebSocket connection a worker keeps open for round trips.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<Box<dyn Io>>,
}

impl Ws {
    pub async fn open(t: &Target, url: &str) -> Result<Ws, Failure> {
        let io = t.stream().await?;
        let (stream, _) = tokio_tungstenite::client_async(url, io)
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Protocol,
                    format!("WebSocket handshake failed: {e}"),
                )
            })?;
        Ok(Ws { stream })
    }

    /// Sends `text` and reads until a message meets every expectation; other messages
    /// (ticks, notices) are skipped. The caller bounds it with the request timeout.
    pub async fn round_trip(&mut self, text: &str, expect: &[Expectation]) -> Result<(), Failure> {
        let start = Instant::now();
        self.stream
            .send(Message::text(text.to_string()))
            .await
            .map_err(|e| Failure::new(FailureClass::Connect, format!("sending failed: {e}")))?;
        let mut miss = None;
        read_until_expected(&mut self.stream, start, expect, &mut miss)
            .await
            .map(|_| ())
    }
}
