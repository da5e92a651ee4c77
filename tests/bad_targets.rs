//! Bad targets: each one fails its check with a reason that names the cause, within the
//! check's timeout, and the run still writes its report. The targets are small servers on
//! 127.0.0.1:0 in this test process; each stops when its test drops it, or after
//! `LIFETIME` at the latest.

mod common;

use common::{run_checklist, Run};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest any target lives, whatever its test does.
const LIFETIME: Duration = Duration::from_secs(60);

/// A generous bound on a whole run whose probes all end within sub-second timeouts:
/// it proves the run ended within its timeouts, not how fast it was.
const QUICK: Duration = Duration::from_secs(10);

/// When a target must stop: its test dropped it, or its lifetime ran out.
#[derive(Clone)]
struct Stop {
    flag: Arc<AtomicBool>,
    until: Instant,
}

impl Stop {
    fn now(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || Instant::now() >= self.until
    }
}

/// A server on 127.0.0.1 that hands each connection to `handler` on its own thread.
struct Target {
    addr: SocketAddr,
    stop: Stop,
    accept: Option<JoinHandle<()>>,
}

impl Target {
    fn serve(handler: impl Fn(TcpStream, &Stop) + Send + Sync + 'static) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Stop {
            flag: Arc::new(AtomicBool::new(false)),
            until: Instant::now() + LIFETIME,
        };
        let handler = Arc::new(handler);
        let s = stop.clone();
        let accept = thread::spawn(move || {
            let mut connections = Vec::new();
            while !s.now() {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let (h, s) = (handler.clone(), s.clone());
                        connections.push(thread::spawn(move || h(stream, &s)));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
            for c in connections {
                let _ = c.join();
            }
        });
        Target {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.flag.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request head (up to the blank line), bounded in size and time.
fn read_head(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

/// A handler that answers every request with `status`, `content_type` and `body`, then
/// closes the connection.
fn answer(
    status: &'static str,
    content_type: &'static str,
    body: &'static [u8],
) -> impl Fn(TcpStream, &Stop) + Send + Sync + 'static {
    move |mut stream, _| {
        read_head(&mut stream);
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
        let _ = stream.shutdown(Shutdown::Write);
    }
}

/// A port on 127.0.0.1 with nothing listening: bound, then released.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// A checklist with one phase holding `items` (YAML list entries indented by six spaces);
/// `PORT` is replaced by `port`.
fn checklist(port: u16, items: &str) -> String {
    format!(
        "system: bad targets\nphases:\n  - id: probes\n    title: Probes\n    items:\n{}",
        items.replace("PORT", &port.to_string())
    )
}

/// Runs `yaml` and returns the run with how long it took.
fn timed_run(yaml: &str) -> (Run, Duration) {
    let start = Instant::now();
    let run = run_checklist(yaml, &[]);
    (run, start.elapsed())
}

/// Asserts a NO-GO run with results.json written and item `id` FAIL; returns the item.
fn failed_item<'a>(run: &'a Run, id: &str) -> &'a Value {
    let results = run.results();
    assert_eq!(run.code, 1, "exit code; stderr:\n{}", run.stderr);
    assert_eq!(results["verdict"], "NO_GO");
    assert_eq!(results["exit_code"], 1);
    assert_eq!(run.outcome(id), "FAIL", "{id}: {:#}", run.item(id));
    run.item(id)
}

/// The class and reason of the item's first failure.
fn first_failure(item: &Value) -> (&str, &str) {
    let f = &item["failures"][0];
    (
        f["class"].as_str().unwrap_or_default(),
        f["reason"].as_str().unwrap_or_default(),
    )
}

#[test]
fn an_unreachable_target_fails_with_a_connect_failure() {
    let port = closed_port();
    let yaml = checklist(
        port,
        r#"      - id: gone
        title: Nothing listens here
        check: { kind: http, url: "http://127.0.0.1:PORT/health", timeout: 2s }
"#,
    );
    let (run, took) = timed_run(&yaml);
    let item = failed_item(&run, "gone");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "connect", "{reason}");
    assert!(reason.contains(&port.to_string()), "{reason}");
    assert_eq!(
        item["evidence"]["samples"]["failures_by_class"]["connect"],
        1
    );
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_target_that_accepts_and_never_answers_times_out() {
    // Holds every connection open without writing a byte.
    let target = Target::serve(|_stream, stop| {
        while !stop.now() {
            thread::sleep(Duration::from_millis(10));
        }
    });
    let yaml = checklist(
        target.port(),
        r#"      - id: silent
        title: Accepts and never answers
        check: { kind: http, url: "http://127.0.0.1:PORT/", timeout: 500ms }
"#,
    );
    let (run, took) = timed_run(&yaml);
    let item = failed_item(&run, "silent");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "timeout", "{reason}");
    assert!(reason.contains("500ms"), "{reason}");
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_response_of_gigabytes_is_cut_at_max_body() {
    // Announces 4 GiB and streams zeros until the client hangs up (or the test ends).
    let target = Target::serve(|mut stream, stop| {
        read_head(&mut stream);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 4294967296\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let zeros = [0u8; 64 * 1024];
        let started = Instant::now();
        while !stop.now() && started.elapsed() < Duration::from_secs(20) {
            match stream.write(&zeros) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
    let yaml = checklist(
        target.port(),
        r#"      - id: huge
        title: Answers with gigabytes
        check: { kind: http, url: "http://127.0.0.1:PORT/download" }
"#,
    );
    let (run, took) = timed_run(&yaml);
    let item = failed_item(&run, "huge");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "protocol", "{reason}");
    assert!(
        reason.contains("1MiB") && reason.contains("max_body"),
        "{reason}"
    );
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_body_that_is_not_utf8_fails_its_text_expectation_and_every_report_is_written() {
    let target = Target::serve(answer("200 OK", "text/plain", b"\xff\xfe\xfd"));
    let yaml = checklist(
        target.port(),
        r#"      - id: binary
        title: Body is text
        check:
          kind: http
          url: "http://127.0.0.1:PORT/"
          expect: ['body contains "ok"']
"#,
    );
    let run = run_checklist(&yaml, &[]);
    let item = failed_item(&run, "binary");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "expectation");
    assert_eq!(
        reason,
        "expected body contains \"ok\", but the body is not valid UTF-8 (at byte 0)"
    );
    // results.json parsed as JSON already (run.results()); the other reports exist too
    // and name the failed item.
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).expect("junit.xml written");
    assert!(
        junit.contains("<failure") && junit.contains("binary"),
        "{junit}"
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md written");
    assert!(md.contains("NO-GO") && md.contains("binary"), "{md}");
}

#[test]
fn a_body_that_is_not_json_fails_a_json_expectation() {
    let target = Target::serve(answer("200 OK", "text/html", b"<html>UP</html>"));
    let yaml = checklist(
        target.port(),
        r#"      - id: health
        title: Health reports UP
        check:
          kind: http
          url: "http://127.0.0.1:PORT/health"
          expect: [body.status == "UP"]
"#,
    );
    let run = run_checklist(&yaml, &[]);
    let item = failed_item(&run, "health");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "expectation");
    assert_eq!(
        reason,
        "expected body.status == \"UP\", but the body is not JSON"
    );
    let why = item["criteria"][0]["why"].as_str().unwrap_or_default();
    assert!(why.contains("the body is not JSON"), "{why}");
}

#[test]
fn a_server_error_fails_without_an_explicit_status_expectation() {
    let target = Target::serve(answer("500 Internal Server Error", "text/plain", b"oops"));
    let yaml = checklist(
        target.port(),
        r#"      - id: api
        title: API answers
        check: { kind: http, url: "http://127.0.0.1:PORT/api" }
"#,
    );
    let run = run_checklist(&yaml, &[]);
    let item = failed_item(&run, "api");
    let (class, reason) = first_failure(item);
    assert_eq!(class, "status_5xx");
    assert_eq!(reason, "expected status < 400, got 500");
}

#[test]
fn tcp_and_command_checks_fail_with_their_reasons() {
    let port = closed_port();
    let yaml = checklist(
        port,
        r#"      - id: port-open
        title: Port reachable
        check: { kind: tcp, address: "127.0.0.1:PORT", timeout: 2s }
      - id: exits-3
        title: Command succeeds
        check: { kind: command, run: ["sh", "-c", "exit 3"] }
      - id: sleeps
        title: Command finishes in time
        check: { kind: command, run: ["sleep", "30"], timeout: 300ms }
"#,
    );
    let (run, took) = timed_run(&yaml);
    let (class, reason) = first_failure(failed_item(&run, "port-open"));
    assert_eq!(class, "connect", "{reason}");
    assert!(
        reason.starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
        "{reason}"
    );
    let (class, reason) = first_failure(failed_item(&run, "exits-3"));
    assert_eq!(class, "expectation");
    assert_eq!(reason, "expected exit_code == 0, got 3");
    let (class, reason) = first_failure(failed_item(&run, "sleeps"));
    assert_eq!(class, "timeout", "{reason}");
    assert!(
        reason.contains("300ms") && reason.contains("killed"),
        "{reason}"
    );
    // The sample ended at its timeout, not when the sleeper would have finished.
    assert!(took < QUICK, "took {took:?}");
}

#[test]
fn a_websocket_check_against_a_plain_http_server_fails_its_handshake() {
    let target = Target::serve(answer("200 OK", "text/plain", b"not a websocket"));
    let yaml = checklist(
        target.port(),
        r#"      - id: ws
        title: Market data over WebSocket
        check: { kind: websocket, url: "ws://127.0.0.1:PORT/ws", send: ping, expect: [message == "pong"], timeout: 2s }
"#,
    );
    let run = run_checklist(&yaml, &[]);
    let (class, reason) = first_failure(failed_item(&run, "ws"));
    assert_eq!(class, "protocol", "{reason}");
    assert!(
        reason.starts_with("WebSocket handshake failed") && reason.contains("200"),
        "{reason}"
    );
}

#[test]
fn a_service_that_cannot_be_brought_up_is_an_environment_failure_with_its_log() {
    let yaml = r#"system: bad targets
services:
  app:
    process:
      command: ["sh", "-c", "echo boom >&2; exit 7"]
    ready: { kind: tcp }
    startup_timeout: 5s
phases:
  - id: probes
    title: Probes
    items:
      - id: app-port
        title: App port reachable
        check: { kind: tcp, address: "{services.app.host}:{services.app.port}" }
      - id: app-health
        title: App health
        check: { kind: http, url: "{services.app.url}/health" }
"#;
    let run = run_checklist(yaml, &[]);
    let results = run.results();
    assert_eq!(run.code, 3, "stderr:\n{}", run.stderr);
    assert_eq!(results["verdict"], "INCONCLUSIVE");
    assert_eq!(results["exit_code"], 3);
    let service = &results["services"][0];
    assert_eq!(service["name"], "app");
    assert_eq!(service["status"], "failed", "{service:#}");
    let tail: Vec<&str> = service["log_tail"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(tail.iter().any(|l| l.contains("boom")), "{service:#}");
    for id in ["app-port", "app-health"] {
        assert_eq!(run.outcome(id), "INCONCLUSIVE");
        let skipped = run.item(id)["skipped"].as_str().unwrap_or_default();
        assert!(skipped.starts_with("not run"), "{id}: {skipped}");
    }
}

/// A well-behaved health endpoint for the positive controls.
fn healthy() -> Target {
    Target::serve(answer("200 OK", "application/json", br#"{"status":"UP"}"#))
}

fn health_checklist(port: u16, samples: u32) -> String {
    checklist(
        port,
        &format!(
            r#"      - id: health
        title: Health endpoint responding
        check:
          kind: http
          url: "http://127.0.0.1:PORT/health"
          timeout: 10s
          expect: [status == 200, body.status == "UP"]
        samples: {samples}
        concurrency: 4
        criteria: [error_rate < 1%]
"#
        ),
    )
}

#[test]
fn a_healthy_target_passes_with_enough_samples() {
    let target = healthy();
    let run = run_checklist(&health_checklist(target.port(), 300), &[]);
    let results = run.results();
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(results["verdict"], "GO");
    assert_eq!(run.outcome("health"), "PASS", "{:#}", run.item("health"));
    let item = run.item("health");
    assert_eq!(item["evidence"]["samples"]["taken"], 300);
    assert_eq!(item["evidence"]["samples"]["failed"], 0);
    assert_eq!(item["criteria"][0]["outcome"], "PASS");
}

#[test]
fn a_healthy_target_is_inconclusive_with_too_few_samples() {
    // With no failures, 299 samples are the fewest whose 95% upper bound is below 1%.
    let target = healthy();
    let run = run_checklist(&health_checklist(target.port(), 298), &[]);
    let results = run.results();
    assert_eq!(run.code, 4, "stderr:\n{}", run.stderr);
    assert_eq!(results["verdict"], "INCONCLUSIVE");
    assert_eq!(run.outcome("health"), "INCONCLUSIVE");
    let criterion = &run.item("health")["criteria"][0];
    assert_eq!(criterion["outcome"], "INCONCLUSIVE");
    assert_eq!(criterion["n"], 298);
    assert_eq!(criterion["samples_needed"], 299, "{criterion:#}");
}
