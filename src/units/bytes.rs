//! `ByteSize`: `512B`, `64KB`, `50MB`, `1GiB`; decimal (KB = 1000) and binary (KiB = 1024).

use super::{serde_via_str, split_number, UnitError};
use std::fmt;
use std::str::FromStr;

/// A size in bytes written with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

impl ByteSize {
    pub const fn from_bytes(b: u64) -> Self {
        ByteSize(b)
    }
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(input: &str) -> Result<Self, UnitError> {
        let err = |reason: &str| UnitError::new(input, "byte size", reason);
        let hint = "write it with a unit: B, KB, MB, GB, KiB, MiB or GiB (for example `50MB`)";
        let (n, unit) = split_number(input).ok_or_else(|| err(hint))?;
        let scale: f64 = match unit {
            "B" => 1.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            "" => return Err(err(&format!("a bare number has no unit; {hint}"))),
            other => return Err(err(&format!("unknown unit `{other}`; {hint}"))),
        };
        Ok(ByteSize((n * scale).round() as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = self.0;
        for (size, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if b >= size && b.is_multiple_of(size) {
                return write!(f, "{}{}", b / size, name);
            }
        }
        for (size, name) in [(1_000_000_000u64, "GB"), (1_000_000, "MB"), (1_000, "KB")] {
            if b >= size {
                let s = format!("{:.2}", b as f64 / size as f64);
                return write!(
                    f,
                    "{}{}",
                    s.trim_end_matches('0').trim_end_matches('.'),
                    name
                );
            }
        }
        write!(f, "{b}B")
    }
}

serde_via_str!(
    ByteSize,
    "a byte size such as `50MB` or `1MiB`",
    super::pattern::bytes
);

#[cfg(test)]
mod tests {
    use super::*;

    const PARSES: [(&str, u64, &str); 6] = [
        ("512B", 512, "512B"),
        ("64KB", 64_000, "64KB"),
        ("50MB", 50_000_000, "50MB"),
        ("1MiB", 1 << 20, "1MiB"),
        ("1.5GiB", 3 << 29, "1536MiB"),
        ("1500KB", 1_500_000, "1.5MB"),
    ];

    const REJECTS: [(&str, &str); 3] = [
        ("50", "bare number"),
        ("50mb", "unknown unit `mb`"),
        ("MB", "write it"),
    ];

    #[test]
    fn parses_and_prints() {
        for (input, bytes, shown) in PARSES {
            let s: ByteSize = input.parse().unwrap();
            assert_eq!(s.bytes(), bytes, "{input}");
            assert_eq!(s.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects() {
        for (input, needle) in REJECTS {
            let e = input.parse::<ByteSize>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    /// The schema's pattern accepts exactly what `FromStr` accepts.
    #[test]
    fn the_schema_pattern_agrees() {
        let mut inputs: Vec<&str> = PARSES.iter().map(|t| t.0).collect();
        inputs.extend(REJECTS.iter().map(|t| t.0));
        inputs.extend([
            "0B", " 50 MB ", "1kB", "1Kb", "1KIB", "1.5.MB", "-1MB", "1TB", "_1_MB", ".5GB", "",
        ]);
        crate::units::pattern::assert_agrees(&crate::units::pattern::bytes(), &inputs, &[], |s| {
            s.parse::<ByteSize>().is_ok()
        });
    }
}
