//! Templates in user strings: `{services.app.url}`, `{services.app.host}`,
//! `{services.app.port}`, `{env.NAME}`, in process commands `{port}` and `{golive}`, and
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
    /// treated as a secret ([`Template::secrets`]).
    Env {
        name: String,
        value: String,
    },
    Service {
        name: String,
        field: ServiceField,
    },
    Port,
    Golive,
    /// A value captured by an earlier step of the same conversation, rendered from the
    /// conversation's captures ([`Template::render_captured`]).
    Captured(String),
}

/// What a `{services.NAME.FIELD}` placeholder reads from a running service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceField {
    Url,
    Host,
    Port,
}

/// Where placeholders may refer: the declared services, and whether `{port}` and
/// `{golive}` exist in this position.
pub struct Scope<'a> {
    pub services: &'a BTreeSet<String>,
    pub process: bool,
    /// The names `{captured.NAME}` may read here: those captured by earlier steps.
    pub captured: &'a BTreeSet<String>,
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
}

/// Values for a process command: its port and golive's own path.
pub struct ProcessVars<'a> {
    pub port: u16,
    pub golive: &'a str,
}

impl Template {
    /// Parses `text`; `{env.NAME}` is read from the environment now, so a missing
    /// variable is a plan-time error. Returns `(offset, message)` on error.
    pub fn parse(text: &str, scope: &Scope) -> Result<Template, (usize, String)> {
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
            let part = placeholder(name, scope).map_err(|m| (offset + open, m))?;
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
            Part::Env { value, .. } => Some(value.as_str()),
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
                Part::Lit(s) | Part::Env { value: s, .. } => out.push_str(s),
                Part::Service { name, field } => {
                    if let Some(e) = endpoints.services.get(name) {
                        match field {
                            ServiceField::Url => out.push_str(&e.url),
                            ServiceField::Host => out.push_str(&e.host),
                            ServiceField::Port => out.push_str(&e.port.to_string()),
                        }
                    }
                }
                Part::Port => out.push_str(&vars.map(|v| v.port.to_string()).unwrap_or_default()),
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
                        ServiceField::Url => "url",
                        ServiceField::Host => "host",
                        ServiceField::Port => "port",
                    };
                    write!(f, "{{services.{name}.{field}}}")?
                }
                Part::Port => f.write_str("{port}")?,
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

fn placeholder(name: &str, scope: &Scope) -> Result<Part, String> {
    let segs: Vec<&str> = name.split('.').collect();
    match segs.as_slice() {
        ["services", service, field] => {
            if !scope.services.contains(*service) {
                let known: Vec<&str> = scope.services.iter().map(String::as_str).collect();
                let mut m = format!("`{{{name}}}` refers to a service `{service}` that is not declared");
                match crate::diag::did_you_mean(service, known.iter().copied()) {
                    Some(hint) => m.push_str(&format!("; {hint}")),
                    None if known.is_empty() => m.push_str("; declare it under `services:`"),
                    None => m.push_str(&format!("; declared services: {}", known.join(", "))),
                }
                return Err(m);
            }
            let field = match *field {
                "url" => ServiceField::Url,
                "host" => ServiceField::Host,
                "port" => ServiceField::Port,
                other => return Err(format!("`{other}` is not a service field; use url, host or port")),
            };
            Ok(Part::Service {
                name: service.to_string(),
                field,
            })
        }
        ["env", var] => std::env::var(var).map(|value| Part::Env { name: var.to_string(), value }).map_err(|_| {
            format!("`{{{name}}}` needs the environment variable `{var}`, which is not set")
        }),
        ["port"] if scope.process => Ok(Part::Port),
        ["golive"] if scope.process => Ok(Part::Golive),
        ["port"] | ["golive"] => Err(format!("`{{{name}}}` exists only in a process service's command, env and url")),
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
            "unknown placeholder `{{{name}}}`; use {{services.NAME.url}}, {{services.NAME.host}}, {{services.NAME.port}} or {{env.NAME}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(process: bool) -> (BTreeSet<String>, bool) {
        (["app".to_string(), "db".to_string()].into(), process)
    }

    #[test]
    fn renders_services_and_process_values() {
        let (services, process) = scope(true);
        let none = BTreeSet::new();
        let s = Scope {
            services: &services,
            process,
            captured: &none,
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
            },
        );
        assert_eq!(
            t.render(&endpoints, None),
            "http://127.0.0.1:9/health?x={y}"
        );
        assert_eq!(t.to_string(), "{services.app.url}/health?x={{y}");
        std::env::set_var("GOLIVE_TEMPLATE_TEST_TOKEN", "tok-123");
        let secret = Template::parse("Bearer {env.GOLIVE_TEMPLATE_TEST_TOKEN}", &s).unwrap();
        assert_eq!(secret.render(&endpoints, None), "Bearer tok-123");
        assert_eq!(
            secret.to_string(),
            "Bearer {env.GOLIVE_TEMPLATE_TEST_TOKEN}"
        );
        assert_eq!(secret.secrets().collect::<Vec<_>>(), ["tok-123"]);
        assert_eq!(t.secrets().count(), 0);
        let cmd = Template::parse("{golive} --listen 127.0.0.1:{port}", &s).unwrap();
        let vars = ProcessVars {
            port: 4100,
            golive: "/bin/golive",
        };
        assert_eq!(
            cmd.render(&endpoints, Some(&vars)),
            "/bin/golive --listen 127.0.0.1:4100"
        );
    }

    #[test]
    fn rejects_dangling_and_misplaced_references() {
        let (services, _) = scope(false);
        let none = BTreeSet::new();
        let s = Scope {
            services: &services,
            process: false,
            captured: &none,
        };
        let table = [
            ("{services.ap.url}", 0, "did you mean `app`?"),
            ("x {services.app.uri}", 2, "not a service field"),
            ("{port}", 0, "only in a process service"),
            ("{nope}", 0, "unknown placeholder"),
            ("{env.GOLIVE_SURELY_UNSET_VAR}", 0, "not set"),
        ];
        for (text, at, needle) in table {
            let (offset, message) = Template::parse(text, &s).unwrap_err();
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(offset, at, "{text}");
        }
    }
}
