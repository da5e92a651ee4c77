//! The load hot path's HTTP/1.1 client: one keep-alive connection per worker, driven by
//! hyper directly (no pool, no per-request allocation of a client), over plain TCP or
//! rustls. A connection that fails or times out is dropped and re-made on next use; one
//! the peer closed while it was kept alive is re-made at once and the request sent again
//! when that is safe (see [`SendError::retry_safe`]).

use crate::check::conversation::{Framing, Session, Step};
use crate::check::HttpResponse as Response;
use crate::net::{Io, TlsClient};
use crate::tally::{Failure, FailureClass};
use crate::template::Endpoints;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
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
    /// Responses read on it: a failure on a connection that has answered before may only
    /// mean the peer closed it while it sat idle (a restart, an idle timeout).
    answered: u64,
}

/// A request that got no response.
pub struct SendError {
    pub failure: Failure,
    /// The connection was closed before the request was written: it never left.
    unsent: bool,
    /// The connection closed after the request was written, before any response.
    unanswered: bool,
}

impl SendError {
    fn new(failure: Failure, unsent: bool, unanswered: bool) -> Self {
        SendError {
            failure,
            unsent,
            unanswered,
        }
    }

    /// Whether sending the request again on a new connection is what a careful client
    /// does: it never left, or it is idempotent and the peer closed without answering
    /// (RFC 9110 9.2.2; browsers and hyper's pool retry the same cases).
    pub fn retry_safe(&self, method: &http::Method) -> bool {
        self.unsent || (self.unanswered && method.is_idempotent())
    }
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
        Ok(Conn {
            sender,
            answered: 0,
        })
    }

    /// Whether this connection has answered before (it is being reused).
    pub fn reused(&self) -> bool {
        self.answered > 0
    }

    /// Sends one request and reads the whole (capped) response.
    pub async fn send(&mut self, req: http::Request<Full<Bytes>>) -> Result<Response, SendError> {
        self.sender.ready().await.map_err(|e| {
            let f = Failure::new(FailureClass::Connect, format!("the connection closed: {e}"));
            SendError::new(f, true, false)
        })?;
        let resp = self.sender.send_request(req).await.map_err(|e| {
            let closed = e.is_closed() || e.is_incomplete_message();
            let class = if e.is_canceled() || closed {
                FailureClass::Connect
            } else {
                FailureClass::Protocol
            };
            let f = Failure::new(class, format!("the request failed: {e}"));
            SendError::new(f, e.is_canceled(), closed)
        })?;
        self.answered += 1;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                let f = Failure::new(
                    FailureClass::Protocol,
                    format!("reading the response failed: {e}"),
                );
                SendError::new(f, false, false)
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

/// What a WebSocket request does on its connection: the opening steps once per
/// connection (a protocol handshake, a subscribe), the repeated steps per round trip.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub framing: Framing,
    pub open: Vec<Step>,
    pub steps: Vec<Step>,
}

/// A WebSocket connection a worker keeps open for round trips.
pub struct Ws {
    session: Session,
    /// Round trips completed on it.
    answered: u64,
}

impl Ws {
    /// Connects, upgrades with `headers` and runs the conversation's opening steps.
    pub async fn open(
        t: &Target,
        url: &str,
        headers: &http::HeaderMap,
        conversation: &Conversation,
        endpoints: &Endpoints,
    ) -> Result<Ws, Failure> {
        let io = t.stream().await?;
        let mut session = Session::open(io, url, headers, conversation.framing, Vec::new()).await?;
        session.steps(&conversation.open, endpoints, None).await?;
        Ok(Ws {
            session,
            answered: 0,
        })
    }

    /// Whether this connection has completed a round trip before (it is being reused).
    pub fn reused(&self) -> bool {
        self.answered > 0
    }

    /// Runs the repeated steps once. The caller bounds it with the request timeout.
    pub async fn round_trip(
        &mut self,
        conversation: &Conversation,
        endpoints: &Endpoints,
    ) -> Result<(), Failure> {
        self.session
            .steps(&conversation.steps, endpoints, None)
            .await?;
        self.answered += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn a_request_goes_again_only_if_it_never_left_or_is_idempotent_and_unanswered() {
        let err = |unsent, unanswered| {
            SendError::new(
                Failure::new(FailureClass::Connect, "closed"),
                unsent,
                unanswered,
            )
        };
        for (unsent, unanswered, method, safe) in [
            (true, false, Method::POST, true),
            (true, false, Method::GET, true),
            (false, true, Method::GET, true),
            (false, true, Method::PUT, true),
            (false, true, Method::DELETE, true),
            (false, true, Method::POST, false),
            (false, true, Method::PATCH, false),
            (false, false, Method::GET, false),
        ] {
            assert_eq!(
                err(unsent, unanswered).retry_safe(&method),
                safe,
                "{method} unsent={unsent} unanswered={unanswered}"
            );
        }
    }
}
