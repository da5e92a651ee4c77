//! Claims against a baseline run (`p95 <= baseline + 10%`, `mean <= baseline - 50%`,
//! `error_rate <= baseline`, `rps >= baseline - 5%`): the compiler types them as
//! [`CriterionKind::Baseline`]; once a run has read its baseline, [`Criterion::resolve`]
//! turns each into an ordinary claim with a fixed threshold taken from the same item (and
//! request) of the baseline run, and records where that threshold came from, so the claim
//! is judged, stored and judged again like any other.
//!
//! The baseline's figure is its point estimate (nearest-rank quantile counting failed
//! samples as beyond any latency, mean of the successful samples, failure proportion,
//! achieved rate); the current run is then judged against it with the usual two-sided
//! bounds. A baseline with fewer than [`MIN_BASELINE_SAMPLES`] samples says too little to
//! set a threshold, and the claim is INCONCLUSIVE.

use super::{Criterion, CriterionKind};
use crate::evidence::{judge_quantile, mean_interval, quantile_name, Confidence, Tail};
use crate::expr::Op;
use crate::units::Duration;
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fewest baseline samples a threshold is taken from (evidence.md, "Baselines").
pub const MIN_BASELINE_SAMPLES: u64 = crate::evidence::compare::MIN_SAMPLES;

/// What a baseline claim compares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "measure", rename_all = "snake_case", deny_unknown_fields)]
pub enum BaselineMeasure {
    Quantile { q: f64 },
    Mean,
    ErrorRate,
    Throughput,
}

impl BaselineMeasure {
    /// `p95`, `mean`, `error_rate`, `rps`.
    pub fn name(self) -> String {
        match self {
            BaselineMeasure::Quantile { q } => quantile_name(q),
            BaselineMeasure::Mean => "mean".into(),
            BaselineMeasure::ErrorRate => "error_rate".into(),
            BaselineMeasure::Throughput => "rps".into(),
        }
    }
}

/// How far from the baseline's figure the threshold lies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum BaselineOffset {
    /// The figure itself.
    None,
    /// The figure times (1 + `fraction`); `-0.5` is half of it.
    Relative { fraction: f64 },
    /// The figure plus `micros` (negative: minus), for latency measures.
    Latency { micros: i64 },
}

impl BaselineOffset {
    /// ` + 10%`, ` - 5 ms`, or nothing.
    pub fn describe(self) -> String {
        let sign = |neg: bool| if neg { '-' } else { '+' };
        match self {
            BaselineOffset::None => String::new(),
            BaselineOffset::Relative { fraction } => {
                format!(
                    " {} {}%",
                    sign(fraction < 0.0),
                    trim(fraction.abs() * 100.0)
                )
            }
            BaselineOffset::Latency { micros } => format!(
                " {} {}",
                sign(micros < 0),
                crate::evidence::latency(micros.unsigned_abs())
            ),
        }
    }

