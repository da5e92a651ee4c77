//! `golive image build` and `golive image list`: golive's offline images for the
//! container provider. Progress sentences go to stderr; stdout carries one line per image.

use crate::exit;
use crate::images::{self, BuildOptions, Family, Outcome, StaticBinary};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// Build golive's images in the local Docker engine without a registry: the reference
    /// system FROM scratch, PostgreSQL and Redis from a debootstrapped Debian rootfs
    /// (needs root and debootstrap; about 2 minutes the first time, then cached), and
    /// golive itself as a CI job image on that rootfs.
    Build {
        /// Build only this image.
        #[arg(long, value_enum)]
        only: Option<Family>,
        /// The statically linked golive for the reference and job images. Default: this
        /// golive, if it is static.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Build images that are already present too, and make the Debian rootfs afresh
        /// (new packages) instead of reusing the cached one.
        #[arg(long)]
        rebuild: bool,
    },
    /// List golive's images, whether each is present locally, and how to build a missing one.
    List,
}

/// Runs `golive image …` and returns the exit code.
pub async fn run(args: ImageArgs) -> i32 {
    let result = match args.command {
        ImageCommand::Build {
            only,
            binary,
            rebuild,
        } => build(only, binary, rebuild).await,
        ImageCommand::List => list().await,
    };
    match result {
        Ok(()) => exit::GO,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn build(
    only: Option<Family>,
    binary: Option<PathBuf>,
    rebuild: bool,
) -> Result<(), images::Error> {
    // Inputs first: a binary that cannot run FROM scratch is refused before Docker is asked.
    let opts = BuildOptions {
        only,
        binary: binary.as_deref().map(StaticBinary::read).transpose()?,
        rebuild,
        cache_dir: None,
    };
    let engine = images::connect().await?;
    let outcomes = images::build(&engine, &opts, &|line| eprintln!("{line}")).await?;
    for (family, outcome) in outcomes {
        let what = match outcome {
            Outcome::Built => "built",
            Outcome::Skipped => "present (skipped)",
        };
        println!("{}: {what}", family.image());
    }
    Ok(())
}

async fn list() -> Result<(), images::Error> {
    let engine = images::connect().await?;
    let width = Family::ALL
        .iter()
        .map(|f| f.image().len())
        .max()
        .unwrap_or(0);
    for family in Family::ALL {
        let image = family.image();
        match images::inspect(&engine.docker, image).await? {
            Some(found) => {
                let size = found.size.unwrap_or(0).max(0) as u64;
                println!(
                    "{image:width$}  present  {:>7}  {}",
                    images::megabytes(size),
                    images::short_id(found.id.as_deref().unwrap_or_default())
                );
            }
            None => println!(
                "{image:width$}  missing  build it with: {}",
                family.build_command()
            ),
        }
    }
    Ok(())
}
