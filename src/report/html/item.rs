//! One item of the HTML report: its outcome and why, how its samples were taken, each
//! criterion with the observed value against the threshold, its charts, failures, drills
//! and, for a load item, the run's figures and each rule's window-by-window readings.

use super::charts::gauge;
use super::plots::{distribution, load_charts, outcome_class};
use super::{badge, code, t};
use crate::load::result::{Percentiles, ScopeResult};
use crate::load::LoadResult;
use crate::report::model::ItemReport;
use crate::verdict::JudgedCriterion;
use maud::{html, Markup};

/// `item-<id>`: the anchor the attention list links to.
pub fn anchor(id: &str) -> String {
    format!("item-{}", t(id))
}

pub fn render(i: &ItemReport) -> Markup {
    html! {
        article.item id=(anchor(&i.id)) {
            h3 {
                (badge(i.outcome)) " " (code(&i.id)) " " (t(&i.title))
                span.meta { (format!("{:?}", i.severity).to_lowercase()) " · " (t(&i.kind)) }
            }
            p.why { (t(&i.why)) }
            @if let Some(target) = &i.target { p.target { "Target: " (code(target)) } }
            @if let Some(skipped) = &i.skipped { p.skipped { "Not run in full: " (t(skipped)) } }
            @if let Some(line) = crate::report::coverage(i) {
                p.coverage { strong { "Samples: " } (line)
                    @if let Some(l) = i.evidence.samples.as_ref().and_then(|s| s.latency_ms.as_ref()) {
                        "; latency " (percentiles(l))
                    }
                }
            }
            @if !i.criteria.is_empty() { (criteria(&i.criteria)) }
            @if let Some(chart) = distribution(i) { (chart.render()) }
            @if let Some(load) = &i.evidence.load {
                div.charts { @for chart in load_charts(i, load) { (chart.render()) } }
            }
            @if let Some(e) = &i.evidence.load_error { p.skipped { "The load could not start: " (t(e)) } }
            @if !i.failures.is_empty() {
                h4 { "Failures" }
                ul.failures { @for f in &i.failures { li { (f.count) " × " (t(&f.class)) ": " (t(&f.reason)) } } }
            }
            @if !i.evidence.drills.is_empty() { (drills(i)) }
            @if let Some(load) = &i.evidence.load { (load_details(load)) }
            @if let Some(sg) = &i.signoff {
                p.signoff {
                    "Sign-off by the " (t(&sg.role)) ": "
                    @match &sg.signed_by {
                        Some(by) => { strong { (t(by)) } @if let Some(at) = &sg.signed_at { " at " (t(at)) } " (" (t(sg.signature.as_deref().unwrap_or("unsigned"))) ")" }
                        None => @match &sg.rejected {
                            Some(r) => { strong.pending { "rejected" } " by " (t(&r.by)) " at " (t(&r.at)) ": " (t(&r.reason)) }
                            None => { strong.pending { "pending" } }
                        }
                    }
                }
                @if let Some(how) = &sg.instructions { p.instructions { (t(how)) } }
            }
        }
    }
}

fn percentiles(l: &Percentiles) -> String {
    format!(
        "p50 {} ms, p95 {} ms, p99 {} ms, max {} ms (n = {})",
        l.p50,
        l.p95,
        l.p99,
        l.max,
        crate::evidence::thousands(l.n)
    )
}

