//! Bringing services up and down: local processes started by golive, or external URLs
//! that are already running. The only module that spawns long-lived processes. Each
//! service is probed until ready or its startup timeout; a failure is an environment
//! failure (exit 3) with the service's last log lines.

mod external;
mod process;
mod ready;
pub mod resources;

use crate::plan::{Endpoint, Endpoints, Template};
use crate::units::Duration;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A validated service.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub process: Option<ProcessForm>,
    pub external: Option<ExternalForm>,
    pub ready: ReadyProbe,
    pub startup_timeout: Duration,
}

/// A local command golive starts and stops.
#[derive(Debug, Clone)]
pub struct ProcessForm {
    pub command: Vec<Template>,
    pub env: Vec<(String, Template)>,
    pub cwd: PathBuf,
    pub url: Template,
}

/// An already-running service.
#[derive(Debug, Clone)]
pub struct ExternalForm {
    pub url: Template,
}

/// How readiness is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyProbe {
    Http { path: String },
    Tcp,
}

/// Which form runs each service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// A process form where there is one, else the external URL.
    Auto,
    /// Only process forms.
    Process,
    /// Only external URLs.
    External,
}

/// How one service's bring-up went, for the report.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceReport {
    pub name: String,
    /// "process" or "external".
    pub provider: String,
    pub url: Option<String>,
    /// "ready", "failed" or "not_started".
    pub status: String,
    pub ready_after_ms: Option<u64>,
    pub error: Option<String>,
    /// The last lines the service wrote (processes only).
    pub log_tail: Vec<String>,
    /// CPU and memory over the run (services golive started).
    pub resources: Option<resources::ResourceSummary>,
}

/// A bring-up that failed; the run ends as an environment failure.
#[derive(Debug, thiserror::Error)]
#[error("service `{service}` could not be brought up: {reason}")]
pub struct BringUpError {
    pub service: String,
    pub reason: String,
}

/// Services that are up, with what is needed to stop them.
pub struct Environment {
    pub endpoints: Endpoints,
    pub reports: Vec<ServiceReport>,
    processes: Vec<process::Running>,
    sampler: Option<resources::Sampler>,
}

impl Environment {
    /// Stops every process golive started (SIGTERM, then SIGKILL after a grace period),
    /// in reverse start order, and returns the final reports.
    /// What `service` used so far; `None` when golive does not run it (external).
    pub fn resources(&self, service: &str) -> Option<resources::ResourceSeries> {
        self.sampler.as_ref()?.snapshot(service)
    }

    pub async fn shut_down(mut self) -> Vec<ServiceReport> {
        if let Some(sampler) = self.sampler.take() {
            for (name, series) in sampler.stop().await {
                if let Some(r) = self.reports.iter_mut().find(|r| r.name == name) {
                    r.resources = series.summary();
                }
            }
        }
        while let Some(p) = self.processes.pop() {
            let name = p.name.clone();
            let tail = p.stop().await;
            if let Some(r) = self.reports.iter_mut().find(|r| r.name == name) {
                r.log_tail = tail;
            }
        }
        self.reports
    }
}

/// Brings every service up in declaration order. On failure, whatever was started is
/// stopped again, and the error comes back with every service's report.
pub async fn bring_up(
    plans: &[ServicePlan],
    provider: Provider,
    golive: &str,
    cancel: &CancellationToken,
) -> Result<Environment, (BringUpError, Vec<ServiceReport>)> {
    let mut env = Environment {
        endpoints: Endpoints::default(),
        reports: Vec::new(),
        processes: Vec::new(),
        sampler: None,
    };
    for plan in plans {
        let started = Instant::now();
        let outcome = start_one(plan, provider, golive, &env.endpoints, cancel).await;
        match outcome {
            Ok((endpoint, kind, running)) => {
                env.reports.push(ServiceReport {
                    name: plan.name.clone(),
                    provider: kind.into(),
                    url: Some(endpoint.url.clone()),
                    status: "ready".into(),
                    ready_after_ms: Some(started.elapsed().as_millis() as u64),
                    error: None,
                    log_tail: Vec::new(),
                    resources: None,
                });
                env.endpoints.services.insert(plan.name.clone(), endpoint);
                env.processes.extend(running);
            }
            Err((reason, kind, log_tail)) => {
                env.reports.push(ServiceReport {
                    name: plan.name.clone(),
                    provider: kind.into(),
                    url: None,
                    status: "failed".into(),
                    ready_after_ms: None,
                    error: Some(reason.clone()),
                    log_tail,
                    resources: None,
                });
                for rest in plans.iter().skip(env.reports.len()) {
                    env.reports.push(ServiceReport {
                        name: rest.name.clone(),
                        provider: "none".into(),
                        url: None,
                        status: "not_started".into(),
                        ready_after_ms: None,
                        error: None,
                        log_tail: Vec::new(),
                        resources: None,
                    });
                }
                let err = BringUpError {
                    service: plan.name.clone(),
                    reason,
                };
                return Err((err, env.shut_down().await));
            }
        }
    }
    let pids: Vec<(String, u32)> = env
        .processes
        .iter()
        .filter_map(|p| Some((p.name.clone(), p.pid()?)))
        .collect();
    if !pids.is_empty() {
        env.sampler = Some(resources::Sampler::start(pids, RESOURCE_EVERY));
    }
    Ok(env)
}

/// How often service resources are sampled.
const RESOURCE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

type Started = (Endpoint, &'static str, Option<process::Running>);
type StartFailed = (String, &'static str, Vec<String>);

async fn start_one(
    plan: &ServicePlan,
    provider: Provider,
    golive: &str,
    endpoints: &Endpoints,
    cancel: &CancellationToken,
) -> Result<Started, StartFailed> {
    let use_process = match provider {
        Provider::Auto | Provider::Process => plan.process.as_ref(),
        Provider::External => None,
    };
    if let Some(form) = use_process {
        let mut running = process::start(&plan.name, form, golive, endpoints)
            .map_err(|e| (e, "process", Vec::new()))?;
        let endpoint = running.endpoint.clone();
        let ready = ready::wait(
            &plan.ready,
            &endpoint,
            plan.startup_timeout,
            cancel,
            Some(&mut running),
        )
        .await;
        return match ready {
            Ok(()) => Ok((endpoint, "process", Some(running))),
            Err(reason) => {
                let tail = running.stop().await;
                Err((reason, "process", tail))
            }
        };
    }
    let form = match (provider, &plan.external) {
        (Provider::Process, _) => {
            return Err((
                "it has no `process:` form and the provider is `process`".into(),
                "none",
                Vec::new(),
            ))
        }
        (_, Some(f)) => f,
        (_, None) => {
            return Err((
                "it has no `external:` form and the provider is `external`".into(),
                "none",
                Vec::new(),
            ))
        }
    };
    let endpoint = external::endpoint(form, endpoints).map_err(|e| (e, "external", Vec::new()))?;
    ready::wait(&plan.ready, &endpoint, plan.startup_timeout, cancel, None)
        .await
        .map_err(|e| (e, "external", Vec::new()))?;
    Ok((endpoint, "external", None))
}
