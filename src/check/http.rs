//! The `http` kind: one request per sample; the response's status, headers and body
//! (capped) are tested against the expectations. Latency runs from sending the request
//! to reading the last byte of the body.

use crate::expect::{json_at, Observe, Observed};
use crate::expect::{Expectation, Subject};
use crate::net::{tls_reason, TlsClient};
use crate::tally::{Failure, FailureClass};
use crate::template::{Endpoints, Template};
use crate::units::{ByteSize, Duration};
use std::borrow::Cow;
use std::time::Instant;

/// A validated HTTP check.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub url: Template,
    pub method: reqwest::Method,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    pub timeout: Duration,
    pub tls: TlsClient,
    pub redirects: u32,
    pub max_body: ByteSize,
    pub expect: Vec<Expectation>,
}

/// An [`HttpCheck`] with its client built and templates rendered, ready to sample.
pub struct HttpProbe {
    check: HttpCheck,
    client: reqwest::Client,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: Option<String>,
}

impl HttpCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<HttpProbe, Failure> {
        self.prepare_captured(endpoints, &[])
    }

    /// [`HttpCheck::prepare`] with the values a conversation captured so far.
    pub fn prepare_captured(
        &self,
        endpoints: &Endpoints,
        captured: &[(String, String)],
    ) -> Result<HttpProbe, Failure> {
        let setup = |m: String| Failure::new(FailureClass::Setup, m);
        let rendered = self.url.render_captured(endpoints, None, captured);
        let url = reqwest::Url::parse(&rendered)
            .map_err(|e| setup(format!("`{rendered}` is not a valid URL: {e}")))?;
        let tls = self.tls.config(&[b"http/1.1"]).map_err(setup)?;
        let policy = redirect_policy(self.redirects, !self.headers.is_empty());
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(policy)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
        let headers = super::header_map_captured(&self.headers, endpoints, captured)?;
        Ok(HttpProbe {
            check: self.clone(),
            client,
            url,
            headers,
            body: self
                .body
                .as_ref()
                .map(|b| b.render_captured(endpoints, None, captured)),
        })
    }
}

/// Follows up to `limit` redirects, but never takes the checklist's own headers to
/// another origin. reqwest drops Authorization, Cookie and Proxy-Authorization itself
/// when a redirect changes host, yet forwards every other header: an `x-api-key` meant
/// for one service would reach whatever host the redirect names. With headers set, a
/// redirect to another origin (scheme, host or port) than the URL's is refused, and the
/// sample fails saying so; following it without the headers would probe something else
/// than the check describes.
fn redirect_policy(limit: u32, custom_headers: bool) -> reqwest::redirect::Policy {
    use reqwest::redirect::Policy;
    if limit == 0 {
        return Policy::none();
    }
    let limited = Policy::limited(limit as usize);
    if !custom_headers {
        return limited;
    }
    Policy::custom(move |attempt| {
        let from = attempt.previous().first().map(|u| u.origin());
        let to = attempt.url().origin();
        match from {
            Some(from) if from != to => {
                let message = format!(
                    "not following the redirect to {}: the check's headers are meant for {} \
                     only (set no headers, or point the check at the final URL)",
                    to.ascii_serialization(),
                    from.ascii_serialization()
                );
                attempt.error(message)
            }
            _ => limited.redirect(attempt),
        }
    })
}

/// One HTTP response as expectations see it (shared with the load hot path).
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
    /// Parsed only when an expectation reads the body as JSON.
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
                Some(j) => json_at(j, path)
                    .map(Observed::Json)
                    .unwrap_or_else(Observed::Missing),
                None => Observed::Missing("the body is not JSON".into()),
            },
            _ => Observed::Missing("not observed by an http check".into()),
        }
    }
}

impl HttpProbe {
    /// One request; `Ok` when every expectation holds.
    pub async fn sample(&self) -> Result<u64, Failure> {
        Ok(self.fetch().await?.micros)
    }

    /// One request within the timeout, judged; the response when every expectation holds.
    pub async fn fetch(&self) -> Result<Response, Failure> {
        let start = Instant::now();
        let timeout = self.check.timeout.as_std();
        let response = match tokio::time::timeout(timeout, self.exchange(start)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(Failure::new(
                    FailureClass::Timeout,
                    format!("no complete response within {}", self.check.timeout),
                ))
            }
        };
        crate::expect::judge_http_response(response.status, &self.check.expect, &response)?;
        Ok(response)
    }

    /// The request as sent: method and URL.
    pub fn target(&self) -> String {
        format!("{} {}", self.check.method, self.url)
    }

    async fn exchange(&self, start: Instant) -> Result<Response, Failure> {
        let mut req = self
            .client
            .request(self.check.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(body) = &self.body {
            req = req.body(body.clone());
        }
        let mut resp = req.send().await.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let cap = self.check.max_body.bytes();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(Failure::new(
                    FailureClass::Protocol,
                    format!(
                        "the response body is larger than the {} cap (max_body)",
                        self.check.max_body
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let wants_json = self
            .check
            .expect
            .iter()
            .any(|e| matches!(e.subject, Subject::BodyJson(_)));
        let json = if wants_json {
            serde_json::from_slice(&body).ok()
        } else {
            None
        };
        Ok(Response {
            status,
            headers,
            body: body.into(),
            json,
            micros,
        })
    }
}

/// Sorts a reqwest error into a failure class with a reason that names the cause.
fn classify(e: reqwest::Error) -> Failure {
    if let Some(reason) = tls_reason(&e) {
        return Failure::new(FailureClass::Tls, reason);
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    let class = if e.is_timeout() {
        FailureClass::Timeout
    } else if e.is_connect() {
        FailureClass::Connect
    } else {
        FailureClass::Protocol
    };
    Failure::new(class, reason)
}
