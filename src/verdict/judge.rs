//! Judging as one step: `judge_run` takes what a checklist claims, what the run measured
//! (the evidence record) and a policy, and returns every item's outcome and the run's
//! decision. Every verdict rule lives here or below (criteria, resources, recovery, the
//! rollback override, sign-offs, failed samples no criterion counted), so a fresh run,
//! `golive merge` and anything that judges stored evidence again agree by construction.

use super::criterion::{counts_failures, judge, JudgedCriterion, Threshold};
use super::decide::{decide, Decision, ItemJudgement, RunState};
use super::exclude::Exclusions;
use super::resources::judge_resource;
use super::waiver::{Waiver, WaiverOutcome, WaiverState};
use crate::criteria::{every_sample_passes, Criterion, ResourceCriterion};
use crate::evidence::{Confidence, Outcome};
use crate::load::{LoadResult, RecoveryThreshold};
use crate::record::{CorruptHistogram, ItemEvidence, RunEnd};
use crate::services::drill::DrillReport;
use crate::spec::Severity;
use crate::tally::{decode_histogram, Observations};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One claim of an item, in typed form: what `golive merge` judges again from
/// `results.json` without parsing any text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Claim {
    /// Over the item's samples, or a load's requests (all, or one named request).
    Samples {
        request: Option<String>,
        criterion: Criterion,
    },
    /// Over what a service used.
    Resource {
        service: String,
        criterion: ResourceCriterion,
    },
    /// Over the recovery times of a load item's fault drills.
    Recovery { criterion: RecoveryThreshold },
}

/// What kind of evidence an item produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemKind {
    Check,
    Load,
    Resources,
    /// A manual item, signed by someone in `role`.
    Manual {
        role: String,
    },
}

/// What one item claims; built by the plan compiler, stored in `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemClaims {
    pub id: String,
    pub severity: Severity,
    pub kind: ItemKind,
    pub claims: Vec<Claim>,
}

/// How to judge: the confidence of every statistical claim, the waivers, and the clock that
/// waivers and sign-offs with expiries are judged against (injected, so judging is
/// repeatable).
#[derive(Debug, Clone)]
pub struct Policy {
    pub confidence: Confidence,
    pub now: chrono::DateTime<chrono::Utc>,
    pub waivers: Vec<Waiver>,
}

impl Policy {
    /// The waivers of `item` in force now.
    fn waivers_of<'a>(&'a self, item: &'a str) -> impl Iterator<Item = &'a Waiver> + 'a {
        self.waivers
            .iter()
            .filter(move |w| w.item == item && w.in_force(self.now))
    }
}

/// One item judged.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedItem {
    pub outcome: Outcome,
    /// One line: why this outcome.
    pub why: String,
    pub criteria: Vec<JudgedCriterion>,
    /// Ids of the waivers that covered something of this item.
    pub waivers_applied: Vec<String>,
}

/// A whole run judged: each item in the order of the claims, what became of each waiver,
/// and the decision.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub items: Vec<JudgedItem>,
    pub waivers: Vec<WaiverOutcome>,
    pub decision: Decision,
}

