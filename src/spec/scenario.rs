//! Load scenarios as written in `scenarios/*.yaml`: named, weighted requests against a
//! target, an executor (open model by arrival rate, closed model by users), thresholds
//! over the whole run, and rollback rules evaluated live over windows.

use super::Service;
use crate::units::{Duration, Rate};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A load scenario.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// A `recovery_time` threshold is judged on drills: the scenario alone needs one (as
// `golive validate` says of the file; a checklist's load item may add its own).
#[schemars(extend(
    "if" = {
        "required": ["thresholds"],
        "properties": { "thresholds": { "contains": { "pattern": "^\\s*recovery_time" } } }
    },
    "then" = { "required": ["faults"], "properties": { "faults": { "minItems": 1 } } }
))]
pub struct Scenario {
    /// Name in reports and metrics. Default: the file name without `.yaml`.
    #[serde(default)]
    pub name: Option<String>,
    /// Services to bring up when the scenario runs alone (`golive load`). From a
    /// checklist, the checklist's services are used and these are ignored.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Base URL that request paths are appended to, e.g. `{services.app.url}`.
    #[schemars(extend("examples" = ["{services.app.url}"]))]
    pub target: String,
    /// The requests, chosen at random in proportion to their weights.
    #[schemars(length(min = 1), extend("contains" = { "not": { "required": ["weight"], "properties": { "weight": { "const": 0 } } } }))]
    pub requests: Vec<RequestSpec>,
    /// How load is generated.
    pub executor: ExecutorSpec,
    /// Leading time whose requests are sent but not judged (duration). Default: 0s.
    #[serde(default)]
    #[schemars(extend("default" = "0s", "examples" = ["10s"]))]
    pub warm_up: Option<Duration>,
    /// Per-request timeout (duration). Default: 5s.
    #[serde(default)]
    #[schemars(extend("default" = "5s"))]
    pub timeout: Option<Duration>,
    /// TLS client settings for an https (or wss) target: a private CA to trust, or no
    /// verification for a self-signed test target.
    #[serde(default)]
    pub tls: Option<super::check::TlsClientSpec>,
    /// Claims over the run after warm-up: `p95 < 250ms`, `error_rate < 1%`,
    /// `rps >= 100/s`, or per request: `checkout.p99 < 500ms`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::criteria", extend("examples" = [["p95 < 250ms", "error_rate < 1%", "rps >= 100/s"], ["checkout.p99 < 500ms"]]))]
    pub thresholds: Vec<String>,
    /// Rules that stop the run and give ROLLBACK when their condition holds long enough.
    #[serde(default)]
    pub rollback: Vec<RuleSpec>,
    /// Fault drills: at a time into the load, break a service on purpose. Judge recovery
    /// with the threshold `recovery_time < 10s` (from the fault until the service's
    /// readiness probe passes again).
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

/// One named request.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Name in thresholds (`NAME.p95`), reports and metrics.
    pub name: String,
    /// Relative share of the traffic. Default: 1.
    #[serde(default)]
    #[schemars(extend("default" = 1))]
    pub weight: Option<u32>,
    /// http (default): one request and its response; websocket: a send/expect round trip
    /// on a connection each worker keeps open.
    #[serde(default)]
    #[schemars(extend("default" = "http"))]
    pub protocol: Option<Protocol>,
    /// GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[serde(default)]
    #[schemars(extend("default" = "GET", "pattern" = r"^(?:[Gg][Ee][Tt]|[Hh][Ee][Aa][Dd]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Pp][Aa][Tt][Cc][Hh]|[Dd][Ee][Ll][Ee][Tt][Ee]|[Oo][Pp][Tt][Ii][Oo][Nn][Ss])$", "examples" = ["GET", "POST", "HEAD"]))]
    pub method: Option<String>,
    /// WebSocket: the text sent; the round trip ends at the first message meeting `expect`
    /// (a one-step conversation; use `steps` for more).
    #[serde(default)]
    pub send: Option<String>,
    /// WebSocket: steps run once on each new connection, before its first round trip (a
    /// protocol handshake, a subscribe); their time is not a round trip's.
    #[serde(default)]
    pub open: Vec<crate::spec::StepSpec>,
    /// WebSocket: the steps of one round trip, run in order on the kept connection; the
    /// request's latency is theirs together. Instead of `send` and `expect`.
    #[serde(default)]
    pub steps: Vec<crate::spec::StepSpec>,
    /// WebSocket: `message` (default) or `record-separator` (SignalR's JSON protocol).
    #[serde(default)]
    #[schemars(extend("default" = "message"))]
    pub framing: Option<crate::spec::FramingSpec>,
    /// Path appended to the target, e.g. `/api/portfolio`.
    #[schemars(extend("examples" = ["/api/portfolio"]))]
    pub path: String,
    /// Request headers (WebSocket: on the upgrade request).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body, sent as is.
    #[serde(default)]
    pub body: Option<String>,
    /// Per-response expectations, as in checklists. Default: `status < 400`.
    #[serde(default)]
    #[schemars(schema_with = "super::schema::request_expectations", extend("examples" = [["status == 200"]]))]
    pub expect: Vec<String>,
}

/// How a request talks to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// One request and its response.
    Http,
    /// A send/expect round trip on a connection each worker keeps open.
    Websocket,
}

