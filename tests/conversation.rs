//! WebSocket conversations against the reference system's SignalR-style hubs: negotiate
//! over HTTP, capture the connection token into the WebSocket URL, then the JSON
//! handshake, a ping and an invocation, every message ended by the 0x1E record
//! separator. As a check, and in a load scenario where the handshake is an opening
//! step: the sandbox's own counters show it was sent once per connection, not once per
//! round trip.

mod common;

use common::run_checklist_with;
use common::sandbox::Sandbox;

const CONVERSATION: &str = r#"
          kind: websocket
          before:
            - request: { method: POST, url: "{services.app.url}/hubs/market-data/negotiate?negotiateVersion=1" }
              capture: { token: body.connectionToken }
          url: "ws://{services.app.host}:{services.app.port}/hubs/market-data?id={captured.token}"
          framing: record-separator
          timeout: 2s
          steps:
            - name: handshake
              send: '{"protocol":"json","version":1}'
              expect: ['message == "{}"']
            - name: ping
              send: '{"type":6}'
            - name: quote
              send: '{"type":1,"invocationId":"q1","target":"GetQuote","arguments":["AAPL"]}'
              expect: [message.type == 3, message.invocationId == "q1", message.result.symbol == "AAPL"]
"#;

fn checklist(addr: &str) -> String {
    format!(
        r#"
system: MyTrader hubs
services:
  app:
    external: {{ url: "http://{addr}" }}
phases:
  - id: realtime
    title: Real-time hubs
    items:
      - id: quote-round-trip
        title: "GetQuote through the market-data hub"
        check:{CONVERSATION}          measure: quote
        samples: 20
        criteria: [failures == 0, max < 2s]
      - id: ws-connect
        title: "WebSocket connection"
        check:{CONVERSATION}          measure: connect
        samples: 20
        criteria: [failures == 0, max < 2s]
"#
    )
}

#[test]
fn a_signalr_conversation_passes_as_a_check_and_fails_when_its_hub_is_down() {
    let sandbox = Sandbox::start(&[]);
    let run = run_checklist_with(&checklist(sandbox.addr()), &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for id in ["quote-round-trip", "ws-connect"] {
        let item = run.item(id);
        assert_eq!(item["outcome"], "PASS", "{id}: {item:#}");
        assert_eq!(
            item["evidence"]["samples"]["latency_ms"]["n"], 20,
            "{id}: {item:#}"
        );
    }
    // Every sample negotiated, connected with its own token and shook hands once.
    let hubs = &sandbox.stats()["hubs"];
    assert_eq!(hubs["negotiations"], 40, "{hubs}");
    assert_eq!(hubs["connections"], 40, "{hubs}");
    assert_eq!(hubs["handshakes"], 40, "{hubs}");
    assert_eq!(hubs["pings"], 40, "{hubs}");
    assert_eq!(hubs["invocations"], 40, "{hubs}");

    // MyTrader's fault: the market-data hub is down. Negotiation answers 503, so every
    // sample fails before the WebSocket opens, and says why.
    let down = Sandbox::start(&["hub_down=market-data"]);
    let run = run_checklist_with(&checklist(down.addr()), &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let item = run.item("quote-round-trip");
    assert_eq!(item["outcome"], "FAIL", "{item:#}");
    let reasons = item.to_string();
    assert!(
        reasons.contains("before the WebSocket") && reasons.contains("503"),
        "{reasons}"
    );
    assert_eq!(down.stats()["hubs"]["handshakes"], 0);
}

#[test]
fn a_load_sends_the_opening_steps_once_per_connection() {
    let sandbox = Sandbox::start(&[]);
    // The scenario written inside the checklist that uses it.
    let yaml = format!(
        r#"
system: MyTrader hubs under load
services:
  app:
    external: {{ url: "http://{}" }}
phases:
  - id: load
    title: Load
    items:
      - id: hub-load
        title: "Quotes through the hub under load"
        check:
          kind: load
          scenario:
            name: hub-load
            target: "{{services.app.url}}"
            requests:
              - name: quote
                protocol: websocket
                path: /hubs/market-data
                framing: record-separator
                open:
                  - name: handshake
                    send: '{{"protocol":"json","version":1}}'
                    expect: ['message == "{{}}"']
                steps:
                  - name: quote
                    send: '{{"type":1,"invocationId":"1","target":"GetQuote","arguments":["MSFT"]}}'
                    expect: [message.type == 3, message.result.symbol == "MSFT"]
            executor: {{ kind: constant-users, users: 4, duration: 2s }}
            timeout: 2s
            thresholds: [failures == 0]
"#,
        sandbox.addr()
    );
    let run = run_checklist_with(&yaml, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let item = run.item("hub-load");
    assert_eq!(item["outcome"], "PASS", "{item:#}");
    let hubs = &sandbox.stats()["hubs"];
    let n = |k: &str| hubs[k].as_u64().unwrap_or_default();
    // Four users keep four connections: four handshakes, however many round trips.
    assert_eq!(n("connections"), 4, "{hubs}");
    assert_eq!(n("handshakes"), 4, "{hubs}");
    assert!(
        n("invocations") > 4 * 20,
        "a round trip repeats only the invocation: {hubs}"
    );
}
