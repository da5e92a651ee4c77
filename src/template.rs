//! Templates in user strings: `{services.app.url}`, `{services.app.host}`,
//! `{services.app.port}`, `{services.app.ports.NAME}`, `{env.NAME}`, in a service's
//! own command, env, url and ready command `{port}`, `{ports.NAME}` and `{golive}`, and
//! in a WebSocket conversation `{captured.NAME}` (a value an earlier step captured).
//! Parsed and checked at plan time (a dangling reference is a located error); rendered
//! at run time once services are up. A leaf of shared vocabulary: the compiler builds
//! templates, and `services`, `check` and `load` render them, without importing each other.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A string with placeholders, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    /// A value read from `{env.NAME}` at plan time: rendered as read, shown by name, and
    /// treated as a secret ([`Template::secrets`]). `None` when planned with
    /// [`EnvMode::Unresolved`]: such a plan is only validated, never run.
    Env {
        name: String,
        value: Option<String>,
    },
    Service {
        name: String,
        field: ServiceField,
    },
    Port,
    /// `{ports.NAME}`: one of the service's own named ports.
    NamedPort(String),
    Golive,
    /// A value captured by an earlier step of the same conversation, rendered from the
    /// conversation's captures ([`Template::render_captured`]).
    Captured(String),
}

/// What a `{services.NAME.FIELD}` placeholder reads from a running service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceField {
    Url,
    Host,
    Port,
    /// `ports.NAME`: a named port.
    Ports(String),
}

/// The named ports one form of a service declares (none for an external form), so that
/// `{ports.NAME}` and `{services.S.ports.NAME}` are checked at plan time: a service may
/// run as any of its forms (`--provider` chooses), so a name must be declared by all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPorts {
    /// `process`, `container` or `external`.
    pub form: &'static str,
    pub names: Vec<String>,
}

/// The declared services, each with its forms' named ports.
pub type Declared = BTreeMap<String, Vec<FormPorts>>;

/// What `{env.NAME}` does at plan time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EnvMode {
    /// Read the variable now, so an unset one is an error before anything runs.
    #[default]
    Resolve,
    /// Check the placeholder's form only (`golive validate --no-env`), so CI can lint a
    /// checklist without holding its secrets. A plan made so is never run.
    Unresolved,
}

/// Where placeholders may refer: the declared services, whether `{port}` and `{golive}`
/// exist in this position, and the forms whose `{ports.NAME}` it may read (empty where
/// `process` is false).
pub struct Scope<'a> {
    pub services: &'a Declared,
    pub process: bool,
    /// The names `{captured.NAME}` may read here: those captured by earlier steps.
    pub captured: &'a BTreeSet<String>,
    pub own: &'a [FormPorts],
    /// Whether `{env.NAME}` is read now or only checked.
    pub env: EnvMode,
}

/// Why a template does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset of the placeholder in the text.
    pub offset: usize,
    pub message: String,
    /// The service a `{services.NAME...}` placeholder names when it is not declared here:
    /// a scenario file may be valid where the checklist that uses it declares it.
    pub undeclared: Option<String>,
}

/// The running services' endpoints, by name.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub services: BTreeMap<String, Endpoint>,
}

/// Where a running service answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Its named ports, as seen from where the template runs (empty when it has none).
    pub ports: BTreeMap<String, u16>,
}

/// Values for a service's own command: its port, its named ports (`{port}` is the first
/// of them when there are any) and golive's own path.
pub struct ProcessVars<'a> {
    pub port: u16,
    pub ports: &'a BTreeMap<String, u16>,
    pub golive: &'a str,
}

