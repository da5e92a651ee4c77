//! The CI templates in `ci/`: their gate scripts, taken out of the YAML, run under bash
//! with a stub `golive` on PATH that records its arguments, and a hostile sign-off name.
//! Proves that inputs are data (no command substitution, no word splitting) and that
//! each exit code becomes its own state.

mod common;

use common::root;
use std::path::Path;
use std::process::Command;

/// A `$(...)` and a backtick command that would each create a file if they ran, spaces,
/// quotes and a glob.
const HOSTILE: &str = "qa-signoff=Ada $(touch PWNED-dollar) `touch PWNED-tick` \"Lovelace\" * 'x'";

/// Writes a stub golive into `bin` that appends each argument on its own line (as
/// `<arg>`) to `args.txt`; `validate` exits 0, anything else makes
/// `golive-run/report.md` and exits with `$STUB_EXIT`.
fn stub(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("golive");
    std::fs::write(
        &script,
        "#!/bin/bash\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\" >> args.txt; done\necho '--' >> args.txt\n[ \"$1\" = validate ] && exit 0\nmkdir -p golive-run && echo '# report' > golive-run/report.md\nexit \"${STUB_EXIT:-0}\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn yaml(name: &str) -> serde_yaml_ng::Value {
    let text = std::fs::read_to_string(root().join("ci").join(name)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

struct Ran {
    code: Option<i32>,
    args: String,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
}

/// Runs `script` under bash in a fresh folder with the stub golive first on PATH.
///
/// A stub written a moment ago can fail to exec with ETXTBSY ("Text file busy", bash's
/// exit 126) when another test thread forks while the file is still open for writing
/// (the child holds the descriptor until its own exec). That is the test harness, not the
/// templates, so such a run is tried again in a fresh folder.
fn run(script: &str, env: &[(&str, &str)], exit: i32) -> Ran {
    for _ in 0..5 {
        let ran = run_once(script, env, exit);
        if !(ran.code == Some(126) && ran.stderr.contains("Text file busy")) {
            return ran;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    run_once(script, env, exit)
}

fn run_once(script: &str, env: &[(&str, &str)], exit: i32) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let bin = stub(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("STUB_EXIT", exit.to_string())
        .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
        .env("GITHUB_OUTPUT", dir.path().join("output.txt"))
        .envs(env.iter().copied())
        .output()
        .expect("bash");
    Ran {
        code: out.status.code(),
        args: std::fs::read_to_string(dir.path().join("args.txt")).unwrap_or_default(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
    }
}

fn assert_nothing_ran(r: &Ran) {
    for canary in ["PWNED-dollar", "PWNED-tick"] {
        assert!(
            !r.dir.path().join(canary).exists(),
            "the sign-off name ran a command ({canary}); args:\n{}",
            r.args
        );
    }
}

/// The golive step rendered as GitHub renders it for the input `signoffs`: every
/// `${{ github.event.inputs.signoffs }}` replaced by the text, in the script and in its
/// environment. Returns the script and its environment.
fn github_step(signoffs: &str) -> (String, Vec<(String, String)>) {
    const EXPR: &str = "${{ github.event.inputs.signoffs }}";
    let doc = yaml("github-actions.yml");
    let steps = doc["jobs"]["gate"]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("golive"))
        .expect("the golive step");
    let env = step["env"]
        .as_mapping()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().replace(EXPR, signoffs),
            )
        })
        .collect();
    let script = step["run"].as_str().unwrap().replace(EXPR, signoffs);
    (script, env)
}

fn run_github(signoffs: &str, exit: i32) -> Ran {
    let (script, env) = github_step(signoffs);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run(&script, &env, exit)
}

#[test]
fn github_scripts_never_paste_an_expression_into_shell_text() {
    let doc = yaml("github-actions.yml");
    for step in doc["jobs"]["gate"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step["run"].as_str() {
            assert!(
                !run.contains("${{"),
                "an expression in a run script:\n{run}"
            );
        }
    }
}

#[test]
fn github_gate_passes_a_hostile_sign_off_name_as_one_argument_and_runs_nothing() {
    let signoffs = format!("{HOSTILE} ;  ops-signoff=Grace Hopper ;");
    let r = run_github(&signoffs, 0);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    assert_nothing_ran(&r);
    assert_eq!(
        r.args,
        format!(
            "<run>\n<checks/portfolio-golive.yaml>\n<--out>\n<golive-run>\n<--sign>\n<{HOSTILE}>\n<--sign>\n<ops-signoff=Grace Hopper>\n--\n"
        )
    );
    let outputs = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
    assert!(outputs.contains("state=go"), "{outputs}");
    let summary = std::fs::read_to_string(r.dir.path().join("summary.md")).unwrap();
    assert_eq!(summary, "# report\n");
}

#[test]
fn github_gate_gives_each_exit_code_its_state_and_keeps_the_code() {
    for (code, state) in [
        (1, "no-go"),
        (2, "invalid-input"),
        (3, "environment-failure"),
        (4, "inconclusive"),
        (5, "rollback"),
    ] {
        let r = run_github("", code);
        assert_eq!(r.code, Some(code), "{}", r.stdout);
        let outputs = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
        assert!(
            outputs.contains(&format!("state={state}\n")),
            "{code}: {outputs}"
        );
        assert!(
            outputs.contains(&format!("exit_code={code}\n")),
            "{outputs}"
        );
        if code == 4 {
            assert!(
                r.stdout.contains("::warning title=go-live INCONCLUSIVE::"),
                "{}",
                r.stdout
            );
        }
        // No sign-offs: no --sign at all, not an empty one.
        assert!(!r.args.contains("--sign"), "{}", r.args);
    }
}

#[test]
fn gitlab_gate_passes_a_hostile_sign_off_name_as_one_argument_and_runs_nothing() {
    let doc = yaml("gitlab-ci.yml");
    let lines: Vec<&str> = doc["go-live-gate"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // GitLab runs the lines in one shell, stopping at the first that fails.
    let script = format!("set -eo pipefail\n{}", lines.join("\n"));
    let signoffs = format!("{HOSTILE}; ops-signoff=Grace Hopper");
    let r = run(&script, &[("GOLIVE_SIGNOFFS", &signoffs)], 4);
    assert_eq!(r.code, Some(4), "{}", r.stdout);
    assert_nothing_ran(&r);
    assert_eq!(
        r.args,
        format!(
            "<validate>\n<checks/portfolio-golive.yaml>\n--\n<run>\n<checks/portfolio-golive.yaml>\n<--out>\n<golive-run>\n<--sign>\n<{HOSTILE}>\n<--sign>\n<ops-signoff=Grace Hopper>\n--\n"
        )
    );
    let env = std::fs::read_to_string(r.dir.path().join("golive.env")).unwrap();
    assert_eq!(env, "GOLIVE_STATE=inconclusive\nGOLIVE_EXIT_CODE=4\n");
}
