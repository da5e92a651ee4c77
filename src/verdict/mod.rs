//! Verdicts: each criterion judged on its observations per the evidence rules, each
//! item's outcome as the worst of its criteria (or its sign-off), and the run's verdict
//! with the reason and exit code. Pure functions of plan + observations.

mod criterion;
mod decide;
mod resources;

pub use criterion::{judge, CriterionOutcome};
pub use decide::{decide, Decision, ItemJudgement, RunState, Verdict};
pub use resources::judge_resource;
