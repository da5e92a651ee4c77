//! Before and after: whether a run's latency or error rate changed against a baseline run
//! (evidence.md, "Baselines"). Latency distributions are compared with a Mann-Whitney U
//! test computed from the histogram bins; error counts, which are sparse, with Fisher's
//! exact test. A change is a REGRESSION or an IMPROVEMENT only when it is both significant
//! (p < 0.01) and material (p95 moved by more than 10%); fewer than 50 latency samples on
//! either side is INCONCLUSIVE.

use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Discrete, Hypergeometric, Normal};
use std::collections::BTreeMap;

/// The significance level of both tests.
pub const ALPHA: f64 = 0.01;
/// A p95 ratio beyond this (current/base) is material: up more than 10%.
pub const MATERIAL_RATIO: f64 = 1.10;
/// Fewest latency samples on each side for a latency verdict.
pub const MIN_SAMPLES: u64 = 50;

/// What became of one measure between the baseline and the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Change {
    Regression,
    Improvement,
    NoSignificantChange,
    Inconclusive,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Regression => "REGRESSION",
            Change::Improvement => "IMPROVEMENT",
            Change::NoSignificantChange => "NO SIGNIFICANT CHANGE",
            Change::Inconclusive => "INCONCLUSIVE",
        }
    }

    /// The verdict of an item from its measures: a regression anywhere wins, then a measure
    /// that could not be judged, then an improvement.
    pub fn worst(self, other: Change) -> Change {
        let rank = |c: Change| match c {
            Change::Regression => 3,
            Change::Inconclusive => 2,
            Change::Improvement => 1,
            Change::NoSignificantChange => 0,
        };
        if rank(self) >= rank(other) {
            self
        } else {
            other
        }
    }
}

/// A Mann-Whitney U test of current against base.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MannWhitney {
    pub n_base: u64,
    pub n_current: u64,
    /// U of the current run: pairs (base, current) where current is slower, ties counting
    /// one half.
    pub u_current: f64,
    /// Two-sided p, normal approximation with tie and continuity correction (as
    /// `scipy.stats.mannwhitneyu(method="asymptotic")`).
    pub p: f64,
    /// Probability of superiority, U/(n1*n2): the chance that a random current sample is
    /// slower than a random base sample (ties one half). 0.5 means no shift.
    pub superiority: f64,
}

/// The test from two histograms. Both must share bucket edges (every histogram golive
/// decodes does), so a bucket is one tied value: samples within the histogram's
/// resolution (3 significant digits, 0.1%) of each other count as ties, which the tie
/// correction accounts for. `None` when either side is empty.
pub fn mann_whitney(base: &Histogram<u64>, current: &Histogram<u64>) -> Option<MannWhitney> {
    mann_whitney_counts(&bins(base), &bins(current))
}

/// Recorded (value, count) pairs of a histogram, in value order.
fn bins(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_since_last_iteration()))
        .collect()
}

