//! Claims on a latency quantile ("p95 < 300ms") read from an HDR histogram of
//! microseconds. "pQ < T" is the proportion claim "fewer than a fraction 1-q of samples are
//! >= T" (evidence.md, "Percentiles"), so p99 cannot pass on fewer than 299 samples.
//!
//! A histogram bucket covers a range of values; wherever a bucket straddles T it is counted
//! on the side that makes the claim harder, so the judgement never leans on the histogram's
//! resolution.

use super::bounds::{samples_needed_zero_failures, z_two_sided};
use super::format::{
    count_of, latency, percent, percent_beside, percent_exact, quantile_name, thousands, Rounding,
};
use super::proportion::{no_data_why, settle_hint, weigh};
use super::{Confidence, Outcome, MAX_SAMPLES_NEEDED};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which way the claim points: `pQ < T` is `Below`, `pQ > T` is `Above`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tail {
    Below,
    Above,
}

impl Tail {
    /// The claim's operator and the comparison that puts a sample on the wrong side.
    fn symbols(self) -> (&'static str, &'static str) {
        match self {
            Tail::Below => ("<", ">="),
            Tail::Above => (">", "<="),
        }
    }
}

/// The verdict on "the q-quantile is below (or above) T" and what a report needs to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuantileJudgement {
    pub outcome: Outcome,
    /// The quantile, e.g. 0.95 for p95.
    pub q: f64,
    /// Samples judged: the histogram's successful samples plus, for `Below`, the failed
    /// ones (a failed sample answered within no threshold).
    pub n: u64,
    /// Failed samples counted among those beyond T (`Below` only).
    pub failed: u64,
    /// The observed q-quantile in µs over all judged samples (nearest rank, read
    /// conservatively for the claim's direction); `None` when n = 0 or when that rank
    /// falls among the failed samples (see `observed_failed`).
    pub observed_us: Option<u64>,
    /// True when the q-quantile's rank falls among the failed samples: the quantile is
    /// beyond every threshold.
    pub observed_failed: bool,
    /// The q-quantile of the successful samples alone, shown beside the judged one.
    pub success_observed_us: Option<u64>,
    /// Samples on the wrong side of T (>= T for `Below`, <= T for `Above`), failed ones
    /// included.
    pub k_beyond: u64,
    pub threshold_us: u64,
    /// Upper bound on the fraction of samples on the wrong side; `None` when n = 0.
    pub upper_bound: Option<f64>,
    /// Lower bound on the fraction of samples on the wrong side (what a FAIL rests on);
    /// `None` when n = 0.
    pub lower_bound: Option<f64>,
    /// When INCONCLUSIVE: total samples that would settle it if the observed fraction held.
    pub samples_needed: Option<u64>,
    /// Distribution-free confidence interval of the quantile in µs, from the order
    /// statistics at ranks n*q ∓ z*sqrt(n*q*(1-q)) of the successful samples; `None` when
    /// either rank falls outside [1, n].
    pub interval_us: Option<(u64, u64)>,
    /// One line that says what was measured and what it supports.
    pub why: String,
}

