//! The container provider against the real Docker engine, with images built offline:
//! the COS gate in containers and as processes, a crash drill under load, a leak drill,
//! SIGINT and `kill -9` clean-up, and bad environments. Where no engine answers, each
//! test says it is skipped and why.

mod common;

use common::docker::{labelled, ready_or_skip};
use common::{finish, golive, root, run_checklist_as, Run};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A run folder name no other test uses.
fn run_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t-{tag}-{}-{nanos:x}", std::process::id())
}

/// `golive run FILE --out TMP/ID ARGS…` from `cwd`.
fn run_in(cwd: &Path, file: &str, id: &str, args: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(id);
    let out = golive()
        .current_dir(cwd)
        .args(["run", file, "--out"])
        .arg(&dir)
        .args(args)
        .output()
        .expect("run golive");
    finish(out, dir, tmp)
}

/// The id a run gave itself (never its folder's name, which runs may share): from its
/// results.json, which holds it from the start (the placeholder's `run_id`) to the end
/// (`run.id`).
fn run_id_in(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["run"]["id"]
        .as_str()
        .or(v["run_id"].as_str())
        .unwrap_or_else(|| panic!("no run id in {}/results.json", dir.display()))
        .to_string()
}

fn assert_nothing_left(run: &Run) {
    assert_nothing_left_by(&run_id_in(&run.dir));
}

fn assert_nothing_left_by(id: &str) {
    let (containers, networks) = labelled(Some(id));
    assert!(
        containers.is_empty() && networks.is_empty(),
        "run {id} left containers {containers:?} and networks {networks:?}"
    );
}

