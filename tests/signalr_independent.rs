//! WebSocket conversations judged against a SignalR hub golive did not write:
//! `tests/fixtures/signalr_hub.py`, a small Python server (the `websockets` library)
//! that speaks ASP.NET Core SignalR's wire protocol from its public specs: negotiate,
//! the connection token in `?id=`, a bearer token on both, the JSON handshake, pings it
//! does not answer, invocations, hub errors, streaming, and a completion and a push
//! batched in one WebSocket message, itself sent as two frames. Its own counters
//! (`GET /stats`) say what golive sent.
//!
//! Needs Python with `websockets` (`target/pyenv`, which `.ci/run` makes); without it
//! the tests say they are skipped.

mod common;

use common::servers::skipped;
use common::{root, run_checklist_as, Killed};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

const TOKEN: &str = "s3cret-bearer";

/// The hub, killed by its PID when dropped.
struct Hub {
    _child: Killed,
    port: u16,
}

impl Hub {
    /// Starts the hub, pinging every 0.2 s when it has sent nothing else, or says why
    /// the test is skipped.
    fn start() -> Option<Hub> {
        Hub::start_pinging("0.2")
    }

    /// Starts the hub with its keep-alive interval (seconds; ASP.NET Core's is 15).
    fn start_pinging(keepalive: &str) -> Option<Hub> {
        let python = python();
        let importable = Command::new(&python)
            .args(["-c", "import websockets"])
            .output();
        if !importable.is_ok_and(|o| o.status.success()) {
            skipped(&format!(
                "{} cannot import websockets: python3 -m venv target/pyenv && \
                 target/pyenv/bin/pip install websockets (.ci/run does)",
                python.display()
            ));
            return None;
        }
        let mut child = Command::new(&python)
            .arg(root().join("tests/fixtures/signalr_hub.py"))
            .args(["--token", TOKEN, "--keepalive", keepalive])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the hub");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the hub prints its port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the hub printed `{line}` instead of its port");
        });
        Some(Hub {
            _child: Killed(child),
            port,
        })
    }

    /// The hub's own counters.
    fn stats(&self) -> serde_json::Value {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.write_all(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .expect("ask for stats");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read stats");
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).expect("stats are JSON")
    }
}

