//! `golive keygen`, `golive sign` and `golive verify`: sign-off after the run. `sign`
//! appends an attestation to the run folder's ledger, records the decision on the item's
//! evidence, judges the stored evidence again and rewrites every report; nothing in the
//! folder changes when any input is wrong. `verify --emit vsa` writes a SLSA
//! Verification Summary of a folder that verified, and nothing for one that did not.

use super::print_error;
use crate::attest::{self, Decision, Envelope, Predicate, Statement};
use crate::exit;
use crate::record::{Rejection, Signature};
use crate::report::{self, Format};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Folder for NAME.key (private, mode 0600) and NAME.pub.
    #[arg(long)]
    pub out: PathBuf,
    /// File name of the pair.
    #[arg(long, default_value = "golive")]
    pub name: String,
}

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The run folder (holding results.json).
    pub run_dir: PathBuf,
    /// The manual item to sign.
    #[arg(long, required_unless_present = "role", conflicts_with = "role")]
    pub item: Option<String>,
    /// Sign every manual item that asks for this role.
    #[arg(long)]
    pub role: Option<String>,
    /// The signer's name.
    #[arg(long)]
    pub name: String,
    /// A private key from `golive keygen`; without it the sign-off is recorded unsigned.
    #[arg(long)]
    pub key: Option<PathBuf>,
    #[arg(long)]
    pub comment: Option<String>,
    /// Refuse the sign-off: the item FAILs, with --reason.
    #[arg(long, requires = "reason")]
    pub reject: bool,
    /// Why the sign-off is refused.
    #[arg(long, requires = "reject")]
    pub reason: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Folder of public keys (*.pub from `golive keygen`).
    #[arg(long, env = "GOLIVE_KEYS")]
    pub keys: Option<PathBuf>,
    /// After a valid verification (exit 0), also write this summary: `vsa`, a SLSA
    /// Verification Summary (in-toto statement) of the run.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// A private key from `golive keygen` to sign the summary with (a DSSE envelope);
    /// without it the summary is written as a plain statement, unsigned.
    #[arg(long, requires = "emit")]
    pub key: Option<PathBuf>,
    /// Where to write the summary, replacing a file there. Default: RUN_DIR/vsa.intoto.jsonl
    /// (signed) or RUN_DIR/vsa.unsigned.json (no --key), never replaced.
    #[arg(long, requires = "emit")]
    pub out: Option<PathBuf>,
}

/// What `golive verify` can write besides its verdict.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// A SLSA Verification Summary (predicate https://slsa.dev/verification_summary/v1).
    Vsa,
}

/// The default summary files: an in-toto bundle (one DSSE envelope a line) when signed; a
/// plain statement under another name when not, so no tool takes it for a signed bundle.
const VSA_SIGNED_FILE: &str = "vsa.intoto.jsonl";
const VSA_UNSIGNED_FILE: &str = "vsa.unsigned.json";

/// `golive keygen`.
pub fn keygen(args: &KeygenArgs) -> i32 {
    match attest::generate(&args.out, &args.name) {
        Ok(pair) => {
            println!("private key: {} (keep it secret)", pair.private.display());
            println!("public key:  {}", pair.public.display());
            println!("key id:      {}", pair.key_id);
            exit::GO
        }
        Err(e) => {
            print_error(&e);
            exit::INVALID_INPUT
        }
    }
}

