//! One run, as a list of phases: prepare the output folder → bring services up → run
//! each item in order → bring services down → judge → write the report. A run that has
//! started always writes its report, also when a service fails or it is interrupted.

use crate::check::{observe, Sampling};
use crate::plan::{ItemBody, Plan};
use crate::record::{ItemEvidence, RunEnd, SampleEvidence, Signature};
use crate::report::{self, Report, RunDir, RunFacts};
use crate::services::{self, Provider};
use crate::tally::Observations;
use crate::verdict::RunState;
use std::collections::HashMap;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// How to run a plan.
pub struct RunOptions {
    /// This run's id ([`new_run_id`]): names its containers, network and Docker label,
    /// so it must be unique per run whatever the folder is called.
    pub run_id: String,
    /// The run folder; created if missing, refused if it already holds a run.
    pub out_dir: PathBuf,
    pub provider: Provider,
    /// Sign-offs given for this run: manual item id → signer.
    pub signoffs: HashMap<String, String>,
    /// Path of the golive binary, for `{golive}` in process commands.
    pub golive: String,
    /// Live Prometheus metrics, when served or pushed.
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    /// The baseline run (`--baseline`, its file as given): the report carries a before/after
    /// table against it. Its claims are resolved in the plan before the run.
    pub baseline: Option<(String, Report)>,
}

/// Progress, for the command line to show as it happens.
pub enum Event<'a> {
    ServiceReady {
        name: &'a str,
        url: &'a str,
        provider: &'a str,
        ms: u64,
    },
    ServiceFailed {
        name: &'a str,
        error: &'a str,
    },
    ItemStarted {
        id: &'a str,
        title: &'a str,
        samples: u32,
    },
    ItemSampled {
        id: &'a str,
        obs: &'a Observations,
    },
    LoadStarted {
        id: &'a str,
        title: &'a str,
        plan: &'a crate::load::LoadPlan,
    },
    Load(crate::load::LoadEvent<'a>),
    LoadDone {
        id: &'a str,
        result: &'a crate::load::LoadResult,
    },
}

/// What a finished run leaves behind.
pub struct RunOutcome {
    pub report: Report,
    pub files: Vec<PathBuf>,
}

/// A run that could not start (its output folder holds a run already, or cannot be
/// written) or whose report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The folder holds another run's results.json: overwriting it would lose that run,
    /// and two runs sharing a folder would write over each other's reports.
    #[error(
        "the run folder {} already holds a run ({}); give another --out, or move that run away first",
        path.display(),
        path.join("results.json").display()
    )]
    Occupied { path: PathBuf },
    #[error("cannot write the run folder {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OutputError {
    fn of(path: &std::path::Path, source: std::io::Error) -> Self {
        let path = path.to_path_buf();
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            OutputError::Occupied { path }
        } else {
            OutputError::Io { path, source }
        }
    }
}

/// A run id that sorts by time and is unique per run: `20261121T223554Z-3f9a0c1d`. It
/// never derives from the run folder's name, so two runs with the same `--out` never
/// share containers, a network or a label, and it only holds characters Docker accepts
/// in names and labels.
pub fn new_run_id(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}-{:08x}", at.format("%Y%m%dT%H%M%SZ"), fastrand::u32(..))
}