    fn apply(self, figure: f64, micros_per_unit: f64) -> f64 {
        match self {
            BaselineOffset::None => figure,
            BaselineOffset::Relative { fraction } => figure * (1.0 + fraction),
            BaselineOffset::Latency { micros } => figure + micros as f64 / micros_per_unit,
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What the baseline run measured for one item (or one request of a load item).
#[derive(Debug, Clone)]
pub struct BaselineFigures {
    /// The baseline run's id and the file it was read from.
    pub run_id: String,
    pub file: String,
    /// Samples (probes or requests), failed ones included.
    pub samples: u64,
    pub failures: u64,
    /// Latencies of the successful samples, µs.
    pub latency: Option<Histogram<u64>>,
    /// Completed samples per second, for a load run.
    pub rate: Option<f64>,
}

/// Where a resolved claim's threshold came from: shown beside it in every report, and
/// kept in `results.json` so the claim is judged again without the baseline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineSource {
    pub run_id: String,
    pub file: String,
    /// `p95`, `mean`, `error_rate` or `rps`.
    pub measure: String,
    /// The baseline's figure, in the threshold's unit (ms, a fraction, or per second);
    /// `None` when the baseline had nothing to take it from.
    pub value: Option<f64>,
    /// The baseline's samples, failed ones included.
    pub n: u64,
    /// Why no threshold could be taken, when none was (too few samples, the quantile's
    /// rank among failed samples): the claim is then INCONCLUSIVE.
    pub unusable: Option<String>,
    pub offset: BaselineOffset,
}

impl BaselineSource {
    /// "baseline p95 12.3 ms + 10%".
    pub fn threshold_text(&self) -> String {
        let value = match (self.value, self.measure.as_str()) {
            (None, _) => "unknown".to_string(),
            (Some(v), "error_rate") => crate::evidence::percent(v),
            (Some(v), "rps") => format!("{v:.1}/s"),
            (Some(v), _) => crate::evidence::latency((v * 1e3).round() as u64),
        };
        format!(
            "baseline {} {value}{}",
            self.measure,
            self.offset.describe()
        )
    }

    /// "baseline p95 12.3 ms + 10%, from 5,000 samples of run 2026…".
    pub fn describe(&self) -> String {
        format!(
            "{}, from {} of run {}",
            self.threshold_text(),
            crate::evidence::count_of(self.n, "sample"),
            self.run_id
        )
    }
}

impl Criterion {
    /// True for a claim that needs a baseline run.
    pub fn needs_baseline(&self) -> bool {
        matches!(self.kind, CriterionKind::Baseline { .. })
    }

    /// This claim with its threshold taken from `base` (a baseline claim), or itself (any
    /// other). A baseline without enough samples, or whose quantile falls among its failed
    /// samples, yields a claim that records why and is judged INCONCLUSIVE.
    pub fn resolve(&self, base: &BaselineFigures, c: Confidence) -> Criterion {
        let CriterionKind::Baseline {
            measure,
            op,
            offset,
        } = self.kind
        else {
            return self.clone();
        };
        let below = matches!(op, Op::Lt | Op::Le);
        let (value, unusable) = figure(measure, base, c);
        let unusable = match (unusable, base.samples < MIN_BASELINE_SAMPLES) {
            (Some(why), _) => Some(why),
            (None, true) => Some(format!(
                "the baseline has {} samples; at least {MIN_BASELINE_SAMPLES} are needed to take a threshold from it",
                base.samples
            )),
            (None, false) => None,
        };
        let source = BaselineSource {
            run_id: base.run_id.clone(),
            file: base.file.clone(),
            measure: measure.name(),
            value,
            n: base.samples,
            unusable,
            offset,
        };
        let kind = match value {
            None => self.kind.clone(),
            Some(v) => resolved_kind(measure, below, op, offset, v),
        };
        Criterion {
            text: self.text.clone(),
            kind,
            baseline: Some(source),
        }
    }
}

/// The baseline's figure for `measure` in the threshold's unit, or why there is none.
fn figure(
    measure: BaselineMeasure,
    base: &BaselineFigures,
    c: Confidence,
) -> (Option<f64>, Option<String>) {
    let empty = Histogram::<u64>::new(3).ok();
    let latency = base.latency.as_ref().or(empty.as_ref());
    match measure {
        BaselineMeasure::ErrorRate if base.samples > 0 => {
            (Some(base.failures as f64 / base.samples as f64), None)
        }
        BaselineMeasure::ErrorRate => (None, Some("the baseline has no samples".into())),
        BaselineMeasure::Throughput => match base.rate {
            Some(r) => (Some(r), None),
            None => (
                None,
                Some("the baseline item recorded no rate (rps is measured by load items)".into()),
            ),
        },
        BaselineMeasure::Mean => match latency.and_then(|h| mean_interval(h, c)) {
            Some(m) => (Some(m.mean_us / 1e3), None),
            None => (
                None,
                Some("the baseline has fewer than 2 successful samples".into()),
            ),
        },
        BaselineMeasure::Quantile { q } => {
            let Some(h) = latency else {
                return (None, Some("no latency histogram".into()));
            };
            let j = judge_quantile(h, base.failures, q, u64::MAX, Tail::Below, c);
            match (j.observed_us, j.observed_failed) {
                (_, true) => (
                    None,
                    Some(format!(
                        "the baseline's {} falls among its {} failed samples, so it has no latency to compare with",
                        quantile_name(q),
                        base.failures
                    )),
                ),
                (Some(us), false) => (Some(us as f64 / 1e3), None),
                (None, false) => (None, Some("the baseline has no samples".into())),
            }
        }
    }
}

/// The ordinary claim with the threshold `offset` away from the baseline's `v`.
fn resolved_kind(
    measure: BaselineMeasure,
    below: bool,
    op: Op,
    offset: BaselineOffset,
    v: f64,
) -> CriterionKind {
    let latency_us = |ms: f64| {
        let us = (offset.apply(ms, 1e3) * 1e3).max(0.0).round() as u64;
        Duration::from_std(std::time::Duration::from_micros(us))
    };
    match measure {
        BaselineMeasure::Quantile { q } => CriterionKind::Quantile {
            q,
            threshold: latency_us(v),
            tail: if below { Tail::Below } else { Tail::Above },
        },
        BaselineMeasure::Mean => CriterionKind::Mean {
            threshold: latency_us(v),
            below,
        },
        BaselineMeasure::ErrorRate => {
            let limit = offset.apply(v, 1.0).min(1.0);
            if limit <= 0.0 {
                // No failure proportion above zero can be shown by sampling to be below
                // zero; a baseline without failures asks for none.
                CriterionKind::Failures {
                    op: Op::Eq,
                    count: 0,
                }
            } else {
                CriterionKind::FailureRate {
                    limit,
                    written_as_success: false,
                }
            }
        }
        BaselineMeasure::Throughput => CriterionKind::Throughput {
            op,
            per_second: offset.apply(v, 1.0).max(0.0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(kind: CriterionKind) -> Criterion {
        Criterion {
            text: "claim".into(),
            kind,
            baseline: None,
        }
    }

    /// `n` successful samples at 1..=n ms and `failures` failed ones.
    fn figures(n: u64, failures: u64) -> BaselineFigures {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for ms in 1..=n {
            h.record(ms * 1000).unwrap();
        }
        BaselineFigures {
            run_id: "base".into(),
            file: "base/results.json".into(),
            samples: n + failures,
            failures,
            latency: Some(h),
            rate: Some(200.0),
        }
    }

    fn resolved(kind: CriterionKind, base: &BaselineFigures) -> Criterion {
        claim(kind).resolve(base, Confidence::DEFAULT)
    }

    #[test]
    fn takes_the_threshold_from_the_baseline() {
        let base = figures(100, 0);
        // p95 of 1..=100 ms is 95 ms; + 10% is 104.5 ms (the bucket's top end, 95.0x ms).
        let c = resolved(
            CriterionKind::Baseline {
                measure: BaselineMeasure::Quantile { q: 0.95 },
                op: Op::Le,
                offset: BaselineOffset::Relative { fraction: 0.1 },
            },
            &base,
        );
        match c.kind {
            CriterionKind::Quantile {
                q,
                threshold,
                tail: Tail::Below,
            } => {
                assert_eq!(q, 0.95);
                let ms = threshold.as_micros() as f64 / 1e3;
                assert!((104.5..104.6).contains(&ms), "{ms}");
            }
            other => panic!("{other:?}"),
        }
        let source = c.baseline.unwrap();
        assert_eq!((source.n, source.unusable.as_deref()), (100, None));
        assert_eq!(source.threshold_text(), "baseline p95 95 ms + 10%");
        // Mean of 1..=100 ms is 50.5 ms; - 50% is 25.25 ms.
        let c = resolved(
            CriterionKind::Baseline {
                measure: BaselineMeasure::Mean,
                op: Op::Le,
                offset: BaselineOffset::Relative { fraction: -0.5 },
            },
            &base,
        );
        match c.kind {
            CriterionKind::Mean {
                threshold,
                below: true,
            } => {
                let ms = threshold.as_micros() as f64 / 1e3;
                assert!((25.2..25.3).contains(&ms), "{ms}");
            }
            other => panic!("{other:?}"),
        }
        let c = resolved(
            CriterionKind::Baseline {
                measure: BaselineMeasure::Quantile { q: 0.5 },
                op: Op::Lt,
                offset: BaselineOffset::Latency { micros: -10_000 },
            },
            &base,
        );
        assert!(
            matches!(c.kind, CriterionKind::Quantile { threshold, .. } if (40_000..40_100).contains(&threshold.as_micros())),
            "{c:?}"
        );
        let c = resolved(
            CriterionKind::Baseline {
                measure: BaselineMeasure::Throughput,
                op: Op::Ge,
                offset: BaselineOffset::Relative { fraction: -0.05 },
            },
            &base,
        );
        assert!(
            matches!(c.kind, CriterionKind::Throughput { op: Op::Ge, per_second } if (per_second - 190.0).abs() < 1e-9),
            "{c:?}"
        );
    }

    #[test]
    fn an_error_rate_claim_follows_the_baseline_rate() {
        let error_rate = |offset| CriterionKind::Baseline {
            measure: BaselineMeasure::ErrorRate,
            op: Op::Le,
            offset,
        };
        // 10 failed of 200: 5%; 87% fewer is 0.65%.
        let c = resolved(
            error_rate(BaselineOffset::Relative { fraction: -0.87 }),
            &figures(190, 10),
        );
        assert!(
            matches!(c.kind, CriterionKind::FailureRate { limit, written_as_success: false } if (limit - 0.0065).abs() < 1e-12),
            "{c:?}"
        );
        // A baseline without failures asks for none: no sample can show a rate below 0.
        let c = resolved(error_rate(BaselineOffset::None), &figures(200, 0));
        assert_eq!(
            c.kind,
            CriterionKind::Failures {
                op: Op::Eq,
                count: 0
            }
        );
    }

    #[test]
    fn a_thin_or_failed_baseline_sets_no_usable_threshold() {
        let p95 = CriterionKind::Baseline {
            measure: BaselineMeasure::Quantile { q: 0.95 },
            op: Op::Le,
            offset: BaselineOffset::None,
        };
        let thin = resolved(p95.clone(), &figures(20, 0));
        let why = thin.baseline.unwrap().unusable.unwrap();
        assert!(why.contains("20 samples; at least 50"), "{why}");
        // 60 of 100 failed: the p95's rank falls among the failures.
        let failed = resolved(p95, &figures(40, 60));
        assert!(
            failed.needs_baseline(),
            "no threshold, still a baseline claim"
        );
        let why = failed.baseline.unwrap().unusable.unwrap();
        assert!(why.contains("falls among its 60 failed samples"), "{why}");
    }
}
