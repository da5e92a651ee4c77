//! Plans the command line makes without a checklist, built here so that no plan is
//! assembled or changed outside the compiler: a scenario file as a one-item run, an
//! ad-hoc load against one URL (`golive load --url`), and a checklist whose service gets
//! extra command-line arguments (the demo's `--fault` flags).

use super::{plan_file, plan_scenario, ItemBody, ItemPlan, PhasePlan, Plan};
use crate::diag::Diagnostic;
use crate::evidence::Confidence;
use crate::load::schedule::Stage;
use crate::load::{LoadPlan, Profile, RequestPlan, Threshold};
use crate::spec::Severity;
use crate::template::Template;
use crate::units::{Duration, Rate};
use sha2::Digest;
use std::path::Path;

/// A load scenario file as a run of one blocker item, with the scenario's own services.
pub fn plan_scenario_run(path: &Path) -> Result<Plan, Vec<Diagnostic>> {
    let load = plan_scenario(path, None)?;
    let text = std::fs::read(path).unwrap_or_default();
    Ok(Plan {
        file: path.to_path_buf(),
        sha256: hex::encode(sha2::Sha256::digest(&text)),
        system: format!("load scenario {}", load.name),
        release: None,
        description: None,
        confidence: Confidence::default(),
        services: load.services.clone(),
        redactor: load.secrets.clone(),
        waivers: Vec::new(),
        monitor: super::MonitorPlan::nothing(),
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
    })
}

/// What `golive load --url` asks for, as given on the command line.
#[derive(Debug, Clone)]
pub struct AdhocLoad<'a> {
    pub url: &'a str,
    pub method: &'a str,
    /// Open model: arrivals per second.
    pub rate: Option<Rate>,
    /// Closed model: concurrent users.
    pub users: Option<u32>,
    pub duration: Duration,
    pub timeout: Duration,
    pub max_in_flight: u32,
    pub connections: u32,
    /// Criteria over all requests (`--threshold`, repeatable); none given means
    /// [`super::defaults::ADHOC_THRESHOLD`].
    pub thresholds: &'a [String],
}

