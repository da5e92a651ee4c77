//! The `redis` kind: one command per sample on a connection each concurrent sampler
//! keeps, so `concurrency` connections carry the samples and the latency is the
//! command's round trip. The reply is tested as JSON (`reply == "PONG"`, `reply[0]`).
//! Plain TCP only: TLS (`rediss://`) is not supported yet.
//!
//! With `pubsub`, a sample publishes one message (`golive:<probe>:<n>`) on a channel and
//! succeeds once golive's own subscriber, one connection per item, has received that
//! very message: delivery is proven, not assumed from PUBLISH's count, and the latency
//! runs from publishing to delivery.

use super::idle::Idle;
use crate::expect::{json_at, Observe, Observed};
use crate::expect::{Expectation, Subject};
use crate::tally::{error_chain, Failure, FailureClass, Sample};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, Cmd, ErrorKind, RedisError, Value};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

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
    /// Publish and listen instead of sending `command`.
    pub pubsub: Option<PubSub>,
}

/// The channel a pub/sub check publishes on; `None`: one of the probe's own.
#[derive(Debug, Clone)]
pub struct PubSub {
    pub channel: Option<Template>,
}

/// Samples waiting for their message, by sequence number.
type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>>;

/// golive's subscriber on the channel: a task reading deliveries, ended with the probe.
struct Subscriber {
    waiting: Waiting,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A pub/sub probe's own state.
struct Channel {
    name: String,
    /// Prefix of this probe's messages: `golive:<random>:`.
    prefix: String,
    seq: AtomicU64,
    /// Made on the first sample, made again if its connection died.
    subscriber: tokio::sync::Mutex<Option<Arc<Subscriber>>>,
}

/// Takes a sample's entry out of the waiting map however the sample ends.
struct Unwait(Waiting, u64);

impl Drop for Unwait {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
    }
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
    channel: Option<Channel>,
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
        let channel = self.pubsub.as_ref().map(|p| {
            let own = format!("{:016x}", fastrand::u64(..));
            Channel {
                name: match &p.channel {
                    Some(t) => t.render(endpoints, None),
                    None => format!("golive:pubsub:{own}"),
                },
                prefix: format!("golive:{own}:"),
                seq: AtomicU64::new(0),
                subscriber: tokio::sync::Mutex::new(None),
            }
        });
        Ok(RedisProbe {
            check: self.clone(),
            client,
            cmd,
            server,
            idle: Idle::default(),
            channel,
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
        let mut delivered = None;
        let mut cmd = &self.cmd;
        let publish;
        let mut unwait = None;
        if let Some(channel) = &self.channel {
            let subscriber = self.subscriber(channel).await?;
            let seq = channel.seq.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            subscriber
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(seq, tx);
            unwait = Some(Unwait(subscriber.waiting.clone(), seq));
            let mut p = ::redis::cmd("PUBLISH");
            p.arg(&channel.name).arg(format!("{}{seq}", channel.prefix));
            publish = p;
            cmd = &publish;
            delivered = Some(rx);
        }
        // The latency is the command alone, even on the sample that opened the connection;
        // for pub/sub, until the message is delivered.
        let start = Instant::now();
        let reply = cmd.query_async::<Value>(&mut conn).await;
        if let (Ok(_), Some(rx)) = (&reply, delivered) {
            rx.await.map_err(|_| {
                Failure::new(
                    FailureClass::Connect,
                    format!(
                        "golive's subscriber at {} lost its connection before the message arrived",
                        self.server
                    ),
                )
            })?;
        }
        drop(unwait);
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

    /// The channel's subscriber, subscribed before any message is published; made again
    /// when the previous one's connection has ended.
    async fn subscriber(&self, channel: &Channel) -> Result<Arc<Subscriber>, Failure> {
        let mut slot = channel.subscriber.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.task.is_finished()) {
            return Ok(s.clone());
        }
        let fail = |e: RedisError| {
            Failure::new(
                FailureClass::Connect,
                format!(
                    "cannot subscribe to `{}` on redis at {}: {}",
                    channel.name,
                    self.server,
                    reason(&e)
                ),
            )
        };
        let mut pubsub = self.client.get_async_pubsub().await.map_err(fail)?;
        pubsub.subscribe(&channel.name).await.map_err(fail)?;
        let (sink, mut stream) = pubsub.split();
        let waiting: Waiting = Arc::default();
        let prefix = channel.prefix.clone();
        let task = tokio::spawn({
            let waiting = waiting.clone();
            async move {
                // Holding the sink keeps the subscription's connection open.
                let _sink = sink;
                while let Some(msg) = stream.next().await {
                    let seq = std::str::from_utf8(msg.get_payload_bytes())
                        .ok()
                        .and_then(|p| p.strip_prefix(prefix.as_str()))
                        .and_then(|n| n.parse::<u64>().ok());
                    // Others' messages on a shared channel are not this probe's.
                    if let Some(seq) = seq {
                        let tx = waiting
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&seq);
                        if let Some(tx) = tx {
                            let _ = tx.send(());
                        }
                    }
                }
            }
        });
        let s = Arc::new(Subscriber { waiting, task });
        *slot = Some(s.clone());
        Ok(s)
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
pub fn reason(e: &RedisError) -> String {
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
