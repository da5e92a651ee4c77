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

/// After a kill with 50 keep-alive connections, the failed requests are those sent while
/// the API was down, not one per pooled connection: a connection the crash closed is
/// re-opened and its request sent again (counted as a reconnect) once the API is back.
#[test]
fn a_kill_costs_the_requests_sent_while_down_not_one_per_connection() {
    let run = run_fixture("drills-kill.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let kill = run.item("kill");
    let load = &kill["evidence"]["load"];
    let drill = &kill["evidence"]["drills"][0];
    assert_eq!(drill["action"], "kill", "{drill}");
    let down_s = drill["recovery_ms"].as_f64().expect("recovered") / 1000.0;
    let errors = load["errors"].as_u64().unwrap();
    let reconnects = load["reconnects"].as_u64().unwrap();
    let requests = load["requests"].as_u64().unwrap();
    eprintln!("down {down_s:.3} s, {requests} requests, {errors} errors, {reconnects} reconnects");
    // The connections the crash closed and that were next used after the API was back.
    assert!(reconnects > 0, "{load}");
    // At 100/s, the requests due while the API was down, plus those in flight when it died
    // and a margin for the readiness probe's own interval.
    let bound = (100.0 * (down_s + 0.5)).ceil() as u64;
    assert!(
        errors <= bound,
        "{errors} errors for {down_s:.3} s down (at most {bound}): {load}"
    );
    // One error per pooled connection (50) is what a client that never re-connects shows
    // on top of the outage; a quick recovery keeps the total below the pool size.
    if down_s < 0.25 {
        assert!(
            errors < 50,
            "{errors} errors for {down_s:.3} s down: {load}"
        );
    }
}

/// `restart: on-failure` on a process: the kill drill only crashes it, golive's supervisor
/// starts it again (golive does not, as the drill would without a policy), the recovery is
/// timed from the crash, and the one restart is counted.
#[test]
fn a_crash_under_restart_on_failure_is_answered_by_the_policy_and_counted() {
    let run = run_fixture("drills-supervised.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let crash = run.item("crash");
    assert_eq!(crash["outcome"], "PASS", "{crash}");
    let drill = &crash["evidence"]["drills"][0];
    assert_eq!(drill["action"], "kill", "{drill}");
    assert!(drill["error"].is_null(), "{drill}");
    let ms = drill["recovery_ms"].as_u64().expect("recovered");
    assert!(ms < 5_000, "{drill}");
    assert!(
        run.stderr.contains("restarting it (restart: on-failure)"),
        "{}",
        run.stderr
    );
    let restarted = run.item("restarted-once");
    assert_eq!(restarted["outcome"], "PASS", "{restarted}");
}
