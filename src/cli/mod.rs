//! The command line: subcommands, their flags, and how each maps to an exit code.

mod adhoc;
pub mod compare;
pub mod image;
pub mod k8s;
pub mod monitor;
mod progress;
pub use progress::set_quiet;
mod running;
mod signoff;
mod validate;

pub use adhoc::load_command;
pub use running::{run_plan, Telemetry};
pub use signoff::{keygen, sign, verify, Emit, KeygenArgs, SignArgs, VerifyArgs};
pub use validate::validate;

/// `golive cleanup`: ends the processes killed runs left running and removes their
/// containers and networks; exit 3 when Docker does not answer (the processes are
/// ended first, without it).
pub async fn cleanup(run: Option<&str>) -> i32 {
    let swept = crate::services::ledger::sweep(run, crate::services::session::GRACE).await;
    for e in &swept.ended {
        println!(
            "ended {} process(es) of `{}` (session {}, run {})",
            e.processes, e.what, e.session, e.run_id
        );
    }
    if swept.live_owner > 0 {
        println!(
            "left {} process session(s) alone: the golive that started them still runs",
            swept.live_owner
        );
    }
    println!(
        "golive cleanup: {} process session(s) ended.",
        swept.ended.len()
    );
    let docker = match crate::services::Docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::ENVIRONMENT;
        }
    };
    match docker.remove_labelled(run).await {
        Ok(removed) => {
            for c in &removed.containers {
                println!("removed container {c}");
            }
            for n in &removed.networks {
                println!("removed network {n}");
            }
            println!(
                "golive cleanup: {} container(s) and {} network(s) removed.",
                removed.containers.len(),
                removed.networks.len()
            );
            exit::GO
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::ENVIRONMENT
        }
    }
}

use crate::exit;
use crate::plan::{ItemBody, Plan};
use crate::report::{self, Format, Report};
use crate::run;
use crate::services::Provider;
use clap::{Parser, Subcommand};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `golive --version`: the crate version and the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GOLIVE_COMMIT"),
    ")"
);

/// Shown after `golive --help`: examples, the exit codes, the environment.
const AFTER_HELP: &str = "\
Examples:
  golive demo                                   the reference system against its checklist
  golive validate checks/                       every checklist and scenario in a folder
  golive validate --no-env checks/ scenarios/   the same without the secrets {env.NAME} reads
  golive run checks/portfolio-golive.yaml --sign code-review='Ana Ruiz'
  golive run checks/trade-x-pro-before-after.yaml --baseline last/results.json
  golive load --url http://127.0.0.1:8080/health --rate 200/s --duration 30s
  golive compare last/results.json this/results.json

Exit codes:
  0  GO (or: valid, no regression)      4  INCONCLUSIVE: evidence too thin, sign-offs pending
  1  NO-GO: a blocker failed             5  ROLLBACK: a rollback rule fired during load
  2  invalid input or usage              6  verify: a sign-off does not verify
  3  environment failure                 7  verify: valid, but some sign-offs are unsigned
  130 interrupted (the report is still written)

Environment:
  GOLIVE_RUNS_DIR   where run folders go when --out is not given (default golive-runs)
  GOLIVE_PROVIDER, GOLIVE_BASELINE, GOLIVE_METRICS_ADDR, GOLIVE_PUSHGATEWAY, GOLIVE_KEYS,
  GOLIVE_COLOR, GOLIVE_QUIET        the flags of the same name
  NO_COLOR          no colour, as --color never; GOLIVE_LOG  log filter (default warn)";

