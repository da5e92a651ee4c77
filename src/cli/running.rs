//! `golive run` / `demo` / `load SCENARIO`: runs a plan with live telemetry (optional
//! /metrics and Pushgateway), progress on stderr and the summary on stdout.

use super::progress::Progress;
use super::TelemetryArgs;
use crate::exit;
use crate::metrics::{self, Metrics, PushTarget, RunLabels};
use crate::plan::Plan;
use crate::report::Report;
use crate::run::{self, RunOptions};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often metrics are pushed during a run (a final push follows the verdict).
const PUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// How often a lingering /metrics checks whether the final values were scraped.
const LINGER_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Metrics served and pushed for one run.
pub struct Telemetry {
    pub metrics: Option<Arc<Metrics>>,
    push: Option<PushTarget>,
    serving: bool,
    linger: std::time::Duration,
    delete_after: Option<std::time::Duration>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Telemetry {
    /// Starts what `args` asks for; nothing when it asks for nothing.
    pub async fn start(args: &TelemetryArgs, labels: RunLabels) -> Result<Telemetry, String> {
        let mut t = Telemetry {
            metrics: None,
            push: args.pushgateway.as_deref().map(|url| {
                PushTarget::new(url, "golive", &labels.run_id, args.push_group.as_deref())
            }),
            serving: args.metrics_addr.is_some(),
            linger: args.metrics_linger.as_std(),
            delete_after: args.push_delete_after.map(|d| d.as_std()),
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
            if !super::progress::quiet() {
                eprintln!("golive: metrics at http://{bound}/metrics");
            }
            t.tasks.push(task);
        }
        if let Some(target) = &t.push {
            let (m2, target, stop) = (m.clone(), target.clone(), t.stop.clone());
            t.tasks.push(tokio::spawn(async move {
                if let Err(e) = metrics::push_periodically(m2, target, PUSH_EVERY, stop).await {
                    tracing::warn!(error = %e, "Pushing metrics failed.");
                }
            }));
        }
        t.metrics = Some(m);
        Ok(t)
    }

    /// Once the verdict is set: the final push; then /metrics stays up until a scrape has
    /// read the final values or the linger time is over, and the pushed group is deleted
    /// when asked, `--push-delete-after` after the final push. An interruption (`cancel`)
    /// ends the waiting at once (the group is then deleted straight away).
    pub async fn finish(self, cancel: &CancellationToken) -> Result<(), String> {
        let mut result = Ok(());
        let Some(m) = &self.metrics else {
            return result;
        };
        m.mark_final();
        if let Some(target) = &self.push {
            result = metrics::push(m, target).await.map_err(|e| e.to_string());
        }
        let pushed_at = tokio::time::Instant::now();
        if self.serving && !self.linger.is_zero() {
            if !super::progress::quiet() {
                eprintln!(
                    "golive: /metrics stays up until the verdict is scraped, {:.0} s at most (--metrics-linger)",
                    self.linger.as_secs_f64()
                );
            }
            let until = pushed_at + self.linger;
            while m.final_scrapes() == 0 && tokio::time::Instant::now() < until {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(LINGER_POLL) => {}
                }
            }
        }
        self.stop.cancel();
        if let (Some(target), Some(after)) = (&self.push, self.delete_after) {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep_until(pushed_at + after) => {}
            }
            if let Err(e) = metrics::delete(target).await {
                result = result.and(Err(e.to_string()));
            }
        }
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
    let outcome = run::run(plan, opts, cancel.clone(), &|e| progress.event(e)).await;
    progress.finish();
    // The summary first: lingering for a scrape or a group's deletion comes after it.
    let code = match &outcome {
        Ok(outcome) => {
            if json {
                // The results object as results.json holds it (secrets already masked).
                print!("{}", crate::report::json(&outcome.report));
            } else if !super::progress::quiet() {
                print_summary(&outcome.report, &outcome.files, &progress);
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
    };
    if let Err(e) = telemetry.finish(&cancel).await {
        eprintln!(
            "{}",
            progress.shown(&format!("warning: the final metrics push failed: {e}"))
        );
    }
    code
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