impl Template {
    /// Parses `text`; with [`EnvMode::Resolve`] `{env.NAME}` is read from the environment
    /// now, so a missing variable is a plan-time error. Returns `(offset, message)` on
    /// error.
    pub fn parse(text: &str, scope: &Scope) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            lit.push_str(&rest[..open]);
            let brace = &rest[open..];
            if let Some(after) = brace.strip_prefix("{{") {
                lit.push('{');
                offset += open + 2;
                rest = after;
                continue;
            }
            // Only `{name.path}` is a placeholder; other braces (JSON bodies) are text.
            let name = brace[1..]
                .split('}')
                .next()
                .filter(|_| brace[1..].contains('}'));
            let Some(name) = name.filter(|n| is_placeholder_name(n)) else {
                lit.push('{');
                offset += open + 1;
                rest = &brace[1..];
                continue;
            };
            let part = placeholder(name, scope).map_err(|message| TemplateError {
                offset: offset + open,
                message,
                undeclared: undeclared_service(name, scope).map(str::to_string),
            })?;
            if let Part::Lit(s) = &part {
                lit.push_str(s);
            } else {
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
            }
            offset += open + name.len() + 2;
            rest = &brace[name.len() + 2..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    /// A template with no placeholders.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Lit(text.to_string())],
        }
    }

    /// The values this template read from the environment: secrets, to be masked
    /// wherever golive shows text.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Env { value, .. } => value.as_deref(),
            _ => None,
        })
    }

    /// The services this template reads.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Service { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Renders with running endpoints (and process values where this is a command).
    /// Plan-time checks guarantee every referenced service exists; one that did not
    /// come up renders as an empty string and the check fails on it.
    pub fn render(&self, endpoints: &Endpoints, vars: Option<&ProcessVars>) -> String {
        self.render_captured(endpoints, vars, &[])
    }

    /// [`Template::render`] with the values captured so far, by name; one not captured
    /// (its step failed first) renders empty.
    pub fn render_captured(
        &self,
        endpoints: &Endpoints,
        vars: Option<&ProcessVars>,
        captured: &[(String, String)],
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) | Part::Env { value: Some(s), .. } => out.push_str(s),
                Part::Env { value: None, .. } => {}
                Part::Service { name, field } => {
                    if let Some(e) = endpoints.services.get(name) {
                        match field {
                            ServiceField::Url => out.push_str(&e.url),
                            ServiceField::Host => out.push_str(&e.host),
                            ServiceField::Port => out.push_str(&e.port.to_string()),
                            ServiceField::Ports(p) => out
                                .push_str(&e.ports.get(p).map(u16::to_string).unwrap_or_default()),
                        }
                    }
                }
                Part::Port => out.push_str(&vars.map(|v| v.port.to_string()).unwrap_or_default()),
                Part::NamedPort(p) => out.push_str(
                    &vars
                        .and_then(|v| v.ports.get(p))
                        .map(u16::to_string)
                        .unwrap_or_default(),
                ),
                Part::Golive => out.push_str(vars.map(|v| v.golive).unwrap_or_default()),
                Part::Captured(name) => {
                    if let Some((_, v)) = captured.iter().rev().find(|(n, _)| n == name) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for Template {
    /// The template as written, placeholders included (for reports).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Lit(s) => f.write_str(&s.replace('{', "{{"))?,
                Part::Env { name, .. } => write!(f, "{{env.{name}}}")?,
                Part::Service { name, field } => {
                    let field = match field {
                        ServiceField::Url => "url".to_string(),
                        ServiceField::Host => "host".to_string(),
                        ServiceField::Port => "port".to_string(),
                        ServiceField::Ports(p) => format!("ports.{p}"),
                    };
                    write!(f, "{{services.{name}.{field}}}")?
                }
                Part::Port => f.write_str("{port}")?,
                Part::NamedPort(p) => write!(f, "{{ports.{p}}}")?,
                Part::Golive => f.write_str("{golive}")?,
                Part::Captured(name) => write!(f, "{{captured.{name}}}")?,
            }
        }
        Ok(())
    }
}

fn is_placeholder_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// The service a `{services.NAME.FIELD}` placeholder names when `scope` does not
/// declare it (the case [`placeholder`] refuses first).
fn undeclared_service<'n>(name: &'n str, scope: &Scope) -> Option<&'n str> {
    let segs: Vec<&str> = name.split('.').collect();
    match segs.as_slice() {
        ["services", service, _] | ["services", service, _, _] => {
            (!scope.services.contains_key(*service)).then_some(*service)
        }
        _ => None,
    }
}

