//! `golive/postgres:15` and `golive/redis:7`: one Debian bookworm rootfs made with
//! debootstrap, slimmed, given a PostgreSQL data directory, tarred into the cache folder,
//! and imported twice (no builder, no base image, no registry). The two imports share
//! one content-addressed layer in the engine.

use super::engine::{drain, last_lines};
use super::mounts;
use super::{megabytes, Error, Family, Progress};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;
use testcontainers::bollard::body_try_stream;
use testcontainers::bollard::query_parameters::CreateImageOptionsBuilder;
use testcontainers::bollard::Docker;
use tokio::process::Command;

const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
const PACKAGES: &str = "postgresql-15,redis-server";
/// The name says what the tarball holds; a changed recipe gets a new name (bump `v1`)
/// so a stale tarball is never imported under the new recipe.
const TARBALL: &str = "debian-bookworm-postgresql-15-redis-7.v1.tar";
const PG_DATA: &str = "/var/lib/postgresql/data";
/// Commands inside the chroot get a known environment: the host's locale may not exist
/// in the rootfs (initdb refuses an unknown one), and C.UTF-8 always does in Debian.
const CHROOT_ENV: [(&str, &str); 2] = [
    ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    ("LANG", "C.UTF-8"),
];

/// The image settings each import applies to the same rootfs.
fn changes(family: Family) -> Vec<String> {
    let lines: &[&str] = match family {
        Family::Postgres => &[
            "USER postgres",
            r#"ENTRYPOINT ["/usr/lib/postgresql/15/bin/postgres","-D","/var/lib/postgresql/data"]"#,
            "EXPOSE 5432",
            // No STOPSIGNAL: engine 20.10 refuses it in import changes. SIGTERM is
            // PostgreSQL's "smart" shutdown, which waits for clients to leave, so whoever
            // stops the container gracefully should set the stop signal to SIGINT.
        ],
        Family::Redis => &[
            "USER redis",
            r#"ENTRYPOINT ["/usr/bin/redis-server","--bind","0.0.0.0","--protected-mode","no","--save","","--appendonly","no"]"#,
            "EXPOSE 6379",
        ],
        // Built, not imported: see reference.rs and job.rs.
        Family::Reference | Family::Golive => &[],
    };
    lines.iter().map(|l| l.to_string()).collect()
}

/// The rootfs tarball: the cached one, or a new one (always new with `rebuild`).
pub(super) async fn rootfs(
    cache_dir: &Path,
    rebuild: bool,
    progress: &Progress<'_>,
) -> Result<PathBuf, Error> {
    let tarball = cache_dir.join(TARBALL);
    if !rebuild {
        if let Ok(meta) = std::fs::metadata(&tarball) {
            progress(&format!(
                "Using the Debian rootfs cached at {} ({}).",
                tarball.display(),
                megabytes(meta.len())
            ));
            return Ok(tarball);
        }
    }
    let debootstrap = preflight()?;
    std::fs::create_dir_all(cache_dir).map_err(Error::io(cache_dir))?;
    for stale in leftovers(cache_dir) {
        // Not removed here: another build may be using it right now.
        progress(&format!(
            "{} is left from an interrupted build; once no build runs, unmount what `findmnt -R` lists in it and remove it.",
            stale.display()
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("rootfs-")
        .tempdir_in(cache_dir)
        .map_err(Error::io(cache_dir))?
        // Removed by `remove_rootfs`, which first makes sure nothing is mounted inside.
        .keep();
    let made = make(&debootstrap, &dir, &tarball, progress).await;
    let removed = mounts::remove_rootfs(&dir, progress).await;
    made.and(removed).map(|()| tarball)
}

/// Rootfs folders in the cache that a killed build did not remove.
fn leftovers(cache_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("rootfs-"))
        .map(|e| e.path())
        .collect()
}

/// Root and debootstrap, checked before the two slow minutes start.
fn preflight() -> Result<PathBuf, Error> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::NotRoot);
    }
    // sudo and su may leave sbin off PATH; debootstrap lives there.
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join("debootstrap"))
        .find(|p| p.is_file())
        .ok_or(Error::NoDebootstrap)
}

