//! Load runs with the real binary against the reference system started by the test:
//! a stalled target (SIGSTOP) shows in latency from the intended send time but not in
//! service time; a mid-run error flip fires a rollback rule and stops the run with exit
//! code 5; Prometheus output of a real run passes promtool; and the engine's own HTTP/1.1
//! client reads every framing of an independent Python server.

mod common;

use common::golive;
use common::sandbox::Sandbox;
use nix::sys::signal::{kill, Signal};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The JSON of a run that must have exited 0 (its stderr shown when it did not).
fn json_of_success(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(out)
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
    let r = json_of_success(&out);
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
    let load = &item["evidence"]["load"];
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

/// Many users under a low open-file limit: a soft limit is raised to the hard one and the
/// run has no errors; a hard limit below what the users need refuses to start (exit 3,
/// naming the limit and the fix) instead of failing connections as if the target did.
#[test]
fn a_load_raises_a_low_open_file_limit_or_says_it_cannot() {
    let sb = Sandbox::start(&[]);
    let bin = env!("CARGO_BIN_EXE_golive");
    let run = |limit: &str| {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit {limit} && exec \"$0\" load --url \"$1\" --users 600 --duration 1s --json"
            ))
            .arg(bin)
            .arg(format!("{}/health", sb.url))
            .output()
            .expect("bash")
    };
    let out = run("-Sn 256");
    let r = json_of_success(&out);
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["requests"].as_u64().unwrap_or(0) >= 600, "{r}");
    let out = run("-n 256");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("600 connections")
            && stderr.contains("at most 256")
            && stderr.contains("ulimit -Hn"),
        "{stderr}"
    );
}

