//! The automated check kinds as written in YAML (`check: { kind: http, ... }`). Each
//! kind is one struct; `plan` validates it into the runnable form in `check/`.

use crate::units::{ByteSize, Duration};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One probe, run `samples` times. Templates such as `{services.app.url}` and
/// `{env.TOKEN}` may appear in URLs, addresses, headers, bodies, SQL queries and arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckSpec {
    Http(HttpSpec),
    Tcp(TcpSpec),
    #[serde(rename = "websocket")]
    WebSocket(WebSocketSpec),
    Tls(TlsSpec),
    Command(CommandSpec),
    Postgres(PostgresSpec),
    Redis(RedisSpec),
    /// An instant PromQL query against an existing Prometheus, judged like Argo Rollouts'
    /// analysis.
    Prometheus(PrometheusSpec),
    /// Runs a load scenario; the item's criteria are added to its thresholds.
    Load(LoadSpec),
    /// What a service golive runs used so far: `memory < 200MB`, `memory_growth < 50MB`,
    /// `cpu < 25%`, `restarts == 0` (the default) in the item's criteria.
    Resources(ResourcesSpec),
}

/// Resource criteria on one service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesSpec {
    /// The service, by name.
    pub service: String,
    /// Judge only the readings taken while an earlier item ran, by its id: a load item's
    /// after its warm-up (`memory_slope < 1MB/m` under load, the warm-up ramp left out),
    /// a check item's while it sampled. Default: every reading since the service started.
    #[serde(default)]
    #[schemars(extend("examples" = ["fifty-users"]))]
    pub during: Option<String>,
}

/// A load scenario run as a checklist item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Scenario file, relative to the checklist's folder, e.g.
    /// `../scenarios/portfolio-load.yaml`, or the scenario itself written here (a map with
    /// `name`, `target`, `requests`, `executor`, ...; its services are the checklist's).
    pub scenario: ScenarioRef,
    /// Fault drills this checklist adds to the scenario's own (same form as a scenario's
    /// `faults`); judge them with `recovery_time < 10s` in the item's criteria.
    #[serde(default)]
    pub faults: Vec<super::FaultSpec>,
}

/// An HTTP request; each response is checked against `expect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// Absolute http:// or https:// URL.
    #[schemars(extend("pattern" = r"^(\{|https?://)", "examples" = ["{services.app.url}/health", "https://staging.example.com/health"]))]
    pub url: String,
    /// GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[serde(default)]
    #[schemars(extend("default" = "GET", "pattern" = r"^(?:[Gg][Ee][Tt]|[Hh][Ee][Aa][Dd]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Pp][Aa][Tt][Cc][Hh]|[Dd][Ee][Ll][Ee][Tt][Ee]|[Oo][Pp][Tt][Ii][Oo][Nn][Ss])$", "examples" = ["GET", "POST", "HEAD"]))]
    pub method: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, sent as is.
    #[serde(default)]
    pub body: Option<String>,
    /// Per-request timeout (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s", "examples" = ["500ms"]))]
    pub timeout: Option<Duration>,
    /// TLS client settings for https URLs.
    #[serde(default)]
    pub tls: Option<TlsClientSpec>,
    /// How many redirects to follow. Default: 0 (a 3xx is the answer).
    #[serde(default)]
    #[schemars(extend("default" = 0), range(max = 20))]
    pub redirects: Option<u32>,
    /// Largest response body read (byte size); a larger one fails the sample. Default: 1MiB.
    #[serde(default)]
    #[schemars(extend("default" = "1MiB", "examples" = ["10MB"]))]
    pub max_body: Option<ByteSize>,
    /// Per-response expectations, e.g. `status == 200`, `body.status == "UP"`,
    /// `header.content-type contains "json"`. Default: `status < 400`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::http_expectations", extend("examples" = [["status == 200"], ["status == 200", "body.status == \"UP\""], ["header.content-type contains \"json\""]]))]
    pub expect: Vec<String>,
}

