//! Named ports: one process service, the reference system with its web frontend, serves
//! two ports that golive picked, and checks reach each one through
//! `{services.NAME.url}` (the first port) and `{services.NAME.ports.web}`. The invalid
//! forms are in `tests/fixtures/invalid/ports-*.yaml` (see tests/validate.rs).

mod common;

use common::run_fixture;

/// The port of a check's target, `GET http://127.0.0.1:PORT/path`.
fn port_of(target: &serde_json::Value) -> u16 {
    let t = target.as_str().expect("target");
    let url = t.split_whitespace().last().expect("url");
    let authority = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a loopback URL: {t}"));
    authority
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {t}"))
}

#[test]
fn one_process_serves_two_named_ports_and_checks_reach_both() {
    let run = run_fixture("ports.yaml", &[], &["--provider", "process"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.outcome("api-health"),
        "PASS",
        "{}",
        run.item("api-health")
    );
    assert_eq!(run.outcome("web-page"), "PASS", "{}", run.item("web-page"));
    let api = port_of(&run.item("api-health")["target"]);
    let web = port_of(&run.item("web-page")["target"]);
    assert_ne!(api, web, "each name gets its own port");
    let service = &run.results()["services"][0];
    // The default url is http://127.0.0.1:{port}, and {port} is the first named port.
    assert_eq!(
        service["url"],
        format!("http://127.0.0.1:{api}"),
        "{service}"
    );
    let tail = common::log_tail(service);
    assert!(
        tail.contains(&format!("golive sandbox web on http://127.0.0.1:{web}").as_str()),
        "{tail:?}"
    );
}
