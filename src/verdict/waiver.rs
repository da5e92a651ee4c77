//! Waivers: known issues carried as documented exceptions, each with an owner, a reason
//! and an expiry. A waiver in force turns the FAILs it covers into WAIVED (never PASS) and,
//! for a load item, can take one request out of the judged scope ("error rate < 5%
//! excluding the known issue"). It is judged against the policy's clock: an expired waiver
//! is not applied and says so, and one that covered nothing is reported unused.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One waiver as the checklist (or `--waivers` file) states it, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    pub id: String,
    /// The item it covers.
    pub item: String,
    /// The criterion it covers, as written; `None` covers every criterion of the item.
    pub criterion: Option<String>,
    /// A load item's request left out of the judged scope.
    pub exclude_request: Option<String>,
    /// With `exclude_request`: only that request's failed answers with this HTTP status
    /// are left out (its other failures still count); null leaves out the whole request.
    #[serde(default)]
    pub exclude_status: Option<u16>,
    pub reason: String,
    pub owner: String,
    pub link: Option<String>,
    /// The last day it applies (UTC), `YYYY-MM-DD`.
    #[schemars(with = "String")]
    pub expires: NaiveDate,
}

/// What became of a waiver in one judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverState {
    /// In force, and it covered a failure or left out a request that had errors.
    Applied,
    /// Past its expiry: not applied.
    Expired,
    /// In force, but nothing it covers failed (the known issue is fixed, or changed shape).
    Unused,
}

/// A waiver and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverOutcome {
    pub waiver: Waiver,
    pub state: WaiverState,
    /// One line: what it covered, or why not.
    pub why: String,
}

impl Waiver {
    /// In force on `now`'s date: through the whole of its expiry day, UTC.
    pub fn in_force(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        now.date_naive() <= self.expires
    }

    /// Whether it covers criterion `text` of its item.
    pub fn covers(&self, text: &str) -> bool {
        self.criterion
            .as_deref()
            .is_none_or(|c| normalise_criterion(c) == normalise_criterion(text))
    }

    /// What it leaves out of a load item's judged scope, in words ("status 500 of request
    /// `volume-leaders`", "request `volume-leaders`"); `None` when it leaves out nothing.
    pub fn excludes(&self) -> Option<String> {
        let request = self.exclude_request.as_deref()?;
        Some(match self.exclude_status {
            Some(status) => format!("status {status} of request `{request}`"),
            None => format!("request `{request}`"),
        })
    }

    /// "waiver `x` (owner, until 2026-12-31): reason".
    pub fn label(&self) -> String {
        format!(
            "waiver `{}` ({}, until {}): {}",
            self.id, self.owner, self.expires, self.reason
        )
    }
}

/// Criterion text compared without white space, so `p95<100ms` matches `p95 < 100ms`.
pub fn normalise_criterion(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiver(expires: &str) -> Waiver {
        Waiver {
            id: "known".into(),
            item: "quotes".into(),
            criterion: Some("error_rate < 5%".into()),
            exclude_request: None,
            exclude_status: None,
            reason: "volume leaders answers 500".into(),
            owner: "Ada".into(),
            link: None,
            expires: expires.parse().unwrap(),
        }
    }

    #[test]
    fn in_force_through_its_expiry_day() {
        let w = waiver("2026-11-30");
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        assert!(w.in_force(at("2026-11-30T23:59:59Z")));
        assert!(!w.in_force(at("2026-12-01T00:00:00Z")));
        assert!(w.covers("error_rate<5%"));
        assert!(!w.covers("p95 < 100ms"));
        assert_eq!(w.excludes(), None);
    }

    #[test]
    fn says_what_it_excludes() {
        let mut w = waiver("2026-11-30");
        w.exclude_request = Some("volume-leaders".into());
        assert_eq!(w.excludes().as_deref(), Some("request `volume-leaders`"));
        w.exclude_status = Some(500);
        assert_eq!(
            w.excludes().as_deref(),
            Some("status 500 of request `volume-leaders`")
        );
    }
}
