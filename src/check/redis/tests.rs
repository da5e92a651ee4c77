//! Tests of the `redis` kind: parsing and reading answers, then probes against a real
//! server (each test skipped, with the reason, where the server is not installed).

use super::*;

#[test]
fn replies_read_as_json() {
    let table = [
        (
            Value::SimpleString("PONG".into()),
            serde_json::json!("PONG"),
        ),
        (Value::Okay, serde_json::json!("OK")),
        (Value::BulkString(b"v".to_vec()), serde_json::json!("v")),
        (Value::Int(3), serde_json::json!(3)),
        (Value::Nil, serde_json::Value::Null),
        (
            Value::Array(vec![Value::BulkString(b"a".to_vec()), Value::Nil]),
            serde_json::json!(["a", null]),
        ),
        (
            Value::Map(vec![(Value::SimpleString("k".into()), Value::Int(1))]),
            serde_json::json!({"k": 1}),
        ),
        (Value::Double(1.5), serde_json::json!(1.5)),
        (Value::Boolean(true), serde_json::json!(true)),
    ];
    for (reply, json) in table {
        assert_eq!(to_json(reply.clone()), json, "{reply:?}");
    }
}

#[test]
fn urls_are_checked_and_passwords_stay_out_of_reasons() {
    assert!(parse_url("redis://127.0.0.1:6379/0").is_ok());
    let table = [
        ("rediss://u:pw@cache:6380", "not supported yet"),
        ("http://cache:6379", "not a redis:// URL"),
        ("redis://u:pw@cache:notaport", "not a valid Redis URL"),
    ];
    for (url, needle) in table {
        let Err(e) = parse_url(url) else {
            panic!("{url} was accepted")
        };
        assert!(e.contains(needle), "{url}: {e}");
        assert!(!e.contains("pw"), "{url}: the password leaked: {e}");
    }
}

/// Against a real server (skipped, with the reason, where Redis is not installed).
mod real_server {
    use super::*;
    use crate::check::test_servers;

    fn probe(url: &str, argv: &[&str], expect: &[&str], timeout: Duration) -> RedisProbe {
        let expect = expect.iter().map(|t| crate::expect::lenient(t)).collect();
        RedisCheck {
            url: Template::literal(url),
            command: argv.iter().map(|a| Template::literal(a)).collect(),
            timeout,
            expect,
            pubsub: None,
        }
        .prepare(&Endpoints::default())
        .unwrap()
    }

    async fn run(url: &str, argv: &[&str], expect: &[&str]) -> Sample {
        probe(url, argv, expect, Duration::from_secs(5))
            .sample()
            .await
    }

    fn server() -> Option<(std::sync::Arc<test_servers::Server>, String)> {
        match test_servers::redis() {
            Ok(s) => {
                let url = format!("redis://127.0.0.1:{}", s.port);
                Some((s, url))
            }
            Err(why) => {
                test_servers::skipped(&why);
                None
            }
        }
    }

    #[tokio::test]
    async fn replies_meet_expectations() {
        let Some((_server, url)) = server() else {
            return;
        };
        // Keys are this test's own, so tests sharing the server do not meet.
        let table: [(&[&str], &[&str]); 7] = [
            (&["PING"], &["reply == \"PONG\"", "latency < 5s"]),
            (&["SET", "t1:k", "v"], &["reply == \"OK\""]),
            (
                &["GET", "t1:k"],
                &["reply == \"v\"", "reply contains \"v\""],
            ),
            (&["GET", "t1:missing"], &["reply == null"]),
            (&["DEL", "t1:n", "t1:list"], &["reply >= 0"]),
            (&["INCR", "t1:n"], &["reply == 1"]),
            (&["RPUSH", "t1:list", "a", "b"], &["reply == 2"]),
        ];
        for (argv, expect) in table {
            let s = run(&url, argv, expect).await;
            assert!(s.is_ok(), "{argv:?}: {s:?}");
        }
        let s = run(
            &url,
            &["LRANGE", "t1:list", "0", "-1"],
            &["reply[1] == \"b\"", "reply contains \"a\""],
        )
        .await;
        assert!(s.is_ok(), "{s:?}");
        let missed = run(&url, &["GET", "t1:k"], &["reply == \"w\""]).await;
        assert_eq!(
            missed,
            Err(Failure::new(
                FailureClass::Expectation,
                "expected reply == \"w\", got \"v\""
            ))
        );
        let out_of_range = run(
            &url,
            &["LRANGE", "t1:list", "0", "-1"],
            &["reply[5] == \"x\""],
        )
        .await;
        assert_eq!(
            out_of_range.unwrap_err().reason,
            "expected reply[5] == \"x\", but `[5]` is not in the reply"
        );
    }