fn write_scenario(dir: &std::path::Path, url: &str, secs: u32) -> std::path::PathBuf {
    let path = dir.join("short.yaml");
    std::fs::write(
        &path,
        format!(
            r#"name: short
target: "{url}"
requests:
  - {{ name: quotes, path: /api/quotes/MSFT, weight: 2 }}
  - {{ name: health, path: /health }}
executor: {{ kind: constant-rate, rate: 150/s, duration: {secs}s, connections: 8 }}
thresholds: [p99 < 2s, quotes.p95 < 2s, error_rate < 5%, rps >= 100/s]
"#
        ),
    )
    .expect("write scenario");
    path
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    std::io::Write::write_all(&mut s, req.as_bytes()).expect("write");
    let mut resp = String::new();
    std::io::Read::read_to_string(&mut s, &mut resp).expect("read");
    resp.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[test]
fn merged_runs_have_exactly_the_percentiles_of_all_their_samples() {
    use golive::load::result::Percentiles;
    use golive::tally::decode_histogram;
    let sb = Sandbox::start(&[]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = write_scenario(tmp.path(), &sb.url, 2);
    let mut files = Vec::new();
    for shard in ["a", "b"] {
        let out = tmp.path().join(shard);
        let status = golive()
            .arg("load")
            .arg(&scenario)
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("golive load");
        assert_eq!(status.code(), Some(0));
        files.push(out.join("results.json"));
    }
    let merged_path = tmp.path().join("merged.json");
    let out = golive()
        .arg("merge")
        .args(&files)
        .arg("-o")
        .arg(&merged_path)
        .output()
        .expect("golive merge");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("JSON")
    };
    let (a, b, m) = (read(&files[0]), read(&files[1]), read(&merged_path));
    let load = |r: &serde_json::Value| r["phases"][0]["items"][0]["evidence"]["load"].clone();
    let (la, lb, lm) = (load(&a), load(&b), load(&m));
    let n = |l: &serde_json::Value| l["requests"].as_u64().expect("requests");
    assert_eq!(n(&lm), n(&la) + n(&lb));
    // One histogram fed every sample of both runs:
    let mut all = decode_histogram(la["overall"]["latency_histogram"].as_str().expect("hist"))
        .expect("decode");
    all.add(
        decode_histogram(lb["overall"]["latency_histogram"].as_str().expect("hist"))
            .expect("decode"),
    )
    .expect("add");
    let expected = serde_json::to_value(Percentiles::of(&all)).expect("json");
    assert_eq!(lm["overall"]["latency_ms"], expected);
    // Thresholds were judged again on the merged samples.
    let criteria = m["phases"][0]["items"][0]["criteria"]
        .as_array()
        .expect("criteria")
        .clone();
    assert_eq!(criteria[0]["n"].as_u64(), Some(all.len()), "{criteria:?}");
    assert_eq!(criteria[1]["criterion"], "quotes.p95 < 2s");
    assert_eq!(m["verdict"], "GO");
    assert!(m["verdict_reason"]
        .as_str()
        .unwrap_or("")
        .contains("merged from 2 runs"));
    // A merge of different checklists is refused.
    let other = tmp.path().join("other.json");
    let mut changed = b.clone();
    changed["checklist"]["sha256"] = serde_json::json!("0000");
    std::fs::write(&other, changed.to_string()).expect("write");
    let out = golive()
        .arg("merge")
        .arg(&files[0])
        .arg(&other)
        .arg("-o")
        .arg(tmp.path().join("x.json"))
        .output()
        .expect("golive merge");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn live_metrics_of_a_real_run_pass_promtool_and_reach_a_real_pushgateway() {
    let promtool = "/usr/bin/promtool";
    let gateway_bin = "/usr/bin/prometheus-pushgateway";
    for bin in [promtool, gateway_bin] {
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: apt-get install prometheus prometheus-pushgateway (.ci/run installs them)"
        );
    }
    let sb = Sandbox::start(&[]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = write_scenario(tmp.path(), &sb.url, 3);
    let gw_port = free_port();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _gateway = Kill(
        std::process::Command::new(gateway_bin)
            .arg(format!("--web.listen-address=127.0.0.1:{gw_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pushgateway"),
    );
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let run = golive()
        .arg("load")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .args([
            "--metrics-addr",
            &metrics_addr,
            "--pushgateway",
            &format!("http://127.0.0.1:{gw_port}"),
            // Nobody scrapes the final values here: stop serving at once.
            "--metrics-linger",
            "0s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start golive");
    // Scrape while the load runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut scraped = String::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        if std::net::TcpStream::connect(&metrics_addr).is_ok() {
            scraped = http_get(&metrics_addr, "/metrics");
            if scraped.contains("golive_requests_total{") {
                break;
            }
        }
    }
    assert!(
        scraped.contains("golive_request_duration_seconds_bucket{"),
        "{scraped}"
    );
    let file = tmp.path().join("scrape.prom");
    std::fs::write(&file, &scraped).expect("write scrape");
    let check = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool");
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let out = run.wait_with_output().expect("golive");
    assert_eq!(out.status.code(), Some(0));
    // The final push carries the verdict.
    let pushed = http_get(&format!("127.0.0.1:{gw_port}"), "/metrics");
    let verdict = pushed
        .lines()
        .find(|l| l.starts_with("golive_verdict{") && l.contains("verdict=\"GO\""))
        .unwrap_or_else(|| panic!("no GO verdict in the pushgateway:\n{pushed}"));
    // The run id label is the run's own id (never the folder's name), as in results.json.
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("run/results.json")).expect("results.json"),
    )
    .expect("JSON");
    let run_id = results["run"]["id"].as_str().expect("run.id");
    assert!(
        verdict.contains("job=\"golive\"")
            && verdict.contains(&format!("run_id=\"{run_id}\""))
            && verdict.ends_with(" 1"),
        "{verdict}"
    );
    assert!(
        pushed
            .lines()
            .any(|l| l.starts_with("golive_requests_total{") && l.contains("request=\"quotes\"")),
        "{pushed}"
    );
}