/// Judges "the q-quantile is below `threshold_us`" (`Tail::Below`) or above it
/// (`Tail::Above`) on the samples in `h` plus `failed` samples that did not answer, per
/// evidence.md: the share of samples on the wrong side of T (failed samples are beyond any
/// threshold, for `Below`) is judged two-sided against 1-q (below) or q (above). `Above`
/// claims are judged on successful samples only. No data is never PASS.
pub fn judge_quantile(
    h: &Histogram<u64>,
    failed: u64,
    q: f64,
    threshold_us: u64,
    tail: Tail,
    c: Confidence,
) -> QuantileJudgement {
    let failed = if tail == Tail::Below { failed } else { 0 };
    let mut j = QuantileJudgement {
        outcome: Outcome::Inconclusive,
        q,
        n: h.len().saturating_add(failed),
        failed,
        observed_us: None,
        observed_failed: false,
        success_observed_us: None,
        k_beyond: 0,
        threshold_us,
        upper_bound: None,
        lower_bound: None,
        samples_needed: None,
        interval_us: None,
        why: String::new(),
    };
    if !(q > 0.0 && q < 1.0) {
        j.why = format!("q = {q} is not a quantile strictly between 0 and 1: nothing to judge");
        return j;
    }
    let name = quantile_name(q);
    let (op, beyond) = tail.symbols();
    let claim = format!("{name} {op} {}", latency(threshold_us));
    // The largest fraction of samples allowed on the wrong side of T.
    let limit = match tail {
        Tail::Below => 1.0 - q,
        Tail::Above => q,
    };
    let n = j.n;
    if n == 0 {
        let needed = samples_needed_zero_failures(limit, c);
        j.samples_needed = (needed <= MAX_SAMPLES_NEEDED).then_some(needed);
        j.why = no_data_why(&claim, j.samples_needed, c);
        return j;
    }
    let buckets = Buckets::of(h);
    // Read a bucket at the end that makes the claim harder to meet.
    let read = |(lowest, highest): (u64, u64)| match tail {
        Tail::Below => highest,
        Tail::Above => lowest,
    };
    let rank = nearest_rank(q, n);
    j.observed_failed = rank > buckets.total;
    j.observed_us = buckets.at_rank(rank).map(read);
    j.success_observed_us = buckets.at_rank(nearest_rank(q, buckets.total)).map(read);
    let k = buckets.count_beyond(threshold_us, tail) + failed;
    let weighed = weigh(k, n, limit, c);
    j.k_beyond = k;
    j.upper_bound = Some(weighed.upper_bound);
    j.lower_bound = Some(weighed.lower_bound);
    j.outcome = weighed.outcome;
    j.samples_needed = weighed.samples_needed;
    j.interval_us = buckets.interval(q, c);

    let shown = match (j.observed_us, j.observed_failed) {
        (_, true) => "beyond any threshold (failed samples)".to_string(),
        (Some(v), false) => latency(v),
        (None, false) => "no data".to_string(),
    };
    let head = format!("{name} = {shown} (n = {})", thousands(n));
    let failed_part = if failed > 0 {
        format!(", {} of them failed", thousands(failed))
    } else {
        String::new()
    };
    let wrong_side = format!(
        "{} {beyond} {}{failed_part}",
        count_of(k, "sample"),
        latency(threshold_us)
    );
    let share = k as f64 / n as f64;
    j.why = match weighed.outcome {
        Outcome::Fail => format!(
            "{head}; {wrong_side} ({}): at least {} of samples {beyond} {} at {c} confidence, \
             more than the {} {claim} allows",
            percent(share),
            percent_beside(weighed.lower_bound, limit, Rounding::Down),
            latency(threshold_us),
            percent_exact(limit)
        ),
        Outcome::Pass => format!("{head}; {wrong_side}: {claim} holds at {c} confidence"),
        Outcome::Inconclusive if weighed.breach_side => format!(
            "{head}; {wrong_side}: observed {} {beyond} {} breaks {claim} (allowed {}), not \
             significant at {c} (lower bound {}); {}",
            percent_beside(share, limit, Rounding::Nearest),
            latency(threshold_us),
            percent_exact(limit),
            percent_beside(weighed.lower_bound, limit, Rounding::Down),
            settle_hint(k, j.samples_needed)
        ),
        Outcome::Inconclusive | Outcome::Waived => format!(
            "{head}; {wrong_side}: {claim} is not supported at {c} confidence (upper bound {} \
             of samples {beyond} {}, needs < {}); {}",
            percent_beside(weighed.upper_bound, limit, Rounding::Up),
            latency(threshold_us),
            percent_exact(limit),
            settle_hint(k, j.samples_needed)
        ),
    };
    j
}

/// The nearest rank of the q-quantile among `n` samples: ceil(q*n), as hdrhistogram's
/// `value_at_quantile` defines it, but without letting float noise (0.95 * 100 =
/// 95.00000000000001) push the rank up by one.
fn nearest_rank(q: f64, n: u64) -> u64 {
    let exact = q * n as f64;
    (exact - exact * 1e-12).ceil().max(1.0) as u64
}

/// The recorded buckets in order, as (lowest value, highest value, cumulative count).
struct Buckets {
    rows: Vec<(u64, u64, u64)>,
    total: u64,
}

impl Buckets {
    fn of(h: &Histogram<u64>) -> Self {
        let mut total = 0u64;
        let rows = h
            .iter_recorded()
            .map(|v| {
                let value = v.value_iterated_to();
                total = total.saturating_add(v.count_since_last_iteration());
                (
                    h.lowest_equivalent(value),
                    h.highest_equivalent(value),
                    total,
                )
            })
            .collect();
        Buckets { rows, total }
    }

    /// The (lowest, highest) value of the bucket holding the `rank`-th smallest sample
    /// (1-based); `None` outside [1, total].
    fn at_rank(&self, rank: u64) -> Option<(u64, u64)> {
        if rank == 0 || rank > self.total {
            return None;
        }
        let i = self.rows.partition_point(|&(_, _, cum)| cum < rank);
        self.rows.get(i).map(|&(lo, hi, _)| (lo, hi))
    }

    /// Samples on the wrong side of `t`, counting a straddling bucket as wrong.
    fn count_beyond(&self, t: u64, tail: Tail) -> u64 {
        let mut before = 0u64;
        let mut beyond = 0u64;
        for &(lo, hi, cum) in &self.rows {
            let wrong = match tail {
                Tail::Below => hi >= t,
                Tail::Above => lo <= t,
            };
            if wrong {
                beyond += cum - before;
            }
            before = cum;
        }
        beyond
    }

    /// Order-statistic interval for the q-quantile: ranks floor(nq - z s) and
    /// ceil(nq + z s) with s = sqrt(n q (1-q)), read outward (lowest and highest value of
    /// their buckets).
    fn interval(&self, q: f64, c: Confidence) -> Option<(u64, u64)> {
        let n = self.total as f64;
        let centre = n * q;
        let half = z_two_sided(c) * (n * q * (1.0 - q)).sqrt();
        let (lo_rank, hi_rank) = ((centre - half).floor(), (centre + half).ceil());
        if lo_rank < 1.0 || hi_rank > n {
            return None;
        }
        let (lo, _) = self.at_rank(lo_rank as u64)?;
        let (_, hi) = self.at_rank(hi_rank as u64)?;
        Some((lo, hi))
    }
}

#[cfg(test)]
#[path = "quantile_tests.rs"]
mod tests;
