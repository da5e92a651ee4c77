//! A SLSA Verification Summary Attestation (VSA, predicate
//! `https://slsa.dev/verification_summary/v1`) of a run folder that `golive verify` found
//! valid: golive, as the verifier, says that the run's evidence record was judged against
//! the checklist (the policy) with the sign-offs of the ledger as input attestations, and
//! whether it passed (verdict GO) or not. Its subject is the one every sign-off signs:
//! `results.json#evidence` with the evidence digest, so a consumer can hold the summary,
//! the sign-offs and the results.json against each other without trusting the folder.
//!
//! `verifiedLevels` holds no SLSA level: SLSA's levels (the Build track's
//! `SLSA_BUILD_LEVEL_n`) grade how an artifact was built, from its provenance, which golive
//! never sees. golive verifies something else, a release's go-live evidence, so it states
//! its own level, `GOLIVE_GO` (the checklist's verdict was GO and every sign-off in the
//! ledger verified against the keys given), or `FAILED` when the verdict was anything
//! else, as the specification asks of a failed verification. Custom levels are allowed
//! there as long as they do not start with `SLSA_`; for the same reason the optional
//! `slsaVersion` and `dependencyLevels` are left out.

use super::dsse::{evidence_digest, Statement};
use super::ledger::{read_ledger, sha256_hex, LEDGER_FILE};
use super::verify::Verification;
use crate::report::Report;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// Who verified: golive itself; its version goes in `verifier.version`.
pub const VERIFIER_ID: &str = "https://golive.dev/verifier";
/// The level a verification states when the run's verdict was GO.
pub const LEVEL_GO: &str = "GOLIVE_GO";

/// An in-toto ResourceDescriptor, with the fields golive fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub uri: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verifier {
    pub id: String,
    pub version: BTreeMap<String, String>,
}

/// The predicate of a SLSA Verification Summary v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsaPredicate {
    pub verifier: Verifier,
    /// RFC 3339, UTC.
    pub time_verified: String,
    /// The run's results.json, as a file URI.
    pub resource_uri: String,
    /// The checklist the evidence was judged against, with its SHA-256 as results.json
    /// records it.
    pub policy: ResourceDescriptor,
    /// Each ledger entry, by the SHA-256 of its line in signoffs.jsonl.
    pub input_attestations: Vec<ResourceDescriptor>,
    /// `PASSED` when the run's verdict is GO, else `FAILED`.
    pub verification_result: String,
    pub verified_levels: Vec<String>,
}

/// The summary of the run folder `dir`, which `verified` found valid, at `now`. Refused
/// when results.json or the ledger changed since they were verified (the summary must be
/// about what was verified).
pub fn summarise(
    dir: &Path,
    verified: &Verification,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Statement<VsaPredicate>, String> {
    let results = dir.join("results.json");
    let report: Report = crate::report::load_results(&results)?;
    let digest = evidence_digest(&report);
    let lines = read_ledger(dir)?;
    if digest != verified.digest || lines.len() != verified.entries {
        return Err(format!(
            "{} changed while it was verified; verify again",
            dir.display()
        ));
    }
    let ledger_uri = file_uri(&dir.join(LEDGER_FILE))?;
    let input_attestations = lines
        .iter()
        .enumerate()
        .map(|(i, line)| ResourceDescriptor {
            name: Some(format!("{LEDGER_FILE} entry {}", i + 1)),
            uri: format!("{ledger_uri}#{}", i + 1),
            digest: sha256(sha256_hex(line)),
        })
        .collect();
    let passed = report.verdict == Verdict::Go;
    let predicate = VsaPredicate {
        verifier: Verifier {
            id: VERIFIER_ID.into(),
            version: [("golive".to_string(), env!("CARGO_PKG_VERSION").to_string())].into(),
        },
        time_verified: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        resource_uri: file_uri(&results)?,
        policy: ResourceDescriptor {
            name: Some(report.checklist.file.clone()),
            uri: path_uri(&report.checklist.file),
            digest: sha256(report.checklist.sha256.clone()),
        },
        input_attestations,
        verification_result: if passed { "PASSED" } else { "FAILED" }.into(),
        verified_levels: vec![if passed { LEVEL_GO } else { "FAILED" }.into()],
    };
    Ok(Statement::about(&digest, VSA_PREDICATE_TYPE, predicate))
}

fn sha256(hex: String) -> BTreeMap<String, String> {
    [("sha256".to_string(), hex)].into()
}

/// `file:///...` of an existing file, its path made absolute and percent-encoded.
fn file_uri(path: &Path) -> Result<String, String> {
    let absolute = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    url::Url::from_file_path(&absolute)
        .map(String::from)
        .map_err(|()| format!("{}: not a path a file URI can name", absolute.display()))
}

/// The checklist's path as the run was given it: a file URI when absolute, else a
/// relative reference (percent-encoded), relative to where `golive run` started; the
/// digest, not the path, is what pins the policy.
fn path_uri(file: &str) -> String {
    let path = Path::new(file);
    if path.is_absolute() {
        if let Ok(u) = url::Url::from_file_path(path) {
            return u.into();
        }
    }
    // Encoded by resolving against a base and taking the reference back off it.
    let base = url::Url::parse("file:///golive/run/").expect("a valid base");
    base.join(file)
        .ok()
        .and_then(|u| base.make_relative(&u))
        .unwrap_or_else(|| file.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_checklist_path_stays_relative_and_is_encoded() {
        assert_eq!(path_uri("checks/a b.yaml"), "checks/a%20b.yaml");
        assert_eq!(path_uri("../x/c.yaml"), "../x/c.yaml");
        assert_eq!(path_uri("/srv/c#1.yaml"), "file:///srv/c%231.yaml");
    }
}
