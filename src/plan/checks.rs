//! Validates each check kind's spec into its runnable form, collecting every problem.

use super::expect::{build as build_expectation, KindSubjects};
use super::{defaults, Ctx};
use crate::check::{
    Check, CommandCheck, HttpCheck, PostgresCheck, PrometheusCheck, RedisCheck, RedisPubSub,
    TcpCheck, TlsCheck, WebSocketCheck, WebSocketMeasure,
};
use crate::expect::Expectation;
use crate::net::TlsClient;
use crate::spec::{
    CheckSpec, CommandSpec, HttpSpec, PostgresSpec, PrometheusSpec, RedisSpec, TcpSpec,
    TlsClientSpec, TlsSpec, WebSocketSpec,
};
use crate::template::Template;
use crate::units::Duration;

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Builds the check at `path` (e.g. `phases[0].items[2].check`); `None` after reporting errors.
pub fn build(spec: &CheckSpec, path: &str, ctx: &mut Ctx) -> Option<Check> {
    match spec {
        CheckSpec::Http(s) => http(s, path, ctx).map(Check::Http),
        CheckSpec::Tcp(s) => tcp(s, path, ctx).map(Check::Tcp),
        CheckSpec::WebSocket(s) => websocket(s, path, ctx).map(Check::WebSocket),
        CheckSpec::Tls(s) => tls(s, path, ctx).map(Check::Tls),
        CheckSpec::Command(s) => command(s, path, ctx).map(Check::Command),
        CheckSpec::Postgres(s) => postgres(s, path, ctx).map(Check::Postgres),
        CheckSpec::Redis(s) => redis(s, path, ctx).map(Check::Redis),
        CheckSpec::Prometheus(s) => prometheus(s, path, ctx).map(Check::Prometheus),
        // A load item is planned as a whole item, not as a probe.
        CheckSpec::Load(_) | CheckSpec::Resources(_) => None,
    }
}

pub(super) fn http(s: &HttpSpec, path: &str, ctx: &mut Ctx) -> Option<HttpCheck> {
    let url = url(
        ctx,
        &format!("{path}.url"),
        &s.url,
        &["http://", "https://"],
    );
    let method = match s.method.as_deref().map(str::to_ascii_uppercase) {
        None => Some(reqwest::Method::GET),
        Some(m) if METHODS.contains(&m.as_str()) => reqwest::Method::from_bytes(m.as_bytes()).ok(),
        Some(m) => {
            ctx.diags.error(
                &format!("{path}.method"),
                format!(
                    "`{m}` is not an HTTP method golive sends; use one of {}",
                    METHODS.join(", ")
                ),
            );
            None
        }
    };
    let headers = headers(ctx, path, &s.headers);
    let body = s
        .body
        .as_ref()
        .and_then(|b| ctx.template(&format!("{path}.body"), b, false));
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::HTTP_TIMEOUT,
    );
    let redirects = s.redirects.unwrap_or(0);
    if redirects > defaults::MAX_REDIRECTS {
        ctx.diags.error(
            &format!("{path}.redirects"),
            format!("at most {} redirects are followed", defaults::MAX_REDIRECTS),
        );
    }
    let max_body = s.max_body.unwrap_or(defaults::MAX_BODY);
    if max_body.bytes() == 0 {
        ctx.diags.error(
            &format!("{path}.max_body"),
            "max_body must be larger than 0B",
        );
    }
    let tls = tls_client(ctx, &format!("{path}.tls"), s.tls.as_ref());
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Http);
    Some(HttpCheck {
        url: url?,
        method: method?,
        headers,
        body,
        timeout,
        tls: tls?,
        redirects,
        max_body,
        expect: expect?,
    })
}

fn tcp(s: &TcpSpec, path: &str, ctx: &mut Ctx) -> Option<TcpCheck> {
    let address = address(ctx, &format!("{path}.address"), &s.address);
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::TCP_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Tcp);
    Some(TcpCheck {
        address: address?,
        timeout,
        expect: expect?,
    })
}

