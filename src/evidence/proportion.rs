//! Claims on a failure proportion ("error_rate < 1%", "success_rate > 99%" as its mirror,
//! availability over probes): FAIL on an observed breach, PASS only when the Clopper-Pearson
//! upper bound is below the limit, INCONCLUSIVE in between, with the samples that would
//! settle it.

use super::bounds::{samples_needed_at_rate, samples_needed_zero_failures, upper_bound};
use super::format::{count_of, percent, percent_beside, percent_exact, thousands, Rounding};
use super::{Confidence, Outcome, MAX_SAMPLES_NEEDED};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The verdict on "failure proportion < limit" and everything a report needs to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProportionJudgement {
    pub outcome: Outcome,
    /// Failures observed.
    pub k: u64,
    /// Trials observed.
    pub n: u64,
    /// k/n; `None` when n = 0.
    pub observed: Option<f64>,
    /// One-sided upper bound on the failure proportion at the confidence used; `None` when
    /// n = 0 or the limit was not a proportion.
    pub upper_bound: Option<f64>,
    /// The claim's limit (exclusive), as a fraction.
    pub limit: f64,
    /// When INCONCLUSIVE: total samples that would settle it if the observed proportion
    /// held (with no data: the fewest that could, all failure-free). `None` otherwise, or
    /// when more than `MAX_SAMPLES_NEEDED` would be needed.
    pub samples_needed: Option<u64>,
    /// One line that says what was measured and what it supports.
    pub why: String,
}

/// Judges the claim "failure proportion < `limit`" (`limit` exclusive, in (0, 1]) on `k`
/// failures in `n` trials at confidence `c`, per evidence.md: FAIL if k/n >= limit, PASS
/// if the upper bound is below the limit, otherwise INCONCLUSIVE. No data is never PASS.
pub fn judge_proportion(k: u64, n: u64, limit: f64, c: Confidence) -> ProportionJudgement {
    let mut j = ProportionJudgement {
        outcome: Outcome::Inconclusive,
        k,
        n,
        observed: None,
        upper_bound: None,
        limit,
        samples_needed: None,
        why: String::new(),
    };
    // The plan layer validates limits; a bad one reaching here is reported, not judged.
    if !(limit > 0.0 && limit <= 1.0) {
        j.why = format!("limit {limit} is not a proportion in (0, 1]: nothing to judge");
        return j;
    }
    let claim = format!("< {}", percent_exact(limit));
    if n == 0 {
        let needed = samples_needed_zero_failures(limit, c);
        j.samples_needed = (needed <= MAX_SAMPLES_NEEDED).then_some(needed);
        j.why = no_data_why(&claim, j.samples_needed, c);
        return j;
    }
    let observed = k as f64 / n as f64;
    let weighed = weigh(k, n, limit, breaches(k, n, limit), c);
    j.observed = Some(observed);
    j.upper_bound = Some(weighed.upper_bound);
    j.outcome = weighed.outcome;
    j.samples_needed = weighed.samples_needed;
    let counts = format!("{} in {}", count_of(k, "failure"), count_of(n, "sample"));
    j.why = match weighed.outcome {
        Outcome::Fail => format!(
            "{counts} ({}) breaks the limit of {}",
            percent_beside(observed, limit, Rounding::Nearest),
            percent_exact(limit)
        ),
        Outcome::Pass => format!(
            "{counts}: failure rate below {} at {c} confidence (limit {})",
            percent_beside(weighed.upper_bound, limit, Rounding::Up),
            percent_exact(limit)
        ),
        Outcome::Inconclusive => {
            let shown = if k == 0 {
                counts
            } else {
                format!("{counts} ({})", percent(observed))
            };
            format!(
                "{shown}: upper bound {} at {c} confidence is not below {}; {}",
                percent_beside(weighed.upper_bound, limit, Rounding::Up),
                percent_exact(limit),
                settle_hint(k, j.samples_needed)
            )
        }
    };
    j
}

/// The part of a verdict shared by proportions and quantiles, which differ only in what
/// counts as an observed breach.
pub(super) struct Weighed {
    pub outcome: Outcome,
    pub upper_bound: f64,
    pub samples_needed: Option<u64>,
}

/// FAIL on an observed breach; PASS if the upper bound on k failures in n (n > 0) is below
/// `limit`; otherwise INCONCLUSIVE with the samples that would settle it at this rate.
pub(super) fn weigh(k: u64, n: u64, limit: f64, breached: bool, c: Confidence) -> Weighed {
    let upper = upper_bound(k, n, c);
    let (outcome, samples_needed) = if breached {
        (Outcome::Fail, None)
    } else if upper < limit {
        (Outcome::Pass, None)
    } else {
        (
            Outcome::Inconclusive,
            samples_needed_at_rate(k, n, limit, c),
        )
    };
    Weighed {
        outcome,
        upper_bound: upper,
        samples_needed,
    }
}

/// k/n >= limit, decided so that float noise at exact equality (1 in 1,000 against a limit
/// parsed as 0.1/100) falls on the breaking side, as equality itself does.
fn breaches(k: u64, n: u64, limit: f64) -> bool {
    let allowed = limit * n as f64;
    k as f64 >= allowed - allowed * 1e-12
}

/// "no data: 0 samples; ..." with the fewest samples that could support the claim.
pub(super) fn no_data_why(claim: &str, needed: Option<u64>, c: Confidence) -> String {
    match needed {
        Some(needed) => format!(
            "no data: 0 samples; supporting {claim} at {c} confidence needs at least {}",
            count_of(needed, "sample")
        ),
        None => format!("no data: 0 samples; {claim} cannot be supported by sampling"),
    }
}

