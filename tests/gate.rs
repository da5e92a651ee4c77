//! The gate end to end with the real binary and the reference system: the demo's GO and
//! NO-GO, output contracts (results.json schema, JUnit XSD, golden renderings), re-rendering,
//! and an interrupted run that still leaves its report.

mod common;

use common::{golive, root};
use std::path::Path;
use std::process::Stdio;

/// Runs that measure latency against a threshold take turns, so that parallel test
/// threads on a 2-core machine do not turn the healthy demo's p95 into a measure of the
/// test harness.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn demo(args: &[&str]) -> common::Run {
    let _turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    // The demo's latency claims (WebSocket p95 < 20ms) are judged on the reference
    // system as a local process: through Docker's port proxy, with the other tests of
    // this binary running beside it on two cores, p95 reached 30 ms in CI. The
    // container provider has its own tests (tests/containers.rs).
    let out = golive()
        .current_dir(root())
        .args(["demo", "--provider", "process"])
        .arg("--out")
        .arg(&dir)
        .args(args)
        .output()
        .expect("run golive demo");
    common::finish(out, dir, tmp)
}

/// Validates results.json against the committed schema, and the schema against golive.
fn assert_results_schema(results: &serde_json::Value) {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("src/report/results.schema.json"))
            .expect("committed schema"),
    )
    .expect("schema is JSON");
    let printed = golive()
        .args(["schema", "--results"])
        .output()
        .expect("golive schema");
    let printed: serde_json::Value =
        serde_json::from_slice(&printed.stdout).expect("schema is JSON");
    assert!(
        committed == printed,
        "src/report/results.schema.json is stale: regenerate it with `golive schema --results`"
    );
    let validator = jsonschema::validator_for(&committed).expect("valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(results)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "results.json does not match its schema: {errors:#?}"
    );
}

/// Loads junit.xml into xmllint against the Ant JUnit schema (the strictest consumer).
/// golive adds `file` and `line` to each `<testcase>` for CI annotations (as pytest's
/// xunit output does); the Ant schema does not declare them, so they are checked here and
/// taken out before the schema sees the rest.
fn assert_junit_valid(path: &Path) {
    let xsd = root().join("tests/schemas/junit-ant.xsd");
    let xml = std::fs::read_to_string(path).expect("junit.xml");
    let mut stripped = String::new();
    for line in xml.lines() {
        let mut l = line.to_string();
        if l.trim_start().starts_with("<testcase ") {
            for attr in [" file=\"", " line=\""] {
                let start = l.find(attr).unwrap_or_else(|| panic!("no{attr} in {l}"));
                let end = start
                    + attr.len()
                    + l[start + attr.len()..].find('"').expect("closing quote")
                    + 1;
                l.replace_range(start..end, "");
            }
        }
        stripped.push_str(&l);
        stripped.push('\n');
    }
    let plain = path.with_extension("ant.xml");
    std::fs::write(&plain, stripped).expect("write the stripped copy");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&plain)
        .output()
        .expect("xmllint must be installed (Debian package libxml2-utils; .ci/run installs it)");
    assert!(
        out.status.success(),
        "junit.xml is not valid Ant JUnit:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_demo_on_the_healthy_reference_system_is_go() {
    let run = demo(&[]);
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("VERDICT: GO"), "{}", run.stdout);
    let r = run.results();
    assert_eq!(r["verdict"], "GO");
    assert_eq!(r["summary"]["failed"], 0);
    assert_eq!(r["services"][0]["provider"], "process");
    // Every automated claim carries its sample count.
    let health = run.item("health-within-100ms");
    assert_eq!(health["evidence"]["samples"]["taken"], 300);
    assert_eq!(health["criteria"][0]["n"], 300);
    assert_results_schema(r);
    assert_junit_valid(&run.dir.join("junit.xml"));
    assert!(std::fs::read_to_string(run.dir.join("report.md"))
        .expect("report.md")
        .contains("**Verdict: GO**"));
}

