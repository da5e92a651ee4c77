//! Judging resource criteria on a service's series. These are observations of this run
//! (peak, mean, fitted growth), not statistical bounds, and are marked as such.

use super::criterion::{JudgedCriterion, Threshold};
use crate::criteria::{ResourceCriterion, ResourceMetric};
use crate::evidence::Outcome;
use crate::services::resources::ResourceSummary;

fn mb(b: f64) -> String {
    format!("{:.1} MB", b / 1e6)
}

/// The metric's name as written, and its threshold's unit.
fn identity(c: &ResourceCriterion) -> (&'static str, Threshold) {
    let (name, unit) = match c.metric {
        ResourceMetric::Memory => ("memory", "B"),
        ResourceMetric::MemoryGrowth => ("memory_growth", "B"),
        ResourceMetric::MemorySlope => ("memory_slope", "B/min"),
        ResourceMetric::Cpu => ("cpu", "%cpu"),
        ResourceMetric::CpuMax => ("cpu_max", "%cpu"),
        ResourceMetric::Restarts => ("restarts", "count"),
    };
    (name, Threshold::new(c.threshold, unit))
}

pub fn judge_resource(
    c: &ResourceCriterion,
    service: &str,
    s: Option<&ResourceSummary>,
) -> JudgedCriterion {
    let (metric, threshold) = identity(c);
    let mut base = JudgedCriterion::unjudged(&c.text, metric, c.op, threshold);
    base.expected = c.text.clone();
    base.weak = true;
    let inconclusive = |why: String, samples: u64| JudgedCriterion {
        n: samples,
        why,
        ..base.clone()
    };
    let Some(s) = s else {
        return inconclusive(
            format!(
                "no data: `{service}` is not a service golive runs, or it has not been sampled yet"
            ),
            0,
        );
    };
    let need = c.metric.readings_needed();
    if s.samples < need {
        return inconclusive(
            format!("{} readings of `{service}`; {need} are needed", s.samples),
            s.samples as u64,
        );
    }
    let (value, observed, why) = match c.metric {
        ResourceMetric::Memory => (
            s.memory_max_bytes as f64,
            format!(
                "peak memory {} (first {}, last {})",
                mb(s.memory_max_bytes as f64),
                mb(s.memory_first_bytes as f64),
                mb(s.memory_last_bytes as f64)
            ),
            format!(
                "resident memory of `{service}` peaked at {} over {} readings",
                mb(s.memory_max_bytes as f64),
                s.samples
            ),
        ),
        ResourceMetric::MemoryGrowth => {
            let g = s.memory_growth_bytes.unwrap_or(0.0);
            let slope = s.memory_slope_bytes_per_min.unwrap_or(0.0);
            (
                g,
                format!(
                    "grew {} over {:.0} s ({}/min)",
                    mb(g),
                    s.duration_s,
                    mb(slope)
                ),
                format!(
                    "least-squares slope {} per minute over {} readings ({:.0} s): {} of growth",
                    mb(slope),
                    s.samples,
                    s.duration_s,
                    mb(g)
                ),
            )
        }
        ResourceMetric::MemorySlope => {
            let slope = s.memory_slope_bytes_per_min.unwrap_or(0.0);
            (
                slope,
                format!("memory slope {}/min over {:.0} s", mb(slope), s.duration_s),
                format!(
                    "least-squares slope of `{service}`'s memory {} per minute over {} readings ({:.0} s)",
                    mb(slope),
                    s.samples,
                    s.duration_s
                ),
            )
        }
        ResourceMetric::Cpu => {
            let v = s.cpu_mean_percent.unwrap_or(0.0);
            (
                v,
                format!("mean CPU {v:.1}% of one core"),
                format!(
                    "mean CPU of `{service}` over {} readings was {v:.1}% (max {:.1}%)",
                    s.samples,
                    s.cpu_max_percent.unwrap_or(0.0)
                ),
            )
        }
        ResourceMetric::CpuMax => {
            let v = s.cpu_max_percent.unwrap_or(0.0);
            (
                v,
                format!("max CPU {v:.1}% of one core"),
                format!("the busiest second of `{service}` used {v:.1}% of one core"),
            )
        }
        ResourceMetric::Restarts => (
            s.restarts as f64,
            format!("{} restarts", s.restarts),
            format!("`{service}` restarted {} times", s.restarts),
        ),
    };
    let why = match &s.scope {
        Some(scope) => format!("{scope}: {why}"),
        None => why,
    };
    let holds = c.op.holds(value.total_cmp(&c.threshold));
    JudgedCriterion {
        outcome: if holds { Outcome::Pass } else { Outcome::Fail },
        observed,
        observed_value: Some(value),
        n: s.samples as u64,
        why: format!(
            "{why}; {} {}",
            if holds { "meets" } else { "breaks" },
            c.text
        ),
        ..base
    }
}