fn placeholder(name: &str, scope: &Scope) -> Result<Part, String> {
    let segs: Vec<&str> = name.split('.').collect();
    match segs.as_slice() {
        ["services", service, field] | ["services", service, field, _] => {
            let Some(forms) = scope.services.get(*service) else {
                let known: Vec<&str> = scope.services.keys().map(String::as_str).collect();
                let mut m = format!("`{{{name}}}` refers to a service `{service}` that is not declared");
                match crate::diag::did_you_mean(service, known.iter().copied()) {
                    Some(hint) => m.push_str(&format!("; {hint}")),
                    None if known.is_empty() => m.push_str("; declare it under `services:`"),
                    None => m.push_str(&format!("; declared services: {}", known.join(", "))),
                }
                return Err(m);
            };
            let field = match (*field, segs.get(3)) {
                ("url", None) => ServiceField::Url,
                ("host", None) => ServiceField::Host,
                ("port", None) => ServiceField::Port,
                ("ports", Some(port)) => {
                    declared_port(name, Some(service), forms, port)?;
                    ServiceField::Ports(port.to_string())
                }
                ("ports", None) => return Err(format!("`{{{name}}}` names no port; write `{{services.{service}.ports.NAME}}`")),
                (other, _) => return Err(format!("`{other}` is not a service field; use url, host, port or ports.NAME")),
            };
            Ok(Part::Service {
                name: service.to_string(),
                field,
            })
        }
        ["env", var] => env_var(name, var, scope.env),
        ["port"] if scope.process => Ok(Part::Port),
        ["golive"] if scope.process => Ok(Part::Golive),
        ["ports", port] if scope.process => {
            declared_port(name, None, scope.own, port)?;
            Ok(Part::NamedPort(port.to_string()))
        }
        ["port"] | ["golive"] | ["ports", _] => Err(format!("`{{{name}}}` exists only in a service's own command, env, url and ready command; elsewhere use `{{services.NAME...}}`")),
        ["captured", var] if scope.captured.contains(*var) => Ok(Part::Captured(var.to_string())),
        ["captured", var] => {
            let known: Vec<&str> = scope.captured.iter().map(String::as_str).collect();
            let mut m = format!("`{{{name}}}` reads a value no earlier step captures");
            match crate::diag::did_you_mean(var, known.iter().copied()) {
                Some(hint) => m.push_str(&format!("; {hint}")),
                None if known.is_empty() => m.push_str(&format!(
                    "; capture it first, e.g. `capture: {{{var}: body.token}}` on an earlier step of this conversation"
                )),
                None => m.push_str(&format!("; captured so far: {}", known.join(", "))),
            }
            Err(m)
        }
        _ => Err(format!(
            "unknown placeholder `{{{name}}}`; use {{services.NAME.url}}, {{services.NAME.host}}, {{services.NAME.port}}, {{services.NAME.ports.NAME}} or {{env.NAME}}"
        )),
    }
}

/// `{env.VAR}`: a well-formed name, read now unless `mode` says only to check it. The
/// name is checked in both modes, so what `--no-env` accepts is what a run can read.
fn env_var(written: &str, var: &str, mode: EnvMode) -> Result<Part, String> {
    let well_formed = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(format!(
            "`{{{written}}}` does not name an environment variable; write `{{env.NAME}}` with \
             letters, digits and `_`, not starting with a digit"
        ));
    }
    let value = match mode {
        EnvMode::Unresolved => None,
        EnvMode::Resolve => Some(std::env::var(var).map_err(|_| {
            format!("`{{{written}}}` needs the environment variable `{var}`, which is not set")
        })?),
    };
    Ok(Part::Env {
        name: var.to_string(),
        value,
    })
}

