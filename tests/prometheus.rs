//! A real Prometheus (Debian's `prometheus`) scraping a `golive run`'s `/metrics` every
//! second, and the run's Pushgateway group: the final verdict is scraped from `/metrics`
//! (golive keeps serving until it is, `--metrics-linger`), and the group is gone once the
//! run has ended (`--push-delete-after`). Both sources carry the run's id, so a dashboard
//! can tell the two copies of one run apart.

mod common;

use common::servers::free_port;
use common::{golive, tool, Killed};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

/// GET `url` (with `query` parameters), the body when it answers 2xx.
fn get_with(url: &str, query: &[(&str, &str)]) -> Option<String> {
    let tls = golive::net::TlsClient::default()
        .config(&[b"http/1.1"])
        .ok()?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .tls_backend_preconfigured(tls)
        .build()
        .ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let url = url::Url::parse_with_params(url, query).ok()?;
        let answer = client.get(url).send().await.ok()?;
        if !answer.status().is_success() {
            return None;
        }
        answer.text().await.ok()
    })
}

fn get(url: &str) -> Option<String> {
    get_with(url, &[])
}

fn wait_ready(url: &str) {
    let deadline = Instant::now() + PATIENCE;
    while get(url).is_none() {
        assert!(Instant::now() < deadline, "{url} never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of the instant `query` on the Prometheus at `base`, per `by` label value.
fn query(base: &str, q: &str, by: &str) -> Vec<(String, f64)> {
    let body = get_with(&format!("{base}/api/v1/query"), &[("query", q)]).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["result"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["metric"][by].as_str().unwrap_or("").to_string(),
                        r["value"][1]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(f64::NAN),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `golive run` of `checklist` in a run folder of its own.
fn gate(checklist: &std::path::Path) -> common::Run {
    let run_tmp = tempfile::tempdir().unwrap();
    let dir = run_tmp.path().join("run");
    let out = golive()
        .arg("run")
        .arg(checklist)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    common::finish(out, dir, run_tmp)
}

/// Prometheus with `config`, its TSDB under `dir`, on `port`: killed when dropped; ready
/// when this returns, with its base URL.
fn start_prometheus(
    bin: &str,
    config: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
) -> (Killed, String) {
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Prometheus");
    let killed = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/-/ready"));
    (killed, base)
}

#[test]
fn prometheus_scrapes_the_final_verdict_and_the_pushed_group_is_deleted() {
    let prometheus = tool("/usr/bin/prometheus", "prometheus");
    let pushgateway = tool("/usr/bin/prometheus-pushgateway", "prometheus-pushgateway");
    let tmp = tempfile::tempdir().unwrap();
    let (metrics_port, gateway_port, prom_port) = (free_port(), free_port(), free_port());

    let _gateway = Killed(
        Command::new(pushgateway)
            .arg(format!("--web.listen-address=127.0.0.1:{gateway_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Pushgateway"),
    );
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    wait_ready(&format!("{gateway}/-/ready"));

    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             scrape_configs:\n\
             - job_name: golive-direct\n  static_configs: [{{ targets: ['127.0.0.1:{metrics_port}'] }}]\n\
             - job_name: pushgateway\n  honor_labels: true\n  static_configs: [{{ targets: ['127.0.0.1:{gateway_port}'] }}]\n"
        ),
    )
    .unwrap();
    let (_prometheus, prom) = start_prometheus(prometheus, &config, tmp.path(), prom_port);

    let checklist = tmp.path().join("checklist.yaml");
    std::fs::write(
        &checklist,
        r#"system: Scraped
services:
  app:
    process:
      command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"]
    ready: { kind: http, path: /health }
phases:
  - id: checks
    title: Checks
    items:
      - id: health
        title: Health
        check: { kind: http, url: "{services.app.url}/health" }
        samples: 20
"#,
    )
    .unwrap();
    let out = golive()
        .arg("run")
        .arg(&checklist)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["--metrics-linger", "60s"])
        .args(["--pushgateway", &gateway, "--push-delete-after", "6s"])
        .output()
        .expect("run golive");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("until the verdict is scraped"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    // The verdict, as each source delivered it: from /metrics (scraped before golive
    // stopped serving) and through the Pushgateway (scraped while the group lived).
    let deadline = Instant::now() + PATIENCE;
    let by_job = loop {
        let seen = query(
            &prom,
            r#"max by (job) (max_over_time(golive_verdict{verdict="GO"}[10m]))"#,
            "job",
        );
        if seen.len() == 2 || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        by_job.contains(&("golive-direct".to_string(), 1.0)),
        "the final GO was scraped from /metrics: {by_job:?}"
    );
    assert!(
        by_job.contains(&("golive".to_string(), 1.0)),
        "and from the pushed group: {by_job:?}"
    );
    // Both copies name the run, so a dashboard counts it once (`max by (run_id, ...)`).
    let runs = query(&prom, "count by (run_id) (golive_run_info)", "run_id");
    assert_eq!(runs.len(), 1, "{runs:?}");

    // golive deleted its group before it exited.
    let pushed = get(&format!("{gateway}/metrics")).expect("the Pushgateway answers");
    assert!(
        !pushed.lines().any(|l| l.starts_with("golive_")),
        "the run's group is gone:\n{pushed}"
    );
}

/// The `prometheus` check kind against a real Prometheus scraping itself: a series that
/// meets its expectation passes; one that does not fails naming the series; a query that
/// returns nothing is no data and fails (never a pass); bad PromQL fails with Prometheus'
/// own message; a scalar is judged too.
#[test]
fn the_prometheus_check_kind_judges_a_real_prometheus() {
    let prometheus = tool("/usr/bin/prometheus", "prometheus");
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s }}\n\
             scrape_configs:\n\
             - job_name: self\n  static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n"
        ),
    )
    .unwrap();
    let (_prometheus, prom) = start_prometheus(prometheus, &config, tmp.path(), port);
    let deadline = Instant::now() + PATIENCE;
    while query(&prom, r#"up{job="self"}"#, "job").is_empty() {
        assert!(Instant::now() < deadline, "Prometheus never scraped itself");
        std::thread::sleep(Duration::from_millis(200));
    }

    let checklist = tmp.path().join("checklist.yaml");
    std::fs::write(
        &checklist,
        format!(
            r#"system: Judged by Prometheus
phases:
  - id: analysis
    title: Analysis
    items:
      - id: up
        title: The target is up
        check: {{ kind: prometheus, url: "{prom}", query: 'up{{job="self"}}', expect: [value == 1, series == 1] }}
        samples: 3
      - id: breach
        title: A value past its limit
        check: {{ kind: prometheus, url: "{prom}", query: 'up{{job="self"}}', expect: [value < 0.5] }}
      - id: no-data
        title: A query that matches nothing
        check: {{ kind: prometheus, url: "{prom}", query: 'up{{job="nothing"}}' }}
      - id: bad-promql
        title: PromQL that does not parse
        check: {{ kind: prometheus, url: "{prom}", query: 'sum(up' }}
      - id: scalar
        title: A scalar
        check: {{ kind: prometheus, url: "{prom}", query: 'scalar(count(up))', expect: [value >= 1] }}
"#
        ),
    )
    .unwrap();
    let run = gate(&checklist);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let item = |id: &str| run.item(id).clone();
    let reasons = |id: &str| item(id)["failures"].to_string();
    assert_eq!(item("up")["outcome"], "PASS", "{}", item("up"));
    assert_eq!(item("scalar")["outcome"], "PASS", "{}", item("scalar"));
    assert_eq!(item("breach")["outcome"], "FAIL", "{}", item("breach"));
    assert!(
        reasons("breach").contains(r#"job=\"self\""#),
        "{}",
        item("breach")
    );
    assert_eq!(item("no-data")["outcome"], "FAIL", "{}", item("no-data"));
    assert!(
        reasons("no-data").contains("no data"),
        "{}",
        item("no-data")
    );
    assert_eq!(
        item("bad-promql")["outcome"],
        "FAIL",
        "{}",
        item("bad-promql")
    );
    assert!(
        reasons("bad-promql").contains("bad_data"),
        "{}",
        item("bad-promql")
    );
}

/// The reference system's error ratio as a real Prometheus scraped it, judged by the
/// `prometheus` kind: FAIL while it injects 30% errors, PASS when healthy (where the
/// 5xx series does not exist, `or vector(0)` makes the ratio 0 rather than no data).
#[test]
fn the_prometheus_kind_judges_the_reference_system_as_prometheus_scraped_it() {
    let prometheus = tool("/usr/bin/prometheus", "prometheus");
    for (faults, want) in [(&["errors=30%"][..], "FAIL"), (&[][..], "PASS")] {
        let sandbox = common::sandbox::Sandbox::start(faults);
        let tmp = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = tmp.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{ scrape_interval: 1s }}\n\
                 scrape_configs:\n\
                 - job_name: reference\n  static_configs: [{{ targets: ['{}'] }}]\n",
                sandbox.addr()
            ),
        )
        .unwrap();
        let (_prometheus, prom) = start_prometheus(prometheus, &config, tmp.path(), port);
        for _ in 0..200 {
            let _ = get(&format!("{}/api/portfolio", sandbox.url));
        }
        let total = r#"sum(sandbox_http_requests_total{route="/api/portfolio"})"#;
        let deadline = Instant::now() + PATIENCE;
        while query(&prom, total, "").first().map(|v| v.1).unwrap_or(0.0) < 200.0 {
            assert!(
                Instant::now() < deadline,
                "Prometheus never scraped the 200 requests"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let checklist = tmp.path().join("checklist.yaml");
        std::fs::write(
            &checklist,
            format!(
                r#"system: The reference system, as Prometheus saw it
phases:
  - id: analysis
    title: Analysis
    items:
      - id: error-ratio
        title: Under 5% of the portfolio requests failed
        check:
          kind: prometheus
          url: "{prom}"
          query: '(sum(sandbox_http_requests_total{{route="/api/portfolio",code=~"5.."}}) or vector(0)) / {total}'
          expect: [value < 0.05]
"#
            ),
        )
        .unwrap();
        let run = gate(&checklist);
        let item = run.item("error-ratio").clone();
        assert_eq!(item["outcome"], want, "{faults:?}: {item}\n{}", run.stderr);
        if want == "FAIL" {
            assert!(item["failures"].to_string().contains("value"), "{item}");
        }
    }
}
