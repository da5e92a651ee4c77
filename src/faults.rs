//! The faults the reference system accepts: what a user writes (`--fault latency=300ms`,
//! the JSON body of `PUT /admin/faults`, or a drill's `inject` set), parsed once into
//! [`Faults`], and the faults that act only when it starts (`stale_lock=PATH`), which
//! `--fault` adds to them in [`StartFaults`]. A leaf of shared vocabulary: the compiler validates `inject` drills against
//! it and `sandbox` applies it, so the compiler does not import the reference system.

use crate::units::{ByteSize, Duration, Percent, UnitError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The fault names and value units `--fault` accepts, quoted in every parse error.
pub const ACCEPTED: &str = "latency=DURATION (e.g. 300ms), jitter=DURATION (e.g. 50ms), \
     errors=PERCENT (e.g. 30%), stall=PERCENT (e.g. 10%), leak=BYTES per second (e.g. 1MB), \
     hub_down=HUB (market-data, trading or portfolio), exec_median=DURATION (e.g. 250ms), \
     exec_spread=NUMBER (e.g. 0.43)";

/// The faults that act only at start, so `--fault` takes them but `PUT /admin/faults`
/// and a drill's `inject` set do not.
pub const START_ONLY: &str = "stale_lock=PATH (a lock file taken at start, refusing to start \
     while it exists)";

const STALE_LOCK: &str = "stale_lock";

const NAMES: [&str; 9] = [
    "latency",
    "jitter",
    "errors",
    "stall",
    "leak",
    "hub_down",
    "exec_median",
    "exec_spread",
    STALE_LOCK,
];

/// Order execution's median time when no fault sets it.
pub const EXEC_MEDIAN: Duration = Duration::from_millis(120);
/// Order execution's spread (σ of the log) when no fault sets it.
pub const EXEC_SPREAD: f64 = 0.35;

/// The reference system's real-time hubs (SignalR-style, under `/hubs/NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hub {
    MarketData,
    Trading,
    Portfolio,
}

impl Hub {
    pub const ALL: [Hub; 3] = [Hub::MarketData, Hub::Trading, Hub::Portfolio];

    /// The name in URLs and faults: `market-data`.
    pub fn name(self) -> &'static str {
        match self {
            Hub::MarketData => "market-data",
            Hub::Trading => "trading",
            Hub::Portfolio => "portfolio",
        }
    }

    pub fn from_name(name: &str) -> Option<Hub> {
        Hub::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// Faults injected into every non-admin route; all absent by default.
///
/// Serialises as the admin API's JSON, with units written out:
/// `{"latency":"300ms","errors":"30%"}`. A missing or `null` field means no such fault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Fixed delay added before every answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Duration>,
    /// Extra delay drawn uniformly from `0..=jitter` per request, on top of `latency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Duration>,
    /// Share of requests answered `500 {"error":"injected fault"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Percent>,
    /// Share of requests never answered (held until shutdown, at most 10 minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall: Option<Percent>,
    /// Resident memory the process deliberately grows by, per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leak: Option<ByteSize>,
    /// A hub that refuses negotiation and connections (503) and closes its sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_down: Option<Hub>,
    /// Median time of `POST /api/orders/execute`, whose times are log-normal. Default 120ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_median: Option<Duration>,
    /// Spread of order execution: σ of the log of its time (0.35 by default, so p99.7 is
    /// about 2.6 times the median). At most 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_spread: Option<f64>,
}

/// The faults given when the reference system starts (`--fault`, `GOLIVE_SANDBOX_FAULTS`):
/// the switchable [`Faults`] and those that act only at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartFaults {
    pub faults: Faults,
    /// `stale_lock=PATH`: the sandbox takes PATH as its lock file at start (create-new,
    /// its PID inside) and removes it on a clean shutdown. A killed sandbox leaves it
    /// behind, and the next start refuses to run while it exists: a crash loop under a
    /// restarting supervisor, as a real service with a stale lock has.
    pub stale_lock: Option<PathBuf>,
}

