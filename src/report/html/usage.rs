//! A service's CPU and memory over the run, as two charts on the run's clock: the
//! readings kept in the report (peaks of each stretch, see
//! `services::resources::downsample`), the loads as shaded stretches, the drills and
//! rollbacks as marks, and the thresholds of the `kind: resources` items about the
//! service. Load windows and drills count from their load's start; the record's
//! `load_started_s` puts them on the run's clock, where the readings already are.

use super::charts::{Chart, Level, Mark, Series, Shape, Span};
use super::plots::outcome_class;
use crate::report::model::Report;
use crate::services::resources::ResourceSample;
use crate::services::ServiceReport;
use maud::{html, Markup};

/// The CPU and memory charts of `sv`; nothing when it has fewer than two readings.
pub fn over_time(r: &Report, sv: &ServiceReport) -> Markup {
    let s = &sv.series;
    let (Some(first), Some(last)) = (s.first(), s.last()) else {
        return html! {};
    };
    if s.len() < 2 || last.t_s <= first.t_s {
        return html! {};
    }
    let (x_min, x_max) = (first.t_s, last.t_s);
    let (marks, spans) = events(r, x_min, x_max);
    let note = caption(sv);
    let chart = |title: String, class, y_unit: &str, series: Series, thresholds| Chart {
        title,
        class,
        x_label: "seconds into the run".into(),
        y_unit: y_unit.into(),
        x_min,
        x_max,
        x_ticks: Vec::new(),
        series: vec![series],
        thresholds,
        marks: marks.clone(),
        spans: spans.clone(),
        note: Some(note.clone()),
    };
    let line = |name: &str, class, y: fn(&ResourceSample) -> Option<f64>| Series {
        name: name.into(),
        class,
        shape: Shape::Line,
        points: with_gaps(s, y),
    };
    let cpu = chart(
        format!("CPU of {} over the run", sv.name),
        "c-cpu",
        "% of one core",
        line("CPU (peak per point)", "s-cpu", |p| p.cpu_percent),
        levels(r, &sv.name, &["cpu", "cpu_max"], 1.0),
    );
    let memory = chart(
        format!("Memory of {} over the run", sv.name),
        "c-memory",
        "MB",
        line("resident memory (peak per point)", "s-mem", |p| {
            Some(p.memory_bytes as f64 / 1e6)
        }),
        levels(r, &sv.name, &["memory"], 1e-6),
    );
    let cpu_points = s.iter().filter(|p| p.cpu_percent.is_some()).count();
    html! {
        div.charts.usage {
            @if cpu_points >= 2 { (cpu.render()) }
            (memory.render())
        }
    }
}

/// The readings as chart points, with a gap wherever readings stopped for more than
/// three usual intervals (the service was down: killed by a drill, or restarting), so a
/// line does not pretend to know what happened meanwhile.
fn with_gaps(
    s: &[ResourceSample],
    y: fn(&ResourceSample) -> Option<f64>,
) -> Vec<(f64, Option<f64>)> {
    let mut steps: Vec<f64> = s.windows(2).map(|w| w[1].t_s - w[0].t_s).collect();
    steps.sort_by(f64::total_cmp);
    let usual = steps.get(steps.len() / 2).copied().unwrap_or(0.0);
    let mut points = Vec::with_capacity(s.len());
    for (k, p) in s.iter().enumerate() {
        if k > 0 && usual > 0.0 && p.t_s - s[k - 1].t_s > 3.0 * usual {
            points.push(((p.t_s + s[k - 1].t_s) / 2.0, None));
        }
        points.push((p.t_s, y(p)));
    }
    points
}

/// How many readings, how often, and how many points show them.
fn caption(sv: &ServiceReport) -> String {
    let shown = sv.series.len();
    match &sv.resources {
        Some(res) if res.samples > 1 => {
            let every = res.duration_s / (res.samples - 1) as f64;
            let thinned = if res.samples > shown {
                format!(
                    "; shown as {shown} points, each the peak of about {:.0} s",
                    res.duration_s / shown as f64
                )
            } else {
                String::new()
            };
            format!(
                "{} readings, one about every {every:.1} s over {:.0} s{thinned}. Times are \
                 seconds since the run started.",
                res.samples, res.duration_s
            )
        }
        _ => format!("{shown} readings. Times are seconds since the run started."),
    }
}

/// Loads as shaded stretches, drills (with their recovery) and rollbacks as marks, all
/// on the run's clock and within `[from, to]`.
fn events(r: &Report, from: f64, to: f64) -> (Vec<Mark>, Vec<Span>) {
    let mut marks = Vec::new();
    let mut spans = Vec::new();
    let within = |x: f64| (from..=to).contains(&x);
    for item in r.items() {
        let Some(origin) = item.evidence.load_started_s else {
            continue;
        };
        if let Some(load) = &item.evidence.load {
            let (a, b) = (origin.max(from), (origin + load.duration_s).min(to));
            if b > a {
                spans.push(Span {
                    from: a,
                    to: b,
                    label: format!("load {}", item.id),
                    class: "b-load",
                });
            }
            if let Some(rb) = load.rollback.as_ref().filter(|rb| within(origin + rb.at_s)) {
                marks.push(Mark {
                    x: origin + rb.at_s,
                    label: format!("ROLLBACK (rule {})", rb.rule),
                    class: "m-rollback",
                });
            }
        }
        for d in &item.evidence.drills {
            let Some(at) = d.fired_at_s.map(|s| origin + s).filter(|x| within(*x)) else {
                continue;
            };
            marks.push(Mark {
                x: at,
                label: format!("{} {}", d.action, d.service),
                class: "m-drill",
            });
            if let Some(ms) = d.recovery_ms {
                spans.push(Span {
                    from: at,
                    to: (at + ms as f64 / 1e3).min(to),
                    label: format!("{} recovering ({} ms)", d.service, ms),
                    class: "b-recovery",
                });
            }
        }
    }
    (marks, spans)
}

/// Thresholds of the resource criteria about `service` among `metrics`, scaled to the
/// chart's unit.
fn levels(r: &Report, service: &str, metrics: &[&str], scale: f64) -> Vec<Level> {
    r.items()
        .filter(|i| i.kind == "resources" && i.evidence.target.as_deref() == Some(service))
        .flat_map(|i| &i.criteria)
        .filter(|c| metrics.contains(&c.metric.as_str()))
        .map(|c| Level {
            value: c.threshold.value * scale,
            label: format!("{} ({})", c.criterion, c.outcome),
            class: outcome_class(c.outcome),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(t_s: f64) -> ResourceSample {
        ResourceSample {
            t_s,
            cpu_percent: Some(1.0),
            memory_bytes: 1,
        }
    }

    #[test]
    fn a_pause_in_the_readings_breaks_the_line() {
        let s: Vec<_> = [1.0, 2.0, 3.0, 9.0, 10.0].map(reading).to_vec();
        let points = with_gaps(&s, |p| p.cpu_percent);
        assert_eq!(points.len(), 6);
        assert_eq!(points[3], (6.0, None));
        let steady: Vec<_> = [1.0, 2.0, 3.0].map(reading).to_vec();
        assert!(with_gaps(&steady, |p| p.cpu_percent)
            .iter()
            .all(|p| p.1.is_some()));
    }
}
