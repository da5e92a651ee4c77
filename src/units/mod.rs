//! Units as types: durations, percentages, rates and byte sizes that users write in
//! checklists (`250ms`, `1%`, `200/s`, `50MB`). Each parses once, here, into a newtype;
//! a bare number where a unit is needed is an error naming the accepted units.
//!
//! ```
//! use golive::units::{Duration, Percent};
//! let d: Duration = "250ms".parse().unwrap();
//! assert_eq!(d.as_micros(), 250_000);
//! let p: Percent = "1%".parse().unwrap();
//! assert_eq!(p.fraction(), 0.01);
//! assert!("100".parse::<Duration>().unwrap_err().to_string().contains("bare number"));
//! ```

mod bytes;
mod duration;
pub mod pattern;
mod percent;
mod rate;

pub use bytes::ByteSize;
pub use duration::Duration;
pub use percent::Percent;
pub use rate::Rate;

/// Why a unit value did not parse; the message is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {what}: {reason}")]
pub struct UnitError {
    pub input: String,
    pub what: &'static str,
    pub reason: String,
}

impl UnitError {
    fn new(input: &str, what: &'static str, reason: impl Into<String>) -> Self {
        UnitError {
            input: input.to_string(),
            what,
            reason: reason.into(),
        }
    }
}

/// Splits `"250ms"` into `(250.0, "ms")`; the number may have a fraction (`1.5s`).
fn split_number(input: &str) -> Option<(f64, &str)> {
    let s = input.trim();
    let end = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let number: f64 = s[..end].replace('_', "").parse().ok()?;
    number.is_finite().then_some((number, s[end..].trim()))
}

/// Implements `Deserialize` through `FromStr` and `Serialize` through `Display`, so a
/// unit value reads and writes as the text a user would type.
macro_rules! serde_via_str {
    ($ty:ty, $expecting:literal, $pattern:path) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$ty, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$ty, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$ty, E> {
                        v.to_string().parse().map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $expecting,
                    "pattern": $pattern(),
                })
            }
        }
    };
}
use serde_via_str;
