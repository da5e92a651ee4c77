//! Judging one criterion on one item's observations.

use crate::criteria::{Criterion, CriterionKind};
use crate::evidence::{self, Confidence, Outcome, Tail};
use crate::expr::Op;
use crate::tally::Observations;
use serde::{Deserialize, Serialize};

/// One criterion's outcome, with everything a reader needs to check it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CriterionOutcome {
    /// The criterion as written, e.g. `p95 < 100ms`.
    pub criterion: String,
    pub outcome: Outcome,
    /// The claim, e.g. `p95 < 100 ms`.
    pub expected: String,
    /// What was measured, e.g. `p95 = 212 ms`; `no data` when nothing was.
    pub observed: String,
    /// How many samples the claim was judged on.
    pub samples: u64,
    /// The statistical bound used, e.g. `upper 95% bound on the error rate: 0.99%`.
    pub bound: Option<String>,
    /// One line: why this outcome.
    pub why: String,
    /// When INCONCLUSIVE: total samples that would likely settle it.
    pub samples_needed: Option<u64>,
    /// True for claims that are weaker evidence (means) or plain observations (max, min).
    pub weak: bool,
}

fn no_data(c: &Criterion, expected: String, obs: &Observations) -> CriterionOutcome {
    let why = match &obs.setup_error {
        Some(e) => format!("no data: the check could not run ({e})"),
        None if obs.samples > 0 => format!(
            "no data: all {} samples failed, so no latency was measured",
            obs.samples
        ),
        None => "no data: 0 samples".to_string(),
    };
    CriterionOutcome {
        criterion: c.text.clone(),
        outcome: Outcome::Inconclusive,
        expected,
        observed: "no data".into(),
        samples: 0,
        bound: None,
        why,
        samples_needed: None,
        weak: false,
    }
}

/// Judges `c` on `obs` at confidence `conf`. A latency claim measured by a load run that
/// could not produce its intended load cannot pass: it says nothing about that load.
pub fn judge(c: &Criterion, obs: &Observations, conf: Confidence) -> CriterionOutcome {
    let mut out = judge_measured(c, obs, conf);
    let latency_claim = matches!(
        c.kind,
        CriterionKind::Quantile { .. } | CriterionKind::Mean { .. } | CriterionKind::Extreme { .. }
    );
    if let (true, Outcome::Pass, Some(why)) = (latency_claim, out.outcome, &obs.shortfall) {
        out.outcome = Outcome::Inconclusive;
        out.why = format!("{}, but the run did not produce its intended load ({why}), so it cannot support the claim at that load", out.why);
    }
    out
}

