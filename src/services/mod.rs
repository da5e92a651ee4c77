//! Bringing services up and down: containers on a network made for the run, local
//! processes started by golive, or external URLs that are already running. The only
//! module that talks to Docker or spawns long-lived processes. Each service is probed
//! until ready or its startup timeout; a failure is an environment failure (exit 3) with
//! the service's last log lines, and nothing golive started is left behind: every
//! process runs in a session of its own that is ended whole, and is recorded in a
//! ledger that `golive cleanup` reads after a killed run.

mod container;
pub mod docker;
pub mod drill;
mod external;
mod instance;
pub mod ledger;
mod process;
mod ready;
pub mod resources;
pub mod session;
mod tail;

pub use docker::Docker;
pub use instance::Instance;

use crate::template::{Endpoint, Endpoints, ProcessVars, Template};
use crate::units::{ByteSize, Duration};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A validated service.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub container: Option<ContainerForm>,
    pub process: Option<ProcessForm>,
    pub external: Option<ExternalForm>,
    pub ready: ReadyProbe,
    pub startup_timeout: Duration,
    pub restart: crate::spec::RestartPolicy,
}

/// A container golive starts from a local image.
#[derive(Debug, Clone)]
pub struct ContainerForm {
    pub repository: String,
    pub tag: String,
    pub command: Vec<Template>,
    pub env: Vec<(String, Template)>,
    /// The container port `{port}` means: `port`, or the first of `named_ports`.
    pub port: u16,
    /// `ports:` in the order written (empty with `port:`); each published on a free host
    /// port.
    pub named_ports: Vec<(String, u16)>,
    pub host_port: Option<u16>,
    pub cpus: Option<f64>,
    pub memory: Option<ByteSize>,
    pub url: Template,
}

impl ContainerForm {
    pub fn image(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// A local command golive starts and stops.
#[derive(Debug, Clone)]
pub struct ProcessForm {
    pub command: Vec<Template>,
    pub env: Vec<(String, Template)>,
    pub cwd: PathBuf,
    pub url: Template,
    /// `ports:` names, each given a free port (`{port}` is the first); empty for one
    /// unnamed port.
    pub ports: Vec<String>,
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
    Log { line: String },
    Command { argv: Vec<Template> },
}

/// Which form runs each service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Containers where Docker answers and the image is present, else a process form,
    /// else the external URL.
    Auto,
    /// Only container forms; Docker must answer.
    Docker,
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
    /// "container", "process", "external", or "none" when it was not started.
    pub provider: String,
    pub url: Option<String>,
    /// "ready", "failed" or "not_started".
    pub status: String,
    pub ready_after_ms: Option<u64>,
    pub error: Option<String>,
    /// Why this provider ran it, when `auto` had to choose (e.g. no Docker engine).
    #[serde(default)]
    pub note: Option<String>,
    /// The image, for a container.
    #[serde(default)]
    pub image: Option<String>,
    /// The last lines the service wrote (containers and processes).
    pub log_tail: Vec<String>,
    /// CPU and memory over the run (services golive started).
    pub resources: Option<resources::ResourceSummary>,
    /// The readings behind `resources`, for charts: at most 300 (`SERIES_POINTS`), a longer
    /// run's thinned by keeping each stretch's CPU and memory peaks; times are seconds on
    /// the run's clock. Empty for services golive did not run, and in results written
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<resources::ResourceSample>,
}

/// The most readings a service's series keeps in the report: an hour at one a second
/// thins to one per 12 s, enough for a chart 600 units wide, and results.json stays small.
pub const SERIES_POINTS: usize = 300;

impl ServiceReport {
    fn new(name: &str, provider: &str, status: &str) -> ServiceReport {
        ServiceReport {
            name: name.to_string(),
            provider: provider.to_string(),
            url: None,
            status: status.to_string(),
            ready_after_ms: None,
            error: None,
            note: None,
            image: None,
            log_tail: Vec::new(),
            resources: None,
            series: Vec::new(),
        }
    }
}

/// A bring-up that failed; the run ends as an environment failure.
#[derive(Debug, thiserror::Error)]
#[error("service `{service}` could not be brought up: {reason}")]
pub struct BringUpError {
    pub service: String,
    pub reason: String,
}

/// A started service, shared with fault drills while checks and load use its endpoint.
pub type Shared = std::sync::Arc<tokio::sync::Mutex<Instance>>;

/// Services that are up, with what is needed to stop them.
pub struct Environment {
    pub endpoints: Endpoints,
    pub reports: Vec<ServiceReport>,
    pub run_id: String,
    instances: Vec<(String, Shared, ready::Ready, Duration)>,
    /// Services with `restart: on-failure`.
    on_failure: Vec<String>,
    /// Restarts crashed `on-failure` processes until `stats_stop`.
    supervisor: Option<tokio::task::JoinHandle<()>>,
    restarts: std::collections::HashMap<String, std::sync::Arc<std::sync::atomic::AtomicU64>>,
    sampler: Option<resources::Sampler>,
    /// Ends the containers' stats streams.
    stats_stop: CancellationToken,
    docker: Option<Docker>,
    launcher: session::Launcher,
}

impl Environment {
    /// Starts the run's processes (command checks, readiness commands) in sessions.
    pub fn launcher(&self) -> &session::Launcher {
        &self.launcher
    }

