//! The Docker engine, through testcontainers' own bollard client: is it there, is an
//! image present, the run's network, container stats, and removing whatever a run
//! left behind. Everything golive creates carries the label `golive.run=<run id>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use testcontainers::bollard::{self, query_parameters as q};
use tokio_util::sync::CancellationToken;

/// The label on every container and network a run creates.
pub const RUN_LABEL: &str = "golive.run";
/// The label naming the checklist service a container runs.
pub const SERVICE_LABEL: &str = "golive.service";

/// A Docker engine that answered.
#[derive(Clone)]
pub struct Docker {
    pub client: bollard::Docker,
}

impl Docker {
    /// Connects the way `golive image` does (testcontainers' client, the engine asked
    /// for its version); an engine that does not answer is an error naming the socket.
    pub async fn connect() -> Result<Docker, String> {
        match crate::images::connect().await {
            Ok(engine) => Ok(Docker {
                client: engine.docker,
            }),
            Err(crate::images::Error::NoEngine { host, reason }) => {
                Err(format!("Docker did not answer at {host}: {reason}"))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether `image` (`name:tag`) exists locally; golive never pulls.
    pub async fn image_present(&self, image: &str) -> Result<bool, String> {
        crate::images::present(&self.client, image)
            .await
            .map_err(|e| format!("cannot inspect image `{image}`: {e}"))
    }

    /// Creates the run's bridge network, labelled with the run id.
    pub async fn create_network(&self, name: &str, run_id: &str) -> Result<(), String> {
        let req = bollard::models::NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(HashMap::from([(RUN_LABEL.to_string(), run_id.to_string())])),
            ..Default::default()
        };
        self.client
            .create_network(req)
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot create the network `{name}`: {e}"))
    }

    /// Force-removes every container and network labelled with `run_id`, or with any
    /// run id when `None`. Returns the names removed.
    pub async fn remove_labelled(&self, run_id: Option<&str>) -> Result<Removed, String> {
        let label = match run_id {
            Some(id) => format!("{RUN_LABEL}={id}"),
            None => RUN_LABEL.to_string(),
        };
        let filters = HashMap::from([("label".to_string(), vec![label])]);
        let mut removed = Removed::default();
        let containers = self
            .client
            .list_containers(Some(
                q::ListContainersOptionsBuilder::new()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| format!("cannot list containers: {e}"))?;
        for c in containers {
            let Some(id) = c.id else { continue };
            let name = c
                .names
                .and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_string()))
                .unwrap_or_else(|| id.clone());
            let opts = q::RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            match self.client.remove_container(&id, Some(opts)).await {
                Ok(()) => removed.containers.push(name),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(format!("cannot remove container `{name}`: {e}")),
            }
        }
        let networks = self
            .client
            .list_networks(Some(
                q::ListNetworksOptionsBuilder::new()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| format!("cannot list networks: {e}"))?;
        for n in networks {
            let Some(name) = n.name else { continue };
            match self.client.remove_network(&name).await {
                Ok(()) => removed.networks.push(name),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(format!("cannot remove network `{name}`: {e}")),
            }
        }
        Ok(removed)
    }

    /// SIGKILL to a container's main process (testcontainers has no kill).
    /// SIGKILL to the container's main process from the host, as a crash or the OOM
    /// killer would: unlike `kill` through the API (a deliberate stop, which the engine
    /// never restarts), the engine sees the process die and applies the restart policy.
    pub async fn crash(&self, id: &str) -> Result<(), String> {
        let state = self
            .client
            .inspect_container(id, None::<q::InspectContainerOptions>)
            .await
            .map_err(|e| format!("cannot inspect the container: {e}"))?
            .state;
        let pid = state.and_then(|s| s.pid).filter(|p| *p > 0);
        let Some(pid) = pid else {
            return Err("the container has no running process to crash".into());
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .map_err(|e| format!("cannot SIGKILL the container's process {pid} from the host: {e} (it needs the rights over it that root has)"))
    }

    pub async fn kill(&self, id: &str) -> Result<(), String> {
        self.client
            .kill_container(
                id,
                Some(
                    q::KillContainerOptionsBuilder::new()
                        .signal("SIGKILL")
                        .build(),
                ),
            )
            .await
            .map_err(|e| format!("cannot kill the container: {e}"))
    }

    /// Follows a container's stats stream (a reading about every second) in the
    /// background until `stop`, re-opening it after the container restarts. A single
    /// long-lived request: polling one-shot stats from a fresh request each second got
    /// slower by several milliseconds per call here (engine 20.10, bollard 0.21).
    pub fn follow_stats(&self, id: &str, stop: CancellationToken) -> StatsFeed {
        let latest: Arc<Mutex<Option<(u64, u64, std::time::Instant)>>> = Arc::default();
        let (docker, id, feed) = (self.client.clone(), id.to_string(), latest.clone());
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while !stop.is_cancelled() {
                let opts = q::StatsOptionsBuilder::new().stream(true).build();
                let mut stream = docker.stats(&id, Some(opts));
                loop {
                    let item = tokio::select! {
                        item = stream.next() => item,
                        _ = stop.cancelled() => return,
                    };
                    let Some(Ok(s)) = item else { break };
                    let reading = (|| {
                        let cpu = s.cpu_stats.as_ref()?.cpu_usage.as_ref()?.total_usage?;
                        let mem = memory_in_use(s.memory_stats.as_ref()?)?;
                        // A stopped container reports zeros rather than an error.
                        (cpu > 0 || mem > 0).then(|| (cpu, mem, std::time::Instant::now()))
                    })();
                    *feed.lock().unwrap_or_else(|p| p.into_inner()) = reading;
                }
                *feed.lock().unwrap_or_else(|p| p.into_inner()) = None;
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    _ = stop.cancelled() => return,
                }
            }
        });
        StatsFeed { latest }
    }
}

/// The latest stats reading of one container: (total CPU time in nanoseconds, memory
/// in use, when it arrived), or `None` while it is not running.
#[derive(Clone)]
pub struct StatsFeed {
    latest: Arc<Mutex<Option<(u64, u64, std::time::Instant)>>>,
}

impl StatsFeed {
    pub fn latest(&self) -> Option<(u64, u64, std::time::Instant)> {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Usage minus inactive page cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`),
/// following docker/cli's `calculateMemUsageUnixNoCache`.
fn memory_in_use(m: &bollard::models::ContainerMemoryStats) -> Option<u64> {
    let usage = m.usage?;
    let stats = m.stats.as_ref();
    let cache = ["total_inactive_file", "inactive_file"]
        .iter()
        .find_map(|k| stats.and_then(|s| s.get(*k)).filter(|v| **v < usage))
        .copied()
        .unwrap_or(0);
    Some(usage - cache)
}

/// What a clean-up removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_in_use_leaves_out_the_page_cache() {
        let mut m = bollard::models::ContainerMemoryStats {
            usage: Some(100 << 20),
            stats: Some(HashMap::from([("inactive_file".to_string(), 30 << 20)])),
            ..Default::default()
        };
        assert_eq!(memory_in_use(&m), Some(70 << 20));
        m.stats = Some(HashMap::from([(
            "total_inactive_file".to_string(),
            10 << 20,
        )]));
        assert_eq!(memory_in_use(&m), Some(90 << 20));
        // A cache figure above usage is ignored, as docker/cli does.
        m.stats = Some(HashMap::from([("inactive_file".to_string(), 200 << 20)]));
        assert_eq!(memory_in_use(&m), Some(100 << 20));
    }
}
