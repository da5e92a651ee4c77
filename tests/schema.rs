//! The published JSON Schemas against the fixtures: every checklist and scenario golive
//! ships passes them, and they catch every invalid fixture whose mistake a schema can
//! express at all. The ones it cannot (a reference to something declared elsewhere, a
//! relation between two fields, text that is not YAML) are named below with the reason,
//! so a schema that stops catching a fixture, or starts catching a listed one, fails here.

mod common;

use common::{golive, root};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Invalid fixtures whose error no JSON Schema can state, and why.
const BEYOND_A_SCHEMA: [(&str, &str); 10] = [
    (
        "checklist-bad-drills.yaml",
        "an undeclared service, and drills that live in another file",
    ),
    (
        "depends-on-cycle.yaml",
        "a cycle through three services' depends_on",
    ),
    ("depends-on.yaml", "depends_on names an undeclared service"),
    (
        "malformed.yaml",
        "not YAML: there is no document to validate",
    ),
    (
        "ports-undeclared.yaml",
        "placeholders name ports their services do not declare",
    ),
    (
        "scenario-unknown-request.yaml",
        "a threshold names an undeclared request",
    ),
    (
        "scenario-warm-up.yaml",
        "the warm-up compared with the executor's duration",
    ),
    (
        "unknown-service.yaml",
        "a placeholder names an undeclared service",
    ),
    (
        "inline-scenario.yaml",
        "an inline scenario's placeholders, paths and warm-up against its executor",
    ),
    (
        "websocket-conversation.yaml",
        "captures read before they are taken, step names and the conversation's forms",
    ),
];

fn schema(args: &[&str], committed: &str) -> jsonschema::Validator {
    let out = golive()
        .arg("schema")
        .args(args)
        .output()
        .expect("run golive");
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join(committed)).expect("committed schema"),
    )
    .expect("committed schema is JSON");
    assert!(
        printed == on_disk,
        "{committed} is stale: run `golive schema {}> {committed}`",
        args.iter().map(|a| format!("{a} ")).collect::<String>()
    );
    let id = printed["$id"].as_str().expect("$id");
    assert!(
        id.starts_with("https://") && id.ends_with(committed) && id.contains("/v0."),
        "{id}"
    );
    jsonschema::validator_for(&printed).expect("a valid JSON Schema")
}

/// The document as JSON; `None` when the text is not YAML. An empty file is `null`.
fn document(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).expect("read");
    if text.trim().is_empty() {
        return Some(Value::Null);
    }
    golive::diag::yaml::from_str(&text).ok()
}

/// `golive validate`'s rule: a top-level `executor` makes a load scenario.
fn is_scenario(doc: &Value) -> bool {
    doc.get("executor").is_some()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("folder") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn the_schemas_catch_every_invalid_fixture_a_schema_can_express() {
    let checklist = schema(&[], "checks/checklist.schema.json");
    let scenario = schema(&["--scenario"], "scenarios/scenario.schema.json");
    let mut files = Vec::new();
    yaml_files(&root().join("tests/fixtures/invalid"), &mut files);
    files.sort();
    let (mut caught, mut problems) = (Vec::new(), Vec::new());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let errors: Vec<String> = match document(file) {
            Some(doc) => {
                let v = if is_scenario(&doc) {
                    &scenario
                } else {
                    &checklist
                };
                v.iter_errors(&doc)
                    .map(|e| format!("{} at {}", e, e.instance_path))
                    .collect()
            }
            None => Vec::new(),
        };
        let beyond = BEYOND_A_SCHEMA.iter().any(|(f, _)| *f == name);
        match (errors.is_empty(), beyond) {
            (false, false) => {
                let first: String = errors[0].chars().take(140).collect();
                println!("caught {name}: {first}");
                caught.push(name);
            }
            (true, true) => println!("beyond a schema {name}"),
            (true, false) => problems.push(format!("{name} is not caught by the schema")),
            (false, true) => problems.push(format!(
                "{name} is caught now ({}): take it off BEYOND_A_SCHEMA",
                errors[0]
            )),
        }
    }
    println!(
        "the schemas catch {} of {} invalid fixtures",
        caught.len(),
        files.len()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(caught.len() + BEYOND_A_SCHEMA.len(), files.len());
    assert!(caught.len() >= 23, "only {} caught", caught.len());
}

#[test]
fn every_shipped_checklist_and_scenario_passes_the_schemas() {
    let checklist = schema(&[], "checks/checklist.schema.json");
    let scenario = schema(&["--scenario"], "scenarios/scenario.schema.json");
    let mut files = Vec::new();
    for dir in [
        "checks",
        "scenarios",
        "tests/fixtures/valid",
        "tests/fixtures/run",
    ] {
        yaml_files(&root().join(dir), &mut files);
    }
    files.sort();
    let (mut scenarios, mut checklists, mut failures) = (0, 0, Vec::new());
    for file in &files {
        let doc = document(file).unwrap_or_else(|| panic!("{} is not YAML", file.display()));
        let v = if is_scenario(&doc) {
            scenarios += 1;
            &scenario
        } else {
            checklists += 1;
            &checklist
        };
        for e in v.iter_errors(&doc) {
            failures.push(format!("{}: {} at {}", file.display(), e, e.instance_path));
        }
    }
    println!("{checklists} checklists and {scenarios} scenarios pass the schemas");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        checklists >= 15 && scenarios >= 8,
        "{checklists} {scenarios}"
    );
}
