//! Containers started through testcontainers on the run's own network: fixed published
//! ports on 127.0.0.1 (so a restarted container keeps its address), CPU and memory
//! limits, the run's labels, output kept as a tail. Fault drills can kill, stop, pause
//! and start one again.

use super::docker::{Docker, RUN_LABEL, SERVICE_LABEL};
use super::tail::{LineSplitter, LogTail};
use super::ContainerForm;
use crate::template::{Endpoint, Endpoints, ProcessVars};
use std::collections::BTreeMap;
use testcontainers::bollard::models::{RestartPolicy, RestartPolicyNameEnum};
use testcontainers::core::logs::LogFrame;
use testcontainers::core::{ExecCommand, IntoContainerPort};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// Where golive's reference image keeps the golive binary (`{golive}` in a container).
const GOLIVE_IN_IMAGE: &str = "/golive";

/// How long a container may take to stop before Docker kills it.
const STOP_GRACE_S: i32 = 5;

/// The least time the engine gets to create and start a container. `startup_timeout`
/// bounds the service's readiness (golive's probe, which then reports "not ready within"
/// with the log tail); the engine's own start can take seconds on a busy machine, and
/// cutting it at a 3 s readiness budget would report an engine delay as a service that
/// never got ready, with no log to show.
const ENGINE_START_FLOOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Where the run's containers live.
pub struct RunNetwork {
    pub docker: Docker,
    pub run_id: String,
    pub network: String,
}

/// A container golive started.
pub struct Running {
    pub name: String,
    pub endpoint: Endpoint,
    pub container_name: String,
    container: ContainerAsync<GenericImage>,
    docker: Docker,
    pub tail: LogTail,
}

/// The container name of `service` in run `run_id`; also its DNS name on the network.
pub fn container_name(run_id: &str, service: &str) -> String {
    format!("golive-{}-{service}", run_id.to_lowercase())
}

/// How other containers reach this one: its name and container ports.
pub fn inner_endpoint(
    outer: &Endpoint,
    name: &str,
    port: u16,
    ports: BTreeMap<String, u16>,
) -> Endpoint {
    let url = reqwest::Url::parse(&outer.url)
        .ok()
        .and_then(|mut u| {
            u.set_host(Some(name)).ok()?;
            u.set_port(Some(port)).ok()?;
            Some(u.to_string().trim_end_matches('/').to_string())
        })
        .unwrap_or_else(|| format!("http://{name}:{port}"));
    Endpoint {
        url,
        host: name.to_string(),
        port,
        ports,
    }
}

/// The container's named ports by name, as other containers and its own command see
/// them (empty for one unnamed `port`).
pub fn container_ports(form: &ContainerForm) -> BTreeMap<String, u16> {
    form.named_ports.iter().cloned().collect()
}

/// Each container port with the host port it is published on: the named ports on free
/// host ports, or the one `port` on `host_port` or a free one.
fn published(form: &ContainerForm) -> Result<Vec<(u16, u16)>, String> {
    if form.named_ports.is_empty() {
        let host = match form.host_port {
            Some(p) => p,
            None => super::process::free_port()?,
        };
        return Ok(vec![(form.port, host)]);
    }
    let free = super::process::free_ports(form.named_ports.len())?;
    Ok(form.named_ports.iter().map(|(_, p)| *p).zip(free).collect())
}

