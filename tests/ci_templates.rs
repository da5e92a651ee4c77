//! The CI templates in `ci/`: their gate scripts, taken out of the YAML, run under bash
//! with a stub `golive` on PATH that records its arguments, and a hostile sign-off name.
//! Proves that inputs are data (no command substitution, no word splitting) and that
//! each exit code becomes its own state. The same goes for the GitHub Action
//! (`action.yml`), whose steps run here as GitHub renders them. Last, the three files are
//! validated against GitHub's and GitLab's schemas (check-jsonschema) and every script in
//! them, `.ci/run` and the scripts under ci/, passes shellcheck.

mod common;

use common::root;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A `$(...)` and a backtick command that would each create a file if they ran, spaces,
/// quotes and a glob.
const HOSTILE: &str = "qa-signoff=Ada $(touch PWNED-dollar) `touch PWNED-tick` \"Lovelace\" * 'x'";

/// Writes a stub golive into `bin` that appends each argument on its own line (as
/// `<arg>`) to `args.txt`; `validate` exits 0, anything else makes
/// `golive-run/report.md` (and `results.json` with the verdict for 0, 1, 4 and 5, as
/// golive does) and exits with `$STUB_EXIT`.
fn stub(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    executable(
        &bin.join("golive"),
        "#!/bin/bash\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\" >> args.txt; done\necho '--' >> args.txt\n[ \"$1\" = validate ] && exit 0\nmkdir -p golive-run && echo '# report' > golive-run/report.md\ncase \"${STUB_EXIT:-0}\" in 0) v=GO ;; 1) v=NO_GO ;; 4) v=INCONCLUSIVE ;; 5) v=ROLLBACK ;; *) v= ;; esac\nif [ -n \"$v\" ]; then printf '{\"verdict\": \"%s\"}' \"$v\" > golive-run/results.json; fi\nexit \"${STUB_EXIT:-0}\"\n",
    );
    bin
}

/// Writes `text` to `path` (making its folder) as an executable script.
fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("ci").join(name)).unwrap();
    golive::diag::yaml::from_str(&text).unwrap()
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

/// The action's file at the repository root.
fn action() -> Value {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    golive::diag::yaml::from_str(&text).unwrap()
}

/// The action's step `id` rendered as GitHub renders it: every `${{ inputs.NAME }}` (in
/// the script and in its environment) replaced by the input given, else its default,
/// and `${{ steps.run.outputs.NAME }}` by `outputs`. Returns the script and environment.
fn action_step(
    id: &str,
    inputs: &[(&str, &str)],
    outputs: &[(&str, &str)],
) -> (String, Vec<(String, String)>) {
    let doc = action();
    let mut values: Vec<(String, String)> = Vec::new();
    for (name, spec) in doc["inputs"].as_object().unwrap() {
        let name = name.as_str();
        let given = inputs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let value = given.or(spec["default"].as_str()).unwrap_or("");
        values.push((format!("${{{{ inputs.{name} }}}}"), value.to_string()));
    }
    for (name, value) in outputs {
        values.push((
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            value.to_string(),
        ));
    }
    let render = |text: &str| {
        values
            .iter()
            .fold(text.to_string(), |t, (expr, v)| t.replace(expr, v))
    };
    let step = doc["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("the action's step `{id}`"));
    let env = step["env"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), render(v.as_str().unwrap())))
        .collect();
    (render(step["run"].as_str().unwrap()), env)
}

