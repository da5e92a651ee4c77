//! Headless Chromium driven over the DevTools protocol: open a page, and report what it
//! requested, threw and logged, with its DOM figures and a screenshot. Needs Chromium
//! (`apt-get install chromium`); without it a test fails and says so.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// How long any one browser step may take before the test gives up.
pub const STEP: Duration = Duration::from_secs(60);

pub fn chromium() -> PathBuf {
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
pub struct Browser {
    child: Child,
    pub ws: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(chromium())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                // The browser's own traffic (updates, sync, time) is switched off, and
                // names resolve to nothing: nothing leaves this machine (127.0.0.1 stays
                // reachable, for pages a test serves itself).
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--disable-domain-reliability",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
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
pub struct Page {
    /// Requests besides the page itself.
    pub requests: Vec<String>,
    pub exceptions: Vec<String>,
    /// console.error/warn/assert calls and browser log entries at level error.
    pub errors: Vec<String>,
    /// `{h1, text, scripts, svgs}` read from the rendered document.
    pub dom: Value,
    pub screenshot: Vec<u8>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A DevTools connection: commands by id, events collected as they arrive.
pub struct Cdp {
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
pub fn open(browser: &Browser, url: &str) -> Page {
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

pub async fn inspect(ws_url: &str, url: &str) -> Page {
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

pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().expect("path").display())
}

pub fn assert_clean(page: &Page, what: &str) {
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