#[test]
fn the_cos_gate_is_go_in_containers_and_leaves_docker_as_it_was() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("cos");
    let run = run_in(
        &root().join("checks"),
        "cos-golive.yaml",
        &id,
        &["--provider", "docker"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let services = run.results()["services"].as_array().expect("services");
    assert_eq!(services.len(), 3);
    for s in services {
        assert_eq!(s["provider"], "container", "{s}");
        assert_eq!(s["status"], "ready", "{s}");
        assert!(
            s["image"].as_str().unwrap_or("").starts_with("golive/"),
            "{s}"
        );
        assert!(s["resources"]["samples"].as_u64().unwrap_or(0) >= 3, "{s}");
    }
    let drill = &run.item("api-crash-drill")["evidence"]["drills"][0];
    assert_eq!(drill["action"], "kill");
    let recovery = drill["recovery_ms"].as_u64().expect("recovered");
    assert!(recovery < 10_000, "{drill}");
    assert_nothing_left(&run);
}

#[test]
fn the_cos_gate_is_go_as_local_processes() {
    if let Err(why) = common::servers::postgres().and(common::servers::redis()) {
        common::servers::skipped(&why);
        return;
    }
    let id = run_id("cosproc");
    let run = run_in(
        &root().join("checks"),
        "cos-golive.yaml",
        &id,
        &["--provider", "process"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for s in run.results()["services"].as_array().expect("services") {
        assert_eq!(s["provider"], "process", "{s}");
    }
    for item in [
        "db-query",
        "cache-throughput",
        "api-health",
        "steady-orders",
        "api-memory",
        "api-crash-drill",
    ] {
        assert_eq!(run.outcome(item), "PASS", "{}", run.item(item));
    }
}

#[test]
fn killing_the_api_container_under_load_rolls_back_and_times_the_recovery() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("kill");
    let run = run_in(
        &root().join("tests/fixtures/run"),
        "kill-drill.yaml",
        &id,
        &["--provider", "docker"],
    );
    assert_eq!(run.code, 5, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["verdict"], "ROLLBACK");
    let item = run.item("drill");
    let rollback = &item["evidence"]["load"]["rollback"];
    assert_eq!(rollback["rule"], "errors", "{item}");
    let at = rollback["at_s"].as_f64().expect("rollback time");
    assert!((10.0..20.0).contains(&at), "rolled back at {at} s");
    let drill = &item["evidence"]["drills"][0];
    assert_eq!(drill["action"], "kill");
    let fired = drill["fired_at_s"].as_f64().expect("fired");
    assert!((fired - 10.0).abs() < 1.0, "{drill}");
    let recovery = drill["recovery_ms"].as_u64().expect("recovered");
    assert!(recovery > 0 && recovery < 10_000, "{drill}");
    let criterion = item["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["criterion"] == "recovery_time < 10s")
        .expect("recovery criterion");
    assert_eq!(criterion["outcome"], "PASS", "{criterion}");
    assert_eq!(run.results()["services"][0]["resources"]["restarts"], 1);
    assert_nothing_left(&run);
}

/// `restart: on-failure` on a container: the kill drill SIGKILLs its process from the
/// host, the engine's restart policy starts it again (golive does not), the recovery is
/// timed and the restart counted.
#[test]
fn a_crashed_container_is_restarted_by_the_engine_under_restart_on_failure() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("policy");
    let run = run_in(
        &root().join("tests/fixtures/run"),
        "drills-supervised.yaml",
        &id,
        &["--provider", "docker"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let crash = run.item("crash");
    let drill = &crash["evidence"]["drills"][0];
    assert!(drill["error"].is_null(), "{drill}");
    assert!(
        drill["recovery_ms"].as_u64().expect("recovered") < 5_000,
        "{drill}"
    );
    assert_eq!(run.item("restarted-once")["outcome"], "PASS");
    assert_eq!(run.results()["services"][0]["resources"]["restarts"], 1);
    assert_nothing_left(&run);
}

#[test]
fn a_leaking_container_fails_memory_growth_with_the_measured_slope() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("leak");
    let run = run_in(
        &root().join("tests/fixtures/run"),
        "leak.yaml",
        &id,
        &["--provider", "docker"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.results()["services"][0]["provider"], "container");
    let item = run.item("no-leak");
    let growth = &item["criteria"][0];
    assert_eq!(growth["criterion"], "memory_growth < 50MB");
    assert_eq!(growth["outcome"], "FAIL", "{growth}");
    // 4 MB a second is 240 MB a minute, read from the Docker stats API this time.
    let slope = item["evidence"]["resources"]["memory_slope_bytes_per_min"]
        .as_f64()
        .expect("slope");
    assert!(
        (150e6..330e6).contains(&slope),
        "slope {slope} B/min: {item}"
    );
    assert_nothing_left(&run);
}

/// Starts `golive run` on the slow fixture in containers and waits until its container
/// is up; returns the child and the run folder.
/// Starts a run that takes a while; returns it, its run id and its folder's parent.
fn start_slow_run(folder: &str) -> (std::process::Child, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join(folder);
    let child = golive()
        .current_dir(root().join("tests/fixtures/run"))
        .args([
            "run",
            "slow-container.yaml",
            "--provider",
            "docker",
            "--out",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start golive");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("results.json").exists() {
        assert!(
            Instant::now() < deadline,
            "the run never claimed {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = run_id_in(&dir);
    while labelled(Some(&id)).0.is_empty() {
        assert!(Instant::now() < deadline, "no container appeared for {id}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the run reach its checks.
    std::thread::sleep(Duration::from_secs(3));
    (child, id, tmp)
}

#[test]
fn sigint_mid_run_writes_the_report_exits_130_and_removes_everything() {
    if !ready_or_skip() {
        return;
    }
    let folder = run_id("sigint");
    let (mut child, id, tmp) = start_slow_run(&folder);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let text = std::fs::read_to_string(tmp.path().join(&folder).join("results.json"))
        .expect("results.json written");
    let results: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(results["run"]["interrupted"], true, "{text}");
    assert_eq!(results["services"][0]["provider"], "container", "{text}");
    assert_nothing_left_by(&id);
}

#[test]
fn sigterm_mid_run_is_handled_like_sigint() {
    if !ready_or_skip() {
        return;
    }
    let folder = run_id("sigterm");
    let (mut child, id, tmp) = start_slow_run(&folder);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let text = std::fs::read_to_string(tmp.path().join(&folder).join("results.json"))
        .expect("results.json written");
    assert!(text.contains("\"interrupted\": true"), "{text}");
    assert_nothing_left_by(&id);
}

#[test]
fn command_readiness_runs_inside_the_container() {
    if !ready_or_skip() {
        return;
    }
    let service = |argv: &str, timeout: &str| {
        checklist_with(&format!(
            "  api:\n    container: {{ image: \"golive/reference:{}\", command: [sandbox, --listen, \"0.0.0.0:8080\"], port: 8080 }}\n    ready: {{ kind: command, command: {argv} }}\n    startup_timeout: {timeout}",
            env!("CARGO_PKG_VERSION")
        ))
    };
    // The scratch image holds only /golive: a command that passes must have run in it.
    let id = run_id("cmdready");
    let run = run_checklist_as(
        &service("[/golive, --version]", "20s"),
        &id,
        &["--provider", "docker"],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_nothing_left(&run);

    let id = run_id("cmdnotready");
    let run = run_checklist_as(
        &service("[/golive, no-such-command]", "2s"),
        &id,
        &["--provider", "docker"],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.results()["services"][0]["error"].as_str().unwrap_or("");
    assert!(error.contains("not ready within 2s"), "{error}");
    assert!(
        error.contains("`/golive no-such-command` exited with 2"),
        "{error}"
    );
    assert_nothing_left(&run);
}

#[test]
fn after_kill_9_golive_cleanup_removes_what_the_run_left() {
    if !ready_or_skip() {
        return;
    }
    let (mut child, id, _tmp) = start_slow_run(&run_id("kill9"));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let (containers, networks) = labelled(Some(&id));
    assert!(
        !containers.is_empty() && !networks.is_empty(),
        "a killed run cannot clean up, so its container and network remain"
    );
    let out = golive()
        .args(["cleanup", "--run", &id])
        .output()
        .expect("golive cleanup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 container(s) and 1 network(s) removed"),
        "{stdout}"
    );
    assert_nothing_left_by(&id);
}

fn checklist_with(service: &str) -> String {
    format!(
        "system: bad environments\nservices:\n{service}\nphases:\n  - id: p\n    title: p\n    items:\n      - id: up\n        title: up\n        check: {{ kind: tcp, address: \"{{services.api.host}}:{{services.api.port}}\" }}\n"
    )
}

/// One container, two named ports: each published on its own host port, the service URL
/// on the first, and `{services.app.ports.web}` the host port of the second.
#[test]
fn a_container_publishes_each_named_port_on_a_host_port_of_its_own() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("ports");
    let yaml = format!(
        "system: named ports\nservices:\n  app:\n    container:\n      image: \"golive/reference:{}\"\n      command: [sandbox, --listen, \"0.0.0.0:{{ports.api}}\", --web-listen, \"0.0.0.0:{{ports.web}}\"]\n      ports: {{ api: 8080, web: 3000 }}\n    ready: {{ kind: http, path: /health }}\nphases:\n  - id: p\n    title: p\n    items:\n      - id: api\n        title: api\n        check: {{ kind: http, url: \"{{services.app.url}}/health\" }}\n      - id: web\n        title: web\n        check: {{ kind: http, url: \"http://127.0.0.1:{{services.app.ports.web}}/\" }}\n",
        env!("CARGO_PKG_VERSION")
    );
    let run = run_checklist_as(&yaml, &id, &["--provider", "docker"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outcome("api"), "PASS", "{}", run.item("api"));
    assert_eq!(run.outcome("web"), "PASS", "{}", run.item("web"));
    let port = |item: &str| -> String {
        let target = run.item(item)["target"].as_str().unwrap_or("").to_string();
        let rest = target.split("127.0.0.1:").nth(1).unwrap_or("").to_string();
        rest.split('/').next().unwrap_or("").to_string()
    };
    let (api, web) = (port("api"), port("web"));
    assert!(!api.is_empty() && !web.is_empty(), "{api} {web}");
    assert_ne!(api, web);
    assert_ne!(web, "3000", "the host port is one golive picked");
    assert_eq!(run.results()["services"][0]["provider"], "container");
    assert_nothing_left(&run);
}

#[test]
fn a_missing_image_is_an_environment_failure_that_names_the_build_command() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("noimage");
    let yaml = checklist_with(
        "  api:\n    container: { image: \"golive/reference:no-such-tag\", port: 8080 }",
    );
    let run = run_checklist_as(&yaml, &id, &["--provider", "docker"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.results()["services"][0]["error"].as_str().unwrap_or("");
    assert!(error.contains("golive/reference:no-such-tag"), "{error}");
    assert!(error.contains("golive never pulls"), "{error}");
    assert!(
        error.contains(&format!(
            "this golive builds `golive/reference:{}` with `golive image build --only reference`",
            env!("CARGO_PKG_VERSION")
        )),
        "{error}"
    );
    assert!(!run.stderr.contains("failed to pull"), "{}", run.stderr);
    assert_nothing_left(&run);

    // Someone else's image: golive cannot build it, so it says how to provide one.
    let id = run_id("noimage2");
    let yaml =
        checklist_with("  api:\n    container: { image: \"example/orders:9.9.9\", port: 8080 }");
    let run = run_checklist_as(&yaml, &id, &["--provider", "docker"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.results()["services"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("`docker build -t example/orders:9.9.9 .` or `docker load`"),
        "{error}"
    );
    assert_nothing_left(&run);
}

#[test]
fn a_taken_host_port_is_an_environment_failure_and_leaves_nothing() {
    if !ready_or_skip() {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let id = run_id("port");
    let yaml = checklist_with(&format!(
        "  api:\n    container: {{ image: \"golive/reference:{}\", command: [sandbox, --listen, \"0.0.0.0:8080\"], port: 8080, host_port: {port} }}",
        env!("CARGO_PKG_VERSION")
    ));
    let run = run_checklist_as(&yaml, &id, &["--provider", "docker"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.results()["services"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains(&format!("host port {port} is already in use")),
        "{error}"
    );
    assert_nothing_left(&run);
}

#[test]
fn a_container_that_never_gets_ready_fails_with_its_log_tail() {
    if !ready_or_skip() {
        return;
    }
    let id = run_id("notready");
    let yaml = checklist_with(&format!(
        "  api:\n    container: {{ image: \"golive/reference:{}\", command: [sandbox, --listen, \"0.0.0.0:8080\"], port: 8080 }}\n    ready: {{ kind: http, path: /no-such-page }}\n    startup_timeout: 3s",
        env!("CARGO_PKG_VERSION")
    ));
    let run = run_checklist_as(&yaml, &id, &["--provider", "docker"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let s = &run.results()["services"][0];
    assert!(
        s["error"]
            .as_str()
            .unwrap_or("")
            .contains("not ready within 3s"),
        "{s}"
    );
    let tail = s["log_tail"].to_string();
    assert!(tail.contains("golive sandbox listening"), "{s}");
    assert_nothing_left(&run);
}

#[test]
fn docker_not_answering_is_an_environment_failure_and_auto_falls_back_to_processes() {
    let yaml = checklist_with(&format!(
        "  api:\n    container: {{ image: \"golive/reference:{}\", port: 8080 }}\n    process: {{ command: [\"{{golive}}\", sandbox, --listen, \"127.0.0.1:{{port}}\"] }}",
        env!("CARGO_PKG_VERSION")
    ));
    let no_engine = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let run = run_checklist_as(
        &yaml,
        &run_id("nodocker"),
        &["--provider", "docker"],
        &no_engine,
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = run.results()["services"][0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("Docker did not answer at unix:///nonexistent/docker.sock"),
        "{error}"
    );

    let run = run_checklist_as(&yaml, &run_id("auto"), &["--provider", "auto"], &no_engine);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = &run.results()["services"][0];
    assert_eq!(s["provider"], "process", "{s}");
    assert!(
        s["note"]
            .as_str()
            .unwrap_or("")
            .contains("Docker did not answer"),
        "{s}"
    );
}

#[test]
fn golive_cleanup_without_an_engine_exits_3() {
    let out = golive()
        .arg("cleanup")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("golive cleanup");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Docker did not answer"));
}
