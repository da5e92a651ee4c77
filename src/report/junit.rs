//! JUnit XML in the Ant schema (the strictest common consumer): one `<testsuite>` per
//! phase, one `<testcase>` per item, and a last suite holding the verdict. The file agrees
//! with the exit code: a GO run has no `<failure>`, and a run that exits non-zero has at
//! least one failing test case that says why (the verdict's test case always does).
//!
//! - a blocker that FAILs, or is INCONCLUSIVE (evidence too thin, a sign-off pending), is a
//!   `<failure>` with observed vs expected, or with what is missing;
//! - a warning or info item that did not pass is `<skipped>` with its outcome: visible in
//!   CI test views, never red;
//! - each test case carries `file` and `line` (where the item is written in the checklist),
//!   the attributes pytest's xunit output, GitLab and the common GitHub reporters read for
//!   annotations. The Ant schema does not declare them; readers ignore what they do not know.

use super::model::{ItemReport, Report};
use crate::evidence::Outcome;
use crate::spec::Severity;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    // Ant wants a local timestamp without zone: keep the UTC wall time.
    let timestamp: String = report.run.started_at.chars().take(19).collect();
    let host = if report.run.host.trim().is_empty() {
        "unknown"
    } else {
        report.run.host.as_str()
    };
    let file = report.checklist.file.as_str();
    for (i, phase) in report.phases.iter().enumerate() {
        let failures = phase.items.iter().filter(|it| is_failure(it)).count();
        let skipped = phase
            .items
            .iter()
            .filter(|it| !is_failure(it) && it.outcome != Outcome::Pass)
            .count();
        let time: f64 = phase.items.iter().map(item_time).sum();
        suite_open(
            &mut x,
            report,
            &format!("{}: {}", phase.id, phase.title),
            i,
            (&timestamp, host),
            (phase.items.len(), failures, skipped),
            time,
        );
        for item in &phase.items {
            testcase(&mut x, &phase.id, file, item);
        }
        suite_close(&mut x, report, "");
    }
    verdict_suite(&mut x, report, report.phases.len(), (&timestamp, host));
    x.push_str("</testsuites>\n");
    x
}

/// A blocker that failed or could not be settled fails the gate, so it fails its test
/// case; a waived one does not block.
fn is_failure(item: &ItemReport) -> bool {
    item.severity == Severity::Blocker
        && matches!(item.outcome, Outcome::Fail | Outcome::Inconclusive)
}

fn suite_open(
    x: &mut String,
    report: &Report,
    name: &str,
    id: usize,
    (timestamp, host): (&str, &str),
    (tests, failures, skipped): (usize, usize, usize),
    time: f64,
) {
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" package=\"{}\" id=\"{id}\" timestamp=\"{timestamp}\" hostname=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        attr(name),
        attr(&report.checklist.system),
        attr(host),
    );
    x.push_str("    <properties>\n");
    let props = [
        ("golive.verdict", report.verdict.label().to_string()),
        ("golive.verdict_reason", report.verdict_reason.clone()),
        ("golive.exit_code", report.exit_code.to_string()),
        ("golive.run_id", report.run.id.clone()),
        ("golive.checklist", report.checklist.file.clone()),
        ("golive.checklist_sha256", report.checklist.sha256.clone()),
        (
            "golive.release",
            report.checklist.release.clone().unwrap_or_default(),
        ),
    ];
    for (name, value) in props {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            attr(&value)
        );
    }
    x.push_str("    </properties>\n");
}

fn suite_close(x: &mut String, report: &Report, more: &str) {
    let _ = writeln!(
        x,
        "    <system-out>{}</system-out>\n    <system-err></system-err>\n  </testsuite>",
        text(&format!(
            "golive verdict: {} ({}){more}",
            report.verdict.label(),
            report.verdict_reason
        ))
    );
}

