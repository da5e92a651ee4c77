//! report.html in a real browser: headless Chromium opens the report of a real run (a
//! load item with drills and a rollback) over the DevTools protocol and shows that the
//! verdict is rendered, that the page requested nothing besides itself, threw nothing,
//! logged no error, and holds no script; a screenshot of its first screen is kept under
//! the target folder. A control page with a request and an exception shows the checks
//! can fail. Text golive did not write cannot become markup or script.
//!
//! Needs Chromium (`apt-get install chromium`); without it the test fails and says so.

mod common;

use common::{run_checklist, run_fixture};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// How long any one browser step may take before the test gives up.
const STEP: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    let found = std::env::var_os("GOLIVE_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no Chromium found (looked at $GOLIVE_CHROMIUM, /usr/bin/chromium, \
             /usr/bin/chromium-browser): report.html is checked in a real browser; install it \
             with `apt-get install chromium` (.ci/run does)"
        )
    })
}

/// A headless Chromium this test started; killed (by its own handle) when dropped.
struct Browser {
    child: Child,
    ws: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                // The browser's own traffic (updates, sync, time) is switched off, and
                // names resolve to nothing: nothing leaves this machine.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-domain-reliability",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let ws = match rx.recv_timeout(STEP) {
            Ok(ws) => ws,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Chromium did not open its DevTools port: {e}");
            }
        };
        Browser {
            child,
            ws,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one page did in the browser.
#[derive(Debug, Default)]
struct Page {
    /// Requests besides the page itself.
    requests: Vec<String>,
    exceptions: Vec<String>,
    /// console.error/warn/assert calls and browser log entries at level error.
    errors: Vec<String>,
    /// `{h1, text, scripts, svgs}` read from the rendered document.
    dom: Value,
    screenshot: Vec<u8>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A DevTools connection: commands by id, events collected as they arrive.
struct Cdp {
    ws: Ws,
    next: u64,
    events: Vec<Value>,
}

impl Cdp {
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .expect("send to Chromium");
        loop {
            let v = self.read().await;
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    async fn read(&mut self) -> Value {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).expect("JSON"),
                Some(Ok(_)) => continue,
                other => panic!("DevTools connection ended: {other:?}"),
            }
        }
    }

    async fn wait_event(&mut self, session: &str, method: &str) {
        let seen = |v: &Value| v["method"] == method && v["sessionId"] == session;
        if self.events.iter().any(seen) {
            return;
        }
        loop {
            let v = self.read().await;
            let done = seen(&v);
            self.events.push(v);
            if done {
                return;
            }
        }
    }
}

/// Opens `url` in a fresh tab of a 1280×900 window and reports what the page did.
fn open(browser: &Browser, url: &str) -> Page {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(STEP, inspect(&browser.ws, url))
            .await
            .unwrap_or_else(|_| panic!("Chromium took longer than {STEP:?} on {url}"))
    })
}

async fn inspect(ws_url: &str, url: &str) -> Page {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect to Chromium's DevTools");
    let mut cdp = Cdp {
        ws,
        next: 0,
        events: Vec::new(),
    };
    let target = cdp
        .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
        .await;
    let attached = cdp
        .call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )
        .await;
    let session = attached["sessionId"].as_str().expect("session").to_string();
    let s = Some(session.as_str());
    for domain in ["Page", "Network", "Runtime", "Log"] {
        cdp.call(s, &format!("{domain}.enable"), json!({})).await;
    }
    cdp.call(
        s,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    cdp.call(s, "Page.navigate", json!({ "url": url })).await;
    cdp.wait_event(&session, "Page.loadEventFired").await;
    let expression = "JSON.stringify({h1: document.querySelector('h1')?.innerText ?? '', \
        text: document.body.innerText, scripts: document.scripts.length, \
        svgs: document.querySelectorAll('svg').length, \
        charts: [...document.querySelectorAll('svg[class]')].map(s => ({ \
          class: s.getAttribute('class'), title: s.querySelector('title')?.textContent ?? '', \
          points: Math.max(0, ...[...s.querySelectorAll('polyline')].map(p => p.points.numberOfItems)), \
          marks: [...s.querySelectorAll('.mark-label')].map(t => t.textContent)}))})";
    let dom = cdp
        .call(
            s,
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )
        .await;
    let dom: Value =
        serde_json::from_str(dom["result"]["value"].as_str().unwrap_or("{}")).expect("DOM JSON");
    let shot = cdp
        .call(s, "Page.captureScreenshot", json!({ "format": "png" }))
        .await;
    use base64::Engine;
    let screenshot = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or_default())
        .expect("screenshot is base64");
    let mut page = Page {
        dom,
        screenshot,
        ..Page::default()
    };
    for e in cdp.events.iter().filter(|e| e["sessionId"] == session) {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or_default() {
            "Network.requestWillBeSent" if p["request"]["url"] != url => {
                page.requests.push(p["request"]["url"].to_string())
            }
            "Runtime.exceptionThrown" => page.exceptions.push(p["exceptionDetails"].to_string()),
            "Runtime.consoleAPICalled"
                if ["error", "warning", "assert"].contains(&p["type"].as_str().unwrap_or("")) =>
            {
                page.errors.push(p["args"].to_string())
            }
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                page.errors.push(p["entry"].to_string())
            }
            _ => {}
        }
    }
    cdp.call(
        None,
        "Target.closeTarget",
        json!({ "targetId": target["targetId"] }),
    )
    .await;
    page
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().expect("path").display())
}

