//! `golive validate` on fixture folders: every valid file passes; every invalid one exits
//! 2 with exactly its expected `file:line:col` diagnostics; hostile files never panic.

mod common;

use common::{golive, root};
use std::path::Path;

fn validate(path: &Path) -> (i32, String, String) {
    let out = golive()
        .current_dir(root())
        .arg("validate")
        .arg(path)
        .output()
        .expect("run golive");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join(dir))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_checklist_and_valid_fixture_passes() {
    let files: Vec<_> = yaml_files("checks")
        .into_iter()
        .chain(yaml_files("tests/fixtures/valid"))
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let (code, stdout, stderr) = validate(&f);
        assert_eq!(code, 0, "{}: {stderr}", f.display());
        assert!(stdout.contains(": ok ("), "{stdout}");
    }
}

#[test]
fn every_invalid_fixture_exits_2_with_its_expected_diagnostics() {
    let files = yaml_files("tests/fixtures/invalid");
    assert!(files.len() >= 12, "{files:?}");
    for f in files {
        let expected = std::fs::read_to_string(root().join(f.with_extension("expected")))
            .unwrap_or_else(|_| panic!("{} has no .expected file", f.display()));
        let (code, _, stderr) = validate(&f);
        assert_eq!(code, 2, "{}: {stderr}", f.display());
        assert_eq!(stderr, expected, "{}", f.display());
        for line in expected.lines().filter(|l| !l.starts_with("  hint:")) {
            // Every diagnostic is located: file:line:col: message.
            let rest = line
                .strip_prefix(&format!("{}:", f.display()))
                .expect("starts with the file");
            let mut parts = rest.splitn(3, ':');
            let (l, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(
                l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok(),
                "not located: {line}"
            );
        }
    }
}

#[test]
fn several_mistakes_are_reported_in_one_pass() {
    let (code, _, stderr) = validate(Path::new("tests/fixtures/invalid/many-errors.yaml"));
    assert_eq!(code, 2);
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("tests/")).count(),
        7,
        "{stderr}"
    );
}

#[test]
fn a_binary_file_a_huge_file_a_folder_and_a_missing_file_exit_2_without_panicking() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let binary = tmp.path().join("binary.yaml");
    std::fs::write(&binary, [0x7f, b'E', b'L', b'F', 0, 1, 2, 0xff, 0xfe]).expect("write");
    let latin1 = tmp.path().join("latin1.yaml");
    std::fs::write(&latin1, b"system: caf\xe9\nphases: []\n").expect("write");
    let huge = tmp.path().join("huge.yaml");
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    std::fs::write(&huge, line.repeat(50 * 1024 * 1024 / line.len())).expect("write");
    let cases = [
        (binary, "not a text file"),
        (latin1, "not valid UTF-8"),
        (huge, "larger than 4 MiB"),
        (tmp.path().join("missing.yaml"), "cannot read the file"),
    ];
    for (path, needle) in cases {
        let (code, _, stderr) = validate(&path);
        assert_eq!(code, 2, "{}: {stderr}", path.display());
        assert!(stderr.contains(needle), "{}: {stderr}", path.display());
        assert!(
            stderr.starts_with(&format!("{}:1:1:", path.display())),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A folder: each YAML file in it is validated and reported; an empty one is refused.
    let (code, _, stderr) = validate(tmp.path());
    assert_eq!(code, 2, "{stderr}");
    for needle in ["not a text file", "not valid UTF-8", "larger than 4 MiB"] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let (code, _, stderr) = validate(&empty);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no .yaml or .yml file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_json_schema_accepts_valid_checklists_and_rejects_misspelt_keys() {
    let out = golive().arg("schema").output().expect("run golive");
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    // Editors read the committed copy; it must be what golive prints.
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("checks/checklist.schema.json"))
            .expect("committed schema"),
    )
    .expect("committed schema is JSON");
    assert!(
        schema == committed,
        "checks/checklist.schema.json is stale: run `golive schema > checks/checklist.schema.json`"
    );
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let as_json = |p: &str| -> serde_json::Value {
        golive::diag::yaml::from_str(&std::fs::read_to_string(root().join(p)).expect("read"))
            .expect("yaml")
    };
    for ok in [
        "checks/portfolio-golive.yaml",
        "checks/mytrader-known-issue.yaml",
        "tests/fixtures/valid/every-kind.yaml",
        "tests/fixtures/valid/minimal.yaml",
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&as_json(ok))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{ok}: {errors:?}");
    }
    for bad in [
        "tests/fixtures/invalid/misspelt-key.yaml",
        "tests/fixtures/invalid/unknown-kind.yaml",
    ] {
        assert!(
            !validator.is_valid(&as_json(bad)),
            "{bad} should not validate"
        );
    }
}