    /// What `service` used so far; `None` when golive does not run it (external).
    pub fn resources(&self, service: &str) -> Option<resources::ResourceSeries> {
        self.sampler.as_ref()?.snapshot(service)
    }

    /// Samples every service faster while the guard lives (an item a resource item's
    /// `during:` scopes to); `None` when nothing is sampled.
    pub fn hurry(&self) -> Option<resources::Hurry> {
        Some(self.sampler.as_ref()?.hurry())
    }

    /// Waits, sampling faster, until `service` has `readings` readings (bounded: a
    /// container's stats come about once a second whatever the pace).
    pub async fn top_up(&self, service: &str, readings: usize) {
        if let Some(s) = &self.sampler {
            let bound = RESOURCE_EVERY * (readings as u32 + 2);
            s.top_up(service, readings, bound).await;
        }
    }

    /// A service golive started, with its rendered readiness probe and startup timeout.
    pub(crate) fn instance(&self, service: &str) -> Option<(&Shared, &ready::Ready, Duration)> {
        self.instances
            .iter()
            .find(|(n, ..)| n == service)
            .map(|(_, i, r, t)| (i, r, *t))
    }

    /// Whether `service` has `restart: on-failure` (a kill drill then leaves it to the
    /// policy).
    pub fn restarts_on_failure(&self, service: &str) -> bool {
        self.on_failure.iter().any(|n| n == service)
    }

