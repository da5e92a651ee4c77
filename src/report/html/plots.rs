//! Which charts an item gets, built from the report model: for a load item its latency
//! and error rate window by window, with the criteria's thresholds, the rules that fired,
//! the rollback and the drills marked; for a check item the latency distribution read
//! from its histogram.

use super::charts::{Chart, Level, Mark, Series, Shape, Span};
use crate::evidence::Outcome;
use crate::load::LoadResult;
use crate::report::model::ItemReport;
use crate::rules::RuleState;
use crate::verdict::JudgedCriterion;

pub fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "t-pass",
        Outcome::Fail => "t-fail",
        Outcome::Inconclusive => "t-inconclusive",
        Outcome::Waived => "t-waived",
    }
}

/// Threshold lines of the criteria measured in `unit` (and, when given, of one metric).
fn levels(item: &ItemReport, unit: &str, metric: Option<&str>) -> Vec<Level> {
    item.criteria
        .iter()
        .filter(|c| c.threshold.unit == unit && metric.is_none_or(|m| c.metric == m))
        .map(|c: &JudgedCriterion| Level {
            value: c.threshold.value,
            label: format!("{} ({})", c.criterion, c.outcome),
            class: outcome_class(c.outcome),
        })
        .collect()
}

/// Drills, rules that fired and the rollback as marks; warm-up, recovery and firing
/// stretches as spans.
fn events(item: &ItemReport, load: &LoadResult) -> (Vec<Mark>, Vec<Span>) {
    let mut marks = Vec::new();
    let mut spans = Vec::new();
    if load.warm_up_s > 0.0 {
        spans.push(Span {
            from: 0.0,
            to: load.warm_up_s,
            label: "warm-up (not judged)".into(),
            class: "b-warmup",
        });
    }
    for d in &item.evidence.drills {
        if let Some(at) = d.fired_at_s {
            marks.push(Mark {
                x: at,
                label: format!("{} {}", d.action, d.service),
                class: "m-drill",
            });
            if let Some(ms) = d.recovery_ms {
                spans.push(Span {
                    from: at,
                    to: at + ms as f64 / 1e3,
                    label: format!("{} recovering ({} ms)", d.service, ms),
                    class: "b-recovery",
                });
            }
        }
    }
    for rule in &load.rules {
        let rolled_back = load
            .rollback
            .as_ref()
            .is_some_and(|rb| rb.rule == rule.name);
        if let (Some(at), false) = (rule.fired_at_s, rolled_back) {
            marks.push(Mark {
                x: at,
                label: format!("rule {} fired", rule.name),
                class: "m-rule",
            });
        }
        // Consecutive firing windows as one span.
        let mut open: Option<(f64, f64)> = None;
        for w in &rule.timeline {
            let end = w.start_s + rule.window_s;
            open = match (open, w.state == RuleState::Firing) {
                (Some((from, _)), true) => Some((from, end)),
                (None, true) => Some((w.start_s, end)),
                (Some((from, to)), false) => {
                    spans.push(firing(&rule.name, from, to));
                    None
                }
                (None, false) => None,
            };
        }
        if let Some((from, to)) = open {
            spans.push(firing(&rule.name, from, to));
        }
    }
    if let Some(rb) = &load.rollback {
        marks.push(Mark {
            x: rb.at_s,
            label: format!("ROLLBACK (rule {})", rb.rule),
            class: "m-rollback",
        });
    }
    (marks, spans)
}

fn firing(rule: &str, from: f64, to: f64) -> Span {
    Span {
        from,
        to,
        label: format!("rule {rule} firing"),
        class: "b-firing",
    }
}

