//! Sign-off after the run, against the reference system: a run whose only gap is two
//! pending sign-offs is INCONCLUSIVE (exit 4); `golive sign` with a key per role makes it
//! GO (exit 0) without any probe running again, and `golive verify --keys` passes; then a
//! byte of evidence edited, a ledger entry deleted, or a signature by a key not in the
//! keys folder each make `verify` fail (exit 6) saying why; a `--reject` makes it NO-GO;
//! wrong input to `sign` changes nothing in the run folder.

mod common;

use common::{golive, run_checklist, Run};
use std::path::Path;
use std::process::Output;

const CHECKLIST: &str = r#"
system: Sign-off after the run
services:
  api:
    process:
      command: ["{golive}", sandbox, --listen, "127.0.0.1:{port}"]
    ready: { kind: http, path: /health }
phases:
  - id: checks
    title: Checks
    items:
      - id: health
        title: Health answers
        check: { kind: http, url: "{services.api.url}/health" }
        samples: 300
        criteria: [error_rate < 1%]
      - id: qa-signoff
        title: QA signs off
        manual: { role: QA Lead }
      - id: ops-signoff
        title: Operations sign off
        manual: { role: Ops Lead }
"#;

fn golive_in(args: &[&str], dirs: &[&Path]) -> Output {
    let mut cmd = golive();
    let mut dirs = dirs.iter();
    for a in args {
        // `@` stands for the next path given.
        if *a == "@" {
            cmd.arg(dirs.next().expect("a path for @"));
        } else {
            cmd.arg(a);
        }
    }
    cmd.output().expect("run golive")
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// Every file of the run folder and its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A pending run, and keys for both roles (plus a stranger's) in `keys/` and `other/`.
fn pending_run() -> (Run, tempfile::TempDir) {
    let run = run_checklist(CHECKLIST, &["--provider", "process"]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "INCONCLUSIVE");
    assert_eq!(run.outcome("health"), "PASS");
    let keys = tempfile::tempdir().unwrap();
    for (dir, name) in [("keys", "qa"), ("keys", "ops"), ("other", "stranger")] {
        let o = golive_in(
            &["keygen", "--out", "@", "--name", name],
            &[&keys.path().join(dir)],
        );
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    (run, keys)
}

fn sign(run: &Run, role: &str, name: &str, key: &Path) -> Output {
    golive_in(
        &["sign", "@", "--role", role, "--name", name, "--key", "@"],
        &[&run.dir, key],
    )
}

fn verify(run: &Run, keys: &Path) -> Output {
    golive_in(&["verify", "@", "--keys", "@"], &[&run.dir, keys])
}

#[test]
fn signing_after_the_run_makes_it_go_and_verify_catches_every_tampering() {
    let (run, keys) = pending_run();
    let k = keys.path();
    let health_before = run.item("health")["evidence"].clone();

    // Wrong input changes nothing in the run folder.
    let before = snapshot(&run.dir);
    let o = golive_in(
        &["sign", "@", "--item", "qa-sign-off", "--name", "Ada"],
        &[&run.dir],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("--item `qa-sign-off`"), "{}", text(&o));
    let o = sign(&run, "QA Lead", "Ada", &k.join("keys/qa.pub"));
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("qa.pub: not a golive private key"),
        "{}",
        text(&o)
    );
    let o = golive_in(
        &["sign", "@", "--role", "QA Lead", "--name", "Ada"],
        &[&k.join("keys")],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("results.json"), "{}", text(&o));
    assert_eq!(
        snapshot(&run.dir),
        before,
        "a refused sign changed the run folder"
    );

    // One role signed: still INCONCLUSIVE; both: GO, with the probe's evidence untouched.
    let o = sign(&run, "QA Lead", "Ada Lovelace", &k.join("keys/qa.key"));
    assert_eq!(code(&o), 4, "{}", text(&o));
    let o = sign(&run, "Ops Lead", "Grace Hopper", &k.join("keys/ops.key"));
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("VERDICT: GO"), "{}", text(&o));
    let r = results(&run.dir);
    assert_eq!(r["verdict"], "GO");
    assert_eq!(r["exit_code"], 0);
    let items = r["phases"][0]["items"].as_array().unwrap();
    assert_eq!(items[0]["evidence"], health_before, "the probe ran again");
    assert_eq!(items[1]["outcome"], "PASS");
    assert!(items[1]["signoff"]["signature"]
        .as_str()
        .unwrap()
        .starts_with("ed25519:"));
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(md.contains("Grace Hopper (ed25519:"), "{md}");
    let junit = std::fs::read_to_string(run.dir.join("junit.xml")).unwrap();
    assert!(!junit.contains("signoff-pending"), "{junit}");

    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 0, "{}", text(&o));

    // A stranger's key: the entry does not verify against the keys folder.
    let pristine = snapshot(&run.dir);
    let o = sign(&run, "QA Lead", "Mallory", &k.join("other/stranger.key"));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("entry 3: signed with key")
            && text(&o).contains("not among the public keys"),
        "{}",
        text(&o)
    );
    restore(&run.dir, &pristine);

    // One byte of evidence edited.
    let json = std::fs::read_to_string(run.dir.join("results.json")).unwrap();
    // In the evidence record (the item's own `target` is a copy of it, outside).
    let at = json.find("\"evidence\"").unwrap();
    let edited = format!(
        "{}{}",
        &json[..at],
        json[at..].replacen("/health\"", "/heal_h\"", 1)
    );
    assert_ne!(edited, json);
    std::fs::write(run.dir.join("results.json"), edited).unwrap();
    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("evidence changed after signing"),
        "{}",
        text(&o)
    );
    restore(&run.dir, &pristine);

    // A ledger entry deleted: the first, then the last.
    let ledger = std::fs::read_to_string(run.dir.join("signoffs.jsonl")).unwrap();
    let lines: Vec<&str> = ledger.lines().collect();
    assert_eq!(lines.len(), 2);
    std::fs::write(run.dir.join("signoffs.jsonl"), format!("{}\n", lines[1])).unwrap();
    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("ledger entry 1 was removed or edited"),
        "{}",
        text(&o)
    );
    std::fs::write(run.dir.join("signoffs.jsonl"), format!("{}\n", lines[0])).unwrap();
    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("a ledger entry was removed"),
        "{}",
        text(&o)
    );
    restore(&run.dir, &pristine);

    // A signature edited.
    let mut entry: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    let sig = entry["envelope"]["signatures"][0]["sig"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    entry["envelope"]["signatures"][0]["sig"] = flipped.into();
    std::fs::write(
        run.dir.join("signoffs.jsonl"),
        format!("{}\n{}\n", lines[0], entry),
    )
    .unwrap();
    let o = verify(&run, &k.join("keys"));
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("entry 2: signature does not verify"),
        "{}",
        text(&o)
    );
    restore(&run.dir, &pristine);
    assert_eq!(code(&verify(&run, &k.join("keys"))), 0);

    // A rejection: NO-GO with the reason.
    let o = golive_in(
        &[
            "sign",
            "@",
            "--item",
            "ops-signoff",
            "--name",
            "Grace Hopper",
            "--key",
            "@",
            "--reject",
            "--reason",
            "the rollback runbook is missing",
        ],
        &[&run.dir, &k.join("keys/ops.key")],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    let r = results(&run.dir);
    assert_eq!(r["verdict"], "NO_GO");
    let ops = &r["phases"][0]["items"][2];
    assert_eq!(ops["outcome"], "FAIL");
    assert!(
        ops["why"]
            .as_str()
            .unwrap()
            .contains("the rollback runbook is missing"),
        "{ops:#}"
    );
    assert_eq!(code(&verify(&run, &k.join("keys"))), 0);
}

