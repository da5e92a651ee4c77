//! Readiness: poll a probe until it passes, the startup timeout runs out, the process
//! exits, or the run is cancelled.

use super::process::Running;
use super::ReadyProbe;
use crate::plan::Endpoint;
use crate::units::Duration;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

const POLL: std::time::Duration = std::time::Duration::from_millis(100);
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn wait(
    probe: &ReadyProbe,
    endpoint: &Endpoint,
    timeout: Duration,
    cancel: &CancellationToken,
    mut process: Option<&mut Running>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout.as_std();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(
            crate::check::TlsClient::default()
                .config(&[b"http/1.1"])
                .map_err(|e| format!("TLS setup failed: {e}"))?,
        )
        .build()
        .map_err(|e| format!("cannot build the readiness client: {e}"))?;
    loop {
        if let Some(p) = process.as_deref_mut() {
            if let Some(status) = p.exited() {
                return Err(format!("the process exited before it was ready ({status})"));
            }
        }
        let last = match once(probe, endpoint, &client).await {
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

async fn once(
    probe: &ReadyProbe,
    endpoint: &Endpoint,
    client: &reqwest::Client,
) -> Result<(), String> {
    match probe {
        ReadyProbe::Tcp => {
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
        ReadyProbe::Http { path } => {
            let url = format!("{}{}", endpoint.url, path);
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("GET {url} answered {}", r.status().as_u16())),
                Err(e) => Err(format!("GET {url} failed: {e}")),
            }
        }
    }
}
