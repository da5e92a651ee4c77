//! The load hot path's HTTP/1.1 client: one keep-alive connection per worker, over plain
//! TCP or rustls, speaking the lean HTTP/1.1 of [`super::http1`] (no pool, nothing built per
//! request but the response). A connection that fails or times out is dropped and re-made
//! on next use; one the peer closed while it was kept alive is re-made at once and the
//! request sent again when that is safe (see [`SendError::retry_safe`]).

use super::http1::{self, BodyLen, ChunkWalk, Wire};
use crate::check::conversation::{Framing, Session, Step};
use crate::check::HttpResponse as Response;
use crate::net::{Io, TlsClient};
use crate::tally::{Failure, FailureClass};
use crate::template::Endpoints;
use bytes::BytesMut;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    io: Box<dyn Io>,
    /// Bytes read and not yet taken: the response being read. Its body is split off
    /// without a copy, and the space is reused once the body is dropped.
    buf: BytesMut,
    /// Responses read on it: a failure on a connection that has answered before may only
    /// mean the peer closed it while it sat idle (a restart, an idle timeout).
    answered: u64,
    /// The last response ended the connection (`Connection: close`, a body read to close).
    done: bool,
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

    fn protocol(why: impl Into<String>) -> Self {
        SendError::new(Failure::new(FailureClass::Protocol, why), false, false)
    }

    /// Whether sending the request again on a new connection is what a careful client
    /// does: it never left, or it is idempotent and the peer closed without answering
    /// (RFC 9110 9.2.2; browsers and hyper's pool retry the same cases).
    pub fn retry_safe(&self, method: &http::Method) -> bool {
        self.unsent || (self.unanswered && method.is_idempotent())
    }
}

/// Room kept free in a connection's buffer before each read.
const READ_ROOM: usize = 4096;

impl Conn {
    pub async fn open(t: &Target) -> Result<Conn, Failure> {
        Ok(Conn {
            io: t.stream().await?,
            buf: BytesMut::new(),
            answered: 0,
            done: false,
        })
    }

    /// Whether this connection has answered before (it is being reused).
    pub fn reused(&self) -> bool {
        self.answered > 0
    }

    /// Whether the last response ended this connection, so it must not be used again.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Reads more bytes into the buffer: how many (0 at the peer's close).
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_ROOM / 4 {
            self.buf.reserve(READ_ROOM);
        }
        self.io.read_buf(&mut self.buf).await
    }

    /// Sends one request and reads the whole (capped) response; its headers are kept only
    /// when `want_headers` (an expectation reads one).
    pub async fn send(&mut self, wire: &Wire, want_headers: bool) -> Result<Response, SendError> {
        let written = async {
            self.io.write_all(&wire.bytes).await?;
            self.io.flush().await
        };
        if let Err(e) = written.await {
            // The peer had closed it: nothing of the request was taken in.
            let f = Failure::new(FailureClass::Connect, format!("the connection closed: {e}"));
            return Err(SendError::new(f, true, false));
        }
        let head = loop {
            match http1::parse_head(&self.buf, want_headers, wire.head) {
                Ok(Some(h)) if (100..200).contains(&h.status) && h.status != 101 => {
                    // An interim response (100 Continue, 103 Early Hints): the final one follows.
                    let _ = self.buf.split_to(h.len);
                    continue;
                }
                Ok(Some(h)) => break h,
                Ok(None) if self.buf.len() > http1::MAX_HEAD => {
                    return Err(SendError::protocol(format!(
                        "the response head is longer than {} bytes",
                        http1::MAX_HEAD
                    )))
                }
                Ok(None) => {}
                Err(why) => return Err(SendError::protocol(why)),
            }
            match self.fill().await {
                Ok(0) if self.buf.is_empty() => {
                    let f = Failure::new(
                        FailureClass::Connect,
                        "the connection closed before a response",
                    );
                    return Err(SendError::new(f, false, true));
                }
                Ok(0) => {
                    return Err(SendError::protocol(
                        "the connection closed in the middle of the response head",
                    ))
                }
                Ok(_) => {}
                Err(e) => {
                    let f = Failure::new(FailureClass::Connect, format!("reading failed: {e}"));
                    return Err(SendError::new(f, false, self.buf.is_empty()));
                }
            }
        };
        let _ = self.buf.split_to(head.len);
        let body = self.body(head.body).await?;
        self.answered += 1;
        self.done = !head.keep_alive;
        Ok(Response {
            status: head.status,
            headers: head.headers.unwrap_or_default(),
            body,
            json: None,
            micros: 0,
        })
    }

    /// Reads the body the head announced and takes it off the buffer.
    async fn body(&mut self, len: BodyLen) -> Result<bytes::Bytes, SendError> {
        let cut = |what: &str| {
            SendError::protocol(format!("the connection closed in the middle of {what}"))
        };
        let failed =
            |e: std::io::Error| SendError::protocol(format!("reading the response failed: {e}"));
        match len {
            BodyLen::None => Ok(bytes::Bytes::new()),
            BodyLen::Length(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > MAX_BODY {
                    return Err(SendError::protocol(format!(
                        "the response body ({n} bytes) is larger than {MAX_BODY} bytes"
                    )));
                }
                while self.buf.len() < n {
                    if self.fill().await.map_err(failed)? == 0 {
                        return Err(cut("the response body"));
                    }
                }
                Ok(self.buf.split_to(n).freeze())
            }
            BodyLen::Chunked => {
                let mut walk = ChunkWalk::default();
                loop {
                    if let Some(end) = walk
                        .advance(&self.buf, MAX_BODY)
                        .map_err(SendError::protocol)?
                    {
                        return Ok(http1::take_chunked(&mut self.buf, walk.data(), end));
                    }
                    if self.fill().await.map_err(failed)? == 0 {
                        return Err(cut("a chunked body"));
                    }
                }
            }
            BodyLen::UntilClose => {
                while self.fill().await.map_err(failed)? > 0 {
                    if self.buf.len() > MAX_BODY {
                        return Err(SendError::protocol(format!(
                            "the response body is larger than {MAX_BODY} bytes"
                        )));
                    }
                }
                Ok(self.buf.split().freeze())
            }
        }
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
