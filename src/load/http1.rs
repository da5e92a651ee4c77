//! HTTP/1.1 as the load engine speaks it: the same few requests sent many times on kept-alive
//! connections. A request's bytes are built once, when the load is prepared, and written
//! with one call; a response head is parsed in place (httparse) from the connection's own
//! buffer, and its body is taken out of that buffer without a copy unless it is chunked.
//! Against hyper's client connection this drops, per request, the request and header map
//! built and cloned, the hand-off to a second task that drives the connection, and the body
//! collected through a stream; per connection, that task and its buffers.
//!
//! What it reads is what RFC 9112 says a client must: a body framed by `Transfer-Encoding:
//! chunked`, by `Content-Length`, or by the connection's close; none for HEAD, 1xx, 204 and
//! 304; interim 1xx responses skipped; `Connection: close` (or an HTTP/1.0 answer without
//! keep-alive) ends the connection after the response.

use bytes::{Bytes, BytesMut};

/// Largest response head read; larger is a protocol failure.
pub const MAX_HEAD: usize = 64 * 1024;
/// Headers a response head may have.
const MAX_HEADERS: usize = 64;

/// A request ready to write.
#[derive(Debug, Clone)]
pub struct Wire {
    pub bytes: Bytes,
    /// A HEAD request: its response has no body whatever its head says.
    pub head: bool,
}

/// The request's bytes: request line, `headers` in their order, a `content-length` when
/// there is a body or the method carries one (unless the headers frame it themselves),
/// then the body.
pub fn encode(method: &http::Method, target: &str, headers: &http::HeaderMap, body: &[u8]) -> Wire {
    let mut out = Vec::with_capacity(64 + target.len() + body.len() + 32 * headers.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let framed = headers.contains_key(http::header::CONTENT_LENGTH)
        || headers.contains_key(http::header::TRANSFER_ENCODING);
    let carries = matches!(
        *method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    );
    if !framed && (carries || !body.is_empty()) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Wire {
        bytes: Bytes::from(out),
        head: *method == http::Method::HEAD,
    }
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLen {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    /// The headers, when an expectation reads one; `None` otherwise (nothing is built).
    pub headers: Option<http::HeaderMap>,
    pub body: BodyLen,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
    /// Bytes the head took in the buffer.
    pub len: usize,
}

/// Parses a response head at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse_head(
    buf: &[u8],
    want_headers: bool,
    head_request: bool,
) -> Result<Option<Head>, String> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut storage);
    let len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("the response head is not valid HTTP/1.1: {e}")),
    };
    let status = r.code.unwrap_or(0);
    let http11 = r.version == Some(1);
    let mut length: Option<u64> = None;
    // Transfer-Encoding, when present: whether chunked is its final coding.
    let mut chunked: Option<bool> = None;
    let mut close = false;
    let mut keep = false;
    for h in r.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(h.value).unwrap_or("").trim();
            let n: u64 = text
                .parse()
                .map_err(|_| format!("the response's content-length `{text}` is not a number"))?;
            if length.is_some_and(|m| m != n) {
                return Err("the response has two different content-length headers".into());
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked must be the final coding (RFC 9112 6.1); anything else is read to close.
            chunked = Some(
                std::str::from_utf8(h.value)
                    .unwrap_or("")
                    .rsplit(',')
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked")),
            );
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in std::str::from_utf8(h.value).unwrap_or("").split(',') {
                close |= token.trim().eq_ignore_ascii_case("close");
                keep |= token.trim().eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    let headers = want_headers.then(|| {
        let mut map = http::HeaderMap::with_capacity(r.headers.len());
        for h in r.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(h.name.as_bytes()),
                http::HeaderValue::from_bytes(h.value),
            ) {
                map.append(name, value);
            }
        }
        map
    });
    let body = if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        BodyLen::None
    } else {
        // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
        match (chunked, length) {
            (Some(true), _) => BodyLen::Chunked,
            (Some(false), _) | (None, None) => BodyLen::UntilClose,
            (None, Some(n)) => BodyLen::Length(n),
        }
    };
    // After 101 Switching Protocols the connection no longer speaks HTTP/1.1.
    let keep_alive = !close && (http11 || keep) && body != BodyLen::UntilClose && status != 101;
    Ok(Some(Head {
        status,
        headers,
        body,
        keep_alive,
        len,
    }))
}

/// A walk over a chunked body (sizes, data, the last chunk and any trailers) at the start
/// of a buffer that grows between calls: it resumes after the last whole chunk, so a body
/// arriving over many reads is walked once, not again from its start after every read.
#[derive(Debug, Default)]
pub struct ChunkWalk {
    /// Where the next chunk starts.
    pos: usize,
    /// The data of the whole chunks so far.
    data: Vec<std::ops::Range<usize>>,
    total: usize,
}

