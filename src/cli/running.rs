//! `golive run` / `demo` / `load SCENARIO`: runs a plan with live telemetry (optional
//! /metrics and Pushgateway), progress on stderr and the summary on stdout.

use super::progress::Progress;
use super::TelemetryArgs;
use crate::exit;
use crate::metrics::{self, Metrics, RunLabels};
use crate::plan::Plan;
use crate::report::Report;
use crate::run::{self, RunOptions};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often metrics are pushed during a run (a final push follows the verdict).
const PUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Metrics served and pushed for one run.
pub struct Telemetry {
    pub metrics: Option<Arc<Metrics>>,
    push_url: Option<String>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Telemetry {
    /// Starts what `args` asks for; nothing when it asks for nothing.
    pub async fn start(args: &TelemetryArgs, labels: RunLabels) -> Result<Telemetry, String> {
        let mut t = Telemetry {
            metrics: None,
            push_url: args.pushgateway.clone(),
            stop: CancellationToken::new(),
            tasks: Vec::new(),
        };
        if args.metrics_addr.is_none() && args.pushgateway.is_none() {
            return Ok(t);
        }
        let m = Arc::new(Metrics::new(&labels));
        if let Some(addr) = args.metrics_addr {
            let (bound, task) = metrics::serve(m.clone(), addr, t.stop.clone())
                .await
                .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
            eprintln!("golive: metrics at http://{bound}/metrics");
            t.tasks.push(task);
        }
        if let Some(url) = &args.pushgateway {
            let (m2, url, stop) = (m.clone(), url.clone(), t.stop.clone());
            t.tasks.push(tokio::spawn(async move {
                if let Err(e) =
                    metrics::push_periodically(m2, url, "golive".into(), PUSH_EVERY, stop).await
                {
                    tracing::warn!(error = %e, "Pushing metrics failed.");
                }
            }));
        }
        t.metrics = Some(m);
        Ok(t)
    }

    /// The final push (after the verdict is set), then stops serving.
    pub async fn finish(self) -> Result<(), String> {
        let mut result = Ok(());
        if let (Some(m), Some(url)) = (&self.metrics, &self.push_url) {
            result = metrics::push(m, url, "golive")
                .await
                .map_err(|e| e.to_string());
        }
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        result
    }
}

/// Runs a plan and prints progress and the summary; returns the exit code.
pub async fn run_plan(
    plan: &Plan,
    mut opts: RunOptions,
    telemetry: &TelemetryArgs,
    cancel: CancellationToken,
    json: bool,
) -> i32 {
    let progress = Progress::new(plan.redactor.clone());
    if !super::progress::quiet() {
        eprintln!(
            "{}",
            progress.shown(&format!(
                "golive: {} — {} (run {} in {})",
                plan.system,
                plan.file.display(),
                opts.run_id,
                opts.out_dir.display()
            ))
        );
    }
    let labels = RunLabels {
        run_id: opts.run_id.clone(),
        system: plan.system.clone(),
        checklist: plan
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let telemetry = match Telemetry::start(telemetry, labels).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}", progress.shown(&format!("error: {e}")));
            return exit::ENVIRONMENT;
        }
    };
    opts.metrics = telemetry.metrics.clone();
    let outcome = run::run(plan, opts, cancel, &|e| progress.event(e)).await;
    progress.finish();
    let pushed = telemetry.finish().await;
    match outcome {
        Ok(outcome) => {
            if json {
                // The results object as results.json holds it (secrets already masked).
                print!("{}", crate::report::json(&outcome.report));
            } else if !super::progress::quiet() {
                print_summary(&outcome.report, &outcome.files, &progress);
            }
            if let Err(e) = pushed {
                eprintln!(
                    "{}",
                    progress.shown(&format!("warning: the final metrics push failed: {e}"))
                );
            }
            outcome.report.exit_code
        }
        Err(e) => {
            eprintln!("{}", progress.shown(&format!("error: {e}")));
            match e {
                run::OutputError::Occupied { .. } => exit::INVALID_INPUT,
                run::OutputError::Io { .. } => exit::ENVIRONMENT,
            }
        }
    }
}

/// The summary on stdout; each line shown as `progress` shows its own (ids and reasons are
/// the user's and the services' text).
fn print_summary(r: &Report, files: &[PathBuf], progress: &Progress) {
    use crate::evidence::Outcome;
    use anstyle::{AnsiColor, Style};
    let paint = |color: AnsiColor| Style::new().fg_color(Some(color.into())).bold();
    println!();
    for item in r.items() {
        let (mark, style) = match item.outcome {
            Outcome::Pass => ("PASS        ", paint(AnsiColor::Green)),
            Outcome::Fail => ("FAIL        ", paint(AnsiColor::Red)),
            Outcome::Inconclusive => ("INCONCLUSIVE", paint(AnsiColor::Yellow)),
            Outcome::Waived => ("WAIVED      ", paint(AnsiColor::Cyan)),
        };
        // Colour goes through anstream, which drops it when stdout is no terminal, under
        // NO_COLOR, or with --color never; the text itself is escaped first.
        anstream::println!(
            "  {style}{mark}{style:#} {}",
            progress.shown(&format!("{:<28} {}", item.id, item.why))
        );
        if let Some(coverage) = crate::report::coverage(item) {
            println!(
                "{}",
                progress.shown(&format!("  {:12} {:<28} ({coverage})", "", ""))
            );
        }
    }
    println!();
    let style = match r.verdict {
        crate::verdict::Verdict::Go => paint(AnsiColor::Green),
        crate::verdict::Verdict::Inconclusive => paint(AnsiColor::Yellow),
        crate::verdict::Verdict::NoGo | crate::verdict::Verdict::Rollback => paint(AnsiColor::Red),
    };
    anstream::println!(
        "{style}VERDICT: {}{style:#} — {}",
        r.verdict.label(),
        progress.shown(&r.verdict_reason)
    );
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!(
        "{}",
        progress.shown(&format!("Reports: {}", names.join(", ")))
    );
}
