//! Builds the report model from the plan, each item's results and how the run went.

use super::model::*;
use crate::evidence::Outcome;
use crate::plan::{ItemBody, ItemPlan, Plan};
use crate::services::ServiceReport;
use crate::tally::{encode_histogram, Observations};
use crate::verdict::{decide, judge, ItemJudgement, RunState};
use std::collections::HashMap;

/// What happened to one item during the run.
#[derive(Debug, Default)]
pub struct ItemResult {
    pub observations: Option<Observations>,
    /// What was probed, rendered for this run.
    pub target: Option<String>,
    /// Why the item did not run, if it did not.
    pub skipped: Option<String>,
    /// Who signed a manual item, and when (RFC 3339).
    pub signed: Option<(String, String)>,
    /// What a load item's run measured.
    pub load: Option<crate::load::LoadOutcome>,
    /// Why a load item could not start.
    pub load_error: Option<String>,
    /// What the service of a `kind: resources` item used up to the item.
    pub resources: Option<crate::services::resources::ResourceSeries>,
    /// What a load item's fault drills did.
    pub drills: Vec<crate::services::drill::DrillReport>,
}

/// Facts about the run as a whole.
pub struct RunFacts {
    pub id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub state: RunState,
    pub provider: String,
    pub services: Vec<ServiceReport>,
}

pub fn build(plan: &Plan, results: &HashMap<String, ItemResult>, facts: RunFacts) -> Report {
    let mut summary = Summary::default();
    let mut judgements = Vec::new();
    let phases = plan
        .phases
        .iter()
        .map(|phase| PhaseReport {
            id: phase.id.clone(),
            title: phase.title.clone(),
            items: phase
                .items
                .iter()
                .map(|item| {
                    let empty = ItemResult::default();
                    let r = item_report(item, results.get(&item.id).unwrap_or(&empty), plan);
                    tally(&mut summary, &r);
                    judgements.push(ItemJudgement {
                        id: r.id.clone(),
                        severity: r.severity,
                        outcome: r.outcome,
                        pending_signoff: r.signoff.as_ref().is_some_and(|s| s.signed_by.is_none()),
                    });
                    r
                })
                .collect(),
        })
        .collect();
    let decision = decide(&judgements, &facts.state);
    Report {
        schema_version: SCHEMA_VERSION,
        golive_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict: decision.verdict,
        verdict_reason: decision.reason,
        exit_code: decision.exit_code,
        run: RunInfo {
            id: facts.id,
            started_at: facts
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            finished_at: facts
                .finished_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_s: (facts.finished_at - facts.started_at).num_milliseconds() as f64 / 1e3,
            interrupted: facts.state == RunState::Interrupted,
            provider: facts.provider,
            host: hostname(),
            confidence: plan.confidence.value(),
        },
        checklist: ChecklistInfo {
            file: plan.file.display().to_string(),
            sha256: plan.sha256.clone(),
            system: plan.system.clone(),
            release: plan.release.clone(),
            description: plan.description.clone(),
        },
        summary,
        services: facts.services,
        phases,
    }
}

fn tally(s: &mut Summary, r: &ItemReport) {
    s.items += 1;
    match r.outcome {
        Outcome::Pass => s.passed += 1,
        Outcome::Fail => s.failed += 1,
        Outcome::Inconclusive => s.inconclusive += 1,
    }
    if r.outcome == Outcome::Fail {
        match r.severity {
            crate::spec::Severity::Blocker => s.blockers_failed += 1,
            _ => s.warnings_failed += 1,
        }
    }
    if let Some(sign) = &r.signoff {
        match sign.signed_by {
            Some(_) => s.signoffs_given += 1,
            None => s.signoffs_pending += 1,
        }
    }
}

