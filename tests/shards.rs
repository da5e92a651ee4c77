//! A scenario run as 4 shards (local processes, one common start time) against the
//! reference system sends the load of one run, and `golive merge` judges it once: the
//! arrivals add up to the single run's and to the schedule's, the merged histogram is the
//! sum of the shards', a rollback rule that each shard alone would break holds on the
//! merged windows, and the verdict is one. Shards that do not belong together (one
//! missing, one given twice, another start time, another scenario) are refused with the
//! file and field. `golive k8s` renders manifests that Kubernetes' schemas accept.

mod common;

use common::sandbox::Sandbox;
use common::{golive, root};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

/// 400/s for 5 s: 2,000 arrivals. The rule asks for at least 200/s in every 1 s
/// window: the whole load has 400/s, each shard alone only 100/s.
fn scenario(url: &str) -> String {
    format!(
        "name: shards\n\
         target: \"{url}\"\n\
         requests:\n\
         \x20 - {{ name: quotes, path: /api/quotes/AAPL, weight: 3, expect: [status == 200] }}\n\
         \x20 - {{ name: health, path: /health, weight: 1 }}\n\
         executor: {{ kind: constant-rate, rate: 400/s, duration: 5s, connections: 16 }}\n\
         timeout: 5s\n\
         thresholds: [error_rate < 1%, p99 < 2s]\n\
         rollback:\n\
         \x20 - {{ name: starved, when: rps < 200/s, for: 2s, window: 1s, min_samples: 20 }}\n"
    )
}

const ARRIVALS: u64 = 2_000;