/// "; 299 samples would settle it" (and how it could not be settled).
pub(super) fn settle_hint(k: u64, needed: Option<u64>) -> String {
    match (needed, k) {
        (Some(needed), 0) => format!("{} would settle it", count_of(needed, "sample")),
        (Some(needed), _) => format!(
            "{} would settle it if the rate held",
            count_of(needed, "sample")
        ),
        (None, _) => format!(
            "at this rate not even {} samples would settle it",
            thousands(MAX_SAMPLES_NEEDED)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    const C95: Confidence = Confidence::DEFAULT;

    #[test]
    fn outcomes_table() {
        // (k, n, limit, outcome, samples_needed)
        for (k, n, limit, outcome, needed) in [
            (0, 298, 0.01, Inconclusive, Some(299)),
            (0, 299, 0.01, Pass, None),
            (0, 58, 0.05, Inconclusive, Some(59)),
            (0, 59, 0.05, Pass, None),
            (0, 2994, 0.001, Inconclusive, Some(2995)),
            (0, 2995, 0.001, Pass, None),
            (0, 1200, 0.01, Pass, None),
            // The seeds' "100% success over 15 connections" supports only < ~18%.
            (0, 15, 0.01, Inconclusive, Some(299)),
            (0, 15, 0.2, Pass, None),
            // Observed at or over the limit fails, however few samples.
            (1, 1, 0.01, Fail, None),
            (1, 2, 0.5, Fail, None),
            (12, 300, 0.01, Fail, None),
            (1, 100, 0.01, Fail, None),
            (100, 100, 1.0, Fail, None),
            (99, 100, 1.0, Pass, None),
        ] {
            let j = judge_proportion(k, n, limit, C95);
            assert_eq!(j.outcome, outcome, "{k}/{n} < {limit}: {}", j.why);
            assert_eq!(j.samples_needed, needed, "{k}/{n} < {limit}: {}", j.why);
            assert_eq!((j.k, j.n, j.limit), (k, n, limit));
        }
    }

    #[test]
    fn a_limit_parsed_with_float_noise_still_fails_at_equality() {
        // 0.1 / 100 is a hair above 0.001; 1 in 1,000 is still on the limit.
        let j = judge_proportion(1, 1000, 0.1 / 100.0, C95);
        assert_eq!(j.outcome, Fail, "{}", j.why);
    }

    #[test]
    fn inconclusive_with_failures_estimates_samples_at_the_observed_rate() {
        let j = judge_proportion(3, 400, 0.01, C95);
        assert_eq!(j.outcome, Inconclusive);
        let needed = j.samples_needed.unwrap();
        assert!(needed > 400);
        let settled = judge_proportion((3 * needed).div_ceil(400), needed, 0.01, C95);
        assert_eq!(settled.outcome, Pass, "{}", settled.why);
        assert!(j.why.contains("if the rate held"), "{}", j.why);
        // 0.99% against 1% takes millions; 0.9999% would take tens of billions.
        let j = judge_proportion(99, 10_000, 0.01, C95);
        assert!(j.samples_needed.is_some_and(|n| n > 1_000_000), "{}", j.why);
        let j = judge_proportion(9_999, 1_000_000, 0.01, C95);
        assert_eq!((j.outcome, j.samples_needed), (Inconclusive, None));
        assert!(j.why.contains("not even 1,000,000,000"), "{}", j.why);
    }

    #[test]
    fn no_data_is_never_a_pass() {
        let j = judge_proportion(0, 0, 0.01, C95);
        assert_eq!(j.outcome, Inconclusive);
        assert_eq!((j.observed, j.upper_bound), (None, None));
        assert_eq!(j.samples_needed, Some(299));
        assert!(j.why.starts_with("no data: 0 samples"), "{}", j.why);
        // Even a limit every bound meets needs data.
        assert_eq!(judge_proportion(0, 0, 1.0, C95).outcome, Inconclusive);
    }

    #[test]
    fn invalid_limits_are_not_judged() {
        for limit in [0.0, -0.1, 1.5, f64::NAN] {
            let j = judge_proportion(0, 1000, limit, C95);
            assert_eq!(j.outcome, Inconclusive, "{limit}");
            assert!(j.why.contains("not a proportion"), "{}", j.why);
        }
    }

    #[test]
    fn why_lines() {
        for (k, n, limit, want) in [
            (
                0,
                1200,
                0.01,
                "0 failures in 1,200 samples: failure rate below 0.25% at 95% confidence (limit 1%)",
            ),
            (
                0,
                298,
                0.01,
                "0 failures in 298 samples: upper bound 1.0003% at 95% confidence is not below 1%; 299 samples would settle it",
            ),
            (12, 300, 0.01, "12 failures in 300 samples (4%) breaks the limit of 1%"),
            (1, 1, 0.01, "1 failure in 1 sample (100%) breaks the limit of 1%"),
            (
                0,
                0,
                0.01,
                "no data: 0 samples; supporting < 1% at 95% confidence needs at least 299 samples",
            ),
        ] {
            assert_eq!(judge_proportion(k, n, limit, C95).why, want);
        }
    }

    #[test]
    fn serialises_for_the_report() {
        let j = judge_proportion(0, 299, 0.01, C95);
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["outcome"], "PASS");
        assert_eq!(v["samples_needed"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<ProportionJudgement>(v).unwrap(), j);
    }
}