/// `target/pyenv/bin/python` where `.ci/run` made it, else `python3`.
fn python() -> PathBuf {
    let venv = root().join("target/pyenv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

fn n(stats: &serde_json::Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key}: {stats}"))
}

/// A `kind: websocket` check: `before` (negotiate), `url`, `headers` and `steps` as
/// written, on the hub at `port`.
fn check(port: u16, before: &str, url: &str, headers: &str, steps: &str, rest: &str) -> String {
    format!(
        r#"
          kind: websocket
          before: {before}
          url: "ws://127.0.0.1:{port}{url}"
          headers: {headers}
          framing: record-separator
          timeout: 2s
          steps:{steps}
{rest}"#
    )
}

fn negotiate(port: u16, token: &str) -> String {
    format!(
        r#"
            - request:
                method: POST
                url: "http://127.0.0.1:{port}/hub/negotiate?negotiateVersion=1"
                headers: {{ Authorization: "Bearer {token}" }}
                expect: [status == 200, body.negotiateVersion == 1]
              capture: {{ token: body.connectionToken }}"#
    )
}

const HANDSHAKE: &str = r#"
            - { name: handshake, send: '{"protocol":"json","version":1}', expect: ['message == "{}"'] }"#;

/// After the handshake: a ping (sent only: a SignalR server need not answer one), an
/// invocation, a subscribe whose completion and push share one WebSocket message (sent
/// in two frames, cut inside the completion), and a stream.
const CONVERSATION: &str = r#"
            - { name: ping, send: '{"type":6}' }
            - name: echo
              send: '{"type":1,"invocationId":"e1","target":"Echo","arguments":["AAPL"]}'
              expect: [message.type == 3, message.invocationId == "e1", message.result == "AAPL"]
            - name: subscribe
              send: '{"type":1,"invocationId":"s1","target":"Subscribe","arguments":["MSFT"]}'
              expect: [message.type == 3, message.invocationId == "s1"]
            - name: quote
              expect: [message.type == 1, message.target == "ReceiveQuote", 'message.arguments[0].symbol == "MSFT"']
              capture: { price: 'message.arguments[0].price' }
            - name: add
              send: '{"type":1,"invocationId":"a1","target":"Add","arguments":[{captured.price}, 1]}'
              expect: [message.type == 3, message.invocationId == "a1", message.result == 143]
            - name: stream
              send: '{"type":4,"invocationId":"c1","target":"Counter","arguments":[3]}'
              expect: [message.type == 2, message.invocationId == "c1", message.item == 0]
            - name: stream-end
              expect: [message.type == 3, message.invocationId == "c1"]"#;

fn item(id: &str, check: &str, rest: &str) -> String {
    format!(
        r#"
      - id: {id}
        title: "{id}"
        check:{check}
        {rest}"#
    )
}

fn checklist(items: &[String]) -> String {
    format!(
        r#"
system: An independent SignalR hub
phases:
  - id: hub
    title: Hub
    items:{}
"#,
        items.concat()
    )
}

#[test]
fn a_signalr_conversation_passes_against_an_independent_hub() {
    let Some(hub) = Hub::start() else { return };
    let port = hub.port;
    // The token comes from the environment, as a real one would, so the report must not
    // show it.
    let auth = r#"{ Authorization: "Bearer {env.HUB_TOKEN}" }"#;
    let steps = format!("{HANDSHAKE}{CONVERSATION}");
    let yaml = checklist(&[
        // Negotiate with the bearer header, the connection token into `?id=`, the same
        // header on the upgrade.
        item(
            "bearer-header",
            &check(
                port,
                &negotiate(port, "{env.HUB_TOKEN}"),
                "/hub?id={captured.token}",
                auth,
                &steps,
                "          measure: echo",
            ),
            "samples: 5\n        criteria: [failures == 0]",
        ),
        // As browsers do: no header can go on an upgrade, so the token is a query value.
        item(
            "query-token",
            &check(
                port,
                &negotiate(port, "{env.HUB_TOKEN}"),
                "/hub?id={captured.token}&access_token={env.HUB_TOKEN}",
                "{}",
                &steps,
                "          measure: conversation",
            ),
            "samples: 3\n        criteria: [failures == 0]",
        ),
        // The WebSocket transport needs no negotiate (clients' skipNegotiation).
        item(
            "skip-negotiation",
            &check(
                port,
                "[]",
                "/hub",
                auth,
                &steps,
                "          measure: connect",
            ),
            "samples: 3\n        criteria: [failures == 0]",
        ),
    ]);
    let run = run_checklist_as(&yaml, "run", &[], &[("HUB_TOKEN", TOKEN)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "GO", "{:#}", run.results());
    for (id, samples) in [
        ("bearer-header", 5),
        ("query-token", 3),
        ("skip-negotiation", 3),
    ] {
        let item = run.item(id);
        assert_eq!(item["outcome"], "PASS", "{id}: {item:#}");
        // What a websocket item's evidence keeps: the samples of the one time `measure`
        // names, and the failures' reasons. Each sample ran every step (a step that missed
        // fails the sample), but no step's own time or message is kept.
        let s = &item["evidence"]["samples"];
        assert_eq!(s["latency_ms"]["n"], samples, "{id}: {item:#}");
        assert_eq!(
            (&s["taken"], &s["failed"]),
            (&samples.into(), &0.into()),
            "{id}: {item:#}"
        );
        assert_eq!(s["reasons"], serde_json::json!([]), "{id}: {item:#}");
    }
    assert_eq!(
        run.item("query-token")["evidence"]["target"],
        format!("ws://127.0.0.1:{port}/hub?id={{captured.token}}&access_token=***")
    );
    for file in std::fs::read_dir(&run.dir).expect("the run folder") {
        let path = file.expect("an entry").path();
        let text = std::fs::read(&path).unwrap_or_default();
        let leaked = text.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
        assert!(!leaked, "the bearer token leaked into {}", path.display());
    }
    let stats = hub.stats();
    // 5 + 3 negotiated, 3 did not; each of the 11 connections shook hands once and ran
    // its four invocations (echo, subscribe, add, stream), its one ping unanswered, and
    // took the subscribe's completion and push from one WebSocket message in two frames.
    assert_eq!(n(&stats, "negotiations"), 8, "{stats:#}");
    assert_eq!(n(&stats, "skipped_negotiation"), 3, "{stats:#}");
    assert_eq!(n(&stats, "upgrades"), 11, "{stats:#}");
    assert_eq!(n(&stats, "handshakes"), 11, "{stats:#}");
    assert_eq!(n(&stats, "invocations"), 44, "{stats:#}");
    assert_eq!(n(&stats, "pings_received"), 11, "{stats:#}");
    assert_eq!(n(&stats, "batched_frames"), 11, "{stats:#}");
    assert_eq!(n(&stats, "protocol_errors"), 0, "{stats:#}");
    assert_eq!(stats["rejected"], serde_json::json!({}), "{stats:#}");
}

#[test]
fn what_a_signalr_hub_refuses_fails_and_says_why() {
    let Some(hub) = Hub::start() else { return };
    let port = hub.port;
    let auth = r#"{ Authorization: "Bearer {env.HUB_TOKEN}" }"#;
    let wrong = r#"{ Authorization: "Bearer not-the-token" }"#;
    // One sample each: golive stops sampling once a FAIL is certain.
    let samples = "samples: 1\n        criteria: [failures == 0]";
    let yaml = checklist(&[
        // A wrong bearer token on negotiate: 401 before the WebSocket opens.
        item(
            "wrong-token-negotiate",
            &check(
                port,
                &negotiate(port, "not-the-token"),
                "/hub?id={captured.token}",
                auth,
                HANDSHAKE,
                "",
            ),
            samples,
        ),
        // Negotiated with the right token, upgraded with a wrong one: the upgrade is 401.
        item(
            "wrong-token-upgrade",
            &check(
                port,
                &negotiate(port, "{env.HUB_TOKEN}"),
                "/hub?id={captured.token}",
                wrong,
                HANDSHAKE,
                "",
            ),
            samples,
        ),
        // A connection token the hub never gave out: 404, as SignalR answers it.
        item(
            "unknown-connection",
            &check(port, "[]", "/hub?id=never-negotiated", auth, HANDSHAKE, ""),
            samples,
        ),
        // The hub method throws: its completion carries `error`, never `result`.
        item(
            "hub-error",
            &check(
                port,
                "[]",
                "/hub",
                auth,
                &format!(
                    r#"{HANDSHAKE}
            - name: fail
              send: '{{"type":1,"invocationId":"f1","target":"Fail","arguments":[]}}'
              expect: [message.type == 3, message.invocationId == "f1", message.result == 42]
              timeout: 500ms"#
                ),
                "",
            ),
            samples,
        ),
        // A hub that reads the handshake and never answers it.
        item(
            "handshake-unanswered",
            &check(
                port,
                "[]",
                "/mute",
                auth,
                r#"
            - { name: handshake, send: '{"protocol":"json","version":1}', expect: ['message == "{}"'], timeout: 500ms }"#,
                "",
            ),
            samples,
        ),
        // A protocol the hub does not speak: an error handshake response, then closed.
        item(
            "unknown-protocol",
            &check(
                port,
                "[]",
                "/hub",
                auth,
                r#"
            - { name: handshake, send: '{"protocol":"messagepack","version":1}', expect: ['message == "{}"'] }"#,
                "",
            ),
            samples,
        ),
    ]);
    let run = run_checklist_as(&yaml, "run", &[], &[("HUB_TOKEN", TOKEN)]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "NO_GO", "{:#}", run.results());
    for (id, says) in [
        (
            "wrong-token-negotiate",
            &["before the WebSocket", "401"][..],
        ),
        (
            "wrong-token-upgrade",
            &["WebSocket handshake failed", "401"],
        ),
        ("unknown-connection", &["WebSocket handshake failed", "404"]),
        (
            "hub-error",
            // The hub's error completion, not the keep-alive ping that came after it.
            &[
                "step `fail`",
                "within 500ms",
                "closest: expected message.result == 42",
                r#""error":"An unexpected error occurred invoking 'Fail' on the server. HubException: the market is closed""#,
            ],
        ),
        (
            "handshake-unanswered",
            &["step `handshake`", "no expected message within 500ms"],
        ),
        (
            "unknown-protocol",
            &[
                "step `handshake`",
                "the server closed the connection",
                r#"closest: expected message == "{}", got "{\"error\":\"Requested protocol 'messagepack' is not available.\"}""#,
            ],
        ),
    ] {
        let item = run.item(id);
        assert_eq!(item["outcome"], "FAIL", "{id}: {item:#}");
        let s = &item["evidence"]["samples"];
        assert_eq!(
            (&s["taken"], &s["failed"]),
            (&1.into(), &1.into()),
            "{id}: {item:#}"
        );
        let reasons: Vec<&str> = s["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["reason"].as_str())
            .collect();
        let reasons = reasons.join("\n");
        for said in says {
            assert!(
                reasons.contains(said),
                "{id} should say `{said}`: {reasons}"
            );
        }
    }
    let stats = hub.stats();
    assert_eq!(
        stats["rejected"],
        serde_json::json!({"401": 2, "404": 1}),
        "{stats:#}"
    );
    // Only the connections that got through shook hands: hub-error's, the mute hub's and
    // the unknown protocol's.
    assert_eq!(n(&stats, "handshakes"), 3, "{stats:#}");
    assert_eq!(n(&stats, "handshake_errors"), 1, "{stats:#}");
}

#[test]
fn a_load_against_the_independent_hub_shakes_hands_once_per_connection() {
    let Some(hub) = Hub::start() else { return };
    // The load opens its WebSocket at `path` itself: it has no `before`, so it cannot
    // negotiate, and connects as SignalR clients with `skipNegotiation` do.
    let yaml = format!(
        r#"
system: An independent SignalR hub under load
phases:
  - id: load
    title: Load
    items:
      - id: hub-load
        title: "Subscribe round trips through the hub"
        check:
          kind: load
          scenario:
            name: hub-load
            target: "http://127.0.0.1:{port}"
            requests:
              - name: subscribe
                protocol: websocket
                path: /hub
                headers: {{ Authorization: "Bearer {{env.HUB_TOKEN}}" }}
                framing: record-separator
                open:
                  - name: handshake
                    send: '{{"protocol":"json","version":1}}'
                    expect: ['message == "{{}}"']
                steps:
                  - name: subscribe
                    send: '{{"type":1,"invocationId":"s","target":"Subscribe","arguments":["MSFT"]}}'
                    expect: [message.type == 3, message.invocationId == "s"]
                  - name: quote
                    expect: [message.type == 1, message.target == "ReceiveQuote"]
            executor: {{ kind: constant-users, users: 3, duration: 3s }}
            timeout: 2s
            thresholds: [failures == 0]
"#,
        port = hub.port
    );
    let run = run_checklist_as(&yaml, "run", &[], &[("HUB_TOKEN", TOKEN)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let item = run.item("hub-load");
    assert_eq!(item["outcome"], "PASS", "{item:#}");
    let load = &item["evidence"]["load"];
    let requests = load["requests"].as_u64().expect("requests");
    assert_eq!(load["errors"], 0, "{load:#}");
    assert_eq!(load["reconnects"], 0, "{load:#}");
    assert!(requests > 3, "{load:#}");

    // The hub's own account: three users kept three connections, each shook hands once
    // and then only invoked, once per round trip (a round trip still in flight when
    // the load ended may have reached the hub uncounted by golive).
    let stats = hub.stats();
    assert_eq!(n(&stats, "upgrades"), 3, "{stats:#}");
    assert_eq!(n(&stats, "skipped_negotiation"), 3, "{stats:#}");
    assert_eq!(n(&stats, "handshakes"), 3, "{stats:#}");
    for c in stats["per_connection"].as_array().expect("connections") {
        assert_eq!(n(c, "handshakes"), 1, "{stats:#}");
        assert!(n(c, "invocations") > 1, "{stats:#}");
    }
    let invocations = n(&stats, "invocations");
    assert!(
        (requests..=requests + 3).contains(&invocations),
        "{requests} round trips, {invocations} invocations"
    );
    for errors in ["handshake_errors", "protocol_errors"] {
        assert_eq!(n(&stats, errors), 0, "{stats:#}");
    }
    // Every round trip's completion and push came in one (fragmented) message.
    assert_eq!(n(&stats, "batched_frames"), invocations, "{stats:#}");
    assert_eq!(stats["rejected"], serde_json::json!({}), "{stats:#}");
    // A gap this shows: the round trip's text is the same every time, so every
    // invocation after a connection's first reuses its invocationId, which the hub
    // protocol calls a protocol error (ASP.NET Core lets it pass once the earlier
    // invocation has completed, as this hub does).
    assert_eq!(
        n(&stats, "reused_invocation_ids"),
        invocations - 3,
        "{stats:#}"
    );
}

#[test]
fn a_ping_step_that_waits_for_an_answer_times_the_hubs_keep_alive_not_a_reply() {
    // checks/mytrader-golive.yaml's ping step, against golive's own sandbox which echoes
    // pings. A SignalR hub need not answer a ping (ASP.NET Core does not): the only ping
    // that can meet `message.type == 6` is the hub's own keep-alive, sent after 15 s
    // without traffic, so the step passes or fails by that timer, not by any reply.
    // Wide margins both ways: a 2 s step against a 15 s keep-alive, a 5 s step against
    // a 0.1 s one.
    let Some(quiet) = Hub::start_pinging("15") else {
        return;
    };
    let chatty = Hub::start_pinging("0.1").expect("websockets was importable a moment ago");
    for (hub, timeout, outcome) in [(quiet, "2s", "FAIL"), (chatty, "5s", "PASS")] {
        let ping = format!(
            r#"
            - {{ name: ping, send: '{{"type":6}}', expect: [message.type == 6], timeout: {timeout} }}"#
        );
        let auth = r#"{ Authorization: "Bearer {env.HUB_TOKEN}" }"#;
        let steps = format!("{HANDSHAKE}{ping}");
        let yaml = checklist(&[item(
            "ping-answered",
            &check(hub.port, "[]", "/hub", auth, &steps, ""),
            "samples: 1\n        criteria: [failures == 0]",
        )]);
        let run = run_checklist_as(&yaml, "run", &[], &[("HUB_TOKEN", TOKEN)]);
        assert_eq!(
            run.outcome("ping-answered"),
            outcome,
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        let stats = hub.stats();
        assert_eq!(n(&stats, "pings_received"), 1, "{stats:#}");
    }
}
