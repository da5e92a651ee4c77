//! Validates service declarations into [`ServicePlan`]s.

use super::{defaults, Ctx};
use crate::services::{ContainerForm, ExternalForm, ProcessForm, ReadyProbe, ServicePlan};
use crate::spec::{ContainerSpec, ReadySpec, Service};
use crate::template::{FormPorts, Template};
use std::collections::BTreeMap;

pub fn build(name: &str, spec: &Service, ctx: &mut Ctx) -> Option<ServicePlan> {
    let path = format!("services.{name}");
    if !valid_id(name) {
        ctx.diags.error(
            &path,
            format!("`{name}` is not a valid service name; use letters, digits, `-` and `_`"),
        );
    }
    if spec.process.is_none() && spec.external.is_none() && spec.container.is_none() {
        ctx.diags.error_hint(
            &path,
            format!("service `{name}` has no form golive can run"),
            "add `container: { image: ..., port: ... }`, `process: { command: [...] }` or `external: { url: ... }`",
        );
        return None;
    }
    // Validated now, unwrapped at the end, so the other fields are checked too.
    let container = spec
        .container
        .as_ref()
        .map(|c| container(&format!("{path}.container"), c, ctx));
    let process = match &spec.process {
        None => None,
        Some(p) => {
            let pp = format!("{path}.process");
            let names = p.ports.clone().unwrap_or_default();
            let named_ok = super::ports::process(&format!("{pp}.ports"), p.ports.as_deref(), ctx);
            let own = [FormPorts {
                form: "process",
                names: names.clone(),
            }];
            if p.command.is_empty() {
                ctx.diags.error_hint(
                    &format!("{pp}.command"),
                    "the command is empty",
                    "give the program and its arguments",
                );
                return None;
            }
            let command = templates(&format!("{pp}.command"), &p.command, &own, ctx);
            let env = env_templates(&pp, &p.env, &own, ctx);
            let url = ctx.own_template(
                &format!("{pp}.url"),
                p.url.as_deref().unwrap_or(defaults::PROCESS_URL),
                true,
                &own,
            );
            let cwd = match &p.cwd {
                Some(c) => ctx.existing_file(&format!("{pp}.cwd"), c),
                None => Some(ctx.base_dir.clone()),
            };
            if !named_ok {
                return None;
            }
            Some(ProcessForm {
                command: command?,
                env: env?,
                cwd: cwd?,
                url: url?,
                ports: names,
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
        Some(ReadySpec::Log { line }) => {
            if line.is_empty() {
                ctx.diags.error(
                    &format!("{path}.ready.line"),
                    "the line to wait for is empty",
                );
            }
            ReadyProbe::Log { line: line.clone() }
        }
        Some(ReadySpec::Command { command }) => {
            let cp = format!("{path}.ready.command");
            if command.is_empty() {
                ctx.diags.error_hint(
                    &cp,
                    "the command is empty",
                    "give the program and its arguments",
                );
                return None;
            }
            // The probe runs with whichever form runs, so it sees the names all declare.
            let own = ctx.services.get(name).cloned().unwrap_or_default();
            let argv: Option<Vec<Template>> = templates(&cp, command, &own, ctx);
            ReadyProbe::Command { argv: argv? }
        }
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
    let container = match container {
        None => None,
        Some(c) => Some(c?),
    };
    let mut own = Vec::new();
    if let Some(p) = &process {
        own.extend(form_templates(
            &format!("{path}.process"),
            &p.url,
            &p.command,
            &p.env,
        ));
    }
    if let Some(c) = &container {
        own.extend(form_templates(
            &format!("{path}.container"),
            &c.url,
            &c.command,
            &c.env,
        ));
    }
    if let Some(e) = &external {
        own.push((format!("{path}.external.url"), &e.url));
    }
    let mut itself = false;
    for (at, t) in own {
        if t.services().any(|s| s == name) {
            ctx.diags.error_hint(
                &at,
                format!("service `{name}` refers to its own address, which is known only once it runs"),
                "inside its own declaration use `{port}` or `{ports.NAME}` (processes and containers) or write the address out",
            );
            itself = true;
        }
    }
    if itself {
        return None;
    }
    Some(ServicePlan {
        name: name.to_string(),
        container,
        process,
        external,
        ready,
        startup_timeout,
        restart: spec.restart.unwrap_or_default(),
    })
}

/// A form's url, command and env templates, each with its YAML path.
fn form_templates<'a>(
    path: &str,
    url: &'a Template,
    command: &'a [Template],
    env: &'a [(String, Template)],
) -> Vec<(String, &'a Template)> {
    let mut all = vec![(format!("{path}.url"), url)];
    all.extend(
        command
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("{path}.command[{i}]"), t)),
    );
    all.extend(env.iter().map(|(k, t)| (format!("{path}.env.{k}"), t)));
    all
}

fn templates(
    path: &str,
    args: &[String],
    own: &[FormPorts],
    ctx: &mut Ctx,
) -> Option<Vec<Template>> {
    args.iter()
        .enumerate()
        .map(|(i, a)| ctx.own_template(&format!("{path}[{i}]"), a, true, own))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

fn env_templates(
    path: &str,
    env: &BTreeMap<String, String>,
    own: &[FormPorts],
    ctx: &mut Ctx,
) -> Option<Vec<(String, Template)>> {
    env.iter()
        .map(|(k, v)| {
            ctx.own_template(&format!("{path}.env.{k}"), v, true, own)
                .map(|t| (k.clone(), t))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

fn container(path: &str, c: &ContainerSpec, ctx: &mut Ctx) -> Option<ContainerForm> {
    let mut ok = true;
    let (repo, tag) = match c
        .image
        .rsplit_once(':')
        .filter(|(r, t)| !r.is_empty() && !t.is_empty() && !t.contains('/'))
    {
        Some((r, t)) => (r.to_string(), t.to_string()),
        None => {
            ctx.diags.error_hint(
                &format!("{path}.image"),
                format!("`{}` has no tag", c.image),
                "write the image as `name:tag`, e.g. `golive/reference:0.1.0`; images are never pulled, so the tag must name one built here",
            );
            ok = false;
            (String::new(), String::new())
        }
    };
    if c.image.contains('@') {
        ctx.diags.error_hint(
            &format!("{path}.image"),
            format!("`{}` names a digest", c.image),
            "name the image by `name:tag`",
        );
        ok = false;
    }
    let (named, ports_ok) = super::ports::container(path, c, ctx);
    ok &= ports_ok;
    if c.host_port == Some(0) {
        ctx.diags.error_hint(
            &format!("{path}.host_port"),
            "the host port must be 1 to 65535",
            "leave `host_port` out to let golive pick a free port",
        );
        ok = false;
    }
    if let Some(cpus) = c.cpus {
        if !(cpus.is_finite() && cpus > 0.0 && cpus <= 1024.0) {
            ctx.diags.error_hint(
                &format!("{path}.cpus"),
                format!("`{cpus}` is not a CPU limit"),
                "give cores as a positive number, e.g. `0.5` or `2`",
            );
            ok = false;
        }
    }
    if let Some(m) = c.memory {
        if m.bytes() < 6 * 1024 * 1024 {
            ctx.diags.error_hint(
                &format!("{path}.memory"),
                format!("`{m}` is below Docker's 6MB minimum"),
                "give a limit such as `256MB`",
            );
            ok = false;
        }
    }
    let own = [FormPorts {
        form: "container",
        names: named.iter().map(|(n, _)| n.clone()).collect(),
    }];
    let command = templates(&format!("{path}.command"), &c.command, &own, ctx);
    let env = env_templates(path, &c.env, &own, ctx);
    let url = ctx.own_template(
        &format!("{path}.url"),
        c.url.as_deref().unwrap_or(defaults::PROCESS_URL),
        true,
        &own,
    );
    if !ok {
        return None;
    }
    Some(ContainerForm {
        repository: repo,
        tag,
        command: command?,
        env: env?,
        // `{port}` is the first named port when the ports are named.
        port: c
            .port
            .or(named.first().map(|(_, p)| *p))
            .unwrap_or_default(),
        named_ports: named,
        host_port: c.host_port,
        cpus: c.cpus,
        memory: c.memory,
        url: url?,
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