/// Creates and starts the container; on failure, the reason and its last log lines.
/// A container that was created but failed to start is removed by the run's clean-up
/// (it carries the run label).
pub async fn start(
    name: &str,
    form: &ContainerForm,
    net: &RunNetwork,
    inner: &Endpoints,
    watch: Option<String>,
    startup_timeout: std::time::Duration,
    restart: crate::spec::RestartPolicy,
) -> Result<Running, (String, Vec<String>)> {
    let published = published(form).map_err(|e| (e, Vec::new()))?;
    // The first pair is `port` (or the first named port): what `{port}` means.
    let host_port = published[0].1;
    let host_of = |container: u16| {
        published
            .iter()
            .find(|(c, _)| *c == container)
            .map_or(host_port, |(_, h)| *h)
    };
    let inner_ports = container_ports(form);
    let outer_ports: BTreeMap<String, u16> = form
        .named_ports
        .iter()
        .map(|(n, p)| (n.clone(), host_of(*p)))
        .collect();
    let vars = ProcessVars {
        port: form.port,
        ports: &inner_ports,
        golive: GOLIVE_IN_IMAGE,
    };
    // The url is how golive reaches the service, so it reads the host ports.
    let outer_vars = ProcessVars {
        port: host_port,
        ports: &outer_ports,
        golive: GOLIVE_IN_IMAGE,
    };
    let url = form.url.render(inner, Some(&outer_vars));
    let endpoint = super::process::endpoint(&url, host_port, outer_ports.clone())
        .map_err(|e| (e, Vec::new()))?;
    let container_name = container_name(&net.run_id, name);
    let tail = LogTail::new(watch);
    let consumer = {
        let (tail, name) = (tail.clone(), name.to_string());
        // A frame may end mid-line: one splitter per stream carries the rest over.
        let splitters: std::sync::Mutex<[LineSplitter; 2]> = Default::default();
        move |frame: &LogFrame| {
            let mut s = splitters.lock().unwrap_or_else(|p| p.into_inner());
            let (i, bytes) = match frame {
                LogFrame::StdOut(b) => (0, b),
                LogFrame::StdErr(b) => (1, b),
            };
            s[i].feed(bytes, |l| tail.push(&name, l));
        }
    };
    let (cpus, memory) = (form.cpus, form.memory);
    let mut image = GenericImage::new(form.repository.as_str(), form.tag.as_str());
    for (container_port, _) in &published {
        image = image.with_exposed_port(container_port.tcp());
    }
    let mut request = image
        .with_network(net.network.clone())
        .with_container_name(container_name.clone())
        .with_label(RUN_LABEL, net.run_id.clone())
        .with_label(SERVICE_LABEL, name)
        .with_startup_timeout(startup_timeout.max(ENGINE_START_FLOOR))
        .with_log_consumer(consumer)
        .with_host_config_modifier(move |hc| {
            // Publish on loopback only: nothing outside this machine reaches the run.
            if let Some(bindings) = hc.port_bindings.as_mut() {
                for b in bindings.values_mut().flatten().flatten() {
                    b.host_ip = Some("127.0.0.1".into());
                }
            }
            if let Some(c) = cpus {
                hc.nano_cpus = Some((c * 1e9) as i64);
            }
            if let Some(m) = memory {
                hc.memory = Some(m.bytes() as i64);
            }
            if restart == crate::spec::RestartPolicy::OnFailure {
                hc.restart_policy = Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::ON_FAILURE),
                    maximum_retry_count: None,
                });
            }
        });
    for (container_port, host) in &published {
        request = request.with_mapped_port(*host, container_port.tcp());
    }
    for (k, v) in &form.env {
        request = request.with_env_var(k.clone(), v.render(inner, Some(&vars)));
    }
    if !form.command.is_empty() {
        let cmd: Vec<String> = form
            .command
            .iter()
            .map(|a| a.render(inner, Some(&vars)))
            .collect();
        request = request.with_cmd(cmd);
    }
    let container = request
        .start()
        .await
        .map_err(|e| (start_error(&e.to_string(), form, &published), tail.lines()))?;
    tracing::info!(service = %name, container = %container_name, url = %endpoint.url, "Service container started.");
    Ok(Running {
        name: name.to_string(),
        endpoint,
        container_name,
        container,
        docker: net.docker.clone(),
        tail,
    })
}

/// testcontainers' errors, said in golive's terms.
fn start_error(e: &str, form: &ContainerForm, published: &[(u16, u16)]) -> String {
    let image = format!("{}:{}", form.repository, form.tag);
    if e.contains("port is already allocated") || e.contains("address already in use") {
        match published {
            [(container, host)] => format!("host port {host} is already in use, so `{image}` cannot publish port {container}; free it or change `host_port`"),
            _ => {
                let pairs: Vec<String> = published
                    .iter()
                    .map(|(c, h)| format!("{c} on host port {h}"))
                    .collect();
                format!(
                    "a host port is already in use, so `{image}` cannot publish its ports ({}); another program took one after golive found it free: run again",
                    pairs.join(", ")
                )
            }
        }
    } else if e.contains("failed to pull") || e.contains("No such image") {
        format!("image `{image}` is not present and golive never pulls; build it first")
    } else if e.contains("startup timeout") {
        format!("the engine did not start the container from `{image}` in time: {e}")
    } else {
        format!("container from `{image}` did not start: {e}")
    }
}