fn item_report(item: &ItemPlan, result: &ItemResult, plan: &Plan) -> ItemReport {
    let mut report = ItemReport {
        id: item.id.clone(),
        title: item.title.clone(),
        description: item.description.clone(),
        severity: item.severity,
        kind: String::new(),
        target: result.target.clone(),
        outcome: Outcome::Inconclusive,
        why: String::new(),
        skipped: result.skipped.clone(),
        samples: None,
        criteria: Vec::new(),
        failures: Vec::new(),
        signoff: None,
        load: None,
        resources: None,
        drills: Vec::new(),
    };
    match &item.body {
        ItemBody::Manual(m) => {
            report.kind = "manual".into();
            report.signoff = Some(SignoffReport {
                role: m.role.clone(),
                instructions: m.instructions.clone(),
                signed_by: result.signed.as_ref().map(|s| s.0.clone()),
                signed_at: result.signed.as_ref().map(|s| s.1.clone()),
            });
            (report.outcome, report.why) = match &result.signed {
                Some((by, at)) => (
                    Outcome::Pass,
                    format!("signed by {by} ({}) at {at}", m.role),
                ),
                None => (
                    Outcome::Inconclusive,
                    format!("waiting for sign-off by the {}", m.role),
                ),
            };
        }
        ItemBody::Load(load) => load_item(&mut report, load, result, plan),
        ItemBody::Resources(r) => {
            report.kind = "resources".into();
            report.target = Some(r.service.clone());
            if let Some(skipped) = &result.skipped {
                report.why = skipped.clone();
                return report;
            }
            let summary = result.resources.as_ref().and_then(|s| s.summary());
            report.criteria = r
                .criteria
                .iter()
                .map(|c| crate::verdict::judge_resource(c, &r.service, summary.as_ref()))
                .collect();
            (report.outcome, report.why) = outcome_and_why(&report.criteria, "");
            report.resources = summary;
        }
        ItemBody::Check(c) => {
            report.kind = c.check.kind().into();
            let Some(obs) = &result.observations else {
                report.why = format!(
                    "not run: {}",
                    result
                        .skipped
                        .as_deref()
                        .unwrap_or("the run ended before this item")
                );
                return report;
            };
            report.criteria = c
                .criteria
                .iter()
                .map(|k| judge(k, obs, plan.confidence))
                .collect();
            let suffix = if obs.cut_short {
                " (on the samples taken before the interruption)"
            } else {
                ""
            };
            (report.outcome, report.why) = outcome_and_why(&report.criteria, suffix);
            if obs.stopped_early {
                report.why.push_str(&format!(
                    " (sampling stopped after {} of {} samples: the FAIL was already certain)",
                    obs.samples, c.samples
                ));
            }
            if obs.cut_short && report.skipped.is_none() {
                report.skipped = Some(format!(
                    "interrupted after {} of {} samples",
                    obs.samples, c.samples
                ));
            }
            report.failures = failure_reasons(obs);
            if let Some(e) = &obs.setup_error {
                report.failures.push(FailureReason {
                    class: "setup".into(),
                    reason: e.clone(),
                    count: 1,
                });
            }
            report.samples = Some(sample_stats(obs, c.samples));
        }
    }
    report
}

/// A load item: thresholds judged on the run's scopes; a fired rollback rule fails it.
fn load_item(
    report: &mut ItemReport,
    load: &crate::load::LoadPlan,
    result: &ItemResult,
    plan: &Plan,
) {
    report.kind = "load".into();
    let Some(outcome) = &result.load else {
        report.why = match (&result.load_error, &result.skipped) {
            (Some(e), _) => format!("the load could not start: {e}"),
            (None, Some(s)) => s.clone(),
            (None, None) => "not run: the run ended before this item".into(),
        };
        return;
    };
    let r = &outcome.result;
    let judged_secs = (r.duration_s - r.warm_up_s).max(1e-9);
    let scope = |request: Option<usize>| {
        let mut obs = match request {
            Some(i) => outcome.by_request.get(i).cloned().unwrap_or_default(),
            None => outcome.overall.clone(),
        };
        obs.rate = Some(obs.samples as f64 / judged_secs);
        obs.shortfall = r.shortfall.clone();
        obs
    };
    let default = [crate::load::Threshold {
        request: None,
        criterion: crate::criteria::every_sample_passes(),
    }];
    let thresholds = if load.thresholds.is_empty() {
        &default[..]
    } else {
        &load.thresholds[..]
    };
    report.criteria = thresholds
        .iter()
        .map(|t| judge(&t.criterion, &scope(t.request), plan.confidence))
        .collect();
    report.criteria.extend(
        load.recovery
            .iter()
            .map(|t| judge_recovery(t, &result.drills)),
    );
    report.drills = result.drills.clone();
    (report.outcome, report.why) = outcome_and_why(&report.criteria, "");
    if let Some(rb) = &r.rollback {
        report.outcome = Outcome::Fail;
        report.why = format!(
            "rollback rule `{}` fired at {:.1} s: {}",
            rb.rule, rb.at_s, rb.why
        );
    }
    report.failures = failure_reasons(&outcome.overall);
    report.samples = Some(sample_stats(
        &outcome.overall,
        r.requests.min(u64::from(u32::MAX)) as u32,
    ));
    report.load = Some(r.clone());
}

