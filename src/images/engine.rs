//! The Docker engine as the image builder sees it: one configured client (the same one
//! testcontainers uses, so the provider and `golive image` agree on the socket), whether
//! an image is present, and draining the engine's progress streams into errors that
//! carry the engine's own message.

use super::{Error, Progress};
use futures_util::{Stream, StreamExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testcontainers::bollard::errors::Error as BollardError;
use testcontainers::bollard::models::ImageInspect;
use testcontainers::bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use testcontainers::bollard::{body_full, body_try_stream, Docker};

/// How long the first request may take before the engine counts as absent. A local
/// engine answers `/version` in milliseconds; the client's own timeout is 120 s.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A Docker engine that answered.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    /// Where it answered, e.g. `unix:///var/run/docker.sock`.
    pub host: String,
    /// The engine's version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// The engine's architecture in Docker's words (`amd64`, `arm64`).
    pub arch: String,
}

/// Connects to the engine testcontainers would use and asks its version, so "no engine"
/// is found here, with the socket named, rather than halfway through a build.
pub async fn connect() -> Result<Engine, Error> {
    let host = docker_host();
    let no_engine = |reason: String| Error::NoEngine {
        host: host.clone(),
        reason,
    };
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| no_engine(e.to_string()))?;
    let version = tokio::time::timeout(ANSWER_TIMEOUT, docker.version())
        .await
        .map_err(|_| no_engine(format!("no answer in {} s", ANSWER_TIMEOUT.as_secs())))?
        .map_err(|e| no_engine(e.to_string()))?;
    Ok(Engine {
        docker,
        host: host.clone(),
        version: version.version.unwrap_or_default(),
        arch: version.arch.unwrap_or_default(),
    })
}

/// Whether `image` (`name:tag`) is in the engine's local store. Nothing is pulled.
pub async fn present(docker: &Docker, image: &str) -> Result<bool, Error> {
    inspect(docker, image).await.map(|i| i.is_some())
}

/// The local image's details, or `None` when the engine does not have it.
pub async fn inspect(docker: &Docker, image: &str) -> Result<Option<ImageInspect>, Error> {
    match docker.inspect_image(image).await {
        Ok(i) => Ok(Some(i)),
        Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(Error::docker(format!("inspect {image}"))(e)),
    }
}

/// A build context tar: small ones are built in memory, large ones (a whole rootfs) are
/// streamed from a file.
pub(super) enum Context {
    Memory(Vec<u8>),
    File(PathBuf),
}

/// Builds `image` from `context` with the legacy builder, which needs no BuildKit session
/// (engine 20.10 may not serve one to this client) and pulls nothing for `FROM scratch`.
/// With `rebuild`, the builder's cache is not used.
pub(super) async fn build_legacy(
    engine: &Engine,
    image: &str,
    context: Context,
    rebuild: bool,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    let started = Instant::now();
    let body = match context {
        Context::Memory(bytes) => body_full(bytes.into()),
        Context::File(path) => {
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(Error::io(&path))?;
            body_try_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20))
        }
    };
    let options = BuildImageOptionsBuilder::new()
        .t(image)
        .version(BuilderVersion::BuilderV1)
        .rm(true)
        .forcerm(true)
        .nocache(rebuild)
        .build();
    let stream = engine.docker.build_image(options, None, Some(body));
    drain(stream, image, |i| i.stream.clone()).await?;
    progress(&format!(
        "Built {image} in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs a build or import stream to its end. Each item's text (the builder's output or
/// the import's status) is kept, so a failure reports the engine's message together with
/// the lines that led to it.
pub(super) async fn drain<T>(
    stream: impl Stream<Item = Result<T, BollardError>>,
    image: &str,
    text: impl Fn(&T) -> Option<String>,
) -> Result<Vec<String>, Error> {
    let mut log = Vec::new();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        match item {
            Ok(item) => log.extend(
                text(&item)
                    .into_iter()
                    .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
                    .filter(|l| !l.trim().is_empty()),
            ),
            Err(BollardError::DockerStreamError { error }) => {
                return Err(Error::Build {
                    image: image.to_owned(),
                    message: error,
                    log: last_lines(log, 10),
                })
            }
            Err(e) => return Err(Error::docker(format!("make {image}"))(e)),
        }
    }
    Ok(log)
}

pub(super) fn last_lines(mut lines: Vec<String>, n: usize) -> Vec<String> {
    let skip = lines.len().saturating_sub(n);
    lines.drain(..skip);
    lines
}

/// The host testcontainers 0.28 resolves without its `properties-config` feature:
/// `DOCKER_HOST`, else the first socket that exists of the default and Docker Desktop
/// paths. Only used to name the socket in an error; the client itself comes from
/// testcontainers.
fn docker_host() -> String {
    if let Some(h) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return h;
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(std::path::PathBuf::from);
    let candidates = [
        Some(Path::new("/var/run/docker.sock").to_path_buf()),
        runtime.map(|d| d.join(".docker/run/docker.sock")),
        home.as_ref().map(|d| d.join(".docker/run/docker.sock")),
        home.as_ref().map(|d| d.join(".docker/desktop/docker.sock")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .map(|p| format!("unix://{}", p.display()))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}
