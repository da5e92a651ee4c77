//! The `postgres` and `redis` check kinds through the real binary, against real servers
//! this test starts on free 127.0.0.1 ports (`common::servers`) and stops by PID when
//! done. A test whose server is not installed says so on stderr and returns: it is
//! reported as skipped, never as having proved anything.

mod common;

use common::{run_fixture, servers, Run};
use serde_json::Value;

/// The criterion `text` of item `id`.
fn criterion<'a>(run: &'a Run, id: &str, text: &str) -> &'a Value {
    run.item(id)["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["criterion"] == text)
        .unwrap_or_else(|| panic!("{id} has no criterion {text}: {:#}", run.item(id)))
}

/// The class and reason of the item's first failure.
fn first_failure(item: &Value) -> (&str, &str) {
    let f = &item["failures"][0];
    (
        f["class"].as_str().unwrap_or_default(),
        f["reason"].as_str().unwrap_or_default(),
    )
}

/// Asserts a NO-GO run with results.json written; returns it.
fn no_go(run: &Run) -> &Value {
    let results = run.results();
    assert_eq!(run.code, 1, "exit code; stderr:\n{}", run.stderr);
    assert_eq!(results["verdict"], "NO_GO");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    results
}

#[test]
fn postgres_latency_and_redis_throughput_pass_against_real_servers() {
    let (pg, redis) = match (servers::postgres(), servers::redis()) {
        (Ok(pg), Ok(redis)) => (pg, redis),
        (Err(why), _) | (_, Err(why)) => {
            servers::skipped(&why);
            return;
        }
    };
    let run = run_fixture(
        "databases-go.yaml",
        &[
            ("GOLIVE_TEST_PG_PORT", pg.port.to_string()),
            ("GOLIVE_TEST_REDIS_PORT", redis.port.to_string()),
        ],
        &[],
    );
    let results = run.results();
    for id in [
        "pg-select",
        "pg-connect",
        "redis-seed",
        "redis-get",
        "redis-throughput",
    ] {
        assert_eq!(run.outcome(id), "PASS", "{id}: {:#}", run.item(id));
    }
    assert_eq!(results["verdict"], "GO", "stderr:\n{}", run.stderr);
    assert_eq!(run.code, 0);

    let select = run.item("pg-select");
    assert_eq!(select["kind"], "postgres");
    // The port comes from `{env.GOLIVE_TEST_PG_PORT}`, and every value read from the
    // environment is masked wherever it is shown.
    assert_eq!(
        select["target"],
        "postgres://postgres@127.0.0.1:***/postgres"
    );
    assert_eq!(select["evidence"]["samples"]["taken"], 400);
    let p95 = &criterion(&run, "pg-select", "p95 < 50ms")["observed"];

    let throughput = run.item("redis-throughput");
    assert_eq!(throughput["kind"], "redis");
    assert_eq!(throughput["evidence"]["samples"]["taken"], 5000);
    assert_eq!(throughput["evidence"]["samples"]["failed"], 0);
    let rps = &criterion(&run, "redis-throughput", "rps > 1000/s")["observed"];
    // The figures, for whoever reads the test log.
    eprintln!(
        "postgres SELECT on kept connections: {p95}; fresh connections: p95 = {} ms; redis PING x8: {rps}",
        run.item("pg-connect")["evidence"]["samples"]["latency_ms"]["p95"]
    );
}

#[test]
fn a_sql_error_a_rejected_role_and_an_error_reply_fail_with_the_servers_message() {
    let (pg, redis) = match (servers::postgres(), servers::redis()) {
        (Ok(pg), Ok(redis)) => (pg, redis),
        (Err(why), _) | (_, Err(why)) => {
            servers::skipped(&why);
            return;
        }
    };
    let run = run_fixture(
        "databases-errors.yaml",
        &[
            ("GOLIVE_TEST_PG_PORT", pg.port.to_string()),
            ("GOLIVE_TEST_REDIS_PORT", redis.port.to_string()),
        ],
        &[],
    );
    no_go(&run);
    let cases = [
        (
            "pg-missing-table",
            "protocol",
            "the query failed: ERROR: relation \"missing_table\" does not exist (SQLSTATE 42P01)"
                .to_string(),
        ),
        (
            "pg-unknown-role",
            "setup",
            "postgres at 127.0.0.1:*** refused the session: role \"nobody\" does not exist (SQLSTATE 28000)".to_string(),
        ),
        (
            "redis-error-reply",
            "protocol",
            "the command failed: ERR value is not an integer or out of range".to_string(),
        ),
    ];
    for (id, class, reason) in cases {
        let item = run.item(id);
        assert_eq!(item["outcome"], "FAIL", "{id}: {item:#}");
        assert_eq!(first_failure(item), (class, reason.as_str()), "{id}");
        // The default criterion (`failures == 0`) names the reason too.
        let why = item["criteria"][0]["why"].as_str().unwrap_or_default();
        assert!(why.contains(&reason), "{id}: {why}");
    }
}

#[test]
fn database_checks_against_a_closed_port_fail_with_connect_failures() {
    let port = servers::free_port();
    let run = run_fixture(
        "databases-unreachable.yaml",
        &[("GOLIVE_TEST_CLOSED_PORT", port.to_string())],
        &[],
    );
    no_go(&run);
    for (id, kind) in [
        ("pg-unreachable", "postgres"),
        ("redis-unreachable", "redis"),
    ] {
        let item = run.item(id);
        assert_eq!(item["outcome"], "FAIL", "{id}: {item:#}");
        let (class, reason) = first_failure(item);
        assert_eq!(class, "connect", "{id}: {reason}");
        assert!(
            reason.starts_with(&format!("cannot connect to {kind} at 127.0.0.1:***: ")),
            "{id}: {reason}"
        );
        assert!(
            item["evidence"]["samples"]["latency_ms"].is_null(),
            "{id}: {item:#}"
        );
        assert_eq!(
            item["evidence"]["samples"]["failures_by_class"]["connect"],
            item["evidence"]["samples"]["taken"]
        );
    }
    assert_eq!(
        criterion(&run, "redis-unreachable", "error_rate < 1%")["outcome"],
        "FAIL"
    );
}