#[derive(Parser, Debug)]
#[command(
    name = "golive",
    version = VERSION,
    about = "Turns a go-live checklist into executable evidence and a verdict.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print nothing but errors: no progress, no summary (the reports are still written).
    #[arg(short, long, global = true, env = "GOLIVE_QUIET")]
    pub quiet: bool,
    /// Colour on standard output: `auto` when it is a terminal and NO_COLOR is unset.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        env = "GOLIVE_COLOR"
    )]
    pub color: ColorWhen,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Sets the choice for everything golive prints through `anstream`.
    pub fn apply(self) {
        let choice = match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a checklist: bring services up, run every item, judge, write the reports.
    Run(RunArgs),
    /// Run a checklist forever: each check item on its own interval, alert rules and
    /// objectives judged as ticks come in, notifications to Alertmanager or a webhook, a
    /// status page with /metrics. SIGHUP reloads the file; SIGINT or SIGTERM stops.
    Monitor(MonitorArgs),
    /// Validate checklists and load scenarios; every problem is reported as
    /// file:line:col.
    ///
    /// A scenario file that a checklist among the inputs uses (`check: { kind: load,
    /// scenario: FILE }`) is validated with that checklist's services, once per checklist
    /// item that uses it, and its problems name that item. One that no input checklist
    /// uses, or that declares services of its own (it can run alone), is validated on its
    /// own as well. So give a scenario together with its checklist: `golive validate
    /// checks scenarios`.
    Validate {
        /// Checklist or scenario files, folders (every .yaml and .yml file in them, at any
        /// depth), or `-` for standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check `{env.NAME}` placeholders as written without reading the variables, so
        /// CI can validate without the secrets; unset variables are then no error.
        /// Nothing is run or connected to either way.
        #[arg(long)]
        no_env: bool,
    },
    /// Print a shell completion script: `golive completions bash > /etc/bash_completion.d/golive`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema of checklists (for editors), of scenarios, or of results.json.
    ///
    /// Editors (yaml-language-server) read the schema named on a file's first line. Beside
    /// the committed copies use the relative path (`# yaml-language-server:
    /// $schema=checklist.schema.json`); anywhere else use the schema's `$id`, the versioned
    /// URL of this release's copy, e.g. `# yaml-language-server:
    /// $schema=https://raw.githubusercontent.com/golive/golive/v<version>/checks/checklist.schema.json`
    /// (`scenarios/scenario.schema.json` for scenarios).
    Schema {
        /// Print the schema of results.json instead.
        #[arg(long, conflicts_with = "scenario")]
        results: bool,
        /// Print the schema of load scenarios instead.
        #[arg(long)]
        scenario: bool,
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
    /// Run a load scenario, or ad hoc: `golive load --url URL --rate 200/s --duration 30s`.
    Load(LoadArgs),
    /// Merge results.json files of the same checklist run on several machines, or of
    /// every shard of a scenario (`golive load --shard`); every criterion and rollback
    /// rule is judged again on the merged data. Exits with the merged verdict's code.
    Merge {
        /// results.json files: two or more runs, or every shard's once.
        #[arg(required = true, num_args = 1..)]
        results: Vec<PathBuf>,
        /// Where to write the merged results.json.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Compare a run against a baseline run, item by item: latency (Mann-Whitney U) and
    /// errors (Fisher exact). Exit 1 on a regression, 4 when something is inconclusive.
    Compare(compare::CompareArgs),
    /// Render the Kubernetes manifests that run a scenario as N shards on an existing
    /// cluster: a ConfigMap with the scenario, a ReadWriteMany volume, an Indexed Job
    /// whose pods meet at a start barrier, and a merge Job that judges them once.
    K8s(k8s::K8sArgs),
    /// Run the built-in reference portfolio system (a test target).
    Sandbox(crate::sandbox::SandboxArgs),
    /// End the processes and remove the containers and networks that killed runs left
    /// behind (a killed run cannot clean up): every run's, or one run's with --run.
    /// Processes of a golive that still runs are left alone.
    Cleanup {
        /// Only this run id (`run.id` in its results.json, e.g. 20261121T223554Z-3f9a0c1d).
        #[arg(long)]
        run: Option<String>,
    },
    /// Build or list golive's offline images for the container provider.
    Image(image::ImageArgs),
    /// Make an Ed25519 key pair for signing off after the run.
    Keygen(KeygenArgs),
    /// Sign off (or reject) a manual item of a finished run, bound to its evidence; the
    /// run is judged again and its reports rewritten. Exits with the run's new code.
    Sign(SignArgs),
    /// Check a run folder's sign-offs: signatures, evidence digest, roles, ledger chain.
    /// Exit 0 valid, 6 invalid, 7 valid but with unsigned sign-offs.
    /// With --emit vsa, a valid folder also gets a SLSA Verification Summary.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// The scenario to run (or give --url for an ad-hoc run).
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub scenario: Option<PathBuf>,
    /// Ad hoc: the URL to load (no file needed).
    #[arg(long)]
    pub url: Option<String>,
    /// Ad hoc, open model: arrival rate, e.g. 200/s.
    #[arg(long, requires = "url", conflicts_with = "users", required_unless_present_any = ["users", "scenario"])]
    pub rate: Option<crate::units::Rate>,
    /// Ad hoc, closed model: concurrent users.
    #[arg(long, requires = "url")]
    pub users: Option<u32>,
    /// Ad hoc: how long.
    #[arg(long, requires = "url", default_value = "10s")]
    pub duration: crate::units::Duration,
    /// Ad hoc: per-request timeout.
    #[arg(long, requires = "url", default_value = "5s")]
    pub timeout: crate::units::Duration,
    /// Ad hoc, open model: most requests in flight; arrivals beyond it are dropped.
    #[arg(long, requires = "url", default_value_t = crate::plan::defaults::MAX_IN_FLIGHT)]
    pub max_in_flight: u32,
    /// Ad hoc, open model: keep-alive connections that send the arrivals (like wrk's -c).
    #[arg(long, requires = "url", default_value_t = crate::plan::defaults::CONNECTIONS)]
    pub connections: u32,
    /// Ad hoc: HTTP method.
    #[arg(long, requires = "url", default_value = "GET")]
    pub method: String,
    /// Ad hoc: a criterion over all requests, judged like a scenario's thresholds
    /// (repeatable), e.g. 'p99 < 250ms'. Default: 'error_rate < 1%'. Exit 1 when one
    /// fails, 4 when the evidence is too thin for one.
    #[arg(long = "threshold", requires = "url", value_name = "CRITERION")]
    pub thresholds: Vec<String>,
    /// Print one JSON object with the figures instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Run as shard INDEX of COUNT (0-based, e.g. 0/4; up to 1000 shards) of a scenario
    /// that several processes load together: the open model sends every COUNT-th arrival
    /// of the one schedule from INDEX on, the closed model runs every COUNT-th user, and
    /// connections and the in-flight bound are split. Each shard writes its results.json;
    /// `golive merge` judges them once. The scenario must load a running system (a
    /// `target:` URL, no `services:` or `faults:`). Needs --start-at.
    #[arg(
        long,
        value_name = "INDEX/COUNT",
        requires = "start_at",
        requires = "scenario"
    )]
    pub shard: Option<crate::load::shard::Shard>,
    /// With --shard: when every shard starts its schedule, the same for all: RFC 3339
    /// (2026-11-30T14:00:00Z), @FILE (the time read from a file a start barrier wrote) or
    /// now+DURATION (now+10s; each process reads its own clock, so shards given it differ
    /// by their start-up and `golive merge` refuses them: give shards one absolute time).
    /// At most 1 h ahead; refused when more than 1 s past.
    #[arg(long, value_name = "TIME", requires = "shard")]
    pub start_at: Option<String>,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

#[derive(clap::Args, Debug)]
pub struct MonitorArgs {
    /// The checklist to watch (its `monitor:` section says how).
    pub checklist: PathBuf,
    /// The state file: windows, rule states, budgets and the notification outbox, kept
    /// across restarts. Default: <checklist name>.monitor.db beside the working directory.
    #[arg(long, value_name = "FILE", env = "GOLIVE_MONITOR_STATE")]
    pub state: Option<PathBuf>,
    /// Where to serve the status page, /metrics and /api/status.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9465",
        env = "GOLIVE_MONITOR_LISTEN"
    )]
    pub listen: std::net::SocketAddr,
    /// Which form runs each service.
    #[arg(long, value_enum, default_value = "auto", env = "GOLIVE_PROVIDER")]
    pub provider: Provider,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The checklist to run.
    pub checklist: PathBuf,
    /// A YAML file of waivers (`waivers: [...]`, as in a checklist), added to the
    /// checklist's own (repeatable).
    #[arg(long = "waivers", value_name = "FILE")]
    pub waivers: Vec<PathBuf>,
    /// The results.json of an earlier run of this checklist: claims such as
    /// `p95 <= baseline + 10%` take their thresholds from it, and every report gets a
    /// before/after table.
    #[arg(long, value_name = "BASE/results.json", env = "GOLIVE_BASELINE")]
    pub baseline: Option<PathBuf>,
    /// Print the results object (results.json) on standard output instead of the summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

