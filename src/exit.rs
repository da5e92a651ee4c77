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