/// TLS settings of a client connection.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsClientSpec {
    /// Verify the server's certificate chain and name. Default: true.
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub verify: Option<bool>,
    /// PEM file of extra trusted CA certificates, relative to the checklist's folder.
    #[serde(default)]
    pub ca: Option<String>,
}

/// A TCP connect; the sample's latency is the connect time.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    /// `host:port`, e.g. `{services.db.host}:5432`.
    #[schemars(extend("examples" = ["{services.db.host}:5432", "127.0.0.1:6379"]))]
    pub address: String,
    /// Connect timeout (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// Per-sample expectations (`latency < 50ms`).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::tcp_expectations", extend("examples" = [["latency < 50ms"]]))]
    pub expect: Vec<String>,
}

/// A WebSocket connection and, optionally, a conversation on it: HTTP requests before the
/// upgrade (`before`, e.g. SignalR's negotiate), headers on the upgrade, and `steps`
/// that send, wait for a message and capture values for later steps. The sample's
/// latency is what `measure` names. `send` and `expect` alone are a one-step
/// conversation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSpec {
    /// ws:// or wss:// URL; may read values captured by `before` (`?id={captured.token}`).
    #[schemars(extend("pattern" = r"^(\{|wss?://)", "examples" = ["ws://{services.app.host}:{services.app.port}/ws"]))]
    pub url: String,
    /// Headers on the upgrade request, e.g. `Authorization: Bearer {env.TOKEN}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// HTTP requests made in order before the WebSocket opens, each judged by its own
    /// expectations, their JSON answers captured for the URL, headers and steps.
    #[serde(default)]
    pub before: Vec<BeforeSpec>,
    /// `message` (default): one message per frame. `record-separator`: each text sent
    /// ends with 0x1E and each frame received is split at it (SignalR's JSON protocol).
    #[serde(default)]
    #[schemars(extend("default" = "message"))]
    pub framing: Option<FramingSpec>,
    /// Text message sent after connecting: a one-step conversation with `expect`.
    #[serde(default)]
    pub send: Option<String>,
    /// Expectations on a received message, e.g. `message == "pong"` or
    /// `message.type == "pong"`. Messages that do not match are skipped until the timeout.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::websocket_expectations", extend("examples" = [["message == \"pong\""], ["message.type == \"pong\""]]))]
    pub expect: Vec<String>,
    /// The conversation's steps, in order (instead of `send` and `expect`).
    #[serde(default)]
    pub steps: Vec<StepSpec>,
    /// The sample's latency: `connect` (TCP, TLS and the upgrade), a step's name, or
    /// `conversation` (from the first request to the last step's message). Default: the
    /// last step, or `connect` when there is none.
    #[serde(default)]
    #[schemars(extend("examples" = ["connect", "handshake", "conversation"]))]
    pub measure: Option<String>,
    /// Timeout for connecting, and each step's unless it sets its own (duration).
    /// Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// TLS client settings for wss URLs.
    #[serde(default)]
    pub tls: Option<TlsClientSpec>,
}

/// How messages map to WebSocket frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FramingSpec {
    /// One message per frame.
    Message,
    /// Messages end with the 0x1E record separator; a frame may carry several.
    RecordSeparator,
}

/// One step of a WebSocket conversation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Name in `measure` and in failure reasons. Default: `step-N` (from 1).
    #[serde(default)]
    #[schemars(extend("examples" = ["handshake", "ping", "quote"]))]
    pub name: Option<String>,
    /// Text sent; may read `{captured.NAME}`. Without it the step waits for a message
    /// the server pushes.
    #[serde(default)]
    pub send: Option<String>,
    /// Expectations on the awaited message (`message.type == 3`, `latency < 50ms` for
    /// this step's time). Without expectations or captures, the step only sends.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::websocket_expectations", extend("examples" = [["message == \"{}\""], ["message.type == 3"]]))]
    pub expect: Vec<String>,
    /// Values taken from the awaited message for later steps: `NAME: message.<path>`.
    #[serde(default)]
    #[schemars(extend("examples" = [{"order": "message.result.id"}]))]
    pub capture: BTreeMap<String, String>,
    /// How long the step may wait for its message (duration). Default: the check's (or
    /// the load request's) timeout.
    #[serde(default)]
    pub timeout: Option<Duration>,
}

