//! A real Prometheus (Debian's `prometheus`) scraping a `golive run`'s `/metrics` every
//! second, and the run's Pushgateway group: the final verdict is scraped from `/metrics`
//! (golive keeps serving until it is, `--metrics-linger`), and the group is gone once the
//! run has ended (`--push-delete-after`). Both sources carry the run's id, so a dashboard
//! can tell the two copies of one run apart.

mod common;

use common::golive;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A child killed when dropped, whatever the test did.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(path: &str, package: &str) -> &'static str {
    assert!(
        std::path::Path::new(path).is_file(),
        "{path} is missing: apt-get install -y {package} (.ci/run does)"
    );
    Box::leak(path.to_string().into_boxed_str())
}

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
    let _prometheus = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Prometheus"),
    );
    let prom = format!("http://127.0.0.1:{prom_port}");
    wait_ready(&format!("{prom}/-/ready"));

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
