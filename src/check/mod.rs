//! Checks: one probe of one kind, run many times. `Check` is the closed set of kinds
//! (one file each); [`observe`] is the single sampling loop they all share, bounded by
//! each sample's timeout and stopped early by the run's cancellation token.

mod command;
pub mod conversation;
mod http;
mod idle;
mod postgres;
mod prometheus;
mod redis;
mod tcp;
mod tls;
mod websocket;

pub use command::CommandCheck;
pub use http::{HttpCheck, Response as HttpResponse};
pub(crate) use idle::Idle;
pub use postgres::{parse_url as parse_postgres_url, server as postgres_server, PostgresCheck};
pub use prometheus::{query_endpoint as prometheus_query_endpoint, PrometheusCheck};
pub use redis::{
    parse_url as parse_redis_url, reason as redis_reason, PubSub as RedisPubSub, RedisCheck,
    STREAMING_COMMANDS as REDIS_STREAMING_COMMANDS,
};
pub use tcp::TcpCheck;
pub use tls::TlsCheck;
pub use websocket::{Measure as WebSocketMeasure, WebSocketCheck};

use crate::services::session::Launcher;
use crate::tally::{Failure, FailureClass, Observations, Sample};
use crate::template::{Endpoints, Template};
use crate::units::Duration;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A validated, runnable check.
#[derive(Debug, Clone)]
pub enum Check {
    Http(HttpCheck),
    Tcp(TcpCheck),
    WebSocket(WebSocketCheck),
    Tls(TlsCheck),
    Command(CommandCheck),
    Postgres(PostgresCheck),
    Redis(RedisCheck),
    Prometheus(PrometheusCheck),
}

/// A check made ready for one item's sampling: shared by its workers, and where a kind
/// keeps connections between samples (postgres, redis), their holder.
enum Probe {
    Http(http::HttpProbe),
    Tcp(tcp::TcpProbe),
    WebSocket(websocket::WebSocketProbe),
    Tls(tls::TlsProbe),
    Command(command::CommandProbe),
    Postgres(postgres::PostgresProbe),
    Redis(redis::RedisProbe),
    Prometheus(prometheus::PrometheusProbe),
}

impl Check {
    /// The kind's name as written in YAML.
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
            Check::Tcp(_) => "tcp",
            Check::WebSocket(_) => "websocket",
            Check::Tls(_) => "tls",
            Check::Command(_) => "command",
            Check::Postgres(_) => "postgres",
            Check::Redis(_) => "redis",
            Check::Prometheus(_) => "prometheus",
        }
    }

    /// The longest one sample may take.
    pub fn timeout(&self) -> Duration {
        match self {
            Check::Http(c) => c.timeout,
            Check::Tcp(c) => c.timeout,
            Check::WebSocket(c) => c.timeout,
            Check::Tls(c) => c.timeout,
            Check::Command(c) => c.timeout,
            Check::Postgres(c) => c.timeout,
            Check::Redis(c) => c.timeout,
            Check::Prometheus(c) => c.timeout,
        }
    }

    /// The check made ready to sample again and again: the monitor keeps one per item
    /// across its ticks, so clients and connections are set up once.
    pub fn prepared(
        &self,
        endpoints: &Endpoints,
        launcher: &Launcher,
    ) -> Result<Prepared, Failure> {
        self.prepare(endpoints, launcher).map(Prepared)
    }

    /// What the check probes, as rendered for this run (URL, address or command line).
    pub fn target(&self, endpoints: &Endpoints) -> String {
        match self {
            Check::Http(c) => format!("{} {}", c.method, c.url.render(endpoints, None)),
            Check::Tcp(c) => c.address.render(endpoints, None),
            Check::WebSocket(c) => {
                // Captured values are per sample: shown as their placeholders.
                let shown: Vec<(String, String)> = c
                    .before
                    .iter()
                    .flat_map(|b| &b.capture)
                    .map(|cap| (cap.name.clone(), format!("{{captured.{}}}", cap.name)))
                    .collect();
                c.url.render_captured(endpoints, None, &shown)
            }
            Check::Tls(c) => c.address.render(endpoints, None),
            Check::Command(c) => c
                .argv
                .iter()
                .map(|a| a.render(endpoints, None))
                .collect::<Vec<_>>()
                .join(" "),
            Check::Postgres(c) => without_password(&c.url.render(endpoints, None)),
            Check::Redis(c) => without_password(&c.url.render(endpoints, None)),
            Check::Prometheus(c) => format!(
                "{} {}",
                c.url.render(endpoints, None),
                c.query.render(endpoints, None)
            ),
        }
    }

    fn prepare(&self, endpoints: &Endpoints, launcher: &Launcher) -> Result<Probe, Failure> {
        Ok(match self {
            Check::Http(c) => Probe::Http(c.prepare(endpoints)?),
            Check::Tcp(c) => Probe::Tcp(c.prepare(endpoints)?),
            Check::WebSocket(c) => Probe::WebSocket(c.prepare(endpoints)?),
            Check::Tls(c) => Probe::Tls(c.prepare(endpoints)?),
            Check::Command(c) => Probe::Command(c.prepare(endpoints, launcher)?),
            Check::Postgres(c) => Probe::Postgres(c.prepare(endpoints)?),
            Check::Redis(c) => Probe::Redis(c.prepare(endpoints)?),
            Check::Prometheus(c) => Probe::Prometheus(c.prepare(endpoints)?),
        })
    }
}

