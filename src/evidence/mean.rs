//! Means with a normal-approximation interval (evidence.md, "Means"). An average hides
//! every tail, so golive never gates on one by choice; when a checklist asks for it, it is
//! reported with n and an interval and marked as weaker evidence than a percentile.

use super::bounds::z_two_sided;
use super::format::{latency, thousands};
use super::Confidence;
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The mean of a latency histogram with its two-sided interval at some confidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MeanInterval {
    /// Mean in µs (each bucket counted at its median value, as hdrhistogram does).
    pub mean_us: f64,
    /// Sample standard deviation in µs (divisor n - 1).
    pub stdev_us: f64,
    pub n: u64,
    /// mean - z * stdev / sqrt(n), never below 0 since latencies cannot be negative.
    pub lo_us: f64,
    /// mean + z * stdev / sqrt(n).
    pub hi_us: f64,
}

impl MeanInterval {
    /// "mean = 2.7 ms (n = 15; 95% interval 2.1 ms to 3.3 ms, normal approximation: weaker
    /// evidence than a percentile)".
    pub fn describe(&self, c: Confidence) -> String {
        format!(
            "mean = {} (n = {}; {c} interval {} to {}, normal approximation: weaker evidence \
             than a percentile)",
            latency(round_us(self.mean_us)),
            thousands(self.n),
            latency(round_us(self.lo_us)),
            latency(round_us(self.hi_us)),
        )
    }
}

/// The mean of `h` with a normal-approximation interval at confidence `c`; `None` with
/// fewer than two samples, where no spread can be estimated.
pub fn mean_interval(h: &Histogram<u64>, c: Confidence) -> Option<MeanInterval> {
    let n = h.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean = h.mean();
    // hdrhistogram's stdev divides by n; the interval wants the sample estimate.
    let stdev = h.stdev() * (nf / (nf - 1.0)).sqrt();
    let half = z_two_sided(c) * stdev / nf.sqrt();
    Some(MeanInterval {
        mean_us: mean,
        stdev_us: stdev,
        n,
        lo_us: (mean - half).max(0.0),
        hi_us: mean + half,
    })
}

/// A non-negative µs value as a whole number for display; `as` saturates.
fn round_us(us: f64) -> u64 {
    us.max(0.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn matches_the_textbook_interval() {
        // Values below 2,048 µs are exact at 3 significant digits, so the reference is the
        // plain sample: mean 1,000, sample stdev sqrt(((-200)^2 * 2 + 100^2 * 2 + 200^2) / 4)
        // = sqrt(35,000), half-width 1.959963984540054 * sqrt(35,000) / sqrt(5)
        // (z from scipy.stats.norm.ppf(0.975)).
        let m = mean_interval(&hist(&[800, 800, 1100, 1100, 1200]), Confidence::DEFAULT).unwrap();
        let stdev = 35_000f64.sqrt();
        let half = 1.959963984540054 * stdev / 5f64.sqrt();
        assert_eq!(m.n, 5);
        assert!((m.mean_us - 1000.0).abs() < 1e-9, "{m:?}");
        assert!((m.stdev_us - stdev).abs() < 1e-9, "{m:?}");
        assert!((m.lo_us - (1000.0 - half)).abs() < 1e-6, "{m:?}");
        assert!((m.hi_us - (1000.0 + half)).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn too_few_samples_have_no_interval() {
        assert_eq!(mean_interval(&hist(&[]), Confidence::DEFAULT), None);
        assert_eq!(mean_interval(&hist(&[700]), Confidence::DEFAULT), None);
    }

    #[test]
    fn lower_end_is_clamped_at_zero() {
        let m = mean_interval(&hist(&[1, 1, 2000]), Confidence::DEFAULT).unwrap();
        assert_eq!(m.lo_us, 0.0);
        assert!(m.hi_us > m.mean_us);
    }

    #[test]
    fn describes_itself_as_weaker_evidence() {
        let m = mean_interval(&hist(&[800, 800, 1100, 1100, 1200]), Confidence::DEFAULT).unwrap();
        assert_eq!(
            m.describe(Confidence::DEFAULT),
            "mean = 1 ms (n = 5; 95% interval 836 µs to 1.16 ms, normal approximation: weaker \
             evidence than a percentile)"
        );
    }
}
