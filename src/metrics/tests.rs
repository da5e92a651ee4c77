//! Unit tests of the registry against the one list of names, and of the label rules
//! that keep cardinality bounded.

use super::names::{self, Kind, ERROR_CLASSES, METRICS, OUTCOMES, VERDICTS};
use super::{Metrics, RuleState, RunLabels};
use prometheus::proto::{MetricFamily, MetricType};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const RUN_ID: &str = "20261121T223554Z-3f9a";
const SYSTEM: &str = "Stock Portfolio Management System";

fn metrics() -> Metrics {
    Metrics::new(&RunLabels {
        run_id: RUN_ID.into(),
        system: SYSTEM.into(),
        checklist: "portfolio-golive.yaml".into(),
    })
}

/// Touches every family once, so each appears in the exposition.
fn populated() -> Metrics {
    let m = metrics();
    let r = m.request("steady", "GET /api/portfolio");
    r.ok(Duration::from_millis(12), Duration::from_millis(9));
    r.error("timeout", Duration::from_secs(5));
    m.set_in_flight("steady", 3);
    m.set_rates("steady", Some(200.0), 198.5);
    m.add_dropped("steady", 2);
    m.add_late("steady", 1);
    let c = m.check("health", "http");
    c.ok(Duration::from_millis(3));
    c.error("expectation");
    m.set_rule_state("p95-latency", RuleState::Pending);
    m.set_item_outcome("health", "PASS");
    m.set_verdict("GO");
    m.set_exit_code(0);
    m.set_service_resources("api", Some(12.5), 30_000_000);
    m.set_service_restarts("api", 1);
    m.set_drill_recovery("api", "kill", 2.3);
    m
}

#[test]
fn service_restarts_only_go_up_and_resources_are_set() {
    let m = populated();
    m.set_service_restarts("api", 3);
    m.set_service_restarts("api", 2);
    assert_eq!(
        value(&m, "golive_service_restarts_total", &[("service", "api")]),
        Some(3.0)
    );
    assert_eq!(
        value(&m, "golive_service_memory_bytes", &[("service", "api")]),
        Some(30e6)
    );
    // A first reading has no CPU figure: the gauge keeps its last value.
    m.set_service_resources("api", None, 31_000_000);
    assert_eq!(
        value(&m, "golive_service_cpu_percent", &[("service", "api")]),
        Some(12.5)
    );
    assert_eq!(
        value(
            &m,
            "golive_drill_recovery_seconds",
            &[("service", "api"), ("action", "kill")]
        ),
        Some(2.3)
    );
}

fn family(m: &Metrics, name: &str) -> Option<MetricFamily> {
    m.registry.gather().into_iter().find(|f| f.name() == name)
}

/// The value of the series of `name` whose labels are exactly `labels`.
fn value(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let f = family(m, name)?;
    let want: BTreeMap<&str, &str> = labels.iter().copied().collect();
    f.get_metric().iter().find_map(|s| {
        let mut got: BTreeMap<&str, &str> = s
            .get_label()
            .iter()
            .map(|l| (l.name(), l.value()))
            .collect();
        // Every series names the run; the rest of its labels are what is compared.
        assert_eq!(got.remove("run_id"), Some(RUN_ID), "{name}");
        assert_eq!(got.remove("system"), Some(SYSTEM), "{name}");
        (got == want).then(|| match f.get_field_type() {
            MetricType::COUNTER => s.get_counter().get_value(),
            MetricType::GAUGE => s.get_gauge().get_value(),
            MetricType::HISTOGRAM => s.get_histogram().get_sample_count() as f64,
            other => panic!("unexpected type {other:?}"),
        })
    })
}

fn kind_of(t: MetricType) -> Kind {
    match t {
        MetricType::COUNTER => Kind::Counter,
        MetricType::GAUGE => Kind::Gauge,
        MetricType::HISTOGRAM => Kind::Histogram,
        other => panic!("golive registers no {other:?}"),
    }
}

#[test]
fn registry_and_the_list_of_names_agree() {
    let m = populated();
    let registered: BTreeMap<String, (Kind, BTreeSet<String>)> = m
        .registry
        .gather()
        .iter()
        .map(|f| {
            let mut labels: BTreeSet<String> = f.get_metric()[0]
                .get_label()
                .iter()
                .map(|l| l.name().to_string())
                .collect();
            assert!(
                labels.remove("run_id") && labels.remove("system"),
                "{} names its run",
                f.name()
            );
            (f.name().to_string(), (kind_of(f.get_field_type()), labels))
        })
        .collect();
    let declared: BTreeMap<String, (Kind, BTreeSet<String>)> = METRICS
        .iter()
        .map(|d| {
            let labels = d.labels.iter().map(|l| l.to_string()).collect();
            (d.name.to_string(), (d.kind, labels))
        })
        .collect();
    assert_eq!(registered, declared);
}

