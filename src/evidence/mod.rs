//! The statistics that decide whether a measurement supports a go-live claim
//! (`docs/evidence.md`). Every judgement is two-sided: PASS (the measurement supports the
//! claim at the configured confidence), FAIL (it refutes the claim at the same
//! confidence) or INCONCLUSIVE (neither, on whichever side the observation lies), and
//! carries the counts, both bounds and a one-line `why` written the way evidence.md asks
//! numbers to be written.
//!
//! Nothing here does I/O or panics: a caller hands in counts or a histogram and gets back a
//! value it can report.

mod bounds;
pub mod compare;
mod format;
mod mean;
mod proportion;
mod quantile;

pub use bounds::{
    lower_bound, samples_needed_zero_failures, upper_bound, z_two_sided, MAX_SAMPLES_NEEDED,
};
pub use format::{count_of, latency, percent, percent_bound, quantile_name, thousands};
pub use mean::{mean_interval, MeanInterval};
pub use proportion::{fail_is_certain, judge_proportion, ProportionJudgement};
pub use quantile::{judge_quantile, QuantileJudgement, Tail};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a criterion ends: PASS, FAIL or INCONCLUSIVE (evidence.md, "Three outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// The claim holds at the configured confidence.
    Pass,
    /// The measurement refutes the claim at the configured confidence.
    Fail,
    /// Neither supported nor refuted: too few samples on whichever side the observation
    /// lies (or none at all).
    Inconclusive,
    /// A FAIL covered by a waiver that is in force (a known issue with an owner and an
    /// expiry): shown as such everywhere, never as PASS, and it does not block.
    Waived,
}

impl Outcome {
    /// The worse of two outcomes, ordered Fail > Inconclusive > Waived > Pass, so that a gate
    /// made of several criteria never passes on an unsupported one, and a waived failure
    /// stays visible beside passing criteria.
    pub fn worst(self, other: Outcome) -> Outcome {
        if self.severity() >= other.severity() {
            self
        } else {
            other
        }
    }

    /// The spelling used in reports and in `results.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Inconclusive => "INCONCLUSIVE",
            Outcome::Waived => "WAIVED",
        }
    }

    fn severity(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Waived => 1,
            Outcome::Inconclusive => 2,
            Outcome::Fail => 3,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A confidence level strictly between 0 and 1; 0.95 unless configured otherwise.
///
/// Serialised as the bare number; deserialising checks the range, so a `Confidence` in hand
/// is always usable as a Beta or normal quantile argument.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    /// The level evidence.md uses unless a checklist says otherwise.
    pub const DEFAULT: Confidence = Confidence(0.95);

    /// `None` unless `0 < value < 1` (0 supports nothing; 1 would need infinite samples).
    pub fn new(value: f64) -> Option<Self> {
        (value > 0.0 && value < 1.0).then_some(Confidence(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Confidence::DEFAULT
    }
}

/// A confidence level outside (0, 1), with the value that was given.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("confidence {0} is not strictly between 0 and 1 (write it as a fraction, e.g. 0.95)")]
pub struct ConfidenceError(pub f64);

impl TryFrom<f64> for Confidence {
    type Error = ConfidenceError;
    fn try_from(value: f64) -> Result<Self, ConfidenceError> {
        Confidence::new(value).ok_or(ConfidenceError(value))
    }
}

impl From<Confidence> for f64 {
    fn from(c: Confidence) -> f64 {
        c.0
    }
}

impl fmt::Display for Confidence {
    /// As a report writes it: "95%", "99.9%".
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&format::percent_exact(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    #[test]
    fn worst_orders_fail_over_inconclusive_over_pass() {
        for (a, b, worst) in [
            (Pass, Pass, Pass),
            (Pass, Inconclusive, Inconclusive),
            (Inconclusive, Pass, Inconclusive),
            (Pass, Fail, Fail),
            (Fail, Inconclusive, Fail),
            (Inconclusive, Fail, Fail),
            (Inconclusive, Inconclusive, Inconclusive),
        ] {
            assert_eq!(a.worst(b), worst, "{a} vs {b}");
        }
    }

    #[test]
    fn outcome_serialises_upper_case() {
        for (o, s) in [
            (Pass, "PASS"),
            (Fail, "FAIL"),
            (Inconclusive, "INCONCLUSIVE"),
        ] {
            assert_eq!(o.as_str(), s);
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Outcome>(&format!("\"{s}\"")).unwrap(),
                o
            );
        }
    }

    #[test]
    fn confidence_is_validated() {
        assert_eq!(Confidence::default().value(), 0.95);
        assert_eq!(Confidence::new(0.99).map(Confidence::value), Some(0.99));
        for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            assert!(Confidence::new(bad).is_none(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Confidence::DEFAULT).unwrap(), "0.95");
        assert_eq!(
            serde_json::from_str::<Confidence>("0.9").unwrap(),
            Confidence::new(0.9).unwrap()
        );
        let err = serde_json::from_str::<Confidence>("95")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not strictly between 0 and 1"), "{err}");
        assert_eq!(Confidence::DEFAULT.to_string(), "95%");
        assert_eq!(Confidence::new(0.999).unwrap().to_string(), "99.9%");
    }
}
