//! Judging resource criteria on a service's series. These are observations of this run
//! (peak, mean, fitted growth), not statistical bounds, and are marked as such.

use super::CriterionOutcome;
use crate::criteria::{ResourceCriterion, ResourceMetric};
use crate::evidence::Outcome;
use crate::services::resources::ResourceSummary;

/// Fewest readings a resource claim needs; growth needs a trend, so more.
const MIN_SAMPLES: usize = 3;
const MIN_GROWTH_SAMPLES: usize = 10;

fn mb(b: f64) -> String {
    format!("{:.1} MB", b / 1e6)
}

pub fn judge_resource(
    c: &ResourceCriterion,
    service: &str,
    s: Option<&ResourceSummary>,
) -> CriterionOutcome {
    let expected = c.text.clone();
    let inconclusive = |why: String, samples: u64| CriterionOutcome {
        criterion: c.text.clone(),
        outcome: Outcome::Inconclusive,
        expected: expected.clone(),
        observed: "no data".into(),
        samples,
        bound: None,
        why,
        samples_needed: None,
        weak: true,
    };
    let Some(s) = s else {
        return inconclusive(
            format!(
                "no data: `{service}` is not a service golive runs, or it has not been sampled yet"
            ),
            0,
        );
    };
    let need = if c.metric == ResourceMetric::MemoryGrowth {
        MIN_GROWTH_SAMPLES
    } else {
        MIN_SAMPLES
    };
    if s.samples < need {
        return inconclusive(
            format!(
                "{} readings of `{service}` (one a second); {need} are needed",
                s.samples
            ),
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
    let holds = c.op.holds(value.total_cmp(&c.threshold));
    CriterionOutcome {
        criterion: c.text.clone(),
        outcome: if holds { Outcome::Pass } else { Outcome::Fail },
        expected,
        observed,
        samples: s.samples as u64,
        bound: None,
        why: format!(
            "{why}; {} {}",
            if holds { "meets" } else { "breaks" },
            c.text
        ),
        samples_needed: None,
        weak: true,
    }
}
