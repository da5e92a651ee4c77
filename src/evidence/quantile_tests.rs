//! Tests for `judge_quantile`, kept beside quantile.rs but in their own file so each stays
//! readable in one sitting.

use super::*;
use Outcome::*;

const C95: Confidence = Confidence::DEFAULT;
const MS: u64 = 1_000;

/// A latency histogram as golive records it: µs, 1 µs to 1 h, 3 significant digits.
fn hist(samples: &[(u64, u64)]) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for &(value, count) in samples {
        h.record_n(value, count).unwrap();
    }
    h
}

fn below(h: &Histogram<u64>, q: f64, t: u64) -> QuantileJudgement {
    judge_quantile(h, 0, q, t, Tail::Below, C95)
}

#[test]
fn p99_needs_299_samples() {
    let j = below(&hist(&[(5 * MS, 298)]), 0.99, 300 * MS);
    assert_eq!(
        (j.outcome, j.samples_needed),
        (Inconclusive, Some(299)),
        "{}",
        j.why
    );
    assert!(j.why.ends_with("299 samples would settle it"), "{}", j.why);
    let j = below(&hist(&[(5 * MS, 299)]), 0.99, 300 * MS);
    assert_eq!((j.outcome, j.k_beyond), (Pass, 0), "{}", j.why);
}

#[test]
fn p99_never_passes_below_299_samples() {
    for n in 1..299 {
        let j = below(&hist(&[(5 * MS, n)]), 0.99, 300 * MS);
        assert_eq!(j.outcome, Inconclusive, "n = {n}: {}", j.why);
        assert_eq!(j.samples_needed, Some(299), "n = {n}");
    }
}

#[test]
fn p999_needs_2995_samples() {
    let j = below(&hist(&[(5 * MS, 2994)]), 0.999, 300 * MS);
    assert_eq!(
        (j.outcome, j.samples_needed),
        (Inconclusive, Some(2995)),
        "{}",
        j.why
    );
    let j = below(&hist(&[(5 * MS, 2995)]), 0.999, 300 * MS);
    assert_eq!(j.outcome, Pass, "{}", j.why);
}

#[test]
fn observed_quantile_at_or_over_the_threshold_fails() {
    // p95 lands among the 500 ms samples.
    let j = below(&hist(&[(10 * MS, 90), (500 * MS, 10)]), 0.95, 300 * MS);
    assert_eq!(j.outcome, Fail, "{}", j.why);
    assert_eq!(j.k_beyond, 10);
    assert!(j.observed_us.unwrap() >= 500 * MS);
    // Equal to the threshold breaks "<" too, even with only two samples.
    let j = below(&hist(&[(300 * MS, 2)]), 0.95, 300 * MS);
    assert_eq!(j.outcome, Fail, "{}", j.why);
}

#[test]
fn a_bucket_straddling_the_threshold_counts_against_the_claim() {
    // 299,900 µs shares an HDR bucket with 300,000 µs at 3 significant digits.
    let j = below(&hist(&[(5 * MS, 10_000), (299_900, 1)]), 0.99, 300 * MS);
    assert_eq!(j.k_beyond, 1);
    assert_eq!(j.outcome, Pass, "{}", j.why);
}

