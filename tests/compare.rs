//! `golive compare` on real runs against the reference system (`golive sandbox` as a
//! local process): a run with 300 ms of injected latency is a significant regression
//! against a healthy one (exit 1); two healthy runs differ by nothing significant (exit 0);
//! 20 samples are too few to judge (INCONCLUSIVE, exit 4); a file that is not a readable
//! results.json of this version is refused (exit 2).
//!
//! "Healthy" runs carry 20 ms of latency plus up to 20 ms of uniform jitter: a service's
//! own variation, which dominates the ranks, so the scheduling noise of a shared CI
//! machine (a few ms) is not what the test measures. No assertion is about time beyond
//! what the statistics say.

mod common;

use common::{golive, run_checklist_as, Run};
use std::path::Path;

/// A checklist of one sampled HTTP item `health` (plus `extra` when asked) against a
/// sandbox with the given latency fault.
fn checklist(latency: &str, samples: u32, extra: bool) -> String {
    let mut yaml = format!(
        r#"system: Compare
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
"#
    );
    if extra {
        yaml.push_str(
            r#"      - id: extra
        title: Only in this run
        check: { kind: http, url: "{services.app.url}/health" }
        samples: 5
"#,
        );
    }
    yaml
}

fn run(latency: &str, samples: u32, extra: bool) -> Run {
    let r = run_checklist_as(&checklist(latency, samples, extra), "run", &[], &[]);
    assert!(r.results.is_some(), "no results.json: {}", r.stderr);
    r
}

fn compare(base: &Path, current: &Path) -> (i32, serde_json::Value, String) {
    let json = golive()
        .arg("compare")
        .arg(base)
        .arg(current)
        .args(["--format", "json"])
        .output()
        .expect("run golive compare");
    let md = golive()
        .arg("compare")
        .arg(base)
        .arg(current)
        .output()
        .expect("run golive compare");
    assert_eq!(
        json.status.code(),
        md.status.code(),
        "both formats, one exit"
    );
    let value = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| {
        panic!(
            "compare JSON: {e}\n{}",
            String::from_utf8_lossy(&json.stderr)
        )
    });
    (
        json.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&md.stdout).into_owned(),
    )
}

fn item<'a>(c: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    c["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {c:#}"))
}

#[test]
fn a_slow_release_regresses_two_healthy_runs_do_not_and_few_samples_are_inconclusive() {
    let healthy_a = run("20ms", 100, false);
    let healthy_b = run("20ms", 100, false);
    let slow = run("300ms", 100, false);
    let few = run("20ms", 20, true);
    let file = |r: &Run| r.dir.join("results.json");

    // 300 ms more on every request: significant, and a large effect.
    let (code, c, md) = compare(&file(&healthy_a), &file(&slow));
    let h = item(&c, "health");
    eprintln!("healthy → slow: {}", h["why"]);
    assert_eq!(code, 1, "{md}");
    assert_eq!(c["verdict"], "REGRESSION");
    assert_eq!(h["verdict"], "REGRESSION");
    assert_eq!(h["latency"], "REGRESSION");
    let t = &h["latency_test"];
    assert_eq!(
        (t["n_base"].as_u64(), t["n_current"].as_u64()),
        (Some(100), Some(100))
    );
    assert!(t["p"].as_f64().unwrap() < 0.01, "{t}");
    // Every slow sample (>= 300 ms) exceeds every healthy one (<= 40 ms plus noise).
    assert!(t["superiority"].as_f64().unwrap() > 0.99, "{t}");
    assert!(h["p95_ratio"].as_f64().unwrap() > 1.10, "{h}");
    // The two checklists differ (the fault is in the service command): named, compared.
    assert_eq!(c["checklist_differs"], true);
    assert!(md.contains("different checklists"), "{md}");
    assert!(md.contains("| `health` | 100 / 100 |"), "{md}");
    assert!(md.contains("**REGRESSION**"), "{md}");

    // Two healthy runs: the same distribution, no significant change.
    let (code, c, md) = compare(&file(&healthy_a), &file(&healthy_b));
    let h = item(&c, "health");
    eprintln!("healthy → healthy: {}", h["why"]);
    assert_eq!(code, 0, "{md}");
    assert_eq!(h["verdict"], "NO_SIGNIFICANT_CHANGE", "{h}");
    assert_eq!(c["checklist_differs"], false);
    assert!(md.contains("NO SIGNIFICANT CHANGE"), "{md}");

    // 20 samples on one side: INCONCLUSIVE even against the slow run; `extra` is named.
    let (code, c, md) = compare(&file(&slow), &file(&few));
    let h = item(&c, "health");
    assert_eq!(code, 4, "{md}");
    assert_eq!(h["verdict"], "INCONCLUSIVE", "{h}");
    assert_eq!(h["current"]["n"], 20);
    assert_eq!(c["only_in_current"], serde_json::json!(["extra"]));
    assert!(md.contains("50 needed on each side"), "{md}");

    bad_inputs_are_refused(&file(&healthy_a));
}

/// Exit 2, naming the file: missing, another schema version, a corrupt histogram.
fn bad_inputs_are_refused(good: &Path) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(good).expect("read results.json");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let old = tmp.path().join("old.json");
    value["schema_version"] = serde_json::json!(1);
    std::fs::write(&old, value.to_string()).expect("write");
    let corrupt = tmp.path().join("corrupt.json");
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    value["phases"][0]["items"][0]["evidence"]["samples"]["latency_histogram"] =
        serde_json::json!("not a histogram");
    std::fs::write(&corrupt, value.to_string()).expect("write");
    for (bad, says) in [
        (tmp.path().join("missing.json"), "cannot read"),
        (old, "schema_version is 1"),
        (corrupt, "latency_histogram"),
    ] {
        let out = golive()
            .arg("compare")
            .arg(good)
            .arg(&bad)
            .output()
            .expect("run golive compare");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", bad.display());
        assert!(stderr.contains(says), "{}: {stderr}", bad.display());
    }
}
