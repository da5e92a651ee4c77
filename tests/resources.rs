//! Resource criteria on services golive runs, sampled every second from /proc: a
//! memory-leak drill fails `memory_growth < 50MB` with the measured slope; a healthy
//! service passes its memory, CPU and restart criteria.

mod common;

use common::{golive, root};

#[test]
fn a_memory_leak_drill_fails_memory_growth_with_the_measured_slope() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("run");
    let run = golive()
        .current_dir(root().join("tests/fixtures/run"))
        .args(["run", "leak.yaml", "--provider", "process", "--out"])
        .arg(&out)
        .output()
        .expect("golive run");
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).expect("results"))
            .expect("JSON");
    let item = &r["phases"][0]["items"][1];
    assert_eq!(item["kind"], "resources");
    assert_eq!(item["outcome"], "FAIL", "{item}");
    let growth = &item["criteria"][0];
    assert_eq!(growth["criterion"], "memory_growth < 50MB");
    assert_eq!(growth["outcome"], "FAIL", "{growth}");
    assert!(
        growth["why"]
            .as_str()
            .unwrap_or("")
            .contains("least-squares slope"),
        "{growth}"
    );
    let res = &item["evidence"]["resources"];
    let slope = res["memory_slope_bytes_per_min"].as_f64().expect("slope");
    // 4 MB a second is 240 MB a minute; allow for the sandbox's own allocation pattern.
    assert!(
        (150e6..330e6).contains(&slope),
        "slope {slope} B/min: {res}"
    );
    assert!(res["samples"].as_u64().unwrap_or(0) >= 10, "{res}");
    // The others hold: the leak is below 500MB peak, CPU is low, nothing restarted.
    for c in &item["criteria"].as_array().expect("criteria")[1..] {
        assert_eq!(c["outcome"], "PASS", "{c}");
    }
    // The service's own summary is in the report.
    assert!(
        r["services"][0]["resources"]["memory_max_bytes"]
            .as_u64()
            .unwrap_or(0)
            > 50_000_000,
        "{}",
        r["services"][0]
    );
}

