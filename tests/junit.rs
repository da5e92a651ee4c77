//! junit.xml as CI reads it: for a GO, NO-GO, INCONCLUSIVE and ROLLBACK run, the file is
//! loaded with a real JUnit reader (Python's junitparser, the library CI reporters such as
//! `publish-unit-test-result-action` build on) and must agree with the exit code: failures
//! exactly when the exit code is not 0, each saying why, and every test case carrying the
//! checklist file and line.

mod common;

use common::{run_checklist, run_fixture, Run};
use std::path::{Path, PathBuf};

/// The Python that has junitparser: `GOLIVE_TEST_PYTHON`, else the virtual environment
/// `.ci/run` makes in `target/pyenv`, else `python3`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("GOLIVE_TEST_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// What junitparser read from `run`'s junit.xml.
fn read_junit(run: &Run) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/junit/read.py");
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(run.dir.join("junit.xml"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "junitparser could not read junit.xml (install it: python3 -m venv target/pyenv && \
         target/pyenv/bin/pip install junitparser; .ci/run does):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader prints JSON")
}

/// The checks every run must pass, whatever its verdict.
fn assert_agrees(run: &Run, verdict: &str, code: i32) -> serde_json::Value {
    assert_eq!(
        (run.code, run.results()["verdict"].as_str().unwrap_or("")),
        (code, verdict),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let j = read_junit(run);
    let failing = j["failures"].as_u64().unwrap_or(0) + j["errors"].as_u64().unwrap_or(0);
    assert_eq!(
        failing > 0,
        run.code != 0,
        "failures must appear exactly when the exit code ({}) is not 0: {j:#}",
        run.code
    );
    assert_eq!(j["errors"], 0, "{j:#}");
    assert_eq!(
        j["without_location"],
        serde_json::json!([]),
        "every test case names the checklist file and line: {j:#}"
    );
    assert!(j["cases"].as_u64().unwrap_or(0) >= 2, "{j:#}");
    for m in j["failure_messages"].as_array().into_iter().flatten() {
        assert!(
            m.as_str().is_some_and(|m| m.len() > 20),
            "a failure says why: {m}"
        );
    }
    j
}

const HEADER: &str =
    "system: JUnit agreement\nphases:\n  - id: checks\n    title: Checks\n    items:\n";

#[test]
fn junit_agrees_with_the_exit_code_for_every_verdict() {
    // GO: a blocker with enough clean samples, a signed sign-off, and a warning that
    // fails (visible, never a failure).
    let go = run_checklist(
        &format!(
            "{HEADER}      - id: runs
        title: A program runs
        check: {{ kind: command, run: [\"true\"] }}
        samples: 300
        concurrency: 4
        criteria: [error_rate < 1%]
      - id: advisory
        title: An advisory check that fails
        severity: warning
        check: {{ kind: command, run: [\"false\"] }}
      - id: qa
        title: QA signs
        manual: {{ role: QA Lead }}
"
        ),
        &["--sign", "qa=Grace Hopper"],
    );
    let j = assert_agrees(&go, "GO", 0);
    assert_eq!(j["failures"], 0, "{j:#}");
    assert_eq!(
        j["skipped"], 1,
        "the failed warning is shown as skipped: {j:#}"
    );

    // NO-GO: a blocker fails.
    let no_go = run_checklist(
        &format!(
            "{HEADER}      - id: broken
        title: A program that fails
        check: {{ kind: command, run: [\"false\"] }}
        samples: 3
"
        ),
        &[],
    );
    let j = assert_agrees(&no_go, "NO_GO", 1);
    let messages = j["failure_messages"].to_string();
    assert!(messages.contains("FAIL: failures == 0"), "{messages}");

    // INCONCLUSIVE: too few samples for the claim, and a sign-off nobody gave.
    let thin = run_checklist(
        &format!(
            "{HEADER}      - id: thin
        title: Too few samples
        check: {{ kind: command, run: [\"true\"] }}
        samples: 10
        criteria: [error_rate < 1%]
      - id: business
        title: Business signs
        manual: {{ role: Business Owner }}
"
        ),
        &[],
    );
    let j = assert_agrees(&thin, "INCONCLUSIVE", 4);
    let messages = j["failure_messages"].to_string();
    assert!(
        messages.contains("299 samples would settle it"),
        "{messages}"
    );
    assert!(messages.contains("waiting for sign-off"), "{messages}");

    // ROLLBACK: injected latency trips a rollback rule during load.
    let rollback = run_fixture("drills.yaml", &[], &["--provider", "process"]);
    let j = assert_agrees(&rollback, "ROLLBACK", 5);
    let messages = j["failure_messages"].to_string();
    assert!(messages.contains("rollback rule `slow`"), "{messages}");
}