/// `golive sign`: exits with the run's new exit code.
pub fn sign(args: &SignArgs) -> i32 {
    let results = args.run_dir.join(Format::Json.file_name());
    let mut report = match report::load_results(&results) {
        Ok(r) => r,
        Err(e) => {
            print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    let manual: Vec<(String, String)> = report
        .items()
        .filter_map(|i| i.signoff.as_ref().map(|s| (i.id.clone(), s.role.clone())))
        .collect();
    let chosen: Vec<(String, String)> = match (&args.item, &args.role) {
        (Some(id), _) => manual.iter().filter(|(i, _)| i == id).cloned().collect(),
        (None, Some(role)) => manual.iter().filter(|(_, r)| r == role).cloned().collect(),
        (None, None) => Vec::new(),
    };
    if chosen.is_empty() {
        let (flag, value, known): (&str, &str, Vec<&str>) = match (&args.item, &args.role) {
            (Some(id), _) => (
                "--item",
                id,
                manual.iter().map(|(i, _)| i.as_str()).collect(),
            ),
            (None, role) => (
                "--role",
                role.as_deref().unwrap_or(""),
                manual.iter().map(|(_, r)| r.as_str()).collect(),
            ),
        };
        let hint = crate::diag::did_you_mean(value, known.iter().copied())
            .unwrap_or_else(|| format!("the checklist asks for: {}", known.join(", ")));
        print_error(&format!(
            "{flag} `{value}`: no manual item of the checklist in {} has it; {hint}",
            results.display()
        ));
        return exit::INVALID_INPUT;
    }
    if args.name.trim().is_empty() {
        print_error(&"--name: the signer's name is empty");
        return exit::INVALID_INPUT;
    }
    let Ok(key) = signing_key(args.key.as_deref()) else {
        return exit::INVALID_INPUT;
    };
    let key_id = key.as_ref().map(|k| attest::key_id(&k.verifying_key()));
    let now = chrono::Utc::now();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let digest = attest::evidence_digest(&report);
    let decision = if args.reject {
        Decision::Reject
    } else {
        Decision::Approve
    };
    let mut envelopes = Vec::new();
    for (id, role) in &chosen {
        let statement = Statement::new(
            &digest,
            Predicate {
                item: id.clone(),
                role: role.clone(),
                signer: args.name.trim().to_string(),
                decision,
                reason: args.reason.clone(),
                comment: args.comment.clone(),
                time: at.clone(),
            },
        );
        envelopes.push(Envelope::seal(&statement, key.as_ref()));
        let item = report
            .phases
            .iter_mut()
            .flat_map(|p| p.items.iter_mut())
            .find(|i| &i.id == id);
        if let Some(item) = item {
            let ev = &mut item.evidence;
            match decision {
                Decision::Approve => {
                    ev.rejected = None;
                    ev.signed = Some(Signature {
                        by: args.name.trim().to_string(),
                        at: at.clone(),
                        key: key_id.clone(),
                    });
                }
                Decision::Reject => {
                    ev.signed = None;
                    ev.rejected = Some(Rejection {
                        by: args.name.trim().to_string(),
                        at: at.clone(),
                        reason: args.reason.clone().unwrap_or_default(),
                        key: key_id.clone(),
                    });
                }
            }
        }
    }
    if let Err(e) = report::rejudge(&mut report, now) {
        print_error(&format!("{}: {e}", results.display()));
        return exit::INVALID_INPUT;
    }
    for envelope in envelopes {
        if let Err(e) = attest::append(&args.run_dir, envelope, &digest) {
            print_error(&e);
            return exit::ENVIRONMENT;
        }
    }
    if let Err(code) = rewrite(&args.run_dir, &report) {
        return code;
    }
    let label = key_id
        .map(|k| format!("signed with key {k}"))
        .unwrap_or_else(|| "unsigned: no --key".into());
    for (id, role) in &chosen {
        println!(
            "{} `{id}` for the {role} ({label})",
            if args.reject { "Rejected" } else { "Signed" }
        );
    }
    println!(
        "VERDICT: {} — {}",
        report.verdict.label(),
        crate::redact::printable(&report.verdict_reason)
    );
    report.exit_code
}

/// Writes every report of the run folder again, each atomically.
fn rewrite(dir: &Path, report: &report::Report) -> Result<(), i32> {
    for f in [Format::Json, Format::Md, Format::Html, Format::Junit] {
        let p = dir.join(f.file_name());
        if let Err(e) = report::write_atomic(&p, &f.render(report)) {
            eprintln!("{}: cannot write: {e}", p.display());
            return Err(exit::ENVIRONMENT);
        }
    }
    Ok(())
}

/// `golive verify`.
pub fn verify(args: &VerifyArgs) -> i32 {
    let keys_dir = args.keys.as_deref();
    let keys = match keys_dir.map(attest::read_public_keys).transpose() {
        Ok(k) => k,
        Err(e) => {
            print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    // The summary's key and file are checked before anything is verified, so a wrong
    // one costs nothing and a summary already issued is never replaced unasked.
    let Ok(vsa_key) = signing_key(args.key.as_deref()) else {
        return exit::INVALID_INPUT;
    };
    let vsa_path = args.emit.map(|Emit::Vsa| {
        args.out.clone().unwrap_or_else(|| {
            let name = match vsa_key {
                Some(_) => VSA_SIGNED_FILE,
                None => VSA_UNSIGNED_FILE,
            };
            args.run_dir.join(name)
        })
    });
    if let (Some(path), None) = (&vsa_path, &args.out) {
        if path.exists() {
            print_error(&format!(
                "{} already exists: a summary issued before is not replaced; give --out FILE \
                 to write this one elsewhere (or to replace it), or move it away",
                path.display()
            ));
            return exit::INVALID_INPUT;
        }
    }
    let keys = keys_dir.zip(keys.as_ref());
    let v = match attest::verify_run(&args.run_dir, keys) {
        Ok(v) => v,
        Err(e) => {
            print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    for p in &v.problems {
        println!("INVALID: {}", crate::redact::printable(p));
    }
    for u in &v.unsigned {
        println!("UNSIGNED: {}", crate::redact::printable(u));
    }
    let code = v.exit_code();
    let word = match code {
        exit::GO => "valid",
        exit::UNSIGNED_SIGNOFF => "valid, but with unsigned sign-offs",
        _ => "INVALID",
    };
    println!(
        "golive verify: {word} ({} ledger entries, {} signatures verified)",
        v.entries, v.verified
    );
    let Some(path) = vsa_path else {
        return code;
    };
    if code != exit::GO {
        // A summary vouches for the whole folder: not for one with a sign-off that does
        // not verify, nor for one whose sign-offs nothing proves.
        println!("No verification summary written: the verification did not pass.");
        return code;
    }
    let statement = match attest::summarise(&args.run_dir, &v, chrono::Utc::now()) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e);
            return exit::INVALID_INPUT;
        }
    };
    let text = match &vsa_key {
        Some(k) => serde_json::to_string(&Envelope::seal(&statement, Some(k))),
        None => serde_json::to_string_pretty(&statement),
    };
    let text = text.unwrap_or_default() + "\n";
    if let Err(e) = report::write_atomic(&path, &text) {
        eprintln!("{}: cannot write: {e}", path.display());
        return exit::ENVIRONMENT;
    }
    let label = match &vsa_key {
        Some(k) => format!("signed with key {}", attest::key_id(&k.verifying_key())),
        None => "unsigned: no --key".into(),
    };
    println!(
        "Verification summary ({}, {}): {} ({label})",
        statement.predicate.verification_result,
        statement.predicate.verified_levels.join(", "),
        path.display()
    );
    code
}

/// The signing key of `--key`, if given; an unreadable one is reported here.
fn signing_key(path: Option<&std::path::Path>) -> Result<Option<ed25519_dalek::SigningKey>, ()> {
    path.map(attest::read_signing_key)
        .transpose()
        .map_err(|e| print_error(&e))
}
