//! Exit codes, one per way a run can end; documented in the README.

/// GO: every blocker passed and every required sign-off was given.
pub const GO: i32 = 0;
/// NO-GO: a blocker failed.
pub const NO_GO: i32 = 1;
/// Invalid input or usage: the checklist, a flag, or a file could not be used.
pub const INVALID_INPUT: i32 = 2;
/// Environment failure: a service could not be brought up or reached, or an output
/// could not be written.
pub const ENVIRONMENT: i32 = 3;
/// INCONCLUSIVE: evidence too thin, or sign-offs pending.
pub const INCONCLUSIVE: i32 = 4;
/// ROLLBACK: a rollback rule fired during load.
pub const ROLLBACK: i32 = 5;
/// Interrupted by SIGINT or SIGTERM (the report is still written).
pub const INTERRUPTED: i32 = 130;
/// `golive verify`: a sign-off in the run folder does not verify (a bad signature, an
/// unknown key, evidence changed after signing, a ledger entry removed or edited).
pub const INVALID_SIGNOFF: i32 = 6;
/// `golive verify`: everything that is signed verifies, but some sign-offs are unsigned.
pub const UNSIGNED_SIGNOFF: i32 = 7;
