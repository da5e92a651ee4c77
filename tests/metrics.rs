//! golive's Prometheus export against the real Prometheus tools: promtool lints the
//! exposition and checks and unit-tests the alert rules, a real Pushgateway receives
//! pushes, and the dashboards are checked against the one list of metric names.
//!
//! Needs Debian's `prometheus` (promtool) and `prometheus-pushgateway`; without them
//! these tests fail and say which package to install, they never pass silently.

use golive::metrics::{self, names, Metrics, RuleState, RunLabels};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const RUN_ID: &str = "20261121T223554Z-3f9a";
/// Requests per (scenario, request) in [`realistic`]: 500 successes and one failure per
/// known class plus an unknown one.
const SENT: f64 = (500 + names::ERROR_CLASSES.len() + 1) as f64;
/// Bound on any wait for a server in these tests.
const PATIENCE: Duration = Duration::from_secs(15);

fn dashboards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards")
}

/// The Debian tool `name`, or a failure naming the package that has it.
fn tool(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{name} is missing: install it with `apt-get install -y {package}` (CI does)")
    })
}

fn promtool(args: &[&str], stdin: Option<&Path>) -> (bool, String) {
    let mut cmd = Command::new(tool("promtool", "prometheus"));
    cmd.args(args).current_dir(dashboards());
    if let Some(file) = stdin {
        cmd.stdin(std::fs::File::open(file).expect("open promtool input"));
    }
    let out = cmd.output().expect("run promtool");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn run_labels(run_id: &str) -> RunLabels {
    RunLabels {
        run_id: run_id.into(),
        system: "Stock Portfolio Management System".into(),
        checklist: "portfolio-golive.yaml".into(),
    }
}

/// A run as the orchestrator and the load engine record it: two scenarios, requests
/// that succeed and fail in every class, gate checks, rules, outcomes and a verdict.
fn realistic(run_id: &str) -> Metrics {
    let m = Metrics::new(&run_labels(run_id));
    let ms = Duration::from_millis;
    for (scenario, request) in [
        ("steady", "GET /api/portfolio"),
        ("spike", "POST /api/orders"),
    ] {
        let r = m.request(scenario, request);
        for i in 0..500u64 {
            r.ok(ms(2 + i % 300), ms(1 + i % 250));
        }
        // Every known class, and one the load engine might invent: counted as "other".
        for class in names::ERROR_CLASSES.iter().chain(&["reset by peer"]) {
            r.error(class, ms(900));
        }
        m.set_in_flight(scenario, 7);
        m.add_dropped(scenario, 3);
        m.add_late(scenario, 11);
    }
    m.set_rates("steady", Some(200.0), 197.5);
    m.set_rates("spike", None, 80.0);
    for (item, kind) in [("health", "http"), ("db-port", "tcp"), ("cert", "tls")] {
        let c = m.check(item, kind);
        (0..300).for_each(|i| c.ok(ms(1 + i % 40)));
        c.error("timeout");
        c.error("setup");
        m.set_item_outcome(item, "PASS");
    }
    m.set_item_outcome("business-approval", "INCONCLUSIVE");
    m.set_rule_state("p95-latency", RuleState::Ok);
    m.set_rule_state("error-rate", RuleState::Pending);
    m.set_service_resources("app", Some(4.5), 26_000_000);
    m.set_service_restarts("app", 1);
    m.set_drill_recovery("app", "kill", 0.8);
    m.set_verdict("INCONCLUSIVE");
    m.set_exit_code(4);
    m
}

/// Series of an exposition: (name, labels) → value.
type Series = BTreeMap<(String, BTreeMap<String, String>), f64>;

fn parse(text: &str) -> Series {
    let mut series = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (head, value) = line.rsplit_once(' ').expect("a sample line has a value");
        let (name, labels) = match head.split_once('{') {
            None => (head.to_string(), BTreeMap::new()),
            Some((name, rest)) => (
                name.to_string(),
                parse_labels(rest.strip_suffix('}').expect("}")),
            ),
        };
        let value = value
            .replace("+Inf", "inf")
            .parse()
            .expect("a numeric value");
        series.insert((name, labels), value);
    }
    series
}

fn parse_labels(mut rest: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (_, '\\') => value.push(chars.next().expect("an escaped char").1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.trim_start_matches(',').to_string(), value);
        rest = &after[end + 1..];
    }
    labels
}

/// The value of the one series `name` whose labels include `labels` (every series also
/// carries the run's `run_id` and `system`).
fn get(series: &Series, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = series
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(
        matching.len() <= 1,
        "{name} {labels:?} matches {matching:?}"
    );
    matching.first().copied()
}

