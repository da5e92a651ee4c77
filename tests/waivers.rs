//! Waivers against the reference system: a known-issue endpoint that answers an error is
//! WAIVED (never PASS) under a waiver in force, in results.json, report.md, report.html and
//! junit.xml, and the run is GO; the same waiver past its expiry is not applied and the run
//! is NO-GO saying it expired; a waiver whose item is healthy is reported unused; a load
//! item's waiver leaves the known request, or only one HTTP status of it, out of the
//! judged error rate (the shipped `checks/mytrader-known-issue.yaml`), and a status left
//! out hides none of the request's other failures.

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

/// Runs the shipped `checks/mytrader-known-issue.yaml`, its checklist text passed through
/// `edit`, from a copy that keeps its folder layout (the scenario is `../scenarios/..`),
/// with `args` after the run's own.
fn run_mytrader(edit: impl Fn(String) -> String, extra: &[(&str, &str)], args: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    for dir in ["checks", "scenarios"] {
        std::fs::create_dir(tmp.path().join(dir)).expect("mkdir");
    }
    let checklist = tmp.path().join("checks/mytrader-known-issue.yaml");
    let text = std::fs::read_to_string(root().join("checks/mytrader-known-issue.yaml"))
        .expect("shipped example");
    std::fs::write(&checklist, edit(text)).expect("write");
    std::fs::copy(
        root().join("scenarios/mytrader-dashboard.yaml"),
        tmp.path().join("scenarios/mytrader-dashboard.yaml"),
    )
    .expect("copy scenario");
    for (name, text) in extra {
        std::fs::write(tmp.path().join(name), text).expect("write");
    }
    let dir = tmp.path().join("run");
    let out = golive()
        .arg("run")
        .arg(&checklist)
        .args(["--provider", "process", "--out"])
        .arg(&dir)
        .args(
            args.iter()
                .map(|a| a.replace("{tmp}", &tmp.path().to_string_lossy())),
        )
        .output()
        .expect("run golive");
    common::finish(out, dir, tmp)
}

fn why(v: &serde_json::Value) -> &str {
    v["why"].as_str().unwrap_or("")
}

#[test]
fn the_shipped_known_issue_example_is_go_with_the_500s_of_volume_leaders_waived() {
    let run = run_mytrader(|t| t, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "GO");
    let load = run.item("dashboard-load");
    assert_eq!(load["outcome"], "WAIVED", "{load:#}");
    let c = &load["criteria"][0];
    assert_eq!(c["outcome"], "PASS", "{c:#}");
    assert!(
        why(c).contains("excluding status 500 of request `volume-leaders`")
            && why(c).contains("under waiver `volume-leaders-500`"),
        "{c:#}"
    );
    // The 500s were recorded by status and left out: fewer judged than sent.
    let ev = &load["evidence"]["load"];
    let leaders = ev["by_request"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "volume-leaders")
        .expect("volume-leaders scope");
    let five_hundreds = leaders["errors_by_status"]["500"].as_u64().unwrap_or(0);
    assert!(five_hundreds > 0, "{leaders:#}");
    assert_eq!(
        ev["overall"]["errors_by_status"]["500"].as_u64(),
        Some(five_hundreds),
        "{ev:#}"
    );
    let requests = ev["requests"].as_u64().unwrap_or(0);
    assert_eq!(c["n"].as_u64(), Some(requests - five_hundreds), "{c:#}");
    let w = waiver_state(&run, "volume-leaders-500");
    assert_eq!(w["state"], "applied", "{w:#}");
    assert_eq!(w["waiver"]["exclude_request"], "volume-leaders");
    assert_eq!(w["waiver"]["exclude_status"], 500);

    // Every format shows the exclusion.
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("WAIVED") && md.contains("excludes status 500 of request `volume-leaders`"),
        "{md}"
    );
    let html = std::fs::read_to_string(run.dir.join("report.html")).expect("report.html");
    assert!(
        html.contains("WAIVED")
            && html.contains("excludes status 500 of request <code>volume-leaders</code>"),
        "report.html"
    );
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).expect("junit.xml");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(
        junit.contains("<skipped message=\"WAIVED (blocker, does not block)")
            && junit.contains("excluding status 500 of request `volume-leaders`"),
        "{junit}"
    );
}

