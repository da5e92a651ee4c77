//! Judging one criterion on one item's tally. A judged criterion carries numbers (metric,
//! operator, threshold with its unit, observed value, n, both bounds, outcome) and a
//! stable id; the display strings beside them are derived from those numbers here, once.

use crate::criteria::{BaselineMeasure, Criterion, CriterionKind};
use crate::evidence::{self, Confidence, Outcome, Tail};
use crate::expr::Op;
use crate::tally::Observations;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A threshold with its unit: `ms` for latencies, `%` for rates, `/s` for throughput,
/// `B` for bytes, `%cpu` for CPU, `count` for counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub value: f64,
    pub unit: String,
}

impl Threshold {
    pub fn new(value: f64, unit: &str) -> Threshold {
        Threshold {
            value,
            unit: unit.to_string(),
        }
    }
}

/// One criterion's outcome, with everything a reader (or a later judgement) needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgedCriterion {
    /// Stable within a checklist: `<item id>#<position>` (`#implicit` for a criterion the
    /// judge added).
    pub id: String,
    /// The criterion as written, e.g. `p95 < 100ms`.
    pub criterion: String,
    /// `p95`, `error_rate`, `success_rate`, `mean`, `max`, `min`, `failures`, `rps`,
    /// `memory`, `memory_growth`, `cpu`, `cpu_max`, `restarts`, `recovery_time`.
    pub metric: String,
    /// `<`, `<=`, `>`, `>=`, `==`, `!=`.
    pub op: String,
    pub threshold: Threshold,
    pub outcome: Outcome,
    /// What was measured, in the threshold's unit; `None` with no data (or, for a
    /// quantile, when its rank falls among failed samples).
    pub observed_value: Option<f64>,
    /// Samples the claim was judged on.
    pub n: u64,
    /// One-sided bounds at the run's confidence on the share the claim limits (failure
    /// rate, or share of samples beyond the threshold), as fractions; `None` for
    /// observations (max, min, failures, rps, resources, recovery).
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
    /// When INCONCLUSIVE: total samples that would likely settle it.
    pub samples_needed: Option<u64>,
    /// One line: why this outcome.
    pub why: String,
    /// The claim, e.g. `p95 < 100 ms`.
    pub expected: String,
    /// What was measured, e.g. `p95 = 212 ms (n = 4,800)`; `no data` when nothing was.
    pub observed: String,
    /// The bound the outcome rests on, in words: the upper bound for a PASS or an
    /// unsupported claim, the lower bound for a FAIL or an unsupported breach.
    pub bound: Option<String>,
    /// True for weaker evidence (means) or plain observations (max, min, resources).
    pub weak: bool,
    /// True for a criterion nobody wrote: `failures == 0` added because failed samples
    /// would otherwise count against no criterion.
    #[serde(default)]
    pub implicit: bool,
    /// The waiver that turned this criterion's FAIL into WAIVED.
    #[serde(default)]
    pub waiver: Option<String>,
}

impl JudgedCriterion {
    /// A criterion with its identity and claim set and nothing measured yet.
    pub fn unjudged(text: &str, metric: &str, op: Op, threshold: Threshold) -> JudgedCriterion {
        JudgedCriterion {
            id: String::new(),
            criterion: text.to_string(),
            metric: metric.to_string(),
            op: op.as_str().to_string(),
            expected: format!("{metric} {op} {}", show(&threshold)),
            threshold,
            outcome: Outcome::Inconclusive,
            observed_value: None,
            n: 0,
            lower_bound: None,
            upper_bound: None,
            samples_needed: None,
            why: "no data: 0 samples".into(),
            observed: "no data".into(),
            bound: None,
            weak: false,
            implicit: false,
            waiver: None,
        }
    }
}

