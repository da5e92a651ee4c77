//! Reports: the one model (`model`) and thin renderers of it (JSON, Markdown, JUnit).
//! The only module that writes report files; every file is written atomically
//! (temporary file in the same folder, then rename), so a reader never sees half a report.

mod build;
mod junit;
mod markdown;
mod merge;
pub mod model;

pub use build::{build, ItemResult, RunFacts};
pub use junit::render as junit;
pub use markdown::render as markdown;
pub use merge::{merge, MergeError};
pub use model::{results_schema, Report};

use std::io::Write;
use std::path::{Path, PathBuf};

/// The formats golive renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Md,
    Junit,
}

impl Format {
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Json => json(report),
            Format::Md => markdown(report),
            Format::Junit => junit(report),
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "results.json",
            Format::Md => "report.md",
            Format::Junit => "junit.xml",
        }
    }
}

/// `results.json`: the canonical serialisation.
pub fn json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// A run folder whose writability was proven before the run started.
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates the folder and proves it is writable now, so a run never does its work
    /// only to fail at the end.
    pub fn prepare(path: &Path) -> std::io::Result<RunDir> {
        std::fs::create_dir_all(path)?;
        let probe = tempfile::NamedTempFile::new_in(path)?;
        drop(probe);
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// Writes every format; returns the paths written.
    pub fn write_all(&self, report: &Report) -> std::io::Result<Vec<PathBuf>> {
        [Format::Json, Format::Md, Format::Junit]
            .into_iter()
            .map(|f| {
                let p = self.path.join(f.file_name());
                write_atomic(&p, &f.render(report)).map(|_| p)
            })
            .collect()
    }
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
