//! Validates a load scenario into a [`LoadPlan`]: executor stages, request weights,
//! thresholds (optionally scoped to a request: `checkout.p99 < 500ms`) and rollback rules
//! (`error_rate > 5%` for 2m), every problem located.

use super::{checks, criteria, defaults, services, Ctx, PlanOptions};
use crate::diag::{Diagnostic, Diagnostics, UsedBy};
use crate::expr::{Comparison, Op, PathSeg, Value};
use crate::load::schedule::Stage;
use crate::load::{LoadPlan, Profile, RecoveryThreshold, RequestPlan, Rule, RuleMetric, Threshold};
use crate::plan::KindSubjects;
use crate::services::drill::Fault;
use crate::spec::{ExecutorSpec, FaultAction, FaultSpec, NoData, Scenario, Source};
use crate::units::Duration;
use std::path::{Path, PathBuf};

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Reads and validates a scenario file. `services` is the checklist's service names
/// when the scenario runs from a checklist; `None` when it runs alone (its own services).
pub fn plan_scenario(
    path: &Path,
    services: Option<&crate::template::Declared>,
) -> Result<LoadPlan, Vec<Diagnostic>> {
    plan_scenario_with(path, services, PlanOptions::default())
}

/// [`plan_scenario`] with `options` (`golive validate --no-env`).
pub fn plan_scenario_with(
    path: &Path,
    services: Option<&crate::template::Declared>,
    options: PlanOptions,
) -> Result<LoadPlan, Vec<Diagnostic>> {
    let (scenario, source) = crate::spec::load_scenario(path)?;
    build(&scenario, &source, services, "", options)
}

/// Plans a scenario file for the load item `used_by` of a checklist that declares
/// `services`. Each diagnostic names the item: the same file may be valid for another.
pub(super) fn plan_used(
    path: &Path,
    services: &crate::template::Declared,
    used_by: &UsedBy,
    options: PlanOptions,
) -> Result<LoadPlan, Vec<Diagnostic>> {
    plan_scenario_with(path, Some(services), options).map_err(|mut diags| {
        for d in &mut diags {
            d.used_by = Some(used_by.clone());
        }
        diags
    })
}

/// Plans scenario `s` read from `source`, where it sits at `at` (a path ending in `.`,
/// for one written inside a checklist; empty for a file of its own).
pub fn build(
    s: &Scenario,
    source: &Source,
    outer: Option<&crate::template::Declared>,
    at: &str,
    options: PlanOptions,
) -> Result<LoadPlan, Vec<Diagnostic>> {
    let base_dir = source
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut ctx = Ctx {
        others: Vec::new(),
        diags: Diagnostics::within(&source.path, &source.index, at),
        source,
        services: outer
            .cloned()
            .unwrap_or_else(|| super::ports::declared(&s.services)),
        base_dir,
        secrets: crate::redact::Redactor::default(),
        captured: Default::default(),
        earlier: Vec::new(),
        options,
        uses: Vec::new(),
    };
    let own_services = match outer {
        Some(_) => Vec::new(),
        None => s
            .services
            .iter()
            .filter_map(|(n, sv)| services::build(n, sv, &mut ctx))
            .collect(),
    };
    let target = checks::url(&mut ctx, "target", &s.target, &["http://", "https://"]);
    let tls = checks::tls_client(&mut ctx, "tls", s.tls.as_ref());
    let requests = requests(s, &mut ctx);
    let profile = profile(&s.executor, &mut ctx);
    let duration = profile.as_ref().map(Profile::duration);
    let warm_up = s.warm_up.unwrap_or(Duration::ZERO);
    if let Some(d) = duration {
        if warm_up >= d {
            ctx.diags.error_hint(
                "warm_up",
                format!("the warm-up ({warm_up}) is not shorter than the load ({d})"),
                "shorten the warm-up or lengthen the executor's duration",
            );
        }
    }
    let timeout = s.timeout.unwrap_or(defaults::HTTP_TIMEOUT);
    if timeout == Duration::ZERO {
        ctx.diags
            .error("timeout", "a timeout of 0 would fail every request");
    }
    let names: Vec<String> = s.requests.iter().map(|r| r.name.clone()).collect();
    let mut recovery = Vec::new();
    let thresholds: Vec<Threshold> = s
        .thresholds
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let path = format!("thresholds[{i}]");
            if is_recovery_time(t) {
                recovery.extend(recovery_threshold(&mut ctx, &path, t, !s.faults.is_empty()));
                return None;
            }
            threshold(&mut ctx, &path, t, &names)
        })
        .collect();
    let faults = faults(&mut ctx, "", &s.faults, duration);
    let rules: Vec<(usize, Rule)> = s
        .rollback
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rule(&mut ctx, &format!("rollback[{i}]"), r, &names).map(|r| (i, r)))
        .collect();
    if let Some(base) = rules.iter().map(|(_, r)| r.window).min() {
        for (i, r) in &rules {
            let ratio = r.window.as_secs_f64() / base.as_secs_f64();
            if (ratio - ratio.round()).abs() > 1e-6 {
                ctx.diags.error(
                    &format!("rollback[{i}].window"),
                    format!(
                        "window {} is not a multiple of the shortest rule window ({base})",
                        r.window
                    ),
                );
            }
        }
    }
    let rules: Vec<Rule> = rules.into_iter().map(|(_, r)| r).collect();
    if !ctx.diags.is_empty() {
        return Err(ctx.diags.into_vec());
    }
    let name = s.name.clone().unwrap_or_else(|| {
        source
            .path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into())
    });
    match (target, requests, profile, tls) {
        (Some(target), Some(requests), Some(profile), Some(tls)) => Ok(LoadPlan {
            name,
            file: source.path.clone(),
            services: own_services,
            target,
            tls,
            requests,
            profile,
            warm_up,
            timeout,
            thresholds,
            rules,
            faults,
            recovery,
            secrets: ctx.secrets,
            shard: None,
        }),
        _ => Err(vec![]),
    }
}

