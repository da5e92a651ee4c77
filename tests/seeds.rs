//! The shipped seed checklists against the reference system: GO when it is healthy (its
//! manual items signed with `--sign`), NO-GO under the fault its seed is about. The
//! faults reach the checklist's own sandbox through GOLIVE_SANDBOX_FAULTS, so the
//! checklists run exactly as shipped.

mod common;

use common::{finish, golive, root};

/// Runs `checks/NAME` with `faults` in the sandbox and every manual item signed.
fn run_seed(name: &str, faults: &str, signed: &[&str]) -> common::Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    let mut cmd = golive();
    cmd.current_dir(root())
        .arg("run")
        .arg(format!("checks/{name}"))
        .arg("--out")
        .arg(&dir)
        .env("GOLIVE_SANDBOX_FAULTS", faults)
        .env("GOLIVE_PROVIDER", "process");
    for id in signed {
        cmd.arg("--sign").arg(format!("{id}=Test Signer"));
    }
    finish(cmd.output().expect("run golive"), dir, tmp)
}

const ORDER_SIGNOFFS: [&str; 5] = [
    "uptime-24h",
    "security-review",
    "rollback-procedures",
    "runbooks",
    "authorization",
];

#[test]
fn seed_003_order_execution_is_go_when_healthy() {
    let run = run_seed("order-execution-golive.yaml", "", &ORDER_SIGNOFFS);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "GO");
    let load = run.item("order-execution");
    assert_eq!(load["outcome"], "PASS", "{load:#}");
    // 127/s for 40 s after warm-up: the 5,080 orders the tightest claims need.
    let n = load["evidence"]["load"]["requests"]
        .as_u64()
        .unwrap_or_default();
    assert!(n >= 5000, "{n} orders judged: {load:#}");
}

#[test]
fn seed_003_is_no_go_when_the_execution_tail_passes_450ms_or_errors_reach_2_percent() {
    let shifted = run_seed(
        "order-execution-golive.yaml",
        "exec_median=200ms",
        &ORDER_SIGNOFFS,
    );
    assert_eq!(shifted.code, 1, "{}\n{}", shifted.stdout, shifted.stderr);
    let load = shifted.item("order-execution");
    assert_eq!(load["outcome"], "FAIL", "{load:#}");
    let why = load["why"].as_str().unwrap_or_default();
    assert!(why.contains("p99.7 < 450ms: p99.7 ="), "{why}");

    let errors = run_seed("order-execution-golive.yaml", "errors=2%", &ORDER_SIGNOFFS);
    assert_eq!(errors.code, 1, "{}\n{}", errors.stdout, errors.stderr);
    let load = errors.item("order-execution");
    assert_eq!(load["outcome"], "FAIL", "{load:#}");
    let claims = load["criteria"].to_string();
    assert!(claims.contains("error_rate < 0.1%"), "{claims}");
    let error_rate = load["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["criterion"] == "error_rate < 0.1%")
        .expect("the error-rate claim");
    assert_eq!(error_rate["outcome"], "FAIL", "{error_rate:#}");
}
