//! `golive verify`: every ledger entry's signature against a folder of public keys, its
//! subject against the evidence digest as results.json holds it now, its role against
//! the checklist's manual items, the chain of entries, and results.json's sign-offs
//! against the ledger (which catches an entry removed from the end).

use super::dsse::{evidence_digest, Decision, Statement};
use super::ledger::{read_ledger, sha256_hex, Entry, LEDGER_FILE};
use ed25519_dalek::VerifyingKey;
use std::collections::BTreeMap;
use std::path::Path;

/// One reason the folder does not verify.
pub type Problem = String;

#[derive(Debug, Default)]
pub struct Verification {
    /// The evidence digest of results.json as it was checked.
    pub digest: String,
    pub entries: usize,
    /// Entries whose signature verified.
    pub verified: usize,
    /// Sign-offs nothing proves (no signature, or no keys to check one against).
    pub unsigned: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Verification {
    pub fn exit_code(&self) -> i32 {
        if !self.problems.is_empty() {
            crate::exit::INVALID_SIGNOFF
        } else if !self.unsigned.is_empty() {
            crate::exit::UNSIGNED_SIGNOFF
        } else {
            crate::exit::GO
        }
    }
}

/// Checks the run folder `dir`; `keys` by key id (None: signatures are not checked and
/// count as unverified). An error is a folder that cannot be read at all.
pub fn verify_run(
    dir: &Path,
    keys: Option<(&Path, &BTreeMap<String, VerifyingKey>)>,
) -> Result<Verification, String> {
    let report = crate::report::load_results(&dir.join("results.json"))?;
    let digest_now = evidence_digest(&report);
    let roles: BTreeMap<&str, &str> = report
        .items()
        .filter_map(|i| i.signoff.as_ref().map(|s| (i.id.as_str(), s.role.as_str())))
        .collect();
    let lines = read_ledger(dir)?;
    let mut v = Verification {
        digest: digest_now.clone(),
        entries: lines.len(),
        ..Verification::default()
    };
    // The last decision per item, with the key that signed it.
    let mut last: BTreeMap<String, (Decision, Option<String>)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let entry: Entry = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(e) => {
                v.problems
                    .push(format!("ledger entry {n}: not a {LEDGER_FILE} entry: {e}"));
                continue;
            }
        };
        let statement: Statement = match entry.envelope.statement() {
            Ok(s) => s,
            Err(e) => {
                v.problems.push(format!("entry {n}: {e}"));
                continue;
            }
        };
        let signed_digest = statement.digest().unwrap_or_default().to_string();
        let expected_prev = match i {
            0 => sha256_hex(&signed_digest),
            _ => sha256_hex(&lines[i - 1]),
        };
        if entry.prev != expected_prev {
            v.problems.push(if i == 0 {
                "ledger entry 1 was removed or edited (the first entry does not start the chain)"
                    .to_string()
            } else {
                format!(
                    "ledger entry {n} was removed or edited (the entry now at {n} does not \
                     chain to entry {i})"
                )
            });
        }
        let p = &statement.predicate;
        let what = format!("`{}` {:?} by {}", p.item, p.decision, p.signer).to_lowercase();
        let mut key = None;
        match (&keys, entry.envelope.signatures.as_slice()) {
            (_, []) => v.unsigned.push(format!("entry {n}: {what}: unsigned")),
            (None, _) => v.unsigned.push(format!(
                "entry {n}: {what}: signature not checked (give --keys DIR)"
            )),
            (Some((dir, keys)), sigs) => {
                for sig in sigs {
                    match keys.get(&sig.keyid) {
                        None => v.problems.push(format!(
                            "entry {n}: signed with key {}, which is not among the public keys in {}",
                            sig.keyid,
                            dir.display()
                        )),
                        Some(k) if !entry.envelope.verifies(sig, k) => v
                            .problems
                            .push(format!("entry {n}: signature does not verify")),
                        Some(_) => {
                            v.verified += 1;
                            key = Some(sig.keyid.clone());
                        }
                    }
                }
            }
        }
        if key.is_none() {
            key = entry.envelope.signatures.first().map(|s| s.keyid.clone());
        }
        if signed_digest != digest_now {
            v.problems.push(format!(
                "entry {n}: evidence changed after signing (signed sha256 {signed_digest}, \
                 results.json now has {digest_now})"
            ));
        }
        match roles.get(p.item.as_str()) {
            None => v.problems.push(format!(
                "entry {n}: `{}` is not a manual item of the checklist",
                p.item
            )),
            Some(role) if *role != p.role => v.problems.push(format!(
                "entry {n}: role `{}` is not one the checklist's manual items ask for `{}` \
                 (it asks for `{role}`)",
                p.role, p.item
            )),
            Some(_) => {}
        }
        last.insert(p.item.clone(), (p.decision, key));
    }
    for item in report.items() {
        let Some(s) = &item.signoff else { continue };
        let recorded = match (&item.evidence.signed, &item.evidence.rejected) {
            (Some(sig), _) => Some((Decision::Approve, sig.key.clone(), &sig.by)),
            (None, Some(r)) => Some((Decision::Reject, r.key.clone(), &r.by)),
            (None, None) => None,
        };
        match (recorded, last.get(&item.id)) {
            (None, None) => {}
            (Some((_, None, by)), None) => v.unsigned.push(format!(
                "`{}`: signed by {by} during the run (--sign): unsigned",
                item.id
            )),
            (Some((d, key, _)), Some((ld, lkey))) if d == *ld && key == *lkey => {}
            (Some(_), None) => v.problems.push(format!(
                "`{}`: results.json records a sign-off by the {} that no ledger entry holds: \
                 a ledger entry was removed",
                item.id, s.role
            )),
            _ => v.problems.push(format!(
                "`{}`: results.json's sign-off differs from the ledger's last entry for it",
                item.id
            )),
        }
    }
    Ok(v)
}
