//! One-sided Clopper-Pearson bounds on a failure proportion, and how many samples make
//! them tight enough to support a limit.
//!
//! The bounds are quantiles of Beta distributions. statrs 0.19.1's `Beta::inverse_cdf`
//! never returns for shapes such as Beta(2, 10^7) (its Newton loop has no iteration cap:
//! one failure in ten million requests would hang the run), so the quantile is found here
//! by bisection on statrs' `Beta::cdf`, the regularised incomplete beta function. Bisection
//! also brackets the answer, which lets each bound be rounded the safe way.

use super::Confidence;
use statrs::distribution::{Beta, ContinuousCDF, Normal};

/// The largest sample count golive will suggest: beyond it "collect more samples" is not a
/// plan, and the search for one would only measure floating-point noise.
pub const MAX_SAMPLES_NEEDED: u64 = 1_000_000_000;

/// Bisection stops once the bracket is this narrow relative to its upper end (far below
/// the resolution any report shows) or after `MAX_BISECTIONS` halvings of [0, 1].
const RELATIVE_TOLERANCE: f64 = 1e-12;
const MAX_BISECTIONS: u32 = 200;

/// One-sided Clopper-Pearson upper bound on a failure proportion after `k` failures in `n`
/// trials: the c-quantile of Beta(k+1, n-k). For k = 0 it is the closed form
/// 1 - (1-c)^(1/n); with no trials, or every trial failed (or `k > n`), it is 1.
pub fn upper_bound(k: u64, n: u64, c: Confidence) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    if k == 0 {
        return zero_failure_bound(n, c);
    }
    // The upper end of the bracket, so a rounding error never understates the bound;
    // if statrs cannot evaluate the distribution, 1 claims nothing.
    beta_quantile(k as f64 + 1.0, (n - k) as f64, c.value()).map_or(1.0, |(_, hi)| hi)
}

/// The mirror lower bound: the (1-c)-quantile of Beta(k, n-k+1); 0 when k = 0 or n = 0.
pub fn lower_bound(k: u64, n: u64, c: Confidence) -> f64 {
    if n == 0 || k == 0 {
        return 0.0;
    }
    let alpha = 1.0 - c.value();
    if k >= n {
        // Beta(n, 1) has CDF x^n, so its alpha-quantile has a closed form.
        return alpha.powf(1.0 / n as f64);
    }
    beta_quantile(k as f64, (n - k + 1) as f64, alpha).map_or(0.0, |(lo, _)| lo)
}

/// The smallest n for which 0 failures in n trials supports "failure proportion < limit"
/// at confidence c, i.e. the smallest n with `upper_bound(0, n, c) < limit` (the rule of
/// three, generalised): 5% needs 59, 1% needs 299, 0.1% needs 2,995 at 95%.
/// A limit of 0 or less can never be supported and gives `u64::MAX`.
pub fn samples_needed_zero_failures(limit: f64, c: Confidence) -> u64 {
    if limit.is_nan() || limit <= 0.0 {
        return u64::MAX;
    }
    if limit >= 1.0 {
        return 1;
    }
    // (1-c)^(1/n) > 1-limit  <=>  n > ln(1-c) / ln(1-limit); `as` saturates on overflow.
    let estimate = ((1.0 - c.value()).ln() / (-limit).ln_1p()).floor();
    let mut n = (estimate as u64).saturating_add(1).max(1);
    // The logarithms can land one off at an exact boundary; settle it with the same
    // function the judgement uses so the two never disagree.
    for _ in 0..4 {
        if n > 1 && zero_failure_bound(n - 1, c) < limit {
            n -= 1;
        } else if n < u64::MAX && zero_failure_bound(n, c) >= limit {
            n += 1;
        } else {
            break;
        }
    }
    n
}

/// Total samples that would settle "failure proportion < limit" as a PASS if `k` failures
/// in `n` went on at the same rate: the smallest N (found by bisection) with
/// `upper_bound(ceil(k*N/n), N) < limit`. `None` when no N up to `MAX_SAMPLES_NEEDED` does,
/// or when the observed rate does not meet the limit in the first place.
pub(super) fn samples_needed_at_rate(k: u64, n: u64, limit: f64, c: Confidence) -> Option<u64> {
    if k == 0 {
        let needed = samples_needed_zero_failures(limit, c);
        return (needed <= MAX_SAMPLES_NEEDED).then_some(needed);
    }
    if n == 0 || k >= n {
        return None;
    }
    // Failures rounded up: the estimate assumes the rate holds, never that it improves.
    smallest_settling(n, |total| {
        upper_bound(scaled(k, n, total, true), total, c) < limit
    })
}