#[test]
fn rendering_has_every_family_with_its_type_and_help() {
    let text = populated().render();
    for d in METRICS {
        let type_line = format!("# TYPE {} {}\n", d.name, d.kind.as_str());
        assert!(
            text.contains(&type_line),
            "missing {type_line:?} in\n{text}"
        );
        assert!(text.contains(&format!("# HELP {} {}\n", d.name, d.help)));
    }
    // Label order within a series is the encoder's; what matters is that they are there.
    let line = |prefix: &str, labels: &[&str], value: &str| {
        text.lines().any(|l| {
            l.starts_with(prefix)
                && l.ends_with(value)
                && labels.iter().all(|label| l.contains(label))
        })
    };
    let run = [
        "run_id=\"20261121T223554Z-3f9a\"",
        "system=\"Stock Portfolio Management System\"",
    ];
    assert!(
        line(
            "golive_run_info{",
            &[&run[..], &["checklist=\"portfolio-golive.yaml\""]].concat(),
            "} 1"
        ),
        "{text}"
    );
    assert!(
        line(
            "golive_request_duration_seconds_bucket{",
            &[
                &run[..],
                &[
                    "request=\"GET /api/portfolio\"",
                    "scenario=\"steady\"",
                    "le=\"0.025\""
                ]
            ]
            .concat(),
            "} 1"
        ),
        "{text}"
    );
}

#[test]
fn the_list_follows_the_naming_rules() {
    let mut seen = BTreeSet::new();
    for d in METRICS {
        assert!(seen.insert(d.name), "{} declared twice", d.name);
        assert!(d.name.starts_with("golive_"), "{}", d.name);
        assert_eq!(
            d.kind == Kind::Counter,
            d.name.ends_with("_total"),
            "{}",
            d.name
        );
        assert_eq!(
            d.kind == Kind::Histogram,
            !d.buckets.is_empty(),
            "{}",
            d.name
        );
        if d.kind == Kind::Histogram {
            assert!(
                d.name.ends_with("_seconds"),
                "{}: latency is in seconds",
                d.name
            );
            assert!(d.buckets.windows(2).all(|w| w[0] < w[1]), "{}", d.name);
        }
        for label in d.labels {
            // `le` is the histograms', `job` and `instance` Prometheus's and the
            // Pushgateway's; a metric using them would clash on scrape or push.
            assert!(
                !["le", "job", "instance", "quantile"].contains(label),
                "{}",
                d.name
            );
        }
        assert!(!d.help.is_empty());
    }
    assert_eq!(
        names::lookup("golive_request_duration_seconds_bucket"),
        Some(&names::REQUEST_DURATION)
    );
    assert_eq!(
        names::lookup("golive_requests_total_count"),
        None,
        "counters have no _count"
    );
    assert_eq!(names::lookup("golive_nonexistent"), None);
}

#[test]
fn requests_count_successes_and_errors_by_class() {
    let m = populated();
    let at = [("scenario", "steady"), ("request", "GET /api/portfolio")];
    assert_eq!(value(&m, "golive_requests_total", &at), Some(2.0));
    assert_eq!(value(&m, "golive_request_duration_seconds", &at), Some(1.0));
    assert_eq!(
        value(&m, "golive_request_service_time_seconds", &at),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "golive_request_error_duration_seconds", &at),
        Some(1.0)
    );
    let class = |c| [at[0], at[1], ("class", c)];
    assert_eq!(
        value(&m, "golive_request_errors_total", &class("timeout")),
        Some(1.0)
    );
    // Every known class exists from the start, at 0.
    assert_eq!(
        value(&m, "golive_request_errors_total", &class("connect")),
        Some(0.0)
    );
}

#[test]
fn unknown_error_classes_count_as_other_and_add_no_series() {
    let m = metrics();
    let r = m.request("s", "r");
    let c = m.check("health", "http");
    for i in 0..100 {
        r.error(&format!("connection reset #{i}"), Duration::from_millis(1));
        c.error(&format!("weird {i}"));
    }
    let errors = family(&m, "golive_request_errors_total").unwrap();
    assert_eq!(errors.get_metric().len(), ERROR_CLASSES.len());
    let other = [("scenario", "s"), ("request", "r"), ("class", "other")];
    assert_eq!(
        value(&m, "golive_request_errors_total", &other),
        Some(100.0)
    );
    let failures = family(&m, "golive_check_failures_total").unwrap();
    assert_eq!(failures.get_metric().len(), ERROR_CLASSES.len());
    let other = [("item", "health"), ("kind", "http"), ("class", "other")];
    assert_eq!(
        value(&m, "golive_check_failures_total", &other),
        Some(100.0)
    );
    assert_eq!(
        value(&m, "golive_check_samples_total", &other[..2]),
        Some(100.0)
    );
}

