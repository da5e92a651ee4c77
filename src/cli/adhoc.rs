//! `golive load`: a scenario file as a one-item run (reports and exit code like any
//! run), or an ad-hoc run against one URL for on-call engineers, like oha or hey.

use super::progress::{load_summary, Progress};
use super::{run_folder, run_plan, LoadArgs};
use crate::exit;
use crate::load::shard::ShardRun;
use crate::load::LoadResult;
use crate::plan::{adhoc_load, plan_scenario_run, AdhocLoad};
use crate::run::{Event, RunOptions};
use crate::template::Endpoints;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// Runs `golive load`; `on_plan` learns a scenario's secrets before it runs (for the logs).
pub async fn load_command(
    args: LoadArgs,
    golive: String,
    cancel: CancellationToken,
    on_plan: &(dyn Fn(&crate::redact::Redactor) + Sync),
) -> i32 {
    match (&args.scenario, &args.url) {
        (Some(path), _) => scenario(&args, path, golive, cancel, on_plan).await,
        (None, Some(url)) => adhoc(&args, url, cancel).await,
        (None, None) => {
            eprintln!("error: give a scenario file or --url");
            exit::INVALID_INPUT
        }
    }
}

async fn scenario(
    args: &LoadArgs,
    path: &std::path::Path,
    golive: String,
    cancel: CancellationToken,
    on_plan: &(dyn Fn(&crate::redact::Redactor) + Sync),
) -> i32 {
    let mut plan = match plan_scenario_run(path) {
        Ok(p) => p,
        Err(diags) => {
            super::print_diagnostics(&diags);
            return exit::INVALID_INPUT;
        }
    };
    if let Some(shard) = args.shard {
        let run = start_text(args.start_at.as_deref().unwrap_or_default())
            .and_then(|at| crate::load::shard::start_at(&at, chrono::Utc::now()))
            .and_then(|start_at| shard_plan(&mut plan, ShardRun { shard, start_at }));
        if let Err(e) = run {
            super::print_error(&format!("{}: {e}", path.display()));
            return exit::INVALID_INPUT;
        }
    }
    on_plan(&plan.redactor);
    let (run_id, out_dir) = run_folder(args.common.out.clone());
    let opts = RunOptions {
        run_id,
        out_dir,
        provider: args.common.provider,
        signoffs: HashMap::new(),
        golive,
        metrics: None,
        baseline: None,
    };
    let out_dir = opts.out_dir.clone();
    let code = run_plan(&plan, opts, &args.common.telemetry, cancel, args.json).await;
    match args.shard {
        // A shard's verdict is of a part of the load: the shards' evidence is judged
        // once, by `golive merge`. A shard that ran and wrote its evidence succeeded.
        Some(shard)
            if [exit::GO, exit::NO_GO, exit::INCONCLUSIVE, exit::ROLLBACK].contains(&code) =>
        {
            if !args.json && !super::progress::quiet() {
                println!(
                    "Shard {shard} done: its evidence is in {}; judge every shard's with \
                     `golive merge`.",
                    out_dir.join("results.json").display()
                );
            }
            exit::GO
        }
        _ => code,
    }
}

/// `--start-at` as given, or read from the file `@PATH` names (where a start barrier
/// wrote it, as `golive k8s`'s does).
fn start_text(given: &str) -> Result<String, String> {
    match given.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("--start-at {given}: cannot read {file}: {e}")),
        None => Ok(given.to_string()),
    }
}

/// Makes the scenario's one load item shard `run`.
fn shard_plan(plan: &mut crate::plan::Plan, run: ShardRun) -> Result<(), String> {
    for item in plan.phases.iter_mut().flat_map(|p| p.items.iter_mut()) {
        if let crate::plan::ItemBody::Load(load) = &mut item.body {
            refuse_unshardable(load, run.shard.count)?;
            **load = (**load).clone().into_shard(run);
        }
    }
    Ok(())
}