/// An HTTP request made before the WebSocket opens.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BeforeSpec {
    /// The request, as an `http` check writes it (default expectation `status < 400`).
    pub request: HttpSpec,
    /// Values taken from its JSON body: `NAME: body.<path>`, e.g.
    /// `token: body.connectionToken`.
    #[serde(default)]
    #[schemars(extend("examples" = [{"token": "body.connectionToken"}]))]
    pub capture: BTreeMap<String, String>,
}

/// A TLS handshake that checks the certificate chain, the host name and the days left.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// `host:port`, e.g. `example.com:443`.
    #[schemars(extend("examples" = ["example.com:443"]))]
    pub address: String,
    /// Name the certificate must match. Default: the host of `address`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM file of extra trusted CA certificates, relative to the checklist's folder.
    #[serde(default)]
    pub ca: Option<String>,
    /// Handshake timeout (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// Expectations, e.g. `days_to_expiry > 14`. The chain and name are always verified.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::tls_expectations", extend("examples" = [["days_to_expiry > 14"]]))]
    pub expect: Vec<String>,
}

/// A local command run directly (argv, never through a shell).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program and arguments.
    #[schemars(length(min = 1), extend("examples" = [["./scripts/migrate.sh", "--check"]]))]
    pub run: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the checklist's folder. Default: that folder.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Time limit; the process is killed past it (duration). Default: 30s.
    #[serde(default)]
    #[schemars(extend("default" = "30s"))]
    pub timeout: Option<Duration>,
    /// Expectations, e.g. `exit_code == 0`, `stdout contains "ok"`. Default: `exit_code == 0`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::command_expectations", extend("examples" = [["exit_code == 0", "stdout contains \"ok\""]]))]
    pub expect: Vec<String>,
}

/// A SQL query on PostgreSQL, over plain TCP: TLS to Postgres is not supported yet.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// `postgres://user[:password]@host[:port]/database[?options]`, e.g.
    /// `postgres://postgres@{services.db.host}:{services.db.port}/postgres`. Port default:
    /// 5432. `sslmode=require` is refused (no TLS yet); `key=value` strings are not accepted.
    #[schemars(extend("pattern" = r"^(\{|postgres://|postgresql://)", "examples" = ["postgres://postgres@{services.db.host}:{services.db.port}/postgres"]))]
    pub url: String,
    /// SQL sent as one simple query (text protocol, one round trip). Default: `SELECT 1`.
    #[serde(default)]
    #[schemars(extend("default" = "SELECT 1", "pattern" = r"\S"))]
    pub query: Option<String>,
    /// Time limit of one sample, the connect included when the sample makes one
    /// (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// Keep a connection per concurrent sampler and measure the query round trip alone
    /// (true), or connect for every sample and measure connect plus query (false).
    /// Default: true.
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub reuse_connection: Option<bool>,
    /// Per-sample expectations, e.g. `rows >= 1`, `value == 0` (first column of the first
    /// row), `latency < 10ms`. Default: none (the query succeeds).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::postgres_expectations", extend("examples" = [["rows >= 1"], ["value == 0"]]))]
    pub expect: Vec<String>,
}