/// One request against one URL at a steady rate or user count; the error is a sentence
/// naming the flag at fault.
pub fn adhoc_load(a: &AdhocLoad) -> Result<LoadPlan, String> {
    let url = a.url;
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            return Err(format!(
                "--url `{url}` is not an absolute http:// or https:// URL"
            ))
        }
    };
    let Ok(method) = http::Method::from_bytes(a.method.to_ascii_uppercase().as_bytes()) else {
        return Err(format!("--method `{}` is not an HTTP method", a.method));
    };
    if a.duration == Duration::ZERO
        || a.timeout == Duration::ZERO
        || a.max_in_flight == 0
        || a.connections == 0
    {
        return Err("--duration, --timeout and --max-in-flight must be above zero".into());
    }
    let most = super::defaults::MAX_LOAD_WORKERS;
    for (flag, n) in [
        ("--users", a.users.unwrap_or(0)),
        ("--connections", a.connections),
        ("--max-in-flight", a.max_in_flight),
    ] {
        if n > most {
            return Err(format!(
                "{flag} {n} is more than one load run drives (at most {most})"
            ));
        }
    }
    let secs = a.duration.as_secs_f64();
    let profile = match (a.rate, a.users) {
        (Some(r), _) => Profile::Open {
            stages: vec![Stage {
                secs,
                from: r.per_second(),
                to: r.per_second(),
            }],
            max_in_flight: a.max_in_flight,
            connections: a.connections.min(a.max_in_flight),
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
            return Err(
                "give --rate (open model, e.g. 200/s) or --users (closed model, at least 1)".into(),
            )
        }
    };
    let default = [super::defaults::ADHOC_THRESHOLD.to_string()];
    let texts = if a.thresholds.is_empty() {
        &default[..]
    } else {
        a.thresholds
    };
    let thresholds = texts
        .iter()
        .map(|text| {
            let c = crate::expr::parse(text)
                .map_err(|e| format!("--threshold `{text}`: {}", e.message))?;
            super::criteria::build(text, &c)
                .map(|criterion| Threshold {
                    request: None,
                    criterion,
                })
                .map_err(|(_, m)| format!("--threshold `{text}`: {m}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let origin = format!(
        "{}://{}",
        parsed.scheme(),
        &parsed[url::Position::BeforeHost..url::Position::AfterPort]
    );
    let path = &parsed[url::Position::BeforePath..url::Position::AfterQuery];
    Ok(LoadPlan {
        name: "adhoc".into(),
        file: Default::default(),
        services: Vec::new(),
        target: Template::literal(&origin),
        tls: Default::default(),
        requests: vec![RequestPlan {
            name: "request".into(),
            weight: 1,
            websocket: None,
            method,
            path: Template::literal(if path.is_empty() { "/" } else { path }),
            headers: Vec::new(),
            body: None,
            expect: Vec::new(),
        }],
        profile,
        warm_up: Duration::ZERO,
        timeout: a.timeout,
        faults: Vec::new(),
        recovery: Vec::new(),
        thresholds,
        rules: Vec::new(),
        // The URL was typed on the command line, not read from the environment; its
        // user-info password is masked structurally wherever it is shown.
        secrets: Default::default(),
        shard: None,
    })
}

/// Plans the checklist at `path`, then appends `args` to the command of the service
/// named `service` (its process or container form); the demo passes the reference
/// system its `--fault` flags this way. A checklist without that service plans as is.
pub fn plan_file_with_args(
    path: &Path,
    service: &str,
    args: &[String],
) -> Result<Plan, Vec<Diagnostic>> {
    let mut plan = plan_file(path)?;
    if let Some(service) = plan.services.iter_mut().find(|s| s.name == service) {
        let forms = [
            service.process.as_mut().map(|p| &mut p.command),
            service.container.as_mut().map(|c| &mut c.command),
        ];
        for command in forms.into_iter().flatten() {
            command.extend(args.iter().map(|a| Template::literal(a)));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adhoc(url: &str, rate: Option<&str>, users: Option<u32>) -> Result<LoadPlan, String> {
        adhoc_load(&AdhocLoad {
            url,
            method: "get",
            rate: rate.map(|r| r.parse().unwrap()),
            users,
            duration: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            max_in_flight: 100,
            connections: 500,
            thresholds: &[],
        })
    }

    #[test]
    fn ad_hoc_load_targets_the_origin_and_requests_the_path() {
        let plan = adhoc("https://example.test:8443/api/x?q=1", Some("200/s"), None).unwrap();
        let endpoints = crate::template::Endpoints::default();
        assert_eq!(
            plan.target.render(&endpoints, None),
            "https://example.test:8443"
        );
        let request = &plan.requests[0];
        assert_eq!(request.method, http::Method::GET);
        assert_eq!(request.path.render(&endpoints, None), "/api/x?q=1");
        match plan.profile {
            Profile::Open {
                max_in_flight,
                connections,
                ..
            } => assert_eq!((max_in_flight, connections), (100, 100)),
            other => panic!("{other:?}"),
        }
        let closed = adhoc("http://127.0.0.1:1", None, Some(3)).unwrap();
        assert!(matches!(closed.profile, Profile::Closed { .. }));
        assert_eq!(closed.requests[0].path.render(&endpoints, None), "/");
    }

    #[test]
    fn ad_hoc_load_names_the_flag_at_fault() {
        for (url, rate, users, needle) in [
            ("ftp://x", Some("1/s"), None, "--url `ftp://x`"),
            ("http://x", None, None, "give --rate"),
            ("http://x", None, Some(0), "give --rate"),
        ] {
            let e = adhoc(url, rate, users).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }
}
