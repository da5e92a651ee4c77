//! `golive merge` on real runs: two runs of `checks/cos-golive.yaml` (PostgreSQL, Redis and
//! the API as local processes, with a crash drill and resource criteria) merge, and every
//! criterion kind is judged again on the summed evidence. Bad inputs (another schema
//! version, another checklist, a corrupt histogram) are refused with the file and field.

mod common;

use common::{golive, root};
use std::path::Path;

fn run_cos(out: &Path) {
    let status = golive()
        .current_dir(root())
        .args([
            "run",
            "checks/cos-golive.yaml",
            "--provider",
            "process",
            "--out",
        ])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run golive");
    assert!(
        out.join("results.json").exists(),
        "no results.json ({status:?})"
    );
}

fn merge(files: &[&Path], output: &Path) -> std::process::Output {
    golive()
        .arg("merge")
        .args(files)
        .arg("--output")
        .arg(output)
        .output()
        .expect("run golive merge")
}

fn read(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn items(r: &serde_json::Value) -> Vec<serde_json::Value> {
    r["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["items"].as_array().into_iter().flatten().cloned())
        .collect()
}

#[test]
fn two_cos_runs_merge_and_every_criterion_kind_is_judged_again() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    // Side by side: each run mostly waits on its drill's schedule, and the merge needs
    // two runs, not two runs one after the other.
    std::thread::scope(|s| {
        s.spawn(|| run_cos(&a));
        run_cos(&b);
    });
    let merged_path = tmp.path().join("merged.json");
    let out = merge(
        &[&a.join("results.json"), &b.join("results.json")],
        &merged_path,
    );
    let (ra, rb, merged) = (
        read(&a.join("results.json")),
        read(&b.join("results.json")),
        read(&merged_path),
    );
    assert_eq!(
        out.status.code(),
        merged["exit_code"].as_i64().map(|c| c as i32),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut metrics = std::collections::BTreeSet::new();
    for ((ia, ib), im) in items(&ra).iter().zip(items(&rb)).zip(items(&merged)) {
        let criteria = im["criteria"].as_array().expect("criteria");
        assert!(!criteria.is_empty(), "{im:#}");
        for (k, c) in criteria.iter().enumerate() {
            metrics.insert(c["metric"].as_str().unwrap_or("").to_string());
            assert!(c["outcome"].is_string() && c["why"].is_string(), "{c:#}");
            // Counted claims are judged on the pooled samples of both runs.
            let (na, nb) = (
                ia["criteria"][k]["n"].as_u64().unwrap_or(0),
                ib["criteria"][k]["n"].as_u64().unwrap_or(0),
            );
            match c["metric"].as_str().unwrap_or("") {
                "memory" | "memory_growth" | "cpu" | "cpu_max" | "restarts" => {
                    assert_eq!(c["n"].as_u64(), Some(na.min(nb)), "{c:#}")
                }
                _ => assert_eq!(c["n"].as_u64(), Some(na + nb), "{c:#}"),
            }
        }
        if let Some(s) = im["evidence"]["samples"].as_object() {
            assert_eq!(
                s["taken"].as_u64(),
                Some(
                    ia["evidence"]["samples"]["taken"].as_u64().unwrap_or(0)
                        + ib["evidence"]["samples"]["taken"].as_u64().unwrap_or(0)
                )
            );
        }
    }
    for kind in [
        "mean",
        "p95",
        "error_rate",
        "rps",
        "recovery_time",
        "memory_growth",
        "memory",
    ] {
        assert!(
            metrics.contains(kind),
            "{kind} is judged in the merge: {metrics:?}"
        );
    }
    let drills = items(&merged)
        .iter()
        .map(|i| i["evidence"]["drills"].as_array().map_or(0, Vec::len))
        .sum::<usize>();
    assert_eq!(drills, 2, "both runs' crash drills are kept");

    // Bad inputs: exit 2, the file and the field named, nothing written.
    let bad = |edit: &dyn Fn(&mut serde_json::Value), name: &str| {
        let mut r = ra.clone();
        edit(&mut r);
        let path = tmp.path().join(name);
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
        let target = tmp.path().join(format!("{name}.merged"));
        let out = merge(&[&a.join("results.json"), &path], &target);
        assert!(!target.exists());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = bad(&|r| r["schema_version"] = 1.into(), "old.json");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("old.json") && err.contains("schema_version is 1"),
        "{err}"
    );
    let (code, err) = bad(
        &|r| r["checklist"]["sha256"] = "0".repeat(64).into(),
        "other.json",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("other.json") && err.contains("different checklist"),
        "{err}"
    );
    let (code, err) = bad(
        &|r| {
            r["phases"][0]["items"][0]["evidence"]["samples"]["latency_histogram"] =
                "bm90IGEgaGlzdG9ncmFt".into()
        },
        "corrupt.json",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("corrupt.json") && err.contains("samples.latency_histogram"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // 52 characters whose header claims 4 GiB of counts: refused before any allocation.
    let (code, err) = bad(
        &|r| {
            r["phases"][0]["items"][0]["evidence"]["samples"]["latency_histogram"] =
                "HISTFAAAAB94nJNpmSz8HwgYIIAZSjOCiGuTlzDYf4AIAADaUAiD".into()
        },
        "bomb.json",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("bomb.json") && err.contains("bytes of counts"),
        "{err}"
    );
}