#[derive(clap::Args, Debug)]
pub struct CommonRunArgs {
    /// Run folder for results.json, report.md and junit.xml; one that already holds a
    /// results.json is refused. Default: golive-runs/<run id>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Which form runs each service.
    #[arg(long, value_enum, default_value = "auto", env = "GOLIVE_PROVIDER")]
    pub provider: Provider,
    /// Sign a manual item: ITEM_ID=NAME (repeatable).
    #[arg(long = "sign", value_name = "ITEM_ID=NAME")]
    pub sign: Vec<String>,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TelemetryArgs {
    /// Serve live Prometheus metrics at http://ADDR/metrics during the run (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR", env = "GOLIVE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Push metrics to this Pushgateway during the run and once more after the verdict.
    #[arg(long, value_name = "URL", env = "GOLIVE_PUSHGATEWAY")]
    pub pushgateway: Option<String>,
    /// After the verdict, keep serving /metrics until one scrape has read the final
    /// values, or this long at most (0s: stop at once).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        env = "GOLIVE_METRICS_LINGER"
    )]
    pub metrics_linger: crate::units::Duration,
    /// Push to the stable group `job/golive/group/NAME` instead of one group per run, so
    /// each run replaces the last one's values.
    #[arg(
        long,
        value_name = "NAME",
        requires = "pushgateway",
        env = "GOLIVE_PUSH_GROUP"
    )]
    pub push_group: Option<String>,
    /// Delete the pushed group this long after the final push (golive waits), so a
    /// finished run's values stop feeding alerts; kept when not given.
    #[arg(
        long,
        value_name = "DURATION",
        requires = "pushgateway",
        env = "GOLIVE_PUSH_DELETE_AFTER"
    )]
    pub push_delete_after: Option<crate::units::Duration>,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Inject a fault into the reference system, e.g. latency=300ms, errors=30%, stall=10%.
    #[arg(long = "fault", value_name = "NAME=VALUE")]
    pub faults: Vec<String>,
    /// Run folder. Default: golive-runs/<run id>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the reference system runs: `auto` takes a container when Docker answers
    /// and the image is built (`golive image build`), else a local process.
    #[arg(long, value_enum, default_value = "auto", env = "GOLIVE_PROVIDER")]
    pub provider: Provider,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
}

