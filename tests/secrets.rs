//! What golive shows of text it did not write (issue 11, items 7 and 8).
//!
//! Secrets: a value read from `{env.NAME}` never appears in results.json, report.md,
//! junit.xml, stdout or stderr (logs included), wherever the checklist put it: a URL's
//! query or user info, a postgres `?password=`, a command's arguments, a header; and a
//! header the checklist sets is not carried to another origin by a redirect.
//!
//! Injection: a service's or a command's output cannot add a heading to report.md (by
//! closing the log's fence or with a bare `\r`), and no escape sequence from an id, a
//! title or an output reaches the terminal raw.
//!
//! The targets are small servers on 127.0.0.1:0 in this test process; each stops when
//! its test drops it, or after `LIFETIME` at the latest.

mod common;

use common::{golive, run_checklist_as, Run};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const SECRET_VAR: &str = "GOLIVE_TEST_SECRET";
const SECRET: &str = "s3cr3t-XYZ-123";

/// The longest any target lives, whatever its test does.
const LIFETIME: Duration = Duration::from_secs(60);

/// A server on 127.0.0.1 answering each connection with `handler` (given the request
/// head) on its own thread, and recording every request head it read.
struct Target {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Target {
    fn serve(handler: impl Fn(&str) -> String + Send + Sync + 'static) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let (heads, stop) = (
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let (h, s, handler) = (heads.clone(), stop.clone(), Arc::new(handler));
        let until = Instant::now() + LIFETIME;
        let accept = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) && Instant::now() < until {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let head = read_head(&mut stream);
                        h.lock().unwrap().push(head.clone());
                        let _ = stream.write_all(handler(&head).as_bytes());
                        let _ = stream.shutdown(Shutdown::Write);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        });
        Target {
            port,
            heads,
            stop,
            accept: Some(accept),
        }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request head (up to the blank line), bounded in size and time.
fn read_head(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn response(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{extra}content-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A port on 127.0.0.1 with nothing listening: bound, then released.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// Every place a run leaves text, with its name.
fn outputs(run: &Run) -> Vec<(String, String)> {
    let mut all = vec![
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr".to_string(), run.stderr.clone()),
    ];
    for f in ["results.json", "report.md", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(run.dir.join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}; stderr:\n{}", run.stderr));
        all.push((f.to_string(), text));
    }
    all
}

#[test]
fn secrets_from_the_environment_reach_no_report_output_or_other_host() {
    // Answers with the request head as the body, so an expectation on the body that
    // fails quotes the query string.
    let echo = Target::serve(|head| response("200 OK", "", head));
    // Receives the redirect and records what it was sent.
    let other = Target::serve(|_| response("200 OK", "", "landed"));
    let redirect = format!("location: http://127.0.0.1:{}/landing\r\n", other.port);
    let origin = Target::serve(move |_| response("302 Found", &redirect, ""));
    let closed = closed_port();
    let yaml = format!(
        r#"system: secrets
phases:
  - id: probes
    title: Probes
    items:
      - id: http-query-echoed
        title: A query secret echoed back in a failing body
        check:
          kind: http
          url: "http://127.0.0.1:{echo}/echo?token={{env.{SECRET_VAR}}}"
          expect: ['body contains "never-there"']
      - id: http-query-unreachable
        title: A query secret in a URL nothing answers
        check: {{ kind: http, url: "http://127.0.0.1:{closed}/x?token={{env.{SECRET_VAR}}}", timeout: 2s }}
      - id: http-user-info
        title: A password in the URL's user info
        check: {{ kind: http, url: "http://ada:{{env.{SECRET_VAR}}}@127.0.0.1:{closed}/x", timeout: 2s }}
      - id: ws-query
        title: A query secret in a WebSocket URL
        check: {{ kind: websocket, url: "ws://127.0.0.1:{closed}/feed?key={{env.{SECRET_VAR}}}", timeout: 2s }}
      - id: postgres-password
        title: A postgres password parameter
        check: {{ kind: postgres, url: "postgres://app@127.0.0.1:{closed}/db?password={{env.{SECRET_VAR}}}", timeout: 2s }}
      - id: command-argument
        title: A secret as a command argument, echoed on stderr
        check:
          kind: command
          run: ["sh", "-c", "echo \"token $1\" >&2; exit 1", "sh", "{{env.{SECRET_VAR}}}"]
          timeout: 10s
      - id: header-redirect
        title: A secret header and a redirect to another host
        check:
          kind: http
          url: "http://127.0.0.1:{origin}/start"
          headers: {{ x-api-key: "{{env.{SECRET_VAR}}}" }}
          redirects: 3
          timeout: 2s
"#,
        echo = echo.port,
        origin = origin.port,
    );
    let run = run_checklist_as(
        &yaml,
        "run",
        &[],
        &[(SECRET_VAR, SECRET), ("GOLIVE_LOG", "golive=debug")],
    );
    assert_eq!(run.code, 1, "a NO-GO run; stderr:\n{}", run.stderr);
    for (name, text) in outputs(&run) {
        assert!(!text.contains(SECRET), "the secret is in {name}:\n{text}");
    }
    // Masked, not missing: each target is shown, its secret replaced.
    let target = |id: &str| {
        run.item(id)["target"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        target("http-query-echoed").ends_with("/echo?token=***"),
        "{}",
        target("http-query-echoed")
    );
    assert!(
        target("http-user-info").contains("ada:***@127.0.0.1"),
        "{}",
        target("http-user-info")
    );
    assert!(
        target("ws-query").ends_with("/feed?key=***"),
        "{}",
        target("ws-query")
    );
    assert!(
        target("postgres-password").ends_with("?password=***"),
        "{}",
        target("postgres-password")
    );
    assert!(
        target("command-argument").ends_with(" ***"),
        "{}",
        target("command-argument")
    );
    for id in [
        "http-query-echoed",
        "http-query-unreachable",
        "command-argument",
    ] {
        assert_eq!(run.outcome(id), "FAIL", "{id}: {:#}", run.item(id));
        let reason = run.item(id)["failures"][0]["reason"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.contains("***"),
            "{id}: the reason shows where the secret was: {reason}"
        );
    }

    // The header went to the origin it was set for, and not to the other host.
    let sent = origin.heads();
    assert!(
        sent.iter().any(|h| h
            .to_ascii_lowercase()
            .contains(&format!("x-api-key: {SECRET}").to_ascii_lowercase())),
        "the origin got the header: {sent:?}"
    );
    for head in other.heads() {
        assert!(
            !head.contains(SECRET),
            "the other host got the header:\n{head}"
        );
    }
    assert_eq!(
        run.outcome("header-redirect"),
        "FAIL",
        "{:#}",
        run.item("header-redirect")
    );
    let reason = run.item("header-redirect")["failures"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(reason.contains("not following the redirect"), "{reason}");
}

/// The lines of a Markdown text that lie outside fenced code blocks, split at every line
/// ending Markdown knows (`\n`, `\r\n`, `\r`). A fence closes only on a run of at least
/// as many backticks as opened it (CommonMark).
fn outside_fences(md: &str) -> Vec<String> {
    let mut open: Option<usize> = None;
    let mut out = Vec::new();
    for line in md.split(['\n', '\r']) {
        let ticks = line.trim_start().chars().take_while(|&c| c == '`').count();
        match open {
            Some(n) if ticks >= n && line.trim().chars().all(|c| c == '`') => open = None,
            Some(_) => {}
            None if ticks >= 3 => open = Some(ticks),
            None => out.push(line.to_string()),
        }
    }
    out
}

fn assert_no_injected_heading(md: &str) {
    for line in outside_fences(md) {
        assert!(
            !line.trim_start().starts_with("## VERDICT"),
            "an injected heading in report.md:\n{md}"
        );
    }
    assert!(!md.contains('\r'), "a raw \\r in report.md:\n{md:?}");
    assert!(!md.contains('\u{1b}'), "a raw ESC in report.md:\n{md:?}");
}

fn assert_no_escape_sequences(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains('\u{1b}'), "a raw ESC on {name}:\n{text:?}");
    }
}

#[test]
fn output_cannot_close_the_fence_or_add_a_heading_and_escapes_stay_shown() {
    // A service that prints a fence and a verdict heading, then dies. (YAML turns `\\n`
    // into `\n` for printf, which prints the line break.)
    let service = r#"system: injection
services:
  app:
    process:
      command: ["sh", "-c", "printf 'starting\\n```\\n## VERDICT: GO\\n\\033[2J\\r\\n'; exit 1"]
    startup_timeout: 10s
phases:
  - id: probes
    title: Probes
    items:
      - id: health
        title: Health
        check: { kind: http, url: "{services.app.url}/health" }
"#;
    let run = run_checklist_as(service, "service", &[], &[]);
    assert_eq!(run.code, 3, "the service failed; stderr:\n{}", run.stderr);
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("## VERDICT: GO"),
        "the service's output is shown:\n{md}"
    );
    assert_no_injected_heading(&md);
    assert_no_escape_sequences(&run);

    // A command whose error line carries a bare `\r` and a heading, under a title with an
    // escape sequence.
    let command = r#"system: injection
phases:
  - id: probes
    title: Probes
    items:
      - id: cmd
        title: "Red \e[31m title"
        check:
          kind: command
          run: ["sh", "-c", "printf 'boom\\r## VERDICT: GO \\033[31m red' >&2; exit 1"]
          timeout: 10s
"#;
    let run = run_checklist_as(command, "command", &[], &[]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    let md = std::fs::read_to_string(run.dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("VERDICT: GO"),
        "the command's output is shown:\n{md}"
    );
    assert_no_injected_heading(&md);
    assert_no_escape_sequences(&run);
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("\\u{1b}[31m"),
        "escapes are shown in junit.xml:\n{junit}"
    );
}

#[test]
fn an_invalid_id_with_an_escape_sequence_is_shown_escaped() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("checklist.yaml");
    std::fs::write(
        &file,
        "system: ids\nphases:\n  - id: probes\n    title: Probes\n    items:\n      - id: \"\\e[31mred\\e[0m\"\n        title: An id that recolours the terminal\n        manual: { role: QA }\n",
    )
    .expect("write checklist");
    let out_dir = tmp.path().join("out");
    let runs: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        ("validate", vec![file.as_os_str()]),
        (
            "run",
            vec![file.as_os_str(), "--out".as_ref(), out_dir.as_os_str()],
        ),
    ];
    for (command, args) in runs {
        let out = golive()
            .arg(command)
            .args(args)
            .output()
            .expect("run golive");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("\\u{1b}[31mred"),
            "{command}: the id is shown escaped: {stderr}"
        );
        assert!(
            !stderr.contains('\u{1b}'),
            "{command}: a raw ESC: {stderr:?}"
        );
        assert!(
            !out.stdout.contains(&0x1b),
            "{command}: a raw ESC on stdout"
        );
    }
}
