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
