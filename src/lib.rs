//! golive turns a release's go-live checklist into executable evidence: it brings up
//! the system's services, probes them, judges every criterion on its evidence, and
//! writes a sign-off report with a verdict.
//!
//! Data flows one way: `spec` (what users write) → `plan` (validated) → `services`,
//! `check` → `verdict` → `report`. `run` sequences the phases.

pub mod check;
pub mod cli;
pub mod criteria;
pub mod demo;
pub mod diag;
pub mod evidence;
pub mod exit;
pub mod expect;
pub mod expr;
pub mod faults;
pub mod images;
pub mod load;
pub mod metrics;
pub mod net;
pub mod plan;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod services;
pub mod spec;
pub mod tally;
pub mod template;
pub mod units;
pub mod verdict;
