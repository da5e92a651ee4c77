use super::*;
use crate::tally::{encode_histogram, new_histogram};

/// A histogram of `n` samples spread evenly over `from_us..from_us + 10 ms`.
fn spread(n: u64, from_us: u64) -> Histogram<u64> {
    let mut h = new_histogram();
    for i in 0..n {
        h.record(from_us + i * 10_000 / n).unwrap();
    }
    h
}

fn measured(n: u64, from_us: u64, requests: u64, errors: u64) -> Measured {
    (Some(spread(n, from_us)), requests, errors)
}

#[test]
fn latency_twice_as_slow_is_a_regression_with_its_effect_size() {
    let i = compare_item(
        "api",
        measured(200, 10_000, 200, 0),
        measured(200, 20_000, 200, 0),
    );
    assert_eq!(i.verdict, Change::Regression, "{}", i.why);
    let t = i.latency_test.unwrap();
    assert!(t.p < 1e-10 && t.superiority > 0.99, "{t:?}");
    assert!(i.p95_ratio.unwrap() > 1.5);
    assert!(
        i.why.contains("latency regression: U-test p = "),
        "{}",
        i.why
    );
    assert_eq!(exit_code(i.verdict), exit::NO_GO);
    // The mirror.
    let i = compare_item(
        "api",
        measured(200, 20_000, 200, 0),
        measured(200, 10_000, 200, 0),
    );
    assert_eq!(i.verdict, Change::Improvement, "{}", i.why);
    assert_eq!(exit_code(i.verdict), exit::GO);
}

#[test]
fn more_errors_regress_even_when_latency_holds() {
    // 0 of 1,000 → 20 of 1,000: Fisher p ≈ 1e-6.
    let i = compare_item(
        "api",
        measured(200, 10_000, 1000, 0),
        measured(200, 10_000, 1000, 20),
    );
    assert_eq!(i.latency, Change::NoSignificantChange, "{}", i.why);
    assert_eq!(i.errors, Change::Regression);
    assert_eq!(i.verdict, Change::Regression);
    assert!(i.errors_p < 0.01);
    assert!(i.why.contains("significantly more"), "{}", i.why);
}

#[test]
fn too_few_samples_or_none_succeeded_is_inconclusive() {
    let i = compare_item(
        "api",
        measured(49, 10_000, 49, 0),
        measured(500, 30_000, 500, 0),
    );
    assert_eq!(i.verdict, Change::Inconclusive, "{}", i.why);
    assert!(i.why.contains("49 and 500 samples, 50 needed"), "{}", i.why);
    assert_eq!(exit_code(i.verdict), exit::INCONCLUSIVE);
    // Every current sample failed: no latency, but the errors speak.
    let i = compare_item("api", measured(100, 10_000, 100, 0), (None, 100, 100));
    assert_eq!(i.latency, Change::Inconclusive);
    assert_eq!(i.verdict, Change::Regression);
}

#[test]
fn a_load_item_is_compared_on_its_overall_scope() {
    let overall = serde_json::json!({
        "name": "*", "requests": 300, "errors": 2, "errors_by_class": {},
        "error_reasons": [],
        "latency_histogram": encode_histogram(&spread(298, 5_000)),
    });
    let load = serde_json::json!({
        "scenario": "s", "model": "open", "planned_s": 1.0, "duration_s": 1.0,
        "warm_up_s": 0.0, "achieved_rps": 300.0, "requests": 300, "errors": 2,
        "warm_up_requests": 0, "dropped": 0, "late": 0, "overall": overall,
        "by_request": [], "timeline": [], "rules": [], "stopped_early": false,
    });
    let evidence = ItemEvidence {
        load: Some(serde_json::from_value(load).expect("a LoadResult")),
        ..ItemEvidence::default()
    };
    let (h, requests, errors) = super::measured(&evidence).expect("measured");
    assert_eq!((h.map(|h| h.len()), requests, errors), (Some(298), 300, 2));
    assert!(super::measured(&ItemEvidence::default()).is_none());
}
