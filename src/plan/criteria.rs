//! Criteria: claims over all of an item's samples (`p95 < 100ms`, `error_rate < 1%`,
//! `success_rate >= 99.5%`, `mean < 50ms`, `max < 1s`, `failures == 0`), turned from a
//! parsed comparison into a typed [`Criterion`] the verdict can judge.

use crate::criteria::{
    quantile_of, BaselineMeasure, BaselineOffset as CritOffset, Criterion, CriterionKind,
};
use crate::evidence::Tail;
use crate::expr::{BaselineOffset, Comparison, Op, PathSeg, Value};
use crate::units::Duration;

/// Metrics a criterion may name.
const METRICS: [&str; 10] = [
    "p50",
    "p95",
    "p99",
    "error_rate",
    "success_rate",
    "availability",
    "mean",
    "max",
    "failures",
    "rps",
];

/// Types `c`; the error is `(offset, message)` inside the criterion text.
pub fn build(text: &str, c: &Comparison) -> Result<Criterion, (usize, String)> {
    let metric = match c.subject.as_slice() {
        [PathSeg::Key(k)] => k.as_str(),
        _ => {
            return Err((
                c.subject_at,
                format!(
                    "`{}` is not a metric; criteria name one of {}, or any pNN",
                    c.subject_text(),
                    METRICS.join(", ")
                ),
            ))
        }
    };
    let at_value = |m: String| (c.value_at, m);
    let at_op = |m: String| (c.op_at, m);
    if let Value::Baseline { offset } = &c.value {
        return Ok(Criterion {
            text: text.trim().to_string(),
            kind: baseline(c, metric, offset.as_ref())?,
            baseline: None,
        });
    }
    let kind = match metric {
        "error_rate" | "success_rate" | "availability" => {
            let p = match &c.value {
                Value::Percent(p) => p.fraction(),
                other => {
                    return Err(at_value(format!(
                        "{metric} needs a percentage such as `1%`, not {}",
                        other.kind()
                    )))
                }
            };
            let success = metric != "error_rate";
            let limit = match (success, c.op) {
                (false, Op::Lt | Op::Le) => p,
                (true, Op::Gt | Op::Ge) => 1.0 - p,
                (false, _) => {
                    return Err(at_op(format!(
                        "a criterion states what must hold: write `{metric} < {}`",
                        c.value
                    )))
                }
                (true, _) => {
                    return Err(at_op(format!(
                        "a criterion states what must hold: write `{metric} > {}`",
                        c.value
                    )))
                }
            };
            if limit <= 0.0 {
                let m = if success {
                    "100% success"
                } else {
                    "an error rate below 0%"
                };
                return Err(at_value(format!(
                    "{m} can never be shown by sampling; use `failures == 0` to require every sample to pass"
                )));
            }
            CriterionKind::FailureRate {
                limit,
                written_as_success: success,
            }
        }
        "mean" | "avg" => CriterionKind::Mean {
            threshold: duration(c, metric)?,
            below: below(c, metric)?,
        },
        "max" | "min" => {
            if matches!(
                c.op,
                Op::Eq | Op::Ne | Op::Contains | Op::NotContains | Op::Matches
            ) {
                return Err(at_op(format!("{metric} compares with <, <=, > or >=")));
            }
            let threshold = duration(c, metric)?;
            CriterionKind::Extreme {
                max: metric == "max",
                op: c.op,
                threshold,
            }
        }
        "rps" => {
            let per_second = match &c.value {
                Value::Rate(r) => r.per_second(),
                other => {
                    return Err(at_value(format!(
                        "rps needs a rate such as `100/s`, not {}",
                        other.kind()
                    )))
                }
            };
            if !matches!(c.op, Op::Gt | Op::Ge) {
                return Err(at_op(
                    "a throughput criterion states a floor: write `rps >= 100/s`".into(),
                ));
            }
            CriterionKind::Throughput {
                op: c.op,
                per_second,
            }
        }
        "failures" => {
            let count = match &c.value {
                Value::Number(n) if *n >= 0.0 && n.fract() == 0.0 => *n as u64,
                other => {
                    return Err(at_value(format!(
                        "failures is a count; compare it with a whole number, not {}",
                        other.kind()
                    )))
                }
            };
            if matches!(c.op, Op::Contains | Op::NotContains | Op::Matches) {
                return Err(at_op(
                    "failures compares with ==, !=, <, <=, > or >=".into(),
                ));
            }
            CriterionKind::Failures { op: c.op, count }
        }
        m if quantile_of(m).is_some() => {
            let q = quantile_of(m).unwrap_or(0.5);
            let threshold = duration(c, metric)?;
            let tail = if below(c, metric)? {
                Tail::Below
            } else {
                Tail::Above
            };
            CriterionKind::Quantile { q, threshold, tail }
        }
        "median" => CriterionKind::Quantile {
            q: 0.5,
            threshold: duration(c, metric)?,
            tail: if below(c, metric)? {
                Tail::Below
            } else {
                Tail::Above
            },
        },
        other => {
            let mut m = format!("unknown metric `{other}`");
            if let Some(h) = crate::diag::did_you_mean(other, METRICS) {
                m.push_str(&format!("; {h}"));
            } else {
                m.push_str(&format!(
                    "; criteria name one of {}, or any pNN such as p99.9",
                    METRICS.join(", ")
                ));
            }
            return Err((c.subject_at, m));
        }
    };
    Ok(Criterion {
        text: text.trim().to_string(),
        kind,
        baseline: None,
    })
}