impl Probe {
    async fn sample(&self) -> Sample {
        match self {
            Probe::Http(p) => p.sample().await,
            Probe::Tcp(p) => p.sample().await,
            Probe::WebSocket(p) => p.sample().await,
            Probe::Tls(p) => p.sample().await,
            Probe::Command(p) => p.sample().await,
            Probe::Postgres(p) => p.sample().await,
            Probe::Redis(p) => p.sample().await,
            Probe::Prometheus(p) => p.sample().await,
        }
    }
}

/// How many samples, the pause between two, and how many probes run at once.
/// A check prepared once and sampled many times ([`Check::prepared`]).
pub struct Prepared(Probe);

impl Prepared {
    /// One sample, bounded by the check's timeout.
    pub async fn sample(&self) -> Sample {
        self.0.sample().await
    }
}

#[derive(Debug, Clone)]
pub struct Sampling {
    pub samples: u32,
    pub interval: Duration,
    pub concurrency: u32,
    /// Latency thresholds (µs) whose longest run of consecutive samples at or beyond them
    /// is recorded.
    pub track_over: Vec<u64>,
}

/// Runs `check` `sampling.samples` times, `sampling.concurrency` at a time, each worker
/// pausing `interval` between its samples. Each sample is bounded by the check's own
/// timeout. Sampling stops early when `decided` says the outcome can no longer change
/// (a FAIL that more samples cannot undo), or on cancellation (marked cut short).
/// `launcher` starts the processes of `command` checks in the run's sessions.
pub async fn observe(
    check: &Check,
    sampling: Sampling,
    endpoints: &Endpoints,
    launcher: &Launcher,
    cancel: &CancellationToken,
    decided: &(dyn Fn(&Observations) -> bool + Sync),
    metrics: Option<&crate::metrics::CheckMetrics>,
) -> Observations {
    let start = Instant::now();
    let probe = match check.prepare(endpoints, launcher) {
        Ok(p) => p,
        Err(f) => {
            let mut obs = Observations::default();
            obs.setup_error = Some(f.reason);
            return obs;
        }
    };
    let concurrency = sampling.concurrency.clamp(1, sampling.samples.max(1));
    let mut tally = Observations::tracking(sampling.track_over.iter().copied());
    tally.concurrency = concurrency;
    let shared = Mutex::new(tally);
    let sampling_started = Instant::now();
    let remaining = AtomicU32::new(sampling.samples);
    let stop = CancellationToken::new();
    let worker = || async {
        // Claim a sample before taking it, so workers never overshoot the plan.
        while remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
            let sample = tokio::select! {
                s = probe.sample() => s,
                _ = cancel.cancelled() => return,
                _ = stop.cancelled() => return,
            };
            {
                if let Some(m) = metrics {
                    match &sample {
                        Ok(us) => m.ok(std::time::Duration::from_micros(*us)),
                        Err(f) => m.error(f.class.as_str()),
                    }
                }
                let mut obs = shared.lock().unwrap_or_else(|p| p.into_inner());
                obs.record(sample);
                obs.span = sampling_started.elapsed();
                if decided(&obs) {
                    stop.cancel();
                    return;
                }
            }
            if sampling.interval > Duration::ZERO && remaining.load(Ordering::Acquire) > 0 {
                tokio::select! {
                    _ = tokio::time::sleep(sampling.interval.as_std()) => {}
                    _ = cancel.cancelled() => return,
                    _ = stop.cancelled() => return,
                }
            }
        }
    };
    let workers: Vec<_> = (0..concurrency).map(|_| worker()).collect();
    futures_util::future::join_all(workers).await;
    let mut obs = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    obs.cut_short = cancel.is_cancelled() && obs.samples < u64::from(sampling.samples);
    obs.stopped_early = stop.is_cancelled() && obs.samples < u64::from(sampling.samples);
    obs.duration = start.elapsed();
    // Every completed sample counts, failed ones included, as in a load run; `rps` is
    // judged on this.
    obs.rate = Some(obs.samples as f64 / obs.duration.as_secs_f64().max(1e-9));
    obs
}

