//! `Duration`: `250ms`, `1.5s`, `5m`, `2h`, `800us`, `30d` (days, for objectives and
//! retention).

use super::{serde_via_str, split_number, UnitError};
use std::fmt;
use std::str::FromStr;

/// A non-negative span of time written with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(std::time::Duration);

const ACCEPTED: &str = "write it with a unit: us, ms, s, m or h (for example `250ms` or `5s`)";

impl Duration {
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);

    pub const fn from_std(d: std::time::Duration) -> Self {
        Duration(d)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }
    /// Whole microseconds, the resolution golive's latency histograms record.
    pub fn as_micros(self) -> u64 {
        u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX)
    }
    /// Whole seconds.
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
    pub fn as_millis_f64(self) -> f64 {
        self.0.as_secs_f64() * 1e3
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl FromStr for Duration {
    type Err = UnitError;
    fn from_str(input: &str) -> Result<Self, UnitError> {
        let err = |reason: &str| UnitError::new(input, "duration", reason);
        let (n, unit) = split_number(input).ok_or_else(|| err(ACCEPTED))?;
        let seconds_per_unit = match unit {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "" => return Err(err(&format!("a bare number has no unit; {ACCEPTED}"))),
            other => return Err(err(&format!("unknown unit `{other}`; {ACCEPTED}"))),
        };
        let secs = n * seconds_per_unit;
        if secs > 366.0 * 86400.0 {
            return Err(err("longer than a year; is the unit right?"));
        }
        Ok(Duration(std::time::Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Duration {
    /// The largest unit that shows the value exactly with at most three decimals:
    /// `250ms`, `5s`, `1.5s`, `2m`, `800us`.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let us = self.as_micros();
        let units: [(u64, &str); 5] = [
            (86_400_000_000, "d"),
            (3_600_000_000, "h"),
            (60_000_000, "m"),
            (1_000_000, "s"),
            (1_000, "ms"),
        ];
        for (size, name) in units {
            if us >= size && (us * 1000).is_multiple_of(size) {
                return write!(f, "{}{}", trim(us as f64 / size as f64), name);
            }
        }
        write!(f, "{us}us")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

serde_via_str!(
    Duration,
    "a duration with a unit: us, ms, s, m or h (e.g. `250ms`)",
    super::pattern::duration
);

#[cfg(test)]
mod tests {
    use super::*;

    const PARSES: [(&str, u64, &str); 10] = [
        ("30d", 2_592_000_000_000, "30d"),
        ("36h", 129_600_000_000, "1.5d"),
        ("250ms", 250_000, "250ms"),
        ("1.5s", 1_500_000, "1.5s"),
        ("5m", 300_000_000, "5m"),
        ("2h", 7_200_000_000, "2h"),
        ("800us", 800, "800us"),
        (" 10s ", 10_000_000, "10s"),
        ("0ms", 0, "0us"),
        ("1_000ms", 1_000_000, "1s"),
    ];

    const REJECTS: [(&str, &str); 7] = [
        ("100", "bare number"),
        ("100 parsecs", "unknown unit `parsecs`"),
        ("ms", "write it with a unit"),
        ("-5s", "write it with a unit"),
        ("400w", "unknown unit `w`"),
        ("400d", "longer than a year"),
        ("9999999h", "longer than a year"),
    ];

    #[test]
    fn parses_and_prints() {
        for (input, micros, shown) in PARSES {
            let d: Duration = input.parse().unwrap();
            assert_eq!(d.as_micros(), micros, "{input}");
            assert_eq!(d.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects_with_the_accepted_units() {
        for (input, needle) in REJECTS {
            let e = input.parse::<Duration>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    /// The schema's pattern accepts what `FromStr` accepts: the tables above and the edges
    /// of the number and unit forms. Only the year limit is beyond a pattern.
    #[test]
    fn the_schema_pattern_agrees() {
        let mut inputs: Vec<&str> = PARSES.iter().map(|t| t.0).collect();
        inputs.extend(REJECTS.iter().map(|t| t.0));
        inputs.extend([
            "5 s", "1.s", ".5s", "_1s", "1__0s", "800µs", "2min", "1.2.3s", ".s", "_s", "5S",
            "5 ms ", "\t5s", "5sec", "5s5", "1e3ms", "+5s", "",
        ]);
        crate::units::pattern::assert_agrees(
            &crate::units::pattern::duration(),
            &inputs,
            &["9999999h", "400d"],
            |s| s.parse::<Duration>().is_ok(),
        );
    }

    #[test]
    fn deserializes_from_yaml() {
        let d: Duration = crate::diag::yaml::from_str("250ms").unwrap();
        assert_eq!(d, Duration::from_millis(250));
        let e = crate::diag::yaml::from_str::<Duration>("250")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bare number"), "{e}");
    }
}
