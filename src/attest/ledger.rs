//! `signoffs.jsonl`: the run folder's append-only ledger of sign-offs, one JSON entry a
//! line. Each entry holds its envelope and `prev`, the SHA-256 of the line before it (for
//! the first line: of the evidence digest it signs), so an entry removed or edited
//! anywhere but at the end breaks the chain; the end is checked against results.json.

use super::dsse::Envelope;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub const LEDGER_FILE: &str = "signoffs.jsonl";

/// The largest ledger golive reads (a sign-off is well under a KiB).
const MAX_LEDGER_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// SHA-256 (hex) of the previous line, or of the evidence digest for the first.
    pub prev: String,
    pub envelope: Envelope,
}

pub(super) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The ledger's lines (without their newline), none when it does not exist.
pub fn read_ledger(dir: &Path) -> Result<Vec<String>, String> {
    let path = dir.join(LEDGER_FILE);
    let shown = path.display();
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{shown}: cannot read: {e}")),
        Ok(m) if m.len() > MAX_LEDGER_BYTES => {
            return Err(format!("{shown}: {} bytes is no golive ledger", m.len()))
        }
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// What `prev` of the entry after `lines` must be, for an entry signing `digest`.
pub(super) fn next_prev(lines: &[String], digest: &str) -> String {
    match lines.last() {
        Some(last) => sha256_hex(last),
        None => sha256_hex(digest),
    }
}

/// Appends `envelope` (signing `digest`) to the ledger in `dir`, chained to its last line.
pub fn append(dir: &Path, envelope: Envelope, digest: &str) -> Result<(), String> {
    let lines = read_ledger(dir)?;
    let entry = Entry {
        prev: next_prev(&lines, digest),
        envelope,
    };
    let path = dir.join(LEDGER_FILE);
    let line = serde_json::to_string(&entry).map_err(|e| e.to_string())? + "\n";
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}
