//! The run's verdict from its items' outcomes and how the run ended.

use crate::evidence::Outcome;
use crate::exit;
use crate::spec::Severity;
use serde::{Deserialize, Serialize};

/// The run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Go,
    NoGo,
    Inconclusive,
    Rollback,
}

impl Verdict {
    /// As shown to people: `GO`, `NO-GO`, `INCONCLUSIVE`, `ROLLBACK`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::NoGo => "NO-GO",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Rollback => "ROLLBACK",
        }
    }
}

/// What the verdict needs to know about one item.
#[derive(Debug, Clone)]
pub struct ItemJudgement {
    pub id: String,
    pub severity: Severity,
    pub outcome: Outcome,
    /// A manual item still waiting for its sign-off.
    pub pending_signoff: bool,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Completed,
    Interrupted,
    /// A service could not be brought up or reached.
    EnvironmentFailed(String),
    /// A rollback rule fired during load; the reason names it.
    RolledBack(String),
}

/// The verdict, a one-line reason, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
    pub exit_code: i32,
}

fn ids(items: &[&ItemJudgement]) -> String {
    let mut s: Vec<String> = items
        .iter()
        .take(5)
        .map(|i| format!("`{}`", i.id))
        .collect();
    if items.len() > 5 {
        s.push(format!("and {} more", items.len() - 5));
    }
    s.join(", ")
}

/// GO only when every blocker passed and every sign-off was given; a failed blocker is
/// NO-GO even in an interrupted run, since the failure was observed.
pub fn decide(items: &[ItemJudgement], state: &RunState) -> Decision {
    let blockers: Vec<&ItemJudgement> = items
        .iter()
        .filter(|i| i.severity == Severity::Blocker)
        .collect();
    let failed: Vec<&ItemJudgement> = blockers
        .iter()
        .copied()
        .filter(|i| i.outcome == Outcome::Fail)
        .collect();
    let pending: Vec<&ItemJudgement> = items
        .iter()
        .filter(|i| i.pending_signoff && i.severity == Severity::Blocker)
        .collect();
    let thin: Vec<&ItemJudgement> = blockers
        .iter()
        .copied()
        .filter(|i| i.outcome == Outcome::Inconclusive && !i.pending_signoff)
        .collect();
    let (verdict, mut reason) = if let RunState::RolledBack(why) = state {
        (Verdict::Rollback, why.clone())
    } else if !failed.is_empty() {
        (
            Verdict::NoGo,
            format!("{} blocker(s) failed: {}", failed.len(), ids(&failed)),
        )
    } else if let RunState::EnvironmentFailed(why) = state {
        (Verdict::Inconclusive, format!("environment failure: {why}"))
    } else if *state == RunState::Interrupted {
        (
            Verdict::Inconclusive,
            "the run was interrupted before every item was judged".to_string(),
        )
    } else if !thin.is_empty() || !pending.is_empty() {
        let mut parts = Vec::new();
        if !thin.is_empty() {
            parts.push(format!(
                "evidence too thin for {} blocker(s): {}",
                thin.len(),
                ids(&thin)
            ));
        }
        if !pending.is_empty() {
            parts.push(format!(
                "{} sign-off(s) pending: {}",
                pending.len(),
                ids(&pending)
            ));
        }
        (Verdict::Inconclusive, parts.join("; "))
    } else {
        let waived = blockers
            .iter()
            .filter(|i| i.outcome == Outcome::Waived)
            .count();
        let under_waivers = if waived > 0 {
            format!(" ({waived} of them only under a waiver)")
        } else {
            String::new()
        };
        (
            Verdict::Go,
            format!(
                "all {} blocker(s) passed{under_waivers} and every sign-off was given",
                blockers.len()
            ),
        )
    };
    let exit_code = match (state, verdict) {
        (RunState::Interrupted, _) => exit::INTERRUPTED,
        (RunState::EnvironmentFailed(_), _) => exit::ENVIRONMENT,
        (RunState::RolledBack(_), _) => exit::ROLLBACK,
        (_, Verdict::Go) => exit::GO,
        (_, Verdict::NoGo) => exit::NO_GO,
        (_, Verdict::Inconclusive) => exit::INCONCLUSIVE,
        (_, Verdict::Rollback) => exit::ROLLBACK,
    };
    if *state == RunState::Interrupted && verdict == Verdict::NoGo {
        reason.push_str(" (the run was then interrupted)");
    }
    Decision {
        verdict,
        reason,
        exit_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, severity: Severity, outcome: Outcome, pending: bool) -> ItemJudgement {
        ItemJudgement {
            id: id.into(),
            severity,
            outcome,
            pending_signoff: pending,
        }
    }

    #[test]
    fn verdict_table() {
        use Outcome::*;
        use Severity::*;
        let table = [
            (
                vec![item("a", Blocker, Pass, false)],
                RunState::Completed,
                Verdict::Go,
                0,
            ),
            (
                vec![
                    item("a", Blocker, Pass, false),
                    item("w", Warning, Fail, false),
                ],
                RunState::Completed,
                Verdict::Go,
                0,
            ),
            (
                vec![item("a", Blocker, Fail, false)],
                RunState::Completed,
                Verdict::NoGo,
                1,
            ),
            (
                vec![item("a", Blocker, Inconclusive, false)],
                RunState::Completed,
                Verdict::Inconclusive,
                4,
            ),
            (
                vec![item("s", Blocker, Inconclusive, true)],
                RunState::Completed,
                Verdict::Inconclusive,
                4,
            ),
            (
                vec![item("s", Info, Inconclusive, true)],
                RunState::Completed,
                Verdict::Go,
                0,
            ),
            (
                vec![item("a", Blocker, Fail, false)],
                RunState::Interrupted,
                Verdict::NoGo,
                130,
            ),
            (
                vec![item("a", Blocker, Pass, false)],
                RunState::Interrupted,
                Verdict::Inconclusive,
                130,
            ),
            (
                vec![item("a", Blocker, Inconclusive, false)],
                RunState::EnvironmentFailed("db".into()),
                Verdict::Inconclusive,
                3,
            ),
        ];
        for (items, state, verdict, code) in table {
            let d = decide(&items, &state);
            assert_eq!(
                (d.verdict, d.exit_code),
                (verdict, code),
                "{items:?} {state:?}: {}",
                d.reason
            );
        }
    }

    #[test]
    fn reasons_name_the_items() {
        let d = decide(
            &[
                item("health", Severity::Blocker, Outcome::Fail, false),
                item("qa", Severity::Blocker, Outcome::Inconclusive, true),
            ],
            &RunState::Completed,
        );
        assert_eq!(d.reason, "1 blocker(s) failed: `health`");
        let d = decide(
            &[item("qa", Severity::Blocker, Outcome::Inconclusive, true)],
            &RunState::Completed,
        );
        assert_eq!(d.reason, "1 sign-off(s) pending: `qa`");
    }
}