/// `metric op baseline [± offset]`: a claim against the same measure of a baseline run.
fn baseline(
    c: &Comparison,
    metric: &str,
    offset: Option<&BaselineOffset>,
) -> Result<CriterionKind, (usize, String)> {
    let latency = |measure| (measure, true);
    let (measure, is_latency) = match metric {
        "mean" | "avg" => latency(BaselineMeasure::Mean),
        "median" => latency(BaselineMeasure::Quantile { q: 0.5 }),
        m if quantile_of(m).is_some() => latency(BaselineMeasure::Quantile {
            q: quantile_of(m).unwrap_or(0.5),
        }),
        "error_rate" => (BaselineMeasure::ErrorRate, false),
        "rps" => (BaselineMeasure::Throughput, false),
        other => {
            return Err((
                c.subject_at,
                format!(
                    "`{other}` cannot be compared with a baseline; baseline claims name a pNN, mean, error_rate or rps (e.g. `p95 <= baseline + 10%`)"
                ),
            ))
        }
    };
    let ops_ok = match measure {
        BaselineMeasure::ErrorRate => matches!(c.op, Op::Lt | Op::Le),
        BaselineMeasure::Throughput => matches!(c.op, Op::Gt | Op::Ge),
        _ => matches!(c.op, Op::Lt | Op::Le | Op::Gt | Op::Ge),
    };
    if !ops_ok {
        let fix = match measure {
            BaselineMeasure::ErrorRate => "write `error_rate <= baseline`",
            BaselineMeasure::Throughput => "write `rps >= baseline - 10%`",
            _ => "compare with <, <=, > or >= (e.g. `p95 <= baseline + 10%`)",
        };
        return Err((
            c.op_at,
            format!("a baseline claim states what must hold: {fix}"),
        ));
    }
    let offset = match offset {
        None => CritOffset::None,
        Some(o) => match (&*o.amount, is_latency) {
            (Value::Percent(p), _) => {
                let f = p.fraction();
                CritOffset::Relative {
                    fraction: if o.minus { -f } else { f },
                }
            }
            (Value::Duration(d), true) => {
                let us = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
                CritOffset::Latency {
                    micros: if o.minus { -us } else { us },
                }
            }
            (other, _) => {
                return Err((
                    c.value_at,
                    format!(
                        "{metric} moves from its baseline by a percentage (`baseline + 10%`), not by {}",
                        other.kind()
                    ),
                ))
            }
        },
    };
    if let CritOffset::Relative { fraction } = offset {
        if fraction <= -1.0 {
            return Err((
                c.value_at,
                format!("`baseline - 100%` or less leaves nothing; give a reduction below 100% such as `{metric} {} baseline - 50%`", c.op),
            ));
        }
    }
    Ok(CriterionKind::Baseline {
        measure,
        op: c.op,
        offset,
    })
}

/// The latency threshold of `c`; an upper bound of zero is refused, since no latency is
/// below 0 and such a claim could only ever fail.
fn duration(c: &Comparison, metric: &str) -> Result<Duration, (usize, String)> {
    match &c.value {
        Value::Duration(d) if *d == Duration::ZERO && matches!(c.op, Op::Lt | Op::Le) => Err((
            c.value_at,
            format!("{metric} {} 0 can never hold: no latency is below 0; give a threshold above zero such as `100ms`", c.op),
        )),
        Value::Duration(d) => Ok(*d),
        Value::Number(n) => Err((
            c.value_at,
            format!("`{n}` has no unit; {metric} is a latency: write it with us, ms, s or m (e.g. `{n}ms`)"),
        )),
        other => Err((c.value_at, format!("{metric} is a latency and needs a duration such as `100ms`, not {}", other.kind()))),
    }
}