/// The test from (value, count) pairs: both sides merged in value order, each tied group
/// given its midrank.
pub fn mann_whitney_counts(base: &[(u64, u64)], current: &[(u64, u64)]) -> Option<MannWhitney> {
    let mut merged: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for &(v, c) in base {
        merged.entry(v).or_default().0 += c as f64;
    }
    for &(v, c) in current {
        merged.entry(v).or_default().1 += c as f64;
    }
    let n1: f64 = merged.values().map(|c| c.0).sum();
    let n2: f64 = merged.values().map(|c| c.1).sum();
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let (mut below, mut rank_sum_current, mut ties) = (0.0f64, 0.0f64, 0.0f64);
    for &(cb, cc) in merged.values() {
        let t = cb + cc;
        rank_sum_current += cc * (below + (t + 1.0) / 2.0);
        ties += t * t * t - t;
        below += t;
    }
    let n = n1 + n2;
    let u = rank_sum_current - n2 * (n2 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let p = if variance <= 0.0 {
        // Every sample tied: nothing tells the runs apart.
        1.0
    } else {
        let z = ((u - mean).abs() - 0.5).max(0.0) / variance.sqrt();
        let sf: f64 = Normal::standard().sf(z);
        (2.0 * sf).min(1.0)
    };
    Some(MannWhitney {
        n_base: n1 as u64,
        n_current: n2 as u64,
        u_current: u,
        p,
        superiority: u / (n1 * n2),
    })
}

/// Two-sided Fisher exact test of `errors_base` in `n_base` against `errors_current` in
/// `n_current`: the probability, given both margins, of a table at most as likely as the
/// one seen (R's and scipy's definition, with the same 1e-7 relative tolerance).
pub fn fisher_exact(errors_base: u64, n_base: u64, errors_current: u64, n_current: u64) -> f64 {
    let population = n_base + n_current;
    let successes = errors_base + errors_current;
    let Ok(h) = Hypergeometric::new(population, successes, n_base) else {
        return 1.0;
    };
    let low = (n_base + successes).saturating_sub(population);
    let high = n_base.min(successes);
    let seen = h.ln_pmf(errors_base);
    let p: f64 = (low..=high)
        .map(|k| h.ln_pmf(k))
        .filter(|&l| l <= seen + 1e-7)
        .map(f64::exp)
        .sum();
    p.min(1.0)
}

/// The latency verdict from the test and the p95 ratio (current/base).
pub fn latency_change(test: Option<&MannWhitney>, p95_ratio: Option<f64>) -> Change {
    let (Some(t), Some(ratio)) = (test, p95_ratio) else {
        return Change::Inconclusive;
    };
    if t.n_base < MIN_SAMPLES || t.n_current < MIN_SAMPLES {
        return Change::Inconclusive;
    }
    if t.p >= ALPHA {
        return Change::NoSignificantChange;
    }
    // The shift and the p95 must agree: a slower bulk with a faster tail is no regression.
    if ratio > MATERIAL_RATIO && t.superiority > 0.5 {
        Change::Regression
    } else if ratio < 1.0 / MATERIAL_RATIO && t.superiority < 0.5 {
        Change::Improvement
    } else {
        Change::NoSignificantChange
    }
}

/// The error verdict: significant by Fisher's exact test, in the direction of the rates.
pub fn error_change(
    errors_base: u64,
    n_base: u64,
    errors_current: u64,
    n_current: u64,
) -> (f64, Change) {
    if n_base == 0 || n_current == 0 {
        return (1.0, Change::Inconclusive);
    }
    let p = fisher_exact(errors_base, n_base, errors_current, n_current);
    let (rb, rc) = (
        errors_base as f64 / n_base as f64,
        errors_current as f64 / n_current as f64,
    );
    let change = if p >= ALPHA {
        Change::NoSignificantChange
    } else if rc > rb {
        Change::Regression
    } else {
        Change::Improvement
    };
    (p, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (value, count) pairs.
    type Bins<'a> = &'a [(u64, u64)];

    fn counts(values: &[(u64, u64)]) -> Vec<(u64, u64)> {
        values.to_vec()
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(f64::MIN_POSITIVE)
    }

    /// Reference values from scipy 1.x:
    /// `mannwhitneyu(current, base, method="asymptotic", use_continuity=True)`.
    #[test]
    fn mann_whitney_matches_scipy_with_ties() {
        let cases: [(Bins, Bins, f64, f64); 3] = [
            // base [1,2,2,3,4], current [2,3,3,5,6,6]: U = 24, p = 0.1130…
            (
                &[(1, 1), (2, 2), (3, 1), (4, 1)],
                &[(2, 1), (3, 2), (5, 1), (6, 2)],
                24.0,
                1.130499788563e-01,
            ),
            // base 10×40, 12×20; current 11×30, 13×30.
            (
                &[(10, 40), (12, 20)],
                &[(11, 30), (13, 30)],
                3000.0,
                6.217426329301e-11,
            ),
            // Three heavily tied values, one extra sample: no difference.
            (
                &[(100, 30), (200, 30), (300, 30)],
                &[(100, 30), (200, 30), (300, 31)],
                4125.0,
                9.292576515628e-01,
            ),
        ];
        for (base, current, u, p) in cases {
            let t = mann_whitney_counts(base, current).unwrap();
            assert_eq!(t.u_current, u, "{base:?} {current:?}");
            assert!(close(t.p, p, 1e-6), "p = {} want {p}", t.p);
        }
        // 1..=60 against 31..=90, no ties: U = 3150, p = 1.4065e-12, superiority 0.875.
        let base: Vec<(u64, u64)> = (1..=60).map(|v| (v, 1)).collect();
        let current: Vec<(u64, u64)> = (31..=90).map(|v| (v, 1)).collect();
        let t = mann_whitney_counts(&base, &current).unwrap();
        assert_eq!(t.u_current, 3150.0);
        assert!(close(t.p, 1.406527590397e-12, 1e-5), "p = {}", t.p);
        assert!(close(t.superiority, 0.875, 1e-12));
    }

    #[test]
    fn mann_whitney_by_hand_and_edge_cases() {
        // base [1, 2], current [2, 3]: pairs (1,2) (1,3) (2,3) slower, (2,2) tied → U = 3.5.
        let t =
            mann_whitney_counts(&counts(&[(1, 1), (2, 1)]), &counts(&[(2, 1), (3, 1)])).unwrap();
        assert_eq!(t.u_current, 3.5);
        assert_eq!(t.superiority, 3.5 / 4.0);
        // All tied: p = 1, superiority one half.
        let t = mann_whitney_counts(&[(5, 100)], &[(5, 80)]).unwrap();
        assert_eq!((t.p, t.superiority), (1.0, 0.5));
        assert!(mann_whitney_counts(&[], &[(5, 1)]).is_none());
    }

    #[test]
    fn mann_whitney_reads_histogram_buckets() {
        let mut base = Histogram::<u64>::new(3).unwrap();
        let mut current = Histogram::<u64>::new(3).unwrap();
        for v in 1..=60u64 {
            base.record(v * 1000).unwrap();
            current.record((v + 30) * 1000).unwrap();
        }
        let t = mann_whitney(&base, &current).unwrap();
        assert_eq!((t.n_base, t.n_current, t.u_current), (60, 60, 3150.0));
    }

    /// Reference values from `scipy.stats.fisher_exact([[e1, n1 - e1], [e2, n2 - e2]])`.
    #[test]
    fn fisher_exact_matches_scipy() {
        for (e1, n1, e2, n2, p) in [
            (0, 1000, 12, 1000, 4.723406974636e-04),
            (1, 100, 3, 100, 6.212024589955e-01),
            (5, 1000, 5, 1000, 1.0),
            (0, 200, 200, 200, 1.942643449522e-119),
        ] {
            let got = fisher_exact(e1, n1, e2, n2);
            assert!(
                close(got, p, 1e-6),
                "{e1}/{n1} vs {e2}/{n2}: {got} want {p}"
            );
        }
        assert_eq!(error_change(0, 1000, 12, 1000).1, Change::Regression);
        assert_eq!(error_change(12, 1000, 0, 1000).1, Change::Improvement);
        assert_eq!(error_change(1, 100, 3, 100).1, Change::NoSignificantChange);
    }

    fn test(n: u64, p: f64, superiority: f64) -> MannWhitney {
        MannWhitney {
            n_base: n,
            n_current: n,
            u_current: 0.0,
            p,
            superiority,
        }
    }

    #[test]
    fn fifty_samples_each_side_or_inconclusive() {
        let significant = test(49, 1e-9, 0.9);
        assert_eq!(
            latency_change(Some(&significant), Some(2.0)),
            Change::Inconclusive
        );
        let one_side = MannWhitney {
            n_base: 50,
            n_current: 49,
            ..significant
        };
        assert_eq!(
            latency_change(Some(&one_side), Some(2.0)),
            Change::Inconclusive
        );
        assert_eq!(
            latency_change(Some(&test(50, 1e-9, 0.9)), Some(2.0)),
            Change::Regression
        );
        assert_eq!(latency_change(None, None), Change::Inconclusive);
    }

    #[test]
    fn significance_and_material_effect_both_needed() {
        // Significant but p95 up only 10%: not material.
        assert_eq!(
            latency_change(Some(&test(500, 1e-6, 0.6)), Some(1.10)),
            Change::NoSignificantChange
        );
        // Material but not significant.
        assert_eq!(
            latency_change(Some(&test(500, 0.011, 0.6)), Some(1.5)),
            Change::NoSignificantChange
        );
        assert_eq!(
            latency_change(Some(&test(500, 0.009, 0.6)), Some(1.11)),
            Change::Regression
        );
        assert_eq!(
            latency_change(Some(&test(500, 0.009, 0.4)), Some(0.85)),
            Change::Improvement
        );
        // Tail and bulk disagree.
        assert_eq!(
            latency_change(Some(&test(500, 1e-6, 0.4)), Some(1.5)),
            Change::NoSignificantChange
        );
    }
}