/// `golive validate ARGS...` from the repository root, with the test's unset variable
/// surely unset.
fn validate_args(args: &[&str]) -> (i32, String, String) {
    let out = golive()
        .current_dir(root())
        .env_remove("GOLIVE_TEST_UNSET_X")
        .arg("validate")
        .args(args)
        .output()
        .expect("run golive");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const IN_CONTEXT: &str = "tests/fixtures/in-context";

#[test]
fn a_scenario_is_validated_with_the_services_of_the_checklists_that_use_it() {
    let scenario = format!("{IN_CONTEXT}/scenarios/api-load.yaml");
    // Alone, `api` is declared nowhere: exit 2, with how to validate it where it is used.
    let (code, stdout, stderr) = validate_args(&[&scenario]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "{scenario}:4:10: `{{services.api.url}}` refers to a service `api` that is not declared"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "hint: validate it together with the checklist that uses it: golive validate CHECKLIST {scenario}"
        )),
        "{stderr}"
    );
    // With the two checklists that use it: valid in each, and the ok-line says so.
    let gate = format!("{IN_CONTEXT}/checks/api-gate.yaml");
    let canary = format!("{IN_CONTEXT}/checks/api-canary.yaml");
    let (code, stdout, stderr) = validate_args(&[&scenario, &gate, &canary]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{scenario}: ok (load scenario `api-load`: 1 requests, open model, 10s; as used by \
             {gate} item `api-under-load`, {canary} item `canary-load`)"
        )),
        "{stdout}"
    );
    // A folder holding both works the same way.
    let (code, stdout, stderr) = validate_args(&[
        &format!("{IN_CONTEXT}/scenarios/api-load.yaml"),
        &format!("{IN_CONTEXT}/checks"),
    ]);
    assert_eq!(
        code, 2,
        "broken-gate.yaml is in that folder: {stdout}{stderr}"
    );
    assert!(stdout.contains(&format!("{scenario}: ok (")), "{stdout}");
}

#[test]
fn a_problem_in_a_used_scenario_names_the_scenario_and_the_checklist() {
    let scenario = format!("{IN_CONTEXT}/scenarios/api-broken.yaml");
    let gate = format!("{IN_CONTEXT}/checks/broken-gate.yaml");
    let (code, stdout, stderr) = validate_args(&[&gate, &scenario]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "{scenario}:7:13: `FETCH` is not an HTTP method golive sends; use one of GET, HEAD, \
             POST, PUT, PATCH, DELETE, OPTIONS (at `requests[0].method`), as used by {gate} \
             item `broken-load`"
        )),
        "{stderr}"
    );
    // Reported once, where it is used; neither file is ok.
    assert_eq!(stderr.matches("`FETCH`").count(), 1, "{stderr}");
    assert!(!stdout.contains(": ok"), "{stdout}");
}

#[test]
fn the_shipped_checklists_and_scenarios_pass_together() {
    let (code, stdout, stderr) = validate_args(&["checks", "scenarios"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // Each shipped scenario runs alone too (it declares its services) and is used by a
    // checklist: it is validated both ways.
    assert!(
        stdout.contains(
            "scenarios/portfolio-load.yaml: ok (load scenario `portfolio-users`: 4 requests, \
             closed model, 40s; on its own; as used by checks/portfolio-under-load.yaml item \
             `fifty-users`)"
        ),
        "{stdout}"
    );
}

#[test]
fn no_env_checks_env_placeholders_without_reading_them() {
    let uses = "tests/fixtures/env/uses-env.yaml";
    let (code, stdout, stderr) = validate_args(&[uses]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("needs the environment variable `GOLIVE_TEST_UNSET_X`, which is not set"),
        "{stderr}"
    );
    let (code, stdout, stderr) = validate_args(&["--no-env", uses]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with(&format!("{uses}: ok (")), "{stdout}");
    let malformed = "tests/fixtures/env/malformed-env.yaml";
    let (code, stdout, stderr) = validate_args(&["--no-env", malformed]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "{malformed}:15:45: `{{env.}}` does not name an environment variable"
        )),
        "{stderr}"
    );
}

#[test]
fn validating_connects_to_nothing() {
    // A listener the checklist points at: a connection would wait in its backlog, so
    // after golive exits `accept` finds it; none may be there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let tmp = tempfile::tempdir().expect("temp dir");
    let checklist = tmp.path().join("gate.yaml");
    std::fs::write(
        &checklist,
        format!(
            "system: s\nservices:\n  api:\n    external: {{ url: \"http://127.0.0.1:{port}\" }}\n\
             phases:\n  - id: p\n    title: p\n    items:\n\
             \x20     - id: health\n        title: h\n        check: {{ kind: http, url: \"{{services.api.url}}/health\", headers: {{ x-token: \"{{env.GOLIVE_TEST_UNSET_X}}\" }} }}\n\
             \x20     - id: port\n        title: t\n        check: {{ kind: tcp, address: \"127.0.0.1:{port}\" }}\n"
        ),
    )
    .expect("write");
    let (code, stdout, stderr) = validate_args(&["--no-env", &checklist.to_string_lossy()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("validate connected to the checklist's target: {other:?}"),
    }
}