/// A shard loads a running system: services it would start, or faults it would inject,
/// would be started or injected once per shard, so they are refused.
pub(super) fn refuse_unshardable(load: &crate::load::LoadPlan, count: u32) -> Result<(), String> {
    if let Some(own) = load.services.iter().find(|s| s.external.is_none()) {
        return Err(format!(
            "services: a sharded scenario loads a system already running; each of {count} \
             shards would start its own `{}`. Give `target:` a URL, or make the service \
             `external:`",
            own.name
        ));
    }
    if !load.faults.is_empty() {
        return Err(
            "faults: a sharded scenario cannot inject faults (every shard would \
                    inject them); drill with one unsharded run"
                .into(),
        );
    }
    Ok(())
}

async fn adhoc(args: &LoadArgs, url: &str, cancel: CancellationToken) -> i32 {
    let adhoc = AdhocLoad {
        url,
        method: &args.method,
        rate: args.rate,
        users: args.users,
        duration: args.duration,
        timeout: args.timeout,
        max_in_flight: args.max_in_flight,
        connections: args.connections,
        thresholds: &args.thresholds,
    };
    let plan = match adhoc_load(&adhoc) {
        Ok(p) => p,
        Err(e) => {
            super::print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    // The URL was typed, not read from the environment: only its structure (user-info
    // password, password parameters) says what to mask.
    let progress = Progress::new(Default::default());
    if !args.json {
        progress.event(Event::LoadStarted {
            id: "adhoc",
            title: url,
            plan: &plan,
        });
    }
    let outcome = crate::load::run(&plan, &Endpoints::default(), &cancel, None, &|e| {
        if !args.json {
            progress.event(Event::Load(e))
        }
    })
    .await;
    progress.finish();
    match outcome {
        Ok(o) => {
            let criteria: Vec<_> = plan
                .thresholds
                .iter()
                .map(|t| t.criterion.clone())
                .collect();
            let (verdict, judged) = match crate::verdict::judge_load_alone(
                &criteria,
                &o.result,
                crate::evidence::Confidence::default(),
            ) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::ENVIRONMENT;
                }
            };
            if args.json {
                let mut json = adhoc_json(url, &o.result);
                json["outcome"] = verdict.as_str().into();
                json["thresholds"] = judged
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "criterion": c.criterion,
                            "outcome": c.outcome.as_str(),
                            "observed": c.observed,
                            "why": c.why,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            } else if !super::progress::quiet() {
                println!("{}", progress.shown(&load_summary(&o.result)));
                for c in &judged {
                    println!(
                        "{}",
                        progress.shown(&format!(
                            "  {:<12} {:<24} {}",
                            c.outcome.as_str(),
                            c.criterion,
                            c.why
                        ))
                    );
                }
            }
            if cancel.is_cancelled() {
                exit::INTERRUPTED
            } else {
                // The same codes as a gate's: a failed threshold is NO-GO, one the
                // evidence cannot settle is INCONCLUSIVE.
                match verdict {
                    crate::evidence::Outcome::Pass | crate::evidence::Outcome::Waived => exit::GO,
                    crate::evidence::Outcome::Fail => exit::NO_GO,
                    crate::evidence::Outcome::Inconclusive => exit::INCONCLUSIVE,
                }
            }
        }
        Err(e) => {
            super::print_error(&e);
            exit::ENVIRONMENT
        }
    }
}

/// The ad-hoc JSON: counts, rates and the latency and service-time percentiles.
pub fn adhoc_json(url: &str, r: &LoadResult) -> serde_json::Value {
    let pct = |p: &Option<crate::load::result::Percentiles>| match p {
        Some(p) => {
            serde_json::json!({"p50": p.p50, "p90": p.p90, "p95": p.p95, "p99": p.p99, "p999": p.p999, "max": p.max, "min": p.min, "mean": p.mean})
        }
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "url": crate::redact::structural(url),
        "model": r.model,
        "requests": r.requests,
        "errors": r.errors,
        "errors_by_class": r.overall.errors_by_class,
        "duration_s": r.duration_s,
        "rps": r.achieved_rps,
        "target_rps": r.target_rps,
        "dropped": r.dropped,
        "late": r.late,
        "reconnects": r.reconnects,
        "latency_ms": pct(&r.overall.latency_ms),
        "service_time_ms": pct(&r.overall.service_time_ms),
        "send_lag_ms": pct(&r.send_lag_ms),
    })
}
