//! Tests of the `postgres` kind: parsing and reading answers, then probes against a real
//! server (each test skipped, with the reason, where the server is not installed).

use super::*;

#[test]
fn parses_urls_and_refuses_what_it_cannot_honour() {
    let c = parse_url("postgres://app:secret@db.internal:6543/orders").unwrap();
    assert_eq!(server(&c), "db.internal:6543");
    assert_eq!(c.get_user(), Some("app"));
    assert_eq!(c.get_dbname(), Some("orders"));
    assert_eq!(c.get_application_name(), Some("golive"));
    assert_eq!(
        server(&parse_url("postgresql://127.0.0.1/postgres").unwrap()),
        "127.0.0.1:5432"
    );
    let table = [
        (
            "host=127.0.0.1 user=postgres",
            "not a postgres:// or postgresql:// URL",
        ),
        (
            "http://127.0.0.1:5432",
            "not a postgres:// or postgresql:// URL",
        ),
        (
            "postgres://h/db?sslmode=require",
            "TLS to Postgres is not supported yet",
        ),
        ("postgres://u:pw@h:notaport/db", "not a valid Postgres URL"),
    ];
    for (url, needle) in table {
        let e = parse_url(url).unwrap_err();
        assert!(e.contains(needle), "{url}: {e}");
        assert!(!e.contains("pw"), "{url}: the password leaked: {e}");
    }
}

#[test]
fn an_answer_counts_the_last_statement_and_keeps_the_first_value() {
    let a = answer(vec![SimpleQueryMessage::CommandComplete(3)], 10);
    assert_eq!(a.rows, 3);
    assert!(matches!(a.observe(&Subject::Value), Observed::Missing(m) if m.contains("no rows")));
    assert!(matches!(a.observe(&Subject::Rows), Observed::Int(3)));
    assert!(matches!(a.observe(&Subject::Latency), Observed::Micros(10)));
}

/// Against a real server (skipped, with the reason, where Postgres is not installed).
mod real_server {
    use super::*;
    use crate::check::test_servers;

    fn probe(url: &str, query: &str, reuse: bool, expect: &[&str]) -> PostgresProbe {
        probe_with_timeout(url, query, reuse, expect, Duration::from_secs(5))
    }

    fn probe_with_timeout(
        url: &str,
        query: &str,
        reuse: bool,
        expect: &[&str],
        timeout: Duration,
    ) -> PostgresProbe {
        let expect = expect.iter().map(|t| crate::expect::lenient(t)).collect();
        PostgresCheck {
            url: Template::literal(url),
            query: Template::literal(query),
            timeout,
            reuse_connection: reuse,
            expect,
        }
        .prepare(&Endpoints::default())
        .unwrap()
    }

    fn server() -> Option<(std::sync::Arc<test_servers::Server>, String)> {
        match test_servers::postgres() {
            Ok(s) => {
                let url = format!("postgres://postgres@127.0.0.1:{}/postgres", s.port);
                Some((s, url))
            }
            Err(why) => {
                test_servers::skipped(&why);
                None
            }
        }
    }

    #[tokio::test]
    async fn rows_and_values_are_observed() {
        let Some((_server, url)) = server() else {
            return;
        };
        let table: [(&str, &[&str]); 5] = [
            (
                "SELECT 42",
                &[
                    "rows == 1",
                    "value == 42",
                    "value == \"42\"",
                    "latency < 5s",
                ],
            ),
            ("SELECT NULL", &["value == null"]),
            ("SELECT generate_series(1, 3)", &["rows == 3", "value == 1"]),
            (
                "SELECT 'UP' AS status",
                &["value matches \"^U\"", "value != 1"],
            ),
            ("SELECT 1 WHERE false", &["rows == 0"]),
        ];
        for (query, expect) in table {
            let s = probe(&url, query, true, expect).sample().await;
            assert!(s.is_ok(), "{query}: {s:?}");
        }
        let missed = probe(&url, "SELECT 42", true, &["value == 43"])
            .sample()
            .await;
        assert_eq!(
            missed,
            Err(Failure::new(
                FailureClass::Expectation,
                "expected value == 43, got \"42\""
            ))
        );
        let none = probe(&url, "SELECT 1 WHERE false", true, &["value == 1"])
            .sample()
            .await;
        assert_eq!(
            none.unwrap_err().reason,
            "expected value == 1, but the query returned no rows"
        );
    }