/// Checks that every form in `forms` declares `port`; `service` is `None` for the
/// service's own `{ports.NAME}`. The message names the service, the port and the names
/// that are declared, as an undeclared service's does.
fn declared_port(
    written: &str,
    service: Option<&str>,
    forms: &[FormPorts],
    port: &str,
) -> Result<(), String> {
    let lacking: Vec<&FormPorts> = forms
        .iter()
        .filter(|f| !f.names.iter().any(|n| n == port))
        .collect();
    if lacking.is_empty() && !forms.is_empty() {
        return Ok(());
    }
    let whose = match service {
        Some(s) => format!("service `{s}`"),
        None => "this service".to_string(),
    };
    if !forms.is_empty() && forms.iter().all(|f| f.form == "external") {
        let s = service.unwrap_or("NAME");
        return Err(format!(
            "`{{{written}}}` names a port of {whose}, which is external and has no named ports; use `{{services.{s}.url}}` or `{{services.{s}.port}}`"
        ));
    }
    if lacking.len() < forms.len() {
        let kinds: Vec<&str> = lacking.iter().map(|f| f.form).collect();
        let extra = if kinds.contains(&"external") {
            " (an external form has no named ports)"
        } else {
            ""
        };
        return Err(format!(
            "`{{{written}}}` refers to a port `{port}` that the {} form of {whose} does not declare{extra}; `--provider` may run that form, so declare `{port}` in every form of {whose}",
            kinds.join(" and ")
        ));
    }
    let mut known: Vec<&str> = Vec::new();
    for n in forms.iter().flat_map(|f| f.names.iter()) {
        if !known.contains(&n.as_str()) {
            known.push(n);
        }
    }
    let mut m = format!("`{{{written}}}` refers to a port `{port}` that {whose} does not declare");
    if known.is_empty() {
        m.push_str(&format!(
            "; {whose} declares no named ports: add `ports:` to its process or container form"
        ));
    } else {
        m.push_str(&format!("; declared ports: {}", known.join(", ")));
        if let Some(hint) = crate::diag::did_you_mean(port, known.iter().copied()) {
            m.push_str(&format!("; {hint}"));
        }
    }
    Err(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(form: &'static str, names: &[&str]) -> FormPorts {
        FormPorts {
            form,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// `app` a process with ports api and web, `db` a process without named ports,
    /// `ext` external, `both` a process with `web` that may also run as external.
    fn declared() -> Declared {
        [
            ("app", vec![form("process", &["api", "web"])]),
            ("db", vec![form("container", &[])]),
            ("ext", vec![form("external", &[])]),
            (
                "both",
                vec![form("process", &["web"]), form("external", &[])],
            ),
        ]
        .into_iter()
        .map(|(n, f)| (n.to_string(), f))
        .collect()
    }

    #[test]
    fn renders_services_and_process_values() {
        let none = BTreeSet::new();
        let services = declared();
        let own = [form("process", &["api", "web"])];
        let s = Scope {
            services: &services,
            process: true,
            own: &own,
            captured: &none,
            env: EnvMode::Resolve,
        };
        let t = Template::parse("{services.app.url}/health?x={{y}", &s).unwrap();
        let json = Template::parse(r#"{"a":{"b":1}} {x y}"#, &s).unwrap();
        assert_eq!(
            json.render(&Endpoints::default(), None),
            r#"{"a":{"b":1}} {x y}"#
        );
        let mut endpoints = Endpoints::default();
        endpoints.services.insert(
            "app".into(),
            Endpoint {
                url: "http://127.0.0.1:9".into(),
                host: "127.0.0.1".into(),
                port: 9,
                ports: [("api".to_string(), 9), ("web".to_string(), 10)].into(),
            },
        );
        assert_eq!(
            t.render(&endpoints, None),
            "http://127.0.0.1:9/health?x={y}"
        );
        assert_eq!(t.to_string(), "{services.app.url}/health?x={{y}");
        let web = Template::parse("http://127.0.0.1:{services.app.ports.web}/", &s).unwrap();
        assert_eq!(web.render(&endpoints, None), "http://127.0.0.1:10/");
        assert_eq!(
            web.to_string(),
            "http://127.0.0.1:{services.app.ports.web}/"
        );
        std::env::set_var("GOLIVE_TEMPLATE_TEST_TOKEN", "tok-123");
        let secret = Template::parse("Bearer {env.GOLIVE_TEMPLATE_TEST_TOKEN}", &s).unwrap();
        assert_eq!(secret.render(&endpoints, None), "Bearer tok-123");
        assert_eq!(
            secret.to_string(),
            "Bearer {env.GOLIVE_TEMPLATE_TEST_TOKEN}"
        );
        assert_eq!(secret.secrets().collect::<Vec<_>>(), ["tok-123"]);
        assert_eq!(t.secrets().count(), 0);
        let cmd = Template::parse(
            "{golive} --listen 127.0.0.1:{port} --web-listen 127.0.0.1:{ports.web}",
            &s,
        )
        .unwrap();
        let ports = [("api".to_string(), 4100), ("web".to_string(), 4101)].into();
        let vars = ProcessVars {
            port: 4100,
            ports: &ports,
            golive: "/bin/golive",
        };
        assert_eq!(
            cmd.render(&endpoints, Some(&vars)),
            "/bin/golive --listen 127.0.0.1:4100 --web-listen 127.0.0.1:4101"
        );
        assert_eq!(
            cmd.to_string(),
            "{golive} --listen 127.0.0.1:{port} --web-listen 127.0.0.1:{ports.web}"
        );
    }

    #[test]
    fn rejects_dangling_and_misplaced_references() {
        let none = BTreeSet::new();
        let services = declared();
        let s = Scope {
            services: &services,
            process: false,
            own: &[],
            captured: &none,
            env: EnvMode::Resolve,
        };
        let table = [
            ("{services.ap.url}", 0, "did you mean `app`?"),
            ("x {services.app.uri}", 2, "not a service field"),
            ("{port}", 0, "only in a service's own"),
            ("{ports.api}", 0, "only in a service's own"),
            ("{nope}", 0, "unknown placeholder"),
            ("{env.GOLIVE_SURELY_UNSET_VAR}", 0, "not set"),
            ("{services.app.ports}", 0, "names no port"),
        ];
        for (text, at, needle) in table {
            let e = Template::parse(text, &s).unwrap_err();
            let (offset, message) = (e.offset, e.message);
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(
                e.undeclared.is_some(),
                text.starts_with("{services.ap."),
                "{text}"
            );
            assert_eq!(offset, at, "{text}");
        }
    }

    #[test]
    fn unresolved_env_is_checked_as_written_but_not_read() {
        let none = BTreeSet::new();
        let services = declared();
        let scope = |env| Scope {
            services: &services,
            process: false,
            own: &[],
            captured: &none,
            env,
        };
        let unresolved = scope(EnvMode::Unresolved);
        let t = Template::parse("Bearer {env.GOLIVE_SURELY_UNSET_VAR}", &unresolved).unwrap();
        assert_eq!(t.to_string(), "Bearer {env.GOLIVE_SURELY_UNSET_VAR}");
        assert_eq!(t.secrets().count(), 0);
        for mode in [EnvMode::Resolve, EnvMode::Unresolved] {
            for text in ["{env.}", "{env.1X}", "{env.A-B}"] {
                let e = Template::parse(text, &scope(mode)).unwrap_err();
                assert!(
                    e.message.contains("does not name an environment variable"),
                    "{text}: {}",
                    e.message
                );
                assert_eq!(e.offset, 0, "{text}");
            }
        }
    }

    #[test]
    fn a_port_name_must_be_declared_by_every_form_of_the_service() {
        let services = declared();
        let own = [form("process", &["api"])];
        let none = BTreeSet::new();
        let s = Scope {
            services: &services,
            process: true,
            own: &own,
            captured: &none,
            env: EnvMode::Resolve,
        };
        let table = [
            (
                "{services.app.ports.webb}",
                "`{services.app.ports.webb}` refers to a port `webb` that service `app` does not declare; declared ports: api, web; did you mean `web`?",
            ),
            (
                "{services.db.ports.web}",
                "`{services.db.ports.web}` refers to a port `web` that service `db` does not declare; service `db` declares no named ports: add `ports:` to its process or container form",
            ),
            (
                "{services.ext.ports.web}",
                "`{services.ext.ports.web}` names a port of service `ext`, which is external and has no named ports; use `{services.ext.url}` or `{services.ext.port}`",
            ),
            (
                "{services.both.ports.web}",
                "`{services.both.ports.web}` refers to a port `web` that the external form of service `both` does not declare (an external form has no named ports); `--provider` may run that form, so declare `web` in every form of service `both`",
            ),
            (
                "{ports.web}",
                "`{ports.web}` refers to a port `web` that this service does not declare; declared ports: api",
            ),
        ];
        for (text, expected) in table {
            let message = Template::parse(text, &s).unwrap_err().message;
            assert_eq!(message, expected, "{text}");
        }
        assert!(Template::parse("{services.app.ports.web} {ports.api}", &s).is_ok());
        assert!(Template::parse("{services.both.port}", &s).is_ok());
    }
}