async fn fetch(url: &str) -> String {
    let answer = client().get(url).send().await.expect(url);
    answer.text().await.expect(url)
}

#[test]
fn promtool_finds_no_problem_in_the_exposition() {
    let text = realistic(RUN_ID).render();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &text).expect("write exposition");
    let (ok, out) = promtool(&["check", "metrics"], Some(file.path()));
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}\non:\n{text}"
    );
    // Every family of the one list is in a realistic run's exposition.
    for def in names::METRICS {
        let type_line = format!("# TYPE {} {}\n", def.name, def.kind.as_str());
        assert!(text.contains(&type_line), "no {type_line:?}");
    }
}

fn client() -> reqwest::Client {
    let tls = golive::net::TlsClient::default()
        .config(&[b"http/1.1"])
        .unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .tls_backend_preconfigured(tls)
        .build()
        .expect("http client")
}

#[tokio::test]
async fn the_endpoint_serves_the_exposition_until_cancelled() {
    let m = Arc::new(realistic(RUN_ID));
    let cancel = CancellationToken::new();
    let (addr, task) = metrics::serve(m.clone(), "127.0.0.1:0".parse().unwrap(), cancel.clone())
        .await
        .expect("bind 127.0.0.1:0");
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let http = client();
    let answer = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(answer.status(), 200);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let series = parse(&answer.text().await.unwrap());
    let steady = [("scenario", "steady"), ("request", "GET /api/portfolio")];
    assert_eq!(get(&series, "golive_requests_total", &steady), Some(SENT));
    assert_eq!(
        get(&series, "golive_verdict", &[("verdict", "INCONCLUSIVE")]),
        Some(1.0)
    );
    for def in names::METRICS {
        assert!(
            series.keys().any(|(n, _)| names::lookup(n) == Some(def)),
            "no {} served",
            def.name
        );
    }
    let index = fetch(&format!("http://{addr}/")).await;
    assert!(index.contains("/metrics"), "{index}");
    cancel.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the server stops")
        .unwrap();
    assert!(http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .is_err());
}

/// A port nothing listens on (just freed).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A Pushgateway on a free 127.0.0.1 port, killed when dropped, whatever the test did.
struct Pushgateway {
    child: Child,
    url: String,
    _storage: tempfile::TempDir,
}

