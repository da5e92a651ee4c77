//! Shared helpers for the integration tests: run the real golive binary on a checklist
//! written to a temporary folder, and read back what it left.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The golive binary built for these tests.
pub fn golive() -> Command {
    Command::new(env!("CARGO_BIN_EXE_golive"))
}

/// What a `golive run` left behind.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    /// The parsed results.json, when one was written.
    pub results: Option<serde_json::Value>,
    _tmp: tempfile::TempDir,
}

impl Run {
    pub fn results(&self) -> &serde_json::Value {
        self.results
            .as_ref()
            .unwrap_or_else(|| panic!("no results.json; stderr:\n{}", self.stderr))
    }

    /// The report entry of item `id`.
    pub fn item(&self, id: &str) -> &serde_json::Value {
        self.results()["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["items"].as_array().into_iter().flatten())
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no item {id} in results"))
    }

    pub fn outcome(&self, id: &str) -> String {
        self.item(id)["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Writes `yaml` as a checklist in a fresh folder and runs `golive run` on it with `args`.
pub fn run_checklist(yaml: &str, args: &[&str]) -> Run {
    run_checklist_as(yaml, "run", args, &[])
}

/// The same, with `files` (name, text) written beside the checklist (scenarios it names,
/// CA files).
pub fn run_checklist_with(yaml: &str, files: &[(&str, &str)], args: &[&str]) -> Run {
    run_in_folder(yaml, files, "run", args, &[])
}

/// The same, with the run folder (and so the run id) named `run_id` and extra
/// environment variables.
pub fn run_checklist_as(yaml: &str, run_id: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    run_in_folder(yaml, &[], run_id, args, env)
}

fn run_in_folder(
    yaml: &str,
    files: &[(&str, &str)],
    run_id: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).expect("write a file beside the checklist");
    }
    let file = tmp.path().join("checklist.yaml");
    std::fs::write(&file, yaml).expect("write checklist");
    let dir = tmp.path().join(run_id);
    let out = golive()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run golive");
    finish(out, dir, tmp)
}

pub fn finish(out: Output, dir: PathBuf, tmp: tempfile::TempDir) -> Run {
    let results = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).expect("results.json is JSON"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
        results,
        _tmp: tmp,
    }
}

/// The lines a service's entry in results.json keeps of its output (`log_tail`).
pub fn log_tail(service: &serde_json::Value) -> Vec<&str> {
    service["log_tail"]
        .as_array()
        .expect("a log tail")
        .iter()
        .filter_map(|l| l.as_str())
        .collect()
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub mod browser;

/// A child process killed (by its own handle) when dropped, whatever the test did.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `path`, a program a Debian `package` installs; a missing one fails the test with what
/// to install.
pub fn tool(path: &str, package: &str) -> &'static str {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: apt-get install -y {package} (.ci/run does)"
    );
    Box::leak(path.to_string().into_boxed_str())
}

pub mod docker;
pub mod sandbox;
pub mod servers;

/// Runs `golive run` on the fixture `tests/fixtures/run/NAME` with extra environment
/// variables (read by `{env.*}` placeholders), writing into a fresh folder.
pub fn run_fixture(name: &str, env: &[(&str, String)], args: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("run");
    let out = golive()
        .arg("run")
        .arg(root().join("tests/fixtures/run").join(name))
        .arg("--out")
        .arg(&dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run golive");
    finish(out, dir, tmp)
}