/// Why a `--fault NAME=VALUE` flag was refused; each variant keeps the flag as typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("fault `{flag}` is not NAME=VALUE; accepted: {ACCEPTED}; at start only: {START_ONLY}")]
    NotNameValue { flag: String },
    #[error("unknown fault `{name}` in `{flag}`{}; accepted: {ACCEPTED}; at start only: {START_ONLY}", did_you_mean(.suggestion))]
    UnknownName {
        flag: String,
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error("fault `{flag}`: {reason}; accepted: {ACCEPTED}")]
    BadValue { flag: String, reason: UnitError },
    #[error("fault `{flag}` acts only when the sandbox starts (`--fault` or GOLIVE_SANDBOX_FAULTS), not on a running one")]
    StartOnly { flag: String },
    #[error(
        "fault `{flag}`: there is no hub `{hub}`; the hubs are market-data, trading and portfolio"
    )]
    UnknownHub { flag: String, hub: String },
    #[error("fault `{flag}`: the spread is a number from 0 to 3, e.g. exec_spread=0.43")]
    BadSpread { flag: String },
    #[error("fault `{name}` is given twice (`{first}` and `{second}`); give each fault once")]
    Repeated {
        name: &'static str,
        first: String,
        second: String,
    },
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl Faults {
    /// Parses `--fault NAME=VALUE` flags that name only switchable faults; a start-only
    /// one (`stale_lock`) is refused, since these faults may be applied to a running
    /// sandbox. [`StartFaults::parse_flags`] takes both.
    pub fn parse_flags(flags: &[String]) -> Result<Faults, FaultError> {
        let start = StartFaults::parse_flags(flags)?;
        match flags
            .iter()
            .find(|f| {
                f.split_once('=')
                    .is_some_and(|(n, _)| n.trim() == STALE_LOCK)
            })
            .filter(|_| start.stale_lock.is_some())
        {
            Some(flag) => Err(FaultError::StartOnly { flag: flag.clone() }),
            None => Ok(start.faults),
        }
    }
}

impl StartFaults {
    /// Parses repeatable `--fault NAME=VALUE` flags; a name given twice is an error rather
    /// than "last one wins", because a drill silently running the wrong fault is worse.
    pub fn parse_flags(flags: &[String]) -> Result<StartFaults, FaultError> {
        let mut start = StartFaults::default();
        let faults = &mut start.faults;
        let mut seen: Vec<(&'static str, &str)> = Vec::new();
        for flag in flags {
            let (name, value) = flag
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .filter(|(n, v)| !n.is_empty() && !v.is_empty())
                .ok_or_else(|| FaultError::NotNameValue { flag: flag.clone() })?;
            let name = NAMES
                .into_iter()
                .find(|known| *known == name)
                .ok_or_else(|| FaultError::UnknownName {
                    flag: flag.clone(),
                    name: name.to_string(),
                    suggestion: closest(name),
                })?;
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(FaultError::Repeated {
                    name,
                    first: first.to_string(),
                    second: flag.clone(),
                });
            }
            seen.push((name, flag));
            let bad = |reason| FaultError::BadValue {
                flag: flag.clone(),
                reason,
            };
            match name {
                "latency" => faults.latency = Some(value.parse().map_err(bad)?),
                "jitter" => faults.jitter = Some(value.parse().map_err(bad)?),
                "errors" => faults.errors = Some(value.parse().map_err(bad)?),
                "stall" => faults.stall = Some(value.parse().map_err(bad)?),
                "leak" => faults.leak = Some(value.parse().map_err(bad)?),
                "exec_median" => faults.exec_median = Some(value.parse().map_err(bad)?),
                "exec_spread" => {
                    faults.exec_spread = Some(
                        value
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && (0.0..=3.0).contains(v))
                            .ok_or_else(|| FaultError::BadSpread { flag: flag.clone() })?,
                    )
                }
                // The path is taken as written, spaces inside included.
                STALE_LOCK => start.stale_lock = Some(PathBuf::from(value)),
                _ => {
                    faults.hub_down =
                        Some(Hub::from_name(value).ok_or_else(|| FaultError::UnknownHub {
                            flag: flag.clone(),
                            hub: value.to_string(),
                        })?)
                }
            }
        }
        Ok(start)
    }
}

fn closest(name: &str) -> Option<&'static str> {
    NAMES
        .into_iter()
        .map(|known| (strsim::levenshtein(name, known), known))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, known)| known)
}

