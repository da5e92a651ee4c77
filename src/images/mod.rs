//! Offline images for the container provider: `golive/reference` (the sandbox in a
//! `FROM scratch` image), and `golive/postgres` and `golive/redis` (one debootstrapped
//! Debian rootfs imported twice). Nothing is ever pulled: engines here have no registry.
//!
//! This module talks to Docker and runs debootstrap, which STYLE.md otherwise keeps in
//! `services/`. It is a separate tool run before any checklist (`golive image build`), not
//! part of a run; `services/` only names these images and, when one is missing, points
//! at [`build_hint`].

mod elf;
mod engine;
mod error;
mod reference;

pub use elf::ElfError;
pub use engine::{connect, inspect, present, Engine};
pub use error::{BinaryProblem, Error, STATIC_BUILD_HINT};
pub use reference::StaticBinary;

/// The sandbox (`golive sandbox`) with this golive's version as the tag.
pub const REFERENCE_IMAGE: &str = concat!("golive/reference:", env!("CARGO_PKG_VERSION"));
/// PostgreSQL 15 listening on 5432 with trust authentication (a test database).
pub const POSTGRES_IMAGE: &str = "golive/postgres:15";
/// Redis 7 listening on 6379, no persistence, no protected mode (a test cache).
pub const REDIS_IMAGE: &str = "golive/redis:7";

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
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Reference, Family::Postgres, Family::Redis];

    /// The image's `name:tag`.
    pub fn image(self) -> &'static str {
        match self {
            Family::Reference => REFERENCE_IMAGE,
            Family::Postgres => POSTGRES_IMAGE,
            Family::Redis => REDIS_IMAGE,
        }
    }

    /// The `--only` value.
    pub fn name(self) -> &'static str {
        match self {
            Family::Reference => "reference",
            Family::Postgres => "postgres",
            Family::Redis => "redis",
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

/// Builds the reference image from `binary` (the builder's cache is not used with
/// `rebuild`).
pub async fn build_reference(
    engine: &Engine,
    binary: &StaticBinary,
    rebuild: bool,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    reference::build(engine, binary, rebuild, progress).await
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