/// A threshold or observation in its unit, as a person reads it.
fn quantity(v: f64, unit: &str) -> String {
    let plain = |v: f64| {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match unit {
        "ms" => crate::evidence::latency((v * 1e3).round().max(0.0) as u64),
        "s" => crate::evidence::latency((v * 1e6).round().max(0.0) as u64),
        "%" => format!("{}%", plain(v)),
        "%cpu" => format!("{}% CPU", plain(v)),
        "/s" => format!("{}/s", plain(v)),
        "B" => format!("{} MB", plain(v / 1e6)),
        "count" => plain(v),
        other => format!("{} {}", plain(v), t(other)),
    }
}

fn criteria(cs: &[JudgedCriterion]) -> Markup {
    html! {
        table.criteria {
            thead { tr {
                th { "Criterion" } th { "Outcome" } th { "Observed" } th { "Threshold" }
                th.vs { "Observed against threshold" } th.num { "n" } th { "Bounds" } th { "Why" }
            } }
            tbody { @for c in cs {
                tr class=(outcome_class(c.outcome)) {
                    td.crit { (code(&c.criterion)) @if c.implicit { " " small { "(added)" } } }
                    td { (badge(c.outcome)) }
                    td { (t(&c.observed)) }
                    td.nowrap { (t(&c.op)) " " (quantity(c.threshold.value, &c.threshold.unit)) }
                    td.vs { @if let Some(v) = c.observed_value {
                        (gauge(v, c.threshold.value, outcome_class(c.outcome), &format!(
                            "observed {} against threshold {}",
                            quantity(v, &c.threshold.unit),
                            quantity(c.threshold.value, &c.threshold.unit)
                        )))
                    } @else { "no data" } }
                    td.num { (crate::evidence::thousands(c.n)) }
                    td.nowrap { (bounds(c)) }
                    td.why {
                        (t(&c.why))
                        @if c.weak { " " em { "(weaker evidence)" } }
                        @if let Some(b) = &c.bound { br; small { "Rests on: " (t(b)) } }
                    }
                }
            } }
        }
    }
}

/// The one-sided bounds on the share a claim limits, at the run's confidence, rounded
/// outward (the lower down, the upper up) as the verdict lines round them, so the column
/// never shows a tighter interval than was supported. Beside a limit of 100% the
/// rounding keeps three significant digits.
fn bounds(c: &JudgedCriterion) -> String {
    let lower = c
        .lower_bound
        .map(|v| crate::evidence::percent_bound(v, 1.0, false));
    let upper = c
        .upper_bound
        .map(|v| crate::evidence::percent_bound(v, 1.0, true));
    match (lower, upper) {
        (Some(lo), Some(hi)) => format!("{lo} – {hi}"),
        (Some(lo), None) => format!("≥ {lo}"),
        (None, Some(hi)) => format!("≤ {hi}"),
        (None, None) => "—".into(),
    }
}

fn drills(i: &ItemReport) -> Markup {
    let secs = |v: Option<f64>| v.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "—".into());
    html! {
        h4 { "Fault drills" }
        table {
            thead { tr { th { "Service" } th { "Action" } th { "Planned" } th { "Fired" } th { "Recovered after" } th { "Note" } } }
            tbody { @for d in &i.evidence.drills { tr {
                td { (code(&d.service)) } td { (t(&d.action)) } td { (format!("{:.1} s", d.planned_at_s)) }
                td { (secs(d.fired_at_s)) } td { (secs(d.recovery_ms.map(|ms| ms as f64 / 1e3))) }
                td { (t(d.error.as_deref().unwrap_or(""))) }
            } } }
        }
    }
}

fn scope_row(s: &ScopeResult) -> Markup {
    let ms = |p: &Option<Percentiles>, f: fn(&Percentiles) -> f64| {
        p.as_ref()
            .map(|p| format!("{} ms", f(p)))
            .unwrap_or_else(|| "—".into())
    };
    html! { tr {
        td { @if s.name == "*" { strong { "all" } } @else { (code(&s.name)) } }
        td.num { (s.requests) } td.num { (s.errors) }
        td.num { (ms(&s.latency_ms, |p| p.p50)) } td.num { (ms(&s.latency_ms, |p| p.p95)) }
        td.num { (ms(&s.latency_ms, |p| p.p99)) } td.num { (ms(&s.latency_ms, |p| p.max)) }
        td.num { (ms(&s.service_time_ms, |p| p.p99)) }
    } }
}

