//! Markdown for people: fit for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
//! The verdict and its reason first, then what failed, then every item with its
//! evidence, services and sign-offs.

use super::model::{ItemReport, Report};
use crate::evidence::Outcome;
use std::fmt::Write;

fn badge(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅ PASS",
        Outcome::Fail => "❌ FAIL",
        Outcome::Inconclusive => "⚠️ INCONCLUSIVE",
    }
}

/// Escapes text for a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
        "# golive: {} — {}{release}\n",
        r.verdict.label(),
        r.checklist.system
    );
    let _ = writeln!(
        m,
        "**Verdict: {}** — {}\n",
        r.verdict.label(),
        r.verdict_reason
    );
    let s = &r.summary;
    let _ = writeln!(m, "| | |\n|---|---|");
    let _ = writeln!(
        m,
        "| Checklist | `{}` (sha256 `{}`) |",
        r.checklist.file,
        r.checklist.sha256.chars().take(12).collect::<String>()
    );
    let _ = writeln!(
        m,
        "| Run | `{}`, started {}, {:.1} s, provider `{}`{} |",
        r.run.id,
        r.run.started_at,
        r.run.duration_s,
        r.run.provider,
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
                "- {} `{}` ({:?}): {}",
                badge(i.outcome),
                i.id,
                i.severity,
                i.why
            );
        }
        m.push('\n');
    }

    for phase in &r.phases {
        let _ = writeln!(m, "## {}\n", phase.title);
        let _ = writeln!(
            m,
            "| Item | Severity | Outcome | Evidence |\n|---|---|---|---|"
        );
        for i in &phase.items {
            let _ = writeln!(
                m,
                "| `{}` {} | {} | {} | {} |",
                i.id,
                cell(&i.title),
                format!("{:?}", i.severity).to_lowercase(),
                badge(i.outcome),
                cell(&i.why)
            );
        }
        m.push('\n');
        for i in phase.items.iter().filter(|i| !i.criteria.is_empty()) {
            item_details(&mut m, i);
        }
    }

    if !r.services.is_empty() {
        let _ = writeln!(m, "## Services\n\n| Service | Provider | URL | Status | Ready after |\n|---|---|---|---|---|");
        for sv in &r.services {
            let _ = writeln!(
                m,
                "| `{}` | {} | {} | {} | {} |",
                sv.name,
                sv.provider,
                sv.url.as_deref().unwrap_or("—"),
                cell(&match &sv.error {
                    Some(e) => format!("{}: {e}", sv.status),
                    None => sv.status.clone(),
                }),
                sv.ready_after_ms
                    .map(|ms| format!("{ms} ms"))
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
                "Last lines of `{}`:\n\n```\n{}\n```\n",
                sv.name,
                sv.log_tail.join("\n")
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
                    "| {} | `{}` | {} | {} |",
                    cell(&sg.role),
                    i.id,
                    sg.signed_by
                        .as_deref()
                        .map(cell)
                        .unwrap_or_else(|| "**pending**".into()),
                    sg.signed_at.as_deref().unwrap_or("—")
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

fn item_details(m: &mut String, i: &ItemReport) {
    let _ = writeln!(
        m,
        "<details><summary><code>{}</code> {} — {}</summary>\n",
        i.id,
        i.title,
        badge(i.outcome)
    );
    if let Some(t) = &i.target {
        let _ = writeln!(m, "Target: `{t}`  ");
    }
    if let Some(s) = &i.samples {
        let _ = write!(
            m,
            "Samples: {} of {} taken, {} failed",
            s.taken, s.planned, s.failed
        );
        if s.longest_failure_run > 1 {
            let _ = write!(
                m,
                " (longest run of consecutive failures: {})",
                s.longest_failure_run
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
            "| `{}` | {} | {} | {} | {}{} |",
            cell(&c.criterion),
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
            let _ = writeln!(m, "- {} × {}: {}", f.count, f.class, cell(&f.reason));
        }
    }
    m.push_str("\n</details>\n\n");
}