fn judge_measured(c: &Criterion, obs: &Observations, conf: Confidence) -> CriterionOutcome {
    let pct = (conf.value() * 100.0).round();
    match &c.kind {
        CriterionKind::FailureRate {
            limit,
            written_as_success,
        } => {
            let expected = if *written_as_success {
                format!("success rate > {}", evidence::percent(1.0 - limit))
            } else {
                format!("error rate < {}", evidence::percent(*limit))
            };
            if obs.samples == 0 {
                return no_data(c, expected, obs);
            }
            let j = evidence::judge_proportion(obs.failures, obs.samples, *limit, conf);
            let observed = match written_as_success {
                true => format!(
                    "success rate {} ({} of {})",
                    evidence::percent(1.0 - j.observed.unwrap_or(0.0)),
                    evidence::thousands(obs.samples - obs.failures),
                    evidence::thousands(obs.samples)
                ),
                false => format!(
                    "error rate {} ({} of {})",
                    evidence::percent(j.observed.unwrap_or(0.0)),
                    evidence::thousands(obs.failures),
                    evidence::thousands(obs.samples)
                ),
            };
            CriterionOutcome {
                criterion: c.text.clone(),
                outcome: j.outcome,
                expected,
                observed,
                samples: obs.samples,
                bound: j.upper_bound.map(|u| {
                    format!(
                        "error rate below {} at {pct}% confidence",
                        evidence::percent(u)
                    )
                }),
                why: j.why,
                samples_needed: j.samples_needed,
                weak: false,
            }
        }
        CriterionKind::Quantile { q, threshold, tail } => {
            let name = quantile_name(*q);
            let sign = if *tail == Tail::Below { "<" } else { ">" };
            let expected = format!("{name} {sign} {}", evidence::latency(threshold.as_micros()));
            if obs.latency.is_empty() {
                return no_data(c, expected, obs);
            }
            let j = evidence::judge_quantile(
                &obs.latency,
                obs.failures,
                *q,
                threshold.as_micros(),
                *tail,
                conf,
            );
            let mut why = j.why.clone();
            if obs.failures > 0 {
                why.push_str(&format!(
                    " (latency of the {} successful samples; the {} failed ones count against the error rate)",
                    evidence::thousands(j.n),
                    evidence::thousands(obs.failures)
                ));
            }
            let observed = match (j.observed_us, j.interval_us) {
                (Some(v), Some((lo, hi))) => format!(
                    "{name} = {} (n = {}; {pct}% interval {} to {})",
                    evidence::latency(v),
                    evidence::thousands(j.n),
                    evidence::latency(lo),
                    evidence::latency(hi)
                ),
                (Some(v), None) => format!(
                    "{name} = {} (n = {})",
                    evidence::latency(v),
                    evidence::thousands(j.n)
                ),
                (None, _) => "no data".into(),
            };
            CriterionOutcome {
                criterion: c.text.clone(),
                outcome: j.outcome,
                expected,
                observed,
                samples: j.n,
                bound: j.upper_bound.map(|u| {
                    format!(
                        "{} of {} samples beyond {}: at most {} at {pct}% confidence",
                        evidence::thousands(j.k_beyond),
                        evidence::thousands(j.n),
                        evidence::latency(j.threshold_us),
                        evidence::percent(u)
                    )
                }),
                why,
                samples_needed: j.samples_needed,
                weak: false,
            }
        }
        CriterionKind::Mean { threshold, below } => {
            let sign = if *below { "<" } else { ">" };
            let expected = format!("mean {sign} {}", evidence::latency(threshold.as_micros()));
            let Some(m) = evidence::mean_interval(&obs.latency, conf) else {
                return no_data(c, expected, obs);
            };
            let t = threshold.as_micros() as f64;
            let outcome = match below {
                true if m.mean_us >= t => Outcome::Fail,
                true if m.hi_us < t => Outcome::Pass,
                false if m.mean_us <= t => Outcome::Fail,
                false if m.lo_us > t => Outcome::Pass,
                _ => Outcome::Inconclusive,
            };
            let interval = format!(
                "{pct}% interval {} to {}",
                evidence::latency(m.lo_us.max(0.0) as u64),
                evidence::latency(m.hi_us as u64)
            );
            CriterionOutcome {
                criterion: c.text.clone(),
                outcome,
                expected: expected.clone(),
                observed: format!("mean = {} (n = {})", evidence::latency(m.mean_us as u64), evidence::thousands(m.n)),
                samples: m.n,
                bound: Some(interval.clone()),
                why: format!(
                    "mean {} over {} samples, {interval} (normal approximation; a mean hides the tail, so this is weaker evidence than a percentile) {}",
                    evidence::latency(m.mean_us as u64),
                    evidence::thousands(m.n),
                    match outcome {
                        Outcome::Pass => format!("supports {expected}"),
                        Outcome::Fail => format!("breaks {expected}"),
                        Outcome::Inconclusive => format!("cannot settle {expected}"),
                    }
                ),
                samples_needed: None,
                weak: true,
            }
        }
        CriterionKind::Extreme { max, op, threshold } => {
            let name = if *max { "max" } else { "min" };
            let expected = format!("{name} {op} {}", evidence::latency(threshold.as_micros()));
            if obs.latency.is_empty() {
                return no_data(c, expected, obs);
            }
            let v = if *max {
                obs.latency.max()
            } else {
                obs.latency.min()
            };
            let holds = op.holds(v.cmp(&threshold.as_micros()));
            CriterionOutcome {
                criterion: c.text.clone(),
                outcome: if holds { Outcome::Pass } else { Outcome::Fail },
                expected,
                observed: format!("{name} = {} (n = {})", evidence::latency(v), evidence::thousands(obs.latency.len())),
                samples: obs.latency.len(),
                bound: None,
                why: format!(
                    "the {name} of {} samples was {}; an observation of these samples, not a bound on future ones",
                    evidence::thousands(obs.latency.len()),
                    evidence::latency(v)
                ),
                samples_needed: None,
                weak: true,
            }
        }
        CriterionKind::Failures { op, count } => failures(c, obs, *op, *count),
        CriterionKind::Throughput { op, per_second } => {
            let expected = format!("rps {op} {per_second}/s");
            let (Some(rate), true) = (obs.rate, obs.samples > 0) else {
                return no_data(c, expected, obs);
            };
            let holds = op.holds(rate.total_cmp(per_second));
            CriterionOutcome {
                criterion: c.text.clone(),
                outcome: if holds { Outcome::Pass } else { Outcome::Fail },
                expected: expected.clone(),
                observed: format!(
                    "rps = {rate:.1}/s ({} requests in {:.1} s)",
                    evidence::thousands(obs.samples),
                    obs.duration.as_secs_f64()
                ),
                samples: obs.samples,
                bound: None,
                why: format!(
                    "achieved {rate:.1}/s {} {expected}",
                    if holds { "meets" } else { "breaks" }
                ),
                samples_needed: None,
                weak: false,
            }
        }
    }
}

fn failures(c: &Criterion, obs: &Observations, op: Op, count: u64) -> CriterionOutcome {
    let expected = format!("failures {op} {count}");
    if obs.samples == 0 {
        return no_data(c, expected, obs);
    }
    let holds = op.holds(obs.failures.cmp(&count));
    let first = obs
        .reasons
        .first()
        .map(|(_, r, _)| format!("; first: {r}"))
        .unwrap_or_default();
    let why = if holds {
        format!(
            "{} failed of {} samples{}",
            evidence::thousands(obs.failures),
            evidence::thousands(obs.samples),
            if obs.failures == 0 {
                " (every sample met its expectations)"
            } else {
                ""
            }
        )
    } else {
        format!(
            "{} of {} samples failed{first}",
            evidence::thousands(obs.failures),
            evidence::thousands(obs.samples)
        )
    };
    CriterionOutcome {
        criterion: c.text.clone(),
        outcome: if holds { Outcome::Pass } else { Outcome::Fail },
        expected,
        observed: format!(
            "{} failures in {} samples",
            evidence::thousands(obs.failures),
            evidence::thousands(obs.samples)
        ),
        samples: obs.samples,
        bound: None,
        why,
        samples_needed: None,
        weak: false,
    }
}

/// 0.95 → "p95", 0.999 → "p99.9", 0.5 → "p50".
pub fn quantile_name(q: f64) -> String {
    let s = format!("{:.4}", q * 100.0);
    format!("p{}", s.trim_end_matches('0').trim_end_matches('.'))
}
