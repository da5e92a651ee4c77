//! Readiness: poll a probe until it passes, the startup timeout runs out, the service
//! exits, or the run is cancelled. Also used by fault drills to time recovery.

use super::instance::Instance;
use super::session::{Launcher, RunError};
use super::ReadyProbe;
use crate::template::{Endpoint, Endpoints, ProcessVars};
use crate::units::Duration;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const POLL: std::time::Duration = std::time::Duration::from_millis(100);
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A probe with its templates rendered for one service.
#[derive(Debug, Clone)]
pub enum Ready {
    Http { path: String },
    Tcp,
    Log,
    Command(Vec<String>),
}

impl Ready {
    /// Renders the probe; `vars` holds the service's ports as the command sees them (the
    /// container ports inside a container).
    pub fn resolve(probe: &ReadyProbe, endpoints: &Endpoints, vars: &ProcessVars) -> Ready {
        match probe {
            ReadyProbe::Http { path } => Ready::Http { path: path.clone() },
            ReadyProbe::Tcp => Ready::Tcp,
            ReadyProbe::Log { .. } => Ready::Log,
            ReadyProbe::Command { argv } => Ready::Command(
                argv.iter()
                    .map(|a| a.render(endpoints, Some(vars)))
                    .collect(),
            ),
        }
    }
}

/// The line a log probe waits for, if any.
pub fn watched_line(probe: &ReadyProbe) -> Option<String> {
    match probe {
        ReadyProbe::Log { line } => Some(line.clone()),
        _ => None,
    }
}

pub async fn wait(
    ready: &Ready,
    endpoint: &Endpoint,
    timeout: Duration,
    cancel: &CancellationToken,
    mut instance: Option<&mut Instance>,
    launcher: &Launcher,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout.as_std();
    let client = client()?;
    loop {
        if let Some(i) = instance.as_deref_mut() {
            if let Some(status) = i.exited().await {
                return Err(format!("it stopped before it was ready ({status})"));
            }
        }
        let last = match once(ready, endpoint, &client, instance.as_deref(), launcher).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(format!("not ready within {timeout} (last probe: {last})"));
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = cancel.cancelled() => return Err("interrupted while waiting for readiness".into()),
        }
    }
}

/// Polls until the probe passes (the service may be down meanwhile, as during a drill);
/// returns how long it took, or `None` when `limit` ran out or the run was cancelled.
pub async fn recovery(
    ready: &Ready,
    endpoint: &Endpoint,
    limit: std::time::Duration,
    cancel: &CancellationToken,
    instance: &tokio::sync::Mutex<Instance>,
    since: Instant,
    launcher: &Launcher,
) -> Option<std::time::Duration> {
    let client = client().ok()?;
    loop {
        let passed = {
            let i = instance.lock().await;
            once(ready, endpoint, &client, Some(&i), launcher)
                .await
                .is_ok()
        };
        if passed {
            return Some(since.elapsed());
        }
        if since.elapsed() >= limit {
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = cancel.cancelled() => return None,
        }
    }
}

/// An HTTP client for probes: no proxy, no redirects, golive's TLS setup.
pub(super) fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(
            crate::net::TlsClient::default()
                .config(&[b"http/1.1"])
                .map_err(|e| format!("TLS setup failed: {e}"))?,
        )
        .build()
        .map_err(|e| format!("cannot build the readiness client: {e}"))
}

/// Output of a readiness command kept for its error message.
const KEEP_OUTPUT: usize = 4 << 10;

/// Runs `argv` on this machine, in a session of its own; Ok when it exits 0 within the
/// probe timeout.
pub async fn local_command_ok(argv: &[String], launcher: &Launcher) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    match launcher.run(cmd, "ready", PROBE_TIMEOUT, KEEP_OUTPUT).await {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`{}` exited with {}: {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(RunError::TimedOut) => Err(format!(
            "`{}` did not finish within {PROBE_TIMEOUT:?}",
            argv.join(" ")
        )),
        Err(e) => Err(format!("`{program}`: {e}")),
    }
}

async fn once(
    ready: &Ready,
    endpoint: &Endpoint,
    client: &reqwest::Client,
    instance: Option<&Instance>,
    launcher: &Launcher,
) -> Result<(), String> {
    match ready {
        Ready::Tcp => {
            let connect = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port));
            match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!(
                    "TCP connect to {}:{} failed: {e}",
                    endpoint.host, endpoint.port
                )),
                Err(_) => Err(format!(
                    "TCP connect to {}:{} timed out",
                    endpoint.host, endpoint.port
                )),
            }
        }
        Ready::Http { path } => {
            let url = format!("{}{}", endpoint.url, path);
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("GET {url} answered {}", r.status().as_u16())),
                Err(e) => Err(format!("GET {url} failed: {e}")),
            }
        }
        Ready::Log => match instance {
            Some(i) if i.tail().seen() => Ok(()),
            Some(_) => Err("the ready line has not been written yet".into()),
            None => Err("a log-line probe needs a service golive starts".into()),
        },
        Ready::Command(argv) => match instance {
            Some(i) => i.command_ok(argv).await,
            None => local_command_ok(argv, launcher).await,
        },
    }
}