/// `recovery_time < T` over every drill that breaks a service: the slowest recovery
/// decides; a drill that never recovered fails it; no drill that ran is no evidence.
fn judge_recovery(
    t: &crate::load::RecoveryThreshold,
    drills: &[crate::services::drill::DrillReport],
) -> crate::verdict::CriterionOutcome {
    let timed: Vec<_> = drills
        .iter()
        .filter(|d| d.action != "inject" && d.fired_at_s.is_some())
        .collect();
    let expected = format!("recovery_time {} {}", t.op, t.limit);
    let mut o = crate::verdict::CriterionOutcome {
        criterion: t.text.clone(),
        outcome: Outcome::Inconclusive,
        expected,
        observed: "no data".into(),
        samples: timed.len() as u64,
        bound: None,
        why: "no fault drill ran, so recovery was not measured".into(),
        samples_needed: None,
        weak: false,
    };
    if timed.is_empty() {
        return o;
    }
    if let Some(d) = timed.iter().find(|d| d.recovery_ms.is_none()) {
        o.outcome = Outcome::Fail;
        o.observed = "did not recover".into();
        o.why = format!(
            "`{}` did not recover after `{}` at {:.1} s: {}",
            d.service,
            d.action,
            d.fired_at_s.unwrap_or(0.0),
            d.error.as_deref().unwrap_or("no reason recorded")
        );
        return o;
    }
    let worst = timed
        .iter()
        .max_by_key(|d| d.recovery_ms.unwrap_or(0))
        .expect("non-empty");
    let ms = worst.recovery_ms.unwrap_or(0);
    let holds = t.op.holds(ms.cmp(&(t.limit.as_millis_f64() as u64)));
    o.observed = format!("recovery_time = {:.2} s", ms as f64 / 1e3);
    o.outcome = if holds { Outcome::Pass } else { Outcome::Fail };
    o.why = format!(
        "`{}` passed its readiness probe {:.2} s after `{}` at {:.1} s ({} drill{}; limit {})",
        worst.service,
        ms as f64 / 1e3,
        worst.action,
        worst.fired_at_s.unwrap_or(0.0),
        timed.len(),
        if timed.len() == 1 { "" } else { "s" },
        t.limit
    );
    o
}

/// The worst outcome of `criteria`, and why: the first criterion with that outcome, or
/// (all passing) the evidence of each, then `suffix`.
pub(super) fn outcome_and_why(
    criteria: &[crate::verdict::CriterionOutcome],
    suffix: &str,
) -> (Outcome, String) {
    let outcome = criteria
        .iter()
        .fold(Outcome::Pass, |acc, o| acc.worst(o.outcome));
    let why = match criteria
        .iter()
        .find(|o| o.outcome == outcome && o.outcome != Outcome::Pass)
    {
        Some(o) => format!("{}: {}", o.criterion, o.why),
        None => {
            let evidence: Vec<String> = criteria
                .iter()
                .map(|o| format!("{}: {}", o.criterion, o.why))
                .collect();
            format!("{}{suffix}", evidence.join("; "))
        }
    };
    (outcome, why)
}

/// The first distinct failure reasons of some observations, for the report.
fn failure_reasons(obs: &Observations) -> Vec<FailureReason> {
    obs.reasons
        .iter()
        .map(|(class, reason, count)| FailureReason {
            class: class_name(*class),
            reason: reason.clone(),
            count: *count,
        })
        .collect()
}

fn class_name(c: crate::tally::FailureClass) -> String {
    c.as_str().to_string()
}

fn sample_stats(obs: &Observations, planned: u32) -> SampleStats {
    let h = &obs.latency;
    let ms = |us: u64| (us as f64 / 1e3 * 1e3).round() / 1e3;
    let latency_ms = (!h.is_empty()).then(|| LatencyStats {
        n: h.len(),
        min: ms(h.min()),
        mean: (h.mean() / 1e3 * 1e3).round() / 1e3,
        p50: ms(h.value_at_quantile(0.5)),
        p90: ms(h.value_at_quantile(0.9)),
        p95: ms(h.value_at_quantile(0.95)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
    });
    SampleStats {
        planned,
        taken: obs.samples,
        failed: obs.failures,
        longest_failure_run: obs.longest_failure_run,
        failures_by_class: obs
            .by_class
            .iter()
            .map(|(c, n)| (class_name(*c), *n))
            .collect(),
        latency_ms,
        latency_histogram: (!h.is_empty()).then(|| encode_histogram(h)).flatten(),
        duration_s: (obs.duration.as_secs_f64() * 1e3).round() / 1e3,
        cut_short: obs.cut_short,
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}