    #[tokio::test]
    async fn a_kept_connection_serves_every_sample_of_its_sampler() {
        let Some((_server, url)) = server() else {
            return;
        };
        // Each probe names its sessions, so it can count them on the server.
        let count = |name: &str| {
            format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{name}'")
        };
        let kept = probe(
            &format!("{url}?application_name=kept"),
            &count("kept"),
            true,
            &["value == 1"],
        );
        for _ in 0..20 {
            let s = kept.sample().await;
            assert!(s.is_ok(), "{s:?}");
        }
        assert_eq!(kept.idle.len(), 1);

        // Four samplers at once: never more than four connections.
        let four = probe(
            &format!("{url}?application_name=four"),
            &count("four"),
            true,
            &["value <= 4"],
        );
        for _ in 0..10 {
            let round = futures_util::future::join_all((0..4).map(|_| four.sample())).await;
            assert!(round.iter().all(Result::is_ok), "{round:?}");
        }
        assert!(four.idle.len() <= 4);

        let fresh = probe(&url, "SELECT 1", false, &[]);
        for _ in 0..3 {
            assert!(fresh.sample().await.is_ok());
        }
        assert_eq!(fresh.idle.len(), 0);
    }

    #[tokio::test]
    async fn failures_carry_their_class_and_the_servers_message() {
        let Some((server, url)) = server() else {
            return;
        };
        let port = server.port;
        let f = probe(&url, "SELECT * FROM missing_table", true, &[])
            .sample()
            .await
            .unwrap_err();
        assert_eq!(f.class, FailureClass::Protocol);
        assert_eq!(
            f.reason,
            "the query failed: ERROR: relation \"missing_table\" does not exist (SQLSTATE 42P01)"
        );

        let nobody = format!("postgres://nobody:pw@127.0.0.1:{port}/postgres");
        let f = probe(&nobody, "SELECT 1", true, &[])
            .sample()
            .await
            .unwrap_err();
        assert_eq!(f.class, FailureClass::Setup, "{}", f.reason);
        assert!(
            f.reason.contains("role \"nobody\" does not exist"),
            "{}",
            f.reason
        );
        assert!(f.reason.contains("SQLSTATE 28000"), "{}", f.reason);

        let no_db = format!("postgres://postgres@127.0.0.1:{port}/no_such_db");
        let f = probe(&no_db, "SELECT 1", true, &[])
            .sample()
            .await
            .unwrap_err();
        assert_eq!(f.class, FailureClass::Setup, "{}", f.reason);
        assert!(
            f.reason.contains("\"no_such_db\" does not exist"),
            "{}",
            f.reason
        );

        // A query past its timeout: the connection it held is dropped, not reused.
        let slow = probe_with_timeout(
            &url,
            "SELECT pg_sleep(5)",
            true,
            &[],
            Duration::from_millis(200),
        );
        let f = slow.sample().await.unwrap_err();
        assert_eq!(f.class, FailureClass::Timeout, "{}", f.reason);
        assert_eq!(
            f.reason,
            format!("no answer from postgres at 127.0.0.1:{port} within 200ms")
        );
        assert_eq!(slow.idle.len(), 0);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_failure() {
        let port = test_servers::free_port();
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let f = probe(&url, "SELECT 1", true, &[])
            .sample()
            .await
            .unwrap_err();
        assert_eq!(f.class, FailureClass::Connect, "{}", f.reason);
        assert!(
            f.reason
                .starts_with(&format!("cannot connect to postgres at 127.0.0.1:{port}: ")),
            "{}",
            f.reason
        );
        assert!(f.reason.contains("refused"), "{}", f.reason);
    }
}