async fn make(
    debootstrap: &Path,
    dir: &Path,
    tarball: &Path,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    // tempfile makes the folder 0700, and it becomes the image's `/`: the postgres and
    // redis users could not even reach their own programs.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(dir))?;

    progress(&format!(
        "debootstrap {SUITE} with {PACKAGES} into {} (this takes about 2 minutes)…",
        dir.display()
    ));
    let started = Instant::now();
    run(Command::new(debootstrap)
        .arg("--variant=minbase")
        .arg(format!("--include={PACKAGES}"))
        .arg(SUITE)
        .arg(dir)
        .arg(MIRROR))
    .await?;
    progress(&format!(
        "debootstrap finished in {:.0} s.",
        started.elapsed().as_secs_f64()
    ));

    // Package caches, lists and documentation are not needed to run either server.
    run(chroot(dir).args([
        "/bin/sh",
        "-c",
        "rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc /usr/share/man",
    ]))
    .await?;

    progress(&format!(
        "Initialising a PostgreSQL data folder at {PG_DATA}…"
    ));
    let initdb =
        format!("/usr/lib/postgresql/15/bin/initdb -D {PG_DATA} -A trust -U postgres --no-sync");
    run(chroot(dir).args(["su", "postgres", "-s", "/bin/sh", "-c", &initdb])).await?;
    // A test database: it listens everywhere and trusts every client, so the harness and
    // checks connect as `postgres` with no password. Never ship this configuration.
    let data = dir.join(PG_DATA.trim_start_matches('/'));
    append(&data.join("postgresql.conf"), "listen_addresses='*'\n")?;
    append(&data.join("pg_hba.conf"), "host all all 0.0.0.0/0 trust\n")?;

    let started = Instant::now();
    // Written aside and renamed, so an interrupted tar never looks like a cached rootfs.
    let partial = tarball.with_extension("tar.partial");
    let written = run(Command::new("tar").args(tar_args(dir, &partial)))
        .await
        .and_then(|()| std::fs::rename(&partial, tarball).map_err(Error::io(tarball)));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written?;
    let size = std::fs::metadata(tarball).map(|m| m.len()).unwrap_or(0);
    progress(&format!(
        "Wrote the rootfs to {} ({}) in {:.1} s.",
        tarball.display(),
        megabytes(size),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// GNU tar of the whole rootfs: numeric owners (the host's names mean nothing in the
/// image), symlinks kept as links, and the mount points `dev`, `proc` and `sys` kept
/// but empty (the engine mounts its own).
fn tar_args(dir: &Path, out: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--create".into(), "--file".into(), out.into()];
    args.extend(["--directory".into(), dir.into(), "--numeric-owner".into()]);
    args.push("--anchored".into());
    for mount in ["dev", "proc", "sys"] {
        args.push(format!("--exclude=./{mount}/*").into());
    }
    args.push(".".into());
    args
}

/// Imports the rootfs as `family`'s image, streaming the tarball from disk.
pub(super) async fn import(
    docker: &Docker,
    tarball: &Path,
    family: Family,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    let image = family.image();
    let (repo, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let size = std::fs::metadata(tarball).map(|m| m.len()).unwrap_or(0);
    progress(&format!(
        "Importing {image} from {} ({})…",
        tarball.display(),
        megabytes(size)
    ));
    let started = Instant::now();
    let file = tokio::fs::File::open(tarball)
        .await
        .map_err(Error::io(tarball))?;
    let body = body_try_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .message(&format!(
            "golive image build: Debian {SUITE} minbase with {PACKAGES}"
        ))
        .changes(changes(family))
        .build();
    let stream = docker.create_image(Some(options), Some(body), None);
    drain(stream, image, |i| i.status.clone()).await?;
    progress(&format!(
        "Imported {image} in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn chroot(dir: &Path) -> Command {
    let mut c = Command::new("chroot");
    c.arg(dir).env_clear().envs(CHROOT_ENV);
    c
}

fn append(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(Error::io(path))
}

/// Runs a command to its end; a failure carries its last output lines.
pub(super) async fn run(command: &mut Command) -> Result<(), Error> {
    let std = command.as_std();
    let shown = std::iter::once(std.get_program())
        .chain(std.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let out = command
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(Error::io(command.as_std().get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    Err(Error::Command {
        command: shown,
        status: out.status,
        output: last_lines(text.lines().map(str::to_owned).collect(), 15),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_import_sets_its_user_entrypoint_and_port() {
        for (family, user, port, program) in [
            (
                Family::Postgres,
                "postgres",
                "5432",
                "/usr/lib/postgresql/15/bin/postgres",
            ),
            (Family::Redis, "redis", "6379", "/usr/bin/redis-server"),
        ] {
            let c = changes(family);
            assert!(c.contains(&format!("USER {user}")), "{c:?}");
            assert!(c.contains(&format!("EXPOSE {port}")), "{c:?}");
            let entry = c
                .iter()
                .find_map(|l| l.strip_prefix("ENTRYPOINT "))
                .unwrap();
            let argv: Vec<String> = serde_json::from_str(entry).unwrap();
            assert_eq!(argv[0], program);
        }
        let redis: Vec<String> = serde_json::from_str(
            changes(Family::Redis)[1]
                .strip_prefix("ENTRYPOINT ")
                .unwrap(),
        )
        .unwrap();
        // `--save ""` turns snapshots off: the empty string must be its own argument.
        let save = redis.iter().position(|a| a == "--save").unwrap();
        assert_eq!(redis[save + 1], "");
    }

    #[test]
    fn the_tarball_keeps_mount_points_empty_and_owners_numeric() {
        let args: Vec<String> = tar_args(Path::new("/c/rootfs-x"), Path::new("/c/r.tar"))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "--create",
                "--file",
                "/c/r.tar",
                "--directory",
                "/c/rootfs-x",
                "--numeric-owner",
                "--anchored",
                "--exclude=./dev/*",
                "--exclude=./proc/*",
                "--exclude=./sys/*",
                "."
            ]
        );
    }
}