fn load_details(r: &LoadResult) -> Markup {
    let opt = |v: Option<f64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "—".into());
    html! {
        h4 { "Load " (code(&r.scenario)) }
        p {
            (t(&r.model)) " model, " (r.planned_s) " s planned, ran " (r.duration_s) " s"
            @if r.stopped_early { " (" strong { "stopped early" } ")" }
            "; warm-up " (r.warm_up_s) " s (" (r.warm_up_requests) " requests, not judged). "
            @match r.target_rps {
                Some(target) => { "Intended " (target) "/s, achieved " (r.achieved_rps) "/s; "
                    (r.dropped) " dropped, " (r.late) " sent late." }
                None => { "Achieved " (r.achieved_rps) "/s." }
            }
            @if r.reconnects > 0 {
                " " (r.reconnects) " requests were sent again on a new connection after the service closed a kept-alive one (errors only where that failed too)."
            }
        }
        @if let Some(why) = &r.shortfall {
            p.alert { strong { "The intended load was not produced: " } (t(why))
                ". Latency claims at that load are INCONCLUSIVE." }
        }
        @if let Some(rb) = &r.rollback {
            p.alert { strong { "ROLLBACK: " } "rule " (code(&rb.rule)) " fired at " (rb.at_s) " s: " (t(&rb.why)) "." }
        }
        table {
            thead { tr { th { "Request" } th.num { "Requests" } th.num { "Errors" } th.num { "p50" }
                th.num { "p95" } th.num { "p99" } th.num { "max" } th.num { "service p99" } } }
            tbody { @for s in r.by_request.iter().chain(std::iter::once(&r.overall)) { (scope_row(s)) } }
        }
        @if !r.timeline.is_empty() {
            details {
                summary { "Timeline: " (r.timeline.len()) " windows" }
                table {
                    thead { tr { th { "Window (s)" } th.num { "Requests" } th.num { "Errors" } th.num { "rps" }
                        th.num { "p50" } th.num { "p95" } th.num { "p99" } } }
                    tbody { @for w in &r.timeline { tr.warmup[w.warm_up] {
                        td { (w.start_s) "–" (((w.start_s + w.secs) * 1000.0).round() / 1000.0)
                            @if w.warm_up { " (warm-up)" } }
                        td.num { (w.requests) } td.num { (w.errors) } td.num { (w.rps) }
                        td.num { (opt(w.p50_ms)) } td.num { (opt(w.p95_ms)) } td.num { (opt(w.p99_ms)) }
                    } } }
                }
            }
        }
        @for rule in &r.rules {
            details {
                summary {
                    "Rule " (code(&rule.name)) " " (code(&rule.when)) " for " (rule.for_s) " s, window "
                    (rule.window_s) " s" @if rule.observe_only { ", observe only" }
                    ": final state " strong { (format!("{:?}", rule.final_state)) }
                    @if let Some(at) = rule.fired_at_s { ", fired at " (at) " s" }
                }
                table {
                    thead { tr { th { "Window start (s)" } th.num { "Samples" } th.num { "Observed" } th { "Reading" } th { "State" } } }
                    tbody { @for w in &rule.timeline { tr {
                        td { (w.start_s) } td.num { (w.samples) }
                        td.num { (w.observed.map(|v| v.to_string()).unwrap_or_else(|| "no data".into())) }
                        td { (format!("{:?}", w.reading)) } td { (format!("{:?}", w.state)) }
                    } } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_in_their_unit() {
        assert_eq!(quantity(250.0, "ms"), "250 ms");
        assert_eq!(quantity(5.0, "s"), "5 s");
        assert_eq!(quantity(1.0, "%"), "1%");
        assert_eq!(quantity(50_000_000.0, "B"), "50 MB");
        assert_eq!(quantity(0.0, "count"), "0");
        assert_eq!(quantity(200.0, "/s"), "200/s");
    }

    #[test]
    fn bounds_round_outward() {
        let c: JudgedCriterion = serde_json::from_value(serde_json::json!({
            "id": "x#0", "criterion": "error_rate < 1%", "metric": "error_rate", "op": "<",
            "threshold": {"value": 1.0, "unit": "%"}, "outcome": "INCONCLUSIVE",
            "observed_value": 0.0, "n": 100, "lower_bound": 0.000123456,
            "upper_bound": 0.029513, "samples_needed": 299, "why": "", "expected": "",
            "observed": "", "bound": null, "weak": false
        }))
        .expect("criterion");
        assert_eq!(bounds(&c), "0.0123% – 2.96%");
    }
}
