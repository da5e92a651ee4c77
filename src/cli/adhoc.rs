//! `golive load`: a scenario file as a one-item run (reports and exit code like any
//! run), or an ad-hoc run against one URL for on-call engineers, like oha or hey.

use super::progress::{load_summary, Progress};
use super::{default_out, run_plan, LoadArgs};
use crate::evidence::Confidence;
use crate::exit;
use crate::load::schedule::Stage;
use crate::load::{LoadPlan, LoadResult, Profile, RequestPlan};
use crate::plan::{plan_scenario, ItemBody, ItemPlan, PhasePlan, Plan};
use crate::run::{Event, RunOptions};
use crate::spec::Severity;
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use sha2::Digest;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

pub async fn load_command(args: LoadArgs, golive: String, cancel: CancellationToken) -> i32 {
    match (&args.scenario, &args.url) {
        (Some(path), _) => scenario(&args, path, golive, cancel).await,
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
) -> i32 {
    let load = match plan_scenario(path, None) {
        Ok(p) => p,
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            return exit::INVALID_INPUT;
        }
    };
    let text = std::fs::read(path).unwrap_or_default();
    let plan = Plan {
        file: path.to_path_buf(),
        sha256: hex::encode(sha2::Sha256::digest(&text)),
        system: format!("load scenario {}", load.name),
        release: None,
        description: None,
        confidence: Confidence::default(),
        services: load.services.clone(),
        phases: vec![PhasePlan {
            id: "load".into(),
            title: "Load".into(),
            items: vec![ItemPlan {
                id: load.name.clone(),
                title: format!("Load scenario `{}`", load.name),
                description: None,
                severity: Severity::Blocker,
                line: None,
                body: ItemBody::Load(Box::new(load)),
            }],
        }],
    };
    let opts = RunOptions {
        out_dir: args.common.out.clone().unwrap_or_else(default_out),
        provider: args.common.provider,
        signoffs: HashMap::new(),
        golive,
        metrics: None,
    };
    run_plan(&plan, opts, &args.common.telemetry, cancel).await
}

async fn adhoc(args: &LoadArgs, url: &str, cancel: CancellationToken) -> i32 {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            eprintln!("error: --url `{url}` is not an absolute http:// or https:// URL");
            return exit::INVALID_INPUT;
        }
    };
    let Ok(method) = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes()) else {
        eprintln!("error: --method `{}` is not an HTTP method", args.method);
        return exit::INVALID_INPUT;
    };
    if args.duration == Duration::ZERO
        || args.timeout == Duration::ZERO
        || args.max_in_flight == 0
        || args.connections == 0
    {
        eprintln!("error: --duration, --timeout and --max-in-flight must be above zero");
        return exit::INVALID_INPUT;
    }
    let secs = args.duration.as_secs_f64();
    let profile = match (args.rate, args.users) {
        (Some(r), _) => Profile::Open {
            stages: vec![Stage {
                secs,
                from: r.per_second(),
                to: r.per_second(),
            }],
            max_in_flight: args.max_in_flight,
            connections: args.connections.min(args.max_in_flight),
        },
        (None, Some(u)) if u > 0 => Profile::Closed {
            stages: vec![Stage {
                secs,
                from: f64::from(u),
                to: f64::from(u),
            }],
            think_time: Duration::ZERO,
        },
        _ => {
            eprintln!(
                "error: give --rate (open model, e.g. 200/s) or --users (closed model, at least 1)"
            );
            return exit::INVALID_INPUT;
        }
    };
    let origin = format!(
        "{}://{}",
        parsed.scheme(),
        &parsed[url::Position::BeforeHost..url::Position::AfterPort]
    );
    let path = &parsed[url::Position::BeforePath..url::Position::AfterQuery];
    let plan = LoadPlan {
        name: "adhoc".into(),
        file: Default::default(),
        services: Vec::new(),
        target: Template::literal(&origin),
        tls: Default::default(),
        requests: vec![RequestPlan {
            name: "request".into(),
            weight: 1,
            websocket_send: None,
            method,
            path: Template::literal(if path.is_empty() { "/" } else { path }),
            headers: Vec::new(),
            body: None,
            expect: Vec::new(),
        }],
        profile,
        warm_up: Duration::ZERO,
        timeout: args.timeout,
        faults: Vec::new(),
        recovery: Vec::new(),
        thresholds: Vec::new(),
        rules: Vec::new(),
    };
    let progress = Progress::new();
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
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&adhoc_json(url, &o.result)).unwrap_or_default()
                );
            } else {
                println!("{}", load_summary(&o.result));
            }
            if cancel.is_cancelled() {
                exit::INTERRUPTED
            } else {
                exit::GO
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
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
        "url": url,
        "model": r.model,
        "requests": r.requests,
        "errors": r.errors,
        "errors_by_class": r.overall.errors_by_class,
        "duration_s": r.duration_s,
        "rps": r.achieved_rps,
        "target_rps": r.target_rps,
        "dropped": r.dropped,
        "late": r.late,
        "latency_ms": pct(&r.overall.latency_ms),
        "service_time_ms": pct(&r.overall.service_time_ms),
        "send_lag_ms": pct(&r.send_lag_ms),
    })
}
