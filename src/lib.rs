//! golive turns a release's go-live checklist into executable evidence: it brings up
//! the system's services, probes them, judges every criterion on its evidence, and
//! writes a sign-off report with a verdict.
//!
//! Data flows one way: `spec` (what users write) → `plan` (validated) → `services`,
//! `check`, `load` → `verdict` → `report`. `run` sequences the phases.
//!
//! Imports point one way too, in layers (`tests/layering.rs` enforces it):
//!
//! - **Drivers**: `cli`, `demo` and `run` wire a run together; `report` assembles the
//!   sign-off from the plan and the judged evidence. `sandbox`, the reference system
//!   golive is demonstrated and tested against, sits beside them.
//! - **Compiler**: `plan` turns `spec` types into a validated `Plan`, and builds the
//!   runtime's types to do it; it is the only place a plan is made or changed.
//! - **Runtime**: `services`, `check`, `load` and `metrics` run a plan, `record` holds
//!   what it measured and `verdict` judges that. They never import the compiler, the
//!   drivers or the sandbox. `spec` and `images` serve both the compiler and the runtime.
//! - **Leaves**, which import only each other: the shared vocabulary (`template`,
//!   `expect`, `criteria`, `net`, `tally`, `faults`, `redact`), built by the compiler and used by
//!   the runtime, and the foundations (`units`, `expr`, `diag`, `evidence`, `exit`).
//!
//! The top-level modules have no import cycle.

// Console output that never panics. std's `eprintln!`, `eprint!`, `println!` and `print!`
// panic when the write fails (stderr or stdout a pipe whose reader has gone, a CI log
// collector that closed early), and that panic (exit 101) would lose the report and the
// exit code a gate depends on. A message that cannot be shown is dropped instead. A
// `macro_rules!` defined before the modules shadows the prelude's macro of the same name
// in every one of them; `#[macro_export]` lets the binary import the same ones.

/// `eprintln!` that ignores a failed write (see above).
#[macro_export]
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

/// `eprint!` that ignores a failed write.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}

/// `println!` that ignores a failed write.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that ignores a failed write.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stdout(), $($arg)*);
    }};
}

pub mod attest;
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
pub mod monitor;
pub mod net;
pub mod plan;
pub mod record;
pub mod redact;
pub mod report;
pub mod rules;
pub mod run;
pub mod sandbox;
pub mod services;
pub mod spec;
pub mod tally;
pub mod template;
pub mod units;
pub mod verdict;
