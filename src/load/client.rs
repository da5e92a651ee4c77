//! The load hot path's HTTP/1.1 client: one keep-alive connection per worker, driven by
//! hyper directly (no pool, no per-request allocation of a client), over plain TCP or
//! rustls. A connection that fails or times out is dropped and re-made on next use.

use crate::check::{Failure, FailureClass, Observe, Observed, TlsClient};
use crate::plan::Subject;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::borrow::Cow;
use std::sync::Arc;

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
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("`{url}` has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
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
        let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| {
                Failure::new(
                    FailureClass::Connect,
                    format!("cannot connect to {}:{}: {e}", t.host, t.port),
                )
            })?;
        let _ = tcp.set_nodelay(true);
        match &t.tls {
            None => Self::handshake(tcp).await,
            Some((config, name)) => {
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| {
                        Failure::new(
                            FailureClass::Tls,
                            format!("TLS handshake with {} failed: {e}", t.host),
                        )
                    })?;
                Self::handshake(stream).await
            }
        }
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

/// A response as expectations see it.
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub json: Option<serde_json::Value>,
    pub micros: u64,
}

impl Observe for Response {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Status => Observed::Int(i64::from(self.status)),
            Subject::Size => Observed::Int(self.body.len() as i64),
            Subject::Latency => Observed::Micros(self.micros),
            Subject::Header(name) => match self.headers.get(name.as_str()) {
                Some(v) => Observed::Text(String::from_utf8_lossy(v.as_bytes())),
                None => Observed::Missing(format!("the response has no `{name}` header")),
            },
            Subject::Body => match std::str::from_utf8(&self.body) {
                Ok(s) => Observed::Text(Cow::Borrowed(s)),
                Err(e) => Observed::Missing(format!(
                    "the body is not valid UTF-8 (at byte {})",
                    e.valid_up_to()
                )),
            },
            Subject::BodyJson(path) => match &self.json {
                Some(j) => crate::check::json_at(j, path)
                    .map(Observed::Json)
                    .unwrap_or_else(Observed::Missing),
                None => Observed::Missing("the body is not JSON".into()),
            },
            _ => Observed::Missing("not observed by an http request".into()),
        }
    }
}
