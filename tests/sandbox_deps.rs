//! The reference system with real backing services (`golive sandbox --postgres URL
//! --redis URL`, PostgreSQL and Redis started by the test on free 127.0.0.1 ports), an
//! outage of Redis and its recovery, and the `stale_lock` fault that keeps a killed
//! sandbox from coming back. A test whose server is not installed says so on stderr and
//! returns: it is reported as skipped, never as having proved anything.

mod common;

use common::sandbox::Sandbox;
use common::{golive, servers};
use nix::sys::signal::{kill, Signal};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Bound on waiting for a recovery, so a sandbox that never recovers fails the test.
const PATIENCE: Duration = Duration::from_secs(10);

fn postgres_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

#[test]
fn orders_are_stored_in_postgres_and_read_back() {
    let pg = match servers::postgres() {
        Ok(pg) => pg,
        Err(why) => return servers::skipped(&why),
    };
    let sb = Sandbox::start_with(&["--postgres", &postgres_url(pg.port)], Stdio::null());
    let (code, health) = sb.json("GET", "/api/db/health", "");
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["status"], "UP");

    let order = r#"{"symbol":"MSFT","side":"buy","quantity":7,"type":"market"}"#;
    let (code, placed) = sb.json("POST", "/api/db/orders", order);
    assert_eq!(code, 201, "{placed}");
    let id = placed["id"].as_i64().expect("a numeric id");
    assert_eq!(placed["symbol"], "MSFT");
    assert_eq!(placed["quantity"], 7);
    assert_eq!(placed["status"], "FILLED");
    let (code, read) = sb.json("GET", &format!("/api/db/orders/{id}"), "");
    assert_eq!((code, &read), (200, &placed));
    // Stored in the table, not in the sandbox: the database itself has the row.
    let (code, again) = sb.json("POST", "/api/db/orders", order);
    assert_eq!(code, 201);
    assert!(again["id"].as_i64().unwrap() > id, "{again}");

    let (code, missing) = sb.json("GET", "/api/db/orders/999999999", "");
    assert_eq!(code, 404, "{missing}");
    let (code, bad) = sb.json("POST", "/api/db/orders", r#"{"symbol":"NOPE"}"#);
    assert_eq!(code, 400, "{bad}");

    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["status"], "UP");
    assert_eq!(health["checks"]["postgres"], "UP");
    assert!(health["checks"].get("redis").is_none(), "{health}");
}

