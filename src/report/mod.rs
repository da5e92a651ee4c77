//! Reports: the one model (`model`) and thin renderers of it (JSON, Markdown, HTML, JUnit).
//! The only module that writes report files; every file is written atomically
//! (temporary file in the same folder, then rename), so a reader never sees half a report.

mod build;
pub mod compare;
mod html;
mod junit;
mod markdown;
mod merge;
pub mod model;
mod shards;

pub use build::{apply, build, claims_of, rejudge, RunFacts};
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

/// Space reserved in the run folder from the start of a run until its reports are
/// written: more than a typical run's three reports need, so a disk that cannot hold
/// them is found before the run does its work, not after.
pub const RESERVED_BYTES: usize = 256 * 1024;

/// What the reserving results.json says while a run is writing to its folder (JSON
/// whitespace pads it to [`RESERVED_BYTES`]): the run's id, for `golive cleanup --run`
/// after a `kill -9`. `golive report` refuses it as having no schema_version.
fn placeholder(run_id: &str) -> String {
    serde_json::json!({
        "golive": "a run is in progress in this folder; its results.json replaces this placeholder",
        "run_id": run_id,
    })
    .to_string()
}

/// A run folder claimed for one run, with room for its reports proven and held.
pub struct RunDir {
    pub path: PathBuf,
    /// The placeholder results.json holding the reserved bytes, emptied just before the
    /// reports are written so that its space is theirs.
    reserved: std::fs::File,
}

impl RunDir {
    /// Creates the folder, claims it and proves it can take the reports now, so a run
    /// never does its work only to fail at the end. Creating `results.json` exclusively
    /// is the claim: an error of kind `AlreadyExists` means the folder holds another run
    /// (finished, or still running). Real bytes are written and synced, since creating a
    /// file succeeds on a full disk.
    pub fn prepare(path: &Path, run_id: &str) -> std::io::Result<RunDir> {
        std::fs::create_dir_all(path)?;
        let results = path.join(Format::Json.file_name());
        let mut reserved = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&results)?;
        if let Err(e) = reserve(&mut reserved, &placeholder(run_id), RESERVED_BYTES) {
            drop(reserved);
            let _ = std::fs::remove_file(&results);
            return Err(e);
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            reserved,
        })
    }

    /// Writes every format; returns the paths written.
    pub fn write_all(self, report: &Report) -> std::io::Result<Vec<PathBuf>> {
        // Give the reserved space back to the file system for the reports themselves.
        self.reserved.set_len(0)?;
        drop(self.reserved);
        [Format::Json, Format::Md, Format::Html, Format::Junit]
            .into_iter()
            .map(|f| {
                let p = self.path.join(f.file_name());
                write_atomic(&p, &f.render(report)).map(|_| p)
            })
            .collect()
    }
}

/// Writes the placeholder padded to `bytes` and syncs it: a full disk fails here.
fn reserve(file: &mut (impl Write + Syncable), head: &str, bytes: usize) -> std::io::Result<()> {
    let mut text = String::with_capacity(bytes);
    text.push_str(head);
    text.push('\n');
    while text.len() < bytes {
        text.push(' ');
    }
    file.write_all(text.as_bytes())?;
    file.flush()?;
    file.sync()
}

/// What [`reserve`] needs beyond `Write`, so a test can inject a failing disk.
trait Syncable {
    fn sync(&self) -> std::io::Result<()>;
}

impl Syncable for std::fs::File {
    fn sync(&self) -> std::io::Result<()> {
        self.sync_all()
    }
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename.
/// The file gets mode 0644 less the umask, like any file a program creates (the
/// temporary file's own default, 0600, would hide reports from the CI's other users).
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A disk that takes `room` bytes, then fails like a full one.
    struct FullDisk {
        room: usize,
        written: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.written >= self.room {
                return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
            }
            let n = buf.len().min(self.room - self.written);
            self.written += n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Syncable for FullDisk {
        fn sync(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_reservation_fails_on_a_disk_without_room_for_the_reports() {
        let mut disk = FullDisk {
            room: 64 * 1024,
            written: 0,
        };
        let e = reserve(&mut disk, "{}", RESERVED_BYTES).expect_err("a full disk must fail");
        assert_eq!(e.raw_os_error(), Some(28));
        let mut roomy = FullDisk {
            room: usize::MAX,
            written: 0,
        };
        reserve(&mut roomy, "{}", RESERVED_BYTES).expect("room enough");
        assert_eq!(roomy.written, RESERVED_BYTES);
    }

    #[test]
    fn a_folder_holding_a_run_is_refused_and_a_claimed_one_too() {
        let tmp = tempfile::tempdir().unwrap();
        let first = RunDir::prepare(tmp.path(), "a").expect("an empty folder is claimed");
        let held: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("results.json")).unwrap(),
        )
        .expect("the placeholder is JSON");
        assert_eq!(held["run_id"], "a");
        let again = RunDir::prepare(tmp.path(), "b")
            .err()
            .expect("claimed already");
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        drop(first);
    }

    #[test]
    fn reports_are_readable_by_others_as_the_umask_allows() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("report.md");
        write_atomic(&p, "x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // Tests run under the usual umask 022 (or a stricter one, which must be kept).
        let umask = {
            let probe = tmp.path().join("probe");
            std::fs::File::create(&probe).unwrap();
            !std::fs::metadata(&probe).unwrap().permissions().mode() & 0o666
        };
        // Under umask 022 this is 0644, where the temporary file's default gave 0600.
        assert_eq!(mode, 0o644 & !umask, "mode {mode:o}, umask {umask:o}");
    }
}
