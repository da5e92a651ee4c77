//! Offline images for the container provider: `golive/reference` (the sandbox in a
//! `FROM scratch` image), and `golive/postgres` and `golive/redis` (one debootstrapped
//! Debian rootfs imported twice); and `golive/golive`, golive itself as a CI job image
//! (that rootfs with the static golive added). Nothing is ever pulled: engines here have
//! no registry.
//!
//! This module talks to Docker and runs debootstrap, which STYLE.md otherwise keeps in
//! `services/`. It is a separate tool run before any checklist (`golive image build`), not
//! part of a run; `services/` only names these images and, when one is missing, points
//! at [`build_hint`].

mod debian;
mod elf;
mod engine;
mod error;
mod job;
mod mounts;
mod reference;

pub use elf::ElfError;
pub use engine::{connect, inspect, present, Engine};
pub use error::{BinaryProblem, Error, STATIC_BUILD_HINT};
pub use reference::StaticBinary;

use std::path::PathBuf;
use testcontainers::bollard::query_parameters::RemoveImageOptions;
use testcontainers::bollard::Docker;

/// The sandbox (`golive sandbox`) with this golive's version as the tag.
pub const REFERENCE_IMAGE: &str = concat!("golive/reference:", env!("CARGO_PKG_VERSION"));
/// PostgreSQL 15 listening on 5432 with trust authentication (a test database).
pub const POSTGRES_IMAGE: &str = "golive/postgres:15";
/// Redis 7 listening on 6379, no persistence, no protected mode (a test cache).
pub const REDIS_IMAGE: &str = "golive/redis:7";
/// golive on Debian bookworm with bash, PostgreSQL 15 and Redis 7: a CI job image.
pub const JOB_IMAGE: &str = concat!("golive/golive:", env!("CARGO_PKG_VERSION"));

/// Where progress sentences go (the CLI prints them on stderr).
pub type Progress<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// The images golive builds, one per `--only` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Family {
    /// golive/reference: the sandbox, FROM scratch.
    Reference,
    /// golive/postgres: PostgreSQL 15 from Debian bookworm.
    Postgres,
    /// golive/redis: Redis 7 from Debian bookworm.
    Redis,
    /// golive/golive: golive itself on Debian bookworm, a CI job image.
    Golive,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Reference,
        Family::Postgres,
        Family::Redis,
        Family::Golive,
    ];

    /// The image's `name:tag`.
    pub fn image(self) -> &'static str {
        match self {
            Family::Reference => REFERENCE_IMAGE,
            Family::Postgres => POSTGRES_IMAGE,
            Family::Redis => REDIS_IMAGE,
            Family::Golive => JOB_IMAGE,
        }
    }

    /// The `--only` value.
    pub fn name(self) -> &'static str {
        match self {
            Family::Reference => "reference",
            Family::Postgres => "postgres",
            Family::Redis => "redis",
            Family::Golive => "golive",
        }
    }

    /// The family whose image is exactly `image` (`name:tag`).
    pub fn of_image(image: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.image() == image)
    }

    /// The command that builds this image.
    pub fn build_command(self) -> String {
        format!("golive image build --only {}", self.name())
    }
}

/// The command that builds `image` when it is one of golive's, e.g.
/// `golive image build --only postgres` for `golive/postgres:15`. Other images (and
/// golive images of another version) have none: golive cannot make them.
pub fn build_hint(image: &str) -> Option<String> {
    Family::of_image(image).map(Family::build_command)
}

/// What `golive image build` was asked to do.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// One image, or all of them.
    pub only: Option<Family>,
    /// The static golive to put in the reference and job images; default: the running
    /// executable (checked only if one of them is to be built).
    pub binary: Option<StaticBinary>,
    /// Build images that are present too, and make the Debian rootfs afresh instead of
    /// reusing the cached tarball.
    pub rebuild: bool,
    /// Where the rootfs tarball is kept; default [`cache_dir`], found only when needed.
    pub cache_dir: Option<PathBuf>,
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Built,
    /// Present already and `--rebuild` not given.
    Skipped,
}

