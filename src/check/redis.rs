//! The `redis` kind: one command per sample on a connection each concurrent sampler
//! keeps, so `concurrency` connections carry the samples and the latency is the
//! command's round trip. The reply is tested as JSON (`reply == "PONG"`, `reply[0]`).
//! Plain TCP only: TLS (`rediss://`) is not supported yet.

use super::idle::Idle;
use crate::expect::{json_at, Observe, Observed};
use crate::expect::{Expectation, Subject};
use crate::tally::{error_chain, Failure, FailureClass, Sample};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, Cmd, ErrorKind, RedisError, Value};
use std::time::Instant;

/// Commands that turn a connection into a stream of pushed messages; a probe sends one
/// command and reads one reply, so these are refused at plan time.
pub const STREAMING_COMMANDS: [&str; 4] = ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR"];

/// A validated Redis check.
#[derive(Debug, Clone)]
pub struct RedisCheck {
    pub url: Template,
    /// Command name and arguments; never empty.
    pub command: Vec<Template>,
    pub timeout: Duration,
    pub expect: Vec<Expectation>,
}

/// A [`RedisCheck`] with its URL parsed and its command built, ready to sample.
pub struct RedisProbe {
    check: RedisCheck,
    client: Client,
    cmd: Cmd,
    /// `host:port`, for reasons.
    server: String,
    /// Connections between samples.
    idle: Idle<MultiplexedConnection>,
}

/// What one command answered.
struct Reply {
    json: serde_json::Value,
    micros: u64,
}

impl Observe for Reply {
    fn observe(&self, subject: &Subject) -> Observed<'_> {
        match subject {
            Subject::Reply(path) => json_at(&self.json, path)
                .map(Observed::Json)
                .unwrap_or_else(|m| Observed::Missing(m.replace("JSON document", "reply"))),
            Subject::Latency => Observed::Micros(self.micros),
            _ => Observed::Missing("not observed by a redis check".into()),
        }
    }
}

/// Checks a `redis://` URL; refuses TLS and unix sockets. Used at plan time for URLs
/// without service placeholders, and when a probe is prepared.
pub fn parse_url(url: &str) -> Result<Client, String> {
    let shown = super::without_password(url);
    if url.starts_with("rediss://") {
        return Err(format!(
            "`{shown}`: TLS to Redis (rediss://) is not supported yet; use redis://"
        ));
    }
    if !url.starts_with("redis://") {
        return Err(format!("`{shown}` is not a redis:// URL"));
    }
    Client::open(url).map_err(|e| format!("`{shown}` is not a valid Redis URL: {e}"))
}

impl RedisCheck {
    pub fn prepare(&self, endpoints: &Endpoints) -> Result<RedisProbe, Failure> {
        let url = self.url.render(endpoints, None);
        let client = parse_url(&url).map_err(|m| Failure::new(FailureClass::Setup, m))?;
        let argv: Vec<String> = self
            .command
            .iter()
            .map(|a| a.render(endpoints, None))
            .collect();
        let Some((name, args)) = argv.split_first() else {
            return Err(Failure::new(FailureClass::Setup, "the command is empty"));
        };
        let mut cmd = ::redis::cmd(name);
        for a in args {
            cmd.arg(a);
        }
        let server = client.get_connection_info().addr().to_string();
        Ok(RedisProbe {
            check: self.clone(),
            client,
            cmd,
            server,
            idle: Idle::default(),
        })
    }
}

impl RedisProbe {
    pub async fn sample(&self) -> Sample {
        // A connection taken here and not put back (timeout, cancellation, a broken
        // connection) is dropped, which closes it; the next sample connects afresh.
        super::within(self.check.timeout, self.exchange(), || {
            format!("redis at {}", self.server)
        })
        .await
    }

    async fn exchange(&self) -> Sample {
        let kept = self.idle.take(|_| true);
        let mut conn = match kept {
            Some(c) => c,
            None => self.connect().await?,
        };
        // The latency is the command alone, even on the sample that opened the connection.
        let start = Instant::now();
        let reply = self.cmd.query_async::<Value>(&mut conn).await;
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        let broken = reply
            .as_ref()
            .is_err_and(|e| e.is_unrecoverable_error() || e.is_connection_dropped());
        if !broken {
            self.idle.put(conn);
        }
        let seen = Reply {
            json: to_json(reply.map_err(|e| self.command_failure(&e))?),
            micros,
        };
        for e in &self.check.expect {
            e.check(&seen)
                .map_err(|r| Failure::new(FailureClass::Expectation, r))?;
        }
        Ok(seen.micros)
    }

    async fn connect(&self) -> Result<MultiplexedConnection, Failure> {
        // The sample's own timeout bounds the connect and the reply; the library's
        // defaults (1s connect, 500ms reply) would cut it shorter.
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                let class = if rejected_login(&e) {
                    FailureClass::Setup
                } else {
                    FailureClass::Connect
                };
                Failure::new(
                    class,
                    format!("cannot connect to redis at {}: {}", self.server, reason(&e)),
                )
            })
    }

    /// An error reply is `protocol` with the server's own text, except a refused login or
    /// permission (the check's credentials need fixing: `setup`); a dropped connection is
    /// `connect`.
    fn command_failure(&self, e: &RedisError) -> Failure {
        let class = if rejected_login(e) {
            FailureClass::Setup
        } else if e.is_io_error() || e.is_connection_dropped() {
            FailureClass::Connect
        } else {
            FailureClass::Protocol
        };
        let reason = match class {
            FailureClass::Connect => format!(
                "the connection to redis at {} failed: {}",
                self.server,
                reason(e)
            ),
            _ => format!("the command failed: {}", reason(e)),
        };
        Failure::new(class, reason)
    }
}

fn rejected_login(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
}

/// A server error as Redis prints it (`WRONGTYPE Operation against ...`); anything else
/// with its causes.
fn reason(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => error_chain(e),
    }
}

/// A reply as JSON: strings (simple, bulk, verbatim, `OK`) are strings, integers and
/// doubles numbers, nil null, arrays, sets and pushes arrays, maps objects.
fn to_json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    let text = |b: &[u8]| J::String(String::from_utf8_lossy(b).into_owned());
    match v {
        Value::Nil => J::Null,
        Value::Int(i) => J::from(i),
        Value::BulkString(b) => text(&b),
        Value::SimpleString(s) => J::String(s),
        Value::Okay => J::String("OK".into()),
        Value::Double(d) => serde_json::Number::from_f64(d).map_or(J::Null, J::Number),
        Value::Boolean(b) => J::Bool(b),
        Value::VerbatimString { text, .. } => J::String(text),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            J::Array(items.into_iter().map(to_json).collect())
        }
        Value::Map(pairs) => J::Object(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        J::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Attribute { data, .. } => to_json(*data),
        Value::BigNumber(digits) => text(&digits),
        Value::ServerError(e) => J::String(e.to_string()),
        // The enum is non-exhaustive; a future kind of reply is shown, not dropped.
        other => J::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests;
