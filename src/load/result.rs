//! What a load run reports: rates, counts, latency and service-time percentiles per
//! request and overall (with their histograms serialised so runs merge exactly), the
//! window-by-window timeline and each rule's timeline.

use super::record::ScopeStats;
use crate::rules::{RuleState, RuleWindow};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadResult {
    pub scenario: String,
    /// "open" (arrival rate) or "closed" (users).
    pub model: String,
    pub planned_s: f64,
    pub duration_s: f64,
    pub warm_up_s: f64,
    /// Mean arrival rate the profile asked for (open model); null in the closed model.
    pub target_rps: Option<f64>,
    /// Completed requests per second after warm-up.
    pub achieved_rps: f64,
    /// Requests judged (completed after warm-up).
    pub requests: u64,
    pub errors: u64,
    pub warm_up_requests: u64,
    /// Arrivals not sent because `max_in_flight` requests were already in flight.
    pub dropped: u64,
    /// Requests sent more than 1 ms after their intended time.
    pub late: u64,
    /// Requests sent once more on a new connection because the peer had closed the
    /// kept-alive one (a restart, an idle timeout) before answering: counted here, an
    /// error only if the new connection failed too. Absent in records older than it.
    #[serde(default)]
    pub reconnects: u64,
    pub max_in_flight: Option<u32>,
    /// Actual minus intended send time (open model).
    pub send_lag_ms: Option<Percentiles>,
    /// Set when the run could not produce its intended load; its latency claims are then
    /// INCONCLUSIVE.
    pub shortfall: Option<String>,
    pub overall: ScopeResult,
    pub by_request: Vec<ScopeResult>,
    pub timeline: Vec<WindowSummary>,
    pub rules: Vec<RuleResult>,
    pub rollback: Option<RollbackEvent>,
    /// True when the load stopped before its planned end (rollback or interruption).
    pub stopped_early: bool,
    /// Set when this is one shard's run of the scenario (`golive load --shard`): its
    /// rules are judged by `golive merge` on the shards' windows added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeResult {
    /// A request name, or `*` for all requests.
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub errors_by_class: BTreeMap<String, u64>,
    /// Failed requests by the HTTP status they answered; failures without an answer
    /// (timeouts, refused connections) are not here. Absent in records older than it.
    #[serde(default)]
    pub errors_by_status: BTreeMap<u16, u64>,
    /// The first distinct failure reasons, with counts.
    pub error_reasons: Vec<(String, String, u64)>,
    /// From the intended send time (what a user waiting on the schedule saw).
    pub latency_ms: Option<Percentiles>,
    /// From the actual send.
    pub service_time_ms: Option<Percentiles>,
    /// HdrHistogram V2 compressed, base64, µs.
    pub latency_histogram: Option<String>,
    pub service_time_histogram: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Percentiles {
    pub n: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    /// Milliseconds (3 decimals) from a µs histogram; `None` when empty.
    pub fn of(h: &Histogram<u64>) -> Option<Percentiles> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: f64| (us / 1e3 * 1e3).round() / 1e3;
        let q = |q: f64| ms(h.value_at_quantile(q) as f64);
        Some(Percentiles {
            n: h.len(),
            min: ms(h.min() as f64),
            mean: ms(h.mean()),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: ms(h.max() as f64),
        })
    }
}

/// One window of the timeline (all requests).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSummary {
    pub start_s: f64,
    pub secs: f64,
    pub requests: u64,
    pub errors: u64,
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// A warm-up window: shown, never judged.
    pub warm_up: bool,
    /// Sharded runs only: the window's figures overall, then per request, with their
    /// latency histograms, so `golive merge` adds the shards' windows exactly and judges
    /// the rules on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<WindowScope>,
}

/// One scope's figures in one window of a sharded run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowScope {
    pub requests: u64,
    pub errors: u64,
    /// Latency of the successful requests: HdrHistogram V2 compressed, base64, µs.
    pub latency_histogram: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleResult {
    pub name: String,
    pub when: String,
    pub for_s: f64,
    pub window_s: f64,
    pub observe_only: bool,
    pub final_state: RuleState,
    pub fired_at_s: Option<f64>,
    pub timeline: Vec<RuleWindow>,
    /// Sharded runs only: the rule itself, for `golive merge` to judge it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<crate::rules::Rule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackEvent {
    pub rule: String,
    pub at_s: f64,
    pub why: String,
}

impl ScopeResult {
    pub fn of(name: &str, s: &ScopeStats) -> ScopeResult {
        ScopeResult {
            name: name.to_string(),
            requests: s.requests,
            errors: s.errors,
            errors_by_class: s
                .by_class
                .iter()
                .map(|(c, n)| (c.as_str().to_string(), *n))
                .collect(),
            errors_by_status: s.by_status.clone(),
            error_reasons: s
                .reasons
                .iter()
                .map(|(c, r, n)| (c.as_str().to_string(), r.clone(), *n))
                .collect(),
            latency_ms: Percentiles::of(&s.latency),
            service_time_ms: Percentiles::of(&s.service),
            latency_histogram: crate::tally::encode_histogram(&s.latency),
            service_time_histogram: crate::tally::encode_histogram(&s.service),
        }
    }
}

#[cfg(test)]
impl LoadResult {
    /// A finished open-model run of `secs` in which each named request had the given
    /// outcomes (a success answering in 2 ms), for tests that judge or merge load
    /// evidence without running a load.
    pub(crate) fn of_outcomes(
        requests: &[(&str, Vec<Result<(), crate::tally::Failure>>)],
        secs: f64,
    ) -> LoadResult {
        let stats: Vec<ScopeStats> = requests
            .iter()
            .map(|(_, outcomes)| {
                let mut s = ScopeStats::default();
                for o in outcomes {
                    s.record(o, 2_000, 1_500);
                }
                s
            })
            .collect();
        let mut overall = ScopeStats::default();
        for s in &stats {
            overall.merge(s);
        }
        LoadResult {
            scenario: "test".into(),
            model: "open".into(),
            planned_s: secs,
            duration_s: secs,
            warm_up_s: 0.0,
            target_rps: Some(overall.requests as f64 / secs),
            achieved_rps: overall.requests as f64 / secs,
            requests: overall.requests,
            errors: overall.errors,
            warm_up_requests: 0,
            dropped: 0,
            late: 0,
            reconnects: 0,
            max_in_flight: None,
            send_lag_ms: None,
            shortfall: None,
            overall: ScopeResult::of("*", &overall),
            by_request: requests
                .iter()
                .zip(&stats)
                .map(|((n, _), s)| ScopeResult::of(n, s))
                .collect(),
            timeline: Vec::new(),
            rules: Vec::new(),
            rollback: None,
            stopped_early: false,
            shard: None,
        }
    }
}
