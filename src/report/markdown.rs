//! Markdown for people: fit for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
//! The verdict and its reason first, then what failed, then every item with its
//! evidence, services and sign-offs.
//!
//! Much of what it shows is text golive did not write (ids, titles, targets, errors, a
//! service's output), so every such value is put in its place: [`line`] for running
//! text, [`cell`] for table cells, [`code`] for inline code, [`fence`] for a block, and
//! [`html`] inside the `<summary>` tag. None of it can start a line, close a fence or a
//! tag, or split a table row; control characters are shown escaped (`\u{1b}`).

use super::model::{ItemReport, Report};
use crate::evidence::Outcome;
use crate::redact::{one_line, printable};
use std::fmt::Write;

fn badge(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅ PASS",
        Outcome::Fail => "❌ FAIL",
        Outcome::Inconclusive => "⚠️ INCONCLUSIVE",
        Outcome::Waived => "🟡 WAIVED",
    }
}

/// Text on one line: line breaks become spaces, other control characters are escaped.
fn line(s: &str) -> String {
    one_line(&s.replace("\r\n", " ").replace(['\r', '\n'], " ")).into_owned()
}

/// Text for a table cell: on one line, `|` escaped.
pub(super) fn cell(s: &str) -> String {
    line(s).replace('|', "\\|")
}

/// The longest run of backticks in `s`.
fn backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// `s` as inline code, on one line, delimited by more backticks than it holds. In a
/// table, pass the result through [`cell`] as well.
pub(super) fn code(s: &str) -> String {
    let s = line(s);
    let ticks = "`".repeat(backtick_run(&s) + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// `text` as a fenced block whose fence is longer than any backtick run in it, so no
/// line of it can close the block.
fn fence(text: &str) -> String {
    let text = printable(text);
    let ticks = "`".repeat((backtick_run(&text) + 1).max(3));
    format!("{ticks}\n{text}\n{ticks}")
}

/// Text inside an HTML element: on one line, `&`, `<` and `>` escaped.
fn html(s: &str) -> String {
    line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(r: &Report) -> String {
    let mut m = String::new();
    let release = r
        .checklist
        .release
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    let _ = writeln!(
        m,
        "# golive: {} — {}\n",
        r.verdict.label(),
        line(&format!("{}{release}", r.checklist.system))
    );
    let _ = writeln!(
        m,
        "**Verdict: {}** — {}\n",
        r.verdict.label(),
        line(&r.verdict_reason)
    );
    let s = &r.summary;
    let _ = writeln!(m, "| | |\n|---|---|");
    let _ = writeln!(
        m,
        "| Checklist | {} (sha256 `{}`) |",
        cell(&code(&r.checklist.file)),
        r.checklist.sha256.chars().take(12).collect::<String>()
    );
    let _ = writeln!(
        m,
        "| Run | {}, started {}, {:.1} s, provider {}{} |",
        cell(&code(&r.run.id)),
        cell(&r.run.started_at),
        r.run.duration_s,
        cell(&code(&r.run.provider)),
        if r.run.interrupted {
            ", **interrupted**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        m,
        "| Items | {}: {} passed, {} failed, {} inconclusive |",
        s.items, s.passed, s.failed, s.inconclusive
    );
    let _ = writeln!(
        m,
        "| Sign-offs | {} given, {} pending |",
        s.signoffs_given, s.signoffs_pending
    );
    let _ = writeln!(
        m,
        "| Confidence | {}% for every statistical claim |\n",
        (r.run.confidence * 100.0).round()
    );

    let attention: Vec<&ItemReport> = r.items().filter(|i| i.outcome != Outcome::Pass).collect();
    if !attention.is_empty() {
        let _ = writeln!(m, "## Needs attention\n");
        for i in attention {
            let _ = writeln!(
                m,
                "- {} {} ({:?}): {}",
                badge(i.outcome),
                code(&i.id),
                i.severity,
                line(&i.why)
            );
        }
        m.push('\n');
    }

    waivers(&mut m, r);
    if let Some(c) = &r.baseline {
        m.push_str(&super::compare::markdown_section(c));
    }

    for phase in &r.phases {
        let _ = writeln!(m, "## {}\n", line(&phase.title));
        let _ = writeln!(
            m,
            "| Item | Severity | Outcome | Samples | Evidence |\n|---|---|---|---|---|"
        );
        for i in &phase.items {
            let _ = writeln!(
                m,
                "| {} {} | {} | {} | {} | {} |",
                cell(&code(&i.id)),
                cell(&i.title),
                format!("{:?}", i.severity).to_lowercase(),
                badge(i.outcome),
                cell(&coverage(i).unwrap_or_else(|| "—".into())),
                cell(&i.why)
            );
        }
        m.push('\n');
        for i in phase.items.iter().filter(|i| !i.criteria.is_empty()) {
            item_details(&mut m, i);
        }
    }

    if !r.services.is_empty() {
        let _ = writeln!(m, "## Services\n\n| Service | Provider | URL | Status | Ready after | Resources |\n|---|---|---|---|---|---|");
        for sv in &r.services {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&code(&sv.name)),
                cell(&match (&sv.image, &sv.note) {
                    (Some(i), _) => format!("{} {}", sv.provider, code(i)),
                    (None, Some(n)) => format!("{} ({n})", sv.provider),
                    (None, None) => sv.provider.clone(),
                }),
                cell(sv.url.as_deref().unwrap_or("—")),
                cell(&match &sv.error {
                    Some(e) => format!("{}: {e}", sv.status),
                    None => sv.status.clone(),
                }),
                sv.ready_after_ms
                    .map(|ms| format!("{ms} ms"))
                    .unwrap_or_else(|| "—".into()),
                sv.resources
                    .as_ref()
                    .map(|r| format!(
                        "CPU mean {:.1}%, memory peak {:.1} MB, growth {:.1} MB ({} readings)",
                        r.cpu_mean_percent.unwrap_or(0.0),
                        r.memory_max_bytes as f64 / 1e6,
                        r.memory_growth_bytes.unwrap_or(0.0) / 1e6,
                        r.samples
                    ))
                    .unwrap_or_else(|| "—".into())
            );
        }
        m.push('\n');
        for sv in r
            .services
            .iter()
            .filter(|s| s.error.is_some() && !s.log_tail.is_empty())
        {
            let _ = writeln!(
                m,
                "Last lines of {}:\n\n{}\n",
                code(&sv.name),
                fence(&sv.log_tail.join("\n"))
            );
        }
    }

    let signoffs: Vec<&ItemReport> = r.items().filter(|i| i.signoff.is_some()).collect();
    if !signoffs.is_empty() {
        let _ = writeln!(
            m,
            "## Sign-offs\n\n| Role | Item | Signed by | At |\n|---|---|---|---|"
        );
        for i in signoffs {
            if let Some(sg) = &i.signoff {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} |",
                    cell(&sg.role),
                    cell(&code(&i.id)),
                    match (&sg.signed_by, &sg.rejected) {
                        (Some(by), _) => format!(
                            "{} ({})",
                            cell(by),
                            cell(sg.signature.as_deref().unwrap_or("unsigned"))
                        ),
                        (None, Some(r)) => format!("**rejected** by {}", cell(&r.by)),
                        (None, None) => "**pending**".into(),
                    },
                    cell(sg.signed_at.as_deref().unwrap_or("—"))
                );
            }
        }
        m.push('\n');
    }
    let _ = writeln!(
        m,
        "<sub>golive {} · results.json schema v{}</sub>",
        r.golive_version, r.schema_version
    );
    m
}

