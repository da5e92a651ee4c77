//! The status page: one self-contained HTML document (inline CSS, no script, no external
//! asset) that says, for every item, its state now and its uptime over 1 h, 24 h and 7 d
//! with the sample count and the bounds those samples support; the alert rules and
//! objectives; and the open and recent incidents with their evidence. It refreshes
//! itself every 10 s through a meta tag.

use super::engine::{rfc3339, Status, Uptime};
use super::store::Incident;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{font-weight:600;background:#f5f5f5}
.up{color:#116329;font-weight:600}.down,.firing{color:#b3261e;font-weight:600}.stale,.unknown,.pending{color:#8a5a00;font-weight:600}
.ok,.pass{color:#116329;font-weight:600}.fail{color:#b3261e;font-weight:600}.inconclusive{color:#8a5a00;font-weight:600}.muted{color:#666;font-size:.9em}code{font-size:.9em}
.banner{padding:.5rem .75rem;border-radius:4px;background:#fff4ce;margin:.75rem 0}
";

fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) => {
            let p = v * 100.0;
            if (99.99..100.0).contains(&p) {
                format!("{p:.3}%")
            } else {
                format!("{p:.2}%")
            }
        }
        None => "—".into(),
    }
}

fn uptime_cell(u: &Uptime, confidence: f64) -> Markup {
    html! {
        @if u.total == 0 {
            span.muted { "no samples" }
        } @else {
            (pct(u.ratio)) " "
            span.muted {
                "(" (u.good) " of " (u.total) " samples; " (format!("{:.0}", confidence * 100.0)) "% bounds "
                (pct(u.low)) "–" (pct(u.high)) ")"
            }
        }
    }
}

fn incident_row(i: &Incident) -> Markup {
    let labels: BTreeMap<String, String> = serde_json::from_str(&i.labels).unwrap_or_default();
    let annotations: BTreeMap<String, String> =
        serde_json::from_str(&i.annotations).unwrap_or_default();
    html! {
        tr id=(format!("incident-{}", i.id)) {
            td { code { (i.alert) } }
            td { (labels.get("item").cloned().unwrap_or_default()) }
            td { (rfc3339(i.started_ms)) }
            td {
                @match i.ended_ms {
                    Some(e) => { (rfc3339(e)) " " span.muted { "(" (format_span(e - i.started_ms)) ")" } },
                    None => span.firing { "open" },
                }
            }
            td {
                @if let Some(s) = annotations.get("summary") { (s) br; }
                span.muted { (annotations.get("evidence").cloned().unwrap_or_default()) }
                @if let Some(r) = annotations.get("resolved_evidence") { br; span.muted { "Resolved: " (r) } }
            }
        }
    }
}

fn format_span(ms: i64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The page.
pub fn render(
    status: &Status,
    open: &[Incident],
    recent: &[Incident],
    confidence: f64,
    pending_notifications: i64,
) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content="10";
                // No icon to fetch: the page asks for nothing but itself.
                link rel="icon" href="data:,";
                title { (status.system) " — golive monitor" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (status.system) }
                p.muted {
                    "golive monitor, as of " (status.now) " (running since " (status.started) "). "
                    "Every figure says how many samples it rests on."
                }
                @if let Some(m) = &status.maintenance {
                    p.banner { "Maintenance " (m) ": notifications are held back; ticks and rules keep recording." }
                }
                @if !open.is_empty() {
                    p.banner { (open.len()) " open incident" @if open.len() > 1 { "s" } "." }
                }
                h2 { "Items" }
                table {
                    thead { tr { th { "Item" } th { "State" } th { "Last tick" } th { "Latency (2 min)" } th { "Uptime 1 h" } th { "24 h" } th { "7 d" } th { "Criteria (2 min)" } } }
                    tbody {
                        @for i in &status.items {
                            tr id=(format!("item-{}", i.id)) data-state=(i.state) {
                                td { strong { (i.id) } br; span.muted { (i.title) } br; span.muted { (i.kind) " " (i.target) ", every " (i.every_s) " s" } }
                                td { span class=(i.state) { (i.state.to_uppercase()) } }
                                td {
                                    @match &i.last_tick {
                                        Some(t) => {
                                            (t) br;
                                            span.muted { (i.last_samples - i.last_errors) " of " (i.last_samples) " samples passed" }
                                            @if let Some(r) = &i.last_reason { br; span.down { (r) } }
                                        },
                                        None => span.muted { "no tick yet" },
                                    }
                                }
                                td {
                                    @match (i.p50_ms, i.p95_ms) {
                                        (Some(p50), Some(p95)) => { "p50 " (format!("{p50:.1}")) " ms, p95 " (format!("{p95:.1}")) " ms " span.muted { "(n=" (i.latency_n) ")" } },
                                        _ => span.muted { "no successful sample" },
                                    }
                                }
                                @for u in &i.uptime { td { (uptime_cell(u, confidence)) } }
                                td {
                                    @if i.criteria.is_empty() { span.muted { "none" } }
                                    @for c in &i.criteria {
                                        span class=(c.outcome.to_lowercase()) { (c.outcome) } " " code { (c.claim) } br;
                                        span.muted { (c.why) } br;
                                    }
                                }
                            }
                        }
                    }
                }
                @if !status.rules.is_empty() {
                    h2 { "Alert rules" }
                    table {
                        thead { tr { th { "Rule" } th { "Item" } th { "Condition" } th { "State" } th { "Last window" } } }
                        tbody {
                            @for r in &status.rules {
                                @let state = format!("{:?}", r.state).to_lowercase();
                                tr {
                                    td { code { (r.name) } }
                                    td { (r.item) }
                                    td { code { (r.when) } }
                                    td { span class=(state) { (state.to_uppercase()) } }
                                    td {
                                        @match r.observed {
                                            Some(v) => { (format!("{v}")) (r.unit) },
                                            None => span.muted { "no data" },
                                        }
                                        " " span.muted { "(n=" (r.samples) " in " (r.window_s) " s)" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !status.objectives.is_empty() {
                    h2 { "Objectives" }
                    table {
                        thead { tr { th { "Objective" } th { "Measured" } th { "Budget left" } th { "Burn-rate alerts" } } }
                        tbody {
                            @for o in &status.objectives {
                                tr {
                                    td { code { (o.name) } br; (o.objective) }
                                    td { @if o.total == 0 { span.muted { "no samples" } } @else { (o.good) " of " (o.total) " good" } }
                                    td { (pct(o.budget_left)) }
                                    td {
                                        @for a in &o.alerts {
                                            span class=(if a.firing { "firing" } else { "ok" }) { (a.windows) " > " (a.factor) "x: " }
                                            (a.long_rate.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "no data".into())) " (n=" (a.long_n) ") / "
                                            (a.short_rate.map(|r| format!("{r:.2}x")).unwrap_or_else(|| "no data".into())) " (n=" (a.short_n) ")"
                                            @if a.firing { " FIRING" }
                                            br;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Incidents" }
                @if open.is_empty() && recent.is_empty() {
                    p.muted { "None recorded." }
                } @else {
                    table {
                        thead { tr { th { "Alert" } th { "Item" } th { "Started" } th { "Ended" } th { "Evidence" } } }
                        tbody {
                            @for i in open { (incident_row(i)) }
                            @for i in recent { (incident_row(i)) }
                        }
                    }
                }
                p.muted {
                    "Notifications waiting: " (pending_notifications) ". "
                    a href="/metrics" { "Prometheus metrics" } " · " a href="/api/status" { "status as JSON" }
                }
            }
        }
    };
    page.into_string()
}