#[test]
fn verdict_is_one_hot_and_all_zero_until_decided() {
    let m = metrics();
    let hot = |m: &Metrics| -> Vec<f64> {
        VERDICTS
            .iter()
            .map(|v| value(m, "golive_verdict", &[("verdict", v)]).unwrap())
            .collect()
    };
    assert_eq!(hot(&m), [0.0, 0.0, 0.0, 0.0]);
    m.set_verdict("GO");
    assert_eq!(hot(&m), [1.0, 0.0, 0.0, 0.0]);
    m.set_verdict("NO-GO"); // the people's spelling means NO_GO
    assert_eq!(hot(&m), [0.0, 1.0, 0.0, 0.0]);
    m.set_verdict("ROLLBACK");
    assert_eq!(hot(&m), [0.0, 0.0, 0.0, 1.0]);
    m.set_verdict("MAYBE");
    assert_eq!(hot(&m), [0.0, 0.0, 0.0, 0.0]);
    assert_eq!(
        family(&m, "golive_verdict").unwrap().get_metric().len(),
        VERDICTS.len()
    );
}

#[test]
fn item_outcome_is_one_hot_per_item() {
    let m = metrics();
    m.set_item_outcome("health", "FAIL");
    m.set_item_outcome("latency", "INCONCLUSIVE");
    m.set_item_outcome("health", "PASS");
    let get = |item, o| value(&m, "golive_item_outcome", &[("item", item), ("outcome", o)]);
    let health: Vec<_> = OUTCOMES.iter().map(|o| get("health", o)).collect();
    assert_eq!(health, [Some(1.0), Some(0.0), Some(0.0)]);
    let latency: Vec<_> = OUTCOMES.iter().map(|o| get("latency", o)).collect();
    assert_eq!(latency, [Some(0.0), Some(0.0), Some(1.0)]);
    m.set_item_outcome("health", "SKIPPED");
    assert_eq!(get("health", "PASS"), Some(0.0));
    assert_eq!(get("health", "SKIPPED"), None);
}

#[test]
fn rule_state_and_firing_move_together() {
    let m = metrics();
    let state = |m: &Metrics| {
        let rule = [("rule", "error-rate")];
        (
            value(m, "golive_rule_state", &rule),
            value(m, "golive_rule_firing", &rule),
        )
    };
    m.set_rule_state("error-rate", RuleState::Ok);
    assert_eq!(state(&m), (Some(0.0), Some(0.0)));
    m.set_rule_state("error-rate", RuleState::Pending);
    assert_eq!(state(&m), (Some(1.0), Some(0.0)));
    m.set_rule_state("error-rate", RuleState::Firing);
    assert_eq!(state(&m), (Some(2.0), Some(1.0)));
}

#[test]
fn rates_drop_the_target_when_there_is_none() {
    let m = metrics();
    m.set_rates("steady", Some(100.0), 99.0);
    assert_eq!(
        value(
            &m,
            "golive_target_rate_per_second",
            &[("scenario", "steady")]
        ),
        Some(100.0)
    );
    m.set_rates("steady", None, 42.0);
    assert_eq!(
        value(
            &m,
            "golive_target_rate_per_second",
            &[("scenario", "steady")]
        ),
        None
    );
    assert_eq!(
        value(
            &m,
            "golive_achieved_rate_per_second",
            &[("scenario", "steady")]
        ),
        Some(42.0)
    );
}

#[test]
fn exit_code_is_absent_until_set() {
    let m = metrics();
    assert!(family(&m, "golive_exit_code").is_none());
    m.set_exit_code(5);
    assert_eq!(value(&m, "golive_exit_code", &[]), Some(5.0));
    let start = value(&m, "golive_run_start_time_seconds", &[]).unwrap();
    assert!(
        start > 1.7e9,
        "start time {start} is not a Unix time in seconds"
    );
}

#[test]
fn metrics_are_shareable_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Metrics>();
    shareable::<super::RequestMetrics>();
    shareable::<super::CheckMetrics>();
}

#[test]
fn every_failure_class_of_the_checks_and_the_load_has_its_own_label() {
    use crate::tally::FailureClass as F;
    // An exhaustive match, so a new class fails to compile here until it is listed.
    let all = |c: F| match c {
        F::Connect
        | F::Timeout
        | F::Tls
        | F::Status4xx
        | F::Status5xx
        | F::Expectation
        | F::Protocol
        | F::Setup => c.as_str(),
    };
    for c in [
        F::Connect,
        F::Timeout,
        F::Tls,
        F::Status4xx,
        F::Status5xx,
        F::Expectation,
        F::Protocol,
        F::Setup,
    ] {
        assert_eq!(
            names::error_class(all(c)),
            c.as_str(),
            "{c:?} would count as other"
        );
    }
}