/// `url` with the password of its user info replaced by `***`, for reports and reasons.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Real Postgres and Redis servers for the database kinds' tests (shared with `tests/`).
#[cfg(test)]
#[path = "../../tests/common/servers.rs"]
mod test_servers;

/// Runs one sample's exchange within `timeout`; past it the sample fails as a timeout,
/// saying that no answer came from `from` (evaluated only then).
async fn within(
    timeout: Duration,
    exchange: impl std::future::Future<Output = Sample>,
    from: impl FnOnce() -> String,
) -> Sample {
    match tokio::time::timeout(timeout.as_std(), exchange).await {
        Ok(sample) => sample,
        Err(_) => Err(Failure::new(
            FailureClass::Timeout,
            format!("no answer from {} within {timeout}", from()),
        )),
    }
}

/// A check's request headers, rendered for this run; a name or value that is not valid
/// HTTP is a setup failure.
fn header_map(
    headers: &[(String, Template)],
    endpoints: &Endpoints,
) -> Result<reqwest::header::HeaderMap, Failure> {
    header_map_captured(headers, endpoints, &[])
}

/// [`header_map`] with the values a conversation captured so far.
pub(crate) fn header_map_captured(
    headers: &[(String, Template)],
    endpoints: &Endpoints,
    captured: &[(String, String)],
) -> Result<reqwest::header::HeaderMap, Failure> {
    let setup = |m: String| Failure::new(FailureClass::Setup, m);
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let value = value.render_captured(endpoints, None, captured);
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| setup(format!("`{name}` is not a valid header name")))?;
        let value = reqwest::header::HeaderValue::from_str(&value)
            .map_err(|_| setup(format!("the value of header `{name}` is not valid")))?;
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_from_targets() {
        let table = [
            (
                "postgres://app:s3cret@db:5432/orders",
                "postgres://app:***@db:5432/orders",
            ),
            ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
            ("redis://cache:6379", "redis://cache:6379"),
            (
                "postgres://app@db/x?password=no",
                "postgres://app@db/x?password=no",
            ),
            ("postgres://a:b@c@h/d", "postgres://a:***@h/d"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in table {
            assert_eq!(super::without_password(url), shown, "{url}");
        }
    }
}
