//! The command line: subcommands, their flags, and how each maps to an exit code.

use crate::exit;
use crate::plan::{plan_file, ItemBody, Plan};
use crate::report::{self, Format, Report};
use crate::run::{self, Event, RunOptions};
use crate::services::Provider;
use clap::{Parser, Subcommand};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "golive",
    version,
    about = "Turns a go-live checklist into executable evidence and a verdict."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a checklist: bring services up, run every item, judge, write the reports.
    Run(RunArgs),
    /// Validate checklists; every problem is reported as file:line:col.
    Validate {
        /// Checklist files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of checklists (for editors), or of results.json.
    Schema {
        /// Print the schema of results.json instead.
        #[arg(long)]
        results: bool,
    },
    /// Re-render a results.json without re-running.
    Report {
        /// A results.json written by `golive run`.
        results: PathBuf,
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
        /// Write to this file (atomically) instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Run the demo: the reference portfolio system against checks/portfolio-golive.yaml.
    Demo(DemoArgs),
    /// Run the built-in reference portfolio system (a test target).
    Sandbox(crate::sandbox::SandboxArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The checklist to run.
    pub checklist: PathBuf,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

#[derive(clap::Args, Debug)]
pub struct CommonRunArgs {
    /// Run folder for results.json, report.md and junit.xml. Default: golive-runs/<run id>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Which form runs each service.
    #[arg(long, value_enum, default_value = "auto")]
    pub provider: Provider,
    /// Sign a manual item: ITEM_ID=NAME (repeatable).
    #[arg(long = "sign", value_name = "ITEM_ID=NAME")]
    pub sign: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Inject a fault into the reference system, e.g. latency=300ms, errors=30%, stall=10%.
    #[arg(long = "fault", value_name = "NAME=VALUE")]
    pub faults: Vec<String>,
    /// Run folder. Default: golive-runs/<run id>.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `golive validate`: exit 0 when every file is valid, else 2.
pub fn validate(files: &[PathBuf]) -> i32 {
    let mut code = exit::GO;
    for f in files {
        match plan_file(f) {
            Ok(p) => println!(
                "{}: ok ({} items in {} phases, {} services)",
                f.display(),
                p.items().count(),
                p.phases.len(),
                p.services.len()
            ),
            Err(diags) => {
                for d in diags {
                    eprintln!("{d}");
                }
                code = exit::INVALID_INPUT;
            }
        }
    }
    code
}

/// `golive schema`.
pub fn schema(results: bool) -> i32 {
    let schema = if results {
        report::results_schema()
    } else {
        crate::spec::checklist_schema()
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    exit::GO
}

/// `golive report`.
pub fn rerender(results: &Path, format: Format, output: Option<&Path>) -> i32 {
    let text = match std::fs::read_to_string(results) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", results.display());
            return exit::INVALID_INPUT;
        }
    };
    let report: Report = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "{}:{}:{}: not a golive results.json: {e}",
                results.display(),
                e.line(),
                e.column()
            );
            return exit::INVALID_INPUT;
        }
    };
    let rendered = format.render(&report);
    match output {
        None => {
            print!("{rendered}");
            exit::GO
        }
        Some(p) => match report::write_atomic(p, &rendered) {
            Ok(()) => exit::GO,
            Err(e) => {
                eprintln!("{}: cannot write: {e}", p.display());
                exit::ENVIRONMENT
            }
        },
    }
}

/// Parses `--sign ITEM_ID=NAME` against the plan's manual items.
pub fn signoffs(plan: &Plan, flags: &[String]) -> Result<HashMap<String, String>, String> {
    let manual: Vec<&str> = plan
        .items()
        .filter(|i| matches!(i.body, ItemBody::Manual(_)))
        .map(|i| i.id.as_str())
        .collect();
    let mut out = HashMap::new();
    for flag in flags {
        let (id, name) = flag.split_once('=').ok_or_else(|| {
            format!("--sign `{flag}`: write ITEM_ID=NAME, e.g. --sign qa-signoff=\"Ada Lovelace\"")
        })?;
        let (id, name) = (id.trim(), name.trim());
        if !manual.contains(&id) {
            let hint = crate::diag::did_you_mean(id, manual.iter().copied())
                .unwrap_or_else(|| format!("manual items: {}", manual.join(", ")));
            return Err(format!(
                "--sign `{flag}`: `{id}` is not a manual item of this checklist; {hint}"
            ));
        }
        if name.is_empty() {
            return Err(format!("--sign `{flag}`: the signer's name is empty"));
        }
        out.insert(id.to_string(), name.to_string());
    }
    Ok(out)
}

/// The default run folder.
pub fn default_out() -> PathBuf {
    PathBuf::from("golive-runs").join(run::new_run_id(chrono::Utc::now()))
}

/// Runs a plan and prints progress and the summary; returns the exit code.
pub async fn run_plan(plan: &Plan, opts: RunOptions, cancel: CancellationToken) -> i32 {
    eprintln!("golive: {} — {}", plan.system, plan.file.display());
    match run::run(plan, opts, cancel, &print_event).await {
        Ok(outcome) => {
            print_summary(&outcome.report, &outcome.files);
            outcome.report.exit_code
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::ENVIRONMENT
        }
    }
}

fn print_event(e: Event) {
    match e {
        Event::ServiceReady {
            name,
            url,
            provider,
            ms,
        } => eprintln!("  service {name} ready ({provider}) at {url} after {ms} ms"),
        Event::ServiceFailed { name, error } => eprintln!("  service {name} FAILED: {error}"),
        Event::ItemStarted { id, title, samples } => eprintln!(
            "  → {id}: {title} ({samples} sample{})",
            if samples == 1 { "" } else { "s" }
        ),
        Event::ItemSampled { obs, .. } => {
            let mut line = format!("    {} samples, {} failed", obs.samples, obs.failures);
            if !obs.latency.is_empty() {
                line.push_str(&format!(
                    ", p95 {}",
                    crate::evidence::latency(obs.latency.value_at_quantile(0.95))
                ));
            }
            if obs.stopped_early {
                line.push_str(", stopped early: a FAIL was certain");
            }
            if let Some(e) = &obs.setup_error {
                line.push_str(&format!(", could not run: {e}"));
            }
            eprintln!("{line}");
        }
    }
}

fn print_summary(r: &Report, files: &[PathBuf]) {
    use crate::evidence::Outcome;
    println!();
    for item in r.items() {
        let mark = match item.outcome {
            Outcome::Pass => "PASS        ",
            Outcome::Fail => "FAIL        ",
            Outcome::Inconclusive => "INCONCLUSIVE",
        };
        println!("  {mark} {:<28} {}", item.id, item.why);
    }
    println!();
    println!("VERDICT: {} — {}", r.verdict.label(), r.verdict_reason);
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("Reports: {}", names.join(", "));
}
