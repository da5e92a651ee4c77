//! `golive compare BASE CURRENT`: the before/after table of two runs. Exit 0 when nothing
//! regressed, 1 on a regression, 4 when something could not be judged (and nothing
//! regressed), 2 when either file cannot be read as a results.json.

use crate::exit;
use crate::report::{self, compare};
use std::path::{Path, PathBuf};

/// How `golive compare` writes its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    Md,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// The baseline run's results.json (e.g. the last release).
    pub base: PathBuf,
    /// The run to judge against it.
    pub current: PathBuf,
    #[arg(long, value_enum, default_value = "md")]
    pub format: CompareFormat,
    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: &CompareArgs) -> i32 {
    let load = |p: &Path| report::load_results(p).inspect_err(|e| super::print_error(e));
    let (Ok(base), Ok(current)) = (load(&args.base), load(&args.current)) else {
        return exit::INVALID_INPUT;
    };
    let names = (
        args.base.display().to_string(),
        args.current.display().to_string(),
    );
    let c = compare::compare(&base, &current, (&names.0, &names.1));
    let rendered = match args.format {
        CompareFormat::Md => compare::markdown(&c),
        CompareFormat::Json => compare::json(&c),
    };
    match &args.output {
        None => print!("{rendered}"),
        Some(p) => {
            if let Err(e) = report::write_atomic(p, &rendered) {
                eprintln!("{}: cannot write: {e}", p.display());
                return exit::ENVIRONMENT;
            }
            println!("COMPARE: {} ({})", c.verdict.as_str(), p.display());
        }
    }
    c.exit_code
}