fn requests(s: &Scenario, ctx: &mut Ctx) -> Option<Vec<RequestPlan>> {
    if s.requests.is_empty() {
        ctx.diags.error_hint(
            "requests",
            "the scenario has no requests",
            "add at least one: { name: home, path: / }",
        );
        return None;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Some(Vec::new());
    for (i, r) in s.requests.iter().enumerate() {
        let p = format!("requests[{i}]");
        if !services::valid_id(&r.name) {
            ctx.diags.error(
                &format!("{p}.name"),
                format!(
                    "`{}` is not a valid request name; use letters, digits, `-` and `_`",
                    r.name
                ),
            );
        }
        if !seen.insert(r.name.clone()) {
            ctx.diags.error(
                &format!("{p}.name"),
                format!("request name `{}` is used twice", r.name),
            );
        }
        let method = match r.method.as_deref().map(str::to_ascii_uppercase) {
            None => Some(http::Method::GET),
            Some(m) if METHODS.contains(&m.as_str()) => http::Method::from_bytes(m.as_bytes()).ok(),
            Some(m) => {
                ctx.diags.error(
                    &format!("{p}.method"),
                    format!(
                        "`{m}` is not an HTTP method golive sends; use one of {}",
                        METHODS.join(", ")
                    ),
                );
                None
            }
        };
        if !r.path.starts_with('/') && !r.path.starts_with('{') {
            ctx.diags.error(
                &format!("{p}.path"),
                format!("`{}` must start with `/`", r.path),
            );
        }
        let path = ctx.template(&format!("{p}.path"), &r.path, false);
        let headers: Option<Vec<_>> = r
            .headers
            .iter()
            .map(|(k, v)| {
                super::header_value_ok(ctx, &format!("{p}.headers.{k}"), v);
                ctx.template(&format!("{p}.headers.{k}"), v, false)
                    .map(|t| (k.clone(), t))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let body = r
            .body
            .as_ref()
            .and_then(|b| ctx.template(&format!("{p}.body"), b, false));
        let ws = r.protocol == Some(crate::spec::Protocol::Websocket);
        let websocket = if ws {
            conversation(ctx, &p, r, s.timeout.unwrap_or(defaults::HTTP_TIMEOUT))
        } else {
            for (field, given) in [
                ("send", r.send.is_some()),
                ("open", !r.open.is_empty()),
                ("steps", !r.steps.is_empty()),
                ("framing", r.framing.is_some()),
            ] {
                if given {
                    ctx.diags.error_hint(
                        &format!("{p}.{field}"),
                        format!("`{field}` is for websocket requests"),
                        format!("add protocol: websocket, or remove {field}"),
                    );
                }
            }
            None
        };
        if ws && (r.method.is_some() || r.body.is_some()) {
            ctx.diags.error(
                &p,
                "a websocket request has no method or body; it sends its steps' texts",
            );
        }
        // A websocket request's expectations are its steps'.
        let expect = if ws {
            Some(Vec::new())
        } else {
            checks::expectations(ctx, &p, &r.expect, KindSubjects::Http)
        };
        let send_ok = !ws || websocket.is_some();
        match (method, path, headers, expect, out.as_mut()) {
            (Some(method), Some(path), Some(headers), Some(expect), Some(v)) if send_ok => {
                v.push(RequestPlan {
                    name: r.name.clone(),
                    weight: r.weight.unwrap_or(1),
                    websocket: websocket.clone(),
                    method,
                    path,
                    headers,
                    body,
                    expect,
                })
            }
            _ => out = None,
        }
    }
    if s.requests
        .iter()
        .map(|r| u64::from(r.weight.unwrap_or(1)))
        .sum::<u64>()
        == 0
    {
        ctx.diags.error_hint(
            "requests",
            "the request weights add up to 0, so no request could ever be sent",
            "give at least one request a weight above 0",
        );
        return None;
    }
    out
}

/// A websocket request's conversation: `send` + `expect` as one repeated step, or
/// `open` (once per connection) and `steps` (per round trip).
fn conversation(
    ctx: &mut Ctx,
    p: &str,
    r: &crate::spec::RequestSpec,
    timeout: Duration,
) -> Option<crate::load::Conversation> {
    use super::conversation as plan;
    ctx.captured.clear();
    let mut taken = Vec::new();
    let open = plan::steps(ctx, &format!("{p}.open"), &r.open, timeout, 0, &mut taken);
    let one_message = r.send.is_some() || !r.expect.is_empty();
    let steps = match (r.steps.is_empty(), one_message) {
        (true, true) => plan::one_message(ctx, p, r.send.as_ref(), &r.expect, timeout),
        (true, false) => {
            ctx.diags.error_hint(
                p,
                "a websocket request needs what each round trip says",
                "add `send` (and `expect`), or `steps`, e.g. send: ping",
            );
            None
        }
        (false, true) => {
            ctx.diags.error_hint(
                p,
                "`send`/`expect` and `steps` both describe the round trip",
                "move `send` and `expect` into a step of `steps`",
            );
            None
        }
        (false, false) => plan::steps(
            ctx,
            &format!("{p}.steps"),
            &r.steps,
            timeout,
            r.open.len(),
            &mut taken,
        ),
    };
    ctx.captured.clear();
    Some(crate::load::Conversation {
        framing: plan::framing(r.framing),
        open: open?,
        steps: steps?,
    })
}

fn stages_ok(ctx: &mut Ctx, path: &str, stages: &[Stage]) -> bool {
    let mut ok = true;
    if stages.is_empty() {
        ctx.diags.error_hint(
            path,
            "there are no stages",
            "add stages such as [{ duration: 30s, target: 100/s }]",
        );
        return false;
    }
    for (i, s) in stages.iter().enumerate() {
        if s.secs <= 0.0 {
            ctx.diags.error(
                &format!("{path}[{i}].duration"),
                "a stage lasts longer than 0s",
            );
            ok = false;
        }
    }
    if ok && stages.iter().all(|s| s.from <= 0.0 && s.to <= 0.0) {
        ctx.diags.error(
            path,
            "every stage is at zero, so the load would send nothing",
        );
        ok = false;
    }
    ok
}

fn profile(e: &ExecutorSpec, ctx: &mut Ctx) -> Option<Profile> {
    let p = "executor";
    let bounds = |ctx: &mut Ctx, m: Option<u32>, c: Option<u32>| {
        let m = m.unwrap_or(defaults::MAX_IN_FLIGHT);
        let c = c.unwrap_or(defaults::CONNECTIONS.min(m));
        if m == 0 {
            ctx.diags.error(
                &format!("{p}.max_in_flight"),
                "max_in_flight must be at least 1",
            );
        }
        if m > defaults::MAX_LOAD_WORKERS {
            ctx.diags.error(
                &format!("{p}.max_in_flight"),
                format!("max_in_flight is at most {}", defaults::MAX_LOAD_WORKERS),
            );
        } else if m > 0 && (c == 0 || c > m) {
            ctx.diags.error(
                &format!("{p}.connections"),
                format!("connections must be between 1 and max_in_flight ({m})"),
            );
        }
        (m, c)
    };
    // Closed model: every user is a worker the engine prepares before the start.
    let users_ok = |ctx: &mut Ctx, path: String, users: u32| {
        let ok = users <= defaults::MAX_LOAD_WORKERS;
        if !ok {
            ctx.diags.error(
                &path,
                format!(
                    "{users} users is more than one load run drives (at most {})",
                    defaults::MAX_LOAD_WORKERS
                ),
            );
        }
        ok
    };
    match e {
        ExecutorSpec::ConstantRate(c) => {
            let stages = vec![Stage {
                secs: c.duration.as_secs_f64(),
                from: c.rate.per_second(),
                to: c.rate.per_second(),
            }];
            let (max_in_flight, connections) = bounds(ctx, c.max_in_flight, c.connections);
            stages_ok(ctx, &format!("{p}.duration"), &stages).then_some(Profile::Open {
                stages,
                max_in_flight,
                connections,
            })
        }
        ExecutorSpec::RampingRate(c) => {
            let mut from = c
                .start_rate
                .map(|r| r.per_second())
                .or(c.stages.first().map(|s| s.target.per_second()))
                .unwrap_or(0.0);
            let stages: Vec<Stage> = c
                .stages
                .iter()
                .map(|s| {
                    let st = Stage {
                        secs: s.duration.as_secs_f64(),
                        from,
                        to: s.target.per_second(),
                    };
                    from = st.to;
                    st
                })
                .collect();
            let (max_in_flight, connections) = bounds(ctx, c.max_in_flight, c.connections);
            stages_ok(ctx, &format!("{p}.stages"), &stages).then_some(Profile::Open {
                stages,
                max_in_flight,
                connections,
            })
        }
        ExecutorSpec::ConstantUsers(c) => {
            if c.users == 0 {
                ctx.diags
                    .error(&format!("{p}.users"), "users must be at least 1");
                return None;
            }
            if !users_ok(ctx, format!("{p}.users"), c.users) {
                return None;
            }
            let stages = vec![Stage {
                secs: c.duration.as_secs_f64(),
                from: f64::from(c.users),
                to: f64::from(c.users),
            }];
            stages_ok(ctx, &format!("{p}.duration"), &stages).then_some(Profile::Closed {
                stages,
                think_time: c.think_time.unwrap_or(Duration::ZERO),
            })
        }
        ExecutorSpec::RampingUsers(c) => {
            let mut ok = users_ok(ctx, format!("{p}.start_users"), c.start_users.unwrap_or(0));
            for (i, s) in c.stages.iter().enumerate() {
                ok &= users_ok(ctx, format!("{p}.stages[{i}].target"), s.target);
            }
            if !ok {
                return None;
            }
            let mut from = f64::from(c.start_users.unwrap_or(0));
            let stages: Vec<Stage> = c
                .stages
                .iter()
                .map(|s| {
                    let st = Stage {
                        secs: s.duration.as_secs_f64(),
                        from,
                        to: f64::from(s.target),
                    };
                    from = st.to;
                    st
                })
                .collect();
            stages_ok(ctx, &format!("{p}.stages"), &stages).then_some(Profile::Closed {
                stages,
                think_time: c.think_time.unwrap_or(Duration::ZERO),
            })
        }
    }
}

/// Splits `NAME.metric` into the request index and a comparison on `metric` alone.
fn scoped(
    ctx: &mut Ctx,
    path: &str,
    c: &Comparison,
    names: &[String],
) -> Option<(Option<usize>, Comparison)> {
    match c.subject.as_slice() {
        [PathSeg::Key(_)] => Some((None, c.clone())),
        [PathSeg::Key(req), PathSeg::Key(metric)] => match names.iter().position(|n| n == req) {
            Some(i) => {
                let mut inner = c.clone();
                inner.subject = vec![PathSeg::Key(metric.clone())];
                Some((Some(i), inner))
            }
            None => {
                let hint = crate::diag::did_you_mean(req, names.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("requests: {}", names.join(", ")));
                ctx.diags.error_at_offset(
                    path,
                    c.subject_at,
                    format!("unknown request `{req}`; {hint}"),
                );
                None
            }
        },
        _ => {
            ctx.diags.error_at_offset(
                path,
                c.subject_at,
                format!("`{}` is not a metric or REQUEST.metric", c.subject_text()),
            );
            None
        }
    }
}

/// Whether `text` is a claim on `recovery_time` (judged on drills, not on requests).
/// Text that does not parse is left to the criterion parser, which says why.
pub(super) fn is_recovery_time(text: &str) -> bool {
    crate::expr::parse(text)
        .is_ok_and(|c| matches!(c.subject.as_slice(), [PathSeg::Key(k)] if k == "recovery_time"))
}

/// `recovery_time < 10s`: only `<` and `<=` with a duration, and only with drills.
pub(super) fn recovery_threshold(
    ctx: &mut Ctx,
    path: &str,
    text: &str,
    has_faults: bool,
) -> Option<RecoveryThreshold> {
    let c = match crate::expr::parse(text) {
        Ok(c) => c,
        Err(e) => {
            ctx.diags.error_at_offset(path, e.offset, e.message);
            return None;
        }
    };
    if !matches!(c.op, Op::Lt | Op::Le) {
        ctx.diags.error_at_offset(
            path,
            c.op_at,
            format!("`recovery_time` takes `<` or `<=`, not `{}`", c.op),
        );
        return None;
    }
    let Value::Duration(limit) = c.value else {
        ctx.diags.error_at_offset(
            path,
            c.value_at,
            "`recovery_time` is compared with a duration, e.g. `recovery_time < 10s`",
        );
        return None;
    };
    if !has_faults {
        ctx.diags.error_hint(
            path,
            "`recovery_time` needs a fault drill",
            "add `faults: [{ at: 10s, service: app, action: kill }]`",
        );
        return None;
    }
    Some(RecoveryThreshold {
        text: text.to_string(),
        op: c.op,
        limit,
    })
}

/// Validates fault drills; `prefix` locates them (`""` in a scenario, the item's
/// `check.` path in a checklist).
pub(super) fn faults(
    ctx: &mut Ctx,
    prefix: &str,
    specs: &[FaultSpec],
    duration: Option<Duration>,
) -> Vec<Fault> {
    let mut out = Vec::new();
    for (i, f) in specs.iter().enumerate() {
        let path = format!("{prefix}faults[{i}]");
        if !ctx.services.contains_key(&f.service) {
            let hint =
                crate::diag::did_you_mean(&f.service, ctx.services.keys().map(String::as_str))
                    .unwrap_or_else(|| "declare it under `services:`".to_string());
            ctx.diags.undeclared_service(
                &format!("{path}.service"),
                &f.service,
                format!("`{}` is not a declared service; {hint}", f.service),
            );
            continue;
        }
        if let Some(d) = duration {
            if f.at >= d {
                ctx.diags.error_hint(
                    &format!("{path}.at"),
                    format!("the drill at {} comes after the load ends ({d})", f.at),
                    "drill while the load runs",
                );
                continue;
            }
        }
        let set = match (f.action, f.set.is_empty()) {
            (FaultAction::Inject, true) => {
                ctx.diags.error_hint(
                    &path,
                    "`inject` needs the faults to set",
                    "add `set: { latency: 300ms, errors: 30% }`",
                );
                continue;
            }
            (FaultAction::Inject, false) => {
                let body = serde_json::json!(f.set);
                if let Err(e) = serde_json::from_value::<crate::faults::Faults>(body.clone()) {
                    ctx.diags.error_hint(
                        &format!("{path}.set"),
                        format!("not faults the reference system accepts: {e}"),
                        crate::faults::ACCEPTED,
                    );
                    continue;
                }
                Some(body)
            }
            (_, false) => {
                ctx.diags.error(
                    &format!("{path}.set"),
                    "`set` applies only to `action: inject`",
                );
                continue;
            }
            (_, true) => None,
        };
        let lasts = f.lasts.unwrap_or(match f.action {
            FaultAction::Pause => defaults::PAUSE_FOR,
            _ => Duration::ZERO,
        });
        out.push(Fault {
            at: f.at,
            service: f.service.clone(),
            action: f.action,
            lasts,
            set,
        });
    }
    out
}

fn threshold(ctx: &mut Ctx, path: &str, text: &str, names: &[String]) -> Option<Threshold> {
    let c = match crate::expr::parse(text) {
        Ok(c) => c,
        Err(e) => {
            ctx.diags.error_at_offset(path, e.offset, e.message);
            return None;
        }
    };
    let (request, inner) = scoped(ctx, path, &c, names)?;
    match criteria::build(text, &inner) {
        Ok(criterion) => Some(Threshold { request, criterion }),
        Err((offset, message)) => {
            ctx.diags.error_at_offset(path, offset, message);
            None
        }
    }
}

/// A rule at `at` (`rollback[0]`, `monitor.rules[1]`): its condition parsed, its
/// windows checked. Shared by the load's rollback rules and the monitor's alert rules.
pub(super) fn rule(
    ctx: &mut Ctx,
    at: &str,
    r: &crate::spec::RuleSpec,
    names: &[String],
) -> Option<Rule> {
    let path = format!("{at}.when");
    let c = match crate::expr::parse(&r.when) {
        Ok(c) => c,
        Err(e) => {
            ctx.diags.error_at_offset(&path, e.offset, e.message);
            return None;
        }
    };
    let (request, inner) = scoped(ctx, &path, &c, names)?;
    let metric_name = inner.subject_text();
    let bad = |ctx: &mut Ctx, at: usize, m: String| {
        ctx.diags.error_at_offset(&path, at, m);
        None
    };
    if !matches!(inner.op, Op::Gt | Op::Ge | Op::Lt | Op::Le) {
        return bad(
            ctx,
            c.op_at,
            "a rule compares with >, >=, < or <= (it states the breach)".into(),
        );
    }
    let (metric, threshold) = match (metric_name.as_str(), &inner.value) {
        ("error_rate", Value::Percent(p)) => (RuleMetric::ErrorRate, p.fraction()),
        ("rps", Value::Rate(r)) => (RuleMetric::Rps, r.per_second()),
        ("mean", Value::Duration(d)) => (RuleMetric::Mean, d.as_micros() as f64),
        (m, Value::Duration(d)) if m.starts_with('p') => match crate::criteria::quantile_of(m) {
            Some(q) => (RuleMetric::Quantile(q), d.as_micros() as f64),
            None => {
                return bad(
                    ctx,
                    c.subject_at,
                    format!("unknown metric `{m}`; rules watch pNN, mean, error_rate or rps"),
                )
            }
        },
        ("error_rate", v) => {
            return bad(
                ctx,
                c.value_at,
                format!(
                    "error_rate needs a percentage such as `5%`, not {}",
                    v.kind()
                ),
            )
        }
        ("rps", v) => {
            return bad(
                ctx,
                c.value_at,
                format!("rps needs a rate such as `50/s`, not {}", v.kind()),
            )
        }
        (m, Value::Number(n)) if m.starts_with('p') || m == "mean" => {
            return bad(
                ctx,
                c.value_at,
                format!(
                    "`{n}` has no unit; {m} is a latency: write it with ms or s (e.g. `{n}ms`)"
                ),
            )
        }
        (m, _) => {
            return bad(
                ctx,
                c.subject_at,
                format!("unknown metric `{m}`; rules watch pNN, mean, error_rate or rps"),
            )
        }
    };
    let window = r.window.unwrap_or(defaults::RULE_WINDOW);
    if window < defaults::MIN_RULE_WINDOW {
        ctx.diags.error(
            &format!("{at}.window"),
            format!(
                "a window shorter than {} has too few requests to judge",
                defaults::MIN_RULE_WINDOW
            ),
        );
    }
    if r.for_ < window {
        ctx.diags.error_hint(
            &format!("{at}.for"),
            format!("`for: {}` is shorter than one window ({window})", r.for_),
            "make `for` at least one window long",
        );
    }
    Some(Rule {
        name: r.name.clone().unwrap_or_else(|| r.when.trim().to_string()),
        when: r.when.trim().to_string(),
        request,
        metric,
        op: inner.op,
        threshold,
        for_: r.for_,
        window,
        min_samples: r.min_samples.unwrap_or(defaults::RULE_MIN_SAMPLES),
        no_data: r.no_data.unwrap_or(NoData::Ignore),
        clear_for: r.clear_for.unwrap_or(r.for_),
        observe_only: r.observe_only.unwrap_or(false),
    })
}