/// A threshold as people read it.
fn show(t: &Threshold) -> String {
    match t.unit.as_str() {
        "ms" => evidence::latency((t.value * 1e3).round() as u64),
        "%" => evidence::percent(t.value / 100.0),
        "/s" => format!("{}/s", t.value),
        "B" => format!("{:.1} MB", t.value / 1e6),
        "%cpu" => format!("{}%", t.value),
        "s" => format!("{}s", t.value),
        _ => format!("{}", t.value),
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1e3
}

/// The metric and operator a typed criterion was written with, and its threshold.
fn identity(c: &Criterion) -> (String, Op, Threshold) {
    match &c.kind {
        CriterionKind::FailureRate {
            limit,
            written_as_success: true,
        } => (
            "success_rate".into(),
            Op::Gt,
            Threshold::new((1.0 - limit) * 100.0, "%"),
        ),
        CriterionKind::FailureRate { limit, .. } => (
            "error_rate".into(),
            Op::Lt,
            Threshold::new(limit * 100.0, "%"),
        ),
        CriterionKind::Quantile { q, threshold, tail } => (
            evidence::quantile_name(*q),
            if *tail == Tail::Below { Op::Lt } else { Op::Gt },
            Threshold::new(ms(threshold.as_micros()), "ms"),
        ),
        CriterionKind::Mean { threshold, below } => (
            "mean".into(),
            if *below { Op::Lt } else { Op::Gt },
            Threshold::new(ms(threshold.as_micros()), "ms"),
        ),
        CriterionKind::Extreme { max, op, threshold } => (
            if *max { "max" } else { "min" }.into(),
            *op,
            Threshold::new(ms(threshold.as_micros()), "ms"),
        ),
        CriterionKind::Failures { op, count } => (
            "failures".into(),
            *op,
            Threshold::new(*count as f64, "count"),
        ),
        CriterionKind::Throughput { op, per_second } => {
            ("rps".into(), *op, Threshold::new(*per_second, "/s"))
        }
        CriterionKind::Baseline { measure, op, .. } => {
            let unit = match measure {
                BaselineMeasure::ErrorRate => "%",
                BaselineMeasure::Throughput => "/s",
                _ => "ms",
            };
            (measure.name(), *op, Threshold::new(0.0, unit))
        }
    }
}

fn no_data(mut out: JudgedCriterion, obs: &Observations) -> JudgedCriterion {
    out.why = match &obs.setup_error {
        Some(e) => format!("no data: the check could not run ({e})"),
        None if obs.samples > 0 => format!(
            "no data: all {} samples failed, so no latency was measured",
            obs.samples
        ),
        None => "no data: 0 samples".to_string(),
    };
    out
}

/// Judges `c` on `obs` at confidence `conf`. A latency claim measured by a load run that
/// could not produce its intended load cannot pass: it says nothing about that load.
pub fn judge(c: &Criterion, obs: &Observations, conf: Confidence) -> JudgedCriterion {
    let (metric, op, threshold) = identity(c);
    let base = JudgedCriterion::unjudged(&c.text, &metric, op, threshold);
    if let CriterionKind::Baseline { .. } = c.kind {
        let mut out = base;
        out.expected = c.text.clone();
        out.why = match &c.baseline {
            Some(source) => format!(
                "no threshold could be taken from the {}: {}",
                source.describe(),
                source.unusable.as_deref().unwrap_or("it has no figure for this measure")
            ),
            None => "no baseline run was given to compare with (golive run --baseline BASE/results.json)".into(),
        };
        return out;
    }
    let mut out = judge_measured(c, obs, conf, base);
    if let Some(source) = &c.baseline {
        out.expected = format!("{} ({})", out.expected, source.describe());
        out.why = format!("{}; threshold from {}", out.why, source.threshold_text());
        if let Some(why) = &source.unusable {
            out.outcome = Outcome::Inconclusive;
            out.why = format!("{}; but {why}, so the threshold says too little", out.why);
        }
    }
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

/// True when `c` counts failed samples against itself (so they are not left unjudged).
pub fn counts_failures(c: &Criterion) -> bool {
    matches!(
        c.kind,
        CriterionKind::FailureRate { .. }
            | CriterionKind::Failures { .. }
            | CriterionKind::Quantile {
                tail: Tail::Below,
                ..
            }
            | CriterionKind::Extreme { max: true, .. }
    )
}

fn judge_measured(
    c: &Criterion,
    obs: &Observations,
    conf: Confidence,
    mut out: JudgedCriterion,
) -> JudgedCriterion {
    let pct = conf;
    match &c.kind {
        CriterionKind::FailureRate {
            limit,
            written_as_success,
        } => {
            if *written_as_success {
                out.expected = format!("success rate > {}", evidence::percent(1.0 - limit));
            } else {
                out.expected = format!("error rate < {}", evidence::percent(*limit));
            }
            if obs.samples == 0 {
                return no_data(out, obs);
            }
            let j = evidence::judge_proportion(obs.failures, obs.samples, *limit, conf);
            let rate = j.observed.unwrap_or(0.0);
            (out.observed, out.observed_value) = match written_as_success {
                true => (
                    format!(
                        "success rate {} ({} of {})",
                        evidence::percent(1.0 - rate),
                        evidence::thousands(obs.samples - obs.failures),
                        evidence::thousands(obs.samples)
                    ),
                    Some((1.0 - rate) * 100.0),
                ),
                false => (
                    format!(
                        "error rate {} ({} of {})",
                        evidence::percent(rate),
                        evidence::thousands(obs.failures),
                        evidence::thousands(obs.samples)
                    ),
                    Some(rate * 100.0),
                ),
            };
            out.outcome = j.outcome;
            out.n = obs.samples;
            out.lower_bound = j.lower_bound;
            out.upper_bound = j.upper_bound;
            out.bound = rate_bound(&j, pct);
            out.why = j.why;
            out.samples_needed = j.samples_needed;
            out
        }
        CriterionKind::Quantile { q, threshold, tail } => {
            let name = evidence::quantile_name(*q);
            let sign = if *tail == Tail::Below { "<" } else { ">" };
            out.expected = format!("{name} {sign} {}", evidence::latency(threshold.as_micros()));
            if obs.latency.is_empty() && (obs.failures == 0 || *tail == Tail::Above) {
                return no_data(out, obs);
            }
            let j = evidence::judge_quantile(
                &obs.latency,
                obs.failures,
                *q,
                threshold.as_micros(),
                *tail,
                conf,
            );
            let successes = match j.success_observed_us {
                Some(v) if j.failed > 0 => format!(
                    "; successful samples alone: {name} = {} (n = {})",
                    evidence::latency(v),
                    evidence::thousands(obs.latency.len())
                ),
                _ => String::new(),
            };
            out.observed = match (j.observed_us, j.observed_failed, j.interval_us) {
                (_, true, _) => format!(
                    "{name} beyond any threshold: the rank falls among the {} failed samples (n = {}){successes}",
                    evidence::thousands(j.failed),
                    evidence::thousands(j.n)
                ),
                (Some(v), false, Some((lo, hi))) if j.failed == 0 => format!(
                    "{name} = {} (n = {}; {pct} interval {} to {})",
                    evidence::latency(v),
                    evidence::thousands(j.n),
                    evidence::latency(lo),
                    evidence::latency(hi)
                ),
                (Some(v), false, _) => format!(
                    "{name} = {} (n = {}){successes}",
                    evidence::latency(v),
                    evidence::thousands(j.n)
                ),
                (None, false, _) => "no data".into(),
            };
            out.observed_value = j.observed_us.filter(|_| !j.observed_failed).map(ms);
            out.outcome = j.outcome;
            out.n = j.n;
            out.lower_bound = j.lower_bound;
            out.upper_bound = j.upper_bound;
            let beyond = format!(
                "{} of {} samples beyond {}",
                evidence::thousands(j.k_beyond),
                evidence::thousands(j.n),
                evidence::latency(j.threshold_us)
            );
            out.bound = match (j.outcome, j.lower_bound, j.upper_bound) {
                (Outcome::Fail, Some(l), _) => Some(format!(
                    "{beyond}: at least {} at {pct} confidence",
                    evidence::percent_bound(l, 1.0 - q, false)
                )),
                (Outcome::Inconclusive, Some(l), _)
                    if j.k_beyond as f64 >= (1.0 - q) * j.n as f64 && *tail == Tail::Below =>
                {
                    Some(format!(
                        "{beyond}: at least {} at {pct} confidence",
                        evidence::percent_bound(l, 1.0 - q, false)
                    ))
                }
                (_, _, Some(u)) => Some(format!(
                    "{beyond}: at most {} at {pct} confidence",
                    evidence::percent_bound(u, 1.0 - q, true)
                )),
                _ => None,
            };
            out.why = j.why + &successes;
            out.samples_needed = j.samples_needed;
            out
        }
        CriterionKind::Mean { threshold, below } => {
            let sign = if *below { "<" } else { ">" };
            out.expected = format!("mean {sign} {}", evidence::latency(threshold.as_micros()));
            out.weak = true;
            let Some(m) = evidence::mean_interval(&obs.latency, conf) else {
                return no_data(out, obs);
            };
            let t = threshold.as_micros() as f64;
            let outcome = match below {
                true if m.lo_us >= t => Outcome::Fail,
                true if m.hi_us < t => Outcome::Pass,
                false if m.hi_us <= t => Outcome::Fail,
                false if m.lo_us > t => Outcome::Pass,
                _ => Outcome::Inconclusive,
            };
            let interval = format!(
                "{pct} interval {} to {}",
                evidence::latency(m.lo_us.max(0.0) as u64),
                evidence::latency(m.hi_us as u64)
            );
            out.outcome = outcome;
            out.observed_value = Some(m.mean_us / 1e3);
            out.n = m.n;
            out.observed = format!(
                "mean = {} (n = {})",
                evidence::latency(m.mean_us as u64),
                evidence::thousands(m.n)
            );
            out.bound = Some(interval.clone());
            out.why = format!(
                "mean {} over {} successful samples, {interval} (normal approximation; a mean hides the tail, so this is weaker evidence than a percentile) {}",
                evidence::latency(m.mean_us as u64),
                evidence::thousands(m.n),
                match outcome {
                    Outcome::Pass => format!("supports {}", out.expected),
                    Outcome::Fail => format!("breaks {}", out.expected),
                    Outcome::Inconclusive | Outcome::Waived => {
                        format!("cannot settle {}", out.expected)
                    }
                }
            );
            out
        }
        CriterionKind::Extreme { max, op, threshold } => {
            let name = if *max { "max" } else { "min" };
            out.expected = format!("{name} {op} {}", evidence::latency(threshold.as_micros()));
            out.weak = true;
            if *max && obs.failures > 0 {
                // A failed sample answered within no threshold: the maximum is unbounded.
                out.outcome = Outcome::Fail;
                out.n = obs.samples;
                out.observed = format!(
                    "max beyond any threshold: {} of {} samples failed",
                    evidence::thousands(obs.failures),
                    evidence::thousands(obs.samples)
                );
                out.why = format!(
                    "{} of {} samples failed, so at least one took longer than any threshold",
                    evidence::thousands(obs.failures),
                    evidence::thousands(obs.samples)
                );
                return out;
            }
            if obs.latency.is_empty() {
                return no_data(out, obs);
            }
            let v = if *max {
                obs.latency.max()
            } else {
                obs.latency.min()
            };
            let holds = op.holds(v.cmp(&threshold.as_micros()));
            out.outcome = if holds { Outcome::Pass } else { Outcome::Fail };
            out.observed_value = Some(ms(v));
            out.n = obs.latency.len();
            out.observed = format!(
                "{name} = {} (n = {})",
                evidence::latency(v),
                evidence::thousands(obs.latency.len())
            );
            out.why = format!(
                "the {name} of {} samples was {}; an observation of these samples, not a bound on future ones",
                evidence::thousands(obs.latency.len()),
                evidence::latency(v)
            );
            out
        }
        CriterionKind::Failures { op, count } => failures(obs, *op, *count, out),
        CriterionKind::Throughput { op, per_second } => {
            out.expected = format!("rps {op} {}/s", round_rate(*per_second));
            let (Some(rate), true) = (obs.rate, obs.samples > 0) else {
                return no_data(out, obs);
            };
            let holds = op.holds(rate.total_cmp(per_second));
            out.outcome = if holds { Outcome::Pass } else { Outcome::Fail };
            out.observed_value = Some(rate);
            out.n = obs.samples;
            out.observed = format!(
                "rps = {rate:.1}/s ({} requests in {:.1} s)",
                evidence::thousands(obs.samples),
                obs.duration.as_secs_f64()
            );
            out.why = format!(
                "achieved {rate:.1}/s {} {}",
                if holds { "meets" } else { "breaks" },
                out.expected
            );
            out
        }
        // Unresolved: `judge` has said why before measuring anything.
        CriterionKind::Baseline { .. } => out,
    }
}

/// A rate as written (`120`), or to one decimal when it is not whole (a baseline's).
fn round_rate(r: f64) -> String {
    if r.fract() == 0.0 {
        format!("{r}")
    } else {
        format!("{r:.1}")
    }
}

/// The bound a proportion's outcome rests on, in words: a FAIL (or a breach that is not
/// significant) shows the lower bound, anything else the upper one.
fn rate_bound(j: &evidence::ProportionJudgement, c: Confidence) -> Option<String> {
    let breach = j.observed.is_some_and(|o| o >= j.limit);
    match (j.outcome, breach, j.lower_bound, j.upper_bound) {
        (Outcome::Fail, _, Some(l), _) | (Outcome::Inconclusive, true, Some(l), _) => {
            Some(format!(
                "error rate above {} at {c} confidence",
                evidence::percent_bound(l, j.limit, false)
            ))
        }
        (_, _, _, Some(u)) => Some(format!(
            "error rate below {} at {c} confidence",
            evidence::percent_bound(u, j.limit, true)
        )),
        _ => None,
    }
}

fn failures(obs: &Observations, op: Op, count: u64, mut out: JudgedCriterion) -> JudgedCriterion {
    out.expected = format!("failures {op} {count}");
    if obs.samples == 0 {
        return no_data(out, obs);
    }
    let holds = op.holds(obs.failures.cmp(&count));
    let first = obs
        .reasons
        .first()
        .map(|(_, r, _)| format!("; first: {r}"))
        .unwrap_or_default();
    out.why = if holds {
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
    out.outcome = if holds { Outcome::Pass } else { Outcome::Fail };
    out.observed_value = Some(obs.failures as f64);
    out.n = obs.samples;
    out.observed = format!(
        "{} failures in {} samples",
        evidence::thousands(obs.failures),
        evidence::thousands(obs.samples)
    );
    out
}