    /// Counts a restart of `service` (a drill started it again).
    pub fn count_restart(&self, service: &str) {
        if let Some(r) = self.restarts.get(service) {
            r.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Stops every service golive started, in reverse start order, removes the run's
    /// network and anything else labelled with the run id, and returns the final reports.
    pub async fn shut_down(mut self) -> Vec<ServiceReport> {
        self.stats_stop.cancel();
        if let Some(supervisor) = self.supervisor.take() {
            // It holds the instances: wait for it to let go before stopping them.
            let _ = supervisor.await;
        }
        if let Some(sampler) = self.sampler.take() {
            for (name, series) in sampler.stop().await {
                if let Some(r) = self.reports.iter_mut().find(|r| r.name == name) {
                    r.resources = series.summary();
                    r.series = resources::downsample(&series.samples, SERIES_POINTS);
                }
            }
        }
        while let Some((name, shared, ..)) = self.instances.pop() {
            let instance = match std::sync::Arc::try_unwrap(shared) {
                Ok(m) => m.into_inner(),
                Err(shared) => {
                    // A drill still holds it: wait for the lock, then take it.
                    let mut guard = shared.lock().await;
                    let _ = guard.halt().await;
                    drop(guard);
                    continue;
                }
            };
            let tail = instance.stop().await;
            if let Some(r) = self.reports.iter_mut().find(|r| r.name == name) {
                r.log_tail = tail;
            }
        }
        if let Some(docker) = self.docker.take() {
            match docker.remove_labelled(Some(&self.run_id)).await {
                Ok(removed) if !removed.containers.is_empty() => {
                    tracing::warn!(containers = ?removed.containers, "Removed containers the run had left behind.");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "Clean-up of the run's Docker objects failed; run `golive cleanup`.")
                }
            }
        }
        std::mem::take(&mut self.reports)
    }
}

impl Drop for Environment {
    /// An environment dropped without `shut_down` (a panic unwinding through the run):
    /// testcontainers removes each container as it drops; this removes the run's network
    /// and anything else carrying its label, on a thread of its own so it works from any
    /// runtime state. Processes die with their sessions, which SIGKILL what is left of
    /// them when dropped.
    fn drop(&mut self) {
        self.stats_stop.cancel();
        if self.docker.take().is_none() {
            return;
        }
        self.instances.clear();
        let run_id = self.run_id.clone();
        let cleaned = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let docker = Docker::connect().await.ok()?;
                docker.remove_labelled(Some(&run_id)).await.ok()
            })
        })
        .join();
        if !matches!(cleaned, Ok(Some(_))) {
            tracing::warn!(run = %self.run_id, "Clean-up after a failed run did not finish; run `golive cleanup`.");
        }
    }
}