#[test]
fn the_demo_with_injected_errors_is_no_go_and_names_the_breached_criteria() {
    let run = demo(&["--fault", "errors=30%"]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("VERDICT: NO-GO"), "{}", run.stdout);
    let item = run.item("health-endpoint");
    assert_eq!(item["outcome"], "FAIL");
    let c = &item["criteria"][0];
    assert_eq!(c["criterion"], "error_rate < 1%");
    assert!(
        c["observed"]
            .as_str()
            .unwrap_or("")
            .starts_with("error rate "),
        "{c}"
    );
    assert!(
        c["why"]
            .as_str()
            .unwrap_or("")
            .contains("breaks the limit of 1%"),
        "{c}"
    );
    assert!(
        item["why"]
            .as_str()
            .unwrap_or("")
            .contains("a supported FAIL was already certain"),
        "{item}"
    );
    // No item passes while it has failed samples that no criterion counted: a latency
    // claim counts them beyond its threshold, and an item whose criteria count none gets
    // the implicit `failures == 0`.
    let counts_failures = |c: &serde_json::Value| {
        let m = c["metric"].as_str().unwrap_or("");
        ["error_rate", "success_rate", "failures", "max"].contains(&m)
            || (m.starts_with('p') && c["op"] == "<")
    };
    let mut with_failures = 0;
    for item in run.results()["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["items"].as_array().into_iter().flatten())
    {
        let failed = item["evidence"]["samples"]["failed"].as_u64().unwrap_or(0);
        if failed == 0 {
            continue;
        }
        with_failures += 1;
        let criteria = item["criteria"].as_array().expect("criteria");
        assert!(
            item["outcome"] != "PASS" || criteria.iter().any(counts_failures),
            "{} passed with {failed} failed samples no criterion counted: {item:#}",
            item["id"]
        );
        // Every sample-based item says how its samples were taken.
        let s = &item["evidence"]["samples"];
        assert!(
            s["span_s"].as_f64().is_some() && s["concurrency"].as_u64() >= Some(1),
            "{s}"
        );
    }
    assert!(with_failures >= 2, "the fault should reach several items");
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(md.contains(" at concurrency "), "{md}");
    assert!(run.stdout.contains("error_rate < 1%"), "{}", run.stdout);
    assert_results_schema(run.results());
    assert_junit_valid(&run.dir.join("junit.xml"));
}

#[test]
fn a_bad_fault_flag_is_invalid_input() {
    let run = demo(&["--fault", "latncy=300ms"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("latncy"), "{}", run.stderr);
    assert!(run.results.is_none());
}

/// report.html redacted as the other reports: its charts (drawn from measured latencies)
/// and its stylesheet reduced to their tags, the service's resource readings (present or
/// not, depending on timing) left out, and a line per element so a change reads as a diff.
fn redact_html(text: &str) -> String {
    let charts = regex::Regex::new(r"(?s)<svg\b[^>]*>.*?</svg>").expect("regex");
    let text = charts.replace_all(text, "<svg>…</svg>");
    // A very short run may end before its first resource reading, so the resource
    // charts may or may not be there.
    let resources =
        regex::Regex::new(r#"(?s)<figure class="resources">.*?</figure>"#).expect("regex");
    let text = resources.replace_all(&text, "");
    // The stylesheet is the same in every report; the golden file is about the content.
    let style = regex::Regex::new(r"(?s)<style>.*?</style>").expect("regex");
    let text = style
        .replace_all(&text, "<style>…</style>")
        .replace("><", ">\n<");
    let text = redact(&text);
    let text = regex::Regex::new(r"sha256 <code>[0-9a-f]+</code>")
        .expect("regex")
        .replace_all(&text, "sha256 <code><sha></code>");
    regex::Regex::new(r#"<td class="resources">[^<]*</td>"#)
        .expect("regex")
        .replace_all(&text, r#"<td class="resources"><resources></td>"#)
        .into_owned()
}

/// Replaces what changes from run to run (times, ports, latencies, ids, host).
fn redact(text: &str) -> String {
    let rules = [
        // Run ids are unique per run (time and random bits), never the folder's name.
        (r"\b\d{8}T\d{6}Z-[0-9a-f]{8}\b", "<run id>"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?", "<time>"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
        (r"\b\d+(\.\d+)? (ms|µs|s)\b", "<dur>"),
        (r"sha256 `[0-9a-f]+`", "sha256 `<sha>`"),
        (r#"value="[0-9a-f]{64}""#, r#"value="<sha>""#),
        (r#"hostname="[^"]*""#, r#"hostname="<host>""#),
        (r#"time="[0-9.]+""#, r#"time="<t>""#),
        (r"golive \d+\.\d+\.\d+", "golive <version>"),
        (
            r"CPU mean [0-9.]+%, memory peak [0-9.]+ MB, growth -?[0-9.]+ MB \(\d+ readings\)",
            "<resources>",
        ),
        // A very short run may end before its first resource reading.
        (
            r"(?m)^(\| `[^`]+` \| process \| .*\| )—( \|)$",
            "${1}<resources>${2}",
        ),
    ];
    rules.iter().fold(text.to_string(), |acc, (re, with)| {
        regex::Regex::new(re)
            .expect("regex")
            .replace_all(&acc, *with)
            .into_owned()
    })
}

#[test]
fn reports_match_their_golden_files_and_re_render_identically() {
    let dir = root().join("tests/fixtures/run");
    let tmp = tempfile::tempdir().expect("temp dir");
    let turn = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    let out = tmp.path().join("run");
    let status = golive()
        .current_dir(&dir)
        .args(["run", "golden.yaml", "--sign", "qa=Grace Hopper", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run golive");
    drop(turn);
    assert_eq!(
        status.code(),
        Some(1),
        "one blocker fails deterministically"
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_results_schema(&results);
    assert_junit_valid(&out.join("junit.xml"));
    let outcomes: Vec<(&str, &str)> = results["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["items"].as_array().into_iter().flatten())
        .map(|i| {
            (
                i["id"].as_str().unwrap_or(""),
                i["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("health", "PASS"),
            ("thin-evidence", "INCONCLUSIVE"),
            ("wrong-status", "FAIL"),
            ("advisory", "FAIL"),
            ("qa", "PASS"),
            ("business", "INCONCLUSIVE")
        ]
    );
    let thin = &results["phases"][0]["items"][1]["criteria"][0];
    assert_eq!(thin["samples_needed"], 299, "{thin}");

    for (file, format) in [
        ("report.md", "md"),
        ("report.html", "html"),
        ("junit.xml", "junit"),
        ("results.json", "json"),
    ] {
        let written = std::fs::read_to_string(out.join(file)).expect("written report");
        let rendered = golive()
            .arg("report")
            .arg(out.join("results.json"))
            .args(["--format", format])
            .output()
            .expect("golive report");
        assert!(rendered.status.success());
        assert_eq!(
            String::from_utf8_lossy(&rendered.stdout),
            written,
            "`golive report --format {format}` differs from {file}"
        );
        if file == "results.json" {
            continue;
        }
        let golden_path = root().join("tests/golden").join(file);
        let actual = if file == "report.html" {
            redact_html(&written)
        } else {
            redact(&written)
        };
        if std::env::var_os("GOLIVE_BLESS").is_some() {
            std::fs::write(&golden_path, &actual).expect("bless golden file");
        }
        let golden =
            std::fs::read_to_string(&golden_path).expect("golden file (GOLIVE_BLESS=1 writes it)");
        assert_eq!(
            actual,
            golden,
            "{file} differs from {}",
            golden_path.display()
        );
    }
}

#[test]
fn re_rendering_a_file_that_is_not_results_json_is_invalid_input() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let bad = tmp.path().join("results.json");
    std::fs::write(&bad, "{\"verdict\": \"GO\"}").expect("write");
    let out = golive()
        .arg("report")
        .arg(&bad)
        .output()
        .expect("golive report");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a golive results.json"));
}

#[test]
fn an_interrupted_run_writes_its_report_and_exits_130() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("run");
    let mut child = golive()
        .current_dir(root().join("tests/fixtures/run"))
        .args(["run", "slow.yaml", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive");
    // Wait until sampling has begun, then interrupt as a terminal's Ctrl-C would.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("→ slow-health"));
    assert!(started, "the run never started sampling");
    std::thread::sleep(std::time::Duration::from_millis(800));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json written"),
    )
    .expect("JSON");
    assert_eq!(results["run"]["interrupted"], true);
    assert_eq!(results["exit_code"], 130);
    let slow = &results["phases"][0]["items"][0];
    let taken = slow["evidence"]["samples"]["taken"]
        .as_u64()
        .expect("samples taken");
    assert!(taken > 0 && taken < 400, "{slow}");
    assert!(
        slow["skipped"]
            .as_str()
            .unwrap_or("")
            .starts_with("interrupted after"),
        "{slow}"
    );
    assert_eq!(
        results["phases"][0]["items"][1]["skipped"],
        "not run: the run was interrupted"
    );
    assert!(out.join("junit.xml").exists() && out.join("report.md").exists());
    // The reference system golive started was stopped.
    let url = results["services"][0]["url"].as_str().expect("service url");
    let addr = url.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the service at {addr} still answers"
    );
}

#[test]
fn services_start_in_depends_on_order() {
    let yaml = r#"system: Order
services:
  api:
    process: { command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"] }
    ready: { kind: http, path: /health }
    depends_on: [quotes]
  quotes:
    process: { command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"] }
    ready: { kind: http, path: /health }
phases:
  - id: p
    title: P
    items:
      - { id: api, title: API answers, check: { kind: http, url: "{services.api.url}/health" } }
"#;
    let run = common::run_checklist(yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<&str> = run.results()["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["quotes", "api"]);
    let ready = run
        .stderr
        .find("service quotes ready")
        .expect("quotes ready");
    assert!(
        ready < run.stderr.find("service api ready").expect("api ready"),
        "{}",
        run.stderr
    );
}
