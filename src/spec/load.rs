//! Reading a checklist file safely: size cap, text only, then YAML into spec types with
//! every position kept in a location index.

use super::Checklist;
use crate::diag::{from_serde_error, Diagnostic, LocationIndex, Pos};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest input file accepted; checklists are hand-written and far smaller.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A file's text and where its nodes are.
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    pub index: LocationIndex,
}

fn whole_file(path: &Path, message: String, hint: Option<&str>) -> Vec<Diagnostic> {
    vec![Diagnostic {
        file: path.to_path_buf(),
        path: String::new(),
        pos: Pos { line: 1, col: 1 },
        message,
        hint: hint.map(str::to_string),
        cause: None,
        used_by: None,
    }]
}

/// Reads `path` as UTF-8 text of at most [`MAX_FILE_BYTES`] (a leading byte-order mark
/// dropped) whose YAML nests at most [`crate::diag::shape::MAX_DEPTH`] levels and writes
/// no key twice in one mapping.
pub fn read_source(path: &Path) -> Result<Source, Vec<Diagnostic>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        // Standard input, as `golive validate -` reads it: read once, whoever asks first
        // (telling a scenario from a checklist reads it too); paths in it are relative to
        // the current folder.
        static STDIN: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();
        let read = STDIN.get_or_init(|| {
            let mut b = Vec::new();
            std::io::stdin()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut b)
                .map(|_| b)
                .map_err(|e| e.to_string())
        });
        bytes = read
            .clone()
            .map_err(|e| whole_file(path, format!("cannot read standard input: {e}"), None))?;
    } else {
        read_file(path, &mut bytes)?;
    }
    source_of(path, bytes)
}

fn read_file(path: &Path, bytes: &mut Vec<u8>) -> Result<(), Vec<Diagnostic>> {
    // Only a regular file: opening a FIFO would wait for a writer forever, and a device
    // could stream without end.
    let meta = std::fs::metadata(path)
        .map_err(|e| whole_file(path, format!("cannot read the file: {e}"), None))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a pipe, socket or device)"
        };
        return Err(whole_file(
            path,
            format!("cannot read the file: it is {what}"),
            Some("give a YAML checklist file"),
        ));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| whole_file(path, format!("cannot read the file: {e}"), None))?;
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(bytes)
        .map_err(|e| whole_file(path, format!("cannot read the file: {e}"), None))?;
    Ok(())
}

fn source_of(path: &Path, bytes: Vec<u8>) -> Result<Source, Vec<Diagnostic>> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(whole_file(
            path,
            format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            Some("a checklist is a hand-written YAML file; is this the right path?"),
        ));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(whole_file(
            path,
            format!("this is not a text file (a NUL byte at offset {at})"),
            Some("give a YAML checklist"),
        ));
    }
    // Editors on Windows save UTF-8 with a byte-order mark; it is no part of the YAML.
    let bytes = match bytes.strip_prefix("\u{feff}".as_bytes()) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        whole_file(
            path,
            format!(
                "the file is not valid UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
            Some("save the file as UTF-8"),
        )
    })?;
    if text.trim().is_empty() {
        return Err(whole_file(
            path,
            "the file is empty".into(),
            Some("a checklist needs `system` and `phases`"),
        ));
    }
    let shape = crate::diag::shape::check(&text);
    if !shape.is_empty() {
        return Err(shape
            .iter()
            .map(|e| Diagnostic {
                file: path.to_path_buf(),
                path: String::new(),
                pos: e.pos(),
                message: e.message(),
                hint: Some(e.hint().to_string()),
                cause: None,
                used_by: None,
            })
            .collect());
    }
    let index = LocationIndex::build(&text);
    Ok(Source {
        path: path.to_path_buf(),
        text,
        index,
    })
}

/// Reads and deserialises a checklist; structural errors come back located.
pub fn load_file(path: &Path) -> Result<(Checklist, Source), Vec<Diagnostic>> {
    load_as(path, super::checklist_schema)
}

/// Reads and deserialises a load scenario; structural errors come back located.
pub fn load_scenario(path: &Path) -> Result<(super::Scenario, Source), Vec<Diagnostic>> {
    load_as(path, super::scenario_schema)
}

fn load_as<T: serde::de::DeserializeOwned>(
    path: &Path,
    schema: fn() -> serde_json::Value,
) -> Result<(T, Source), Vec<Diagnostic>> {
    let source = read_source(path)?;
    match crate::diag::yaml::from_str::<T>(&source.text) {
        Ok(c) => Ok((c, source)),
        Err(e) => {
            // serde stops at its first error; report every unknown key as well, and the
            // serde error unless it is one of those.
            let first = from_serde_error(path, &source.index, &e);
            let mut all = super::unknown_keys(path, &source.text, &source.index, &schema());
            if !all.iter().any(|d| d.pos == first.pos) {
                all.push(first);
            }
            all.sort_by_key(|d| (d.pos.line, d.pos.col));
            Err(all)
        }
    }
}