#[test]
fn a_database_outage_answers_503_and_a_new_database_gets_the_table_again() {
    let port = servers::free_port();
    let pg = match servers::postgres_on(port) {
        Ok(pg) => pg,
        Err(why) => return servers::skipped(&why),
    };
    let sb = Sandbox::start_with(&["--postgres", &postgres_url(port)], Stdio::null());
    let order = r#"{"symbol":"GOOG","side":"sell","quantity":3,"type":"market"}"#;
    assert_eq!(sb.json("POST", "/api/db/orders", order).0, 201);

    drop(pg);
    let (code, down) = sb.json("POST", "/api/db/orders", order);
    assert_eq!(code, 503, "{down}");
    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!((code, &health["checks"]["postgres"]), (503, &json!("DOWN")));
    assert_eq!(sb.json("GET", "/api/db/health", "").0, 503);

    // An empty cluster on the same port: connections are made again and, since the
    // table is gone with the old one, so is the table.
    let _back = servers::postgres_on(port).expect("postgres again on the same port");
    let deadline = Instant::now() + PATIENCE;
    let placed = loop {
        let (code, body) = sb.json("POST", "/api/db/orders", order);
        if code == 201 {
            break body;
        }
        assert!(Instant::now() < deadline, "not recovered: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let id = placed["id"].as_i64().unwrap();
    let (code, read) = sb.json("GET", &format!("/api/db/orders/{id}"), "");
    assert_eq!((code, &read), (200, &placed));
    assert_eq!(sb.json("GET", "/health", "").0, 200);
}

/// Reads one RESP reply of a subscriber: an array of bulk strings, as its items.
fn read_push(r: &mut BufReader<TcpStream>) -> Vec<String> {
    let mut line = String::new();
    r.read_line(&mut line).expect("array header");
    let n: usize = line.trim_start_matches('*').trim().parse().expect("array");
    (0..n)
        .map(|_| {
            let mut head = String::new();
            r.read_line(&mut head).expect("item header");
            if let Some(len) = head.strip_prefix('$') {
                let len: usize = len.trim().parse().expect("bulk length");
                let mut buf = vec![0; len + 2];
                r.read_exact(&mut buf).expect("bulk");
                String::from_utf8_lossy(&buf[..len]).into_owned()
            } else {
                head.trim().trim_start_matches(':').to_string()
            }
        })
        .collect()
}

#[test]
fn quotes_are_cached_in_redis_and_messages_reach_a_real_subscriber() {
    // Its own server, so the cache is empty and no other test's keys are in it.
    let port = servers::free_port();
    let redis = match servers::redis_on(port) {
        Ok(r) => r,
        Err(why) => return servers::skipped(&why),
    };
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let sb = Sandbox::start_with(&["--redis", &url, "--cache-ttl", "10m"], Stdio::null());

    let (code, head, first) = sb.request("GET", "/api/cache/quote/AAPL", "");
    assert_eq!(code, 200, "{first}");
    assert!(head.contains("x-cache: miss"), "{head}");
    let (code, head, second) = sb.request("GET", "/api/cache/quote/AAPL", "");
    assert_eq!(code, 200, "{second}");
    assert!(head.contains("x-cache: hit"), "{head}");
    // The very quote stored on the miss, timestamp and all.
    assert_eq!(first, second);
    let quote: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(quote["symbol"], "AAPL");
    let (code, unknown) = sb.json("GET", "/api/cache/quote/NOPE", "");
    assert_eq!(code, 404, "{unknown}");

    let mut sub = TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    sub.set_read_timeout(Some(PATIENCE)).unwrap();
    sub.write_all(b"SUBSCRIBE cos.orders\r\n").unwrap();
    let mut reader = BufReader::new(sub.try_clone().unwrap());
    assert_eq!(read_push(&mut reader), ["subscribe", "cos.orders", "1"]);
    let (code, published) = sb.json("POST", "/api/cache/publish/cos.orders", "order 42 filled");
    assert_eq!(code, 200, "{published}");
    assert_eq!(published, json!({"channel": "cos.orders", "receivers": 1}));
    assert_eq!(
        read_push(&mut reader),
        ["message", "cos.orders", "order 42 filled"]
    );
    let (code, nobody) = sb.json("POST", "/api/cache/publish/nobody.listens", "x");
    assert_eq!((code, &nobody["receivers"]), (200, &json!(0)));

    let (code, health) = sb.json("GET", "/api/cache/health", "");
    assert_eq!((code, &health["status"]), (200, &json!("UP")), "{health}");
}

#[test]
fn a_redis_outage_answers_503_and_the_sandbox_recovers_when_redis_returns() {
    let port = servers::free_port();
    let redis = match servers::redis_on(port) {
        Ok(r) => r,
        Err(why) => return servers::skipped(&why),
    };
    let url = format!("redis://127.0.0.1:{port}");
    let sb = Sandbox::start_with(&["--redis", &url], Stdio::null());
    assert_eq!(sb.request("GET", "/api/cache/quote/MSFT", "").0, 200);
    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!((code, &health["checks"]["redis"]), (200, &json!("UP")));

    drop(redis);
    // Answered, not held: `request` fails the test if no answer comes within 10 s.
    let (code, down) = sb.json("GET", "/api/cache/quote/MSFT", "");
    assert_eq!(code, 503, "{down}");
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!("redis at 127.0.0.1:{port}"))),
        "{down}"
    );
    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["status"], "DOWN");
    assert_eq!(health["checks"]["redis"], "DOWN");
    assert!(health["errors"]["redis"].is_string(), "{health}");
    assert_eq!(sb.json("GET", "/api/cache/health", "").0, 503);

    let _back = servers::redis_on(port).expect("redis again on the same port");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (code, body) = sb.json("GET", "/api/cache/quote/MSFT", "");
        if code == 200 {
            assert_eq!(body["symbol"], "MSFT");
            break;
        }
        assert!(Instant::now() < deadline, "not recovered: {code} {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!((code, &health["status"]), (200, &json!("UP")), "{health}");
}

