//! `golive/golive:<version>`: golive as a CI job image. GitLab's Docker executor and
//! GitHub's `container:` jobs run their scripts with the image's shell, so a `FROM
//! scratch` image will not do: this one is the Debian rootfs the PostgreSQL and Redis
//! images come from (bash, coreutils, PostgreSQL 15, Redis 7), with the static golive at
//! `/usr/local/bin/golive`. A checklist whose services are processes (`postgres`,
//! `redis-server`) therefore gates inside the job itself, with no Docker-in-Docker.
//!
//! Built through the legacy builder from a context streamed from disk: the Dockerfile,
//! the cached rootfs tarball (which `ADD` unpacks) and the binary. No base image, no pull.

use super::engine::{build_legacy, Context, Engine};
use super::{megabytes, Error, Progress, StaticBinary, JOB_IMAGE};
use std::io::{self, Write};
use std::path::Path;

/// `ADD` of a local tar unpacks it (owners and modes kept: `/tmp` stays 1777). The work
/// folder is where CI runners mount or clone the project.
const DOCKERFILE: &str = "\
FROM scratch
ADD rootfs.tar /
COPY golive /usr/local/bin/golive
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
WORKDIR /work
CMD [\"/bin/bash\"]
";

/// Builds the job image from `binary` and the Debian rootfs `tarball`. With `rebuild`,
/// the builder's cache is not used either.
pub(super) async fn build(
    engine: &Engine,
    binary: &StaticBinary,
    tarball: &Path,
    rebuild: bool,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    super::reference::check_arch(engine, binary)?;
    progress(&format!(
        "Building {JOB_IMAGE} from {} and {}…",
        binary.path().display(),
        tarball.display()
    ));
    // The context holds the whole rootfs: written to a temporary file and streamed, not
    // held in memory.
    let dir = tempfile::tempdir().map_err(Error::io("a temporary folder for the build context"))?;
    let context = dir.path().join("context.tar");
    write_context(&context, binary.bytes(), tarball).map_err(Error::io(&context))?;
    let size = std::fs::metadata(&context).map(|m| m.len()).unwrap_or(0);
    progress(&format!(
        "Sending a {} build context to the engine…",
        megabytes(size)
    ));
    build_legacy(engine, JOB_IMAGE, Context::File(context), rebuild, progress).await
}

/// The context tar: `Dockerfile`, `rootfs.tar` (copied from the cache as it is) and
/// `golive` (0755). Times and owners are fixed so the same inputs give the same context.
fn write_context(out: &Path, binary: &[u8], tarball: &Path) -> io::Result<()> {
    let file = std::fs::File::create(out)?;
    let mut ar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, file));
    let header = |size: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    };
    let mut h = header(DOCKERFILE.len() as u64, 0o644);
    ar.append_data(&mut h, "Dockerfile", DOCKERFILE.as_bytes())?;
    let rootfs = std::fs::File::open(tarball)?;
    let mut h = header(rootfs.metadata()?.len(), 0o644);
    ar.append_data(&mut h, "rootfs.tar", io::BufReader::new(rootfs))?;
    let mut h = header(binary.len() as u64, 0o755);
    ar.append_data(&mut h, "golive", binary)?;
    ar.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_context_holds_the_dockerfile_the_rootfs_as_it_is_and_an_executable_golive() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs.tar");
        std::fs::write(&rootfs, b"pretend rootfs").unwrap();
        let out = dir.path().join("context.tar");
        write_context(&out, b"\x7fELF pretend", &rootfs).unwrap();

        let bytes = std::fs::read(&out).unwrap();
        let mut ar = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in ar.entries().unwrap() {
            let mut e = entry.unwrap();
            let mode = e.header().mode().unwrap();
            let path = e.path().unwrap().display().to_string();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            seen.push((path, mode, body));
        }
        assert_eq!(
            seen,
            [
                ("Dockerfile".into(), 0o644, DOCKERFILE.as_bytes().to_vec()),
                ("rootfs.tar".into(), 0o644, b"pretend rootfs".to_vec()),
                ("golive".into(), 0o755, b"\x7fELF pretend".to_vec()),
            ]
        );
        // Same inputs, same context.
        let again = dir.path().join("again.tar");
        write_context(&again, b"\x7fELF pretend", &rootfs).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), bytes);
    }

    #[test]
    fn the_dockerfile_unpacks_the_rootfs_puts_golive_on_path_and_gives_a_shell() {
        let lines: Vec<&str> = DOCKERFILE.lines().collect();
        assert_eq!(lines[0], "FROM scratch");
        assert!(lines.contains(&"ADD rootfs.tar /"));
        assert!(lines.contains(&"COPY golive /usr/local/bin/golive"));
        assert!(lines
            .iter()
            .any(|l| l.starts_with("ENV PATH=/usr/local/sbin:/usr/local/bin:")));
        assert!(lines.contains(&"CMD [\"/bin/bash\"]"));
        assert!(
            !lines.iter().any(|l| l.starts_with("ENTRYPOINT")),
            "CI runners need the shell"
        );
    }
}