fn load(file: &Path, out: &Path, shard: Option<(u32, &str)>) -> Child {
    let mut cmd = golive();
    cmd.arg("load").arg(file).arg("--out").arg(out).arg("-q");
    if let Some((i, at)) = shard {
        cmd.args(["--shard", &format!("{i}/4"), "--start-at", at]);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive load")
}

fn finish(child: Child) -> Output {
    let out = child.wait_with_output().expect("golive load");
    assert!(
        out.status.code().is_some(),
        "killed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn results(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("results.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    serde_json::from_str(&text).expect("results.json")
}

fn load_of(results: &Value) -> &Value {
    &results["phases"][0]["items"][0]["evidence"]["load"]
}

/// Requests answered plus arrivals dropped: every arrival the schedule sent.
fn arrivals(load: &Value) -> u64 {
    load["requests"].as_u64().unwrap() + load["dropped"].as_u64().unwrap()
}

fn histogram(text: &Value) -> hdrhistogram::Histogram<u64> {
    golive::tally::decode_histogram(text.as_str().expect("histogram")).expect("decodes")
}

fn merge(files: &[PathBuf], out: &Path) -> Output {
    golive()
        .arg("merge")
        .args(files)
        .arg("--output")
        .arg(out)
        .output()
        .expect("golive merge")
}

#[test]
fn four_shards_send_one_run_s_load_and_get_one_verdict() {
    let sandbox = Sandbox::start(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("shards.yaml");
    std::fs::write(&file, scenario(&sandbox.url)).unwrap();

    // One run of the whole load, then the 4 shards side by side.
    let single_dir = tmp.path().join("single");
    let single = finish(load(&file, &single_dir, None));
    assert_eq!(
        single.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&single.stderr)
    );
    let start_at = (chrono::Utc::now() + chrono::Duration::seconds(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| tmp.path().join(format!("shard-{i}")))
        .collect();
    let children: Vec<Child> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| load(&file, d, Some((i as u32, &start_at))))
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = finish(c);
        // A shard's exit says it ran and wrote its evidence; the verdict is the merge's.
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let shards: Vec<Value> = dirs.iter().map(|d| results(d)).collect();
    for (i, s) in shards.iter().enumerate() {
        let l = load_of(s);
        assert_eq!(l["shard"]["index"], i);
        assert_eq!(l["shard"]["count"], 4);
        // Every shard sends its quarter of the schedule: arrivals i, i+4, …
        assert_eq!(arrivals(l), ARRIVALS / 4, "shard {i}");
        // Judged by the merge, not by a shard that saw a quarter of the load.
        assert_eq!(l["rules"][0]["timeline"], serde_json::json!([]));
        assert!(l["timeline"][0]["scopes"].is_array());
    }

    let merged_file = tmp.path().join("merged.json");
    let files: Vec<PathBuf> = dirs.iter().map(|d| d.join("results.json")).collect();
    let out = merge(&files, &merged_file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("VERDICT:").count(), 1, "{stdout}");
    assert!(stdout.contains("VERDICT: GO"), "{stdout}");
    assert!(stdout.contains("merged from 4 shards"), "{stdout}");
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_file).unwrap()).unwrap();
    let single = results(&single_dir);
    let (m, s) = (load_of(&merged), load_of(&single));

    // The load of one run: the schedule's arrivals exactly, the single run's within 0.1%.
    assert_eq!(arrivals(m), ARRIVALS);
    assert_eq!(arrivals(s), ARRIVALS);
    let diff = arrivals(m).abs_diff(arrivals(s)) as f64 / arrivals(s) as f64;
    assert!(diff <= 0.001, "{} vs {}", arrivals(m), arrivals(s));
    assert_eq!(
        merged["verdict"], single["verdict"],
        "one verdict, the single run's"
    );

    // The merged histogram is the shards' added up: same count, same quantiles.
    let mut pooled = histogram(&load_of(&shards[0])["overall"]["latency_histogram"]);
    for sh in &shards[1..] {
        pooled
            .add(histogram(&load_of(sh)["overall"]["latency_histogram"]))
            .unwrap();
    }
    let hm = histogram(&m["overall"]["latency_histogram"]);
    let shard_sum: u64 = shards
        .iter()
        .map(|sh| load_of(sh)["overall"]["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(m["overall"]["requests"].as_u64().unwrap(), shard_sum);
    assert_eq!(hm.len(), pooled.len());
    for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
        assert_eq!(
            hm.value_at_quantile(q),
            pooled.value_at_quantile(q),
            "q = {q}"
        );
    }
    assert_eq!(hm.mean(), pooled.mean());

    // The windows line up on the common start: window k holds what the four shards
    // completed in it, and the rule, judged on them, saw the whole load's rate.
    let windows = m["timeline"].as_array().unwrap();
    for (k, w) in windows.iter().enumerate() {
        let sum: u64 = shards
            .iter()
            .map(|sh| load_of(sh)["timeline"][k]["requests"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(w["requests"].as_u64().unwrap(), sum, "window {k}");
    }
    let rule = &m["rules"][0];
    assert_eq!(rule["final_state"], "ok", "{rule}");
    assert!(rule["timeline"].as_array().unwrap().len() >= 4, "{rule}");
    assert!(m["rollback"].is_null());
    for w in rule["timeline"].as_array().unwrap() {
        if w["samples"].as_u64().unwrap() >= 300 {
            assert!(w["observed"].as_f64().unwrap() > 300.0, "{w}");
        }
    }

    // Shards that do not make one run are refused, naming the file and the field.
    let refused = |files: &[PathBuf], wants: &[&str]| {
        let out = merge(files, &tmp.path().join("refused.json"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        for w in wants {
            assert!(err.contains(w), "wanted `{w}` in: {err}");
        }
    };
    refused(
        &files[..3],
        &["shard(s) 3 of 4 missing", "every shard 0..4 exactly once"],
    );
    refused(
        &[&files[..3], &files[1..2]].concat(),
        &[
            "shard-1/results.json",
            "evidence.load.shard.index is 1",
            "given once",
        ],
    );
    let mut late: Value = shards[3].clone();
    late["phases"][0]["items"][0]["evidence"]["load"]["shard"]["start_at"] =
        "2026-01-01T00:00:00.000Z".into();
    let late_file = tmp.path().join("late.json");
    std::fs::write(&late_file, late.to_string()).unwrap();
    refused(
        &[&files[..3], &[late_file]].concat(),
        &["late.json", "evidence.load.shard.start_at"],
    );
    refused(
        &[files[0].clone(), single_dir.join("results.json")],
        &["single/results.json", "evidence.load.shard is missing"],
    );
}

#[test]
fn a_shard_refuses_a_start_already_past_and_a_scenario_that_starts_services() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("s.yaml");
    std::fs::write(&file, scenario("http://127.0.0.1:9")).unwrap();
    let out = golive()
        .arg("load")
        .arg(&file)
        .args(["--shard", "0/2", "--start-at", "2020-01-01T00:00:00Z"])
        .arg("--out")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("passed") && err.contains("ago"), "{err}");
    let out = golive()
        .arg("load")
        .arg(&file)
        .args(["--shard", "2/2", "--start-at", "now+5s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0-based"));
    let out = golive()
        .current_dir(root())
        .args([
            "load",
            "scenarios/portfolio-load.yaml",
            "--shard",
            "0/2",
            "--start-at",
            "now+5s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("services:") && err.contains("external"),
        "{err}"
    );
}

/// `golive k8s` for 4 shards renders manifests that the Kubernetes schemas (vendored by
/// PyPI's kubernetes-validate, no network) accept in strict mode.
#[test]
fn k8s_manifests_validate_against_the_kubernetes_schemas() {
    let validate = root().join("target/pyenv/bin/kubernetes-validate");
    let install =
        "python3 -m venv target/pyenv && target/pyenv/bin/pip install kubernetes-validate";
    assert!(
        validate.is_file(),
        "kubernetes-validate is missing: {install} (.ci/run does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("checkout-load.yaml");
    std::fs::write(&file, scenario("http://checkout.shop.svc:8080")).unwrap();
    let out = golive()
        .arg("k8s")
        .arg(&file)
        .args([
            "--shards",
            "4",
            "--image",
            "registry.example/golive:0.1.0",
            "--namespace",
            "load",
            "--run-id",
            "r1",
            "--out",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifests = tmp.path().join("golive-k8s.yaml");
    let text = std::fs::read_to_string(&manifests).unwrap();
    for want in [
        "kind: ConfigMap",
        "kind: PersistentVolumeClaim",
        "ReadWriteMany",
        "completionMode: Indexed",
        "completions: 4",
        "parallelism: 4",
        "$(JOB_COMPLETION_INDEX)/4",
        "@/shared/r1/start-at",
        "/shared/r1/shard-3/results.json",
        "name: golive-shards-r1-merge",
    ] {
        assert!(text.contains(want), "wanted `{want}` in:\n{text}");
    }
    for version in ["1.31.0", "1.37.0"] {
        let out = std::process::Command::new(&validate)
            .args(["--strict", "-k", version])
            .arg(&manifests)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "Kubernetes {version}:\n{said}\n{text}"
        );
        assert_eq!(said.matches("passed for resource").count(), 4, "{said}");
    }
    // The scenario in the ConfigMap is the file, byte for byte.
    let config: Value = text
        .split("---\n")
        .skip(1)
        .map(|d| serde_saphyr::from_str::<Value>(d).expect("YAML"))
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    assert_eq!(
        config["data"]["checkout-load.yaml"].as_str(),
        Some(std::fs::read_to_string(&file).unwrap().as_str())
    );
}
