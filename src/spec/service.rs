//! Service forms a checklist can declare: a container, a local process, or an
//! already-running external URL.

use crate::units::{ByteSize, Duration};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A service the checks need. Give at least one form; with several, the provider
/// (`--provider`) chooses which one runs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Run it as a local process started and stopped by golive.
    #[serde(default)]
    pub process: Option<ProcessSpec>,
    /// Reach an already-running deployment (staging, production) at a URL.
    #[serde(default)]
    pub external: Option<ExternalSpec>,
    /// Run it as a container on a Docker network created for the run.
    #[serde(default)]
    pub container: Option<ContainerSpec>,
    /// How golive knows the service is ready. Default: a TCP connect to its port.
    #[serde(default)]
    pub ready: Option<ReadySpec>,
    /// How long bring-up may take before the run ends as an environment failure. Default: 30s.
    #[serde(default)]
    #[schemars(extend("default" = "30s", "examples" = ["2m"]))]
    pub startup_timeout: Option<Duration>,
    /// Services that must be ready before this one starts. Start order follows these.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// What brings the service back when it crashes: `no` (default; a `kill` drill's
    /// service is started again by golive after the drill's `for`, as an orchestrator
    /// would) or `on-failure` (the system's own supervisor: golive restarts a process
    /// that exits with an error or a signal, the engine's restart policy a container, so
    /// a `kill` drill times the system's own recovery). A process restarted 5 times
    /// within 10 s is left down, as systemd's start limit does.
    #[serde(default)]
    #[schemars(extend("default" = "no"))]
    pub restart: Option<RestartPolicy>,
}

/// A service's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never restarted by itself.
    #[default]
    No,
    /// Restarted when it exits with an error or is killed by a signal (not after a clean
    /// exit or a graceful stop), like systemd's `Restart=on-failure` and Docker's
    /// `--restart on-failure`.
    OnFailure,
}

/// A local command. `{port}` in its arguments or environment is replaced by a free
/// port golive picks on 127.0.0.1; `{golive}` by the path of the running golive binary.
/// With `ports: [api, web]`, `{ports.api}` and `{ports.web}` are each a free port of
/// their own, and `{port}` is the first of them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Program and arguments (argv); never run through a shell.
    #[schemars(length(min = 1), extend("examples" = [["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"]]))]
    pub command: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the checklist's folder. Default: that folder.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Base URL of the service once up. Default: `http://127.0.0.1:{port}`.
    #[serde(default)]
    #[schemars(extend("default" = "http://127.0.0.1:{port}"))]
    pub url: Option<String>,
    /// Names of the ports the process listens on, e.g. `[api, web]`: golive picks a free
    /// port on 127.0.0.1 for each, written `{ports.api}` in `command`, `env`, `url` and
    /// the ready command, and `{services.NAME.ports.api}` in checks and other services.
    /// `{port}` is then the first of them. Lowercase identifiers, unique, at most 16.
    /// Default: one unnamed port, `{port}`.
    #[serde(default)]
    #[schemars(extend(
        "minItems" = 1,
        "maxItems" = super::ports::MAX_PORTS,
        "uniqueItems" = true,
        "items" = {"type": "string", "pattern": super::ports::PORT_NAME_PATTERN},
        "examples" = [["api", "web"]]
    ))]
    pub ports: Option<Vec<String>>,
}

/// A container started from a local image (never pulled: build it first, e.g. with
/// `golive image build`). Services reach each other by name on the run's network:
/// inside a container, `{services.db.host}` is the database container's name and
/// `{services.db.port}` its container port (and `{services.db.ports.NAME}` its named
/// container port). `{port}` is this container's own `port`, or the first of its `ports`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["port"]}, {"required": ["ports"]}]))]
pub struct ContainerSpec {
    /// Image as `name:tag`, e.g. `golive/reference:0.1.0`.
    #[schemars(extend("pattern" = r"^[^@]*:[^/@]+$", "examples" = ["golive/reference:0.1.0"]))]
    pub image: String,
    /// Arguments passed to the image's entrypoint. Default: the image's own.
    #[serde(default)]
    pub command: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The container port the service listens on; published on 127.0.0.1. Give this or
    /// `ports`.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// Named container ports, e.g. `{api: 5002, web: 3000}`, for a service that listens on
    /// several: each is published on a free host port on 127.0.0.1. Checks read the host
    /// port as `{services.NAME.ports.api}`; in this container's `url`, `{ports.api}` is
    /// the host port, in its `command` and `env` the container port. Give this or `port`.
    #[serde(default)]
    pub ports: Option<super::ports::NamedPorts>,
    /// Host port to publish `port` on (not with `ports`). Default: a free port golive picks.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub host_port: Option<u16>,
    /// CPU limit in cores, e.g. `0.5`. Default: none.
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0, "examples" = [0.5]))]
    pub cpus: Option<f64>,
    /// Memory limit, e.g. `256MB`. Default: none.
    #[serde(default)]
    pub memory: Option<ByteSize>,
    /// Base URL of the service as golive reaches it; `{port}` is the published host
    /// port (of the first of `ports`). Default: `http://127.0.0.1:{port}`.
    #[serde(default)]
    #[schemars(extend("default" = "http://127.0.0.1:{port}"))]
    pub url: Option<String>,
}

/// An already-running service.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalSpec {
    /// Base URL, e.g. `https://staging.example.com`.
    pub url: String,
}

/// The readiness probe, polled until it passes or `startup_timeout` runs out.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReadySpec {
    /// An HTTP GET on the service URL plus `path` answers 2xx.
    Http {
        /// Path appended to the service URL, e.g. `/health`.
        path: String,
    },
    /// A TCP connection to the service's host and port succeeds.
    Tcp {},
    /// The service wrote a line containing `line` (stdout or stderr).
    Log {
        /// Text to look for, e.g. `database system is ready to accept connections`.
        #[schemars(length(min = 1))]
        line: String,
    },
    /// A command exits with status 0: run inside the container for a container, on
    /// this machine for a process. `{port}` (and `{ports.NAME}`) is the service's port as
    /// seen from there.
    Command {
        /// Program and arguments (argv); never run through a shell.
        #[schemars(length(min = 1))]
        command: Vec<String>,
    },
}
