//! `Percent`: `1%`, `99.5%`, `0.1%`; always between 0% and 100%.

use super::{serde_via_str, split_number, UnitError};
use std::fmt;
use std::str::FromStr;

/// A fraction written as a percentage; stored as a fraction in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(f64);

impl Percent {
    /// From a fraction in `[0, 1]`; values outside are clamped.
    pub fn from_fraction(f: f64) -> Self {
        Percent(f.clamp(0.0, 1.0))
    }
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl FromStr for Percent {
    type Err = UnitError;
    fn from_str(input: &str) -> Result<Self, UnitError> {
        let err = |reason: &str| UnitError::new(input, "percentage", reason);
        let (n, unit) = split_number(input)
            .ok_or_else(|| err("write a number followed by `%` (for example `1%` or `99.5%`)"))?;
        match unit {
            "%" => {}
            "" => {
                return Err(err(
                    "a bare number has no unit; write it with `%` (for example `1%`)",
                ))
            }
            other => return Err(err(&format!("unknown unit `{other}`; write it with `%`"))),
        }
        if n > 100.0 {
            return Err(err("a percentage must be between 0% and 100%"));
        }
        Ok(Percent(n / 100.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let s = format!("{:.4}", self.0 * 100.0);
        write!(f, "{}%", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

serde_via_str!(
    Percent,
    "a percentage between 0% and 100% (e.g. `1%`)",
    super::pattern::percent
);

#[cfg(test)]
mod tests {
    use super::*;

    const PARSES: [(&str, f64, &str); 5] = [
        ("1%", 0.01, "1%"),
        ("99.5%", 0.995, "99.5%"),
        ("0.1%", 0.001, "0.1%"),
        ("100%", 1.0, "100%"),
        ("0%", 0.0, "0%"),
    ];

    const REJECTS: [(&str, &str); 4] = [
        ("120%", "between 0% and 100%"),
        ("5", "bare number"),
        ("5 percent", "unknown unit"),
        ("%", "write a number"),
    ];

    #[test]
    fn parses_and_prints() {
        for (input, fraction, shown) in PARSES {
            let p: Percent = input.parse().unwrap();
            assert!((p.fraction() - fraction).abs() < 1e-12, "{input}");
            assert_eq!(p.to_string(), shown);
        }
    }

    #[test]
    fn rejects() {
        for (input, needle) in REJECTS {
            let e = input.parse::<Percent>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    /// The schema's pattern accepts exactly what `FromStr` accepts, the 100% ceiling
    /// included.
    #[test]
    fn the_schema_pattern_agrees() {
        let mut inputs: Vec<&str> = PARSES.iter().map(|t| t.0).collect();
        inputs.extend(REJECTS.iter().map(|t| t.0));
        inputs.extend([
            "100.0%",
            "100.000%",
            "100.01%",
            "100.",
            "100.%",
            "0100%",
            "00099.99%",
            "101%",
            "99.%",
            ".5%",
            "_.5%",
            "1_0_0%",
            "1_0_1%",
            "200%",
            "1000%",
            " 5 % ",
            "5%%",
            "-1%",
            "1.2.3%",
            ".%",
            "",
        ]);
        crate::units::pattern::assert_agrees(
            &crate::units::pattern::percent(),
            &inputs,
            &[],
            |s| s.parse::<Percent>().is_ok(),
        );
    }
}
