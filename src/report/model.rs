//! The one report model. Built once per run; `results.json` is its serialisation and
//! every other format is rendered from it, so all formats always agree. Read back by
//! `golive report` to re-render without re-running.

use crate::evidence::Outcome;
use crate::record::{ItemEvidence, RunEnd};
use crate::services::ServiceReport;
use crate::spec::Severity;
use crate::verdict::{Claim, JudgedCriterion, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of the results.json format; bumped on incompatible changes. Version 2 carries
/// the evidence record and typed claims of every item, so stored runs are judged again
/// from numbers, never from text.
pub const SCHEMA_VERSION: u32 = 2;

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
    /// Every waiver of the run and what became of it (applied, expired, unused).
    #[serde(default)]
    pub waivers: Vec<crate::verdict::WaiverOutcome>,
    /// Before and after: this run against the baseline run given with `--baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<super::compare::Comparison>,
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
    /// How the run ended, as judging reads it.
    pub end: RunEnd,
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
    /// Items whose failures a waiver in force covers (shown, never blocking).
    #[serde(default)]
    pub waived: usize,
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
    /// The line of the checklist where the item is written (1-based).
    pub line: Option<usize>,
    /// What was probed, rendered for this run.
    pub target: Option<String>,
    pub outcome: Outcome,
    /// One line: why this outcome.
    pub why: String,
    /// Set when the item did not run (environment failure, interruption) or was cut short.
    pub skipped: Option<String>,
    /// What the item claims, typed: what a later judgement (`golive merge`) judges again.
    pub claims: Vec<Claim>,
    /// Each claim judged, plus any the judge added (`implicit`).
    pub criteria: Vec<JudgedCriterion>,
    /// The first distinct failure reasons, with counts.
    pub failures: Vec<FailureReason>,
    pub signoff: Option<SignoffReport>,
    /// What the item measured: samples, load run, drills, resources or a signature.
    pub evidence: ItemEvidence,
}

pub use crate::record::FailureReason;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignoffReport {
    pub role: String,
    pub instructions: Option<String>,
    /// Who signed; absent while pending.
    pub signed_by: Option<String>,
    /// RFC 3339, UTC.
    pub signed_at: Option<String>,
    /// How the sign-off is attested: `ed25519:<key id>` when an attestation signed with
    /// that key is in the run folder's `signoffs.jsonl`, `unsigned` when nothing proves
    /// who gave it (`run --sign`, `golive sign` without `--key`); absent while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Who rejected the item after the run, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<crate::record::Rejection>,
}

impl SignoffReport {
    /// `signed_by`, `signed_at`, `signature` and `rejected` as `ev` says.
    pub fn refresh(&mut self, ev: &ItemEvidence) {
        self.signed_by = ev.signed.as_ref().map(|s| s.by.clone());
        self.signed_at = ev.signed.as_ref().map(|s| s.at.clone());
        self.signature = ev.signed.as_ref().map(|s| match &s.key {
            Some(k) => format!("ed25519:{k}"),
            None => "unsigned".to_string(),
        });
        self.rejected.clone_from(&ev.rejected);
    }
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
