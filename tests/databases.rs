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
        "redis-pubsub",
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
    // Every published message was received by golive's own subscriber.
    let pubsub = run.item("redis-pubsub");
    assert_eq!(pubsub["evidence"]["samples"]["taken"], 5000);
    assert_eq!(pubsub["evidence"]["samples"]["failed"], 0);
    assert!(
        pubsub["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("redis://127.0.0.1:")),
        "{pubsub:#}"
    );
    let delivered = &criterion(&run, "redis-pubsub", "rps > 1000/s")["observed"];
    eprintln!("redis pub/sub x20: {delivered}");
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
        (
            "redis-pubsub-nobody-else",
            "expectation",
            "expected reply >= 2, got 1".to_string(),
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

/// Seed 004's claim is about the system's messaging: with the system's own channel
/// named, the system's subscriber (here a plain RESP client, as another program would
/// be) receives every probe message, and `reply >= 2` proves someone besides golive
/// listens.
#[test]
fn pubsub_on_a_named_channel_reaches_the_systems_own_subscriber() {
    use std::io::{Read, Write};
    let redis = match servers::redis() {
        Ok(r) => r,
        Err(why) => {
            servers::skipped(&why);
            return;
        }
    };
    let mut sub = std::net::TcpStream::connect(("127.0.0.1", redis.port)).expect("connect");
    sub.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$10\r\ncos:events\r\n")
        .expect("subscribe");
    let mut confirm = [0u8; 64];
    let n = sub.read(&mut confirm).expect("subscribe confirmation");
    assert!(
        String::from_utf8_lossy(&confirm[..n]).contains("subscribe"),
        "{:?}",
        String::from_utf8_lossy(&confirm[..n])
    );
    let yaml = format!(
        r#"
system: COS
phases:
  - id: messaging
    title: Messaging
    items:
      - id: cos-events
        title: Messages on cos:events reach its subscribers
        check:
          kind: redis
          url: "redis://127.0.0.1:{}"
          pubsub: {{ channel: "cos:events" }}
          expect: [reply >= 2]
        samples: 200
        concurrency: 4
        criteria: [failures == 0]
"#,
        redis.port
    );
    let run = common::run_checklist(&yaml, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.outcome("cos-events"),
        "PASS",
        "{:#}",
        run.item("cos-events")
    );
    // The other subscriber got all 200, each a `message` push on cos:events.
    sub.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = sub.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&seen).matches("golive:").count() >= 200 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(text.matches("$7\r\nmessage\r\n").count(), 200, "{text}");
    assert_eq!(text.matches("golive:").count(), 200);
}