#[test]
fn the_known_issue_waiver_past_its_expiry_gives_no_go_saying_expired() {
    let run = run_mytrader(
        |t| t.replace("expires: 2099-12-31", "expires: 2020-01-01"),
        &[],
        &[],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "NO_GO");
    let load = run.item("dashboard-load");
    assert_eq!(load["outcome"], "FAIL", "{load:#}");
    assert!(!why(&load["criteria"][0]).contains("excluding"), "{load:#}");
    let w = waiver_state(&run, "volume-leaders-500");
    assert_eq!(w["state"], "expired", "{w:#}");
    assert!(why(w).contains("expired on 2020-01-01"), "{w:#}");
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(md.contains("**expired**"), "{md}");
}

#[test]
fn a_status_the_request_never_answered_leaves_its_waiver_unused() {
    // volume-leaders answers 500, never 503: a waiver for 503 covers nothing.
    let waivers = "waivers:\n  - id: volume-leaders-503\n    item: dashboard-load\n    \
                   exclude: { request: volume-leaders, status: 503 }\n    \
                   reason: the gateway once timed it out\n    owner: Grace Hopper\n    \
                   expires: 2099-12-31\n";
    let run = run_mytrader(
        |t| t,
        &[("waivers.yaml", waivers)],
        &["--waivers", "{tmp}/waivers.yaml"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let w = waiver_state(&run, "volume-leaders-503");
    assert_eq!(w["state"], "unused", "{w:#}");
    assert!(
        why(w)
            .contains("request `volume-leaders` of `dashboard-load` never failed with status 503"),
        "{w:#}"
    );
    assert_eq!(waiver_state(&run, "volume-leaders-500")["state"], "applied");
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("`volume-leaders-503`") && md.contains("unused"),
        "{md}"
    );
}

#[test]
fn excluding_a_status_does_not_hide_other_failures_of_the_same_request() {
    // The reference system stalls half its answers (`stall=50%`), which time out at
    // 300 ms; the other half are volume-leaders' 500. The waiver leaves the 500s out and
    // the timeouts still count, over all requests and over the request's own scope.
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = "name: leaders-only\ntarget: \"{services.api.url}\"\nrequests:\n  \
                    - { name: volume-leaders, path: /api/market/volume-leaders }\n\
                    executor: { kind: constant-rate, rate: 20/s, duration: 3s }\ntimeout: 300ms\n\
                    thresholds: [volume-leaders.error_rate < 5%]\n";
    std::fs::write(tmp.path().join("leaders.yaml"), scenario).expect("write");
    let checklist = "system: One request, two failures\nservices:\n  api:\n    process:\n      \
        command: [\"{golive}\", sandbox, --listen, \"127.0.0.1:{port}\", --fault, stall=50%]\n    \
        ready: { kind: tcp }\nphases:\n  - id: load\n    title: Load\n    items:\n      \
        - id: leaders\n        title: Volume leaders under load\n        \
        check: { kind: load, scenario: leaders.yaml }\n        \
        criteria: [error_rate < 5%]\n\
        waivers:\n  - id: volume-leaders-500\n    item: leaders\n    \
        exclude: { request: volume-leaders, status: 500 }\n    reason: known issue\n    \
        owner: Ada Lovelace\n    expires: 2099-12-31\n";
    std::fs::write(tmp.path().join("checklist.yaml"), checklist).expect("write");
    let dir = tmp.path().join("run");
    let out = golive()
        .arg("run")
        .arg(tmp.path().join("checklist.yaml"))
        .args(["--provider", "process", "--out"])
        .arg(&dir)
        .output()
        .expect("run golive");
    let run = common::finish(out, dir, tmp);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let item = run.item("leaders");
    assert_eq!(item["outcome"], "FAIL", "{item:#}");
    let ev = &item["evidence"]["load"]["overall"];
    let timeouts = ev["errors_by_class"]["timeout"].as_u64().unwrap_or(0);
    let five_hundreds = ev["errors_by_status"]["500"].as_u64().unwrap_or(0);
    let requests = ev["requests"].as_u64().unwrap_or(0);
    assert!(timeouts > 0 && five_hundreds > 0, "{ev:#}");
    for c in item["criteria"].as_array().expect("criteria") {
        assert_eq!(c["outcome"], "FAIL", "{c:#}");
        assert_eq!(c["n"].as_u64(), Some(requests - five_hundreds), "{c:#}");
        assert!(
            why(c).contains("excluding status 500 of request `volume-leaders`"),
            "{c:#}"
        );
    }
    assert_eq!(waiver_state(&run, "volume-leaders-500")["state"], "applied");
}