fn websocket(s: &WebSocketSpec, path: &str, ctx: &mut Ctx) -> Option<WebSocketCheck> {
    use super::conversation;
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::WEBSOCKET_TIMEOUT,
    );
    let tls = tls_client(ctx, &format!("{path}.tls"), s.tls.as_ref());
    // Captures are readable from the step after the one that takes them, and only in
    // this conversation.
    ctx.captured.clear();
    let before = conversation::before(ctx, path, &s.before);
    let url = url(ctx, &format!("{path}.url"), &s.url, &["ws://", "wss://"]);
    let headers = headers(ctx, path, &s.headers);
    let one_message = s.send.is_some() || !s.expect.is_empty();
    let steps = if s.steps.is_empty() {
        conversation::one_message(ctx, path, s.send.as_ref(), &s.expect, timeout)
    } else if one_message {
        ctx.diags.error_hint(
            path,
            "`send`/`expect` and `steps` both describe the conversation",
            "move `send` and `expect` into a step of `steps`",
        );
        None
    } else {
        conversation::steps(
            ctx,
            &format!("{path}.steps"),
            &s.steps,
            timeout,
            0,
            &mut Vec::new(),
        )
    };
    ctx.captured.clear();
    let steps = steps?;
    let measure = match s.measure.as_deref() {
        None => match steps.len() {
            0 => Some(WebSocketMeasure::Connect),
            n => Some(WebSocketMeasure::Step(n - 1)),
        },
        Some("connect") => Some(WebSocketMeasure::Connect),
        Some("conversation") => Some(WebSocketMeasure::Conversation),
        Some(name) => match steps.iter().position(|st| st.name == name) {
            Some(i) => Some(WebSocketMeasure::Step(i)),
            None => {
                let mut known: Vec<&str> = conversation::RESERVED.to_vec();
                known.extend(steps.iter().map(|st| st.name.as_str()));
                ctx.diags.error_hint(
                    &format!("{path}.measure"),
                    format!("`{name}` is not a step of this conversation"),
                    format!("measure one of: {}", known.join(", ")),
                );
                None
            }
        },
    };
    Some(WebSocketCheck {
        url: url?,
        headers,
        before: before?,
        framing: conversation::framing(s.framing),
        steps,
        measure: measure?,
        timeout,
        tls: tls?,
    })
}

fn tls(s: &TlsSpec, path: &str, ctx: &mut Ctx) -> Option<TlsCheck> {
    let address = address(ctx, &format!("{path}.address"), &s.address);
    let server_name = s
        .server_name
        .as_ref()
        .and_then(|n| ctx.template(&format!("{path}.server_name"), n, false));
    let ca =
        s.ca.as_ref()
            .and_then(|c| ctx.existing_file(&format!("{path}.ca"), c));
    if s.ca.is_some() && ca.is_none() {
        return None;
    }
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::TLS_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Tls);
    Some(TlsCheck {
        address: address?,
        server_name,
        ca: TlsClient { verify: true, ca },
        timeout,
        expect: expect?,
    })
}

fn command(s: &CommandSpec, path: &str, ctx: &mut Ctx) -> Option<CommandCheck> {
    if s.run.is_empty() {
        ctx.diags.error_hint(
            &format!("{path}.run"),
            "the command is empty",
            "give the program and its arguments, e.g. [\"pg_isready\", \"-h\", \"127.0.0.1\"]",
        );
        return None;
    }
    let argv: Vec<Option<Template>> = s
        .run
        .iter()
        .enumerate()
        .map(|(i, a)| ctx.template(&format!("{path}.run[{i}]"), a, false))
        .collect();
    let env: Vec<Option<(String, Template)>> = s
        .env
        .iter()
        .map(|(k, v)| {
            ctx.template(&format!("{path}.env.{k}"), v, false)
                .map(|t| (k.clone(), t))
        })
        .collect();
    let cwd = match &s.cwd {
        Some(c) => ctx.existing_file(&format!("{path}.cwd"), c)?,
        None => ctx.base_dir.clone(),
    };
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::COMMAND_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Command);
    Some(CommandCheck {
        argv: argv.into_iter().collect::<Option<_>>()?,
        env: env.into_iter().collect::<Option<_>>()?,
        cwd,
        timeout,
        expect: expect?,
    })
}

