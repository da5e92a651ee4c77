//! `golive/reference:<version>`: a static golive at `/golive` in a `FROM scratch` image,
//! built through the Docker API with the legacy builder. The legacy builder needs no
//! BuildKit session (which engine 20.10 may not serve to this client) and pulls nothing
//! for `FROM scratch`.

use super::elf::{self, Linking};
use super::engine::{build_legacy, Context, Engine};
use super::{megabytes, BinaryProblem, Error, Progress, REFERENCE_IMAGE};
use std::io;
use std::path::{Path, PathBuf};

/// One `COPY` of a whole tree, because the builder keeps the modes of what is inside a
/// copied folder but makes the destination of `COPY tmp /tmp` itself 0755: `/tmp` must
/// be 1777 (a scratch image has none, and the sandbox, like most programs, writes there).
const DOCKERFILE: &str = "\
FROM scratch
COPY rootfs/ /
EXPOSE 8080
ENTRYPOINT [\"/golive\"]
";

/// A binary checked to run with nothing else in the image, and its bytes.
#[derive(Debug, Clone)]
pub struct StaticBinary {
    path: PathBuf,
    bytes: Vec<u8>,
    /// ELF `e_machine`.
    machine: u16,
}

impl StaticBinary {
    /// Reads `path` and refuses anything but a statically linked ELF executable.
    pub fn read(path: &Path) -> Result<StaticBinary, Error> {
        let problem = |problem| Error::Binary {
            path: path.to_owned(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|e| problem(BinaryProblem::Read(e)))?;
        let info = elf::inspect(&bytes).map_err(|e| problem(BinaryProblem::NotElf(e)))?;
        match info.linking {
            Linking::Static => Ok(StaticBinary {
                path: path.to_owned(),
                bytes,
                machine: info.machine,
            }),
            Linking::Dynamic { interpreter } => {
                Err(problem(BinaryProblem::Dynamic { interpreter }))
            }
        }
    }

    /// The running golive, when it is static.
    pub fn running() -> Result<StaticBinary, Error> {
        let path = std::env::current_exe().map_err(|e| Error::Binary {
            path: PathBuf::from("golive"),
            problem: BinaryProblem::Read(e),
        })?;
        StaticBinary::read(&path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Refuses a binary built for another architecture than the engine runs.
pub(super) fn check_arch(engine: &Engine, binary: &StaticBinary) -> Result<(), Error> {
    let arch = elf::docker_arch(binary.machine);
    if let Some(arch) = arch.filter(|a| !engine.arch.is_empty() && *a != engine.arch) {
        return Err(Error::Binary {
            path: binary.path.clone(),
            problem: BinaryProblem::Architecture {
                binary: arch.into(),
                engine: engine.arch.clone(),
            },
        });
    }
    Ok(())
}

/// Builds the reference image from `binary`. With `rebuild`, the builder's cache is not
/// used either.
pub(super) async fn build(
    engine: &Engine,
    binary: &StaticBinary,
    rebuild: bool,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    check_arch(engine, binary)?;
    progress(&format!(
        "Building {REFERENCE_IMAGE} from {} (static, {})…",
        binary.path.display(),
        megabytes(binary.bytes.len() as u64)
    ));
    let context = context(&binary.bytes).map_err(Error::io("the build context (in memory)"))?;
    build_legacy(
        engine,
        REFERENCE_IMAGE,
        Context::Memory(context),
        rebuild,
        progress,
    )
    .await
}

/// The build context: the Dockerfile and the image's tree under `rootfs/`: the binary
/// (0755) and an empty `tmp/` (1777). Times and owners are fixed so the same binary gives
/// the same context.
fn context(binary: &[u8]) -> io::Result<Vec<u8>> {
    let mut ar = tar::Builder::new(Vec::with_capacity(binary.len() + 4096));
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        ar.append_data(&mut h, path, data)
    };
    add(
        "Dockerfile",
        tar::EntryType::Regular,
        0o644,
        DOCKERFILE.as_bytes(),
    )?;
    add("rootfs/", tar::EntryType::Directory, 0o755, &[])?;
    add("rootfs/golive", tar::EntryType::Regular, 0o755, binary)?;
    add("rootfs/tmp/", tar::EntryType::Directory, 0o1777, &[])?;
    ar.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_context_holds_the_dockerfile_and_a_tree_with_the_binary_and_a_sticky_tmp() {
        let tar = context(b"\x7fELF pretend").unwrap();
        let mut ar = tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for entry in ar.entries().unwrap() {
            let mut e = entry.unwrap();
            let h = e.header();
            let row = (
                e.path().unwrap().display().to_string(),
                h.entry_type(),
                h.mode().unwrap(),
                h.uid().unwrap(),
            );
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            seen.push((row, body));
        }
        let rows: Vec<_> = seen.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(
            rows,
            [
                ("Dockerfile".into(), tar::EntryType::Regular, 0o644, 0),
                ("rootfs/".into(), tar::EntryType::Directory, 0o755, 0),
                ("rootfs/golive".into(), tar::EntryType::Regular, 0o755, 0),
                ("rootfs/tmp/".into(), tar::EntryType::Directory, 0o1777, 0),
            ]
        );
        assert_eq!(seen[0].1, DOCKERFILE.as_bytes());
        assert_eq!(seen[2].1, b"\x7fELF pretend");
        assert!(seen[3].1.is_empty());
    }

    #[test]
    fn the_dockerfile_runs_golive_from_scratch() {
        let lines: Vec<&str> = DOCKERFILE.lines().collect();
        assert_eq!(lines[0], "FROM scratch");
        assert!(lines.contains(&"ENTRYPOINT [\"/golive\"]"));
        assert!(lines.contains(&"EXPOSE 8080"));
    }

    #[test]
    fn the_context_is_the_same_for_the_same_binary() {
        assert_eq!(context(b"x").unwrap(), context(b"x").unwrap());
    }

    #[test]
    fn a_dynamic_binary_is_refused_with_the_static_build_command() {
        if !Path::new("/bin/ls").exists() {
            eprintln!("skipped: no /bin/ls here");
            return;
        }
        let err = StaticBinary::read(Path::new("/bin/ls")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("dynamically linked"), "{text}");
        assert!(
            text.contains("RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu"),
            "{text}"
        );
        assert!(
            text.contains(
                "golive image build --binary target/x86_64-unknown-linux-gnu/release/golive"
            ),
            "{text}"
        );
        assert_eq!(err.exit_code(), crate::exit::INVALID_INPUT);
    }

    #[test]
    fn a_script_is_not_an_elf_executable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("golive");
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        let text = StaticBinary::read(&path).unwrap_err().to_string();
        assert!(text.contains("not an ELF file"), "{text}");
    }
}
