//! Named ports: the names each service's forms declare (read before any template, so
//! `{services.S.ports.NAME}` can be checked anywhere), and the `ports:` of a process
//! (a list of names) or a container (names to container ports, or the one `port`).

use super::Ctx;
use crate::spec::{ContainerSpec, Service, MAX_PORTS};
use crate::template::{Declared, FormPorts};
use std::collections::BTreeMap;

/// Every declared service with the port names of each of its forms, read before any
/// template is parsed so that `{services.S.ports.NAME}` can be checked anywhere.
pub fn declared(specs: &BTreeMap<String, Service>) -> Declared {
    specs
        .iter()
        .map(|(name, s)| {
            let mut forms = Vec::new();
            if let Some(p) = &s.process {
                forms.push(FormPorts {
                    form: "process",
                    names: p.ports.clone().unwrap_or_default(),
                });
            }
            if let Some(c) = &s.container {
                forms.push(FormPorts {
                    form: "container",
                    names: c
                        .ports
                        .iter()
                        .flat_map(|p| p.0.iter().map(|(n, _)| n.clone()))
                        .collect(),
                });
            }
            if s.external.is_some() {
                forms.push(FormPorts {
                    form: "external",
                    names: Vec::new(),
                });
            }
            (name.clone(), forms)
        })
        .collect()
}

/// Validates a process's `ports:` names, `None` when it gives none; true when valid.
pub fn process(path: &str, ports: Option<&[String]>, ctx: &mut Ctx) -> bool {
    match ports {
        None => true,
        Some(ports) => names(
            path,
            ports
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("[{i}]"), n.as_str())),
            ctx,
        ),
    }
}

/// Validates a container's `port`, `ports` and, with `ports`, `host_port`; returns the
/// named ports in the order written (empty with `port`) and whether all is valid.
pub fn container(path: &str, c: &ContainerSpec, ctx: &mut Ctx) -> (Vec<(String, u16)>, bool) {
    let mut ok = true;
    let named: Vec<(String, u16)> = c.ports.as_ref().map(|p| p.0.clone()).unwrap_or_default();
    match (c.port, &c.ports) {
        (Some(_), Some(_)) => {
            ctx.diags.error_hint(
                &format!("{path}.ports"),
                "`port` and `ports` are both given",
                "keep `port` for one unnamed port, or drop it and name every port under `ports`, e.g. `ports: {api: 5002, web: 3000}`",
            );
            ok = false;
        }
        (None, None) => {
            ctx.diags.error_hint(
                path,
                "the container has no port",
                "add `port: 8080`, or `ports: {api: 5002, web: 3000}` for several",
            );
            ok = false;
        }
        (Some(0), None) => {
            ctx.diags.error(
                &format!("{path}.port"),
                "the container port must be 1 to 65535",
            );
            ok = false;
        }
        (Some(_), None) => {}
        (None, Some(_)) => {
            ok &= names(
                &format!("{path}.ports"),
                named.iter().map(|(n, _)| (format!(".{n}"), n.as_str())),
                ctx,
            );
            for (i, (n, p)) in named.iter().enumerate() {
                if *p == 0 {
                    ctx.diags.error(
                        &format!("{path}.ports.{n}"),
                        "the container port must be 1 to 65535",
                    );
                    ok = false;
                } else if let Some((other, _)) = named[..i].iter().find(|(_, q)| q == p) {
                    ctx.diags.error_hint(
                        &format!("{path}.ports.{n}"),
                        format!("`{n}` and `{other}` both name container port {p}"),
                        "give each name its own container port",
                    );
                    ok = false;
                }
            }
            if c.host_port.is_some() {
                ctx.diags.error_hint(
                    &format!("{path}.host_port"),
                    "`host_port` goes with `port`, not with `ports`",
                    "leave `host_port` out: golive publishes each named port on a free host port",
                );
                ok = false;
            }
        }
    }
    (named, ok)
}

/// Checks the port names of a form (`at` is each name's YAML path below `path`):
/// lowercase identifiers, each once, at least one and at most [`MAX_PORTS`].
fn names<'a>(path: &str, names: impl Iterator<Item = (String, &'a str)>, ctx: &mut Ctx) -> bool {
    let mut ok = true;
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (at, name) in names {
        let here = format!("{path}{at}");
        let mut chars = name.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            ctx.diags.error_hint(
                &here,
                format!("`{name}` is not a port name"),
                "use a lowercase identifier: a letter a-z, then a-z, 0-9 or `_`, e.g. `api`",
            );
            ok = false;
        }
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            ctx.diags.error_hint(
                &here,
                format!("the port name `{name}` is also given at `{first}`"),
                "give each port its own name",
            );
            ok = false;
        }
        seen.push((name, format!("ports{at}")));
    }
    if seen.is_empty() {
        ctx.diags.error_hint(
            path,
            "`ports` names no port",
            "name at least one, e.g. `ports: [api, web]`, or leave `ports` out for one unnamed `{port}`",
        );
        ok = false;
    } else if seen.len() > MAX_PORTS {
        ctx.diags.error_hint(
            path,
            format!(
                "{} ports are more than the {MAX_PORTS} a service may name",
                seen.len()
            ),
            "name only the ports checks or other services use",
        );
        ok = false;
    }
    ok
}