fn postgres(s: &PostgresSpec, path: &str, ctx: &mut Ctx) -> Option<PostgresCheck> {
    let url = database_url(
        ctx,
        &format!("{path}.url"),
        &s.url,
        &["postgres://", "postgresql://"],
        |u| crate::check::parse_postgres_url(u).map(drop),
    );
    let query = s.query.as_deref().unwrap_or(defaults::POSTGRES_QUERY);
    let query = if query.trim().is_empty() {
        ctx.diags.error_hint(
            &format!("{path}.query"),
            "the query is empty",
            "give the SQL to run, or leave `query` out to send `SELECT 1`",
        );
        None
    } else {
        ctx.template(&format!("{path}.query"), query, false)
    };
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::POSTGRES_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Postgres);
    Some(PostgresCheck {
        url: url?,
        query: query?,
        timeout,
        reuse_connection: s
            .reuse_connection
            .unwrap_or(defaults::POSTGRES_REUSE_CONNECTION),
        expect: expect?,
    })
}

fn prometheus(s: &PrometheusSpec, path: &str, ctx: &mut Ctx) -> Option<PrometheusCheck> {
    let at = format!("{path}.url");
    let url = url(ctx, &at, &s.url, &["http://", "https://"]);
    if !s.url.contains('{') {
        if let Err(e) = crate::check::prometheus_query_endpoint(&s.url) {
            ctx.diags.error(&at, e);
        }
    }
    let query = if s.query.trim().is_empty() {
        ctx.diags.error_hint(
            &format!("{path}.query"),
            "the query is empty",
            "give the PromQL to evaluate, e.g. `sum(up{job=\"api\"})`",
        );
        None
    } else {
        ctx.template(&format!("{path}.query"), &s.query, false)
    };
    let headers = headers(ctx, path, &s.headers);
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::PROMETHEUS_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Prometheus);
    Some(PrometheusCheck {
        url: url?,
        query: query?,
        headers,
        timeout,
        expect: expect?,
    })
}

/// Request headers, each name checked and each value a template.
fn headers(
    ctx: &mut Ctx,
    path: &str,
    specs: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, Template)> {
    let mut headers = Vec::new();
    for (name, value) in specs {
        let hp = format!("{path}.headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            ctx.diags
                .error(&hp, format!("`{name}` is not a valid header name"));
        }
        super::header_value_ok(ctx, &hp, value);
        if let Some(t) = ctx.template(&hp, value, false) {
            headers.push((name.clone(), t));
        }
    }
    headers
}

fn redis(s: &RedisSpec, path: &str, ctx: &mut Ctx) -> Option<RedisCheck> {
    let url = if s.url.starts_with("rediss://") {
        ctx.diags.error(
            &format!("{path}.url"),
            "TLS to Redis (rediss://) is not supported yet; use redis://",
        );
        None
    } else {
        database_url(ctx, &format!("{path}.url"), &s.url, &["redis://"], |u| {
            crate::check::parse_redis_url(u).map(drop)
        })
    };
    let default = [defaults::REDIS_COMMAND.to_string()];
    let argv = s.command.as_deref().unwrap_or(&default);
    let name = argv.first().map(|n| n.trim().to_ascii_uppercase());
    let command = match name.as_deref() {
        None | Some("") => {
            ctx.diags.error_hint(
                &format!("{path}.command"),
                "the command is empty",
                "give the command and its arguments, e.g. [\"GET\", \"feature:flags\"], or leave `command` out to send PING",
            );
            None
        }
        Some(n) if crate::check::REDIS_STREAMING_COMMANDS.contains(&n) => {
            ctx.diags.error(
                &format!("{path}.command[0]"),
                format!("`{n}` turns the connection into a stream of messages; a redis check sends one command and reads one reply"),
            );
            None
        }
        Some(_) => {
            // Every argument is parsed before any is given up on, so each bad one is reported.
            let args: Vec<Option<Template>> = argv
                .iter()
                .enumerate()
                .map(|(i, a)| ctx.template(&format!("{path}.command[{i}]"), a, false))
                .collect();
            args.into_iter().collect()
        }
    };
    let timeout = positive(
        ctx,
        &format!("{path}.timeout"),
        s.timeout,
        defaults::REDIS_TIMEOUT,
    );
    let expect = expectations(ctx, path, &s.expect, KindSubjects::Redis);
    let pubsub = match &s.pubsub {
        None => Some(None),
        Some(_) if s.command.is_some() => {
            ctx.diags.error_hint(
                &format!("{path}.pubsub"),
                "`pubsub` and `command` both say what a sample sends",
                "keep one: `pubsub` publishes and listens, `command` sends one command",
            );
            None
        }
        Some(p) => match &p.channel {
            Some(c) if c.trim().is_empty() => {
                ctx.diags.error_hint(
                    &format!("{path}.pubsub.channel"),
                    "the channel is empty",
                    "name a channel, or leave `channel` out for one of the run's own",
                );
                None
            }
            Some(c) => ctx
                .template(&format!("{path}.pubsub.channel"), c, false)
                .map(|t| Some(RedisPubSub { channel: Some(t) })),
            None => Some(Some(RedisPubSub { channel: None })),
        },
    };
    Some(RedisCheck {
        url: url?,
        command: command?,
        timeout,
        expect: expect?,
        pubsub: pubsub?,
    })
}