#[test]
fn above_is_the_mirror_on_the_lower_tail() {
    let above = |h: &Histogram<u64>, q: f64, t: u64| judge_quantile(h, 0, q, t, Tail::Above, C95);
    // "p50 > 2 ms": 0 of 4 samples <= 2 ms gives an upper bound of 52.7%, not below 50%.
    let j = above(&hist(&[(5 * MS, 4)]), 0.5, 2 * MS);
    assert_eq!(
        (j.outcome, j.samples_needed),
        (Inconclusive, Some(5)),
        "{}",
        j.why
    );
    let j = above(&hist(&[(5 * MS, 5)]), 0.5, 2 * MS);
    assert_eq!(j.outcome, Pass, "{}", j.why);
    // "p5 > 2 ms" allows at most 5% of samples <= 2 ms: the same 59 as "< 5%".
    let j = above(&hist(&[(5 * MS, 58)]), 0.05, 2 * MS);
    assert_eq!(
        (j.outcome, j.samples_needed),
        (Inconclusive, Some(59)),
        "{}",
        j.why
    );
    assert_eq!(above(&hist(&[(5 * MS, 59)]), 0.05, 2 * MS).outcome, Pass);
    // Observed p50 at or under T fails.
    let j = above(&hist(&[(MS, 60), (5 * MS, 40)]), 0.5, 2 * MS);
    assert_eq!((j.outcome, j.k_beyond), (Fail, 60), "{}", j.why);
    assert!(j.why.contains("60 samples <= 2 ms"), "{}", j.why);
}

#[test]
fn interval_brackets_the_observed_quantile() {
    // 100 µs to 10 s in even steps: a wide distribution spanning many buckets.
    let samples: Vec<(u64, u64)> = (1..=100_000).map(|i| (i * 100, 1)).collect();
    let h = hist(&samples);
    for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
        for tail in [Tail::Below, Tail::Above] {
            let j = judge_quantile(&h, 0, q, 20_000 * MS, tail, C95);
            let observed = j.observed_us.unwrap();
            let (lo, hi) = j.interval_us.unwrap();
            assert!(
                lo <= observed && observed <= hi,
                "q = {q}: {lo} {observed} {hi}"
            );
            assert!(lo < hi, "q = {q}");
        }
    }
    // The p50 interval of 100,000 samples spans ranks 49,690..50,310: about ±31 ms.
    let (lo, hi) = below(&h, 0.5, MS).interval_us.unwrap();
    assert!((4_960 * MS..4_975 * MS).contains(&lo), "{lo}");
    assert!((5_025 * MS..5_040 * MS).contains(&hi), "{hi}");
}

#[test]
fn interval_needs_enough_samples() {
    // n = 10, q = 0.99: the upper rank would be past the last sample.
    let j = below(&hist(&[(5 * MS, 10)]), 0.99, 300 * MS);
    assert_eq!(j.interval_us, None);
}

#[test]
fn no_data_is_inconclusive() {
    let j = below(&hist(&[]), 0.99, 300 * MS);
    assert_eq!(j.outcome, Inconclusive);
    assert_eq!((j.n, j.observed_us, j.upper_bound), (0, None, None));
    assert_eq!(j.samples_needed, Some(299));
    assert!(j.why.starts_with("no data: 0 samples"), "{}", j.why);
}

#[test]
fn invalid_quantiles_are_not_judged() {
    for q in [0.0, 1.0, 95.0, f64::NAN] {
        let j = below(&hist(&[(5 * MS, 1000)]), q, 300 * MS);
        assert_eq!(j.outcome, Inconclusive, "{q}");
        assert!(j.why.contains("not a quantile"), "{}", j.why);
    }
}

