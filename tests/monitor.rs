//! `golive monitor` against the reference system, with a real Prometheus Alertmanager
//! (Debian's `prometheus-alertmanager`) and a webhook receiver written here: a fault
//! injected through the reference system's admin API fires an alert that Alertmanager
//! shows within `for` + one window + one interval, and resolves after the fault is gone
//! and `clear_for` has passed; a monitor killed with SIGKILL while its alert fires comes
//! back with the alert still firing, sends no second firing notification and continues
//! its counts; the status page renders in headless Chromium without errors and shows the
//! failing item failing with its evidence.

mod common;

use common::browser::{assert_clean, open, Browser};
use common::sandbox::Sandbox;
use common::servers::free_port;
use common::{tool, Killed};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a condition may take before a test gives up (not a claim: the claims are
/// checked against the measured times).
const PATIENCE: Duration = Duration::from_secs(60);

fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.0 exchange (so no server answers in chunks); the status code and the body.
fn http(method: &str, addr: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// Records every POST it receives: (path, JSON body).
struct Receiver {
    addr: String,
    got: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().unwrap().push((path, json));
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Receiver { addr, got }
    }

    fn on(&self, path: &str) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A real Alertmanager that sends every notification to `hook` at once.
struct Alertmanager {
    addr: String,
    _proc: Killed,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start(hook: &str) -> Alertmanager {
        let bin = tool(
            "/usr/bin/prometheus-alertmanager",
            "prometheus-alertmanager",
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/am\n        send_resolved: true\n"
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager");
        let am = Alertmanager {
            addr,
            _proc: Killed(child),
            _dir: dir,
        };
        poll("Alertmanager to be ready", || {
            http("GET", &am.addr, "/-/ready", "").filter(|(c, _)| *c == 200)
        });
        am
    }

    /// The alerts it holds (active, suppressed or unprocessed; resolved ones are gone).
    fn alerts(&self) -> Vec<Value> {
        http("GET", &self.addr, "/api/v2/alerts", "")
            .and_then(|(_, b)| serde_json::from_str::<Vec<Value>>(&b).ok())
            .unwrap_or_default()
    }

    fn alert(&self, name: &str) -> Option<Value> {
        self.alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == name && a["status"]["state"] == "active")
    }
}

/// A `golive monitor` this test started.
struct Monitor {
    child: Child,
    addr: String,
}

impl Monitor {
    fn start(checklist: &Path, state: &Path) -> Monitor {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = common::golive()
            .args(["monitor"])
            .arg(checklist)
            .arg("--state")
            .arg(state)
            .args(["--listen", &addr])
            .env("GOLIVE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start golive monitor");
        let m = Monitor { child, addr };
        poll("the monitor's status page", || {
            http("GET", &m.addr, "/healthz", "").filter(|(c, _)| *c == 200)
        });
        m
    }

    fn status(&self) -> Value {
        http("GET", &self.addr, "/api/status", "")
            .and_then(|(_, b)| serde_json::from_str(&b).ok())
            .unwrap_or(Value::Null)
    }

    fn rule_state(&self, name: &str) -> String {
        let s = self.status();
        s["status"]["rules"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .map(|r| r["state"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// SIGTERM, then the exit code.
    fn stop(mut self) -> Option<i32> {
        let _ = kill(self.pid(), Signal::SIGTERM);
        let code = self.child.wait().ok().and_then(|s| s.code());
        std::mem::forget(self);
        code
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const EVERY: Duration = Duration::from_secs(1);
const WINDOW: Duration = Duration::from_secs(3);
const FOR: Duration = Duration::from_secs(6);
const CLEAR_FOR: Duration = Duration::from_secs(6);

/// A checklist that watches `sandbox` every second with 10 samples a tick, with one
/// rule (error_rate > 5%, windows of 3 s, for 6 s, clear_for 6 s) and notifications to
/// `alertmanager` and to the webhook receiver.
fn checklist(dir: &Path, sandbox: &str, alertmanager: &str, hook: &str) -> PathBuf {
    let path = dir.join("watch.yaml");
    std::fs::write(
        &path,
        format!(
            r#"system: Portfolio under watch
phases:
  - id: live
    title: Live
    items:
      - id: portfolio
        title: Portfolio API answers
        check: {{ kind: http, url: "{sandbox}/api/portfolio", expect: [status == 200], timeout: 1s }}
        every: 1s
monitor:
  samples: 10
  jitter: 0%
  resend: 5s
  rules:
    - name: portfolio-errors
      item: portfolio
      when: error_rate > 5%
      window: 3s
      for: 6s
      clear_for: 6s
      min_samples: 10
      labels: {{ severity: page }}
      annotations: {{ runbook_url: "https://runbooks.example/portfolio" }}
  alertmanager: {{ url: "http://{alertmanager}" }}
  webhook: {{ url: "http://{hook}/golive" }}
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn alertmanager_shows_the_alert_firing_in_time_and_resolved_after_clear_for() {
    let sandbox = Sandbox::start(&[]);
    let hook = Receiver::start();
    let am = Alertmanager::start(&hook.addr);
    let dir = tempfile::tempdir().unwrap();
    let file = checklist(dir.path(), &sandbox.url, &am.addr, &hook.addr);
    let monitor = Monitor::start(&file, &dir.path().join("state.db"));

    // Healthy first: a few windows judged OK, nothing sent.
    poll("a healthy window", || {
        (monitor.rule_state("portfolio-errors") == "ok").then_some(())
    });
    std::thread::sleep(WINDOW);
    assert!(am.alerts().is_empty(), "{:?}", am.alerts());

    sandbox.set_faults(r#"{"errors":"30%"}"#);
    let injected = Instant::now();
    let alert = poll("Alertmanager to show the alert firing", || {
        am.alert("portfolio-errors")
    });
    let fired_after = injected.elapsed();
    let bound = FOR + WINDOW + EVERY;
    eprintln!("firing in Alertmanager {fired_after:?} after the fault (bound {bound:?})");
    assert!(
        fired_after <= bound,
        "the alert reached Alertmanager {fired_after:?} after the fault; for + window + interval is {bound:?}"
    );
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["labels"]["item"], "portfolio");
    assert_eq!(alert["labels"]["system"], "Portfolio under watch");
    let evidence = alert["annotations"]["evidence"]
        .as_str()
        .unwrap_or_default();
    assert!(
        evidence.contains("error_rate > 5%") && evidence.contains("(n="),
        "the alert carries its evidence line: {evidence}"
    );
    assert_eq!(
        alert["annotations"]["runbook_url"],
        "https://runbooks.example/portfolio"
    );
    // Alertmanager passed it on, and golive's own webhook got one firing notification.
    poll("Alertmanager's notification", || {
        hook.on("/am")
            .iter()
            .any(|n| n["status"] == "firing")
            .then_some(())
    });
    let firing: Vec<Value> = hook
        .on("/golive")
        .into_iter()
        .filter(|n| n["status"] == "firing")
        .collect();
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["alert"], "rule:portfolio-errors");

    // The status page shows the item failing with its evidence.
    let status = monitor.status();
    let item = &status["status"]["items"][0];
    assert!(
        item["last_errors"].as_u64().unwrap_or(0) > 0 || item["state"] == "down",
        "{item}"
    );
    assert_eq!(status["open_incidents"].as_array().map(Vec::len), Some(1));

    sandbox.set_faults("{}");
    let cleared = Instant::now();
    poll("Alertmanager's resolved notification", || {
        hook.on("/am")
            .iter()
            .any(|n| n["status"] == "resolved")
            .then_some(())
    });
    let resolved_after = cleared.elapsed();
    eprintln!("resolved in Alertmanager {resolved_after:?} after the fault was removed");
    // clear_for counts whole clear windows: the first may have begun just before the
    // fault went (and caught no failure), so the earliest is clear_for less one window;
    // the latest adds a window, a tick and Alertmanager's group interval (1 s).
    assert!(
        resolved_after >= CLEAR_FOR - WINDOW,
        "resolved after {resolved_after:?}, before clear_for ({CLEAR_FOR:?}) of clear windows could have passed"
    );
    let latest = CLEAR_FOR + WINDOW + EVERY + Duration::from_secs(1);
    assert!(
        resolved_after <= latest,
        "resolved {resolved_after:?} after the fault went; clear_for + window + interval + Alertmanager's group interval is {latest:?}"
    );
    assert!(am.alert("portfolio-errors").is_none(), "{:?}", am.alerts());
    let resolved: Vec<Value> = hook
        .on("/golive")
        .into_iter()
        .filter(|n| n["status"] == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(monitor.stop(), Some(0), "a requested stop exits 0");
}

#[test]
fn a_monitor_killed_while_its_alert_fires_resumes_without_a_second_notification() {
    let sandbox = Sandbox::start(&["errors=100%"]);
    let hook = Receiver::start();
    let am = Alertmanager::start(&hook.addr);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let file = checklist(dir.path(), &sandbox.url, &am.addr, &hook.addr);

    let first = Monitor::start(&file, &state);
    let before = poll("the alert to fire in Alertmanager", || {
        am.alert("portfolio-errors")
    });
    poll("golive's firing notification", || {
        (!hook.on("/golive").is_empty()).then_some(())
    });
    let samples_before = first.status()["status"]["items"][0]["uptime"][0]["total"]
        .as_u64()
        .unwrap_or(0);
    assert!(samples_before > 0);
    kill(first.pid(), Signal::SIGKILL).unwrap();
    drop(first);

    let second = Monitor::start(&file, &state);
    // At once, before it judged a window: the rule resumed firing, the incident is open.
    assert_eq!(second.rule_state("portfolio-errors"), "firing");
    // Let it judge a few windows and re-send to Alertmanager.
    std::thread::sleep(3 * WINDOW);
    assert_eq!(second.rule_state("portfolio-errors"), "firing");
    let status = second.status();
    let samples_after = status["status"]["items"][0]["uptime"][0]["total"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        samples_after > samples_before,
        "the counts continue from the stored ones: {samples_before} before the kill, {samples_after} after"
    );
    assert_eq!(status["open_incidents"].as_array().map(Vec::len), Some(1));
    let after = am
        .alert("portfolio-errors")
        .expect("still firing in Alertmanager");
    assert_eq!(
        after["startsAt"], before["startsAt"],
        "the same alert, not a new one"
    );
    let firing: Vec<Value> = hook
        .on("/golive")
        .into_iter()
        .filter(|n| n["status"] == "firing")
        .collect();
    assert_eq!(
        firing.len(),
        1,
        "one firing notification across the restart: {firing:?}"
    );
    let am_firing = hook
        .on("/am")
        .iter()
        .filter(|n| n["status"] == "firing")
        .count();
    assert_eq!(
        am_firing,
        1,
        "Alertmanager notified once: {:?}",
        hook.on("/am")
    );

    // The fault goes: one resolved notification, from the second monitor.
    sandbox.set_faults("{}");
    poll("the resolved notification", || {
        hook.on("/golive")
            .iter()
            .any(|n| n["status"] == "resolved")
            .then_some(())
    });
    assert_eq!(second.stop(), Some(0));
}

#[test]
fn the_status_page_renders_in_chromium_and_shows_the_failing_item_with_its_evidence() {
    let sandbox = Sandbox::start(&["errors=100%"]);
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    // Alertmanager is down (nothing listens there): the page still works, the
    // notification waits in the outbox.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let file = checklist(dir.path(), &sandbox.url, &nowhere, &hook.addr);
    let monitor = Monitor::start(&file, &dir.path().join("state.db"));
    poll("the alert to fire", || {
        (monitor.rule_state("portfolio-errors") == "firing").then_some(())
    });
    poll("a failed delivery to the missing Alertmanager", || {
        http("GET", &monitor.addr, "/metrics", "").filter(|(_, b)| {
            b.contains("golive_monitor_notification_failures_total{receiver=\"alertmanager\"")
        })
    });
    // The webhook took its notification; Alertmanager's waits.
    poll("one notification left waiting", || {
        (monitor.status()["notifications_pending"] == 1).then_some(())
    });
    assert_eq!(hook.on("/golive").len(), 1);
    let browser = Browser::start();
    let page = open(&browser, &format!("http://{}/", monitor.addr));
    assert_clean(&page, "the status page");
    let text = page.dom["text"].as_str().unwrap_or_default();
    assert_eq!(page.dom["h1"], "Portfolio under watch");
    assert!(
        text.contains("DOWN"),
        "the failing item shows failing:\n{text}"
    );
    assert!(
        text.contains("HTTP 500") || text.contains("500"),
        "with the failure's reason:\n{text}"
    );
    assert!(
        text.contains("samples"),
        "uptime with its sample count:\n{text}"
    );
    assert!(
        text.contains("FAIL failures == 0"),
        "the item's criterion judged by the gate's judge on the last ticks:\n{text}"
    );
    assert!(
        text.contains("error_rate > 5%") && text.contains("FIRING"),
        "the firing rule:\n{text}"
    );
    assert!(text.contains("open"), "the open incident:\n{text}");
    assert!(
        text.contains("Notifications waiting: 1"),
        "the undelivered notification is kept:\n{text}"
    );
    std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("monitor-status-page.png"),
        &page.screenshot,
    )
    .unwrap();
    assert_eq!(monitor.stop(), Some(0));
}

/// `golive monitor FILE` with extra arguments; the exit code and stderr.
fn monitor_once(dir: &Path, yaml: &str, args: &[&str]) -> (Option<i32>, String) {
    let file = dir.join("bad.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = common::golive()
        .arg("monitor")
        .arg(&file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run golive monitor");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const ONE_ITEM: &str = r#"system: S
phases:
  - id: p
    title: P
    items:
      - id: health
        title: Health
        check: { kind: http, url: "http://127.0.0.1:9/health", timeout: 2s }
"#;

#[test]
fn bad_monitor_input_is_refused_at_start_with_its_location_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, needles) in [
        (
            "monitor: { every: 1s }\n",
            vec!["monitor.every", "shorter than `health`'s timeout (2s)"],
        ),
        (
            "monitor:\n  rules: [{ name: r, item: helth, when: error_rate > 5%, for: 1m }]\n",
            vec!["monitor.rules[0].item", "did you mean `health`?"],
        ),
        (
            "monitor:\n  objectives: [{ name: o, item: health, objective: availability > 99% over 30m }]\n",
            vec!["monitor.objectives[0]", "shorter than its alert's long window (1h)"],
        ),
        (
            "monitor:\n  objectives: [{ name: o, item: health, objective: availability > 99% over 30d }]\n",
            vec!["longer than `monitor.retention` (7d)", "monitor.retention: 30d"],
        ),
        (
            "monitor:\n  rules: [{ name: r, item: health, when: error_rate > 5%, window: 10s, for: 1m }]\n",
            vec!["monitor.rules[0].window", "shorter than `health`'s interval (30s)"],
        ),
        (
            "monitor:\n  rules: [{ name: r, item: health, when: error_rate > 5%, for: 2m }]\n",
            vec![
                "monitor.rules[0].window",
                "may hold only 1 samples, fewer than `min_samples: 5`",
            ],
        ),
        (
            "monitor:\n  objectives: [{ name: o, item: health, objective: availability > 99% over 1d }]\n",
            vec!["the 5m short window of `health`", "fewer than `min_samples: 10`"],
        ),
        (
            "monitor:\n  maintenance: [{ from: tomorrow, to: 2026-12-01T03:00:00Z }]\n",
            vec!["monitor.maintenance[0].from", "RFC 3339"],
        ),
        (
            "monitor:\n  objectives: [{ name: o, item: health, objective: uptime is great }]\n",
            vec!["monitor.objectives[0].objective", "availability > 99.5% over 30d"],
        ),
    ] {
        let (code, err) = monitor_once(dir.path(), &format!("{ONE_ITEM}{extra}"), &[]);
        assert_eq!(code, Some(2), "{extra}\n{err}");
        assert!(err.contains("bad.yaml:"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{extra}: wants `{n}` in\n{err}");
        }
    }
    // Nothing to monitor: only a manual item.
    let manual = "system: S\nphases:\n  - id: p\n    title: P\n    items:\n      - { id: m, title: M, manual: { role: QA } }\n";
    let (code, err) = monitor_once(dir.path(), manual, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no check item to monitor"), "{err}");
}

#[test]
fn a_foreign_state_file_or_a_port_in_use_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("notes.db");
    std::fs::write(
        &foreign,
        "not a database at all, just some text that is long enough",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let (code, err) = monitor_once(
        dir.path(),
        ONE_ITEM,
        &["--state", foreign.to_str().unwrap(), "--listen", &listen],
    );
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("notes.db"), "{err}");
    // The file is left as it was.
    assert!(std::fs::read_to_string(&foreign)
        .unwrap()
        .starts_with("not a database"));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let state = dir.path().join("state.db");
    let (code, err) = monitor_once(
        dir.path(),
        ONE_ITEM,
        &["--state", state.to_str().unwrap(), "--listen", &addr],
    );
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains(&addr) && err.contains("--listen"), "{err}");
}

#[test]
fn sighup_reloads_a_valid_file_and_keeps_the_running_one_when_the_new_one_is_invalid() {
    let sandbox = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watch.yaml");
    let yaml = |items: &[&str]| {
        let mut s = String::from("system: Reloaded\nmonitor: { every: 1s, jitter: 0% }\nphases:\n  - id: p\n    title: P\n    items:\n");
        for id in items {
            s.push_str(&format!(
                "      - {{ id: {id}, title: {id}, check: {{ kind: http, url: \"{}/health\", timeout: 1s }} }}\n",
                sandbox.url
            ));
        }
        s
    };
    std::fs::write(&file, yaml(&["one"])).unwrap();
    let monitor = Monitor::start(&file, &dir.path().join("state.db"));
    let ids = |m: &Monitor| -> Vec<String> {
        m.status()["status"]["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| i["id"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    poll("the first configuration", || {
        (ids(&monitor) == ["one"]).then_some(())
    });

    std::fs::write(&file, yaml(&["one", "two"])).unwrap();
    kill(monitor.pid(), Signal::SIGHUP).unwrap();
    poll("the reloaded configuration", || {
        (ids(&monitor) == ["one", "two"]).then_some(())
    });

    std::fs::write(&file, "system: Reloaded\nphases: [oops\n").unwrap();
    kill(monitor.pid(), Signal::SIGHUP).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        ids(&monitor),
        ["one", "two"],
        "an invalid file changes nothing"
    );
    let ticking = monitor.status()["status"]["items"][1]["state"].clone();
    assert_eq!(ticking, "up", "and the items keep ticking");
    assert_eq!(monitor.stop(), Some(0));
}