#[cfg(test)]
mod tests {
    use crate::diag::LocationIndex;
    use crate::spec::{Checklist, Source};

    /// Plans a checklist with `services` and one check on `url`.
    fn plan(services: &str, url: &str) -> Result<crate::plan::Plan, Vec<String>> {
        let text = format!(
            "system: s\nservices:\n{services}\nphases:\n  - id: p\n    title: p\n    items:\n      - id: i\n        title: i\n        check: {{ kind: http, url: \"{url}\" }}\n"
        );
        let checklist: Checklist = crate::diag::yaml::from_str(&text).expect("spec");
        let source = Source {
            path: "checklist.yaml".into(),
            index: LocationIndex::build(&text),
            text,
        };
        crate::plan::build(&checklist, &source).map_err(|d| {
            d.into_iter()
                .map(|d| format!("{}: {}", d.path, d.message))
                .collect()
        })
    }

    #[test]
    fn named_ports_plan_in_the_order_written() {
        let p = plan(
            "  app:\n    process:\n      ports: [web, api]\n      command: [x, \"{ports.api}\", \"{ports.web}\"]\n    container:\n      image: \"i:1\"\n      ports: { web: 3000, api: 5002 }\n      command: [\"{port}\"]",
            "http://127.0.0.1:{services.app.ports.api}/",
        )
        .unwrap();
        let s = &p.services[0];
        assert_eq!(s.process.as_ref().unwrap().ports, ["web", "api"]);
        let c = s.container.as_ref().unwrap();
        assert_eq!(
            c.named_ports,
            [("web".to_string(), 3000), ("api".to_string(), 5002)]
        );
        assert_eq!(c.port, 3000, "{{port}} is the first named port");
        let one = plan(
            "  app:\n    container: { image: \"i:1\", port: 8080 }",
            "{services.app.url}",
        )
        .unwrap();
        let c = one.services[0].container.as_ref().unwrap();
        assert_eq!((c.port, c.named_ports.len()), (8080, 0));
    }

    #[test]
    fn each_mistake_is_named_with_its_fix() {
        let table = [
            (
                "  app:\n    container: { image: \"i:1\", port: 8080, ports: { api: 5002 } }",
                "{services.app.url}",
                "services.app.container.ports: `port` and `ports` are both given",
            ),
            (
                "  app:\n    container: { image: \"i:1\" }",
                "{services.app.url}",
                "services.app.container: the container has no port",
            ),
            (
                "  app:\n    process: { ports: [api, api], command: [x] }",
                "{services.app.url}",
                "services.app.process.ports[1]: the port name `api` is also given at `ports[0]`",
            ),
            (
                "  app:\n    process: { ports: [Api], command: [x] }",
                "{services.app.url}",
                "services.app.process.ports[0]: `Api` is not a port name",
            ),
            (
                "  app:\n    process: { ports: [], command: [x] }",
                "{services.app.url}",
                "services.app.process.ports: `ports` names no port",
            ),
            (
                "  app:\n    process: { ports: [api, web], command: [x] }",
                "{services.app.ports.admin}",
                "phases[0].items[0].check.url: `{services.app.ports.admin}` refers to a port `admin` that service `app` does not declare; declared ports: api, web",
            ),
            (
                "  ext:\n    external: { url: \"https://example.test\" }",
                "http://x:{services.ext.ports.web}",
                "phases[0].items[0].check.url: `{services.ext.ports.web}` names a port of service `ext`, which is external and has no named ports",
            ),
            (
                "  app:\n    process: { ports: [api], command: [x, \"{ports.web}\"] }",
                "{services.app.url}",
                "services.app.process.command[1]: `{ports.web}` refers to a port `web` that this service does not declare; declared ports: api",
            ),
            (
                "  app:\n    process: { ports: [api, web], command: [x] }\n    ready: { kind: command, command: [probe, \"{ports.web}\"] }\n    container: { image: \"i:1\", ports: { api: 1 } }",
                "{services.app.url}",
                "services.app.ready.command[1]: `{ports.web}` refers to a port `web` that the container form of this service does not declare",
            ),
        ];
        for (services, url, expected) in table {
            let errors = plan(services, url).unwrap_err();
            assert!(
                errors.iter().any(|e| e.starts_with(expected)),
                "{expected}\n  not in {errors:#?}"
            );
        }
    }
}