/// How the samples behind an item were taken, so a reader can weigh them: "600 of 600
/// over 5.1 s at concurrency 10, longest failure run 0". `None` for items without samples.
pub fn coverage(i: &ItemReport) -> Option<String> {
    if let Some(s) = &i.evidence.samples {
        return Some(format!(
            "{} of {} samples over {} at concurrency {}; longest run of consecutive failures: {}",
            crate::evidence::thousands(s.taken),
            crate::evidence::thousands(s.planned),
            crate::evidence::latency((s.span_s * 1e6).round() as u64),
            s.concurrency,
            s.longest_failure_run
        ));
    }
    i.evidence.load.as_ref().map(|l| {
        // Requests are not kept in order, so clustering shows as the longest stretch of
        // consecutive windows that had errors.
        let (mut run, mut longest) = (0usize, 0usize);
        for w in l.timeline.iter().filter(|w| !w.warm_up) {
            run = if w.errors > 0 { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let window = l.timeline.first().map_or(0.0, |w| w.secs);
        format!(
            "{} requests judged over {:.1} s after {:.1} s of warm-up{}; longest stretch of windows with errors: {longest} × {window:.0} s",
            crate::evidence::thousands(l.requests),
            (l.duration_s - l.warm_up_s).max(0.0),
            l.warm_up_s,
            l.max_in_flight
                .map(|c| format!(", at most {c} in flight"))
                .unwrap_or_default()
        )
    })
}

/// Every waiver, applied or not: a release manager sees what was accepted, by whom and
/// until when, and which waivers expired or no longer match anything.
fn waivers(m: &mut String, r: &Report) {
    if r.waivers.is_empty() {
        return;
    }
    let _ = writeln!(
        m,
        "## Waivers\n\n| Waiver | Item | Covers | Owner | Expires | State | Reason |\n|---|---|---|---|---|---|---|"
    );
    for w in &r.waivers {
        let covers = match (&w.waiver.criterion, w.waiver.excludes()) {
            (_, Some(x)) => format!("excludes {x}"),
            (Some(c), None) => format!("`{c}`"),
            (None, None) => "every criterion".into(),
        };
        let state = match w.state {
            crate::verdict::WaiverState::Applied => "applied",
            crate::verdict::WaiverState::Expired => "**expired**",
            crate::verdict::WaiverState::Unused => "unused",
        };
        let _ = writeln!(
            m,
            "| `{}` | `{}` | {} | {} | {} | {state}: {} | {}{} |",
            cell(&w.waiver.id),
            cell(&w.waiver.item),
            cell(&covers),
            cell(&w.waiver.owner),
            w.waiver.expires,
            cell(&w.why),
            cell(&w.waiver.reason),
            w.waiver
                .link
                .as_deref()
                .map(|l| format!(" ({})", cell(l)))
                .unwrap_or_default()
        );
    }
    m.push('\n');
}

fn item_details(m: &mut String, i: &ItemReport) {
    let _ = writeln!(
        m,
        "<details><summary><code>{}</code> {} — {}</summary>\n",
        html(&i.id),
        html(&i.title),
        badge(i.outcome)
    );
    if let Some(t) = &i.target {
        let _ = writeln!(m, "Target: {}  ", code(t));
    }
    if let Some(s) = &i.evidence.samples {
        let _ = write!(
            m,
            "Samples: {}; {} failed",
            coverage(i).unwrap_or_default(),
            s.failed
        );
        for r in s.longest_over.iter().filter(|r| r.run > 1) {
            let _ = write!(
                m,
                "; longest run at or beyond {}: {}",
                crate::evidence::latency(r.threshold_us),
                r.run
            );
        }
        if let Some(l) = &s.latency_ms {
            let _ = write!(
                m,
                "; latency p50 {} ms, p95 {} ms, p99 {} ms, max {} ms (n = {})",
                l.p50, l.p95, l.p99, l.max, l.n
            );
        }
        m.push_str("\n\n");
    }
    let _ = writeln!(
        m,
        "| Criterion | Outcome | Observed | Expected | Why |\n|---|---|---|---|---|"
    );
    for c in &i.criteria {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {}{} |",
            cell(&code(&c.criterion)),
            badge(c.outcome),
            cell(&c.observed),
            cell(&c.expected),
            cell(&c.why),
            if c.weak { " *(weaker evidence)*" } else { "" }
        );
    }
    if !i.failures.is_empty() {
        m.push_str("\nFailures:\n\n");
        for f in &i.failures {
            let _ = writeln!(m, "- {} × {}: {}", f.count, line(&f.class), line(&f.reason));
        }
    }
    if !i.evidence.drills.is_empty() {
        m.push_str("\nFault drills:\n\n| Service | Action | Planned | Fired | Recovered after | Note |\n|---|---|---|---|---|---|\n");
        for d in &i.evidence.drills {
            let secs =
                |v: Option<f64>| v.map(|s| format!("{s:.1} s")).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                m,
                "| {} | {} | {:.1} s | {} | {} | {} |",
                cell(&code(&d.service)),
                cell(&d.action),
                d.planned_at_s,
                secs(d.fired_at_s),
                secs(d.recovery_ms.map(|ms| ms as f64 / 1e3)),
                cell(d.error.as_deref().unwrap_or(""))
            );
        }
    }
    if let Some(load) = &i.evidence.load {
        load_details(m, load);
    }
    m.push_str("\n</details>\n\n");
}