fn run_action(id: &str, inputs: &[(&str, &str)], outputs: &[(&str, &str)], exit: i32) -> Ran {
    let (script, env) = action_step(id, inputs, outputs);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`.
    run(&format!("set -eo pipefail\n{script}"), &env, exit)
}

/// Every shell script in the three files, named for messages: the action's steps, the
/// workflow's steps and each GitLab job's `script` (its lines run in one shell).
fn scripts() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for (file, steps) in [
        ("action.yml", action()["runs"]["steps"].clone()),
        (
            "ci/github-actions.yml",
            yaml("github-actions.yml")["jobs"]["gate"]["steps"].clone(),
        ),
    ] {
        for (i, step) in steps.as_array().unwrap().iter().enumerate() {
            if let Some(run) = step["run"].as_str() {
                all.push((format!("{file} step {i}"), run.to_string()));
            }
        }
    }
    for (job, spec) in yaml("gitlab-ci.yml").as_object().unwrap() {
        if let Some(lines) = spec["script"].as_array() {
            let lines: Vec<&str> = lines.iter().map(|l| l.as_str().unwrap()).collect();
            all.push((format!("ci/gitlab-ci.yml job {job}"), lines.join("\n")));
        }
    }
    all
}

#[test]
fn no_script_has_an_expression_pasted_into_its_shell_text() {
    let scripts = scripts();
    assert!(scripts.len() >= 6, "{scripts:?}");
    for (name, script) in scripts {
        assert!(
            !script.contains("${{"),
            "an expression in the script of {name}:\n{script}"
        );
    }
}

#[test]
fn the_workflow_uses_the_action_with_inputs_it_declares() {
    let declared = action()["inputs"].clone();
    let steps = yaml("github-actions.yml")["jobs"]["gate"]["steps"].clone();
    let step = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("golive"))
        .expect("the golive step")
        .clone();
    let uses = step["uses"].as_str().unwrap();
    assert!(
        uses == "./" || uses.ends_with("/golive@main"),
        "the gate uses golive's action: {uses}"
    );
    let with = step["with"].as_object().unwrap();
    for key in with.keys() {
        assert!(
            !declared[key].is_null(),
            "`with: {key}` is no input of action.yml"
        );
    }
    for (name, spec) in declared.as_object().unwrap() {
        if spec["required"].as_bool() == Some(true) {
            assert!(with.contains_key(name), "required input {name:?} not given");
        }
    }
    assert_eq!(
        with["signoffs"].as_str(),
        Some("${{ github.event.inputs.signoffs }}")
    );
}

#[test]
fn action_passes_a_hostile_sign_off_name_as_one_argument_and_runs_nothing() {
    let signoffs = format!("{HOSTILE} ;  ops-signoff=Grace Hopper ;");
    let inputs = [
        ("checklist", "checks/portfolio-golive.yaml"),
        ("out", "golive-run"),
        ("signoffs", signoffs.as_str()),
        ("args", "--strict  $(touch PWNED-dollar) *"),
    ];
    let r = run_action("run", &inputs, &[], 0);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_nothing_ran(&r);
    assert_eq!(
        r.args,
        format!(
            "<run>\n<checks/portfolio-golive.yaml>\n<--out>\n<golive-run>\n<--strict>\n<$(touch>\n<PWNED-dollar)>\n<*>\n<--sign>\n<{HOSTILE}>\n<--sign>\n<ops-signoff=Grace Hopper>\n--\n"
        )
    );
    let outputs = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
    assert_eq!(outputs, "verdict=GO\nexit-code=0\n");
    let summary = std::fs::read_to_string(r.dir.path().join("summary.md")).unwrap();
    assert_eq!(summary, "# report\n");
}

#[test]
fn action_reads_the_verdict_from_results_json_and_names_runs_without_one() {
    let inputs = [("checklist", "c.yaml"), ("out", "golive-run")];
    // Without sign-offs or args: no --sign and no empty argument.
    let r = run_action("run", &inputs, &[], 1);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_eq!(r.args, "<run>\n<c.yaml>\n<--out>\n<golive-run>\n--\n");
    let outputs = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
    assert_eq!(outputs, "verdict=NO_GO\nexit-code=1\n");
    for (code, verdict) in [
        (2, "INVALID_INPUT"),
        (3, "ENVIRONMENT"),
        (130, "INTERRUPTED"),
    ] {
        let r = run_action("run", &inputs, &[], code);
        let outputs = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
        assert_eq!(outputs, format!("verdict={verdict}\nexit-code={code}\n"));
    }
}

#[test]
fn action_passes_go_warns_on_inconclusive_and_fails_the_rest() {
    let gate = |code: i32, fail_on_inconclusive: &str| {
        let code = code.to_string();
        run_action(
            "gate",
            &[("fail-on-inconclusive", fail_on_inconclusive)],
            &[("exit-code", &code), ("verdict", "SOME_VERDICT")],
            0,
        )
    };
    assert_eq!(gate(0, "false").code, Some(0));
    let r = gate(4, "false");
    assert_eq!(r.code, Some(0), "INCONCLUSIVE is neutral by default");
    assert!(
        r.stdout.contains("::warning title=go-live INCONCLUSIVE::"),
        "{}",
        r.stdout
    );
    assert_eq!(gate(4, "true").code, Some(4));
    for code in [1, 2, 3, 5, 130] {
        let r = gate(code, "false");
        assert_eq!(r.code, Some(code), "{}", r.stdout);
        assert!(
            r.stdout.contains("::error title=go-live SOME_VERDICT::"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn gitlab_gate_passes_a_hostile_sign_off_name_as_one_argument_and_runs_nothing() {
    let doc = yaml("gitlab-ci.yml");
    let lines: Vec<&str> = doc["go-live-gate"]["script"]
        .as_array()
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

#[test]
fn gitlab_builds_golive_and_lets_only_inconclusive_fail_softly() {
    let doc = yaml("gitlab-ci.yml");
    let build = doc["golive-build"]["script"].as_array().unwrap();
    let build: Vec<&str> = build.iter().map(|l| l.as_str().unwrap()).collect();
    let build = build.join("\n");
    assert!(
        build.contains("cargo install --locked --git \"$GOLIVE_GIT_URL\""),
        "{build}"
    );
    assert!(build.contains("target-feature=+crt-static"), "{build}");
    let gate = &doc["go-live-gate"];
    assert_eq!(gate["needs"][0].as_str(), Some("golive-build"));
    let codes: Vec<i64> = gate["allow_failure"]["exit_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect();
    assert_eq!(codes, [4]);
    assert_eq!(
        gate["artifacts"]["reports"]["junit"].as_str(),
        Some("golive-run/junit.xml")
    );
}

/// Runs `program` with `args`; a missing program fails the test with what to install.
fn tool(program: &Path, args: &[&std::ffi::OsStr], install: &str) -> std::process::Output {
    match Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run {} ({e}): install it: {install} (.ci/run does)",
            program.display()
        ),
    }
}

#[test]
fn templates_match_their_schemas() {
    let python = root().join("target/pyenv/bin/python");
    let install = "python3 -m venv target/pyenv && target/pyenv/bin/pip install check-jsonschema";
    let version = tool(
        &python,
        &[
            "-m".as_ref(),
            "check_jsonschema".as_ref(),
            "--version".as_ref(),
        ],
        install,
    );
    assert!(
        version.status.success(),
        "check-jsonschema is missing: install it: {install} (.ci/run does)\n{}",
        String::from_utf8_lossy(&version.stderr)
    );
    for (schema, file) in [
        ("vendor.github-actions", "action.yml"),
        ("vendor.github-workflows", "ci/github-actions.yml"),
        ("vendor.gitlab-ci", "ci/gitlab-ci.yml"),
    ] {
        // The vendored schemas ship inside check-jsonschema: no network here.
        let out = tool(
            &python,
            &[
                "-m".as_ref(),
                "check_jsonschema".as_ref(),
                "--builtin-schema".as_ref(),
                schema.as_ref(),
                file.as_ref(),
            ],
            install,
        );
        assert!(
            out.status.success(),
            "{file} does not match {schema}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_embedded_script_and_ci_run_pass_shellcheck() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![root().join(".ci/run")];
    for folder in ["ci", "ci/bench"] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                files.push(path);
            }
        }
    }
    assert!(
        files.iter().any(|f| f.ends_with("ci/fuzz.sh")),
        "ci/fuzz.sh is among the scripts checked: {files:?}"
    );
    for (i, (name, script)) in scripts().into_iter().enumerate() {
        let file = dir.path().join(format!("{i}.sh"));
        std::fs::write(&file, format!("# {name}\n{script}")).unwrap();
        files.push(file);
    }
    let mut args: Vec<&std::ffi::OsStr> = vec!["-s".as_ref(), "bash".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let out = tool(Path::new("shellcheck"), &args, "apt-get install shellcheck");
    assert!(
        out.status.success(),
        "shellcheck finds problems (each temporary file starts with the script's name):\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The action keys its build by the files golive is built from, builds once with cargo,
/// and on a later run with the same key takes the cached binary without calling cargo;
/// another key builds again.
#[test]
fn action_builds_once_and_reuses_the_cached_binary_while_the_sources_are_the_same() {
    let source = root().display().to_string();
    let key_of = || {
        let (script, mut env) = action_step("key", &[], &[]);
        env.retain(|(k, _)| k != "SOURCE");
        env.push(("SOURCE".into(), source.clone()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = run(&format!("set -eo pipefail\n{script}"), &env, 0);
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
        let out = std::fs::read_to_string(r.dir.path().join("output.txt")).unwrap();
        out.trim().strip_prefix("key=").unwrap().to_string()
    };
    let key = key_of();
    assert_eq!(key.len(), 20, "{key}");
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert_eq!(key_of(), key, "the same sources give the same key");

    // A stub cargo that "installs" a golive into --root and counts its calls.
    let home = tempfile::tempdir().unwrap();
    let tools = home.path().join("tools");
    executable(
        &tools.join("cargo"),
        "#!/bin/bash\necho \"$*\" >> \"$HOME/cargo-calls\"\nwhile [ \"$1\" != --root ]; do shift; done\nmkdir -p \"$2/bin\"\nprintf '#!/bin/sh\\necho golive 9.9.9\\n' > \"$2/bin/golive\"\nchmod +x \"$2/bin/golive\"\n",
    );
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let install = |key: &str| {
        let (script, mut env) = action_step("install", &[], &[]);
        env.retain(|(k, _)| k != "SOURCE" && k != "KEY");
        env.push(("SOURCE".into(), source.clone()));
        env.push(("KEY".into(), key.to_string()));
        env.push(("HOME".into(), home.path().display().to_string()));
        env.push(("PATH".into(), path.clone()));
        let github_path = home.path().join("github-path").display().to_string();
        env.push(("GITHUB_PATH".into(), github_path));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = run(&format!("set -eo pipefail\n{script}"), &env, 0);
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
        r
    };
    let calls = || {
        std::fs::read_to_string(home.path().join("cargo-calls"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    install(&key);
    assert_eq!(calls(), 1);
    let cached = install(&key);
    assert_eq!(calls(), 1, "the second run built again");
    assert!(
        cached
            .stdout
            .contains("golive from the cache: golive 9.9.9"),
        "{}",
        cached.stdout
    );
    install("another-key");
    assert_eq!(calls(), 2, "changed sources must be built");
    let github_path = std::fs::read_to_string(home.path().join("github-path")).unwrap();
    let bin = home.path().join(".cache/golive-action/bin");
    assert_eq!(github_path, format!("{}\n", bin.display()).repeat(3));
    let args = std::fs::read_to_string(home.path().join("cargo-calls")).unwrap();
    assert!(
        args.starts_with(&format!("install --locked --force --path {source} --root ")),
        "{args}"
    );
}
