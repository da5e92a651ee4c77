//! The one report model. Built once per run; `results.json` is its serialisation and
//! every other format is rendered from it, so all formats always agree. Read back by
//! `golive report` to re-render without re-running.

use crate::evidence::Outcome;
use crate::services::ServiceReport;
use crate::spec::Severity;
use crate::verdict::{CriterionOutcome, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the results.json format; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole run: `results.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    pub golive_version: String,
    pub verdict: Verdict,
    /// One line: why this verdict.
    pub verdict_reason: String,
    pub exit_code: i32,
    pub run: RunInfo,
    pub checklist: ChecklistInfo,
    pub summary: Summary,
    pub services: Vec<ServiceReport>,
    pub phases: Vec<PhaseReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: f64,
    /// True when SIGINT or SIGTERM cut the run short.
    pub interrupted: bool,
    /// Provider choice for services: auto, process or external.
    pub provider: String,
    pub host: String,
    /// Confidence level of statistical claims, as a fraction (0.95).
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistInfo {
    pub file: String,
    /// SHA-256 of the checklist text this run executed.
    pub sha256: String,
    pub system: String,
    pub release: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub items: usize,
    pub passed: usize,
    pub failed: usize,
    pub inconclusive: usize,
    pub blockers_failed: usize,
    /// Warning- and info-level items that failed (reported, never blocking).
    pub warnings_failed: usize,
    pub signoffs_given: usize,
    pub signoffs_pending: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseReport {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemReport {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    /// Check kind (`http`, `tcp`, `websocket`, `tls`, `command`, `postgres`, `redis`,
    /// `load`, `resources`) or `manual`.
    pub kind: String,
    /// What was probed, rendered for this run.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// One line: why this outcome.
    pub why: String,
    /// Set when the item did not run (environment failure, interruption).
    pub skipped: Option<String>,
    pub samples: Option<SampleStats>,
    pub criteria: Vec<CriterionOutcome>,
    /// The first distinct failure reasons, with counts.
    pub failures: Vec<FailureReason>,
    pub signoff: Option<SignoffReport>,
    /// The load run, for `kind: load` items.
    pub load: Option<crate::load::LoadResult>,
    /// What the service used, for `kind: resources` items.
    pub resources: Option<crate::services::resources::ResourceSummary>,
    /// Fault drills run during a load item, with their recovery times.
    #[serde(default)]
    pub drills: Vec<crate::services::drill::DrillReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleStats {
    pub planned: u32,
    pub taken: u64,
    pub failed: u64,
    /// The longest run of consecutive failed samples (availability: how long an outage lasted).
    pub longest_failure_run: u64,
    /// Failed samples by class (connect, timeout, tls, expectation, protocol, setup).
    pub failures_by_class: BTreeMap<String, u64>,
    /// Latency of successful samples; absent when none succeeded.
    pub latency_ms: Option<LatencyStats>,
    /// The latency histogram (microseconds), HdrHistogram V2 compressed, base64; lets
    /// runs be merged exactly.
    pub latency_histogram: Option<String>,
    pub duration_s: f64,
    pub cut_short: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyStats {
    pub n: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureReason {
    pub class: String,
    pub reason: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignoffReport {
    pub role: String,
    pub instructions: Option<String>,
    /// Who signed; absent while pending.
    pub signed_by: Option<String>,
    /// RFC 3339, UTC.
    pub signed_at: Option<String>,
}

impl Report {
    pub fn items(&self) -> impl Iterator<Item = &ItemReport> {
        self.phases.iter().flat_map(|p| p.items.iter())
    }
}

/// The JSON Schema of results.json (committed as `schemas/results.schema.json`).
pub fn results_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}