/// `<`/`<=` claim an upper bound, `>`/`>=` a lower one; equality is never a latency claim.
fn below(c: &Comparison, metric: &str) -> Result<bool, (usize, String)> {
    match c.op {
        Op::Lt | Op::Le => Ok(true),
        Op::Gt | Op::Ge => Ok(false),
        _ => Err((c.op_at, format!("{metric} compares with <, <=, > or >="))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criterion(text: &str) -> Result<CriterionKind, (usize, String)> {
        let c = crate::expr::parse(text).map_err(|e| (e.offset, e.message))?;
        build(text, &c).map(|c| c.kind)
    }

    #[test]
    fn types_each_metric() {
        let ms = Duration::from_millis;
        let table = [
            (
                "p95 < 100ms",
                CriterionKind::Quantile {
                    q: 0.95,
                    threshold: ms(100),
                    tail: Tail::Below,
                },
            ),
            (
                "p99.9 <= 1s",
                CriterionKind::Quantile {
                    q: 0.999,
                    threshold: ms(1000),
                    tail: Tail::Below,
                },
            ),
            (
                "median > 1ms",
                CriterionKind::Quantile {
                    q: 0.5,
                    threshold: ms(1),
                    tail: Tail::Above,
                },
            ),
            (
                "error_rate < 1%",
                CriterionKind::FailureRate {
                    limit: 0.01,
                    written_as_success: false,
                },
            ),
            (
                "mean < 50ms",
                CriterionKind::Mean {
                    threshold: ms(50),
                    below: true,
                },
            ),
            (
                "max < 1s",
                CriterionKind::Extreme {
                    max: true,
                    op: Op::Lt,
                    threshold: ms(1000),
                },
            ),
            (
                "failures == 0",
                CriterionKind::Failures {
                    op: Op::Eq,
                    count: 0,
                },
            ),
        ];
        for (text, kind) in table {
            assert_eq!(criterion(text).unwrap(), kind, "{text}");
        }
        match criterion("success_rate > 95%").unwrap() {
            CriterionKind::FailureRate {
                limit,
                written_as_success: true,
            } => assert!((limit - 0.05).abs() < 1e-12),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn types_baseline_claims() {
        let table = [
            (
                "p95 <= baseline + 10%",
                BaselineMeasure::Quantile { q: 0.95 },
                Op::Le,
                CritOffset::Relative { fraction: 0.1 },
            ),
            (
                "mean <= baseline - 50%",
                BaselineMeasure::Mean,
                Op::Le,
                CritOffset::Relative { fraction: -0.5 },
            ),
            (
                "error_rate <= baseline",
                BaselineMeasure::ErrorRate,
                Op::Le,
                CritOffset::None,
            ),
            (
                "rps >= baseline - 5%",
                BaselineMeasure::Throughput,
                Op::Ge,
                CritOffset::Relative { fraction: -0.05 },
            ),
            (
                "p99 < baseline + 20ms",
                BaselineMeasure::Quantile { q: 0.99 },
                Op::Lt,
                CritOffset::Latency { micros: 20_000 },
            ),
        ];
        for (text, m, o, off) in table {
            match criterion(text).unwrap() {
                CriterionKind::Baseline {
                    measure,
                    op,
                    offset,
                } => {
                    assert_eq!((measure, op), (m, o), "{text}");
                    match (offset, off) {
                        (
                            CritOffset::Relative { fraction: a },
                            CritOffset::Relative { fraction: b },
                        ) => assert!((a - b).abs() < 1e-12, "{text}"),
                        (a, b) => assert_eq!(a, b, "{text}"),
                    }
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let table = [
            (
                "failures <= baseline",
                0,
                "cannot be compared with a baseline",
            ),
            (
                "error_rate >= baseline",
                11,
                "write `error_rate <= baseline`",
            ),
            ("rps <= baseline", 4, "write `rps >= baseline - 10%`"),
            ("p95 == baseline", 4, "compare with <, <=, > or >="),
            ("error_rate <= baseline + 5ms", 14, "by a percentage"),
            ("mean <= baseline - 100%", 8, "leaves nothing"),
        ];
        for (text, offset, needle) in table {
            let (at, message) = criterion(text).unwrap_err();
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(at, offset, "{text}: {message}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let table = [
            ("p95 < 100", 6, "has no unit"),
            ("error_rate < 120%", 13, "between 0% and 100%"),
            ("error_rate > 5%", 11, "write `error_rate < 5%`"),
            ("error_rate < 0%", 13, "never be shown"),
            ("success_rate >= 100%", 16, "never be shown"),
            ("error_rate < 0.01", 13, "needs a percentage"),
            ("p95 == 100ms", 4, "compares with <"),
            ("latncy < 1s", 0, "unknown metric"),
            ("erorr_rate < 1%", 0, "did you mean `error_rate`?"),
            ("body.x < 1s", 0, "not a metric"),
            ("failures < 1.5", 11, "whole number"),
            ("p100 < 1s", 0, "unknown metric"),
            ("p95 < 0ms", 6, "can never hold"),
            ("mean <= 0s", 8, "can never hold"),
            ("max < 0us", 6, "can never hold"),
        ];
        for (text, offset, needle) in table {
            let (at, message) = criterion(text).unwrap_err();
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(at, offset, "{text}: {message}");
        }
    }
}