#[test]
fn an_unreachable_database_does_not_stop_the_start_and_its_password_is_never_shown() {
    let closed = servers::free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let url = format!("postgres://app:s3cret-pw@127.0.0.1:{closed}/orders");
    let mut cmd_log = log.reopen().unwrap();
    let sb = Sandbox::start_with(&["--postgres", &url], Stdio::from(log.reopen().unwrap()));
    let (code, health) = sb.json("GET", "/health", "");
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["checks"]["postgres"], "DOWN");
    let reason = health["errors"]["postgres"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("cannot connect to postgres at 127.0.0.1:{closed}")),
        "{reason}"
    );
    let (code, down) = sb.json(
        "POST",
        "/api/db/orders",
        r#"{"symbol":"AAPL","side":"buy","quantity":1,"type":"market"}"#,
    );
    assert_eq!(code, 503, "{down}");
    // The routes of a dependency it was not given say which option serves them.
    let (code, absent) = sb.json("GET", "/api/cache/health", "");
    assert_eq!(code, 404, "{absent}");
    assert!(
        absent["error"].as_str().unwrap().contains("--redis"),
        "{absent}"
    );
    drop(sb);
    let mut text = String::new();
    cmd_log.read_to_string(&mut text).unwrap();
    for shown in [reason, &text, &down.to_string()] {
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }
}

#[test]
fn an_invalid_url_refuses_the_start_without_showing_its_password() {
    let out = golive()
        .args(["sandbox", "--listen", "127.0.0.1:0"])
        .env("GOLIVE_SANDBOX_REDIS", "http://user:s3cret-pw@127.0.0.1:1")
        .env_remove("GOLIVE_SANDBOX_FAULTS")
        .env_remove("GOLIVE_SANDBOX_POSTGRES")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--redis: `http://user:***@127.0.0.1:1` is not a redis:// URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
}

/// A sandbox process with `--fault stale_lock=PATH` (or the variable), its address read.
struct Locked {
    child: common::Killed,
}

impl Locked {
    fn start(lock: &std::path::Path) -> Locked {
        let mut child = golive()
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .env(
                "GOLIVE_SANDBOX_FAULTS",
                format!("stale_lock={}", lock.display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("golive sandbox listening on"), "{line:?}");
        Locked {
            child: common::Killed(child),
        }
    }

    fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.0.id() as i32)
    }

    fn signal_and_wait(mut self, signal: Signal) -> std::process::ExitStatus {
        kill(self.pid(), signal).unwrap();
        self.child.0.wait().unwrap()
    }
}

#[test]
fn a_stale_lock_left_by_a_killed_sandbox_refuses_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("sandbox.lock");

    let first = Locked::start(&lock);
    let pid = first.child.0.id();
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        pid.to_string()
    );
    let status = first.signal_and_wait(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(!lock.exists(), "a clean shutdown removes the lock file");

    let second = Locked::start(&lock);
    let pid = second.child.0.id();
    let status = second.signal_and_wait(Signal::SIGKILL);
    assert_eq!(status.code(), None, "killed by a signal");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        pid.to_string()
    );

    let out = golive()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--fault"])
        .arg(format!("stale_lock={}", lock.display()))
        .env_remove("GOLIVE_SANDBOX_FAULTS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "never announced an address");
    let expected = format!(
        "cannot start: lock file {} exists (left by PID {pid}); remove it if no other instance runs",
        lock.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    // Refused, so the file is the killed one's, untouched.
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap().trim(),
        pid.to_string()
    );

    // Without the fault no lock file is used, even with one lying there.
    let free = Sandbox::start(&[]);
    assert_eq!(free.request("GET", "/health", "").0, 200);
}