/// The mirror for a breach: total samples that would make "failure proportion < limit" a
/// supported FAIL if `k` failures in `n` went on at the same rate, the smallest N with
/// `lower_bound(floor(k*N/n), N) >= limit`. `None` when the observed rate is below the limit
/// or on it (it can never refute it) or no N up to `MAX_SAMPLES_NEEDED` does.
pub(super) fn samples_needed_to_fail(k: u64, n: u64, limit: f64, c: Confidence) -> Option<u64> {
    // On the limit exactly, the lower bound only approaches it: no count settles that.
    let allowed = limit * n as f64;
    if n == 0 || k == 0 || k as f64 <= allowed + allowed * 1e-12 {
        return None;
    }
    // Failures rounded down: the estimate never assumes the rate gets worse.
    smallest_settling(n, |total| {
        lower_bound(scaled(k, n, total, false), total, c) >= limit
    })
}

/// k scaled from n to `total` samples, rounded up or down.
fn scaled(k: u64, n: u64, total: u64, up: bool) -> u64 {
    let product = u128::from(k) * u128::from(total);
    let v = if up {
        product.div_ceil(u128::from(n))
    } else {
        product / u128::from(n)
    };
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The smallest total from `n` up to `MAX_SAMPLES_NEEDED` for which `settled` holds, given
/// that it holds for every total above the first that does: double until settled, then
/// bisect between the last unsettled and the first settled count.
fn smallest_settling(n: u64, settled: impl Fn(u64) -> bool) -> Option<u64> {
    if n >= MAX_SAMPLES_NEEDED {
        return None;
    }
    if settled(n) {
        return Some(n);
    }
    let mut lo = n;
    let mut hi = n.saturating_mul(2).min(MAX_SAMPLES_NEEDED);
    while !settled(hi) {
        if hi >= MAX_SAMPLES_NEEDED {
            return None;
        }
        lo = hi;
        hi = hi.saturating_mul(2).min(MAX_SAMPLES_NEEDED);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if settled(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// z such that a two-sided normal interval covers c: the (1+c)/2 quantile (1.96 at 95%).
pub fn z_two_sided(c: Confidence) -> f64 {
    // c is in (0, 1), so the argument is in (0.5, 1) and inverse_cdf cannot panic.
    Normal::standard().inverse_cdf(0.5 + c.value() / 2.0)
}

/// 1 - (1-c)^(1/n), written with `exp_m1` so that it keeps its digits when n is large.
fn zero_failure_bound(n: u64, c: Confidence) -> f64 {
    -((1.0 - c.value()).ln() / n as f64).exp_m1()
}

/// A bracket `(lo, hi)` around the p-quantile of Beta(a, b), by bisection on its CDF.
/// `None` if the shapes are invalid or the CDF is not a number.
fn beta_quantile(a: f64, b: f64, p: f64) -> Option<(f64, f64)> {
    let dist = Beta::new(a, b).ok()?;
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..MAX_BISECTIONS {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi || hi - lo <= hi * RELATIVE_TOLERANCE {
            break;
        }
        let cdf = dist.cdf(mid);
        if !cdf.is_finite() {
            return None;
        }
        if cdf < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: f64) -> Confidence {
        Confidence::new(v).unwrap()
    }

    fn close(got: f64, want: f64, what: &str) {
        // Absolute 1e-6 as the brief asks, and relative 1e-6 so tiny bounds are checked too.
        let tol = 1e-6_f64.min(want.abs() * 1e-6).max(1e-15);
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got:e}, want {want:e}"
        );
    }

    /// (k, n, c, upper, lower): upper = scipy.stats.beta.ppf(c, k+1, n-k),
    /// lower = scipy.stats.beta.ppf(1-c, k, n-k+1), computed with scipy 1.17.1.
    const SCIPY: &[(u64, u64, f64, f64, f64)] = &[
        (1, 10, 0.95, 0.39416330243650466, 0.005116196891823705),
        (1, 100, 0.95, 0.046559811453538935, 0.0005128014162622926),
        (3, 100, 0.95, 0.07571079374983004, 0.00822582910765269),
        (5, 50, 0.95, 0.19883300251641847, 0.04023659040211458),
        (12, 300, 0.95, 0.06400391537870745, 0.023239927988754686),
        (10, 1000, 0.95, 0.016903175120562504, 0.005435140144706775),
        (50, 100, 0.95, 0.5863782853690882, 0.4136217146309118),
        (99, 100, 0.95, 0.9994871985837377, 0.9534401885464611),
        (
            1,
            1_000_000,
            0.95,
            4.743855638214234e-06,
            5.1293293072049574e-08,
        ),
        (
            3,
            10_000_000,
            0.95,
            7.753654685435576e-07,
            8.176914955021388e-08,
        ),
        (1, 10, 0.99, 0.5043526629308013, 0.00100452870824995),
        (3, 100, 0.99, 0.09697104526534446, 0.004394976455887061),
        (12, 300, 0.99, 0.07470109033295376, 0.01826478789968911),
        (99, 100, 0.99, 0.9998995016917583, 0.9354572679514184),
        (
            1,
            1_000_000,
            0.99,
            6.638333353341804e-06,
            1.0050335802996824e-08,
        ),
    ];

    #[test]
    fn bounds_match_scipy() {
        for &(k, n, conf, upper, lower) in SCIPY {
            close(
                upper_bound(k, n, c(conf)),
                upper,
                &format!("U({k}, {n}, {conf})"),
            );
            close(
                lower_bound(k, n, c(conf)),
                lower,
                &format!("L({k}, {n}, {conf})"),
            );
        }
    }

    #[test]
    fn zero_failures_use_the_closed_form() {
        // 1 - 0.05^(1/n), evaluated directly in Python; n = 15 is the seeds' "15/15".
        for (n, want) in [
            (1, 0.95),
            (15, 0.18103627252208465),
            (59, 0.049507609888227),
            (298, 0.010002432437677733),
            (299, 0.009969146792899286),
            (1200, 0.002493330037518726),
            (2995, 0.0009997444209011164),
        ] {
            let got = upper_bound(0, n, Confidence::DEFAULT);
            assert!((got - want).abs() < 1e-12, "n = {n}: {got} vs {want}");
        }
    }

    #[test]
    fn degenerate_counts() {
        let c95 = Confidence::DEFAULT;
        assert_eq!(upper_bound(0, 0, c95), 1.0);
        assert_eq!(upper_bound(7, 7, c95), 1.0);
        assert_eq!(upper_bound(9, 7, c95), 1.0);
        assert_eq!(lower_bound(0, 10, c95), 0.0);
        assert_eq!(lower_bound(0, 0, c95), 0.0);
        // Beta(n, 1): the lower bound for n of n is 0.05^(1/n); the mirror of k = 0.
        let mirrored = 1.0 - upper_bound(0, 298, c95);
        assert!((lower_bound(298, 298, c95) - mirrored).abs() < 1e-12);
    }

    #[test]
    fn huge_counts_return_promptly() {
        // statrs' own inverse_cdf never returns for these shapes; bisection must.
        // scipy.stats.beta.ppf(0.95, 2, 9999999) and beta.ppf(0.95, 2, 999999999).
        let c95 = Confidence::DEFAULT;
        close(
            upper_bound(1, 10_000_000, c95),
            4.743863629843794e-07,
            "U(1, 1e7)",
        );
        close(
            upper_bound(1, 1_000_000_000, c95),
            4.743864490591013e-09,
            "U(1, 1e9)",
        );
    }

    #[test]
    fn zero_failure_sample_counts() {
        for (limit, conf, want) in [
            (0.05, 0.95, 59),
            (0.01, 0.95, 299),
            (0.001, 0.95, 2995),
            (1.0 - 0.99, 0.95, 299),
            (1.0 - 0.999, 0.95, 2995),
            (0.01, 0.99, 459),
            (0.5, 0.95, 5),
            (1.0, 0.95, 1),
        ] {
            let n = samples_needed_zero_failures(limit, c(conf));
            assert_eq!(n, want, "limit {limit} at {conf}");
            assert!(upper_bound(0, n, c(conf)) < limit);
            if n > 1 {
                assert!(upper_bound(0, n - 1, c(conf)) >= limit);
            }
        }
        assert_eq!(
            samples_needed_zero_failures(0.0, Confidence::DEFAULT),
            u64::MAX
        );
        assert_eq!(
            samples_needed_zero_failures(f64::NAN, Confidence::DEFAULT),
            u64::MAX
        );
    }

    #[test]
    fn samples_needed_at_an_observed_rate() {
        let c95 = Confidence::DEFAULT;
        // 3 in 400 (0.75%) against 1%: find N, check it is the first that settles.
        let n = samples_needed_at_rate(3, 400, 0.01, c95).unwrap();
        let at = |t: u64| upper_bound((3 * t).div_ceil(400), t, c95);
        assert!(at(n) < 0.01 && at(n - 1) >= 0.01, "N = {n}");
        // A rate on the limit can never be settled; one just under it takes too many.
        assert_eq!(samples_needed_at_rate(1, 100, 0.01, c95), None);
        assert_eq!(
            samples_needed_at_rate(999_999, 100_000_000, 0.01, c95),
            None
        );
        assert_eq!(samples_needed_at_rate(0, 298, 0.01, c95), Some(299));
        assert_eq!(samples_needed_at_rate(0, 10, 1e-12, c95), None);
    }

    #[test]
    fn z_matches_the_normal_table() {
        // scipy.stats.norm.ppf(0.975) and norm.ppf(0.995).
        assert!((z_two_sided(Confidence::DEFAULT) - 1.959963984540054).abs() < 1e-9);
        assert!((z_two_sided(c(0.99)) - 2.5758293035489004).abs() < 1e-9);
    }
}