#[test]
fn memory_stays_flat_as_a_run_goes_on() {
    let sb = Sandbox::start(&[]);
    let mut run = golive()
        .args([
            "load",
            "--url",
            &format!("{}/health", sb.url),
            "--users",
            "16",
            "--duration",
            "14s",
            "--json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start golive load");
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_secs(4));
    let early = rss(run.id());
    std::thread::sleep(Duration::from_secs(8));
    let late = rss(run.id());
    assert!(run.wait().expect("wait").success());
    assert!(early > 0 && late > 0);
    // Histograms are fixed-size and windows are summarised: 8 more seconds of load at
    // thousands of requests per second must not grow the process by more than a few MB.
    assert!(
        late < early + 4 * 1024,
        "RSS grew from {early} kB to {late} kB"
    );
}

#[test]
fn websocket_round_trips_mix_with_http_requests() {
    let sb = Sandbox::start(&[]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let scenario = tmp.path().join("ws.yaml");
    std::fs::write(
        &scenario,
        format!(
            r#"target: "{}"
requests:
  - {{ name: ping, protocol: websocket, path: /ws/market, send: '{{"type":"ping","id":9}}', expect: [message.type == "pong", message.id == 9] }}
  - {{ name: health, path: /health, expect: [body.status == "UP"] }}
executor: {{ kind: constant-users, users: 4, duration: 2s }}
thresholds: [ping.p99 < 1s, error_rate < 1%]
"#,
            sb.url
        ),
    )
    .expect("write");
    let out_dir = tmp.path().join("run");
    let out = golive()
        .arg("load")
        .arg(&scenario)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("golive load");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("results.json")).expect("results"),
    )
    .expect("JSON");
    let load = &r["phases"][0]["items"][0]["evidence"]["load"];
    let ping = &load["by_request"][0];
    assert_eq!(ping["name"], "ping");
    assert!(ping["requests"].as_u64().unwrap_or(0) > 100, "{ping}");
    assert_eq!(ping["errors"], 0, "{ping}");
    assert!(ping["latency_ms"]["p99"].as_f64().is_some(), "{ping}");
    assert!(load["by_request"][1]["requests"].as_u64().unwrap_or(0) > 100);
}

/// The load engine's own HTTP/1.1 client against a server golive did not write
/// (`tests/fixtures/http1_server.py`, Python's standard library, bytes written by hand):
/// bodies framed by Content-Length, by chunks with extensions and a trailer, and by the
/// connection's close (HTTP/1.0); `Connection: close`; an interim 100 Continue; 204; HEAD;
/// JSON and header expectations on each. None may fail, and a body over the 1 MiB cap is
/// a protocol failure, not a hang or a crash. The server's own counters show the closing
/// answers cost a connection each and the others shared theirs.
#[test]
fn every_http1_framing_an_independent_server_uses_is_read_under_load() {
    let (_server, port) = python_server(&[]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = load_evidence(
        tmp.path(),
        &format!(
            r#"target: "http://127.0.0.1:{port}"
requests:
  - {{ name: length, path: /length, expect: [body.status == "UP", header.x-framing == "length"] }}
  - {{ name: chunked, path: /chunked, expect: ['body.items[2] == 3', size == 36] }}
  - {{ name: close, path: /close, expect: [body.status == "UP"] }}
  - {{ name: http10, path: /http10, expect: ['body.items[0] == 1'] }}
  - {{ name: continue, method: POST, path: /continue, body: '{{"a":1}}', expect: [body.status == "UP"] }}
  - {{ name: empty, path: /empty, expect: [status == 204, size == 0] }}
  - {{ name: head, method: HEAD, path: /length, expect: [status == 200, size == 0] }}
executor: {{ kind: constant-users, users: 4, duration: 2s }}
"#
        ),
    );
    assert_eq!(r["errors"], 0, "{r}");
    let by_name = |name: &str| -> u64 {
        r["by_request"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == name))
            .and_then(|s| s["requests"].as_u64())
            .unwrap_or_else(|| panic!("no requests for {name}: {r}"))
    };
    for name in [
        "length", "chunked", "close", "http10", "continue", "empty", "head",
    ] {
        assert!(by_name(name) >= 20, "{name}: {r}");
    }
    let stats: serde_json::Value =
        serde_json::from_str(&http_get(&format!("127.0.0.1:{port}"), "/stats"))
            .expect("stats JSON");
    eprintln!("server counters: {stats}");
    let served = |p: &str| stats["requests"][p].as_u64().unwrap_or(0);
    // Each closing answer ends its connection; every other request reuses one, so the
    // server saw one connection per closing answer plus about one per user.
    let closing = served("/close") + served("/http10");
    let connections = stats["connections"].as_u64().unwrap_or(0);
    assert!(
        connections >= closing && connections <= closing + 4 + 4 + 1,
        "{connections} connections for {closing} closing answers: {stats}"
    );

    // Past the cap: failures classed `protocol`, the run still ends on time.
    let started = Instant::now();
    let r = load_evidence(
        tmp.path(),
        &format!(
            "target: \"http://127.0.0.1:{port}\"\nrequests: [{{ name: big, path: /big }}]\n\
             executor: {{ kind: constant-users, users: 2, duration: 1s }}\n"
        ),
    )["overall"]
        .clone();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(r["errors"].as_u64().unwrap_or(0) > 0, "{r}");
    assert_eq!(r["errors_by_class"]["protocol"], r["errors"], "{r}");
    let reason = r["error_reasons"].to_string();
    assert!(reason.contains("larger than 1048576 bytes"), "{reason}");
}

