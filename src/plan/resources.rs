//! Resource criteria on a service golive runs: `memory < 200MB` (peak memory of all its processes),
//! `memory_growth < 50MB` (least-squares growth over the run, for leak checks),
//! `memory_slope < 1MB/m` (that slope as a rate, which does not depend on how long the
//! readings ran; with `during:` a load's warm-up is left out),
//! `cpu < 25%` (mean CPU, percent of one core), `cpu_max < 90%`, `restarts == 0`,
//! typed from a parsed comparison into a [`ResourceCriterion`].

use crate::criteria::{ResourceCriterion, ResourceMetric};
use crate::expr::{Comparison, Op, PathSeg, Value};

const METRICS: [&str; 6] = [
    "memory",
    "memory_growth",
    "memory_slope",
    "cpu",
    "cpu_max",
    "restarts",
];

pub fn build(text: &str, c: &Comparison) -> Result<ResourceCriterion, (usize, String)> {
    let name = match c.subject.as_slice() {
        [PathSeg::Key(k)] => k.as_str(),
        _ => {
            return Err((
                c.subject_at,
                format!(
                    "`{}` is not a resource metric; use {}",
                    c.subject_text(),
                    METRICS.join(", ")
                ),
            ))
        }
    };
    if matches!(c.op, Op::Contains | Op::NotContains | Op::Matches) {
        return Err((
            c.op_at,
            format!("{name} compares with <, <=, >, >=, == or !="),
        ));
    }
    let (metric, threshold) = match (name, &c.value) {
        ("memory", Value::Bytes(b)) => (ResourceMetric::Memory, b.bytes() as f64),
        ("memory_growth", Value::Bytes(b)) => (ResourceMetric::MemoryGrowth, b.bytes() as f64),
        (
            "memory_slope",
            Value::ByteRate {
                bytes_per_second, ..
            },
        ) => (ResourceMetric::MemorySlope, bytes_per_second * 60.0),
        ("memory_slope", v) => {
            return Err((
                c.value_at,
                format!(
                    "memory_slope needs a byte rate such as `1MB/m` (per s, m or h), not {}",
                    v.kind()
                ),
            ))
        }
        ("cpu", Value::Percent(p)) => (ResourceMetric::Cpu, p.fraction() * 100.0),
        ("cpu_max", Value::Percent(p)) => (ResourceMetric::CpuMax, p.fraction() * 100.0),
        ("restarts", Value::Number(n)) if *n >= 0.0 && n.fract() == 0.0 => {
            (ResourceMetric::Restarts, *n)
        }
        ("memory" | "memory_growth", v) => {
            return Err((
                c.value_at,
                format!("{name} needs a byte size such as `200MB`, not {}", v.kind()),
            ))
        }
        ("cpu" | "cpu_max", v) => {
            return Err((
                c.value_at,
                format!(
                    "{name} needs a percentage of one core such as `25%`, not {}",
                    v.kind()
                ),
            ))
        }
        ("restarts", v) => {
            return Err((
                c.value_at,
                format!(
                    "restarts is a count; compare it with a whole number, not {}",
                    v.kind()
                ),
            ))
        }
        (other, _) => {
            let hint = crate::diag::did_you_mean(other, METRICS)
                .unwrap_or_else(|| format!("use {}", METRICS.join(", ")));
            return Err((
                c.subject_at,
                format!("unknown resource metric `{other}`; {hint}"),
            ));
        }
    };
    Ok(ResourceCriterion {
        text: text.trim().to_string(),
        metric,
        op: c.op,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria::no_restarts;

    fn parse(text: &str) -> Result<ResourceCriterion, (usize, String)> {
        build(
            text,
            &crate::expr::parse(text).map_err(|e| (e.offset, e.message))?,
        )
    }

    #[test]
    fn types_each_metric_and_rejects_wrong_units() {
        assert_eq!(parse("memory < 200MB").unwrap().threshold, 200e6);
        assert_eq!(
            parse("memory_growth < 50MB").unwrap().metric,
            ResourceMetric::MemoryGrowth
        );
        assert_eq!(parse("cpu < 25%").unwrap().threshold, 25.0);
        assert_eq!(parse("restarts == 0").unwrap(), no_restarts());
        for (text, needle) in [
            ("memory < 200", "byte size"),
            ("cpu < 0.25", "percentage"),
            ("memroy < 1MB", "did you mean `memory`?"),
            ("restarts == 1.5", "whole number"),
        ] {
            let (_, m) = parse(text).unwrap_err();
            assert!(m.contains(needle), "{text}: {m}");
        }
    }
}
