//! `report.html`: the report for people who open it in a browser or print it. One
//! self-contained file (styles inline, charts as inline SVG, no script, nothing fetched),
//! rendered from the same model as the other formats: the verdict and its reasons first,
//! then every item with its criteria, samples and charts, the services and the sign-offs.
//!
//! Text golive did not write (ids, titles, targets, errors, a service's output) is
//! escaped by maud wherever it goes, and shown with its control characters escaped as in
//! the other formats.

mod baseline;
mod charts;
mod item;
mod plots;
mod usage;

use super::model::{ItemReport, Report};
use crate::evidence::Outcome;
use crate::redact::{one_line, printable};
use crate::verdict::Verdict;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The stylesheet, screen and print; inline so the file stands alone.
const STYLE: &str = include_str!("style.css");

/// Text on one line with control characters shown escaped (maud escapes the markup).
fn t(s: &str) -> String {
    one_line(&s.replace("\r\n", " ").replace(['\r', '\n'], " ")).into_owned()
}

fn code(s: &str) -> Markup {
    html! { code { (t(s)) } }
}

fn badge(o: Outcome) -> Markup {
    let class = match o {
        Outcome::Pass => "badge pass",
        Outcome::Fail => "badge fail",
        Outcome::Inconclusive => "badge inconclusive",
        Outcome::Waived => "badge waived",
    };
    html! { span class=(class) { (o.as_str()) } }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Go => "verdict go",
        Verdict::NoGo => "verdict nogo",
        Verdict::Inconclusive => "verdict inconclusive",
        Verdict::Rollback => "verdict rollback",
    }
}

pub fn render(r: &Report) -> String {
    let release = r
        .checklist
        .release
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let system = t(&format!("{}{release}", r.checklist.system));
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                // Defence in depth: even text that escaped its place could neither run
                // nor fetch anything; the page needs only its own inline styles.
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content=(format!("golive {}", r.golive_version));
                title { "golive: " (r.verdict.label()) " — " (system) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (header(r, &system))
                main {
                    @for phase in &r.phases {
                        section.phase {
                            h2 { (t(&phase.title)) }
                            (overview(&phase.items))
                            @for i in &phase.items { (item::render(i)) }
                        }
                    }
                    @if !r.services.is_empty() { (services(r)) }
                    (waivers(r))
                    @if let Some(c) = &r.baseline { (baseline::render(c)) }
                    (signoffs(r))
                }
                footer { "golive " (r.golive_version) " · results.json schema v" (r.schema_version)
                    " · rendered from results.json; re-render with " code { "golive report --format html" } }
            }
        }
    };
    let mut s = page.into_string();
    s.push('\n');
    s
}

/// The verdict, its reason, the run's facts and what needs attention.
fn header(r: &Report, system: &str) -> Markup {
    let s = &r.summary;
    let attention: Vec<&ItemReport> = r.items().filter(|i| i.outcome != Outcome::Pass).collect();
    html! {
        header class=(verdict_class(r.verdict)) { div.wrap {
            p.system { (system) }
            h1 { "Verdict: " span.label { (r.verdict.label()) } }
            p.reason { (t(&r.verdict_reason)) }
            @if !attention.is_empty() {
                section.attention {
                    h2 { "Needs attention" }
                    ul { @for i in attention { li {
                        (badge(i.outcome)) " " a href=(format!("#{}", item::anchor(&i.id))) { (code(&i.id)) }
                        " " span.meta { "(" (format!("{:?}", i.severity).to_lowercase()) ")" } " " (t(&i.why))
                    } } }
                }
            }
            dl.facts {
                dt { "Checklist" } dd { (code(&r.checklist.file)) " (sha256 "
                    code { (r.checklist.sha256.chars().take(12).collect::<String>()) } ")" }
                dt { "Run" } dd { (code(&r.run.id)) ", started " (t(&r.run.started_at)) ", "
                    (format!("{:.1} s", r.run.duration_s)) ", provider " (code(&r.run.provider))
                    @if r.run.interrupted { ", " strong { "interrupted" } } }
                dt { "Items" } dd { (s.items) ": " (s.passed) " passed, " (s.failed) " failed, "
                    (s.inconclusive) " inconclusive" }
                dt { "Sign-offs" } dd { (s.signoffs_given) " given, " (s.signoffs_pending) " pending" }
                dt { "Confidence" } dd { ((r.run.confidence * 100.0).round()) "% for every statistical claim" }
            }
        } }
    }
}

/// One row per item of a phase: the table to scan before the details.
fn overview(items: &[ItemReport]) -> Markup {
    html! {
        table.overview {
            thead { tr { th { "Item" } th { "Severity" } th { "Outcome" } th { "Samples" } th { "Why" } } }
            tbody { @for i in items { tr {
                td { a href=(format!("#{}", item::anchor(&i.id))) { (code(&i.id)) } " " (t(&i.title)) }
                td { (format!("{:?}", i.severity).to_lowercase()) }
                td { (badge(i.outcome)) }
                td { (crate::report::coverage(i).unwrap_or_else(|| "—".into())) }
                td { (t(&i.why)) }
            } } }
        }
    }
}