impl fmt::Display for Faults {
    /// `latency=300ms, errors=30%`, or `none`: the same words the flags use.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let parts: Vec<String> = [
            self.latency.map(|v| format!("latency={v}")),
            self.jitter.map(|v| format!("jitter={v}")),
            self.errors.map(|v| format!("errors={v}")),
            self.stall.map(|v| format!("stall={v}")),
            self.leak.map(|v| format!("leak={v}")),
            self.hub_down.map(|h| format!("hub_down={}", h.name())),
            self.exec_median.map(|v| format!("exec_median={v}")),
            self.exec_spread.map(|v| format!("exec_spread={v}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_fault() {
        let f = Faults::parse_flags(&flags(&[
            "latency=300ms",
            "jitter=50ms",
            "errors=30%",
            "stall = 10%",
            "leak=1MB",
        ]))
        .unwrap();
        assert_eq!(f.latency, Some(Duration::from_millis(300)));
        assert_eq!(f.jitter, Some(Duration::from_millis(50)));
        assert_eq!(f.errors, Some(Percent::from_fraction(0.3)));
        assert_eq!(f.stall, Some(Percent::from_fraction(0.1)));
        assert_eq!(f.leak, Some("1MB".parse().unwrap()));
        assert_eq!(
            f.to_string(),
            "latency=300ms, jitter=50ms, errors=30%, stall=10%, leak=1MB"
        );
        assert_eq!(Faults::parse_flags(&[]).unwrap(), Faults::default());
        assert_eq!(Faults::default().to_string(), "none");
    }

    #[test]
    fn rejects_bad_flags_naming_the_flag_and_the_accepted_names() {
        for (flag, needle) in [
            ("latency", "is not NAME=VALUE"),
            ("=300ms", "is not NAME=VALUE"),
            ("latency=", "is not NAME=VALUE"),
            ("latncy=300ms", "did you mean `latency`?"),
            ("explode=1", "unknown fault `explode`"),
            ("latency=300", "bare number"),
            ("errors=30", "bare number"),
            ("errors=130%", "between 0% and 100%"),
            ("leak=1mb", "unknown unit `mb`"),
            ("stall=10ms", "unknown unit `ms`"),
        ] {
            let e = Faults::parse_flags(&flags(&[flag]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{flag}: {e}");
            assert!(e.contains(&format!("`{flag}`")), "names the flag: {e}");
            assert!(e.contains("latency=DURATION"), "lists accepted: {e}");
        }
        let e = Faults::parse_flags(&flags(&["errors=1%", "errors=2%"])).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
    }

    #[test]
    fn a_stale_lock_is_a_start_only_fault() {
        let start =
            StartFaults::parse_flags(&flags(&["errors=5%", "stale_lock = /tmp/a b.lock"])).unwrap();
        assert_eq!(start.stale_lock, Some(PathBuf::from("/tmp/a b.lock")));
        assert_eq!(start.faults.errors, Some(Percent::from_fraction(0.05)));
        let e = Faults::parse_flags(&flags(&["stale_lock=/tmp/x.lock"])).unwrap_err();
        assert!(matches!(e, FaultError::StartOnly { .. }), "{e}");
        assert!(
            e.to_string().contains("only when the sandbox starts"),
            "{e}"
        );
        let e = StartFaults::parse_flags(&flags(&["stale_lok=/tmp/x"])).unwrap_err();
        assert!(e.to_string().contains("did you mean `stale_lock`?"), "{e}");
        assert!(e.to_string().contains("stale_lock=PATH"), "{e}");
        let e = StartFaults::parse_flags(&flags(&["stale_lock=/a", "stale_lock=/b"])).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        // Not something a running sandbox can be told.
        let e = serde_json::from_str::<Faults>(r#"{"stale_lock":"/tmp/x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `stale_lock`"), "{e}");
    }

    #[test]
    fn json_shape_round_trips_and_is_strict() {
        let f: Faults = serde_json::from_str(r#"{"latency":"300ms","errors":"30%"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"latency":"300ms","errors":"30%"}"#
        );
        assert_eq!(serde_json::to_string(&Faults::default()).unwrap(), "{}");
        let none: Faults = serde_json::from_str(r#"{"latency":null}"#).unwrap();
        assert_eq!(none, Faults::default());
        let e = serde_json::from_str::<Faults>(r#"{"latncy":"1s"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `latncy`"), "{e}");
        let e = serde_json::from_str::<Faults>(r#"{"errors":"200%"}"#).unwrap_err();
        assert!(e.to_string().contains("between 0% and 100%"), "{e}");
    }
}
