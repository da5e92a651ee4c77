//! Claims on a failure proportion ("error_rate < 1%", "success_rate > 99%" as its mirror,
//! availability over probes), judged two-sided (evidence.md, "Three outcomes"): PASS when
//! the Clopper-Pearson upper bound is below the limit, FAIL when the lower bound is at or
//! above it, INCONCLUSIVE in between, saying on which side the observation lies and how
//! many samples would settle it.

use super::bounds::{
    lower_bound, samples_needed_at_rate, samples_needed_to_fail, samples_needed_zero_failures,
    upper_bound,
};
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
    /// One-sided lower bound on the failure proportion at the confidence used (the bound a
    /// FAIL rests on); `None` when n = 0 or the limit was not a proportion.
    pub lower_bound: Option<f64>,
    /// The claim's limit (exclusive), as a fraction.
    pub limit: f64,
    /// When INCONCLUSIVE: total samples that would settle it if the observed proportion
    /// held, on the side the observation lies (with no data: the fewest that could
    /// support the claim, all failure-free). `None` otherwise, or when more than
    /// `MAX_SAMPLES_NEEDED` would be needed.
    pub samples_needed: Option<u64>,
    /// One line that says what was measured and what it supports.
    pub why: String,
}

/// Judges the claim "failure proportion < `limit`" (`limit` exclusive, in (0, 1]) on `k`
/// failures in `n` trials at confidence `c`, per evidence.md: PASS if the upper bound is
/// below the limit, FAIL if the lower bound is at or above it, otherwise INCONCLUSIVE. No
/// data is never PASS.
pub fn judge_proportion(k: u64, n: u64, limit: f64, c: Confidence) -> ProportionJudgement {
    let mut j = ProportionJudgement {
        outcome: Outcome::Inconclusive,
        k,
        n,
        observed: None,
        upper_bound: None,
        lower_bound: None,
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
    let weighed = weigh(k, n, limit, c);
    j.observed = Some(observed);
    j.upper_bound = Some(weighed.upper_bound);
    j.lower_bound = Some(weighed.lower_bound);
    j.outcome = weighed.outcome;
    j.samples_needed = weighed.samples_needed;
    let counts = format!("{} in {}", count_of(k, "failure"), count_of(n, "sample"));
    j.why = match weighed.outcome {
        Outcome::Fail => format!(
            "{counts} ({}): failure rate above {} at {c} confidence, which breaks the limit of {}",
            percent(observed),
            percent_beside(weighed.lower_bound, limit, Rounding::Down),
            percent_exact(limit)
        ),
        Outcome::Pass => format!(
            "{counts}: failure rate below {} at {c} confidence (limit {})",
            percent_beside(weighed.upper_bound, limit, Rounding::Up),
            percent_exact(limit)
        ),
        Outcome::Inconclusive if weighed.breach_side => format!(
            "{counts}: observed {} breaks {claim}, not significant at {c} (lower bound {}); {}",
            percent_beside(observed, limit, Rounding::Nearest),
            percent_beside(weighed.lower_bound, limit, Rounding::Down),
            settle_hint(k, j.samples_needed)
        ),
        Outcome::Inconclusive | Outcome::Waived => {
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

/// The part of a verdict shared by proportions and quantiles.
pub(super) struct Weighed {
    pub outcome: Outcome,
    pub upper_bound: f64,
    pub lower_bound: f64,
    /// The observation is on the breaking side (k/n >= limit).
    pub breach_side: bool,
    pub samples_needed: Option<u64>,
}

/// Two-sided: PASS if the upper bound on k failures in n (n > 0) is below `limit`, FAIL if
/// the lower bound is at or above it; otherwise INCONCLUSIVE with the samples that would
/// settle it at this rate, on whichever side the observation lies.
pub(super) fn weigh(k: u64, n: u64, limit: f64, c: Confidence) -> Weighed {
    let upper = upper_bound(k, n, c);
    let lower = lower_bound(k, n, c);
    let breach_side = breaches(k, n, limit);
    let (outcome, samples_needed) = if upper < limit {
        (Outcome::Pass, None)
    } else if lower >= limit {
        (Outcome::Fail, None)
    } else if breach_side {
        (
            Outcome::Inconclusive,
            samples_needed_to_fail(k, n, limit, c),
        )
    } else {
        (
            Outcome::Inconclusive,
            samples_needed_at_rate(k, n, limit, c),
        )
    };
    Weighed {
        outcome,
        upper_bound: upper,
        lower_bound: lower,
        breach_side,
        samples_needed,
    }
}

/// True when `k` failures out of a final total of `planned` already make FAIL certain at
/// confidence `c`: even if every remaining sample succeeds, the lower bound stays at or
/// above `limit` (the lower bound only falls as successes are added). Sampling may then
/// stop early.
pub fn fail_is_certain(k: u64, planned: u64, limit: f64, c: Confidence) -> bool {
    planned > 0 && k <= planned && lower_bound(k, planned, c) >= limit
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
            // A FAIL needs evidence too: the lower bound must reach the limit.
            (1, 1, 0.01, Fail, None),
            (1, 2, 0.5, Inconclusive, None),
            (12, 300, 0.01, Fail, None),
            (1, 100, 0.01, Inconclusive, None),
            (100, 100, 1.0, Inconclusive, None),
            (99, 100, 1.0, Pass, None),
            // The figures: limit 0.3% on 5,080 samples.
            (5, 5080, 0.003, Pass, None),
            (40, 5080, 0.003, Fail, None),
        ] {
            let j = judge_proportion(k, n, limit, C95);
            assert_eq!(j.outcome, outcome, "{k}/{n} < {limit}: {}", j.why);
            assert_eq!(j.samples_needed, needed, "{k}/{n} < {limit}: {}", j.why);
            assert_eq!((j.k, j.n, j.limit), (k, n, limit));
        }
    }

    #[test]
    fn a_limit_parsed_with_float_noise_still_counts_equality_as_a_breach() {
        // 0.1 / 100 is a hair above 0.001; 1 in 1,000 is still on the limit, so the
        // observation lies on the breaking side (not significant on one sample).
        let j = judge_proportion(1, 1000, 0.1 / 100.0, C95);
        assert_eq!(j.outcome, Inconclusive, "{}", j.why);
        assert!(j.why.contains("breaks < 0.1%"), "{}", j.why);
    }

    #[test]
    fn a_breach_that_is_not_significant_is_inconclusive_and_says_so() {
        // 18 of 5,080 beyond (0.354%) against 0.3%: the healthy-system false FAIL.
        let j = judge_proportion(18, 5080, 0.003, C95);
        assert_eq!(j.outcome, Inconclusive, "{}", j.why);
        let lower = j.lower_bound.unwrap();
        assert!(lower < 0.003 && j.upper_bound.unwrap() >= 0.003, "{j:?}");
        assert!(
            j.why.starts_with("18 failures in 5,080 samples: observed 0.354% breaks < 0.3%, not significant at 95%"),
            "{}",
            j.why
        );
        // The samples that would make it a supported FAIL if 0.354% held.
        let needed = j.samples_needed.unwrap();
        let at = |t: u64| judge_proportion(18 * t / 5080, t, 0.003, C95).outcome;
        assert_eq!(at(needed), Fail);
        assert_ne!(at(needed - 1), Fail);
        assert!(
            j.why.contains("would settle it if the rate held"),
            "{}",
            j.why
        );
    }

    #[test]
    fn a_fail_prints_the_bound_that_refutes_the_claim() {
        let j = judge_proportion(12, 300, 0.01, C95);
        assert_eq!(j.outcome, Fail);
        assert_eq!(
            j.why,
            "12 failures in 300 samples (4%): failure rate above 2.32% at 95% confidence, which breaks the limit of 1%"
        );
        assert!(!j.why.contains("below"), "{}", j.why);
    }

    #[test]
    fn fail_is_certain_only_when_no_remaining_successes_could_rescue_it() {
        // 40 of a planned 5,080 beyond 0.3%: certain whatever the rest show.
        assert!(fail_is_certain(40, 5080, 0.003, C95));
        // 18 of 5,080 is not even a FAIL at the end, so never certain.
        assert!(!fail_is_certain(18, 5080, 0.003, C95));
        // Certainty agrees with the final judgement on the planned total.
        for k in 0..60 {
            assert_eq!(
                fail_is_certain(k, 5080, 0.003, C95),
                judge_proportion(k, 5080, 0.003, C95).outcome == Fail,
                "k = {k}"
            );
        }
    }

    /// Binomial draws without a statistics dependency: the sum of Bernoulli trials.
    fn binomial(rng: &mut fastrand::Rng, n: u64, p: f64) -> u64 {
        (0..n).filter(|_| rng.f64() < p).count() as u64
    }

    #[test]
    fn seeded_simulation_fails_a_true_claim_rarely_and_a_false_one_almost_always() {
        // 1,000 runs of 5,080 samples against "fewer than 0.3% beyond". A true share of
        // 0.28% meets the claim: a FAIL is a false alarm, at most 5% (about 2% expected).
        // A true share of 0.7% breaks it: FAIL in at least 95% (about 99% expected).
        let mut rng = fastrand::Rng::with_seed(20261129);
        let mut fails = |p: f64| {
            (0..1000)
                .filter(|_| {
                    let k = binomial(&mut rng, 5080, p);
                    judge_proportion(k, 5080, 0.003, C95).outcome == Fail
                })
                .count()
        };
        let healthy = fails(0.0028);
        let broken = fails(0.007);
        eprintln!("FAIL in 1,000 runs: true 0.28% -> {healthy}; true 0.7% -> {broken}");
        assert!(healthy <= 50, "true share 0.28%: {healthy} FAILs of 1,000");
        assert!(broken >= 950, "true share 0.7%: {broken} FAILs of 1,000");
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
            (
                12,
                300,
                0.01,
                "12 failures in 300 samples (4%): failure rate above 2.32% at 95% confidence, which breaks the limit of 1%",
            ),
            (
                1,
                1,
                0.01,
                "1 failure in 1 sample (100%): failure rate above 5% at 95% confidence, which breaks the limit of 1%",
            ),
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
