//! Criteria: typed claims over all of an item's samples (`p95 < 100ms`, `error_rate < 1%`,
//! `success_rate >= 99.5%`, `mean < 50ms`, `max < 1s`, `failures == 0`) and over what a
//! service used (`memory < 200MB`, `cpu < 25%`, `restarts == 0`), with the defaults an
//! item gets when it lists none. A leaf: the compiler (`plan`) builds them from parsed
//! expressions, and `load` and `verdict` judge them, without importing the compiler.

mod baseline;

pub use baseline::{
    BaselineFigures, BaselineMeasure, BaselineOffset, BaselineSource, MIN_BASELINE_SAMPLES,
};

use crate::evidence::{fail_is_certain, Confidence, Tail};
use crate::expr::Op;
use crate::units::Duration;

/// One claim, with the text the user wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub text: String,
    pub kind: CriterionKind,
    /// For a claim written against a baseline run: where its threshold came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSource>,
}

/// What is claimed, in typed form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CriterionKind {
    /// The failure proportion is below `limit` (a fraction in (0, 1]). `success_rate > s`
    /// becomes a failure limit of `1 - s`.
    FailureRate {
        limit: f64,
        written_as_success: bool,
    },
    /// The latency `q`-quantile is below (or above) `threshold`.
    Quantile {
        q: f64,
        threshold: Duration,
        tail: Tail,
    },
    /// The mean latency is below (or above) `threshold`; weaker evidence.
    Mean { threshold: Duration, below: bool },
    /// The largest (or smallest) latency observed satisfies `op threshold`; an observation
    /// of these samples, not a statistical claim.
    Extreme {
        max: bool,
        op: Op,
        threshold: Duration,
    },
    /// The count of failed samples satisfies `op count`.
    Failures { op: Op, count: u64 },
    /// Achieved completions per second satisfy `op rate`: requests of a load run, or
    /// samples of a check item (failed ones count too; pair it with `error_rate`).
    Throughput { op: Op, per_second: f64 },
    /// A claim against the same measure of a baseline run (`p95 <= baseline + 10%`), not
    /// yet resolved: a run resolves it once it has read its baseline
    /// ([`Criterion::resolve`]); unresolved it can only be INCONCLUSIVE.
    Baseline {
        measure: BaselineMeasure,
        op: Op,
        offset: BaselineOffset,
    },
}

impl Criterion {
    /// The latency threshold in µs of a claim on the slow tail (`p95 < T`, `max < T`),
    /// whose runs of consecutive samples beyond it are worth recording.
    pub fn latency_threshold_us(&self) -> Option<u64> {
        match &self.kind {
            CriterionKind::Quantile {
                threshold,
                tail: Tail::Below,
                ..
            }
            | CriterionKind::Extreme {
                max: true,
                threshold,
                ..
            } => Some(threshold.as_micros()),
            _ => None,
        }
    }

    /// True when these partial observations already make a supported FAIL certain at
    /// confidence `c`, whatever the remaining samples of the `planned` total show (the
    /// lower bound only falls as good samples are added, so it is taken at `planned` with
    /// no further failures); sampling can then stop. Failed samples count beyond every
    /// latency threshold.
    pub fn certain_fail(
        &self,
        failures: u64,
        latency: &hdrhistogram::Histogram<u64>,
        planned: u64,
        c: Confidence,
    ) -> bool {
        match &self.kind {
            CriterionKind::FailureRate { limit, .. } => {
                fail_is_certain(failures, planned, *limit, c)
            }
            CriterionKind::Quantile {
                q,
                threshold,
                tail: Tail::Below,
            } => {
                let t = threshold.as_micros();
                let beyond: u64 = latency
                    .iter_recorded()
                    .filter(|v| latency.highest_equivalent(v.value_iterated_to()) >= t)
                    .map(|v| v.count_since_last_iteration())
                    .sum();
                fail_is_certain(beyond + failures, planned, 1.0 - q, c)
            }
            CriterionKind::Extreme {
                max: true,
                op,
                threshold,
            } => {
                failures > 0
                    || (!latency.is_empty() && !op.holds(latency.max().cmp(&threshold.as_micros())))
            }
            CriterionKind::Failures { op, count } => match op {
                Op::Eq | Op::Le => failures > *count,
                Op::Lt => failures >= *count,
                _ => false,
            },
            _ => false,
        }
    }
}

/// The default when an item lists no criteria: every sample meets its expectations.
pub fn every_sample_passes() -> Criterion {
    Criterion {
        text: "failures == 0".into(),
        kind: CriterionKind::Failures {
            op: Op::Eq,
            count: 0,
        },
        baseline: None,
    }
}

/// `p95` → 0.95, `p99.9` → 0.999, `p50` → 0.5; `None` for anything else.
pub fn quantile_of(metric: &str) -> Option<f64> {
    let digits = metric.strip_prefix('p')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let q: f64 = digits.parse().ok()?;
    // Divide exact integers so `p99.9` is exactly the double nearest 0.999.
    (q > 0.0 && q < 100.0).then_some((q * 1e6).round() / 1e8)
}

/// What a resource criterion measures.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceMetric {
    Memory,
    MemoryGrowth,
    /// Least-squares slope of memory, bytes per minute.
    MemorySlope,
    Cpu,
    CpuMax,
    Restarts,
}

impl ResourceMetric {
    /// Fewest readings a claim on this metric needs: a trend (growth, slope) needs more
    /// than a peak or a mean. The run samples faster when an item has fewer.
    pub fn readings_needed(self) -> usize {
        match self {
            ResourceMetric::MemoryGrowth | ResourceMetric::MemorySlope => 10,
            _ => 3,
        }
    }
}

/// One resource criterion, with its threshold in bytes, percent or a count.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceCriterion {
    pub text: String,
    pub metric: ResourceMetric,
    pub op: Op,
    pub threshold: f64,
}

/// The default: the service did not restart.
pub fn no_restarts() -> ResourceCriterion {
    ResourceCriterion {
        text: "restarts == 0".into(),
        metric: ResourceMetric::Restarts,
        op: Op::Eq,
        threshold: 0.0,
    }
}
