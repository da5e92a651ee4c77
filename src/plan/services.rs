//! Validates service declarations into [`ServicePlan`]s.

use super::template::Template;
use super::{defaults, Ctx};
use crate::services::{ExternalForm, ProcessForm, ReadyProbe, ServicePlan};
use crate::spec::{ReadySpec, Service};

pub fn build(name: &str, spec: &Service, ctx: &mut Ctx) -> Option<ServicePlan> {
    let path = format!("services.{name}");
    if !valid_id(name) {
        ctx.diags.error(
            &path,
            format!("`{name}` is not a valid service name; use letters, digits, `-` and `_`"),
        );
    }
    if spec.process.is_none() && spec.external.is_none() {
        let hint = if spec.image.is_some() {
            "this version runs services as local processes or reaches external URLs; add a `process:` form (container images arrive with the Docker provider)"
        } else {
            "add `process: { command: [...] }` or `external: { url: ... }`"
        };
        ctx.diags.error_hint(
            &path,
            format!("service `{name}` has no form golive can run"),
            hint,
        );
        return None;
    }
    let process = match &spec.process {
        None => None,
        Some(p) => {
            let pp = format!("{path}.process");
            if p.command.is_empty() {
                ctx.diags.error_hint(
                    &format!("{pp}.command"),
                    "the command is empty",
                    "give the program and its arguments",
                );
                return None;
            }
            let command: Option<Vec<Template>> = p
                .command
                .iter()
                .enumerate()
                .map(|(i, a)| ctx.template(&format!("{pp}.command[{i}]"), a, true))
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            let env: Option<Vec<(String, Template)>> = p
                .env
                .iter()
                .map(|(k, v)| {
                    ctx.template(&format!("{pp}.env.{k}"), v, true)
                        .map(|t| (k.clone(), t))
                })
                .collect::<Vec<_>>()
                .into_iter()
                .collect();
            let url = ctx.template(
                &format!("{pp}.url"),
                p.url.as_deref().unwrap_or(defaults::PROCESS_URL),
                true,
            );
            let cwd = match &p.cwd {
                Some(c) => ctx.existing_file(&format!("{pp}.cwd"), c),
                None => Some(ctx.base_dir.clone()),
            };
            Some(ProcessForm {
                command: command?,
                env: env?,
                cwd: cwd?,
                url: url?,
            })
        }
    };
    let external = match &spec.external {
        None => None,
        Some(e) => {
            let ep = format!("{path}.external.url");
            let t = ctx.template(&ep, &e.url, false)?;
            if !(e.url.starts_with("http://") || e.url.starts_with("https://")) {
                ctx.diags.error(
                    &ep,
                    format!("`{}` is not an absolute http:// or https:// URL", e.url),
                );
                return None;
            }
            Some(ExternalForm { url: t })
        }
    };
    let ready = match &spec.ready {
        None => ReadyProbe::Tcp,
        Some(ReadySpec::Tcp {}) => ReadyProbe::Tcp,
        Some(ReadySpec::Http { path: p }) => {
            if !p.starts_with('/') {
                ctx.diags.error(
                    &format!("{path}.ready.path"),
                    format!("`{p}` must start with `/`"),
                );
            }
            ReadyProbe::Http { path: p.clone() }
        }
    };
    let startup_timeout = spec.startup_timeout.unwrap_or(defaults::STARTUP_TIMEOUT);
    Some(ServicePlan {
        name: name.to_string(),
        process,
        external,
        ready,
        startup_timeout,
    })
}

/// Identifiers: letters, digits, `-`, `_`, starting with a letter or digit.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Orders services so that each starts after everything it `depends_on`; reports unknown
/// names and cycles at the `depends_on` entry that causes them.
pub fn start_order(
    plans: Vec<ServicePlan>,
    specs: &std::collections::BTreeMap<String, Service>,
    ctx: &mut Ctx,
) -> Vec<ServicePlan> {
    let mut ok = true;
    for (name, spec) in specs {
        for (i, dep) in spec.depends_on.iter().enumerate() {
            if !specs.contains_key(dep) {
                let hint = crate::diag::did_you_mean(dep, specs.keys().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!(
                            "declared services: {}",
                            specs.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    });
                ctx.diags.error(
                    &format!("services.{name}.depends_on[{i}]"),
                    format!("`{dep}` is not a declared service; {hint}"),
                );
                ok = false;
            } else if dep == name {
                ctx.diags.error(
                    &format!("services.{name}.depends_on[{i}]"),
                    format!("`{name}` cannot depend on itself"),
                );
                ok = false;
            }
        }
    }
    if !ok {
        return plans;
    }
    // Depth-first, in name order, so the order is stable; a name met again while still
    // on the path closes a cycle.
    let mut order: Vec<String> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    fn visit(
        name: &str,
        specs: &std::collections::BTreeMap<String, Service>,
        order: &mut Vec<String>,
        path: &mut Vec<String>,
        ctx: &mut Ctx,
    ) -> bool {
        if order.iter().any(|n| n == name) {
            return true;
        }
        if let Some(at) = path.iter().position(|n| n == name) {
            let cycle: Vec<&str> = path[at..]
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(name))
                .collect();
            let from = path.last().cloned().unwrap_or_default();
            let i = specs[&from]
                .depends_on
                .iter()
                .position(|d| d == name)
                .unwrap_or(0);
            ctx.diags.error_hint(
                &format!("services.{from}.depends_on[{i}]"),
                format!("`depends_on` makes a cycle: {}", cycle.join(" → ")),
                "remove one of these dependencies",
            );
            return false;
        }
        path.push(name.to_string());
        let mut ok = true;
        for dep in &specs[name].depends_on {
            ok &= visit(dep, specs, order, path, ctx);
            if !ok {
                break;
            }
        }
        path.pop();
        if ok {
            order.push(name.to_string());
        }
        ok
    }
    for name in specs.keys() {
        if !visit(name, specs, &mut order, &mut path, ctx) {
            return plans;
        }
    }
    let mut plans = plans;
    plans.sort_by_key(|p| {
        order
            .iter()
            .position(|n| *n == p.name)
            .unwrap_or(usize::MAX)
    });
    plans
}