pub async fn run(
    plan: &Plan,
    opts: RunOptions,
    cancel: CancellationToken,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<RunOutcome, OutputError> {
    let started_at = chrono::Utc::now();
    // The run's clock: resource readings and each load's start count from it, so a
    // report can line up services' CPU and memory with load windows and drills.
    let clock = std::time::Instant::now();
    let id = opts.run_id.clone();
    let out_err = |source| OutputError::of(&opts.out_dir, source);
    // Claim the folder and prove the report can be written before doing any work.
    let dir = RunDir::prepare(&opts.out_dir, &id).map_err(out_err)?;

    // Up.
    let (environment, mut state, mut service_reports) = match services::bring_up(
        &plan.services,
        opts.provider,
        &id,
        &opts.golive,
        &cancel,
        clock,
        opts.metrics
            .clone()
            .map(|m| -> services::resources::OnSample {
                std::sync::Arc::new(move |name, s, restarts| {
                    m.set_service_resources(name, s.cpu_percent, s.memory_bytes);
                    m.set_service_restarts(name, restarts);
                })
            }),
    )
    .await
    {
        Ok(env) => (Some(env), RunState::Completed, Vec::new()),
        Err((e, reports)) => {
            on_event(Event::ServiceFailed {
                name: &e.service,
                error: &e.reason,
            });
            let state = if cancel.is_cancelled() {
                RunState::Interrupted
            } else {
                RunState::EnvironmentFailed(e.to_string())
            };
            (None, state, reports)
        }
    };
    if let Some(env) = &environment {
        for r in &env.reports {
            on_event(Event::ServiceReady {
                name: &r.name,
                url: r.url.as_deref().unwrap_or(""),
                provider: &r.provider,
                ms: r.ready_after_ms.unwrap_or(0),
            });
        }
    }

    // Items, in order.
    let mut evidence: Vec<ItemEvidence> = Vec::new();
    // Seconds on the run's clock each automated item spanned (a load's from the end of its
    // warm-up), and how that is said: what a resource item's `during:` scopes to.
    let mut spans: std::collections::HashMap<String, (f64, f64, String)> = Default::default();
    let since = |t: std::time::Instant| t.duration_since(clock).as_secs_f64();
    // Items a resource item scopes to: services are sampled faster while they run, so a
    // short load still leaves the readings a claim over it needs.
    let scoped: std::collections::HashSet<&str> = plan
        .items()
        .filter_map(|i| match &i.body {
            ItemBody::Resources(r) => r.during.as_deref(),
            _ => None,
        })
        .collect();
    for item in plan.items() {
        let mut result = ItemEvidence::default();
        let ready = match (&environment, &state) {
            (_, RunState::EnvironmentFailed(why)) => Err(format!("not run: {why}")),
            (_, RunState::RolledBack(why)) => Err(format!("not run: {why}")),
            (None, _) | (_, RunState::Interrupted) => {
                Err("not run: the run was interrupted".to_string())
            }
            (Some(env), RunState::Completed) => Ok(env),
        };
        let _hurry = match ready {
            Ok(env) if scoped.contains(item.id.as_str()) => env.hurry(),
            _ => None,
        };
        match (&item.body, ready) {
            (ItemBody::Manual(_), _) => {
                result.signed = opts.signoffs.get(&item.id).map(|by| Signature {
                    by: by.clone(),
                    at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    key: None,
                });
            }
            (_, Err(why)) => result.skipped = Some(why),
            (ItemBody::Check(c), Ok(env)) => {
                on_event(Event::ItemStarted {
                    id: &item.id,
                    title: &item.title,
                    samples: c.samples,
                });
                result.target = Some(c.check.target(&env.endpoints));
                let planned = u64::from(c.samples);
                let decided = |o: &Observations| {
                    c.criteria
                        .iter()
                        .any(|k| k.certain_fail(o.failures, &o.latency, planned, plan.confidence))
                };
                let sampling = Sampling {
                    samples: c.samples,
                    interval: c.interval,
                    concurrency: c.concurrency,
                    track_over: c
                        .criteria
                        .iter()
                        .filter_map(|k| k.latency_threshold_us())
                        .collect(),
                };
                let metrics = opts
                    .metrics
                    .as_ref()
                    .map(|m| m.check(&item.id, c.check.kind()));
                let began = since(std::time::Instant::now());
                let obs = observe(
                    &c.check,
                    sampling,
                    &env.endpoints,
                    env.launcher(),
                    &cancel,
                    &decided,
                    metrics.as_ref(),
                )
                .await;
                on_event(Event::ItemSampled {
                    id: &item.id,
                    obs: &obs,
                });
                spans.insert(
                    item.id.clone(),
                    (
                        began,
                        since(std::time::Instant::now()),
                        format!("while `{}` sampled", item.id),
                    ),
                );
                if obs.cut_short {
                    result.skipped = Some(format!(
                        "interrupted after {} of {} samples",
                        obs.samples, c.samples
                    ));
                }
                result.samples = Some(SampleEvidence::of(&obs, planned));
            }
            (ItemBody::Resources(r), Ok(env)) => {
                result.target = Some(r.service.clone());
                if r.during.is_none() {
                    // Reached right after fast items, a service may have fewer readings
                    // than a claim needs: take them now rather than judge nothing.
                    let need = r.criteria.iter().map(|c| c.metric.readings_needed()).max();
                    env.top_up(&r.service, need.unwrap_or(0)).await;
                }
                let series = env.resources(&r.service);
                result.resources = match (&r.during, series) {
                    (None, series) => series.and_then(|s| s.summary()),
                    (Some(id), Some(series)) => match spans.get(id) {
                        Some((from, to, how)) => {
                            series.within(*from, *to).summary().map(|mut s| {
                                s.scope = Some(format!("{how} ({from:.1} s to {to:.1} s)"));
                                s
                            })
                        }
                        None => {
                            result.skipped = Some(format!(
                                "not run: `{id}`, which `during` names, did not run"
                            ));
                            None
                        }
                    },
                    (Some(_), None) => None,
                };
            }
            (ItemBody::Load(load), Ok(env)) => {
                on_event(Event::LoadStarted {
                    id: &item.id,
                    title: &item.title,
                    plan: load,
                });
                result.target = Some(load.target.render(&env.endpoints, None));
                let progress = |e: crate::load::LoadEvent| on_event(Event::Load(e));
                let load_done = CancellationToken::new();
                let load_start = std::time::Instant::now();
                result.load_started_s =
                    Some((load_start.duration_since(clock).as_secs_f64() * 1e3).round() / 1e3);
                let drills =
                    services::drill::run(env, &load.faults, load_start, load_done.clone(), &cancel);
                let load_run = async {
                    let r = crate::load::run(
                        load,
                        &env.endpoints,
                        &cancel,
                        opts.metrics.as_deref(),
                        &progress,
                    )
                    .await;
                    load_done.cancel();
                    r
                };
                let (load_outcome, drilled) = tokio::join!(load_run, drills);
                let judged_from = since(load_start) + load.warm_up.as_std().as_secs_f64();
                spans.insert(
                    item.id.clone(),
                    (
                        judged_from,
                        since(std::time::Instant::now()),
                        format!("during `{}` after its warm-up", item.id),
                    ),
                );
                if let Some(m) = &opts.metrics {
                    for d in &drilled {
                        if let Some(ms) = d.recovery_ms {
                            m.set_drill_recovery(&d.service, &d.action, ms as f64 / 1e3);
                        }
                    }
                }
                result.drills = drilled;
                match load_outcome {
                    Ok(outcome) => {
                        if let Some(rb) = &outcome.result.rollback {
                            state = RunState::RolledBack(format!(
                                "rollback rule `{}` fired at {:.1} s into `{}`: {}",
                                rb.rule, rb.at_s, item.id, rb.why
                            ));
                        }
                        on_event(Event::LoadDone {
                            id: &item.id,
                            result: &outcome.result,
                        });
                        result.load = Some(outcome.result);
                    }
                    Err(e) => result.load_error = Some(e),
                }
            }
        }
        if cancel.is_cancelled() && state == RunState::Completed {
            state = RunState::Interrupted;
        }
        evidence.push(result);
    }

    // Down.
    if let Some(env) = environment {
        service_reports = env.shut_down().await;
    }
    if cancel.is_cancelled() && state == RunState::Completed {
        state = RunState::Interrupted;
    }

    // Judge and report.
    let end = match state {
        RunState::Interrupted => RunEnd::Interrupted,
        RunState::EnvironmentFailed(why) => RunEnd::EnvironmentFailed { why },
        // A fired rollback rule is in the load item's evidence; the judge reads it there.
        RunState::Completed | RunState::RolledBack(_) => RunEnd::Completed,
    };
    let policy = crate::verdict::Policy {
        confidence: plan.confidence,
        now: chrono::Utc::now(),
        waivers: plan.waivers.clone(),
    };
    let judgement = crate::verdict::judge_run(&plan.claims(), &evidence, &end, &policy)
        .map_err(|e| out_err(std::io::Error::other(e.to_string())))?;
    let facts = RunFacts {
        id,
        started_at,
        finished_at: chrono::Utc::now(),
        end,
        provider: format!("{:?}", opts.provider).to_lowercase(),
        services: service_reports,
    };
    let mut report = report::build(plan, evidence, &judgement, facts);
    if let Some((file, base)) = &opts.baseline {
        let this_run = opts.out_dir.join("results.json").display().to_string();
        let compared = report::compare::compare(base, &report, (file, &this_run));
        report.baseline = Some(compared);
    }
    if let Some(m) = &opts.metrics {
        for item in report.items() {
            m.set_item_outcome(&item.id, item.outcome.as_str());
        }
        m.set_verdict(match report.verdict {
            crate::verdict::Verdict::Go => "GO",
            crate::verdict::Verdict::NoGo => "NO_GO",
            crate::verdict::Verdict::Inconclusive => "INCONCLUSIVE",
            crate::verdict::Verdict::Rollback => "ROLLBACK",
        });
        m.set_exit_code(report.exit_code);
    }
    let files = dir.write_all(&report).map_err(out_err)?;
    Ok(RunOutcome { report, files })
}
