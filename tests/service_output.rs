//! A service's output cannot break the run (issue 11, items 2 and 3): an invalid UTF-8
//! byte neither stops golive reading nor kills the service with EPIPE, and output
//! without newlines keeps golive's memory and results.json bounded.

mod common;

use common::golive;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// An HTTP server on 127.0.0.1:argv[1] that first runs `PRELUDE`, then writes one log
/// line to stdout per request. SIGPIPE has its default action, as in most servers
/// written in C: a write to a pipe nobody reads kills it.
fn server(prelude: &str) -> String {
    format!(
        r#"import http.server, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
{prelude}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, fmt, *args):
        sys.stdout.write("served " + (fmt % args) + "\n")
        sys.stdout.flush()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#
    )
}

fn checklist(script: &str, samples: u32) -> String {
    let script = serde_json::to_string(script).expect("JSON string");
    format!(
        r#"system: Output
services:
  app:
    process: {{ command: ["python3", "-c", {script}, "{{port}}"] }}
    ready: {{ kind: http, path: / }}
    startup_timeout: 60s
phases:
  - id: p
    title: P
    items:
      - id: serves
        title: Serves while it logs
        check: {{ kind: http, url: "{{services.app.url}}/" }}
        samples: {samples}
        interval: 50ms
"#
    )
}

#[test]
fn an_invalid_utf8_byte_in_the_log_leaves_the_service_up_and_the_run_go() {
    let prelude = r#"sys.stdout.buffer.write(b"starting \xff\xfe not UTF-8\n")
sys.stdout.flush()"#;
    let run = common::run_checklist(&checklist(&server(prelude), 30), &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outcome("serves"), "PASS");
    let tail = common::log_tail(&run.results()["services"][0]);
    assert!(
        tail.contains(&"starting \u{fffd}\u{fffd} not UTF-8"),
        "the bad line is kept lossily: {tail:?}"
    );
    assert!(
        tail.iter().filter(|l| l.starts_with("served ")).count() >= 30,
        "the lines after it are read too: {tail:?}"
    );
}

/// VmHWM (peak resident memory) of `pid`, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[test]
fn output_without_newlines_keeps_golive_memory_and_the_report_bounded() {
    const WRITTEN: u64 = 200 << 20;
    // 200 MiB on stdout without a newline, then the server (readiness waits for it, so
    // every byte has been read by then).
    let prelude = format!(
        r#"chunk = b"x" * (1 << 20)
for _ in range({}):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.flush()"#,
        WRITTEN >> 20
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("checklist.yaml");
    std::fs::write(&file, checklist(&server(&prelude), 10)).expect("write");
    let dir = tmp.path().join("run");
    let mut child = golive()
        .arg("run")
        .arg(&file)
        .args(["--provider", "process", "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(tmp.path().join("stderr")).expect("stderr file"),
        ))
        .spawn()
        .expect("start golive");
    // VmHWM only grows; the last reading before golive exits is its peak.
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(p) = peak_rss(child.id()) {
            peak = peak.max(p);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("golive did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(tmp.path().join("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let results_size = std::fs::metadata(dir.join("results.json"))
        .expect("results.json")
        .len();
    println!(
        "golive peak RSS {:.1} MiB, results.json {} KiB, after {} MiB without a newline",
        peak as f64 / (1 << 20) as f64,
        results_size >> 10,
        WRITTEN >> 20
    );
    assert!(peak > 0, "VmHWM was never read");
    assert!(
        peak < 80 << 20,
        "golive's peak RSS was {peak} bytes for {WRITTEN} bytes of output"
    );
    assert!(
        results_size < 1 << 20,
        "results.json is {results_size} bytes"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("read"))
            .expect("JSON");
    let tail = results["services"][0]["log_tail"]
        .as_array()
        .expect("log tail");
    assert!(
        tail.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.ends_with("[line cut at 4 KiB]"))),
        "{tail:?}"
    );
}
