//! `golive monitor`: the checklist run forever. The gate's parts composed another way:
//! services brought up once (and kept up by their restart policy), each check item
//! sampled on its own interval by the same probes, alert rules judged by the load's rule
//! engine, objectives by their burn rates, every transition written to the state file
//! with its notifications, which a separate task delivers. SIGHUP reloads the checklist;
//! SIGINT or SIGTERM stops the monitor, which brings its services down.

pub mod engine;
pub mod notify;
pub mod page;
pub mod store;

use crate::check::{Check, Prepared};
use crate::metrics::MonitorMetrics;
use crate::plan::{MonitorPlan, MonitoredItem, Plan};
use crate::services::{self, session::Launcher, Provider};
use crate::template::Endpoints;
use engine::{Engine, Status, Tick};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Incident, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How to run the monitor.
pub struct MonitorOptions {
    /// The state file (created if missing).
    pub state: PathBuf,
    /// Where to serve the status page, `/metrics` and `/api/status`.
    pub listen: SocketAddr,
    pub provider: Provider,
    /// This monitor's id: names its containers and processes' ledger.
    pub run_id: String,
    /// Path of the golive binary, for `{golive}` in process commands.
    pub golive: String,
}

/// Why the monitor could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The checklist cannot be monitored (exit 2).
    #[error("{0}")]
    Invalid(String),
    /// The environment refused (exit 3): state file, port, services.
    #[error("{0}")]
    Environment(String),
}

/// What the page, `/metrics` and `/api/status` read.
struct Shown {
    status: Option<Status>,
    open: Vec<Incident>,
    recent: Vec<Incident>,
    pending: i64,
}

