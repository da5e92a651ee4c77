//! `Rate`: events per unit of time, `200/s`, `12000/m`, `1/h`.

use super::{serde_via_str, split_number, UnitError};
use std::fmt;
use std::str::FromStr;

/// A strictly positive rate, stored per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The highest rate accepted, per second: a hundred times what one machine's load
    /// engine sends, so only a typo (`10e23/s`) is refused.
    pub const MAX_PER_SECOND: f64 = 1_000_000.0;

    pub fn per_second(self) -> f64 {
        self.0
    }
    /// From events per second; `None` unless finite, positive and at most
    /// [`Rate::MAX_PER_SECOND`].
    pub fn from_per_second(v: f64) -> Option<Self> {
        (v.is_finite() && v > 0.0 && v <= Self::MAX_PER_SECOND).then_some(Rate(v))
    }
}

impl FromStr for Rate {
    type Err = UnitError;
    fn from_str(input: &str) -> Result<Self, UnitError> {
        let err = |reason: &str| UnitError::new(input, "rate", reason);
        let hint = "write a count per unit of time: `200/s`, `12000/m` or `50/h`";
        let (n, unit) = split_number(input).ok_or_else(|| err(hint))?;
        let per = match unit.trim_start_matches('/').trim() {
            _ if !unit.starts_with('/') && !unit.is_empty() => {
                return Err(err(&format!("unknown unit `{unit}`; {hint}")))
            }
            "" => return Err(err(&format!("a bare number has no unit; {hint}"))),
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            other => return Err(err(&format!("unknown time unit `{other}`; {hint}"))),
        };
        if n <= 0.0 {
            return Err(err("a rate must be greater than zero"));
        }
        if n / per > Self::MAX_PER_SECOND {
            return Err(err("a rate is at most 1000000/s"));
        }
        Ok(Rate(n / per))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let s = format!("{:.3}", self.0);
        write!(f, "{}/s", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

serde_via_str!(
    Rate,
    "a rate such as `200/s` or `12000/m`",
    super::pattern::rate
);

#[cfg(test)]
mod tests {
    use super::*;

    const PARSES: [(&str, f64); 4] = [
        ("200/s", 200.0),
        ("12000/m", 200.0),
        ("36/h", 0.01),
        ("1.5/s", 1.5),
    ];

    const REJECTS: [(&str, &str); 8] = [
        ("0/s", "greater than zero"),
        ("200", "bare number"),
        ("200/d", "unknown time unit"),
        ("200rps", "unknown unit"),
        ("-3/s", "write a count"),
        ("100000000000000000000000/s", "at most 1000000/s"),
        ("1000001/s", "at most 1000000/s"),
        ("3600000001/h", "at most 1000000/s"),
    ];

    #[test]
    fn parses() {
        for (input, per_s) in PARSES {
            let r: Rate = input.parse().unwrap();
            assert!((r.per_second() - per_s).abs() < 1e-9, "{input}");
        }
        assert_eq!("200/s".parse::<Rate>().unwrap().to_string(), "200/s");
    }

    #[test]
    fn rejects() {
        for (input, needle) in REJECTS {
            let e = input.parse::<Rate>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    /// The schema's pattern accepts what `FromStr` accepts; only the 1000000/s ceiling is
    /// beyond a pattern.
    #[test]
    fn the_schema_pattern_agrees() {
        let mut inputs: Vec<&str> = PARSES.iter().map(|t| t.0).collect();
        inputs.extend(REJECTS.iter().map(|t| t.0));
        inputs.extend([
            "0.001/s",
            "0.0/s",
            "00/s",
            "._/s",
            "200 / s",
            "200//s",
            "200/ /s",
            "2/min",
            "1.5/S",
            "200/sec",
            "200 per s",
            "0_1/s",
            ".0/s",
            "",
        ]);
        crate::units::pattern::assert_agrees(
            &crate::units::pattern::rate(),
            &inputs,
            &["100000000000000000000000/s", "1000001/s", "3600000001/h"],
            |s| s.parse::<Rate>().is_ok(),
        );
    }
}