fn assert_clean(page: &Page, what: &str) {
    assert!(
        page.requests.is_empty(),
        "{what} made requests: {:?}",
        page.requests
    );
    assert!(
        page.exceptions.is_empty(),
        "{what} threw: {:?}",
        page.exceptions
    );
    assert!(
        page.errors.is_empty(),
        "{what} logged errors: {:?}",
        page.errors
    );
    assert_eq!(
        page.dom["scripts"], 0,
        "{what} holds a script: {}",
        page.dom
    );
}

#[test]
fn report_html_renders_in_chromium_alone_and_without_errors() {
    let browser = Browser::start();

    // The checks below can fail: a page that fetches and throws is caught by them.
    let tmp = tempfile::tempdir().expect("temp dir");
    let control = tmp.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><title>control</title><h1>control</h1>\
         <img src=\"http://127.0.0.1:9/none.png\">\
         <script>console.error('control'); throw new Error('control');</script>",
    )
    .expect("write control page");
    let page = open(&browser, &file_url(&control));
    assert!(
        page.requests.iter().any(|r| r.contains("127.0.0.1:9")),
        "{page:?}"
    );
    assert!(
        !page.exceptions.is_empty() && !page.errors.is_empty(),
        "{page:?}"
    );

    let run = run_fixture("drills.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    let report = run.dir.join("report.html");
    let html = std::fs::read_to_string(&report).expect("report.html written");
    for attr in ["src=", "href=", "url("] {
        for (at, _) in html.match_indices(attr) {
            let value = &html[at + attr.len()..(at + attr.len() + 12).min(html.len())];
            assert!(
                !value.trim_start_matches(['"', '\'']).starts_with("http"),
                "report.html refers to the network at {at}: {value}"
            );
        }
    }
    let page = open(&browser, &file_url(&report));
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&keep).expect("screenshot folder");
    std::fs::write(keep.join("first-screen.png"), &page.screenshot).expect("keep screenshot");
    std::fs::copy(&report, keep.join("report.html")).expect("keep report");
    println!(
        "screenshot of report.html's first screen: {}",
        keep.join("first-screen.png").display()
    );
    assert!(page.screenshot.starts_with(b"\x89PNG"), "not a PNG");
    assert_clean(&page, "report.html");
    assert_eq!(page.dom["h1"], "Verdict: ROLLBACK", "{}", page.dom);
    let text = page.dom["text"].as_str().unwrap_or_default();
    for shown in [
        "Latency per",
        "Error rate per",
        "ROLLBACK (rule slow)",
        "pause api",
    ] {
        assert!(
            text.contains(shown),
            "`{shown}` is not on the page:\n{text}"
        );
    }
    assert!(page.dom["svgs"].as_u64() >= Some(4), "{}", page.dom);

    // The service's CPU and memory over the run, read from the rendered page: each a
    // line of at least two readings, with the pause drill marked on the run's clock.
    for (class, title) in [
        ("c-cpu", "CPU of api over the run"),
        ("c-memory", "Memory of api over the run"),
    ] {
        let charts = page.dom["charts"].as_array().expect("charts");
        let chart = charts
            .iter()
            .find(|c| c["class"] == class)
            .unwrap_or_else(|| panic!("no svg.{class} on the page: {}", page.dom["charts"]));
        assert_eq!(chart["title"], title, "{chart}");
        assert!(chart["points"].as_u64() >= Some(2), "{chart}");
        assert!(
            chart["marks"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m == "pause api")),
            "{chart}"
        );
    }
    let series = run.results()["services"][0]["series"]
        .as_array()
        .expect("the service's series in results.json");
    assert!(series.len() >= 2 && series.len() <= 300, "{}", series.len());
    assert!(
        text.contains("readings, one about every"),
        "the charts' caption is not on the page:\n{text}"
    );
}

#[test]
fn text_golive_did_not_write_stays_text_in_the_browser() {
    let hostile = "<script>console.error('injected')</script><img src=x onerror=alert(1)>";
    let yaml = format!(
        "system: \"{hostile}\"\nphases:\n  - id: p\n    title: \"</h2>{hostile}\"\n    items:\n      \
         - id: cmd\n        title: \"{hostile}\"\n        check: {{ kind: command, run: [\"sh\", \"-c\", \
         \"echo '{hostile}' >&2; exit 3\"] }}\n"
    );
    let run = run_checklist(&yaml, &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let browser = Browser::start();
    let page = open(&browser, &file_url(&run.dir.join("report.html")));
    assert_clean(&page, "report.html with hostile text");
    let text = page.dom["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(hostile),
        "the text is shown as written:\n{text}"
    );
}