/// The run's verdict as one test case: it fails exactly when the exit code is not 0, so a
/// run stopped by a rollback rule, an environment failure or an interruption is red in CI
/// even when no item's own test case is.
fn verdict_suite(x: &mut String, report: &Report, id: usize, when: (&str, &str)) {
    let failed = report.exit_code != 0;
    suite_open(
        x,
        report,
        "verdict",
        id,
        when,
        (1, usize::from(failed), 0),
        report.run.duration_s,
    );
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"golive.verdict\" time=\"{:.3}\" file=\"{}\" line=\"1\"",
        attr(&format!("verdict: {}", report.verdict.label())),
        report.run.duration_s.max(0.0),
        attr(&report.checklist.file)
    );
    if failed {
        let _ = writeln!(
            x,
            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
            attr(&format!(
                "{} (exit {}): {}",
                report.verdict.label(),
                report.exit_code,
                report.verdict_reason
            )),
            attr(report.verdict.label()),
            text(&report.verdict_reason)
        );
    } else {
        x.push_str("/>\n");
    }
    // The before/after table, where CI test views show a suite's output.
    let before_after = report
        .baseline
        .as_ref()
        .map(|c| format!("\n\n{}", super::compare::markdown_section(c)))
        .unwrap_or_default();
    suite_close(x, report, &before_after);
}

fn item_time(item: &ItemReport) -> f64 {
    item.evidence
        .samples
        .as_ref()
        .map_or(0.0, |s| s.duration_s)
        .max(0.0)
}

fn testcase(x: &mut String, phase: &str, file: &str, item: &ItemReport) {
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"golive.{}\" time=\"{:.3}\" file=\"{}\" line=\"{}\"",
        attr(&format!("{}: {}", item.id, item.title)),
        attr(phase),
        item_time(item),
        attr(file),
        item.line.unwrap_or(1)
    );
    let details = details(item);
    if item.outcome == Outcome::Pass {
        x.push_str("/>\n");
        return;
    }
    if is_failure(item) {
        // FAIL: observed vs expected. INCONCLUSIVE: what is missing (thin evidence, a
        // pending sign-off), which the item's `why` names.
        let kind = match (item.outcome, &item.signoff) {
            (Outcome::Fail, _) => "fail",
            (_, Some(s)) if s.signed_by.is_none() => "signoff-pending",
            _ => "inconclusive",
        };
        let _ = writeln!(
            x,
            ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
            attr(&format!("{}: {}", item.outcome.as_str(), item.why)),
            text(&details)
        );
    } else {
        let _ = writeln!(
            x,
            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
            attr(&format!(
                "{} ({}, does not block): {}",
                item.outcome.as_str(),
                format!("{:?}", item.severity).to_lowercase(),
                item.why
            ))
        );
    }
}

/// Observed vs expected for each criterion, then the first failure reasons.
fn details(item: &ItemReport) -> String {
    let mut s = String::new();
    if let Some(skipped) = &item.skipped {
        let _ = writeln!(s, "not judged on a full run: {skipped}");
    }
    for c in &item.criteria {
        let _ = writeln!(
            s,
            "[{}] {}: observed {}; expected {}. {}",
            c.outcome.as_str(),
            c.criterion,
            c.observed,
            c.expected,
            c.why
        );
    }
    for f in &item.failures {
        let _ = writeln!(s, "{} x{}: {}", f.class, f.count, f.reason);
    }
    s
}

/// Shows control characters escaped (`\u{1b}`), as everywhere golive prints: a CI log
/// that echoes a failure message must not obey them. Drops what XML 1.0 cannot carry
/// otherwise (a probe may have read binary garbage).
fn clean(s: &str) -> String {
    crate::redact::printable(s)
        .chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}'))
        .collect()
}

fn attr(s: &str) -> String {
    quick_xml::escape::escape(clean(s).as_str()).replace('\n', "&#10;")
}

fn text(s: &str) -> String {
    quick_xml::escape::escape(clean(s).as_str()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_what_xml_cannot_carry() {
        assert_eq!(attr("a\u{0}b<c>\"\n"), "a\\u{0}b&lt;c&gt;&quot;&#10;");
        assert_eq!(text("x\u{1b}[31m & y\u{fffe}"), "x\\u{1b}[31m &amp; y");
    }
}