#[test]
fn a_resource_item_on_an_unknown_service_is_invalid_input() {
    let yaml = "system: S\nservices:\n  app:\n    external: { url: 'http://127.0.0.1:1' }\nphases:\n  - id: p\n    title: P\n    items:\n      - { id: r, title: R, check: { kind: resources, service: ap }, criteria: [memroy < 1MB] }\n";
    let run = common::run_checklist(yaml, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `app`?"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `memory`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_shell_wrapper_is_measured_with_the_memory_of_what_it_runs() {
    // The shell stays (`; exit $?` keeps it from exec-ing python), as in a wrapper
    // script; python holds 200 MiB it has written to, then serves.
    let script = r#"import http.server, sys
held = b"x" * (200 << 20)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;
    let script = serde_json::to_string(script).expect("JSON string");
    let yaml = format!(
        r#"system: Wrapper
services:
  app:
    process: {{ command: ["sh", "-c", "python3 -c \"$1\" \"$0\"; exit $?", "{{port}}", {script}] }}
    ready: {{ kind: http, path: / }}
phases:
  - id: p
    title: P
    items:
      - {{ id: busy, title: Busy, check: {{ kind: http, url: "{{services.app.url}}/" }}, samples: 30, interval: 100ms }}
      - {{ id: memory, title: Memory, check: {{ kind: resources, service: app }}, criteria: [memory < 4GB] }}
"#
    );
    let run = common::run_checklist(&yaml, &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let res = &run.results()["services"][0]["resources"];
    let max = res["memory_max_bytes"].as_u64().expect("memory measured");
    println!(
        "wrapper measured at {:.1} MiB",
        max as f64 / (1 << 20) as f64
    );
    assert!(
        max > 200 << 20,
        "the wrapper and its python hold over 200 MiB, measured {max} bytes: {res}"
    );
}

/// Runs tests/fixtures/run/leak-under-load.yaml with the sandbox's faults.
fn leak_under_load(faults: &str) -> common::Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    let out = golive()
        .current_dir(root().join("tests/fixtures/run"))
        .args([
            "run",
            "leak-under-load.yaml",
            "--provider",
            "process",
            "--out",
        ])
        .arg(&dir)
        .env("GOLIVE_SANDBOX_FAULTS", faults)
        .output()
        .expect("golive run");
    common::finish(out, dir, tmp)
}

#[test]
fn a_leak_under_load_is_judged_as_a_slope_over_the_load_after_its_warm_up() {
    let leaking = leak_under_load("leak=4MB");
    assert_eq!(leaking.code, 1, "{}\n{}", leaking.stdout, leaking.stderr);
    let item = leaking.item("memory-slope");
    assert_eq!(item["outcome"], "FAIL", "{item:#}");
    let res = &item["evidence"]["resources"];
    // 4 MB a second is 240 MB a minute; the fitted slope is near it. (A healthy
    // sandbox's own warm-up growth, a few MB, stays far under the 60 MB/m threshold.)
    let slope = res["memory_slope_bytes_per_min"].as_f64().expect("a slope");
    assert!(
        (150e6..330e6).contains(&slope),
        "slope {slope} B/min: {res:#}"
    );
    // Only the readings after the load's warm-up: none before load start + 2 s.
    let scope = res["scope"].as_str().expect("scoped");
    assert!(
        scope.starts_with("during `steady` after its warm-up ("),
        "{scope}"
    );
    let load_started = leaking.item("steady")["evidence"]["load_started_s"]
        .as_f64()
        .expect("load start");
    let from: f64 = scope
        .split('(')
        .nth(1)
        .and_then(|s| s.split(" s to ").next())
        .and_then(|s| s.parse().ok())
        .expect("the scope's start");
    assert!(
        (from - (load_started + 2.0)).abs() < 0.2,
        "{from} vs {load_started}"
    );
    assert!(res["samples"].as_u64().unwrap_or_default() >= 10, "{res:#}");
    let why = item["why"].as_str().unwrap_or_default();
    assert!(why.contains("memory_slope < 60MB/m"), "{why}");

    let healthy = leak_under_load("");
    assert_eq!(healthy.code, 0, "{}\n{}", healthy.stdout, healthy.stderr);
    assert_eq!(healthy.outcome("memory-slope"), "PASS");
}

/// No filler items: a resource item reached as soon as its service is up, with a slope
/// that needs ten readings, is judged (the run samples faster until it has them), and a
/// two-second load a resource item scopes to leaves more than one reading a second.
#[test]
fn readings_are_taken_faster_when_an_item_needs_them() {
    let yaml = r#"system: Sampled sooner
services:
  app:
    process: { command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"] }
    ready: { kind: http, path: /health }
phases:
  - id: p
    title: P
    items:
      - id: at-once
        title: Judged at once
        check: { kind: resources, service: app }
        criteria: [memory < 1GB, cpu < 100%, memory_slope < 1GB/m]
      - id: short
        title: A two-second load
        check:
          kind: load
          scenario:
            name: short
            target: "{services.app.url}"
            requests: [{ name: health, path: /health }]
            executor: { kind: constant-rate, rate: 20/s, duration: 2s }
      - id: during-short
        title: Memory during the short load
        check: { kind: resources, service: app, during: short }
        criteria: [memory < 1GB]
"#;
    let run = common::run_checklist(yaml, &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let at_once = run.item("at-once");
    assert_eq!(at_once["outcome"], "PASS", "{at_once:#}");
    let res = &at_once["evidence"]["resources"];
    let n = res["samples"].as_u64().expect("readings");
    assert!(n >= 10, "a slope needs ten readings: {res:#}");
    // Ten readings one a second apart would span nine seconds.
    let span = res["duration_s"].as_f64().expect("span");
    assert!(
        span / (n - 1) as f64 <= 0.5,
        "readings {span} s over {n}: {res:#}"
    );
    let during = &run.item("during-short")["evidence"]["resources"];
    let n = during["samples"].as_u64().expect("readings");
    assert!(
        n >= 5,
        "a two-second load read four times a second: {during:#}"
    );
}
