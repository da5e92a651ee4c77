//! `golive run --baseline`: claims written against an earlier run of the checklist
//! (`p95 <= baseline + 10%`, `mean <= baseline - 50%`, `error_rate <= baseline - 80%`)
//! take their thresholds from it, and every report carries a before/after table.
//!
//! Against the reference system as a local process: the shipped Trade-X-Pro example
//! against its stored 1.0 baseline is GO with the improvement in all four formats; 300 ms
//! of injected latency against a healthy baseline breaks `p95 <= baseline + 10%` (NO-GO);
//! a 20-sample baseline sets no usable threshold (INCONCLUSIVE); and a missing, foreign or
//! mismatched baseline is refused before anything runs (exit 2, no run folder).

mod common;

use common::{golive, root, run_checklist_as, Run};
use std::path::Path;

/// One sampled HTTP item `health` against a sandbox with `latency` injected (plus 20 ms
/// of jitter, a service's own variation), claiming `criteria`.
fn checklist(system: &str, latency: &str, samples: u32, criteria: &str) -> String {
    format!(
        r#"system: {system}
services:
  app:
    process:
      command: ["{{golive}}", "sandbox", "--listen", "127.0.0.1:{{port}}",
                "--fault", "latency={latency}", "--fault", "jitter=20ms"]
    ready: {{ kind: http, path: /health }}
phases:
  - id: checks
    title: Checks
    items:
      - id: health
        title: Health
        check: {{ kind: http, url: "{{services.app.url}}/health" }}
        samples: {samples}
        concurrency: 10
        criteria: {criteria}
"#
    )
}

fn base_run(latency: &str, samples: u32) -> Run {
    let r = run_checklist_as(
        &checklist("Baseline", latency, samples, "[p95 < 5s]"),
        "base",
        &[],
        &[],
    );
    assert!(
        r.results.is_some(),
        "no baseline results.json: {}",
        r.stderr
    );
    r
}

fn with_baseline(yaml: &str, base: &Path) -> Run {
    let base = base.join("results.json");
    run_checklist_as(
        yaml,
        "current",
        &["--baseline", base.to_str().expect("utf-8 path")],
        &[],
    )
}

fn criterion<'a>(r: &'a Run, text: &str) -> &'a serde_json::Value {
    let item = &r.results()["phases"][0]["items"][0];
    item["criteria"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["criterion"] == text))
        .unwrap_or_else(|| panic!("no criterion `{text}` in {item:#}"))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn the_shipped_example_is_go_against_its_stored_baseline_with_a_before_after_table() {
    let base = root().join("checks/baselines/trade-x-pro-1.0/results.json");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    let out = golive()
        .current_dir(root())
        .arg("run")
        .arg("checks/trade-x-pro-before-after.yaml")
        .arg("--baseline")
        .arg(&base)
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("run golive");
    let r = common::finish(out, dir.clone(), tmp);
    assert_eq!(r.code, 0, "GO expected:\n{}\n{}", r.stdout, r.stderr);
    let results = r.results();
    assert_eq!(results["verdict"], "GO");
    // The thresholds came from 1.0: half its mean, 20% of its error rate.
    let mean = criterion(&r, "mean <= baseline - 50%");
    assert_eq!(mean["outcome"], "PASS", "{mean:#}");
    let expected = mean["expected"].as_str().unwrap();
    assert!(
        expected.contains("baseline mean") && expected.contains("- 50%"),
        "{expected}"
    );
    let threshold = mean["threshold"]["value"].as_f64().unwrap();
    assert!(
        (250.0..300.0).contains(&threshold),
        "half of ~570 ms: {threshold}"
    );
    let errors = criterion(&r, "error_rate <= baseline - 80%");
    assert_eq!(errors["outcome"], "PASS", "{errors:#}");
    // The claim in results.json keeps where its threshold came from.
    let claims = results["phases"][0]["items"][0]["claims"]
        .as_array()
        .unwrap();
    let sourced = claims
        .iter()
        .filter(|c| c["criterion"]["baseline"]["run_id"].is_string())
        .count();
    assert_eq!(sourced, 3, "{claims:#?}");
    // The before/after table in every format.
    let table = &results["baseline"];
    assert_eq!(table["verdict"], "IMPROVEMENT", "{table:#}");
    assert_eq!(table["items"][0]["id"], "order-execution");
    assert_eq!(table["items"][0]["errors"], "IMPROVEMENT", "{table:#}");
    for file in ["report.md", "report.html", "junit.xml"] {
        let text = read(&r.dir, file);
        assert!(
            text.contains("Before and after the baseline") && text.contains("IMPROVEMENT"),
            "{file} has no before/after table"
        );
    }
    // Judged again from results.json alone (no baseline file needed), it says the same.
    let again = golive()
        .arg("report")
        .arg(r.dir.join("results.json"))
        .args(["--format", "md"])
        .output()
        .expect("golive report");
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        read(&r.dir, "report.md")
    );
}

