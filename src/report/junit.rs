//! JUnit XML in the Ant schema (the strictest common consumer): one `<testsuite>` per
//! phase, one `<testcase>` per item. FAIL is a `<failure>` with observed vs expected;
//! INCONCLUSIVE is `<skipped>` with the reason; the verdict is in `<properties>`.

use super::model::{ItemReport, Report};
use crate::evidence::Outcome;
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
    for (i, phase) in report.phases.iter().enumerate() {
        let count = |o: Outcome| phase.items.iter().filter(|it| it.outcome == o).count();
        let time: f64 = phase.items.iter().map(item_time).sum();
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" package=\"{}\" id=\"{i}\" timestamp=\"{timestamp}\" hostname=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time:.3}\">",
            attr(&format!("{}: {}", phase.id, phase.title)),
            attr(&report.checklist.system),
            attr(host),
            phase.items.len(),
            count(Outcome::Fail),
            count(Outcome::Inconclusive),
        );
        x.push_str("    <properties>\n");
        let props = [
            ("golive.verdict", report.verdict.label().to_string()),
            ("golive.verdict_reason", report.verdict_reason.clone()),
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
        for item in &phase.items {
            testcase(&mut x, &phase.id, item);
        }
        let _ = writeln!(
            x,
            "    <system-out>{}</system-out>\n    <system-err></system-err>\n  </testsuite>",
            text(&format!(
                "golive verdict: {} ({})",
                report.verdict.label(),
                report.verdict_reason
            ))
        );
    }
    x.push_str("</testsuites>\n");
    x
}

fn item_time(item: &ItemReport) -> f64 {
    item.samples.as_ref().map_or(0.0, |s| s.duration_s)
}

fn testcase(x: &mut String, phase: &str, item: &ItemReport) {
    let _ = write!(
        x,
        "    <testcase name=\"{}\" classname=\"golive.{}\" time=\"{:.3}\"",
        attr(&format!("{}: {}", item.id, item.title)),
        attr(phase),
        item_time(item)
    );
    let details = details(item);
    match item.outcome {
        Outcome::Pass => x.push_str("/>\n"),
        Outcome::Fail => {
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                attr(&item.why),
                format_args!("{:?}", item.severity)
                    .to_string()
                    .to_lowercase(),
                text(&details)
            );
        }
        Outcome::Inconclusive => {
            let _ = writeln!(
                x,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                attr(&format!("INCONCLUSIVE: {}", item.why))
            );
        }
    }
}

/// Observed vs expected for each criterion, then the first failure reasons.
fn details(item: &ItemReport) -> String {
    let mut s = String::new();
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

/// Drops characters XML 1.0 cannot carry (a probe may have read binary garbage).
fn clean(s: &str) -> String {
    s.chars()
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
        assert_eq!(attr("a\u{0}b<c>\"\n"), "ab&lt;c&gt;&quot;&#10;");
        assert_eq!(text("x\u{1b}[31m & y"), "x[31m &amp; y");
    }
}
