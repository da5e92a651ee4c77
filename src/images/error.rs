//! Why building or finding an image failed, each with the input that caused it, and the
//! exit code each maps to.

use crate::exit;
use testcontainers::bollard::errors::Error as BollardError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Docker did not answer at {host}: {reason}\n\
         hint: start the Docker engine, or point DOCKER_HOST at its socket (rootless Docker: unix://$XDG_RUNTIME_DIR/docker.sock)"
    )]
    NoEngine { host: String, reason: String },

    #[error("Docker could not {action}: {source}")]
    Docker {
        action: String,
        #[source]
        source: BollardError,
    },
}

impl Error {
    /// Every failure here is the environment's: the engine, the network, the disk (3).
    pub fn exit_code(&self) -> i32 {
        exit::ENVIRONMENT
    }

    pub(super) fn docker(action: impl Into<String>) -> impl FnOnce(BollardError) -> Error {
        let action = action.into();
        move |source| Error::Docker { action, source }
    }
}
