//! Reports: the one model (`model`) and thin renderers of it (JSON, Markdown, HTML, JUnit).
//! The only module that writes report files; every file is written atomically
//! (temporary file in the same folder, then rename), so a reader never sees half a report.

mod build;
mod html;
mod junit;
mod markdown;
mod merge;
pub mod model;

pub use build::{apply, build, claims_of, RunFacts};
pub use html::render as html;
pub use junit::render as junit;
pub use markdown::{coverage, render as markdown};
pub use merge::{merge, MergeError};
pub use model::{results_schema, Report, SCHEMA_VERSION};

use std::io::Write;
use std::path::{Path, PathBuf};

/// The formats golive renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Md,
    Html,
    Junit,
}

impl Format {
    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Json => json(report),
            Format::Md => markdown(report),
            Format::Html => html(report),
            Format::Junit => junit(report),
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "results.json",
            Format::Md => "report.md",
            Format::Html => "report.html",
            Format::Junit => "junit.xml",
        }
    }
}

/// The largest results.json golive reads: far above any real run (histograms are a few
/// KiB each), low enough that a wrong file cannot exhaust memory.
const MAX_RESULTS_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a `results.json` written by this golive: the schema version is checked before
/// anything else, and every histogram in it must read back. Errors name the file and the
/// field.
pub fn load_results(path: &Path) -> Result<Report, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if meta.len() > MAX_RESULTS_BYTES {
        return Err(format!(
            "{shown}: {} bytes is larger than any golive results.json ({} MiB at most)",
            meta.len(),
            MAX_RESULTS_BYTES / 1024 / 1024
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<serde_json::Value>,
    }
    let version = serde_json::from_str::<Version>(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not a golive results.json: {e}",
            e.line(),
            e.column()
        )
    })?;
    match version.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        Some(v) => {
            return Err(format!(
                "{shown}: schema_version is {v}, but this golive reads results.json version \
                 {SCHEMA_VERSION}; re-run the checklist with this golive, or read the file with \
                 the golive that wrote it"
            ))
        }
        None => {
            return Err(format!(
                "{shown}: no schema_version field: not a golive results.json"
            ))
        }
    }
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not a golive results.json of version {SCHEMA_VERSION}: {e}",
            e.line(),
            e.column()
        )
    })?;
    for (pi, phase) in report.phases.iter().enumerate() {
        for (ii, item) in phase.items.iter().enumerate() {
            item.evidence.validate().map_err(|e| {
                format!(
                    "{shown}: phases[{pi}].items[{ii}] (`{}`).evidence.{e}",
                    item.id
                )
            })?;
        }
    }
    Ok(report)
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
        [Format::Json, Format::Md, Format::Html, Format::Junit]
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
