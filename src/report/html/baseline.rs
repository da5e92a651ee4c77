//! The before/after section: this run against the baseline run given with `--baseline`,
//! item by item, with p50/p95/p99 drawn as paired bars (base, then current).

use super::charts::bars;
use super::{code, t};
use crate::evidence::compare::Change;
use crate::evidence::latency;
use crate::report::compare::{p_value, Comparison, ItemComparison};
use maud::{html, Markup};

fn change_class(c: Change) -> &'static str {
    match c {
        Change::Regression => "badge fail",
        Change::Improvement => "badge pass",
        Change::NoSignificantChange => "badge waived",
        Change::Inconclusive => "badge inconclusive",
    }
}

fn cell(before: Option<u64>, after: Option<u64>, ratio: Option<f64>) -> String {
    let show = |v: Option<u64>| v.map_or("—".to_string(), latency);
    let change = ratio.map_or("n/a".to_string(), |r| format!("{:+.1}%", (r - 1.0) * 100.0));
    format!("{} → {} ({change})", show(before), show(after))
}

/// Paired bars of one item's percentiles, base then current, in ms.
fn chart(i: &ItemComparison) -> Markup {
    let mut rows = Vec::new();
    for (name, b, c) in [
        ("p50", i.base.p50_us, i.current.p50_us),
        ("p95", i.base.p95_us, i.current.p95_us),
        ("p99", i.base.p99_us, i.current.p99_us),
    ] {
        for (side, v) in [("base", b), ("now", c)] {
            if let Some(us) = v {
                rows.push((format!("{name} {side}"), us as f64 / 1e3, latency(us)));
            }
        }
    }
    if rows.is_empty() {
        return html! {};
    }
    bars(
        &format!("Latency of {} before and after", t(&i.id)),
        "s-lat",
        &rows,
    )
}

pub fn render(c: &Comparison) -> Markup {
    html! {
        section.baseline #before-after {
            h2 { "Before and after the baseline: " span class=(change_class(c.verdict)) { (c.verdict.as_str()) } }
            p { "Base: " (code(&c.base.file)) " (run " (code(&c.base.run_id)) "). "
                "Latency compared by a Mann-Whitney U test on the histograms, errors by Fisher's exact test; "
                "a change counts when p < 0.01 and p95 moved by more than 10%." }
            @if c.checklist_differs {
                p { strong { "The runs executed different checklists" } "; items are compared by id." }
            }
            @for (label, ids) in [("Only in the base run", &c.only_in_base), ("Only in this run", &c.only_in_current), ("Not measured in both runs", &c.not_measured)] {
                @if !ids.is_empty() {
                    p { (label) " (not compared): " @for (k, id) in ids.iter().enumerate() { @if k > 0 { ", " } (code(id)) } }
                }
            }
            @if !c.items.is_empty() {
                table {
                    thead { tr { th { "Item" } th { "n base / now" } th { "p50" } th { "p95" } th { "p99" }
                        th { "Errors" } th { "U-test p" } th { "P(slower)" } th { "Change" } } }
                    tbody { @for i in &c.items { tr {
                        td { (code(&i.id)) }
                        td { (i.base.n) " / " (i.current.n) }
                        td { (cell(i.base.p50_us, i.current.p50_us, i.p50_ratio)) }
                        td { (cell(i.base.p95_us, i.current.p95_us, i.p95_ratio)) }
                        td { (cell(i.base.p99_us, i.current.p99_us, i.p99_ratio)) }
                        td { (i.base.errors) " → " (i.current.errors) }
                        td { (i.latency_test.map_or("—".to_string(), |m| p_value(m.p))) }
                        td { (i.latency_test.map_or("—".to_string(), |m| format!("{:.3}", m.superiority))) }
                        td { span class=(change_class(i.verdict)) { (i.verdict.as_str()) } }
                    } } }
                }
                @for i in &c.items {
                    figure { (chart(i)) figcaption { (code(&i.id)) ": " (t(&i.why)) } }
                }
            }
        }
    }
}