/// Judges `evidence` (one record per item, in the order of `items`) under `policy`.
/// A histogram that cannot be read back is an error naming where it is.
pub fn judge_run(
    items: &[ItemClaims],
    evidence: &[ItemEvidence],
    end: &RunEnd,
    policy: &Policy,
) -> Result<Judgement, CorruptHistogram> {
    let empty = ItemEvidence::default();
    let mut judged = Vec::with_capacity(items.len());
    let mut rolled_back = None;
    for (i, item) in items.iter().enumerate() {
        let ev = evidence.get(i).unwrap_or(&empty);
        let j = judge_item(item, ev, policy).map_err(|e| CorruptHistogram {
            field: format!("item `{}`: {}", item.id, e.field),
            reason: e.reason,
        })?;
        if let Some(rb) = ev.load.as_ref().and_then(|l| l.rollback.as_ref()) {
            rolled_back.get_or_insert_with(|| {
                format!(
                    "rollback rule `{}` fired at {:.1} s into `{}`: {}",
                    rb.rule, rb.at_s, item.id, rb.why
                )
            });
        }
        judged.push(j);
    }
    let state = match (rolled_back, end) {
        (Some(why), _) => RunState::RolledBack(why),
        (None, RunEnd::Completed) => RunState::Completed,
        (None, RunEnd::Interrupted) => RunState::Interrupted,
        (None, RunEnd::EnvironmentFailed { why }) => RunState::EnvironmentFailed(why.clone()),
    };
    let summary: Vec<ItemJudgement> = items
        .iter()
        .zip(&judged)
        .zip(evidence.iter().chain(std::iter::repeat(&empty)))
        .map(|((claims, j), ev)| ItemJudgement {
            id: claims.id.clone(),
            severity: claims.severity,
            outcome: j.outcome,
            pending_signoff: matches!(claims.kind, ItemKind::Manual { .. })
                && ev.signed.is_none()
                && ev.rejected.is_none(),
        })
        .collect();
    let decision = decide(&summary, &state);
    let waivers = policy
        .waivers
        .iter()
        .map(|w| {
            let applied: Vec<&str> = items
                .iter()
                .zip(&judged)
                .filter(|(_, j)| j.waivers_applied.contains(&w.id))
                .map(|(c, _)| c.id.as_str())
                .collect();
            let (state, why) = if !w.in_force(policy.now) {
                (
                    WaiverState::Expired,
                    format!("expired on {}: not applied", w.expires),
                )
            } else if applied.is_empty() {
                let what = match (&w.exclude_request, w.exclude_status) {
                    (Some(r), Some(s)) => {
                        format!("request `{r}` of `{}` never failed with status {s}", w.item)
                    }
                    (Some(r), None) => format!("request `{r}` of `{}` never failed", w.item),
                    (None, _) => format!("nothing it covers in `{}` failed", w.item),
                };
                (
                    WaiverState::Unused,
                    format!(
                        "{what}: the known issue may be fixed or changed shape; remove the waiver"
                    ),
                )
            } else {
                (WaiverState::Applied, format!("applied to `{}`", w.item))
            };
            WaiverOutcome {
                waiver: w.clone(),
                state,
                why,
            }
        })
        .collect();
    Ok(Judgement {
        items: judged,
        waivers,
        decision,
    })
}