    #[tokio::test]
    async fn samplers_share_at_most_one_connection_each() {
        let Some((_server, url)) = server() else {
            return;
        };
        let p = probe(
            &url,
            &["PING"],
            &["reply == \"PONG\""],
            Duration::from_secs(5),
        );
        for _ in 0..50 {
            let round = futures_util::future::join_all((0..8).map(|_| p.sample())).await;
            assert!(round.iter().all(Result::is_ok), "{round:?}");
        }
        let kept = p.idle.len();
        assert!((1..=8).contains(&kept), "{kept} connections kept");
    }

    #[tokio::test]
    async fn failures_carry_their_class_and_the_servers_message() {
        let Some((server, url)) = server() else {
            return;
        };
        let port = server.port;
        assert!(run(&url, &["SET", "t3:s", "text"], &[]).await.is_ok());
        let f = run(&url, &["INCR", "t3:s"], &[]).await.unwrap_err();
        assert_eq!(f.class, FailureClass::Protocol);
        assert_eq!(
            f.reason,
            "the command failed: ERR value is not an integer or out of range"
        );
        let f = run(&url, &["LPUSH", "t3:s", "x"], &[]).await.unwrap_err();
        assert_eq!(f.class, FailureClass::Protocol);
        assert!(
            f.reason.starts_with("the command failed: WRONGTYPE "),
            "{}",
            f.reason
        );
        let f = run(&url, &["NOSUCHCOMMAND"], &[]).await.unwrap_err();
        assert!(f.reason.contains("unknown command"), "{}", f.reason);

        // A user who may only PING: other commands are refused (setup), and so is a
        // wrong password.
        let acl = ["ACL", "SETUSER", "t3-pinger", "on", ">pw", "+ping"];
        assert!(run(&url, &acl, &["reply == \"OK\""]).await.is_ok());
        let pinger = format!("redis://t3-pinger:pw@127.0.0.1:{port}");
        assert!(run(&pinger, &["PING"], &[]).await.is_ok());
        let f = run(&pinger, &["GET", "t3:s"], &[]).await.unwrap_err();
        assert_eq!(f.class, FailureClass::Setup, "{}", f.reason);
        assert!(f.reason.contains("NOPERM"), "{}", f.reason);
        let wrong = format!("redis://t3-pinger:nope@127.0.0.1:{port}");
        let f = run(&wrong, &["PING"], &[]).await.unwrap_err();
        assert_eq!(f.class, FailureClass::Setup, "{}", f.reason);
        assert!(
            !f.reason.contains("nope"),
            "the password leaked: {}",
            f.reason
        );

        // A reply past the timeout: the connection it held is dropped, not reused.
        let slow = probe(
            &url,
            &["BLPOP", "t3:empty", "2"],
            &[],
            Duration::from_millis(200),
        );
        let f = slow.sample().await.unwrap_err();
        assert_eq!(f.class, FailureClass::Timeout, "{}", f.reason);
        assert_eq!(
            f.reason,
            format!("no answer from redis at 127.0.0.1:{port} within 200ms")
        );
        assert_eq!(slow.idle.len(), 0);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_failure() {
        let port = test_servers::free_port();
        let url = format!("redis://127.0.0.1:{port}");
        let f = run(&url, &["PING"], &[]).await.unwrap_err();
        assert_eq!(f.class, FailureClass::Connect, "{}", f.reason);
        assert!(
            f.reason
                .starts_with(&format!("cannot connect to redis at 127.0.0.1:{port}: ")),
            "{}",
            f.reason
        );
    }
}
