//! A service golive started, whichever provider runs it: one set of operations for
//! readiness, fault drills, resource sampling and shutdown.

use super::container;
use super::process;
use super::resources::Source;
use super::tail::LogTail;
use crate::template::Endpoint;

/// A started service. A handful exist per run, each behind its own lock, so the
/// variants' size difference costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Instance {
    Process(process::Running),
    Container(container::Running),
}

impl Instance {
    pub fn name(&self) -> &str {
        match self {
            Instance::Process(p) => &p.name,
            Instance::Container(c) => &c.name,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        match self {
            Instance::Process(p) => &p.endpoint,
            Instance::Container(c) => &c.endpoint,
        }
    }

    pub fn provider(&self) -> &'static str {
        match self {
            Instance::Process(_) => "process",
            Instance::Container(_) => "container",
        }
    }

    pub fn tail(&self) -> &LogTail {
        match self {
            Instance::Process(p) => &p.tail,
            Instance::Container(c) => &c.tail,
        }
    }

    /// `Some(why)` once the service is no longer running.
    pub async fn exited(&mut self) -> Option<String> {
        match self {
            Instance::Process(p) => p.exited(),
            Instance::Container(c) => c.exited().await,
        }
    }

    /// Runs a readiness command: inside the container, or on this machine for a process.
    pub async fn command_ok(&self, argv: &[String]) -> Result<(), String> {
        match self {
            Instance::Container(c) => c.exec_ok(argv).await,
            Instance::Process(p) => super::ready::local_command_ok(argv, &p.launcher).await,
        }
    }

    /// Where the resource sampler reads this service's figures; a container's stats
    /// stream is followed until `stop`.
    pub fn source(&self, stop: &tokio_util::sync::CancellationToken) -> Source {
        match self {
            Instance::Process(p) => Source::Process(p.pid_cell()),
            Instance::Container(c) => {
                Source::Container(c.docker().follow_stats(c.id(), stop.clone()))
            }
        }
    }

    /// SIGKILL, like a crash.
    pub async fn kill(&mut self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.kill().await,
            Instance::Container(c) => c.kill().await,
        }
    }

    /// SIGKILL, left to the restart policy: golive's supervisor restarts a process, the
    /// engine a container.
    pub async fn crash(&mut self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.crash(),
            Instance::Container(c) => c.crash().await,
        }
    }

    /// For the supervisor of a `restart: on-failure` service: `Some(why)` when a process
    /// has crashed and waits to be restarted. Containers: `None` (their engine restarts
    /// them).
    pub fn failed_exit(&self) -> Option<String> {
        match self {
            Instance::Process(p) => p.failed_exit(),
            Instance::Container(_) => None,
        }
    }

    /// Restarts a crashed process (see `failed_exit`).
    pub async fn restart_after_crash(&mut self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.restart_after_crash().await,
            Instance::Container(_) => Ok(()),
        }
    }

    /// A graceful stop (SIGTERM, then SIGKILL after a grace period).
    pub async fn halt(&mut self) -> Result<(), String> {
        match self {
            Instance::Process(p) => {
                p.halt().await;
                Ok(())
            }
            Instance::Container(c) => c.halt().await,
        }
    }

    pub async fn pause(&self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.pause(),
            Instance::Container(c) => c.pause().await,
        }
    }

    pub async fn resume(&self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.resume(),
            Instance::Container(c) => c.resume().await,
        }
    }

    /// Starts it again with the same command, port and (for a container) name.
    pub async fn start_again(&mut self) -> Result<(), String> {
        match self {
            Instance::Process(p) => p.start_again(),
            Instance::Container(c) => c.start_again().await,
        }
    }

    /// Stops it for good and returns its last log lines.
    pub async fn stop(self) -> Vec<String> {
        match self {
            Instance::Process(p) => p.stop().await,
            Instance::Container(c) => c.stop().await,
        }
    }
}