fn services(r: &Report) -> Markup {
    html! {
        section.services {
            h2 { "Services" }
            table {
                thead { tr { th { "Service" } th { "Provider" } th { "URL" } th { "Status" } th { "Ready after" } th { "Resources" } } }
                tbody { @for sv in &r.services { tr {
                    td { (code(&sv.name)) }
                    td { (t(&sv.provider))
                        @if let Some(i) = &sv.image { " " (code(i)) }
                        @else if let Some(n) = &sv.note { " (" (t(n)) ")" } }
                    td { (t(sv.url.as_deref().unwrap_or("—"))) }
                    td { (t(&sv.status)) @if let Some(e) = &sv.error { ": " (t(e)) } }
                    td { (sv.ready_after_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())) }
                    td.resources { @match &sv.resources {
                        Some(res) => { (format!(
                            "CPU mean {:.1}%, memory peak {:.1} MB, growth {:.1} MB ({} readings)",
                            res.cpu_mean_percent.unwrap_or(0.0),
                            res.memory_max_bytes as f64 / 1e6,
                            res.memory_growth_bytes.unwrap_or(0.0) / 1e6,
                            res.samples
                        )) }
                        None => "—",
                    } }
                } } }
            }
            @for sv in &r.services {
                @if let Some(res) = &sv.resources {
                    figure.resources {
                        figcaption.chart-title { "CPU and memory of " (code(&sv.name)) " over "
                            (format!("{:.0} s", res.duration_s)) " (" (res.samples) " readings)" }
                        (charts::bars(&format!("CPU of {}", t(&sv.name)), "s-cpu", &[
                            ("CPU mean".into(), res.cpu_mean_percent.unwrap_or(0.0), format!("{:.1}%", res.cpu_mean_percent.unwrap_or(0.0))),
                            ("CPU max".into(), res.cpu_max_percent.unwrap_or(0.0), format!("{:.1}%", res.cpu_max_percent.unwrap_or(0.0))),
                        ]))
                        (charts::bars(&format!("Memory of {}", t(&sv.name)), "s-mem", &[
                            ("first".into(), res.memory_first_bytes as f64, mb(res.memory_first_bytes)),
                            ("last".into(), res.memory_last_bytes as f64, mb(res.memory_last_bytes)),
                            ("peak".into(), res.memory_max_bytes as f64, mb(res.memory_max_bytes)),
                        ]))
                    }
                }
                (usage::over_time(r, sv))
            }
            @for sv in r.services.iter().filter(|s| s.error.is_some() && !s.log_tail.is_empty()) {
                details open {
                    summary { "Last lines of " (code(&sv.name)) }
                    pre { (printable(&sv.log_tail.join("\n"))) }
                }
            }
        }
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Every waiver with its owner, expiry and what became of it.
fn waivers(r: &Report) -> Markup {
    use crate::verdict::WaiverState;
    html! {
        @if !r.waivers.is_empty() {
            section.waivers {
                h2 { "Waivers" }
                table {
                    thead { tr { th { "Waiver" } th { "Item" } th { "Covers" } th { "Owner" } th { "Expires" } th { "State" } th { "Reason" } } }
                    tbody { @for w in &r.waivers { tr {
                        td { (code(&w.waiver.id)) }
                        td { (code(&w.waiver.item)) }
                        td { @match (&w.waiver.criterion, &w.waiver.exclude_request) {
                            (_, Some(req)) => {
                                "excludes "
                                @if let Some(s) = w.waiver.exclude_status { "status " (s) " of " }
                                "request " (code(req))
                            },
                            (Some(c), None) => (code(c)),
                            (None, None) => "every criterion",
                        } }
                        td { (t(&w.waiver.owner)) }
                        td { (w.waiver.expires.to_string()) }
                        td { @match w.state {
                            WaiverState::Applied => "applied",
                            WaiverState::Expired => strong.pending { "expired" },
                            WaiverState::Unused => "unused",
                        } ": " (t(&w.why)) }
                        td { (t(&w.waiver.reason)) @if let Some(l) = &w.waiver.link { " (" (t(l)) ")" } }
                    } } }
                }
            }
        }
    }
}

fn signoffs(r: &Report) -> Markup {
    let items: Vec<&ItemReport> = r.items().filter(|i| i.signoff.is_some()).collect();
    html! {
        @if !items.is_empty() {
            section.signoffs {
                h2 { "Sign-offs" }
                table {
                    thead { tr { th { "Role" } th { "Item" } th { "Signed by" } th { "At" } } }
                    tbody { @for (i, sg) in items.iter().filter_map(|i| i.signoff.as_ref().map(|s| (i, s))) { tr {
                        td { (t(&sg.role)) }
                        td { (code(&i.id)) }
                        td { @match (&sg.signed_by, &sg.rejected) {
                            (Some(by), _) => { (t(by)) " (" (t(sg.signature.as_deref().unwrap_or("unsigned"))) ")" }
                            (None, Some(r)) => { strong.pending { "rejected" } " by " (t(&r.by)) }
                            (None, None) => strong.pending { "pending" },
                        } }
                        td { (t(sg.signed_at.as_deref().unwrap_or("—"))) }
                    } } }
                }
            }
        }
    }
}