struct Server {
    shown: Mutex<Shown>,
    metrics: Arc<MonitorMetrics>,
    confidence: f64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs until `cancel` fires. `reload` carries SIGHUPs; `on_plan` sees each reloaded
/// plan before it runs (the caller masks its secrets in logs). Announces the page's
/// address through `on_listening` once it is served.
pub async fn run(
    file: &Path,
    plan: Plan,
    opts: MonitorOptions,
    cancel: CancellationToken,
    mut reload: mpsc::Receiver<()>,
    on_listening: &(dyn Fn(SocketAddr) + Sync),
    on_plan: &(dyn Fn(&Plan) + Sync),
) -> Result<(), MonitorError> {
    if plan.monitor.items.is_empty() {
        return Err(MonitorError::Invalid(format!(
            "{}: no check item to monitor; the monitor runs items with a `check` (manual, load and resource items are the gate's)",
            file.display()
        )));
    }
    let mut store =
        Store::open(&opts.state).map_err(|e| MonitorError::Environment(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(opts.listen).await.map_err(|e| {
        MonitorError::Environment(format!(
            "cannot serve the status page on {}: {e}; is another monitor running there? give another --listen",
            opts.listen
        ))
    })?;
    let metrics = Arc::new(MonitorMetrics::new(&plan.system));
    let server = Arc::new(Server {
        shown: Mutex::new(Shown {
            status: None,
            open: Vec::new(),
            recent: Vec::new(),
            pending: 0,
        }),
        metrics: metrics.clone(),
        confidence: plan.confidence.value(),
    });
    let serve_cancel = CancellationToken::new();
    let (bound, server_task) = crate::metrics::serve_app(
        listener,
        router(server.clone()),
        serve_cancel.clone(),
        crate::metrics::ServeLimits::default(),
    )
    .map_err(|e| MonitorError::Environment(format!("cannot serve the status page: {e}")))?;
    on_listening(bound);

    let clock = Instant::now();
    let env = match services::bring_up(
        &plan.services,
        opts.provider,
        &opts.run_id,
        &opts.golive,
        &cancel,
        clock,
        None,
    )
    .await
    {
        Ok(env) => env,
        Err((e, _)) => {
            serve_cancel.cancel();
            let _ = server_task.await;
            return Err(MonitorError::Environment(format!(
                "service `{}` did not come up: {}",
                e.service, e.reason
            )));
        }
    };

    let page = format!("http://{bound}/");
    let mut plan = plan;
    // The configuration that ran before a reload, to fall back on if the new one cannot
    // start (a header value that renders invalid, say).
    let mut previous: Option<Plan> = None;
    let mut result = Ok(());
    'generations: loop {
        metrics.reset_states();
        let generation = match Generation::start(
            &plan,
            &env.endpoints,
            env.launcher(),
            &mut store,
            &opts.state,
            &metrics,
            &page,
        ) {
            Ok(g) => g,
            Err(e) => match previous.take() {
                Some(old) => {
                    tracing::error!(error = %e, "The reloaded checklist cannot start; the running configuration stays.");
                    plan = old;
                    continue;
                }
                None => {
                    result = Err(MonitorError::Environment(e));
                    break;
                }
            },
        };
        let Generation {
            mut engine,
            mut ticks,
            tickers,
            notifier,
            wake,
            stop,
            targets,
        } = generation;
        let mut hup_open = true;
        let mut last_shown = Instant::now() - Duration::from_secs(10);
        let mut last_prune = Instant::now();
        let mut incidents_dirty = true;
        let mut step = tokio::time::interval(Duration::from_millis(250));
        step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outcome = loop {
            let mut batch = Vec::new();
            let stop_reason = tokio::select! {
                _ = cancel.cancelled() => Some(false),
                r = reload.recv(), if hup_open => match r {
                    Some(()) => Some(true),
                    // No SIGHUP can come any more: stop listening, keep running.
                    None => { hup_open = false; None }
                },
                n = ticks.recv_many(&mut batch, 1024) => { if n == 0 { Some(false) } else { None } }
                _ = step.tick() => None,
            };
            while let Ok(t) = ticks.try_recv() {
                batch.push(t);
            }
            let now = now_ms();
            let stepped = match engine.step(&mut store, &batch, now) {
                Ok(t) => Ok(t),
                Err(e) => {
                    // The transaction rolled back but the engine's memory moved on: start
                    // it again from what the state file holds and feed the ticks once more.
                    tracing::error!(error = %e, "The monitor's state could not be written; resuming from the state file and retrying the step.");
                    match Engine::resume(
                        &plan.system,
                        &plan.monitor,
                        &targets,
                        &plan.redactor,
                        &mut store,
                        now,
                    ) {
                        Ok((fresh, _)) => {
                            engine = fresh;
                            engine.step(&mut store, &batch, now)
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match stepped {
                Ok(transitions) => {
                    if !transitions.is_empty() {
                        incidents_dirty = true;
                        wake.notify_one();
                    }
                    for t in transitions {
                        if t.firing {
                            tracing::warn!(alert = %t.alert, evidence = %t.evidence, "Alert firing.");
                        } else {
                            tracing::warn!(alert = %t.alert, evidence = %t.evidence, "Alert resolved.");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "The monitor's state could not be written; these ticks are lost, the next step tries again.");
                }
            }
            if last_shown.elapsed() >= Duration::from_secs(1) || incidents_dirty {
                last_shown = Instant::now();
                show(&mut engine, &store, &server, &metrics, now, incidents_dirty);
                incidents_dirty = false;
            }
            if last_prune.elapsed() >= Duration::from_secs(60) {
                last_prune = Instant::now();
                match store.prune(
                    engine.ticks_horizon_ms(now),
                    engine.minutes_horizon_ms(now),
                    now - engine.retention_ms(),
                ) {
                    Ok(0) => {}
                    Ok(n) => tracing::error!(
                        notifications = n,
                        "Notifications no receiver took within the retention were given up."
                    ),
                    Err(e) => tracing::warn!(error = %e, "Old state could not be pruned."),
                }
            }
            if let Some(reload) = stop_reason {
                break reload;
            }
        };
        stop.cancel();
        for t in tickers {
            let _ = t.await;
        }
        // The last ticks taken before the stop are recorded too.
        let mut rest = Vec::new();
        while let Ok(t) = ticks.try_recv() {
            rest.push(t);
        }
        if !rest.is_empty() {
            let _ = engine.step(&mut store, &rest, now_ms());
        }
        let _ = notifier.await;
        if !outcome {
            break 'generations;
        }
        // SIGHUP: the file again; the running configuration stays unless it validates.
        match crate::plan::plan_file(file) {
            Err(diags) => {
                tracing::error!(
                    file = %file.display(),
                    problems = diags.len(),
                    "The reloaded checklist does not validate; the running configuration stays."
                );
                for d in &diags {
                    tracing::error!("{d}");
                }
            }
            Ok(new) if new.monitor.items.is_empty() => {
                tracing::error!(
                    "The reloaded checklist has no check item; the running configuration stays."
                );
            }
            Ok(new) => {
                on_plan(&new);
                if format!("{:?}", new.services) != format!("{:?}", plan.services) {
                    tracing::warn!("The reloaded checklist changes its services: restart the monitor to apply that; items, rules and objectives are reloaded.");
                }
                tracing::warn!(file = %file.display(), items = new.monitor.items.len(), rules = new.monitor.rules.len(), "Checklist reloaded.");
                let services = plan.services.clone();
                previous = Some(std::mem::replace(&mut plan, Plan { services, ..new }));
            }
        }
    }
    env.shut_down().await;
    serve_cancel.cancel();
    let _ = server_task.await;
    result
}

/// One configuration's running parts: the engine, the item tickers and the notifier.
struct Generation {
    engine: Engine,
    ticks: mpsc::Receiver<(String, Tick)>,
    tickers: Vec<tokio::task::JoinHandle<()>>,
    notifier: tokio::task::JoinHandle<()>,
    wake: Arc<tokio::sync::Notify>,
    stop: CancellationToken,
    /// Each item's target as rendered for this run.
    targets: BTreeMap<String, String>,
}

impl Generation {
    fn start(
        plan: &Plan,
        endpoints: &Endpoints,
        launcher: &Launcher,
        store: &mut Store,
        state: &Path,
        metrics: &Arc<MonitorMetrics>,
        page: &str,
    ) -> Result<Generation, String> {
        let m = &plan.monitor;
        let targets: BTreeMap<String, String> = m
            .items
            .iter()
            .map(|i| (i.id.clone(), i.check.target(endpoints)))
            .collect();
        // Everything that can fail comes before anything is started.
        let notifier = notifier(plan, m, endpoints, state, metrics, page)?;
        let (engine, transitions) =
            Engine::resume(&plan.system, m, &targets, &plan.redactor, store, now_ms())
                .map_err(|e| e.to_string())?;
        for t in transitions {
            tracing::warn!(alert = %t.alert, evidence = %t.evidence, "Alert resolved.");
        }
        let stop = CancellationToken::new();
        let (tx, ticks) = mpsc::channel(4 * m.items.len().max(16));
        let tickers = m
            .items
            .iter()
            .map(|item| {
                tokio::spawn(ticker(
                    item.clone(),
                    endpoints.clone(),
                    launcher.clone(),
                    m.jitter,
                    tx.clone(),
                    metrics.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let wake = Arc::new(tokio::sync::Notify::new());
        let notifier = tokio::spawn(notifier.run(stop.clone(), wake.clone()));
        Ok(Generation {
            engine,
            ticks,
            tickers,
            notifier,
            wake,
            stop,
            targets,
        })
    }
}

fn notifier(
    plan: &Plan,
    m: &MonitorPlan,
    endpoints: &Endpoints,
    state: &Path,
    metrics: &Arc<MonitorMetrics>,
    page: &str,
) -> Result<notify::Notifier, String> {
    let target = |r: &crate::plan::Receiver, what: &str| -> Result<notify::Target, String> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &r.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("{what} header `{name}`: {e}"))?;
            let value = reqwest::header::HeaderValue::from_str(&value.render(endpoints, None))
                .map_err(|_| {
                    format!("{what} header `{name}`: the value is not a valid header value")
                })?;
            headers.insert(name, value);
        }
        Ok(notify::Target {
            url: r.url.render(endpoints, None),
            headers,
        })
    };
    let alertmanager = m
        .alertmanager
        .as_ref()
        .map(|r| target(r, "monitor.alertmanager"))
        .transpose()?;
    let webhook = m
        .webhook
        .as_ref()
        .map(|r| target(r, "monitor.webhook"))
        .transpose()?;
    let tls = crate::net::TlsClient::default()
        .config(&[b"http/1.1"])
        .map_err(|e| format!("notifications: {e}"))?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| format!("notifications: {e}"))?;
    let maintenance = m.maintenance.clone();
    Ok(notify::Notifier {
        store: Store::open(state).map_err(|e| e.to_string())?,
        client,
        alertmanager,
        webhook,
        metrics: metrics.clone(),
        system: plan.system.clone(),
        resend: m.resend.as_std(),
        page: Some(page.to_string()),
        quiet: Arc::new(move |now| {
            maintenance
                .iter()
                .any(|w| w.from.timestamp_millis() <= now && now < w.to.timestamp_millis())
        }),
    })
}

/// One item's loop: a tick every `every` (± jitter), each taking `samples` samples with
/// the probe prepared once; a probe that cannot be prepared is tried again next tick.
async fn ticker(
    item: MonitoredItem,
    endpoints: Endpoints,
    launcher: Launcher,
    jitter: f64,
    tx: mpsc::Sender<(String, Tick)>,
    metrics: Arc<MonitorMetrics>,
    stop: CancellationToken,
) {
    let every = item.every.as_std();
    // Items start spread over one interval rather than all at once.
    let first = every.mul_f64(fastrand::f64());
    let mut due = tokio::time::Instant::now() + first;
    let mut probe: Option<Prepared> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep_until(due) => {}
        }
        let tick = match tick(
            &item.check,
            &mut probe,
            &endpoints,
            &launcher,
            item.samples,
            &item.id,
            &metrics,
            &stop,
        )
        .await
        {
            Some(t) => t,
            None => return,
        };
        metrics.set_item_up(&item.id, tick.errors == 0);
        if tx.send((item.id.clone(), tick)).await.is_err() {
            return;
        }
        let spread = 1.0 + jitter * (2.0 * fastrand::f64() - 1.0);
        due += every.mul_f64(spread);
        // Late (a slow tick, a suspended machine): the next one is due now, not in a burst.
        let now = tokio::time::Instant::now();
        if due < now {
            due = now;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn tick(
    check: &Check,
    probe: &mut Option<Prepared>,
    endpoints: &Endpoints,
    launcher: &Launcher,
    samples: u32,
    id: &str,
    metrics: &MonitorMetrics,
    stop: &CancellationToken,
) -> Option<Tick> {
    if probe.is_none() {
        match check.prepared(endpoints, launcher) {
            Ok(p) => *probe = Some(p),
            Err(f) => {
                metrics.sample(id, Err(f.class.as_str()));
                return Some(Tick {
                    at_ms: now_ms(),
                    n: 1,
                    errors: 1,
                    latencies_us: Vec::new(),
                    reason: Some(f.reason),
                    class: Some(f.class),
                });
            }
        }
    }
    let p = probe.as_ref()?;
    let mut t = Tick {
        at_ms: 0,
        n: 0,
        errors: 0,
        latencies_us: Vec::with_capacity(samples as usize),
        reason: None,
        class: None,
    };
    for _ in 0..samples {
        let s = tokio::select! {
            _ = stop.cancelled() => return None,
            s = p.sample() => s,
        };
        t.n += 1;
        match s {
            Ok(us) => {
                metrics.sample(id, Ok(Duration::from_micros(us)));
                t.latencies_us.push(us);
            }
            Err(f) => {
                metrics.sample(id, Err(f.class.as_str()));
                t.errors += 1;
                if t.reason.is_none() {
                    t.reason = Some(f.reason);
                    t.class = Some(f.class);
                }
            }
        }
    }
    t.at_ms = now_ms();
    Some(t)
}

/// Publishes the engine's state to the page and the metrics.
fn show(
    engine: &mut Engine,
    store: &Store,
    server: &Server,
    metrics: &MonitorMetrics,
    now: i64,
    incidents: bool,
) {
    let status = engine.status(
        now,
        crate::evidence::Confidence::new(server.confidence).unwrap_or_default(),
    );
    for i in &status.items {
        for u in &i.uptime {
            metrics.set_uptime(&i.id, &u.window, u.ratio);
        }
    }
    for r in &status.rules {
        metrics.set_rule_state(&r.name, &r.item, r.state);
        metrics.set_alert_firing(
            &format!("rule:{}", r.name),
            r.state == crate::rules::RuleState::Firing,
        );
    }
    for o in &status.objectives {
        metrics.set_budget_left(&o.name, o.budget_left);
        for a in &o.alerts {
            let (long, short) = a.windows.split_once('/').unwrap_or((&a.windows, ""));
            metrics.set_burn_rate(&o.name, long, a.long_rate);
            metrics.set_burn_rate(&o.name, short, a.short_rate);
            metrics.set_alert_firing(&format!("objective:{}:{}", o.name, a.windows), a.firing);
        }
    }
    let mut shown = server.shown.lock().unwrap_or_else(|p| p.into_inner());
    if incidents {
        if let Ok((open, recent)) = store.incidents(20) {
            shown.open = open;
            shown.recent = recent;
        }
    }
    if let Ok(n) = store.pending() {
        shown.pending = n;
    }
    shown.status = Some(status);
}

fn router(server: Arc<Server>) -> axum::Router {
    use axum::http::header;
    use axum::response::IntoResponse;
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/",
            get(|axum::extract::State(s): axum::extract::State<Arc<Server>>| async move {
                let shown = s.shown.lock().unwrap_or_else(|p| p.into_inner());
                let body = match &shown.status {
                    Some(status) => page::render(status, &shown.open, &shown.recent, s.confidence, shown.pending),
                    None => "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"1\"><title>golive monitor</title></head><body><p>Starting…</p></body></html>".to_string(),
                };
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
            }),
        )
        .route(
            "/metrics",
            get(|axum::extract::State(s): axum::extract::State<Arc<Server>>| async move {
                ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], s.metrics.render())
            }),
        )
        .route(
            "/api/status",
            get(|axum::extract::State(s): axum::extract::State<Arc<Server>>| async move {
                let shown = s.shown.lock().unwrap_or_else(|p| p.into_inner());
                let body = serde_json::json!({
                    "status": shown.status,
                    "open_incidents": shown.open.iter().map(incident_json).collect::<Vec<_>>(),
                    "recent_incidents": shown.recent.iter().map(incident_json).collect::<Vec<_>>(),
                    "notifications_pending": shown.pending,
                });
                axum::Json(body)
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(server)
}

fn incident_json(i: &Incident) -> serde_json::Value {
    let labels: serde_json::Value = serde_json::from_str(&i.labels).unwrap_or_default();
    let annotations: serde_json::Value = serde_json::from_str(&i.annotations).unwrap_or_default();
    serde_json::json!({
        "id": i.id,
        "alert": i.alert,
        "started_ms": i.started_ms,
        "ended_ms": i.ended_ms,
        "labels": labels,
        "annotations": annotations,
    })
}