/// A database URL template; one without service placeholders (literal, or made of
/// `{env.*}` values, which are read at plan time) is checked now with `check`, the same
/// parser the probe uses, so its mistakes are located errors rather than failed samples.
fn database_url(
    ctx: &mut Ctx,
    path: &str,
    text: &str,
    schemes: &[&str],
    check: impl Fn(&str) -> Result<(), String>,
) -> Option<Template> {
    let t = url(ctx, path, text, schemes)?;
    if t.services().next().is_none() {
        let rendered = t.render(&crate::template::Endpoints::default(), None);
        if let Err(m) = check(&rendered) {
            ctx.diags.error(path, m);
            return None;
        }
    }
    Some(t)
}

/// A URL template that must start with one of `schemes` unless it starts with a placeholder.
pub(crate) fn url(ctx: &mut Ctx, path: &str, text: &str, schemes: &[&str]) -> Option<Template> {
    let t = ctx.template(path, text, false)?;
    let starts_ok = text.starts_with('{') || schemes.iter().any(|s| text.starts_with(s));
    if !starts_ok {
        ctx.diags.error_hint(
            path,
            format!("`{text}` is not an absolute {} URL", schemes.join(" or ")),
            format!(
                "start it with {} or a service placeholder such as {{services.app.url}}",
                schemes.join(" or ")
            ),
        );
        return None;
    }
    Some(t)
}

/// A `host:port` template.
fn address(ctx: &mut Ctx, path: &str, text: &str) -> Option<Template> {
    let t = ctx.template(path, text, false)?;
    let literal = !text.contains('{');
    if literal
        && text
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
    {
        ctx.diags.error_hint(
            path,
            format!("`{text}` is not a host:port address"),
            "write it as host:port, e.g. 127.0.0.1:5432",
        );
        return None;
    }
    Some(t)
}

pub(super) fn positive(
    ctx: &mut Ctx,
    path: &str,
    value: Option<Duration>,
    default: Duration,
) -> Duration {
    let v = value.unwrap_or(default);
    if v == Duration::ZERO {
        ctx.diags.error(
            path,
            "a timeout of 0 would fail every sample; give a positive duration",
        );
    }
    v
}

pub(super) fn tls_client(
    ctx: &mut Ctx,
    path: &str,
    spec: Option<&TlsClientSpec>,
) -> Option<TlsClient> {
    let Some(spec) = spec else {
        return Some(TlsClient::default());
    };
    let ca = match &spec.ca {
        Some(c) => Some(ctx.existing_file(&format!("{path}.ca"), c)?),
        None => None,
    };
    Some(TlsClient {
        verify: spec.verify.unwrap_or(true),
        ca,
    })
}

pub(crate) fn expectations(
    ctx: &mut Ctx,
    path: &str,
    texts: &[String],
    kind: KindSubjects,
) -> Option<Vec<Expectation>> {
    let mut out = Some(Vec::new());
    for (i, text) in texts.iter().enumerate() {
        let at = format!("{path}.expect[{i}]");
        let built = crate::expr::parse(text)
            .map_err(|e| (e.offset, e.message))
            .and_then(|c| build_expectation(text, &c, kind));
        match (built, out.as_mut()) {
            (Ok(e), Some(v)) => v.push(e),
            (Ok(_), None) => {}
            (Err((offset, message)), _) => {
                ctx.diags.error_at_offset(&at, offset, message);
                out = None;
            }
        }
    }
    out
}