impl ChunkWalk {
    /// Walks on over `buf`: `Some(end)` once the message ends at `buf[..end]`, `None` while
    /// more bytes are needed; fails when a chunk is malformed or the data passes `max`.
    pub fn advance(&mut self, buf: &[u8], max: usize) -> Result<Option<usize>, String> {
        loop {
            let (used, size) = match httparse::parse_chunk_size(&buf[self.pos..]) {
                Ok(httparse::Status::Complete(c)) => c,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(_) => return Err("a chunk size in the response body is not valid".into()),
            };
            let at = self.pos + used;
            if size == 0 {
                // Trailers, if any, then the empty line.
                let mut end = at;
                loop {
                    let Some(eol) = buf[end..].windows(2).position(|w| w == b"\r\n") else {
                        return Ok(None);
                    };
                    end += eol + 2;
                    if eol == 0 {
                        return Ok(Some(end));
                    }
                }
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if self.total.saturating_add(size) > max {
                return Err(format!("the response body is larger than {max} bytes"));
            }
            if buf.len() < at + size + 2 {
                return Ok(None);
            }
            if &buf[at + size..at + size + 2] != b"\r\n" {
                return Err("a chunk in the response body does not end with CRLF".into());
            }
            self.data.push(at..at + size);
            self.total += size;
            self.pos = at + size + 2;
        }
    }

    /// The data of the chunks walked.
    pub fn data(&self) -> &[std::ops::Range<usize>] {
        &self.data
    }
}

/// The body of a finished chunked message, taken off `buf` (one chunk: without a copy).
pub fn take_chunked(buf: &mut BytesMut, data: &[std::ops::Range<usize>], end: usize) -> Bytes {
    let message = buf.split_to(end).freeze();
    match data {
        [] => Bytes::new(),
        [one] => message.slice(one.clone()),
        many => {
            let mut body = BytesMut::with_capacity(many.iter().map(|r| r.len()).sum());
            for r in many {
                body.extend_from_slice(&message[r.clone()]);
            }
            body.freeze()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a chunked body stands in `buf`, walked in one go.
    #[derive(Debug, PartialEq, Eq)]
    enum Chunks {
        Partial,
        Done {
            data: Vec<std::ops::Range<usize>>,
            end: usize,
        },
    }

    fn chunks(buf: &[u8], max: usize) -> Result<Chunks, String> {
        let mut walk = ChunkWalk::default();
        Ok(match walk.advance(buf, max)? {
            Some(end) => Chunks::Done {
                data: walk.data().to_vec(),
                end,
            },
            None => Chunks::Partial,
        })
    }

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes(), true, false).unwrap().unwrap()
    }

    #[test]
    fn a_request_is_written_once_with_its_framing() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::HOST, "127.0.0.1:8080".parse().unwrap());
        h.insert("x-a", "1".parse().unwrap());
        let w = encode(&http::Method::GET, "/p?q=1", &h, b"");
        assert_eq!(
            &w.bytes[..],
            b"GET /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-a: 1\r\n\r\n"
        );
        let w = encode(&http::Method::POST, "/o", &h, b"{}");
        assert!(
            w.bytes.ends_with(b"content-length: 2\r\n\r\n{}"),
            "{:?}",
            w.bytes
        );
        let w = encode(&http::Method::POST, "/o", &h, b"");
        assert!(w.bytes.ends_with(b"content-length: 0\r\n\r\n"));
        h.insert(http::header::CONTENT_LENGTH, "2".parse().unwrap());
        let w = encode(&http::Method::PUT, "/o", &h, b"{}");
        assert_eq!(
            w.bytes
                .windows(14)
                .filter(|s| s == b"content-length")
                .count(),
            1
        );
        assert!(encode(&http::Method::HEAD, "/", &h, b"").head);
    }

    #[test]
    fn a_head_says_how_its_body_ends_and_whether_the_connection_stays() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Cache: hit\r\n\r\nhello");
        assert_eq!(
            (h.status, h.body, h.keep_alive),
            (200, BodyLen::Length(5), true)
        );
        assert_eq!(
            h.len,
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Cache: hit\r\n\r\n".len()
        );
        assert_eq!(h.headers.unwrap()["x-cache"], "hit");
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.body, BodyLen::Chunked);
        let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (BodyLen::UntilClose, false));
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!h.keep_alive);
        let h = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n");
        assert!(h.keep_alive);
        assert!(!head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").keep_alive);
        for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
            let h = head(&format!("HTTP/1.1 {status}\r\nContent-Length: 9\r\n\r\n"));
            assert_eq!(h.body, BodyLen::None, "{status}");
        }
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", false, true);
        let h = h.unwrap().unwrap();
        assert_eq!(h.body, BodyLen::None);
        assert!(h.headers.is_none());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", true, false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_bad_head_is_a_reason_not_a_panic() {
        for bad in [
            "HTTX/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        ] {
            assert!(parse_head(bad.as_bytes(), false, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies_are_walked_to_their_end_and_bounded() {
        let text = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let Chunks::Done { data, end } = chunks(text, 100).unwrap() else {
            panic!("not done")
        };
        assert_eq!(&text[end..], b"NEXT");
        let mut buf = BytesMut::from(&text[..]);
        assert_eq!(&take_chunked(&mut buf, &data, end)[..], b"hello world");
        assert_eq!(&buf[..], b"NEXT");
        let one = b"3\r\nabc\r\n0\r\n\r\n";
        let Chunks::Done { data, end } = chunks(one, 100).unwrap() else {
            panic!("not done")
        };
        assert_eq!(
            &take_chunked(&mut BytesMut::from(&one[..]), &data, end)[..],
            b"abc"
        );
        for cut in 0..text.len() - 4 {
            assert_eq!(
                chunks(&text[..cut], 100).unwrap(),
                Chunks::Partial,
                "cut at {cut}"
            );
        }
        // One walk over a buffer that grows a byte at a time ends where a walk in one go does.
        let Chunks::Done { data, end } = chunks(text, 100).unwrap() else {
            panic!("not done")
        };
        let mut walk = ChunkWalk::default();
        let ends: Vec<_> = (0..=text.len())
            .filter_map(|n| walk.advance(&text[..n], 100).unwrap())
            .collect();
        assert_eq!(ends.first(), Some(&end));
        assert_eq!(walk.data(), &data[..]);
        assert!(chunks(b"5\r\nhelloXX", 100).is_err());
        assert!(chunks(b"zz\r\n", 100).is_err());
        assert!(chunks(b"ffffffff\r\n", 100).unwrap_err().contains("larger"));
    }
}