/// Reads the baseline run given with `--baseline` and resolves the plan's baseline claims
/// against it. Refused: a plan with baseline claims and no baseline, a file that is not a
/// results.json, a run of another system, and a claim whose item (or request) the baseline
/// lacks; the error names the file and the claim.
pub fn baseline(
    plan: &mut Plan,
    file: Option<&std::path::Path>,
) -> Result<Option<(String, crate::report::Report)>, String> {
    let checklist = plan.file.display().to_string();
    let Some(file) = file else {
        return match plan.baseline_claims().first() {
            None => Ok(None),
            Some(c) => Err(format!(
                "{checklist}: the criterion {c} compares with a baseline run; give one with \
                 --baseline BASE/results.json (the results.json of an earlier run of this checklist)"
            )),
        };
    };
    let base = crate::report::load_results(file)?;
    let shown = file.display().to_string();
    if base.checklist.system != plan.system {
        return Err(format!(
            "{shown}: checklist.system is `{}`, but {checklist} checks `{}`: a baseline must be \
             an earlier run of the same system's checklist",
            base.checklist.system, plan.system
        ));
    }
    plan.resolve_baseline(|item, request| {
        crate::report::compare::baseline_figures(&base, &shown, item, request)
    })
    .map_err(|missing| {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        format!(
            "{shown}: the baseline run `{}` measured nothing to compare {} with; give a \
             baseline that ran these items, or remove the claims from {checklist}",
            base.run.id,
            list.join(", ")
        )
    })?;
    Ok(Some((shown, base)))
}

/// Prints diagnostics on stderr. Their messages quote what the user wrote (ids, keys),
/// which may hold escape sequences; those are shown, not obeyed.
pub fn print_diagnostics(diags: &[crate::diag::Diagnostic]) {
    for d in diags {
        eprintln!("{}", crate::redact::printable(&d.to_string()));
    }
}

/// Prints `error: {e}` on stderr with URL passwords masked and control characters
/// escaped: errors quote flags, files and URLs the user gave.
pub fn print_error(e: &dyn std::fmt::Display) {
    let text = e.to_string();
    eprintln!(
        "error: {}",
        crate::redact::printable(&crate::redact::structural(&text))
    );
}

/// `golive schema`.
pub fn schema(results: bool, scenario: bool) -> i32 {
    let schema = match (results, scenario) {
        (true, _) => report::results_schema(),
        (_, true) => crate::spec::scenario_schema(),
        _ => crate::spec::checklist_schema(),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    exit::GO
}

/// `golive report`.
pub fn rerender(results: &Path, format: Format, output: Option<&Path>) -> i32 {
    let report: Report = match report::load_results(results) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e);
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

/// A new run's id and its folder: `--out` when given, else `golive-runs/<run id>`.
pub fn run_folder(out: Option<PathBuf>) -> (String, PathBuf) {
    let id = run::new_run_id(chrono::Utc::now());
    let runs = std::env::var_os("GOLIVE_RUNS_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("golive-runs"), PathBuf::from);
    let dir = out.unwrap_or_else(|| runs.join(&id));
    (id, dir)
}

/// `golive merge`.
pub fn merge(files: &[PathBuf], output: &Path) -> i32 {
    let mut reports = Vec::new();
    for f in files {
        match report::load_results(f) {
            Ok(r) => reports.push(r),
            Err(e) => {
                print_error(&e);
                return exit::INVALID_INPUT;
            }
        }
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let merged = match report::merge(&reports, &names) {
        Ok(m) => m,
        Err(e) => {
            print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    if let Err(e) = report::write_atomic(output, &report::json(&merged)) {
        eprintln!("{}: cannot write: {e}", output.display());
        return exit::ENVIRONMENT;
    }
    println!(
        "VERDICT: {} — {}",
        merged.verdict.label(),
        crate::redact::printable(&merged.verdict_reason)
    );
    println!("Merged {} runs into {}", reports.len(), output.display());
    merged.exit_code
}
