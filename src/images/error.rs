//! Why building or finding an image failed, each with the input that caused it, and the
//! exit code each maps to.

use crate::exit;
use std::path::PathBuf;
use std::process::ExitStatus;
use testcontainers::bollard::errors::Error as BollardError;

/// The command that builds a golive `FROM scratch` can run, and how to use its output.
pub const STATIC_BUILD_HINT: &str = "build a static golive and pass it:\n  \
    RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu\n  \
    golive image build --binary target/x86_64-unknown-linux-gnu/release/golive";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "Docker did not answer at {host}: {reason}\n\
         hint: start the Docker engine, or point DOCKER_HOST at its socket (rootless Docker: unix://$XDG_RUNTIME_DIR/docker.sock)"
    )]
    NoEngine { host: String, reason: String },

    #[error("{path}: {problem}")]
    Binary {
        path: PathBuf,
        problem: BinaryProblem,
    },

    #[error("Docker could not {action}: {source}")]
    Docker {
        action: String,
        #[source]
        source: BollardError,
    },

    #[error("Docker failed to make {image}: {message}{}", tail(.log))]
    Build {
        image: String,
        message: String,
        /// The builder's last output lines before the failure.
        log: Vec<String>,
    },

    #[error("debootstrap is not installed; install it with `apt-get install debootstrap`")]
    NoDebootstrap,

    #[error(
        "making the Debian rootfs needs root (debootstrap and chroot); run `sudo golive image build` \
         or build only the reference image with `golive image build --only reference`"
    )]
    NotRoot,

    #[error("no cache folder: neither XDG_CACHE_HOME nor HOME is set")]
    NoCacheDir,

    #[error("`{command}` failed ({status}){}", tail(.output))]
    Command {
        command: String,
        status: ExitStatus,
        /// The command's last output lines.
        output: Vec<String>,
    },

    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} is still mounted inside the rootfs; not removing {} (unmount it and remove the folder by hand)",
        .mount.display(), .dir.display()
    )]
    StillMounted { dir: PathBuf, mount: PathBuf },
}

/// Why a binary cannot go into a `FROM scratch` image.
#[derive(Debug, thiserror::Error)]
pub enum BinaryProblem {
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    #[error("{0}, so it cannot be the image's program")]
    NotElf(super::elf::ElfError),
    #[error(
        "dynamically linked (it needs {interpreter}), so it cannot run in a FROM scratch image; {}",
        STATIC_BUILD_HINT
    )]
    Dynamic { interpreter: String },
    #[error("built for {binary} but the Docker engine runs {engine}")]
    Architecture { binary: String, engine: String },
}

impl Error {
    /// A binary the user named or ran is an input problem (2); everything else is the
    /// environment: the engine, the network, the disk, permissions (3).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Binary { .. } => exit::INVALID_INPUT,
            _ => exit::ENVIRONMENT,
        }
    }

    pub(super) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    pub(super) fn docker(action: impl Into<String>) -> impl FnOnce(BollardError) -> Error {
        let action = action.into();
        move |source| Error::Docker { action, source }
    }
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("; last output:");
    for l in lines {
        s.push_str("\n  ");
        s.push_str(l);
    }
    s
}