/// Builds the images `opts` selects that are missing (or all of them with `rebuild`).
/// The running golive is checked (when no binary is given and the reference image is to
/// be built) before the Debian rootfs is made, so a refusal comes before slow work.
pub async fn build(
    engine: &Engine,
    opts: &BuildOptions,
    progress: &Progress<'_>,
) -> Result<Vec<(Family, Outcome)>, Error> {
    let wanted = opts.only.map_or(Family::ALL.to_vec(), |f| vec![f]);
    let mut outcomes = Vec::new();
    // Each image to build, with the id of the image it replaces.
    let mut todo: Vec<(Family, Option<String>)> = Vec::new();
    for family in wanted {
        let existing = inspect(&engine.docker, family.image()).await?;
        if existing.is_some() && !opts.rebuild {
            progress(&format!(
                "{} already present; skipped (use --rebuild)",
                family.image()
            ));
            outcomes.push((family, Outcome::Skipped));
        } else {
            todo.push((family, existing.and_then(|i| i.id)));
        }
    }
    // The binary is checked before the slow rootfs is made, and each is made once.
    let binary = todo
        .iter()
        .any(|(f, _)| matches!(f, Family::Reference | Family::Golive))
        .then(|| opts.binary.clone().map_or_else(StaticBinary::running, Ok))
        .transpose()?;
    let tarball = match todo.iter().any(|(f, _)| *f != Family::Reference) {
        true => {
            let cache = match &opts.cache_dir {
                Some(dir) => dir.clone(),
                None => cache_dir()?,
            };
            Some(debian::rootfs(&cache, opts.rebuild, progress).await?)
        }
        false => None,
    };
    for (family, old) in todo {
        match (family, &binary, &tarball) {
            (Family::Reference, Some(binary), _) => {
                reference::build(engine, binary, opts.rebuild, progress).await?
            }
            (Family::Golive, Some(binary), Some(tarball)) => {
                job::build(engine, binary, tarball, opts.rebuild, progress).await?
            }
            (Family::Postgres | Family::Redis, _, Some(tarball)) => {
                debian::import(&engine.docker, tarball, family, progress).await?
            }
            _ => unreachable!(
                "the binary and the rootfs are made above for the images that need them"
            ),
        }
        retire(&engine.docker, old, family.image(), progress).await;
        outcomes.push((family, Outcome::Built));
    }
    outcomes.sort_by_key(|(f, _)| *f);
    Ok(outcomes)
}

/// Removes the image a rebuild replaced, so rebuilds leave no `<none>` images behind;
/// but only when nothing names it any more (someone may have tagged it) and no container
/// uses it (the engine refuses then). Best effort: a leftover image is harmless.
async fn retire(docker: &Docker, old: Option<String>, image: &str, progress: &Progress<'_>) {
    let Some(old) = old else { return };
    let Ok(Some(now)) = inspect(docker, &old).await else {
        return;
    };
    if !now.repo_tags.as_ref().is_none_or(|t| t.is_empty()) {
        return;
    }
    let id = short_id(&old);
    match docker
        .remove_image(&old, None::<RemoveImageOptions>, None)
        .await
    {
        Ok(_) => progress(&format!(
            "Removed the {image} image this build replaced ({id})."
        )),
        Err(e) => progress(&format!(
            "Left the {image} image this build replaced ({id}): {e}"
        )),
    }
}

/// The 12 hex digits `docker images` shows.
pub(crate) fn short_id(id: &str) -> &str {
    let id = id.trim_start_matches("sha256:");
    &id[..id.len().min(12)]
}

/// `$XDG_CACHE_HOME/golive`, else `~/.cache/golive`.
pub fn cache_dir() -> Result<PathBuf, Error> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute()); // the XDG spec says to ignore a relative one
    let base = xdg
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or(Error::NoCacheDir)?;
    Ok(base.join("golive"))
}

/// `25 MB`: sizes in progress lines are for people, so decimal megabytes, rounded.
pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{} MB", (bytes + 500_000) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_image_has_a_hint_that_names_its_family() {
        assert_eq!(
            build_hint("golive/postgres:15").as_deref(),
            Some("golive image build --only postgres")
        );
        assert_eq!(
            build_hint(REFERENCE_IMAGE).as_deref(),
            Some("golive image build --only reference")
        );
        assert_eq!(
            build_hint("golive/redis:7").as_deref(),
            Some("golive image build --only redis")
        );
    }

    #[test]
    fn other_images_and_versions_have_no_hint() {
        assert_eq!(build_hint("postgres:15"), None);
        assert_eq!(build_hint("golive/reference:0.0.0-other"), None);
        assert_eq!(build_hint("golive/postgres:16"), None);
    }

    #[test]
    fn the_reference_tag_is_this_version() {
        assert_eq!(
            REFERENCE_IMAGE,
            format!("golive/reference:{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn megabytes_round_to_the_nearest() {
        assert_eq!(megabytes(0), "0 MB");
        assert_eq!(megabytes(24_600_000), "25 MB");
        assert_eq!(megabytes(480_499_999), "480 MB");
    }
}