#[test]
fn why_lines() {
    // p95 (rank 4,560 of 4,800) falls among the 212 ms samples, p99.5 (rank 4,776) among
    // the 31 at 400 ms.
    let h = hist(&[(100 * MS, 4_000), (212 * MS, 769), (400 * MS, 31)]);
    assert_eq!(
        below(&h, 0.95, 300 * MS).why,
        "p95 = 212 ms (n = 4,800); 31 samples >= 300 ms: p95 < 300 ms holds at 95% confidence"
    );
    assert_eq!(
        below(&h, 0.995, 300 * MS).why,
        "p99.5 = 400 ms (n = 4,800); 31 samples >= 300 ms: observed 0.646% >= 300 ms breaks \
         p99.5 < 300 ms (allowed 0.5%), not significant at 95% (lower bound 0.467%); 7,897 \
         samples would settle it if the rate held"
    );
    let h = hist(&[(100 * MS, 4_000), (212 * MS, 700), (400 * MS, 100)]);
    assert_eq!(
        below(&h, 0.99, 300 * MS).why,
        "p99 = 400 ms (n = 4,800); 100 samples >= 300 ms (2.08%): at least 1.75% of samples \
         >= 300 ms at 95% confidence, more than the 1% p99 < 300 ms allows"
    );
    assert_eq!(
        below(&hist(&[(5 * MS, 298)]), 0.99, 300 * MS).why,
        "p99 = 5 ms (n = 298); 0 samples >= 300 ms: p99 < 300 ms is not supported at 95% \
         confidence (upper bound 1.0003% of samples >= 300 ms, needs < 1%); \
         299 samples would settle it"
    );
    assert_eq!(
        below(&hist(&[]), 0.999, 300 * MS).why,
        "no data: 0 samples; supporting p99.9 < 300 ms at 95% confidence needs at least \
         2,995 samples"
    );
}

#[test]
fn serialises_for_the_report() {
    let j = below(&hist(&[(5 * MS, 299)]), 0.99, 300 * MS);
    let v = serde_json::to_value(&j).unwrap();
    assert_eq!(v["outcome"], "PASS");
    assert_eq!(serde_json::from_value::<QuantileJudgement>(v).unwrap(), j);
    assert_eq!(serde_json::to_string(&Tail::Above).unwrap(), "\"above\"");
}

#[test]
fn p99_7_on_5080_samples_is_two_sided() {
    // "p99.7 < 450ms" allows 0.3% beyond; the healthy system showed 18 of 5,080.
    let run = |beyond: u64| {
        below(
            &hist(&[(100 * MS, 5080 - beyond), (480 * MS, beyond)]),
            0.997,
            450 * MS,
        )
    };
    assert_eq!(run(5).outcome, Pass, "{}", run(5).why);
    let j = run(18);
    assert_eq!(j.outcome, Inconclusive, "{}", j.why);
    assert!(
        j.why.contains("observed 0.354% >= 450 ms breaks p99.7 < 450 ms (allowed 0.3%), not significant at 95%"),
        "{}",
        j.why
    );
    let j = run(40);
    assert_eq!(j.outcome, Fail, "{}", j.why);
    // A FAIL shows the lower bound that refutes the claim, never an upper bound.
    assert!(j.why.contains("at least 0.5"), "{}", j.why);
    assert!(!j.why.contains("upper"), "{}", j.why);
}

#[test]
fn failed_samples_count_beyond_any_threshold() {
    // 221 fast successes and 79 failures: p95 < 100 ms must not pass on the successes.
    let h = hist(&[(2 * MS, 221)]);
    let j = judge_quantile(&h, 79, 0.95, 100 * MS, Tail::Below, C95);
    assert_eq!((j.n, j.k_beyond, j.failed), (300, 79, 79));
    assert_eq!(j.outcome, Fail, "{}", j.why);
    assert!(j.observed_failed, "{j:?}");
    assert_eq!(j.observed_us, None);
    // The successful samples' own p95 is kept beside it.
    assert_eq!(j.success_observed_us, Some(2 * MS));
    assert!(j.why.contains("79 of them failed"), "{}", j.why);
    // One failure among 400 fast samples still supports p95 < 100 ms.
    let h = hist(&[(2 * MS, 399)]);
    let j = judge_quantile(&h, 1, 0.95, 100 * MS, Tail::Below, C95);
    assert_eq!((j.outcome, j.k_beyond, j.n), (Pass, 1, 400), "{}", j.why);
    assert!(!j.observed_failed);
    // Every sample failed: no latency at all, still a judged FAIL rather than no data.
    let j = judge_quantile(&hist(&[]), 300, 0.95, 100 * MS, Tail::Below, C95);
    assert_eq!(j.outcome, Fail, "{}", j.why);
}