/// One Redis command per sample, on a connection kept per concurrent sampler; the
/// latency is the command's round trip. Plain TCP: TLS (`rediss://`) is not supported yet.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// `redis://[user:password@]host[:port][/db]`, e.g.
    /// `redis://{services.cache.host}:{services.cache.port}`. Port default: 6379.
    #[schemars(extend("pattern" = r"^(\{|redis://)", "examples" = ["redis://{services.cache.host}:{services.cache.port}"]))]
    pub url: String,
    /// The command and its arguments, sent as they are, e.g. `["SET", "k", "v"]`.
    /// Default: `["PING"]`.
    #[serde(default)]
    #[schemars(length(min = 1), extend("default" = ["PING"], "examples" = [["GET", "feature:flags"]]))]
    pub command: Option<Vec<String>>,
    /// Time limit of one sample, the connect included when the sample makes one
    /// (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// Per-sample expectations on the reply, e.g. `reply == "PONG"`, `reply == 1`,
    /// `reply == null`, `reply[0] == "a"`, `latency < 5ms`. Default: none (no error reply).
    /// With `pubsub`, `reply` is PUBLISH's: how many subscribers received the message,
    /// golive's own included (`reply >= 2`: someone else listens too).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::redis_expectations", extend("examples" = [["reply == \"PONG\""]]))]
    pub expect: Vec<String>,
    /// Publish/subscribe instead of a command: each sample publishes one message on
    /// `channel` and succeeds when golive's own subscriber has received it; the latency
    /// is from publishing to delivery, and `rps` of the item is messages delivered per
    /// second (`samples: 10000`, `concurrency: 20`, `criteria: [rps >= 1000/s]`).
    #[serde(default)]
    pub pubsub: Option<PubSubSpec>,
}

/// A Redis channel to publish on and listen to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PubSubSpec {
    /// The channel. Default: one of the run's own (`golive:pubsub:<random>`), which no
    /// one else hears; name the system's channel to measure it with its subscribers
    /// (they receive the probe messages `golive:<probe>:<n>`).
    #[serde(default)]
    #[schemars(extend("examples" = ["cos:events"]))]
    pub channel: Option<String>,
}

/// An instant PromQL query against an existing Prometheus (`GET /api/v1/query`), once
/// per sample. `value` is each returned series' value (every series must meet the
/// expectations), `series` how many came back; a query that returns nothing is no data,
/// and the sample fails: it never passes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSpec {
    /// The Prometheus server's base URL, e.g. `http://127.0.0.1:9090` (a path prefix is
    /// kept: `https://host/prometheus`).
    #[schemars(extend("pattern" = r"^(\{|https?://)", "examples" = ["http://127.0.0.1:9090"]))]
    pub url: String,
    /// PromQL giving an instant vector or a scalar, e.g.
    /// `sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`.
    #[schemars(length(min = 1))]
    pub query: String,
    /// Request headers (`authorization: "Bearer {env.PROM_TOKEN}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Time limit of one query (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// Per-sample expectations: `value < 0.01`, `value == 1`, `series >= 3`,
    /// `latency < 1s`. Default: none (the query answers with data).
    #[serde(default)]
    #[schemars(schema_with = "super::schema::prometheus_expectations", extend("examples" = [["value < 0.01"]]))]
    pub expect: Vec<String>,
}

/// A load item's scenario: a file, or written inline.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum ScenarioRef {
    /// Scenario file, relative to the checklist's folder.
    #[schemars(extend("examples" = ["../scenarios/portfolio-load.yaml"]))]
    Path(String),
    /// The scenario written in the checklist.
    Inline(Box<super::Scenario>),
}

impl<'de> Deserialize<'de> for ScenarioRef {
    /// A string is a path; a map is a scenario, read with the scenario's own rules (so
    /// its errors name the inline field, not "no variant matched").
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ScenarioRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scenario file's path, or a scenario written here as a map")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScenarioRef, E> {
                Ok(ScenarioRef::Path(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<ScenarioRef, A::Error> {
                super::Scenario::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|s| ScenarioRef::Inline(Box::new(s)))
            }
        }
        d.deserialize_any(Visit)
    }
}
