//! Fault drills: at a planned time into a load, kill, stop, pause or restart a service
//! golive runs, or change the reference system's injected faults, then time how long
//! the service takes to pass its readiness probe again.

use super::ready::{self, Ready};
use super::Environment;
use crate::spec::FaultAction;
use crate::units::Duration;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A validated drill.
#[derive(Debug, Clone)]
pub struct Fault {
    pub at: Duration,
    pub service: String,
    pub action: FaultAction,
    /// How long the fault lasts (see the spec's `for`).
    pub lasts: Duration,
    /// For `inject`: the JSON body for the reference system's /admin/faults.
    pub set: Option<serde_json::Value>,
}

/// What a drill did, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillReport {
    pub service: String,
    /// kill, stop, pause, restart or inject.
    pub action: String,
    /// When it was planned, seconds into the load.
    pub planned_at_s: f64,
    /// When it happened; `None` when it did not (the load ended first, or it failed).
    pub fired_at_s: Option<f64>,
    /// From the fault until the readiness probe passed again, milliseconds; `None` when
    /// it did not recover within the limit, or for `inject`.
    pub recovery_ms: Option<u64>,
    /// How long golive waited for recovery before giving up, milliseconds.
    pub recovery_limit_ms: Option<u64>,
    /// Why it did not happen or did not recover.
    pub error: Option<String>,
}

/// Runs `faults` against `env`, timed from `start`. Drills not yet due when `load_done`
/// is cancelled are reported as not run; a drill under way still times its recovery.
pub async fn run(
    env: &Environment,
    faults: &[Fault],
    start: Instant,
    load_done: CancellationToken,
    cancel: &CancellationToken,
) -> Vec<DrillReport> {
    let mut reports = Vec::new();
    let mut order: Vec<&Fault> = faults.iter().collect();
    order.sort_by_key(|f| f.at);
    for f in order {
        let mut report = DrillReport {
            service: f.service.clone(),
            action: action_name(f.action).into(),
            planned_at_s: f.at.as_secs_f64(),
            fired_at_s: None,
            recovery_ms: None,
            recovery_limit_ms: None,
            error: None,
        };
        let due = tokio::time::Instant::from_std(start + f.at.as_std());
        tokio::select! {
            _ = tokio::time::sleep_until(due) => {}
            _ = load_done.cancelled() => {
                report.error = Some("not run: the load ended first".into());
                reports.push(report);
                continue;
            }
        }
        if cancel.is_cancelled() {
            report.error = Some("not run: the run was interrupted".into());
            reports.push(report);
            continue;
        }
        if let Err(e) = fire(env, f, start, &mut report, cancel).await {
            tracing::warn!(service = %f.service, error = %e, "Fault drill failed.");
            report.error = Some(e);
        }
        reports.push(report);
    }
    reports
}

pub fn action_name(a: FaultAction) -> &'static str {
    match a {
        FaultAction::Kill => "kill",
        FaultAction::Stop => "stop",
        FaultAction::Pause => "pause",
        FaultAction::Restart => "restart",
        FaultAction::Inject => "inject",
    }
}

async fn fire(
    env: &Environment,
    f: &Fault,
    start: Instant,
    report: &mut DrillReport,
    cancel: &CancellationToken,
) -> Result<(), String> {
    if f.action == FaultAction::Inject {
        let url = env
            .endpoints
            .services
            .get(&f.service)
            .map(|e| format!("{}/admin/faults", e.url))
            .ok_or_else(|| format!("service `{}` is not running", f.service))?;
        let body = f.set.clone().unwrap_or_default();
        inject(&url, &body).await?;
        report.fired_at_s = Some(start.elapsed().as_secs_f64());
        tracing::info!(service = %f.service, faults = %body, "Fault drill: faults injected.");
        if f.lasts > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(f.lasts.as_std()) => {}
                _ = cancel.cancelled() => {}
            }
            inject(&url, &serde_json::json!({})).await?;
        }
        return Ok(());
    }
    let (shared, probe, startup) = env
        .instance(&f.service)
        .ok_or_else(|| format!("golive does not run `{}`, so it cannot break it", f.service))?;
    let endpoint = env
        .endpoints
        .services
        .get(&f.service)
        .cloned()
        .ok_or_else(|| format!("service `{}` has no endpoint", f.service))?;
    let fired = Instant::now();
    report.fired_at_s = Some(start.elapsed().as_secs_f64());
    tracing::info!(service = %f.service, action = action_name(f.action), "Fault drill fired.");
    // Under `restart: on-failure` a kill is a crash the service's own supervisor answers
    // (golive's for a process, the engine's for a container): golive does not start it.
    let left_to_policy = f.action == FaultAction::Kill && env.restarts_on_failure(&f.service);
    {
        let mut i = shared.lock().await;
        match f.action {
            FaultAction::Kill if left_to_policy => i.crash().await?,
            FaultAction::Kill => i.kill().await?,
            FaultAction::Stop => i.halt().await?,
            FaultAction::Pause => i.pause().await?,
            FaultAction::Restart => {
                i.halt().await?;
                i.start_again().await?;
                env.count_restart(&f.service);
            }
            FaultAction::Inject => {}
        }
    }
    if !left_to_policy
        && matches!(
            f.action,
            FaultAction::Kill | FaultAction::Stop | FaultAction::Pause
        )
    {
        tokio::select! {
            _ = tokio::time::sleep(f.lasts.as_std()) => {}
            _ = cancel.cancelled() => return Err("interrupted during the drill".into()),
        }
        let mut i = shared.lock().await;
        if f.action == FaultAction::Pause {
            i.resume().await?;
        } else {
            i.start_again().await?;
            env.count_restart(&f.service);
        }
    }
    // Recovery: the readiness probe (a log-line probe is timed by a TCP connect, since
    // the ready line was written long ago).
    let probe = match probe {
        Ready::Log => Ready::Tcp,
        p => p.clone(),
    };
    let limit = match left_to_policy {
        true => startup.as_std(),
        false => f.lasts.as_std() + startup.as_std(),
    };
    report.recovery_limit_ms = Some(limit.as_millis() as u64);
    match ready::recovery(
        &probe,
        &endpoint,
        limit,
        cancel,
        shared,
        fired,
        env.launcher(),
    )
    .await
    {
        Some(took) => {
            report.recovery_ms = Some(took.as_millis() as u64);
            // The engine restarted the container (golive's supervisor counts the
            // processes it restarts itself).
            if left_to_policy && shared.lock().await.provider() == "container" {
                env.count_restart(&f.service);
            }
            tracing::info!(service = %f.service, ms = took.as_millis() as u64, "Service recovered.");
            Ok(())
        }
        None => Err(format!(
            "`{}` did not pass its readiness probe within {:.1} s of the fault",
            f.service,
            limit.as_secs_f64()
        )),
    }
}

async fn inject(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let client = ready::client()?;
    let r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("POST {url} failed: {e}"))?;
    if !r.status().is_success() {
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        return Err(format!("POST {url} answered {status}: {text}"));
    }
    Ok(())
}
