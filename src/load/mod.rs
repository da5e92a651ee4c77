//! Load: many requests from one hot loop, in the open model (arrivals on a schedule,
//! latency measured from each request's intended send time, so a stalled system delays
//! the clock of every request queued behind it) or the closed model (users that wait
//! for their responses). Rollback rules watch consecutive windows while the load runs
//! and stop it when one fires.

mod client;
mod engine;
mod http1;
mod record;
pub mod result;
pub mod rulebook;
pub mod schedule;
pub mod shard;
mod timer;
mod window;

pub use crate::rules::{Rule, RuleMetric, RuleState};
pub use client::Conversation;
pub use engine::{run, LoadEvent, LoadOutcome};
pub use result::LoadResult;

use crate::criteria::Criterion;
use crate::expect::Expectation;
use crate::net::TlsClient;
use crate::services::ServicePlan;
use crate::template::Template;
use crate::units::Duration;
use schedule::Stage;
use std::path::PathBuf;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub name: String,
    pub file: PathBuf,
    /// Services to bring up when the scenario runs alone.
    pub services: Vec<ServicePlan>,
    pub target: Template,
    pub tls: TlsClient,
    pub requests: Vec<RequestPlan>,
    pub profile: Profile,
    pub warm_up: Duration,
    pub timeout: Duration,
    pub thresholds: Vec<Threshold>,
    pub rules: Vec<Rule>,
    /// Fault drills run during the load.
    pub faults: Vec<crate::services::drill::Fault>,
    /// `recovery_time < 10s`: judged on the drills' recovery times.
    pub recovery: Vec<RecoveryThreshold>,
    /// The values the scenario read from `{env.NAME}`, for the checklist that names it.
    pub secrets: crate::redact::Redactor,
    /// Set when this process runs one shard of the scenario (`golive load --shard`).
    pub shard: Option<shard::ShardRun>,
}

/// A limit on how long a drilled service takes to pass its readiness probe again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryThreshold {
    /// As written, e.g. `recovery_time < 10s`.
    pub text: String,
    pub op: crate::expr::Op,
    pub limit: Duration,
}

/// One named request of a scenario.
#[derive(Debug, Clone)]
pub struct RequestPlan {
    pub name: String,
    pub weight: u32,
    /// `Some`: a WebSocket conversation on the worker's connection to `path` (its
    /// opening steps once per connection, its steps per round trip, `headers` on the
    /// upgrade); `None`: an HTTP request.
    pub websocket: Option<client::Conversation>,
    pub method: http::Method,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
    pub expect: Vec<Expectation>,
}

/// The load profile: the single value the one worker loop is driven by.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// Arrival-rate stages (per second), the bound on outstanding requests (queued or in
    /// flight), and the keep-alive connections that send them.
    Open {
        stages: Vec<Stage>,
        max_in_flight: u32,
        connections: u32,
    },
    /// User-count stages and each user's pause between requests.
    Closed {
        stages: Vec<Stage>,
        think_time: Duration,
    },
}

impl Profile {
    /// Planned length of the load.
    pub fn duration(&self) -> Duration {
        let stages = match self {
            Profile::Open { stages, .. } | Profile::Closed { stages, .. } => stages,
        };
        Duration::from_std(std::time::Duration::from_secs_f64(
            stages.iter().map(|s| s.secs).sum(),
        ))
    }

    pub fn model(&self) -> &'static str {
        match self {
            Profile::Open { .. } => "open",
            Profile::Closed { .. } => "closed",
        }
    }
}

/// A claim over the whole run (after warm-up), for all requests or one.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Index into `requests`; `None` for all requests.
    pub request: Option<usize>,
    pub criterion: Criterion,
}

impl LoadPlan {
    /// This plan as shard `run.shard`: the connections and the in-flight bound of the
    /// open model are split among the shards (the arrivals and users are split as the
    /// engine sends them, see [`shard`]).
    pub fn into_shard(mut self, run: shard::ShardRun) -> LoadPlan {
        if let Profile::Open {
            max_in_flight,
            connections,
            ..
        } = &mut self.profile
        {
            *max_in_flight = run.shard.share(*max_in_flight);
            *connections = run.shard.share(*connections);
        }
        self.shard = Some(run);
        self
    }

    /// The shortest rule window, which is also the timeline's window (10s without rules).
    pub fn base_window(&self) -> Duration {
        self.rules
            .iter()
            .map(|r| r.window)
            .min()
            .unwrap_or(Duration::from_secs(10))
    }
}