/// Puts the run folder back as `files` had it (and removes what they did not hold).
fn restore(dir: &Path, files: &[(String, Vec<u8>)]) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if !files
            .iter()
            .any(|(n, _)| *n == e.file_name().to_string_lossy())
        {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn sign_offs_given_during_the_run_or_without_a_key_are_unsigned() {
    let run = run_checklist(
        CHECKLIST,
        &["--provider", "process", "--sign", "qa-signoff=Ada Lovelace"],
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.item("qa-signoff")["signoff"]["signature"], "unsigned");
    let o = golive_in(
        &["sign", "@", "--role", "Ops Lead", "--name", "Grace Hopper"],
        &[&run.dir],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let keys = tempfile::tempdir().unwrap();
    let o = golive_in(&["verify", "@", "--keys", "@"], &[&run.dir, keys.path()]);
    assert_eq!(code(&o), 7, "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("`qa-signoff`: signed by Ada Lovelace during the run"),
        "{out}"
    );
    assert!(
        out.contains("entry 1: `ops-signoff` approve by grace hopper: unsigned"),
        "{out}"
    );
}

/// The DSSE pre-authentication encoding, written out here from the DSSE specification
/// rather than taken from golive, so the signature is checked independently.
fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn b64(s: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().expect("a base64 string"))
        .expect("base64")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The public key in a `golive keygen` .pub file (a tag, then 64 hex digits).
fn public_key(file: &Path) -> ed25519_dalek::VerifyingKey {
    let text = std::fs::read_to_string(file).unwrap();
    let hex_key = text.split_whitespace().last().expect("a key");
    let bytes: [u8; 32] = hex::decode(hex_key).unwrap().try_into().unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
}

#[test]
fn verify_emits_a_verification_summary_only_for_a_folder_that_verifies() {
    let (run, keys) = pending_run();
    let k = keys.path();
    assert_eq!(
        code(&sign(
            &run,
            "QA Lead",
            "Ada Lovelace",
            &k.join("keys/qa.key")
        )),
        4
    );
    assert_eq!(
        code(&sign(
            &run,
            "Ops Lead",
            "Grace Hopper",
            &k.join("keys/ops.key")
        )),
        0
    );
    let keys_dir = k.join("keys");
    let emit = |extra: &[&str], paths: &[&Path]| {
        let mut args = vec!["verify", "@", "--keys", "@", "--emit", "vsa"];
        args.extend_from_slice(extra);
        let mut all: Vec<&Path> = vec![&run.dir, &keys_dir];
        all.extend_from_slice(paths);
        golive_in(&args, &all)
    };

    // Signed, to the default file: a DSSE envelope whose signature verifies.
    let o = emit(&["--key", "@"], &[&k.join("keys/qa.key")]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("Verification summary (PASSED"),
        "{}",
        text(&o)
    );
    let vsa_file = run.dir.join("vsa.intoto.jsonl");
    let written = std::fs::read_to_string(&vsa_file).expect("vsa.intoto.jsonl written");
    assert_eq!(written.lines().count(), 1, "{written}");
    let envelope: serde_json::Value = serde_json::from_str(written.trim()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let body = b64(&envelope["payload"]);
    let sig = ed25519_dalek::Signature::from_slice(&b64(&envelope["signatures"][0]["sig"]))
        .expect("an Ed25519 signature");
    let qa = public_key(&k.join("keys/qa.pub"));
    qa.verify_strict(&pae("application/vnd.in-toto+json", &body), &sig)
        .expect("the summary's signature verifies with the signer's public key");
    assert_eq!(
        envelope["signatures"][0]["keyid"],
        sha256_hex(qa.as_bytes()),
        "{envelope}"
    );
    let ops = public_key(&k.join("keys/ops.pub"));
    assert!(ops
        .verify_strict(&pae("application/vnd.in-toto+json", &body), &sig)
        .is_err());

    // Its fields: the subject is the digest every sign-off signed (which verify checks
    // against results.json), the policy the checklist's digest, the inputs the ledger.
    let vsa: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(vsa["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        vsa["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    let ledger = std::fs::read_to_string(run.dir.join("signoffs.jsonl")).unwrap();
    let lines: Vec<&str> = ledger.lines().collect();
    assert_eq!(lines.len(), 2);
    let entry: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let signed: serde_json::Value =
        serde_json::from_slice(&b64(&entry["envelope"]["payload"])).unwrap();
    assert_eq!(vsa["subject"], signed["subject"], "{vsa:#}");
    assert_eq!(vsa["subject"][0]["name"], "results.json#evidence");
    let p = &vsa["predicate"];
    assert_eq!(p["verificationResult"], "PASSED", "{p:#}");
    assert_eq!(p["verifiedLevels"], serde_json::json!(["GOLIVE_GO"]));
    assert_eq!(p["verifier"]["id"], "https://golive.dev/verifier");
    assert_eq!(
        p["verifier"]["version"]["golive"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(p["timeVerified"].as_str().unwrap().ends_with('Z'), "{p:#}");
    let resource = p["resourceUri"].as_str().unwrap();
    assert!(
        resource.starts_with("file:///") && resource.ends_with("/results.json"),
        "{resource}"
    );
    let r = results(&run.dir);
    assert_eq!(p["policy"]["digest"]["sha256"], r["checklist"]["sha256"]);
    assert_eq!(p["policy"]["name"], r["checklist"]["file"]);
    let inputs = p["inputAttestations"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    for (input, line) in inputs.iter().zip(&lines) {
        assert_eq!(
            input["digest"]["sha256"],
            sha256_hex(line.as_bytes()),
            "{input}"
        );
        assert!(input["uri"].as_str().unwrap().contains("signoffs.jsonl#"));
    }

    // Issued once: the default file is not replaced unasked.
    let o = emit(&["--key", "@"], &[&k.join("keys/qa.key")]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&vsa_file).unwrap(), written);

    // Without a key: the plain statement, labelled unsigned, under its own name.
    let o = emit(&[], &[]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("unsigned"), "{}", text(&o));
    let plain: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.dir.join("vsa.unsigned.json")).unwrap())
            .unwrap();
    assert_eq!(plain["subject"], vsa["subject"]);
    assert_eq!(plain["predicate"]["verificationResult"], "PASSED");

    // A verification that fails writes nothing.
    let pristine = snapshot(&run.dir);
    let json = std::fs::read_to_string(run.dir.join("results.json")).unwrap();
    let at = json.find("\"evidence\"").unwrap();
    let edited = format!(
        "{}{}",
        &json[..at],
        json[at..].replacen("/health\"", "/heal_h\"", 1)
    );
    std::fs::write(run.dir.join("results.json"), edited).unwrap();
    let out = run.dir.join("after-tampering.jsonl");
    let o = emit(
        &["--key", "@", "--out", "@"],
        &[&k.join("keys/qa.key"), &out],
    );
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(
        text(&o).contains("No verification summary written"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "a failed verification wrote a summary");
    restore(&run.dir, &pristine);

    // A NO-GO run verifies, and its summary says FAILED.
    let o = golive_in(
        &[
            "sign",
            "@",
            "--item",
            "ops-signoff",
            "--name",
            "Grace Hopper",
            "--key",
            "@",
            "--reject",
            "--reason",
            "no runbook",
        ],
        &[&run.dir, &k.join("keys/ops.key")],
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = run.dir.join("nogo.jsonl");
    let o = emit(&["--out", "@"], &[&out]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let nogo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(nogo["predicate"]["verificationResult"], "FAILED");
    assert_eq!(
        nogo["predicate"]["verifiedLevels"],
        serde_json::json!(["FAILED"])
    );
    assert_eq!(
        nogo["predicate"]["inputAttestations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