impl Running {
    pub fn id(&self) -> &str {
        self.container.id()
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// `Some(why)` once the container is no longer running.
    pub async fn exited(&self) -> Option<String> {
        match self.container.is_running().await {
            Ok(true) => None,
            Ok(false) => Some(match self.container.exit_code().await {
                Ok(Some(code)) => format!("the container exited with code {code}"),
                _ => "the container is not running".into(),
            }),
            Err(e) => Some(format!("cannot inspect the container: {e}")),
        }
    }

    /// Runs `argv` inside the container; Ok when it exits 0.
    pub async fn exec_ok(&self, argv: &[String]) -> Result<(), String> {
        let mut r = self
            .container
            .exec(ExecCommand::new(argv.to_vec()))
            .await
            .map_err(|e| format!("`{}` could not run in the container: {e}", argv.join(" ")))?;
        let out = r.stderr_to_vec().await.unwrap_or_default();
        match r.exit_code().await {
            Ok(Some(0)) => Ok(()),
            Ok(code) => Err(format!(
                "`{}` exited with {}: {}",
                argv.join(" "),
                code.map_or("no code".to_string(), |c| c.to_string()),
                String::from_utf8_lossy(&out).trim()
            )),
            Err(e) => Err(format!("`{}` failed: {e}", argv.join(" "))),
        }
    }

    pub async fn kill(&self) -> Result<(), String> {
        self.docker.kill(self.id()).await
    }

    /// Its main process SIGKILLed from the host: the engine's restart policy applies.
    pub async fn crash(&self) -> Result<(), String> {
        self.docker.crash(self.id()).await
    }

    pub async fn halt(&self) -> Result<(), String> {
        self.container
            .stop_with_timeout(Some(STOP_GRACE_S))
            .await
            .map_err(|e| format!("cannot stop the container: {e}"))
    }

    pub async fn pause(&self) -> Result<(), String> {
        self.container
            .pause()
            .await
            .map_err(|e| format!("cannot pause the container: {e}"))
    }

    pub async fn resume(&self) -> Result<(), String> {
        self.container
            .unpause()
            .await
            .map_err(|e| format!("cannot unpause the container: {e}"))
    }

    pub async fn start_again(&self) -> Result<(), String> {
        self.tail.rearm();
        self.container
            .start()
            .await
            .map_err(|e| format!("cannot start the container again: {e}"))
    }

    /// Stops the container gracefully, removes it, and returns its last lines.
    pub async fn stop(self) -> Vec<String> {
        let _ = self.container.stop_with_timeout(Some(STOP_GRACE_S)).await;
        let tail = self.tail.lines();
        if let Err(e) = self.container.rm().await {
            tracing::warn!(service = %self.name, error = %e, "Removing the container failed; the run's clean-up will retry.");
        }
        tracing::info!(service = %self.name, "Service container stopped and removed.");
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    fn form(port: u16, named: &[(&str, u16)], host_port: Option<u16>) -> ContainerForm {
        ContainerForm {
            repository: "golive/reference".into(),
            tag: "0.1.0".into(),
            command: Vec::new(),
            env: Vec::new(),
            port,
            named_ports: named.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
            host_port,
            cpus: None,
            memory: None,
            url: Template::literal("http://127.0.0.1:1"),
        }
    }

    #[test]
    fn each_named_port_is_published_on_a_host_port_of_its_own() {
        let named = form(5002, &[("api", 5002), ("web", 3000)], None);
        let pairs = published(&named).unwrap();
        assert_eq!(
            pairs.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            [5002, 3000]
        );
        assert_ne!(pairs[0].1, pairs[1].1);
        assert_eq!(
            container_ports(&named),
            [("api".to_string(), 5002), ("web".to_string(), 3000)].into()
        );
        assert_eq!(
            published(&form(8080, &[], Some(9000))).unwrap(),
            [(8080, 9000)]
        );
        assert!(container_ports(&form(8080, &[], None)).is_empty());
    }

    #[test]
    fn other_containers_see_the_container_ports() {
        let outer = Endpoint {
            url: "http://127.0.0.1:41000".into(),
            host: "127.0.0.1".into(),
            port: 41000,
            ports: [("api".to_string(), 41000), ("web".to_string(), 41001)].into(),
        };
        let named = form(5002, &[("api", 5002), ("web", 3000)], None);
        let inner = inner_endpoint(&outer, "golive-r-app", 5002, container_ports(&named));
        assert_eq!(inner.url, "http://golive-r-app:5002");
        assert_eq!(inner.ports["web"], 3000);
    }
}
