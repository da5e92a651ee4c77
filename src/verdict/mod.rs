//! Verdicts: one step, `judge_run`, takes what a checklist claims, what the run measured
//! (`record`) and a policy, and holds every verdict rule: each criterion judged on its
//! evidence per the evidence rules, each item's outcome, and the run's verdict with its
//! reason and exit code. Pure functions; nothing here measures or renders.

mod criterion;
mod decide;
mod exclude;
mod judge;
mod resources;
mod waiver;

pub use criterion::{counts_failures, judge, JudgedCriterion, Threshold};
pub use decide::{decide, Decision, ItemJudgement, RunState, Verdict};
pub use judge::{
    judge_item, judge_load_alone, judge_recovery, judge_run, Claim, ItemClaims, ItemKind,
    JudgedItem, Judgement, Policy,
};
pub use resources::judge_resource;
pub use waiver::{normalise_criterion, Waiver, WaiverOutcome, WaiverState};
