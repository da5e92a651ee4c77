//! Service forms a checklist can declare: a local process, an already-running external
//! URL, and (reserved for the container provider) an image.

use crate::units::Duration;
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
    /// Container image for the Docker provider (reserved: not run by this version).
    #[serde(default)]
    pub image: Option<String>,
    /// How golive knows the service is ready. Default: a TCP connect to its port.
    #[serde(default)]
    pub ready: Option<ReadySpec>,
    /// How long bring-up may take before the run ends as an environment failure. Default: 30s.
    #[serde(default)]
    pub startup_timeout: Option<Duration>,
    /// Services that must be ready before this one starts. Start order follows these.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// A local command. `{port}` in its arguments or environment is replaced by a free
/// port golive picks on 127.0.0.1; `{golive}` by the path of the running golive binary.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Program and arguments (argv); never run through a shell.
    pub command: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the checklist's folder. Default: that folder.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Base URL of the service once up. Default: `http://127.0.0.1:{port}`.
    #[serde(default)]
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
}