/// One item: its criteria on its evidence, the worst outcome, and why.
pub fn judge_item(
    item: &ItemClaims,
    ev: &ItemEvidence,
    policy: &Policy,
) -> Result<JudgedItem, CorruptHistogram> {
    let conf = policy.confidence;
    let not_run = |why: String| JudgedItem {
        outcome: Outcome::Inconclusive,
        why,
        criteria: Vec::new(),
        waivers_applied: Vec::new(),
    };
    let mut applied: Vec<String> = Vec::new();
    let mut criteria = match &item.kind {
        ItemKind::Manual { role } => {
            if let Some(r) = &ev.rejected {
                return Ok(JudgedItem {
                    outcome: Outcome::Fail,
                    why: format!("rejected by {} ({role}) at {}: {}", r.by, r.at, r.reason),
                    criteria: Vec::new(),
                    waivers_applied: Vec::new(),
                });
            }
            return Ok(match &ev.signed {
                Some(s) => JudgedItem {
                    outcome: Outcome::Pass,
                    why: format!("signed by {} ({role}) at {}", s.by, s.at),
                    criteria: Vec::new(),
                    waivers_applied: Vec::new(),
                },
                None => not_run(format!("waiting for sign-off by the {role}")),
            });
        }
        ItemKind::Resources => {
            if ev.resources.is_none() {
                if let Some(skipped) = &ev.skipped {
                    return Ok(not_run(skipped.clone()));
                }
            }
            item.claims
                .iter()
                .filter_map(|c| match c {
                    Claim::Resource { service, criterion } => {
                        Some(judge_resource(criterion, service, ev.resources.as_ref()))
                    }
                    _ => None,
                })
                .collect()
        }
        ItemKind::Check => {
            let Some(samples) = &ev.samples else {
                return Ok(not_run(format!(
                    "not run: {}",
                    ev.skipped
                        .as_deref()
                        .map(|s| s.trim_start_matches("not run: "))
                        .unwrap_or("the run ended before this item")
                )));
            };
            let mut obs = Observations::default();
            obs.samples = samples.taken;
            obs.failures = samples.failed;
            obs.latency = samples.histogram()?;
            obs.setup_error.clone_from(&samples.setup_error);
            obs.duration = std::time::Duration::from_secs_f64(samples.duration_s.max(0.0));
            // Only the reasons' text is read when judging (the first one names a failure).
            obs.reasons = samples
                .reasons
                .iter()
                .map(|r| (crate::tally::FailureClass::Setup, r.reason.clone(), r.count))
                .collect();
            obs.rate = Some(samples.taken as f64 / samples.duration_s.max(1e-9));
            let written: Vec<&Criterion> = item
                .claims
                .iter()
                .filter_map(|c| match c {
                    Claim::Samples { criterion, .. } => Some(criterion),
                    _ => None,
                })
                .collect();
            let mut judged: Vec<JudgedCriterion> =
                written.iter().map(|c| judge(c, &obs, conf)).collect();
            if obs.failures > 0 && !written.iter().any(|c| counts_failures(c)) {
                let mut implicit = judge(&every_sample_passes(), &obs, conf);
                implicit.implicit = true;
                implicit.why = format!(
                    "{} (added: no criterion of this item counts failed samples)",
                    implicit.why
                );
                judged.push(implicit);
            }
            judged
        }
        ItemKind::Load => {
            let Some(load) = &ev.load else {
                return Ok(not_run(match (&ev.load_error, &ev.skipped) {
                    (Some(e), _) => format!("the load could not start: {e}"),
                    (None, Some(s)) => s.clone(),
                    (None, None) => "not run: the run ended before this item".into(),
                }));
            };
            let default = [Claim::Samples {
                request: None,
                criterion: every_sample_passes(),
            }];
            let has_sample_claims = item
                .claims
                .iter()
                .any(|c| matches!(c, Claim::Samples { .. }));
            let claims = if has_sample_claims {
                item.claims.iter().collect::<Vec<_>>()
            } else {
                default.iter().chain(item.claims.iter()).collect()
            };
            let exclusions = Exclusions::of(policy.waivers_of(&item.id));
            applied.extend(exclusions.applied(load));
            let mut judged = Vec::new();
            for c in claims {
                match c {
                    Claim::Samples { request, criterion } => {
                        let mut obs = scope_observations(load, request.as_deref())?;
                        let left_out =
                            exclusions.apply(&mut obs, load, request.as_deref(), criterion)?;
                        let mut j = judge(criterion, &obs, conf);
                        if let Some(left_out) = left_out {
                            j.why = format!("{} ({left_out})", j.why);
                        }
                        judged.push(j);
                    }
                    Claim::Recovery { criterion } => {
                        judged.push(judge_recovery(criterion, &ev.drills))
                    }
                    Claim::Resource { .. } => {}
                }
            }
            judged
        }
    };
    for c in criteria.iter_mut().filter(|c| c.outcome == Outcome::Fail) {
        if let Some(w) = policy
            .waivers_of(&item.id)
            .find(|w| w.exclude_request.is_none() && w.covers(&c.criterion))
        {
            c.outcome = Outcome::Waived;
            c.waiver = Some(w.id.clone());
            c.why = format!("{} — {}", c.why, w.label());
            if !applied.contains(&w.id) {
                applied.push(w.id.clone());
            }
        }
    }
    for (i, c) in criteria.iter_mut().enumerate() {
        c.id = if c.implicit {
            format!("{}#implicit", item.id)
        } else {
            format!("{}#{i}", item.id)
        };
    }
    let suffix = match &ev.samples {
        Some(s) if s.cut_short => " (on the samples taken before the interruption)",
        _ => "",
    };
    let (mut outcome, mut why) = outcome_and_why(&criteria, suffix);
    if outcome == Outcome::Pass && !applied.is_empty() {
        // What passed, passed only with a request left out: that stays visible.
        outcome = Outcome::Waived;
    }
    if let Some(s) = ev.samples.as_ref().filter(|s| s.stopped_early) {
        why.push_str(&format!(
            " (sampling stopped after {} of {} samples: a supported FAIL was already certain)",
            s.taken, s.planned
        ));
    }
    if let Some(rb) = ev.load.as_ref().and_then(|l| l.rollback.as_ref()) {
        outcome = Outcome::Fail;
        why = format!(
            "rollback rule `{}` fired at {:.1} s: {}",
            rb.rule, rb.at_s, rb.why
        );
    }
    Ok(JudgedItem {
        outcome,
        why,
        criteria,
        waivers_applied: applied,
    })
}

