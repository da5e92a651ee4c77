//! Waivers against the reference system: a known-issue endpoint that answers an error is
//! WAIVED (never PASS) under a waiver in force, in results.json, report.md, report.html and
//! junit.xml, and the run is GO; the same waiver past its expiry is not applied and the run
//! is NO-GO saying it expired; a waiver whose item is healthy is reported unused; a load
//! item's waiver leaves the known request out of the judged error rate.

mod common;

use common::{golive, root, Run};

fn run_with_expiry(expires: &str) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = root().join("tests/fixtures/run/waivers");
    for f in ["checklist.yaml", "known-issue.yaml"] {
        let text = std::fs::read_to_string(src.join(f)).expect("fixture");
        std::fs::write(tmp.path().join(f), text.replace("EXPIRES", expires)).expect("write");
    }
    let dir = tmp.path().join("run");
    let out = golive()
        .arg("run")
        .arg(tmp.path().join("checklist.yaml"))
        .args(["--provider", "process", "--out"])
        .arg(&dir)
        .output()
        .expect("run golive");
    common::finish(out, dir, tmp)
}

fn waiver_state<'a>(run: &'a Run, id: &str) -> &'a serde_json::Value {
    run.results()["waivers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|w| w["waiver"]["id"] == id)
        .unwrap_or_else(|| panic!("no waiver {id}"))
}

#[test]
fn a_waiver_in_force_gives_go_with_the_item_waived_and_an_expired_one_gives_no_go() {
    let run = run_with_expiry("2999-12-31");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "GO");
    let known = run.item("volume-leaders");
    assert_eq!(known["outcome"], "WAIVED", "{known:#}");
    assert_eq!(known["criteria"][0]["waiver"], "volume-leaders-404");
    assert!(
        known["why"].as_str().unwrap_or("").contains("Ada Lovelace"),
        "{known:#}"
    );
    assert_eq!(run.results()["summary"]["waived"], 2);
    assert_eq!(waiver_state(&run, "volume-leaders-404")["state"], "applied");
    assert_eq!(waiver_state(&run, "stale-health")["state"], "unused");
    assert_eq!(run.item("health")["outcome"], "PASS");

    // The load item: the known request is left out of the judged error rate, and the item
    // says so (WAIVED, not PASS).
    let load = run.item("trading-load");
    assert_eq!(load["outcome"], "WAIVED", "{load:#}");
    let c = &load["criteria"][0];
    assert_eq!(c["outcome"], "PASS", "{c:#}");
    assert!(
        c["why"]
            .as_str()
            .unwrap_or("")
            .contains("excluding request `volume-leaders`"),
        "{c:#}"
    );
    let requests = load["evidence"]["load"]["requests"].as_u64().unwrap_or(0);
    assert!(c["n"].as_u64().unwrap_or(0) < requests, "{c:#}");
    assert_eq!(
        waiver_state(&run, "load-excludes-volume-leaders")["state"],
        "applied"
    );

    // Every format shows it.
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(md.contains("WAIVED") && md.contains("## Waivers"), "{md}");
    assert!(
        md.contains("`volume-leaders-404`") && md.contains("unused"),
        "{md}"
    );
    let html = std::fs::read_to_string(run.dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("WAIVED") && html.contains("Waivers"),
        "report.html"
    );
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).expect("junit.xml");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(
        junit.contains("<skipped message=\"WAIVED (blocker, does not block)"),
        "{junit}"
    );

    // Past its expiry the waiver is not applied: the known issue blocks again.
    let run = run_with_expiry("2020-01-01");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "NO_GO");
    assert_eq!(run.item("volume-leaders")["outcome"], "FAIL");
    let expired = waiver_state(&run, "volume-leaders-404");
    assert_eq!(expired["state"], "expired", "{expired:#}");
    assert!(
        expired["why"]
            .as_str()
            .unwrap_or("")
            .contains("expired on 2020-01-01"),
        "{expired:#}"
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(md.contains("**expired**"), "{md}");
}

/// `golive run DIR/checklist.yaml --waivers DIR/waivers.yaml` into `out`.
fn run_with_waivers_file(dir: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    golive()
        .arg("run")
        .arg(dir.join("checklist.yaml"))
        .arg("--waivers")
        .arg(dir.join("waivers.yaml"))
        .args(["--provider", "process", "--out"])
        .arg(out)
        .output()
        .expect("run golive")
}

#[test]
fn waivers_can_come_from_a_file_given_to_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = root().join("tests/fixtures/run/waivers");
    std::fs::copy(
        src.join("known-issue.yaml"),
        tmp.path().join("known-issue.yaml"),
    )
    .expect("copy");
    let text = std::fs::read_to_string(src.join("checklist.yaml")).expect("fixture");
    let (checklist, waivers) = text.split_at(text.find("waivers:").expect("waivers block"));
    // Without the load item, whose waiver stays in the checklist's own block.
    let checklist = checklist.split("      - id: trading-load").next().unwrap();
    std::fs::write(tmp.path().join("checklist.yaml"), checklist).expect("write");
    let only_first = waivers
        .split("  - id: stale-health")
        .next()
        .unwrap()
        .replace("EXPIRES", "2999-12-31");
    std::fs::write(tmp.path().join("waivers.yaml"), &only_first).expect("write");
    let dir = tmp.path().join("run");
    let out = run_with_waivers_file(tmp.path(), &dir);
    let run = common::finish(out, dir, tempfile::tempdir().expect("temp dir"));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.item("volume-leaders")["outcome"], "WAIVED");

    // A waiver file naming an item the checklist lacks: exit 2 naming that file.
    std::fs::write(
        tmp.path().join("waivers.yaml"),
        only_first.replace("item: volume-leaders", "item: no-such-item"),
    )
    .expect("write");
    let out = run_with_waivers_file(tmp.path(), &tmp.path().join("run2"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("waivers.yaml:") && err.contains("no item `no-such-item`"),
        "{err}"
    );
    assert!(!tmp.path().join("run2").exists());
}

#[test]
fn bad_waivers_are_invalid_input_naming_the_field() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = root().join("tests/fixtures/run/waivers");
    std::fs::copy(
        src.join("known-issue.yaml"),
        tmp.path().join("known-issue.yaml"),
    )
    .expect("copy");
    let text = std::fs::read_to_string(src.join("checklist.yaml")).expect("fixture");
    for (edit, field, words) in [
        (
            ("item: volume-leaders\n", "item: volume-leader\n"),
            "waivers[0].item",
            "did you mean `volume-leaders`?",
        ),
        (
            ("expires: EXPIRES\n", "expires: next spring\n"),
            "waivers[0].expires",
            "YYYY-MM-DD",
        ),
        (
            (
                "exclude: { request: volume-leaders }",
                "exclude: { request: nope }",
            ),
            "waivers[2].exclude.request",
            "its requests: portfolio, volume-leaders",
        ),
        (
            (
                "exclude: { request: volume-leaders }",
                "exclude: { request: volume-leaders, status: 700 }",
            ),
            "waivers[2].exclude.status",
            "`700` is not an HTTP status",
        ),
    ] {
        let bad = text
            .replacen(edit.0, edit.1, 1)
            .replace("EXPIRES", "2999-12-31");
        let file = tmp.path().join("checklist.yaml");
        std::fs::write(&file, bad).expect("write");
        let out = golive()
            .arg("validate")
            .arg(&file)
            .output()
            .expect("validate");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("checklist.yaml:") && err.contains(words),
            "{field}: {err}"
        );
    }
}
