//! The command line's conventions: completions, `--version` with the commit, examples and
//! exit codes in `--help`, `validate` of folders and standard input, `run --json`,
//! `--quiet`, `--color` and `NO_COLOR`, and `GOLIVE_` environment variables.

mod common;

use common::{golive, root};
use std::io::Write;
use std::process::{Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small checklist against the reference system as a local process.
const CHECKLIST: &str = r#"system: Conventions
services:
  app:
    process:
      command: ["{golive}", "sandbox", "--listen", "127.0.0.1:{port}"]
    ready: { kind: http, path: /health }
phases:
  - id: checks
    title: Checks
    items:
      - id: health
        title: Health answers UP
        check: { kind: http, url: "{services.app.url}/health", expect: [body.status == "UP"] }
        samples: 5
"#;

/// `golive run` of [`CHECKLIST`] in a fresh folder, with `args` and `env`; the run
/// folder is left to `GOLIVE_RUNS_DIR` (pointed into the temp folder) unless `env` says.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("checklist.yaml");
    std::fs::write(&file, CHECKLIST).expect("write checklist");
    let out = golive()
        .current_dir(tmp.path())
        .arg("run")
        .arg(&file)
        .args(args)
        .env("GOLIVE_RUNS_DIR", tmp.path().join("runs"))
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .expect("run golive");
    (out, tmp)
}

/// The one run folder under `runs`.
fn run_folder(tmp: &tempfile::TempDir) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(tmp.path().join("runs"))
        .expect("GOLIVE_RUNS_DIR holds the run")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

#[test]
fn version_names_the_commit_and_help_has_examples_and_exit_codes() {
    let out = golive().arg("--version").output().unwrap();
    let version = text(&out.stdout);
    assert!(version.starts_with("golive 0."), "{version}");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output();
    match head {
        Ok(h) if h.status.success() => {
            let commit = text(&h.stdout).trim().to_string();
            assert!(
                version.contains(&format!("commit {commit}")),
                "{version} vs {commit}"
            );
        }
        // Built from a tarball: the version says so rather than inventing a commit.
        _ => assert!(version.contains("commit unknown"), "{version}"),
    }
    let help = text(&golive().arg("--help").output().unwrap().stdout);
    for needle in [
        "Examples:",
        "golive validate checks/",
        "Exit codes:",
        "4  INCONCLUSIVE",
        "130 interrupted",
        "GOLIVE_RUNS_DIR",
        "NO_COLOR",
    ] {
        assert!(help.contains(needle), "`{needle}` not in --help:\n{help}");
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, needle) in [
        ("bash", "_golive()"),
        ("zsh", "#compdef golive"),
        ("fish", "complete -c golive"),
    ] {
        let out = golive().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains(needle), "{shell}: {script}");
        assert!(
            script.contains("validate") && script.contains("baseline"),
            "{shell}"
        );
    }
    let bad = golive().args(["completions", "cmd.exe"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // bash accepts the script.
    let out = golive().args(["completions", "bash"]).output().unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(&out.stdout)?;
            c.wait()
        });
    if let Ok(status) = check {
        assert!(status.success(), "bash -n rejects the completion script");
    }
}

#[test]
fn validate_takes_folders_and_standard_input() {
    // Every checklist and scenario the repository ships, found in their folders.
    let out = golive()
        .current_dir(root())
        .args(["validate", "checks", "scenarios"])
        .output()
        .unwrap();
    let listed = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{listed}{}", text(&out.stderr));
    assert!(listed.contains("checks/cos-golive.yaml: ok"), "{listed}");
    assert!(
        listed.contains("checks/baselines/trade-x-pro-1.0.yaml: ok"),
        "nested folders too: {listed}"
    );
    assert!(
        listed.contains("(load scenario `order-execution`"),
        "{listed}"
    );
    // The invalid fixtures' folder: every file fails, each with its location.
    let out = golive()
        .current_dir(root())
        .args(["validate", "tests/fixtures/invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stdout).contains(": ok"), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("tests/fixtures/invalid/untagged-check.yaml:8:16"),
        "{}",
        text(&out.stderr)
    );
    // Standard input, paths relative to the current folder.
    let validate_stdin = |yaml: &str| {
        let mut child = golive()
            .current_dir(root().join("checks"))
            .args(["validate", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let good = std::fs::read_to_string(root().join("checks/portfolio-under-load.yaml")).unwrap();
    let out = validate_stdin(&good);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("-: ok"),
        "{}",
        text(&out.stdout)
    );
    let out = validate_stdin("system: x\nphases: []\nsamples: 3\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("-:3:1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_json_prints_the_results_object_and_quiet_prints_nothing() {
    let (out, tmp) = run(&["--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    let stored: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_folder(&tmp).join("results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, stored, "stdout is the results.json of the run");
    assert_eq!(printed["verdict"], "GO");

    let (out, tmp) = run(&[], &[("GOLIVE_QUIET", "true")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "", "quiet: no summary");
    assert_eq!(text(&out.stderr), "", "quiet: no progress");
    assert!(
        run_folder(&tmp).join("report.md").is_file(),
        "reports still written"
    );
    // Errors still show.
    let (out, _tmp) = run(&["-q", "--provider", "nonsense"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nonsense"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let escape = "\u{1b}[";
    // stdout is a pipe here: `auto` means none.
    let (out, _t) = run(&[], &[]);
    assert!(!text(&out.stdout).contains(escape), "auto on a pipe");
    let (out, _t) = run(&["--color", "always"], &[]);
    let summary = text(&out.stdout);
    assert!(summary.contains(escape), "always: {summary}");
    assert!(summary.contains("VERDICT: GO"), "{summary}");
    let (out, _t) = run(&[], &[("GOLIVE_COLOR", "always"), ("NO_COLOR", "1")]);
    assert!(
        text(&out.stdout).contains(escape),
        "the explicit choice wins"
    );
    let (out, _t) = run(&["--color", "never"], &[]);
    assert!(!text(&out.stdout).contains(escape));
}