/// The thresholds of a load run made without a checklist (`golive load --url`), judged
/// on all its requests exactly as a load item's are, with the worst outcome and why.
pub fn judge_load_alone(
    thresholds: &[Criterion],
    load: &LoadResult,
    conf: Confidence,
) -> Result<(Outcome, Vec<JudgedCriterion>), CorruptHistogram> {
    let obs = scope_observations(load, None)?;
    let judged: Vec<JudgedCriterion> = thresholds.iter().map(|c| judge(c, &obs, conf)).collect();
    let (outcome, _) = outcome_and_why(&judged, "");
    Ok((outcome, judged))
}

/// The observations of one scope of a load run: all requests, or the named one.
fn scope_observations(
    load: &LoadResult,
    request: Option<&str>,
) -> Result<Observations, CorruptHistogram> {
    let (scope, at) = match request {
        None => (Some(&load.overall), "load.overall".to_string()),
        Some(name) => (
            load.by_request.iter().find(|s| s.name == name),
            format!("load.by_request[{name}]"),
        ),
    };
    let mut o = Observations::default();
    let Some(s) = scope else {
        return Ok(o);
    };
    o.samples = s.requests;
    o.failures = s.errors;
    o.reasons = s
        .error_reasons
        .iter()
        .map(|(_, r, n)| (crate::tally::FailureClass::Setup, r.clone(), *n))
        .collect();
    if let Some(h) = &s.latency_histogram {
        o.latency = decode_histogram(h).map_err(|reason| CorruptHistogram {
            field: format!("{at}.latency_histogram"),
            reason,
        })?;
    }
    let secs = (load.duration_s - load.warm_up_s).max(1e-9);
    // Shards run side by side, so a request's share of the summed rate is its rate.
    o.rate = Some(load.achieved_rps * s.requests as f64 / load.requests.max(1) as f64);
    o.shortfall = load.shortfall.clone();
    o.duration = std::time::Duration::from_secs_f64(secs);
    Ok(o)
}

/// `recovery_time < T` over every drill that breaks a service: the slowest recovery
/// decides; a drill that never recovered fails it; no drill that ran is no evidence.
pub fn judge_recovery(t: &RecoveryThreshold, drills: &[DrillReport]) -> JudgedCriterion {
    let timed: Vec<_> = drills
        .iter()
        .filter(|d| d.action != "inject" && d.fired_at_s.is_some())
        .collect();
    let mut o = JudgedCriterion::unjudged(
        &t.text,
        "recovery_time",
        t.op,
        Threshold::new(t.limit.as_millis_f64() / 1e3, "s"),
    );
    o.expected = format!("recovery_time {} {}", t.op, t.limit);
    o.n = timed.len() as u64;
    o.why = "no fault drill ran, so recovery was not measured".into();
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
    let Some(worst) = timed.iter().max_by_key(|d| d.recovery_ms.unwrap_or(0)) else {
        return o;
    };
    let ms = worst.recovery_ms.unwrap_or(0);
    let holds = t.op.holds(ms.cmp(&(t.limit.as_millis_f64() as u64)));
    o.observed = format!("recovery_time = {:.2} s", ms as f64 / 1e3);
    o.observed_value = Some(ms as f64 / 1e3);
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
fn outcome_and_why(criteria: &[JudgedCriterion], suffix: &str) -> (Outcome, String) {
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