#[test]
fn injected_latency_breaks_a_claim_against_a_healthy_baseline() {
    let base = base_run("20ms", 200);
    let yaml = checklist(
        "Baseline",
        "300ms",
        200,
        "[p95 <= baseline + 10%, error_rate <= baseline]",
    );
    let r = with_baseline(&yaml, &base.dir);
    assert_eq!(r.code, 1, "NO-GO expected:\n{}\n{}", r.stdout, r.stderr);
    let p95 = criterion(&r, "p95 <= baseline + 10%");
    assert_eq!(p95["outcome"], "FAIL", "{p95:#}");
    assert!(
        p95["why"]
            .as_str()
            .unwrap()
            .contains("threshold from baseline p95"),
        "{p95:#}"
    );
    // Sampling stopped once the FAIL was certain, so the before/after table may have too
    // few samples for its own test; its p95 moved all the same.
    let table = &r.results()["baseline"];
    let ratio = table["items"][0]["p95_ratio"].as_f64().unwrap_or(0.0);
    assert!(ratio > 2.0, "p95 up from ~40 ms to ~320 ms: {table:#}");
    assert_ne!(table["verdict"], "IMPROVEMENT");
    // The same latency as the baseline holds. 200 ms of injected latency dwarfs the
    // scheduling noise of a busy machine (tens of ms), which 20 ms would not.
    let base = base_run("200ms", 200);
    let same = with_baseline(
        &checklist(
            "Baseline",
            "200ms",
            200,
            "[p95 <= baseline + 50%, error_rate <= baseline]",
        ),
        &base.dir,
    );
    assert_eq!(
        same.code, 0,
        "GO expected:\n{}\n{}",
        same.stdout, same.stderr
    );
}

#[test]
fn a_thin_baseline_sets_no_threshold() {
    let base = base_run("20ms", 20);
    let r = with_baseline(
        &checklist("Baseline", "20ms", 100, "[p95 <= baseline + 10%]"),
        &base.dir,
    );
    assert_eq!(r.code, 4, "INCONCLUSIVE expected:\n{}", r.stdout);
    let p95 = criterion(&r, "p95 <= baseline + 10%");
    assert_eq!(p95["outcome"], "INCONCLUSIVE");
    assert!(
        p95["why"].as_str().unwrap().contains("at least 50"),
        "{p95:#}"
    );
}

#[test]
fn a_missing_foreign_or_mismatched_baseline_is_refused_before_anything_runs() {
    let claim = "[p95 <= baseline + 10%]";
    let refused = |r: &Run, needles: &[&str]| {
        assert_eq!(r.code, 2, "{}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "`{n}` not in: {}", r.stderr);
        }
        assert!(!r.dir.exists(), "a refused run leaves no run folder");
    };
    // No baseline given.
    let r = run_checklist_as(&checklist("Baseline", "0ms", 10, claim), "run", &[], &[]);
    refused(
        &r,
        &["checklist.yaml", "`p95 <= baseline + 10%`", "--baseline"],
    );
    // Not a results.json.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("results.json"), "{}").unwrap();
    let r = with_baseline(&checklist("Baseline", "0ms", 10, claim), tmp.path());
    refused(&r, &["results.json", "schema_version"]);
    // A run of another system, and one that never ran the item.
    let base = base_run("0ms", 60);
    let r = with_baseline(&checklist("Other", "0ms", 10, claim), &base.dir);
    refused(&r, &["checklist.system is `Baseline`", "`Other`"]);
    let renamed = checklist("Baseline", "0ms", 10, claim).replace("id: health", "id: ready");
    let r = with_baseline(&renamed, &base.dir);
    refused(&r, &["of item `ready`", "measured nothing to compare"]);
}