/// Which form will run a service, and why when `auto` had to choose.
enum Choice<'a> {
    Container(&'a ContainerForm),
    Process(&'a ProcessForm),
    External(&'a ExternalForm),
    Missing(String),
}

fn choose<'a>(
    plan: &'a ServicePlan,
    provider: Provider,
    docker: &Result<Docker, String>,
    absent_images: &[String],
) -> (Choice<'a>, Option<String>) {
    let fallback = |why: String| -> (Choice<'a>, Option<String>) {
        match (&plan.process, &plan.external) {
            (Some(p), _) => (
                Choice::Process(p),
                Some(format!("{why}; ran its process form")),
            ),
            (None, Some(e)) => (
                Choice::External(e),
                Some(format!("{why}; used its external URL")),
            ),
            (None, None) => (Choice::Missing(why), None),
        }
    };
    match provider {
        Provider::Docker => match (&plan.container, docker) {
            (None, _) => (
                Choice::Missing("it has no `container:` form and the provider is `docker`".into()),
                None,
            ),
            (Some(_), Err(e)) => (Choice::Missing(e.clone()), None),
            (Some(c), Ok(_)) if absent_images.contains(&c.image()) => {
                (Choice::Missing(missing_image(&c.image())), None)
            }
            (Some(c), Ok(_)) => (Choice::Container(c), None),
        },
        Provider::Process => match &plan.process {
            Some(p) => (Choice::Process(p), None),
            None => (
                Choice::Missing("it has no `process:` form and the provider is `process`".into()),
                None,
            ),
        },
        Provider::External => match &plan.external {
            Some(e) => (Choice::External(e), None),
            None => (
                Choice::Missing("it has no `external:` form and the provider is `external`".into()),
                None,
            ),
        },
        Provider::Auto => match (&plan.container, docker) {
            (Some(c), Ok(_)) if absent_images.contains(&c.image()) => {
                fallback(format!("image `{}` is not built here", c.image()))
            }
            (Some(c), Ok(_)) => (Choice::Container(c), None),
            (Some(_), Err(e)) => fallback(e.clone()),
            (None, _) => match (&plan.process, &plan.external) {
                (Some(p), _) => (Choice::Process(p), None),
                (None, Some(e)) => (Choice::External(e), None),
                (None, None) => (Choice::Missing("it has no form to run".into()), None),
            },
        },
    }
}

/// The error for an image that is not present, naming what builds it.
fn missing_image(image: &str) -> String {
    use crate::images::Family;
    let repository = image.rsplit_once(':').map_or(image, |(r, _)| r);
    let sibling = Family::ALL.into_iter().find(|f| {
        f.image()
            .rsplit_once(':')
            .is_some_and(|(r, _)| r == repository)
    });
    let how = match (crate::images::build_hint(image), sibling) {
        (Some(command), _) => format!("build it with `{command}`"),
        // golive's own image under another tag: say which one this golive builds.
        (None, Some(f)) => format!(
            "this golive builds `{}` with `{}`; name that tag in the checklist",
            f.image(),
            f.build_command()
        ),
        (None, None) => {
            format!("build or load it first (`docker build -t {image} .` or `docker load`)")
        }
    };
    format!("image `{image}` is not present on this Docker engine and golive never pulls; {how}")
}

/// Brings every service up in start order. On failure, whatever was started is stopped
/// and removed again, and the error comes back with every service's report. Resource
/// readings are timed from `run_start`, the run's clock.
pub async fn bring_up(
    plans: &[ServicePlan],
    provider: Provider,
    run_id: &str,
    golive: &str,
    cancel: &CancellationToken,
    run_start: Instant,
    on_sample: Option<resources::OnSample>,
) -> Result<Environment, (BringUpError, Vec<ServiceReport>)> {
    let wants_docker = plans
        .iter()
        .any(|p| p.container.is_some() && matches!(provider, Provider::Auto | Provider::Docker));
    let docker = if wants_docker {
        Docker::connect().await
    } else {
        Err("Docker is not needed".to_string())
    };
    let mut absent_images = Vec::new();
    if let Ok(d) = &docker {
        for image in plans
            .iter()
            .filter_map(|p| p.container.as_ref().map(|c| c.image()))
        {
            match d.image_present(&image).await {
                Ok(true) => {}
                Ok(false) => absent_images.push(image),
                Err(e) => tracing::warn!(error = %e, "Image inspection failed."),
            }
        }
    }
    let mut env = Environment {
        endpoints: Endpoints::default(),
        reports: Vec::new(),
        run_id: run_id.to_string(),
        instances: Vec::new(),
        on_failure: Vec::new(),
        supervisor: None,
        restarts: Default::default(),
        sampler: None,
        stats_stop: CancellationToken::new(),
        docker: None,
        launcher: session::Launcher::new(run_id),
    };
    let choices: Vec<_> = plans
        .iter()
        .map(|p| choose(p, provider, &docker, &absent_images))
        .collect();
    // Check every choice before starting anything, so a missing image or form leaves
    // nothing behind.
    if let Some((plan, why)) = plans.iter().zip(&choices).find_map(|(p, (c, _))| match c {
        Choice::Missing(why) => Some((p, why.clone())),
        _ => None,
    }) {
        for (p, (c, _)) in plans.iter().zip(&choices) {
            let mut r = ServiceReport::new(&p.name, "none", "not_started");
            if let Choice::Missing(w) = c {
                r.status = "failed".into();
                r.error = Some(w.clone());
            }
            env.reports.push(r);
        }
        let err = BringUpError {
            service: plan.name.clone(),
            reason: why,
        };
        return Err((err, std::mem::take(&mut env.reports)));
    }
    let network = match (
        &docker,
        choices
            .iter()
            .any(|(c, _)| matches!(c, Choice::Container(_))),
    ) {
        (Ok(d), true) => {
            let name = format!("golive-{}", run_id.to_lowercase());
            if let Err(e) = d.create_network(&name, run_id).await {
                let err = BringUpError {
                    service: plans[0].name.clone(),
                    reason: e,
                };
                return Err((err, std::mem::take(&mut env.reports)));
            }
            env.docker = Some(d.clone());
            Some(container::RunNetwork {
                docker: d.clone(),
                run_id: run_id.to_string(),
                network: name,
            })
        }
        _ => None,
    };
    // How containers see each other: by container name and container port.
    let mut inner = Endpoints::default();
    for (i, (plan, (choice, note))) in plans.iter().zip(choices).enumerate() {
        let started = Instant::now();
        let mut report = ServiceReport::new(&plan.name, "none", "failed");
        report.note = note;
        let outcome = start_one(
            plan,
            choice,
            network.as_ref(),
            golive,
            &env.endpoints,
            &inner,
            cancel,
            &env.launcher,
            &mut report,
        )
        .await;
        match outcome {
            Ok((endpoint, inner_endpoint, instance)) => {
                report.status = "ready".into();
                report.url = Some(endpoint.url.clone());
                report.ready_after_ms = Some(started.elapsed().as_millis() as u64);
                env.reports.push(report);
                env.endpoints.services.insert(plan.name.clone(), endpoint);
                inner.services.insert(plan.name.clone(), inner_endpoint);
                if let Some((instance, ready)) = instance {
                    env.restarts.insert(plan.name.clone(), Default::default());
                    if plan.restart == crate::spec::RestartPolicy::OnFailure {
                        env.on_failure.push(plan.name.clone());
                    }
                    env.instances.push((
                        plan.name.clone(),
                        std::sync::Arc::new(tokio::sync::Mutex::new(instance)),
                        ready,
                        plan.startup_timeout,
                    ));
                }
            }
            Err(reason) => {
                report.error = Some(reason.clone());
                env.reports.push(report);
                for rest in &plans[i + 1..] {
                    env.reports
                        .push(ServiceReport::new(&rest.name, "none", "not_started"));
                }
                let err = BringUpError {
                    service: plan.name.clone(),
                    reason,
                };
                return Err((err, env.shut_down().await));
            }
        }
    }
    let mut watched = Vec::new();
    for (name, shared, ..) in &env.instances {
        watched.push(resources::Watched {
            name: name.clone(),
            source: shared.lock().await.source(&env.stats_stop),
            restarts: env.restarts[name].clone(),
        });
    }
    let supervised: Vec<_> = env
        .instances
        .iter()
        .filter(|(name, ..)| env.on_failure.contains(name))
        .map(|(name, shared, ..)| (name.clone(), shared.clone(), env.restarts[name].clone()))
        .collect();
    if !supervised.is_empty() {
        env.supervisor = Some(tokio::spawn(supervise(supervised, env.stats_stop.clone())));
    }
    if !watched.is_empty() {
        env.sampler = Some(resources::Sampler::start(
            watched,
            RESOURCE_EVERY,
            run_start,
            on_sample,
        ));
    }
    Ok(env)
}

/// How often service resources are sampled.
const RESOURCE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

type Started = (Endpoint, Endpoint, Option<(Instance, ready::Ready)>);

#[allow(clippy::too_many_arguments)]
async fn start_one(
    plan: &ServicePlan,
    choice: Choice<'_>,
    network: Option<&container::RunNetwork>,
    golive: &str,
    endpoints: &Endpoints,
    inner: &Endpoints,
    cancel: &CancellationToken,
    launcher: &session::Launcher,
    report: &mut ServiceReport,
) -> Result<Started, String> {
    let watch = ready::watched_line(&plan.ready);
    // The service's port and named ports as its ready command sees them.
    let (mut instance, port, ports) = match choice {
        Choice::Missing(why) => return Err(why),
        Choice::External(form) => {
            report.provider = "external".into();
            let endpoint = external::endpoint(form, endpoints)?;
            let vars = ProcessVars {
                port: endpoint.port,
                ports: &endpoint.ports,
                golive,
            };
            let probe = ready::Ready::resolve(&plan.ready, endpoints, &vars);
            ready::wait(
                &probe,
                &endpoint,
                plan.startup_timeout,
                cancel,
                None,
                launcher,
            )
            .await?;
            return Ok((endpoint.clone(), endpoint, None));
        }
        Choice::Process(form) => {
            report.provider = "process".into();
            let p = process::start(&plan.name, form, golive, endpoints, watch, launcher)?;
            // `{port}` is the first named port when the ports are named.
            let ports = p.endpoint.ports.clone();
            let port = form
                .ports
                .first()
                .and_then(|n| ports.get(n).copied())
                .unwrap_or(p.endpoint.port);
            (Instance::Process(p), port, ports)
        }
        Choice::Container(form) => {
            report.provider = "container".into();
            report.image = Some(form.image());
            let net = network.ok_or("Docker is not available")?;
            let c = container::start(
                &plan.name,
                form,
                net,
                inner,
                watch,
                plan.startup_timeout.as_std(),
                plan.restart,
            )
            .await
            .map_err(|(e, tail)| {
                report.log_tail = tail;
                e
            })?;
            (
                Instance::Container(c),
                form.port,
                container::container_ports(form),
            )
        }
    };
    let endpoint = instance.endpoint().clone();
    let inner_endpoint = match &instance {
        Instance::Container(c) => {
            container::inner_endpoint(&endpoint, &c.container_name, port, ports.clone())
        }
        Instance::Process(_) => endpoint.clone(),
    };
    let vars = ProcessVars {
        port,
        ports: &ports,
        golive,
    };
    let probe = ready::Ready::resolve(&plan.ready, inner, &vars);
    match ready::wait(
        &probe,
        &endpoint,
        plan.startup_timeout,
        cancel,
        Some(&mut instance),
        launcher,
    )
    .await
    {
        Ok(()) => Ok((endpoint, inner_endpoint, Some((instance, probe)))),
        Err(reason) => {
            report.log_tail = instance.stop().await;
            Err(reason)
        }
    }
}

/// How often the supervisor looks for crashed `on-failure` processes: systemd's default
/// `RestartSec` is 100 ms.
const SUPERVISE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// systemd's default start limit: more than `START_LIMIT_BURST` starts within
/// `START_LIMIT_INTERVAL` and the unit is left failed instead of restarted again.
const START_LIMIT_BURST: usize = 5;
const START_LIMIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// golive as the supervisor of its `restart: on-failure` processes: one that exits with an
/// error or a signal is started again (and counted as a restart) until `stop`. Like
/// systemd, a process that keeps failing at start (a crash loop: a stale lock, a bad
/// configuration) is given up after `START_LIMIT_BURST` restarts in `START_LIMIT_INTERVAL`
/// and stays down, so a drill sees a service that does not come back.
async fn supervise(
    services: Vec<(String, Shared, std::sync::Arc<std::sync::atomic::AtomicU64>)>,
    stop: CancellationToken,
) {
    let mut started: std::collections::HashMap<
        &str,
        std::collections::VecDeque<std::time::Instant>,
    > = Default::default();
    let mut given_up: std::collections::HashSet<&str> = Default::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = stop.cancelled() => return,
        }
        for (name, shared, restarts) in &services {
            if given_up.contains(name.as_str()) {
                continue;
            }
            let mut instance = shared.lock().await;
            let Some(why) = instance.failed_exit() else {
                continue;
            };
            if stop.is_cancelled() {
                return;
            }
            let recent = started.entry(name).or_default();
            let now = std::time::Instant::now();
            recent.retain(|t| now.duration_since(*t) < START_LIMIT_INTERVAL);
            if recent.len() >= START_LIMIT_BURST {
                tracing::error!(
                    service = %name,
                    why,
                    "Service keeps crashing: restarted {START_LIMIT_BURST} times within {} s; left down (start limit, as systemd's StartLimitBurst).",
                    START_LIMIT_INTERVAL.as_secs()
                );
                given_up.insert(name);
                continue;
            }
            recent.push_back(now);
            tracing::warn!(service = %name, why, "Service crashed; restarting it (restart: on-failure).");
            match instance.restart_after_crash().await {
                Ok(()) => {
                    restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(service = %name, error = %e, "Restarting the crashed service failed.")
                }
            }
        }
    }
}