/// The load run behind a `kind: load` item: rates, per-request latency, the window
/// timeline and each rule's window-by-window readings.
fn load_details(m: &mut String, r: &crate::load::LoadResult) {
    let ms = |p: &Option<crate::load::result::Percentiles>,
              f: fn(&crate::load::result::Percentiles) -> f64| {
        p.as_ref()
            .map(|p| format!("{} ms", f(p)))
            .unwrap_or_else(|| "—".into())
    };
    let _ =
        write!(
        m,
        "\nLoad {}: {} model, {} s planned, ran {} s{}; warm-up {} s ({} requests, not judged). ",
        code(&r.scenario),
        line(&r.model),
        r.planned_s,
        r.duration_s,
        if r.stopped_early { " (**stopped early**)" } else { "" },
        r.warm_up_s,
        r.warm_up_requests
    );
    match r.target_rps {
        Some(t) => {
            let _ = writeln!(
                m,
                "Intended {t}/s, achieved {}/s; {} dropped, {} sent late.",
                r.achieved_rps, r.dropped, r.late
            );
        }
        None => {
            let _ = writeln!(m, "Achieved {}/s.", r.achieved_rps);
        }
    }
    if r.reconnects > 0 {
        let _ = writeln!(
            m,
            "{} requests were sent again on a new connection after the service closed a kept-alive one (errors only where that failed too).",
            r.reconnects
        );
    }

    if let Some(why) = &r.shortfall {
        let _ = writeln!(m, "\n**The intended load was not produced:** {}. Latency claims at that load are INCONCLUSIVE.", line(why));
    }
    if let Some(rb) = &r.rollback {
        let _ = writeln!(
            m,
            "\n**ROLLBACK:** rule {} fired at {} s: {}.",
            code(&rb.rule),
            rb.at_s,
            line(&rb.why)
        );
    }
    let _ = writeln!(
        m,
        "\n| Request | Requests | Errors | p50 | p95 | p99 | max | service p99 |\n|---|---|---|---|---|---|---|---|"
    );
    for s in r.by_request.iter().chain(std::iter::once(&r.overall)) {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            if s.name == "*" {
                "**all**".to_string()
            } else {
                cell(&code(&s.name))
            },
            s.requests,
            s.errors,
            ms(&s.latency_ms, |p| p.p50),
            ms(&s.latency_ms, |p| p.p95),
            ms(&s.latency_ms, |p| p.p99),
            ms(&s.latency_ms, |p| p.max),
            ms(&s.service_time_ms, |p| p.p99),
        );
    }
    if !r.timeline.is_empty() {
        let _ = writeln!(
            m,
            "\n| Window (s) | Requests | Errors | rps | p95 | p99 |\n|---|---|---|---|---|---|"
        );
        let (head, omitted, tail) = elide(&r.timeline);
        for (k, w) in head.iter().chain(tail).enumerate() {
            if k == head.len() && omitted > 0 {
                let _ = writeln!(
                    m,
                    "| … {omitted} windows omitted (all are in results.json) | | | | | |"
                );
            }
            let opt = |v: Option<f64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                m,
                "| {}–{}{} | {} | {} | {} | {} | {} |",
                w.start_s,
                ((w.start_s + w.secs) * 1000.0).round() / 1000.0,
                if w.warm_up { " (warm-up)" } else { "" },
                w.requests,
                w.errors,
                w.rps,
                opt(w.p95_ms),
                opt(w.p99_ms)
            );
        }
    }
    for rule in &r.rules {
        let _ = writeln!(
            m,
            "\nRule {} ({} for {} s, window {} s{}): final state **{:?}**{}.\n",
            code(&rule.name),
            code(&rule.when),
            rule.for_s,
            rule.window_s,
            if rule.observe_only {
                ", observe only"
            } else {
                ""
            },
            rule.final_state,
            rule.fired_at_s
                .map(|t| format!(", fired at {t} s"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            m,
            "| Window start (s) | Samples | Observed | Reading | State |\n|---|---|---|---|---|"
        );
        let (head, omitted, tail) = elide(&rule.timeline);
        for (k, w) in head.iter().chain(tail).enumerate() {
            if k == head.len() && omitted > 0 {
                let _ = writeln!(
                    m,
                    "| … {omitted} windows omitted (all are in results.json) | | | | |"
                );
            }
            let _ = writeln!(
                m,
                "| {} | {} | {} | {:?} | {:?} |",
                w.start_s,
                w.samples,
                w.observed
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "no data".into()),
                w.reading,
                w.state
            );
        }
    }
}

/// Long timelines keep their start and their end in Markdown; results.json has all.
fn elide<T>(rows: &[T]) -> (&[T], usize, &[T]) {
    const HEAD: usize = 10;
    const TAIL: usize = 40;
    if rows.len() <= HEAD + TAIL {
        return (rows, 0, &[]);
    }
    (
        &rows[..HEAD],
        rows.len() - HEAD - TAIL,
        &rows[rows.len() - TAIL..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_leave_its_place() {
        assert_eq!(cell("a|b\r\nc\rd\u{1b}[2J"), "a\\|b c d\\u{1b}[2J");
        assert_eq!(line("ok\n## VERDICT: GO"), "ok ## VERDICT: GO");
        assert_eq!(code("id"), "`id`");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(html("</summary><b>"), "&lt;/summary&gt;&lt;b&gt;");
        let block = fence("```\n## VERDICT: GO\r");
        assert_eq!(block, "````\n```\n## VERDICT: GO\\r\n````");
    }
}
