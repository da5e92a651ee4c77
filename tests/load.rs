//! Load runs with the real binary against the reference system started by the test:
//! a stalled target (SIGSTOP) shows in latency from the intended send time but not in
//! service time; a mid-run error flip fires a rollback rule and stops the run with exit
//! code 5; Prometheus output of a real run passes promtool.

mod common;

use common::golive;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A reference system this test started, stopped (and resumed) by PID on drop.
struct Sandbox {
    child: Child,
    url: String,
}

impl Sandbox {
    fn start(faults: &[&str]) -> Sandbox {
        let mut cmd = golive();
        cmd.args(["sandbox", "--listen", "127.0.0.1:0"]);
        for f in faults {
            cmd.args(["--fault", f]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sandbox");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("address line");
        let url = line.trim().rsplit(' ').next().expect("url").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Sandbox { child, url }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn set_faults(&self, json: &str) {
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("admin connect");
        let req = format!(
            "PUT /admin/faults HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
        std::io::Write::write_all(&mut s, req.as_bytes()).expect("admin write");
        let mut resp = String::new();
        std::io::Read::read_to_string(&mut s, &mut resp).expect("admin read");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_stall_shows_in_latency_from_the_intended_time_but_not_in_service_time() {
    let sb = Sandbox::start(&[]);
    let url = format!("{}/health", sb.url);
    let load = golive()
        .args([
            "load",
            "--url",
            &url,
            "--rate",
            "200/s",
            "--duration",
            "7s",
            "--connections",
            "4",
            "--timeout",
            "5s",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive load");
    std::thread::sleep(Duration::from_millis(2000));
    kill(sb.pid(), Signal::SIGSTOP).expect("SIGSTOP");
    let stopped = Instant::now();
    std::thread::sleep(Duration::from_millis(2000));
    kill(sb.pid(), Signal::SIGCONT).expect("SIGCONT");
    let stall = stopped.elapsed().as_secs_f64() * 1e3;
    let out = load.wait_with_output().expect("golive load");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_of(&out);
    let p99 = r["latency_ms"]["p99"].as_f64().expect("latency p99");
    let service_p99 = r["service_time_ms"]["p99"].as_f64().expect("service p99");
    // An honest open-model tool: ~400 arrivals fell into the 2 s stall and waited up
    // to its whole length, so the top 1% of 1,400 latencies sit near the stall length.
    assert!(
        p99 > 0.75 * stall && p99 < stall + 1000.0,
        "p99 {p99} ms for a {stall:.0} ms stall: {r}"
    );
    // Only the 4 requests on the 4 stuck connections saw the stall in service time.
    assert!(
        service_p99 < 0.25 * stall,
        "service-time p99 {service_p99} ms should not show the stall: {r}"
    );
    assert!(
        r["late"].as_u64().unwrap_or(0) > 100,
        "arrivals during the stall were sent late: {r}"
    );
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["requests"].as_u64().unwrap_or(0) >= 1300, "{r}");
}

#[test]
fn a_mid_run_error_flip_fires_the_rollback_rule_and_stops_with_exit_5() {
    let sb = Sandbox::start(&[]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = tmp.path().join("flip.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"name: flip
target: "{}"
requests:
  - {{ name: quotes, path: /api/quotes/AAPL, weight: 3 }}
  - {{ name: health, path: /health }}
executor: {{ kind: constant-rate, rate: 100/s, duration: 30s }}
thresholds: [error_rate < 1%]
rollback:
  - {{ when: error_rate > 5%, for: 2s, window: 500ms, min_samples: 20 }}
  - {{ name: slow, when: p95 > 500ms, for: 5s, window: 1s, observe_only: true }}
"#,
            sb.url
        ),
    )
    .expect("write scenario");
    let out_dir = tmp.path().join("run");
    let run = golive()
        .args(["load"])
        .arg(&scenario)
        .arg("--out")
        .arg(&out_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive load");
    std::thread::sleep(Duration::from_secs(4));
    sb.set_faults(r#"{"errors":"30%"}"#);
    let flipped = Instant::now();
    let out = run.wait_with_output().expect("golive load");
    let waited = flipped.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("VERDICT: ROLLBACK"), "{stdout}");
    // It fires within its `for` (2 s) plus one window (0.5 s), plus the in-flight drain.
    assert!(
        waited < Duration::from_secs(8),
        "took {waited:?} after the flip"
    );
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_eq!(results["verdict"], "ROLLBACK");
    assert_eq!(results["exit_code"], 5);
    let item = &results["phases"][0]["items"][0];
    let load = &item["load"];
    assert_eq!(load["stopped_early"], true);
    assert!(load["duration_s"].as_f64().unwrap_or(99.0) < 15.0, "{load}");
    let rollback = &load["rollback"];
    assert_eq!(rollback["rule"], "error_rate > 5%");
    let fired = rollback["at_s"].as_f64().expect("fired at");
    assert!(
        (4.0..=4.0 + 2.0 + 0.5 + 1.5).contains(&fired),
        "fired at {fired} s: {rollback}"
    );
    let rule = &load["rules"][0];
    assert_eq!(rule["final_state"], "firing");
    let timeline = rule["timeline"].as_array().expect("timeline");
    assert!(timeline.len() >= 8, "{rule}");
    assert!(
        timeline.iter().any(|w| w["reading"] == "clear")
            && timeline.iter().any(|w| w["reading"] == "breach"),
        "{rule}"
    );
    assert_eq!(load["rules"][1]["observe_only"], true);
    assert!(
        item["why"]
            .as_str()
            .unwrap_or("")
            .contains("rollback rule `error_rate > 5%` fired"),
        "{item}"
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("ROLLBACK") && md.contains("error_rate > 5%"),
        "{md}"
    );
}

#[test]
fn a_closed_model_run_reports_no_target_rate() {
    let sb = Sandbox::start(&[]);
    let out = golive()
        .args([
            "load",
            "--url",
            &format!("{}/api/portfolio", sb.url),
            "--users",
            "3",
            "--duration",
            "2s",
            "--json",
        ])
        .output()
        .expect("golive load");
    assert_eq!(out.status.code(), Some(0));
    let r = json_of(&out);
    assert_eq!(r["model"], "closed");
    assert!(r["target_rps"].is_null(), "{r}");
    assert!(r["requests"].as_u64().unwrap_or(0) > 50, "{r}");
    for key in ["p50", "p90", "p95", "p99", "p999", "max"] {
        assert!(
            r["latency_ms"][key].as_f64().is_some() && r["service_time_ms"][key].as_f64().is_some(),
            "{key}: {r}"
        );
    }
    for key in ["requests", "errors", "duration_s", "rps"] {
        assert!(r[key].is_number(), "{key}: {r}");
    }
}

#[test]
fn errors_are_classified_and_a_dead_target_ends_on_time() {
    let sb = Sandbox::start(&["errors=100%"]);
    let out = golive()
        .args([
            "load",
            "--url",
            &format!("{}/health", sb.url),
            "--rate",
            "50/s",
            "--duration",
            "1s",
            "--json",
        ])
        .output()
        .expect("golive load");
    let r = json_of(&out);
    assert_eq!(r["errors"], r["requests"], "{r}");
    assert_eq!(r["errors_by_class"]["status_5xx"], r["errors"], "{r}");
    drop(sb);
    // Nothing listens any more: connection errors, and the run still ends on time.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let out = golive()
        .args([
            "load",
            "--url",
            &format!("http://127.0.0.1:{port}/"),
            "--rate",
            "50/s",
            "--duration",
            "1s",
            "--json",
        ])
        .output()
        .expect("golive load");
    assert!(started.elapsed() < Duration::from_secs(10));
    let r = json_of(&out);
    assert!(
        r["errors_by_class"]["connect"].as_u64().unwrap_or(0) > 0,
        "{r}"
    );
}

#[test]
fn bad_ad_hoc_flags_are_invalid_input() {
    for args in [
        vec!["load", "--url", "http://127.0.0.1:1/", "--rate", "0/s"],
        vec!["load", "--url", "http://127.0.0.1:1/", "--rate", "-5/s"],
        vec![
            "load",
            "--url",
            "http://127.0.0.1:1/",
            "--rate",
            "10/s",
            "--users",
            "3",
        ],
        vec!["load", "--url", "ftp://127.0.0.1:1/", "--rate", "10/s"],
        vec![
            "load",
            "--url",
            "http://127.0.0.1:1/",
            "--rate",
            "10/s",
            "--duration",
            "0s",
        ],
    ] {
        let out = golive().args(&args).output().expect("golive load");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
