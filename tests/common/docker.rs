//! For the container tests: whether a Docker engine answers, the images golive needs
//! (built once per test binary: the Debian ones while a static golive compiles, then the
//! ones that hold it, all with `golive image build`), and what a run left on the engine.

use super::{golive, root};
use std::process::Command;
use std::sync::OnceLock;

/// The engine's version, or why there is none.
pub fn engine() -> Result<String, String> {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map_err(|e| format!("the docker command cannot run: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// True when an engine answers and golive's images are built (building them if needed);
/// otherwise prints that the calling test is skipped and why. An engine that answers but where
/// the images cannot be built is a failure, not a skip.
pub fn ready_or_skip() -> bool {
    if let Err(why) = engine() {
        super::servers::skipped(&format!("no Docker engine answered ({why})"));
        return false;
    }
    static IMAGES: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = IMAGES.get_or_init(build_images) {
        panic!("Docker answers but golive's images could not be built: {e}");
    }
    true
}

/// A statically linked golive: $GOLIVE_STATIC_BINARY, or built with the README's
/// `cargo release-static` (the alias in .cargo/config.toml, so the tests build exactly
/// what users and `golive image build` are told to) into this build's target folder under
/// its own `--target` folder (shared by every test binary, so the build happens once). A
/// release build, because the image it makes is the one `golive demo` then runs: an
/// unoptimised reference system turned the demo's WebSocket p95 < 20ms INCONCLUSIVE
/// (19 ms) where the release one gave 10 ms.
pub fn static_binary() -> Result<std::path::PathBuf, String> {
    if let Ok(p) = std::env::var("GOLIVE_STATIC_BINARY") {
        return Ok(p.into());
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            // .../<target>/debug/golive
            std::path::Path::new(env!("CARGO_BIN_EXE_golive"))
                .ancestors()
                .nth(2)
                .map(|p| p.to_path_buf())
        })
        .ok_or("cannot tell the target folder")?;
    // RUSTFLAGS from the environment would replace the alias's target rustflags.
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .arg("release-static")
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("the static build failed ({status})"));
    }
    Ok(target_dir.join("x86_64-unknown-linux-gnu/release/golive"))
}

/// The PostgreSQL and Redis images need no golive binary, only debootstrap and the Debian
/// mirror: they are made (a minute and a half of downloads and imports the first time)
/// while the static golive compiles (minutes of CPU), then the reference and job images
/// from that binary.
fn build_images() -> Result<(), String> {
    let (debian, binary) = std::thread::scope(|s| {
        let debian = s.spawn(|| {
            image_build(&["--only", "postgres"])?;
            image_build(&["--only", "redis"])
        });
        let binary = static_binary();
        (
            debian.join().expect("the Debian image build's thread"),
            binary,
        )
    });
    debian?;
    let binary = binary?;
    image_build(&[std::ffi::OsStr::new("--binary"), binary.as_os_str()])
}

/// `golive image build ARGS…`, which skips the images already present.
fn image_build<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Result<(), String> {
    let out = golive()
        .args(["image", "build"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot run golive image build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "golive image build exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// Names of containers and networks labelled with `run_id` (every one when `None`).
pub fn labelled(run_id: Option<&str>) -> (Vec<String>, Vec<String>) {
    let filter = match run_id {
        Some(id) => format!("label=golive.run={id}"),
        None => "label=golive.run".to_string(),
    };
    let list = |args: &[&str], field: &str| -> Vec<String> {
        let out = Command::new("docker")
            .args(args)
            .args(["--filter", &filter, "--format", field])
            .output()
            .expect("docker runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    (
        list(&["ps", "-a"], "{{.Names}}"),
        list(&["network", "ls"], "{{.Name}}"),
    )
}
