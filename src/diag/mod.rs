//! Diagnostics: what is wrong with an input file, where (file, YAML path, line, column),
//! and how to fix it. Validation collects every diagnostic it can before giving up, so a
//! user fixes a file in one pass rather than one error per run.

mod location;
pub mod shape;
pub mod yaml;
mod yaml_error;

pub use location::{LocationIndex, Pos};
pub use yaml::YamlError;
pub use yaml_error::from_serde_error;

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// Dotted YAML path such as `phases[0].items[2].criteria[1]`; empty for the whole file.
    pub path: String,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
    /// What kind of problem, where a caller acts on it; `None` for most.
    pub cause: Option<Cause>,
    /// The checklist item this file was planned for, when the problem is in a scenario
    /// file a checklist uses: the same scenario may be valid in another checklist.
    pub used_by: Option<UsedBy>,
}

/// Problems a caller tells apart from the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A service referred to but not declared: a scenario file may refer to a service
    /// that only the checklist using it declares.
    UndeclaredService(String),
}

/// A checklist's load item that uses a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedBy {
    pub checklist: PathBuf,
    pub item: String,
}

impl fmt::Display for UsedBy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} item `{}`", self.checklist.display(), self.item)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.pos.line,
            self.pos.col,
            self.message
        )?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        if let Some(u) = &self.used_by {
            write!(f, ", as used by {u}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file, locating each by its YAML path.
pub struct Diagnostics<'a> {
    file: &'a Path,
    index: &'a LocationIndex,
    items: Vec<Diagnostic>,
    /// Put before every path: where a document written inside another one sits in it
    /// (`phases[0].items[2].check.scenario.`).
    prefix: String,
}

impl<'a> Diagnostics<'a> {
    pub fn new(file: &'a Path, index: &'a LocationIndex) -> Self {
        Diagnostics {
            file,
            index,
            items: Vec::new(),
            prefix: String::new(),
        }
    }

    /// Diagnostics for a document written at `prefix` inside `file` (an inline scenario).
    pub fn within(file: &'a Path, index: &'a LocationIndex, prefix: &str) -> Self {
        Diagnostics {
            prefix: prefix.to_string(),
            ..Diagnostics::new(file, index)
        }
    }

    fn full(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else if path.is_empty() {
            self.prefix.trim_end_matches('.').to_string()
        } else {
            format!("{}{path}", self.prefix)
        }
    }

    /// The line where the value at `path` starts (1-based).
    pub fn line_of(&self, path: &str) -> usize {
        self.index.value_pos(&self.full(path)).line
    }

    /// An error about the value at `path`, located at that value.
    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        self.push(path, message.into(), None);
    }

    /// An error with a hint on how to fix it.
    pub fn error_hint(&mut self, path: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.push(path, message.into(), Some(hint.into()));
    }

    /// An error at a column offset inside the string scalar at `path` (for expressions).
    pub fn error_at_offset(&mut self, path: &str, offset: usize, message: impl Into<String>) {
        self.error_at_offset_for(path, offset, message, None);
    }

    /// [`Diagnostics::error_at_offset`] of a kind a caller acts on.
    pub fn error_at_offset_for(
        &mut self,
        path: &str,
        offset: usize,
        message: impl Into<String>,
        cause: Option<Cause>,
    ) {
        let path = self.full(path);
        let pos = self.index.value_pos_at_offset(&path, offset);
        self.items.push(Diagnostic {
            file: self.file.to_path_buf(),
            path,
            pos,
            message: message.into(),
            hint: None,
            cause,
            used_by: None,
        });
    }

    /// An error about a service that is not declared.
    pub fn undeclared_service(&mut self, path: &str, service: &str, message: impl Into<String>) {
        self.push(path, message.into(), None);
        if let Some(d) = self.items.last_mut() {
            d.cause = Some(Cause::UndeclaredService(service.to_string()));
        }
    }

    fn push(&mut self, path: &str, message: String, hint: Option<String>) {
        let path = self.full(path);
        self.items.push(Diagnostic {
            file: self.file.to_path_buf(),
            pos: self.index.value_pos(&path),
            path,
            message,
            hint,
            cause: None,
            used_by: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many diagnostics so far (to tell whether a step added any).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// "did you mean `timeout`?" for a misspelt word, when a candidate is close enough.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["timeout", "url", "method", "headers"];
        assert_eq!(
            did_you_mean("timout", keys).as_deref(),
            Some("did you mean `timeout`?")
        );
        assert_eq!(
            did_you_mean("methd", keys).as_deref(),
            Some("did you mean `method`?")
        );
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