impl Pushgateway {
    async fn start() -> Pushgateway {
        let binary = tool("prometheus-pushgateway", "prometheus-pushgateway");
        let port = free_port();
        let storage = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--persistence.file={}",
                storage.path().join("pushed").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-pushgateway");
        let gateway = Pushgateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _storage: storage,
        };
        let http = client();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = http.get(format!("{}/-/ready", gateway.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return gateway;
            }
            assert!(
                Instant::now() < deadline,
                "the Pushgateway at {} never got ready",
                gateway.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn series(&self) -> Series {
        parse(&fetch(&format!("{}/metrics", self.url)).await)
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The group of run `run_id` under `job` on the Pushgateway at `url`.
fn target(url: &str, job: &str, run_id: &str) -> metrics::PushTarget {
    metrics::PushTarget::new(url, job, run_id, None)
}

/// The labels of a series pushed to the group of `job` and `run_id`, plus `extra`.
fn group<'a>(
    job: &'a str,
    run_id: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut labels = vec![("job", job), ("run_id", run_id), ("instance", "")];
    labels.extend_from_slice(extra);
    labels
}

#[tokio::test]
async fn pushes_land_in_the_runs_group_and_the_last_one_replaces_the_rest() {
    let gateway = Pushgateway::start().await;
    let m = realistic(RUN_ID);
    m.set_rates("spike", Some(500.0), 80.0);
    metrics::push(&m, &target(&gateway.url, "golive-ci", RUN_ID))
        .await
        .expect("first push");
    let group = |extra: &[(&'static str, &'static str)]| group("golive-ci", RUN_ID, extra);
    let steady = [("scenario", "steady"), ("request", "GET /api/portfolio")];
    let spike = [("scenario", "spike")];
    let pushed = gateway.series().await;
    assert_eq!(
        get(&pushed, "golive_requests_total", &group(&steady)),
        Some(SENT),
        "{pushed:#?}"
    );
    assert_eq!(
        get(&pushed, "golive_target_rate_per_second", &group(&spike)),
        Some(500.0)
    );
    let info = group(&[
        ("system", "Stock Portfolio Management System"),
        ("checklist", "portfolio-golive.yaml"),
    ]);
    assert_eq!(get(&pushed, "golive_run_info", &info), Some(1.0));

    // The final flush: more requests, the target gone, the verdict decided.
    m.request("steady", "GET /api/portfolio")
        .ok(Duration::from_millis(3), Duration::from_millis(2));
    m.set_rates("spike", None, 0.0);
    m.set_verdict("NO_GO");
    let slash = format!("{}/", gateway.url);
    metrics::push(&m, &target(&slash, "golive-ci", RUN_ID))
        .await
        .expect("final push");
    let pushed = gateway.series().await;
    assert_eq!(
        get(&pushed, "golive_requests_total", &group(&steady)),
        Some(SENT + 1.0)
    );
    assert_eq!(
        get(&pushed, "golive_verdict", &group(&[("verdict", "NO_GO")])),
        Some(1.0)
    );
    assert_eq!(
        get(
            &pushed,
            "golive_verdict",
            &group(&[("verdict", "INCONCLUSIVE")])
        ),
        Some(0.0)
    );
    assert_eq!(
        get(&pushed, "golive_target_rate_per_second", &group(&spike)),
        None,
        "PUT replaces the group"
    );

    // Another run keeps its own group.
    metrics::push(
        &realistic("other-run"),
        &target(&gateway.url, "golive-ci", "other-run"),
    )
    .await
    .expect("other run");
    let pushed = gateway.series().await;
    assert_eq!(
        get(&pushed, "golive_requests_total", &group(&steady)),
        Some(SENT + 1.0)
    );
    let other = self::group("golive-ci", "other-run", &steady);
    assert_eq!(get(&pushed, "golive_requests_total", &other), Some(SENT));
}

#[tokio::test]
async fn periodic_pushes_run_until_cancelled_and_failures_name_the_url() {
    let gateway = Pushgateway::start().await;
    let m = Arc::new(realistic(RUN_ID));
    let cancel = CancellationToken::new();
    let pusher = tokio::spawn(metrics::push_periodically(
        m.clone(),
        target(&gateway.url, "periodic", RUN_ID),
        Duration::from_millis(100),
        cancel.clone(),
    ));
    let at = group("periodic", RUN_ID, &[("rule", "error-rate")]);
    let deadline = Instant::now() + PATIENCE;
    m.set_rule_state("error-rate", RuleState::Firing);
    while get(&gateway.series().await, "golive_rule_firing", &at) != Some(1.0) {
        assert!(Instant::now() < deadline, "no periodic push arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    tokio::time::timeout(PATIENCE, pusher)
        .await
        .expect("the pusher stops")
        .unwrap()
        .unwrap();

    // An empty job is refused by the Pushgateway: the error says where and what.
    let err = metrics::push(&m, &target(&gateway.url, "", RUN_ID))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, metrics::PushError::Status { status: 400, .. }),
        "{text}"
    );
    assert!(
        text.contains(&gateway.url) && text.contains("400"),
        "{text}"
    );
    // Nothing listens on a port just freed: a request error, naming the URL.
    let url = format!("http://127.0.0.1:{}", free_port());
    let err = metrics::push(&m, &target(&url, "golive", RUN_ID))
        .await
        .unwrap_err();
    assert!(
        matches!(err, metrics::PushError::Request { .. }) && err.to_string().contains(&url),
        "{err}"
    );
}

#[tokio::test]
async fn a_stable_group_holds_the_latest_run_and_is_deleted_on_request() {
    let gateway = Pushgateway::start().await;
    let gate = |run: &str| metrics::PushTarget::new(&gateway.url, "golive", run, Some("gate"));
    let info = |run: &'static str| {
        vec![
            ("job", "golive"),
            ("group", "gate"),
            ("instance", ""),
            ("run_id", run),
            ("system", "Stock Portfolio Management System"),
            ("checklist", "portfolio-golive.yaml"),
        ]
    };
    metrics::push(&realistic("run-1"), &gate("run-1"))
        .await
        .unwrap();
    metrics::push(&realistic("run-2"), &gate("run-2"))
        .await
        .unwrap();
    let pushed = gateway.series().await;
    assert_eq!(get(&pushed, "golive_run_info", &info("run-2")), Some(1.0));
    assert_eq!(
        get(&pushed, "golive_run_info", &info("run-1")),
        None,
        "the next run replaces the group: no stale verdict stays behind"
    );
    metrics::delete(&gate("run-2")).await.expect("delete");
    let pushed = gateway.series().await;
    assert!(
        !pushed.keys().any(|(name, _)| name.starts_with("golive_")),
        "the group is gone: {pushed:#?}"
    );
}

/// Fails unless every `golive_*` name in `text` (a histogram's `_bucket`, `_sum` and
/// `_count` included) is declared in names.rs; returns how many `text` uses.
fn assert_declared(file: &str, text: &str) -> usize {
    let mut count = 0;
    let mut rest = text;
    while let Some(at) = rest.find("golive_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let declared = names::lookup(&name).is_some();
        assert!(
            declared,
            "{file} uses {name}, which src/metrics/names.rs does not declare"
        );
        count += 1;
    }
    count
}

#[test]
fn alert_rules_are_valid_and_their_unit_tests_pass() {
    let (ok, out) = promtool(&["check", "rules", "golive-alerts.yml"], None);
    assert!(ok && out.contains("SUCCESS: 8 rules found"), "{out}");
    let (ok, out) = promtool(&["test", "rules", "golive-alerts.test.yml"], None);
    assert!(ok, "{out}");
    for file in ["golive-alerts.yml", "golive-alerts.test.yml"] {
        let text = std::fs::read_to_string(dashboards().join(file)).unwrap();
        assert!(assert_declared(file, &text) > 0);
    }
}

#[test]
fn the_grafana_dashboard_has_its_panels_and_uses_only_declared_metrics() {
    let text = std::fs::read_to_string(dashboards().join("golive-grafana.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(dash["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(dash["__inputs"][0]["name"], "DS_PROMETHEUS");
    let vars = dash["templating"]["list"].as_array().unwrap();
    assert!(vars
        .iter()
        .any(|v| v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource"));
    let panels = dash["panels"].as_array().unwrap();
    let exprs = |title: &str| -> Vec<String> {
        let panel = panels
            .iter()
            .find(|p| p["title"].as_str().unwrap().starts_with(title));
        let panel = panel.unwrap_or_else(|| panic!("no panel {title:?}"));
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        panel["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["expr"].as_str().unwrap().to_string())
            .collect()
    };
    let latency = exprs("Latency p50 / p95 / p99").join("\n");
    for q in ["0.5", "0.95", "0.99"] {
        let want = format!("histogram_quantile({q}, sum by (le, request) (rate(golive_request_duration_seconds_bucket");
        assert!(latency.contains(&want), "no {want} in {latency}");
    }
    assert!(exprs("Service time p99")[0].contains("golive_request_service_time_seconds_bucket"));
    assert!(exprs("Verdict")[0].contains("golive_verdict"));
    assert!(exprs("Rollback rule states")[0].contains("golive_rule_state"));
    assert!(exprs("Achieved vs target rate")
        .join(" ")
        .contains("golive_target_rate_per_second"));
    assert!(exprs("Errors per second by class")[0].contains("by (class)"));
    assert!(exprs("Requests in flight")[0].contains("golive_requests_in_flight"));
    assert!(exprs("Dropped and late")
        .join(" ")
        .contains("golive_requests_late_total"));
    assert!(exprs("Check p95 by item")[0].contains("sum by (le, item)"));
    assert_declared("golive-grafana.json", &text);

    assert_panels_parse(panels);
}

#[test]
fn the_monitor_dashboard_has_its_panels_and_uses_only_declared_metrics() {
    let text = std::fs::read_to_string(dashboards().join("golive-monitor-grafana.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dash["__inputs"][0]["name"], "DS_PROMETHEUS");
    let panels = dash["panels"].as_array().unwrap();
    let expr = |title: &str| -> String {
        let p = panels
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        p["targets"][0]["expr"].as_str().unwrap().to_string()
    };
    assert!(expr("Items up").contains("golive_monitor_item_up"));
    assert!(expr("Uptime over 24 h").contains("window=\"24h\""));
    assert!(expr("Probe p95 by item").contains("sum by (le, item)"));
    assert!(expr("Alert rule states").contains("golive_monitor_rule_state"));
    assert!(expr("Burn rates").contains("golive_monitor_slo_burn_rate"));
    assert!(expr("Error budget left").contains("golive_monitor_slo_error_budget_remaining_ratio"));
    assert!(assert_declared("golive-monitor-grafana.json", &text) >= 8);
    // Every monitor metric is on the dashboard or in an alert rule.
    let rules = std::fs::read_to_string(dashboards().join("golive-alerts.yml")).unwrap();
    for def in names::MONITOR_METRICS {
        assert!(
            text.contains(def.name) || rules.contains(def.name),
            "{} is neither on the monitor dashboard nor in an alert rule",
            def.name
        );
    }
    assert_panels_parse(panels);
}

/// Every panel query is valid PromQL: promtool parses them as recording rules, with the
/// dashboards' variables replaced by what "All" sends.
fn assert_panels_parse(panels: &[serde_json::Value]) {
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in panels
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .enumerate()
    {
        let expr = expr["expr"]
            .as_str()
            .unwrap()
            .replace("$scenario", ".*")
            .replace("$system", ".*");
        rules += &format!(
            "      - record: golive:panel_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        );
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", file.path().to_str().unwrap()], None);
    assert!(ok, "a dashboard query is not valid PromQL:\n{out}");
}