/// Latency per window (p50, p95, p99) and error rate per window.
pub fn load_charts(item: &ItemReport, load: &LoadResult) -> Vec<Chart> {
    if load.timeline.is_empty() {
        return Vec::new();
    }
    let x_max = load
        .timeline
        .iter()
        .map(|w| w.start_s + w.secs)
        .fold(load.duration_s, f64::max);
    let mid = |w: &crate::load::result::WindowSummary| w.start_s + w.secs / 2.0;
    let line =
        |name: &str, class, f: fn(&crate::load::result::WindowSummary) -> Option<f64>| Series {
            name: name.into(),
            class,
            shape: Shape::Line,
            points: load.timeline.iter().map(|w| (mid(w), f(w))).collect(),
        };
    let (marks, spans) = events(item, load);
    let window = load.timeline[0].secs;
    let latency = Chart {
        title: format!("Latency per {window:.0} s window"),
        class: "c-latency",
        x_label: "seconds into the load".into(),
        y_unit: "ms".into(),
        x_min: 0.0,
        x_max,
        x_ticks: Vec::new(),
        series: vec![
            line("p50", "s-p50", |w| w.p50_ms),
            line("p95", "s-p95", |w| w.p95_ms),
            line("p99", "s-p99", |w| w.p99_ms),
        ],
        thresholds: levels(item, "ms", None),
        marks: marks.clone(),
        spans: spans.clone(),
        note: None,
    };
    let errors = Chart {
        title: format!("Error rate per {window:.0} s window"),
        class: "c-errors",
        x_label: "seconds into the load".into(),
        y_unit: "%".into(),
        x_min: 0.0,
        x_max,
        x_ticks: Vec::new(),
        series: vec![Series {
            name: "errors / requests".into(),
            class: "s-err",
            shape: Shape::Bars { width: window },
            points: load
                .timeline
                .iter()
                .map(|w| {
                    let rate = (w.requests > 0).then(|| w.errors as f64 / w.requests as f64 * 1e2);
                    (w.start_s, rate)
                })
                .collect(),
        }],
        thresholds: levels(item, "%", Some("error_rate")),
        marks,
        spans,
        note: None,
    };
    vec![latency, errors]
}

/// The latency distribution of a check item's successful samples, as latency by
/// percentile on a "nines" axis (0%, 90%, 99%, 99.9% evenly spaced), where tail claims
/// can be read off against their thresholds.
pub fn distribution(item: &ItemReport) -> Option<Chart> {
    let s = item.evidence.samples.as_ref()?;
    let h = crate::tally::decode_histogram(s.latency_histogram.as_deref()?).ok()?;
    if h.is_empty() {
        return None;
    }
    // Beyond 1 - 1/n the quantiles are all the maximum; nothing more to read there.
    let nines = (h.len() as f64).log10().clamp(1.0, 5.0);
    const STEPS: usize = 120;
    let points = (0..=STEPS)
        .map(|k| {
            let x = nines * k as f64 / STEPS as f64;
            let q = 1.0 - 10f64.powf(-x);
            (x, Some(h.value_at_quantile(q) as f64 / 1e3))
        })
        .collect();
    let ticks = [
        (0.0, "0%"),
        (0.5, "50%"),
        (0.9, "90%"),
        (0.95, "95%"),
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.9999, "99.99%"),
        (0.99999, "99.999%"),
    ]
    .into_iter()
    .map(|(q, l)| ((-(1.0f64 - q).log10()).max(0.0), l.to_string()))
    .filter(|(x, _)| *x <= nines + 1e-9)
    .collect();
    Some(Chart {
        title: "Latency by percentile".into(),
        class: "c-distribution",
        x_label: "percentile".into(),
        y_unit: "ms".into(),
        x_min: 0.0,
        x_max: nines,
        x_ticks: ticks,
        series: vec![Series {
            name: format!("{} successful samples", crate::evidence::thousands(h.len())),
            class: "s-dist",
            shape: Shape::Line,
            points,
        }],
        thresholds: levels(item, "ms", None),
        marks: Vec::new(),
        spans: Vec::new(),
        note: (s.failed > 0).then(|| {
            format!(
                "{} failed samples are not in the distribution; latency criteria count them as beyond their thresholds.",
                crate::evidence::thousands(s.failed)
            )
        }),
    })
}
