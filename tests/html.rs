//! report.html in a real browser: headless Chromium opens the report of a real run (a
//! load item with drills and a rollback) over the DevTools protocol and shows that the
//! verdict is rendered, that the page requested nothing besides itself, threw nothing,
//! logged no error, and holds no script; a screenshot of its first screen is kept under
//! the target folder. A control page with a request and an exception shows the checks
//! can fail. Text golive did not write cannot become markup or script.
//!
//! Needs Chromium (`apt-get install chromium`); without it the test fails and says so.

mod common;

use common::browser::{assert_clean, file_url, open, Browser};
use common::{run_checklist, run_fixture};
use std::path::PathBuf;

#[test]
fn report_html_renders_in_chromium_alone_and_without_errors() {
    let browser = Browser::start();

    // The checks below can fail: a page that fetches and throws is caught by them.
    let tmp = tempfile::tempdir().expect("temp dir");
    let control = tmp.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><title>control</title><h1>control</h1>\
         <img src=\"http://127.0.0.1:9/none.png\">\
         <script>console.error('control'); throw new Error('control');</script>",
    )
    .expect("write control page");
    let page = open(&browser, &file_url(&control));
    assert!(
        page.requests.iter().any(|r| r.contains("127.0.0.1:9")),
        "{page:?}"
    );
    assert!(
        !page.exceptions.is_empty() && !page.errors.is_empty(),
        "{page:?}"
    );

    let run = run_fixture("drills.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    let report = run.dir.join("report.html");
    let html = std::fs::read_to_string(&report).expect("report.html written");
    for attr in ["src=", "href=", "url("] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..(at + attr.len() + 12).min(html.len())];
            assert!(
                !value.trim_start_matches(['"', '\'']).starts_with("http"),
                "report.html refers to the network at {at}: {value}"
            );
        }
    }
    let page = open(&browser, &file_url(&report));
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&keep).expect("screenshot folder");
    std::fs::write(keep.join("first-screen.png"), &page.screenshot).expect("keep screenshot");
    std::fs::copy(&report, keep.join("report.html")).expect("keep report");
    println!(
        "screenshot of report.html's first screen: {}",
        keep.join("first-screen.png").display()
    );
    assert!(page.screenshot.starts_with(b"\x89PNG"), "not a PNG");
    assert_clean(&page, "report.html");
    assert_eq!(page.dom["h1"], "Verdict: ROLLBACK", "{}", page.dom);
    let text = page.dom["text"].as_str().unwrap_or_default();
    for shown in [
        "Latency per",
        "Error rate per",
        "ROLLBACK (rule slow)",
        "pause api",
    ] {
        assert!(
            text.contains(shown),
            "`{shown}` is not on the page:\n{text}"
        );
    }
    assert!(page.dom["svgs"].as_u64() >= Some(4), "{}", page.dom);

    // The service's CPU and memory over the run, read from the rendered page: each a
    // line of at least two readings, with the pause drill marked on the run's clock.
    for (class, title) in [
        ("c-cpu", "CPU of api over the run"),
        ("c-memory", "Memory of api over the run"),
    ] {
        let charts = page.dom["charts"].as_array().expect("charts");
        let chart = charts
            .iter()
            .find(|c| c["class"] == class)
            .unwrap_or_else(|| panic!("no svg.{class} on the page: {}", page.dom["charts"]));
        assert_eq!(chart["title"], title, "{chart}");
        assert!(chart["points"].as_u64() >= Some(2), "{chart}");
        assert!(
            chart["marks"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m == "pause api")),
            "{chart}"
        );
    }
    let series = run.results()["services"][0]["series"]
        .as_array()
        .expect("the service's series in results.json");
    assert!(series.len() >= 2 && series.len() <= 300, "{}", series.len());
    assert!(
        text.contains("readings, one about every"),
        "the charts' caption is not on the page:\n{text}"
    );
}

#[test]
fn text_golive_did_not_write_stays_text_in_the_browser() {
    let hostile = "<script>console.error('injected')</script><img src=x onerror=alert(1)>";
    let yaml = format!(
        "system: \"{hostile}\"\nphases:\n  - id: p\n    title: \"</h2>{hostile}\"\n    items:\n      \
         - id: cmd\n        title: \"{hostile}\"\n        check: {{ kind: command, run: [\"sh\", \"-c\", \
         \"echo '{hostile}' >&2; exit 3\"] }}\n"
    );
    let run = run_checklist(&yaml, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let browser = Browser::start();
    let page = open(&browser, &file_url(&run.dir.join("report.html")));
    assert_clean(&page, "report.html with hostile text");
    let text = page.dom["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(hostile),
        "the text is shown as written:\n{text}"
    );
}
