//! Fault drills on a local process (no Docker needed): a pause is timed until the
//! readiness probe passes again and judged by `recovery_time`; latency injected into the
//! reference system trips a rollback rule.

mod common;

use common::run_fixture;

#[test]
fn a_pause_is_timed_and_injected_latency_rolls_back() {
    let run = run_fixture("drills.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);

    let pause = run.item("pause");
    assert_eq!(pause["outcome"], "PASS", "{pause}");
    let drill = &pause["evidence"]["drills"][0];
    assert_eq!(drill["action"], "pause");
    let fired = drill["fired_at_s"].as_f64().expect("fired");
    assert!((fired - 2.0).abs() < 0.5, "{drill}");
    // Frozen for 2 s, so readiness cannot pass sooner; and it passes soon after.
    let ms = drill["recovery_ms"].as_u64().expect("recovered");
    assert!((1_900..5_000).contains(&ms), "{drill}");
    let recovery = pause["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["criterion"] == "recovery_time < 5s")
        .expect("recovery criterion");
    assert_eq!(recovery["outcome"], "PASS", "{recovery}");
    assert!(
        recovery["observed"]
            .as_str()
            .unwrap_or("")
            .starts_with("recovery_time = "),
        "{recovery}"
    );

    let inject = run.item("inject");
    assert_eq!(inject["outcome"], "FAIL", "{inject}");
    let drill = &inject["evidence"]["drills"][0];
    assert_eq!(drill["action"], "inject");
    assert!(drill["fired_at_s"].as_f64().is_some(), "{drill}");
    assert!(
        drill["recovery_ms"].is_null(),
        "inject is not timed: {drill}"
    );
    let rollback = &inject["evidence"]["load"]["rollback"];
    assert_eq!(rollback["rule"], "slow", "{inject}");
    let at = rollback["at_s"].as_f64().expect("rollback time");
    assert!((3.0..10.0).contains(&at), "rolled back at {at} s");
}