/// `tests/fixtures/http1_server.py` with `args`, killed when dropped, and its port.
fn python_server(args: &[&std::ffi::OsStr]) -> (common::Killed, u16) {
    let mut child = std::process::Command::new("python3")
        .arg(common::root().join("tests/fixtures/http1_server.py"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python server");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("the server prints its port");
    let port = line.trim().parse().expect("a port");
    (common::Killed(child), port)
}

/// A load over HTTPS against the same independent server behind Python's ssl (OpenSSL),
/// its certificate signed by a private CA: with the scenario's `tls: { ca }` every request
/// passes, chunked bodies included; without it, every one fails as `tls` and none as the
/// target's answer.
#[test]
fn an_https_load_trusts_the_scenario_s_private_ca_and_only_it() {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.distinguished_name
        .push(DnType::CommonName, "golive load test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    std::fs::write(
        tmp.path().join("ca.pem"),
        ca.self_signed(&ca_key).expect("CA").pem(),
    )
    .expect("write CA");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("leaf params")
        .signed_by(&key, &issuer)
        .expect("leaf");
    let (cert_file, key_file) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert_file, leaf.pem()).expect("write cert");
    std::fs::write(&key_file, key.serialize_pem()).expect("write key");
    let (_server, port) = python_server(&[
        "--tls".as_ref(),
        cert_file.as_os_str(),
        key_file.as_os_str(),
    ]);
    let run = |tls: &str| {
        load_evidence(
            tmp.path(),
            &format!(
                r#"target: "https://127.0.0.1:{port}"
{tls}requests:
  - {{ name: length, path: /length, expect: [body.status == "UP"] }}
  - {{ name: chunked, path: /chunked, expect: ['body.items[2] == 3'] }}
executor: {{ kind: constant-users, users: 2, duration: 1s }}
"#
            ),
        )["overall"]
            .clone()
    };
    let trusted = run("tls: { ca: ca.pem }\n");
    assert_eq!(trusted["errors"], 0, "{trusted}");
    assert!(trusted["requests"].as_u64().unwrap_or(0) >= 50, "{trusted}");
    let untrusted = run("");
    assert!(untrusted["errors"].as_u64().unwrap_or(0) > 0, "{untrusted}");
    assert_eq!(
        untrusted["errors_by_class"]["tls"], untrusted["errors"],
        "{untrusted}"
    );
}

/// Writes `scenario` into `dir`, runs `golive load --json` on it and returns the load
/// evidence of its one item.
fn load_evidence(dir: &std::path::Path, scenario: &str) -> serde_json::Value {
    let file = dir.join("scenario.yaml");
    std::fs::write(&file, scenario).expect("write the scenario");
    let out = golive()
        .args(["load", "--json"])
        .arg(&file)
        .output()
        .expect("golive load");
    json_of(&out)["phases"][0]["items"][0]["evidence"]["load"].clone()
}