/// The load profile.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExecutorSpec {
    /// Open model: requests arrive at a fixed rate whatever the responses do.
    ConstantRate(ConstantRateSpec),
    /// Open model with stages of linearly changing rate.
    RampingRate(RampingRateSpec),
    /// Closed model: a fixed number of users, each waiting for its response.
    ConstantUsers(ConstantUsersSpec),
    /// Closed model with stages of linearly changing user counts.
    RampingUsers(RampingUsersSpec),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstantRateSpec {
    /// Arrival rate, e.g. `200/s`.
    #[schemars(extend("examples" = ["200/s"]))]
    pub rate: Rate,
    /// How long (duration), warm-up included.
    pub duration: Duration,
    /// Most requests outstanding (queued for a connection or in flight); an arrival
    /// beyond it is dropped and counted. Default: 1000.
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000), extend("default" = 1000))]
    pub max_in_flight: Option<u32>,
    /// Keep-alive connections that send the arrivals; an arrival waits (and is counted
    /// late) while all are busy, and its latency still runs from its intended time. Default: 50.
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000), extend("default" = 50))]
    pub connections: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RampingRateSpec {
    /// Rate at the start of the first stage. Default: the first stage's target.
    #[serde(default)]
    pub start_rate: Option<Rate>,
    /// Each stage moves the rate linearly to its target over its duration.
    pub stages: Vec<RateStage>,
    /// Most requests outstanding (queued or in flight). Default: 1000.
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000), extend("default" = 1000))]
    pub max_in_flight: Option<u32>,
    /// Keep-alive connections that send the arrivals. Default: 50.
    #[serde(default)]
    #[schemars(range(min = 1, max = 10000), extend("default" = 50))]
    pub connections: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateStage {
    #[schemars(schema_with = "super::schema::stage_duration")]
    pub duration: Duration,
    pub target: Rate,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstantUsersSpec {
    /// Concurrent users.
    #[schemars(range(min = 1, max = 10000))]
    pub users: u32,
    /// How long (duration), warm-up included.
    pub duration: Duration,
    /// Pause of each user between its response and its next request. Default: 0s.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub think_time: Option<Duration>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RampingUsersSpec {
    /// Users at the start of the first stage. Default: 0.
    #[serde(default)]
    #[schemars(range(max = 10000), extend("default" = 0))]
    pub start_users: Option<u32>,
    /// Each stage moves the user count linearly to its target over its duration.
    pub stages: Vec<UserStage>,
    /// Pause of each user between its response and its next request. Default: 0s.
    #[serde(default)]
    #[schemars(extend("default" = "0s"))]
    pub think_time: Option<Duration>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserStage {
    #[schemars(schema_with = "super::schema::stage_duration")]
    pub duration: Duration,
    pub target: u32,
}

/// A rollback rule: `when` holds in every window for `for` → the rule fires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Name in reports and metrics. Default: the `when` text.
    #[serde(default)]
    pub name: Option<String>,
    /// The breach condition, e.g. `p95 > 500ms`, `error_rate > 5%`, `checkout.p99 > 1s`.
    #[schemars(schema_with = "super::schema::rule_condition", extend("examples" = ["p95 > 500ms", "error_rate > 5%", "checkout.p99 > 1s"]))]
    pub when: String,
    /// How long the condition must hold, in consecutive windows (duration).
    #[serde(rename = "for")]
    pub for_: Duration,
    /// Window length (duration). Default: 10s.
    #[serde(default)]
    #[schemars(extend("default" = "10s"))]
    pub window: Option<Duration>,
    /// Fewest samples a window needs to be judged. Default: 20.
    #[serde(default)]
    #[schemars(extend("default" = 20))]
    pub min_samples: Option<u64>,
    /// What a window with fewer samples means: ignore (default: it neither breaches nor
    /// clears), breach, or clear.
    #[serde(default)]
    #[schemars(extend("default" = "ignore"))]
    pub no_data: Option<NoData>,
    /// How long the condition must stay false before a firing rule clears (duration).
    /// Default: the `for` duration.
    #[serde(default)]
    pub clear_for: Option<Duration>,
    /// Record the rule but never stop the run for it. Default: false.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub observe_only: Option<bool>,
}

/// What a window without enough data means for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    /// Neither breach nor clear: the window is skipped and the streak kept.
    Ignore,
    /// Counts as a breach (silence is an outage).
    Breach,
    /// Counts as healthy.
    Clear,
}

/// The JSON Schema of scenarios, for editors.
pub fn scenario_schema() -> serde_json::Value {
    super::schema::publish(schemars::schema_for!(Scenario), super::SCENARIO_SCHEMA_PATH)
}

/// One fault drill.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When, measured from the start of the load (warm-up included), e.g. `10s`.
    #[schemars(extend("examples" = ["10s"]))]
    pub at: Duration,
    /// The service to break, by name; golive must run it (container or process).
    pub service: String,
    /// What to do to it.
    pub action: FaultAction,
    /// How long the fault lasts before golive undoes it: for `kill` and `stop`, how long
    /// the service stays down before golive starts it again (default 0s, at once); for
    /// `pause`, how long it stays frozen (default 5s); for `inject`, how long the
    /// injected faults stay (default: until the end of the run).
    #[serde(default, rename = "for")]
    pub lasts: Option<Duration>,
    /// For `inject`: the reference system's faults to set, e.g. `{latency: 300ms,
    /// errors: 30%}` (keys: latency, jitter, errors, stall, leak).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// What a fault drill does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// SIGKILL, like a crash or the OOM killer; golive starts it again after `for`.
    Kill,
    /// A graceful stop (SIGTERM, then SIGKILL after 5 s); started again after `for`.
    Stop,
    /// Freeze it (cgroup freezer for containers, SIGSTOP for processes) for `for`.
    Pause,
    /// Stop and start it again at once.
    Restart,
    /// Change the reference system's injected latency and errors (POST /admin/faults).
    Inject,
}
