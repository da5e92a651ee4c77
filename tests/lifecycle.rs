//! Every process golive starts is ended with everything it forked (issue 11, item 1):
//! after GO, NO-GO, SIGINT, SIGTERM, an interrupted start and a timed-out command
//! check, no process of a forking service or command remains; after golive is
//! SIGKILLed, `golive cleanup --run ID` ends what it left.
//!
//! Each test marks its processes with an argument no other process carries (a `sleep`
//! duration and a folder name made of this test process's PID), finds them by scanning
//! /proc/*/cmdline, and at its end kills any it still finds: only processes it started.

mod common;

use common::golive;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A marker unique to this test process and `n`; also a valid `sleep` duration.
fn marker(n: u32) -> String {
    format!("912345.{}{n:02}", std::process::id())
}

/// Live processes whose command line has an argument containing `marker`.
fn leftovers(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..i + 3))
            .is_some_and(|s| s == "Z" || s == "X");
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !zombie && args.iter().any(|a| a.contains(marker)) {
            found.push(format!("{pid}: {}", args.join(" ").trim()));
        }
    }
    found
}

/// Kills, when dropped, whatever still carries the marker (so a failing test leaves
/// nothing running); these are processes the test itself had golive start.
struct Sweep(String);

impl Drop for Sweep {
    fn drop(&mut self) {
        for p in leftovers(&self.0) {
            if let Some(pid) = p.split(':').next().and_then(|p| p.parse().ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// A service whose shell forks a `sleep` and a Python HTTP server, both marked.
fn forking_service(marker: &str, tmp: &Path, ready: &str) -> String {
    let dir = tmp.join(format!("www-{marker}"));
    std::fs::create_dir_all(&dir).expect("www dir");
    format!(
        r#"services:
  app:
    process:
      command: ["sh", "-c", "sleep {marker} & python3 -m http.server \"$0\" --bind 127.0.0.1 --directory \"$1\"", "{{port}}", "{dir}"]
    ready: {ready}
    startup_timeout: 120s
"#,
        dir = dir.display()
    )
}

fn checklist(services: &str, items: &str) -> String {
    format!("system: Lifecycle\n{services}phases:\n  - id: p\n    title: P\n    items:\n{items}")
}

const GET: &str = "      - { id: get, title: Serves, check: { kind: http, url: \"{services.app.url}/\" }, samples: 3 }\n";
const SLOW: &str = "      - { id: slow, title: Slow, check: { kind: http, url: \"{services.app.url}/\" }, samples: 2000, interval: 50ms }\n";

/// golive running a checklist, its stderr read line by line on a thread of its own.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    _tmp: tempfile::TempDir,
    state: PathBuf,
}

fn start(yaml: &str, folder: &str) -> Running {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("checklist.yaml");
    std::fs::write(&file, yaml).expect("write checklist");
    let state = tmp.path().join("state");
    let mut child = golive()
        .arg("run")
        .arg(&file)
        .args(["--provider", "process", "--out"])
        .arg(tmp.path().join(folder))
        .env("GOLIVE_STATE_DIR", &state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start golive");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
        _tmp: tmp,
        state,
    }
}

impl Running {
    /// Waits (at most 60 s) for a line of stderr containing `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(text);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        panic!("golive never wrote `{text}`:\n{}", self.seen.join("\n"));
    }

    /// The run id golive chose (unique per run, whatever the folder): its first stderr
    /// line reads `golive: SYSTEM — FILE (run ID in DIR)`.
    fn announced_run_id(&self) -> String {
        self.seen
            .iter()
            .find_map(|l| l.split_once("(run ").map(|(_, rest)| rest.to_string()))
            .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| panic!("no run id announced:\n{}", self.seen.join("\n")))
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig)
            .expect("signal golive");
    }

    /// Waits (at most 120 s) for golive to exit; its exit code and stderr.
    fn finish(mut self) -> (Option<i32>, String, Running) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("golive did not exit within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(l);
        }
        (status.code(), self.seen.join("\n"), self)
    }
}

fn assert_none_left(marker: &str, when: &str, stderr: &str) {
    let left = leftovers(marker);
    assert!(
        left.is_empty(),
        "{when}: processes of the service remain:\n{}\n\ngolive said:\n{stderr}",
        left.join("\n")
    );
}

/// Runs to the end and checks the exit code and that nothing is left.
fn run_to_end(n: u32, items: &str, code: i32, when: &str) {
    let m = marker(n);
    let _sweep = Sweep(m.clone());
    let tmp = tempfile::tempdir().expect("temp dir");
    let yaml = checklist(&forking_service(&m, tmp.path(), "{ kind: tcp }"), items);
    let (got, stderr, _) = start(&yaml, &format!("lifecycle-{n}")).finish();
    assert_eq!(got, Some(code), "{stderr}");
    assert_none_left(&m, when, &stderr);
}

#[test]
fn after_go_nothing_of_a_forking_service_remains() {
    run_to_end(1, GET, 0, "after GO");
}

#[test]
fn after_no_go_nothing_of_a_forking_service_remains() {
    let failing = "      - { id: get, title: Fails, check: { kind: http, url: \"{services.app.url}/\", expect: [status == 299] }, samples: 3 }\n";
    run_to_end(2, failing, 1, "after NO-GO");
}

fn interrupted(n: u32, sig: nix::sys::signal::Signal) {
    let m = marker(n);
    let _sweep = Sweep(m.clone());
    let tmp = tempfile::tempdir().expect("temp dir");
    let yaml = checklist(&forking_service(&m, tmp.path(), "{ kind: tcp }"), SLOW);
    let mut run = start(&yaml, &format!("lifecycle-{n}"));
    run.wait_for_line("→ slow");
    assert!(
        leftovers(&m).len() >= 3,
        "sh, sleep and python run: {:?}",
        leftovers(&m)
    );
    run.signal(sig);
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert_none_left(&m, &format!("after {sig}"), &stderr);
}

#[test]
fn after_sigint_nothing_of_a_forking_service_remains() {
    interrupted(3, nix::sys::signal::Signal::SIGINT);
}

#[test]
fn after_sigterm_nothing_of_a_forking_service_remains() {
    interrupted(4, nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn after_an_interrupted_start_nothing_of_a_forking_service_remains() {
    let m = marker(5);
    let _sweep = Sweep(m.clone());
    let tmp = tempfile::tempdir().expect("temp dir");
    // Never ready: the readiness probe waits for a line the service never writes.
    let ready = "{ kind: log, line: \"never written\" }";
    let yaml = checklist(&forking_service(&m, tmp.path(), ready), GET);
    let run = start(&yaml, "lifecycle-5");
    let deadline = Instant::now() + Duration::from_secs(60);
    while leftovers(&m).len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        leftovers(&m).len() >= 3,
        "sh, sleep and python run: {:?}",
        leftovers(&m)
    );
    run.signal(nix::sys::signal::Signal::SIGINT);
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert_none_left(&m, "after SIGINT during start", &stderr);
}

#[test]
fn a_timed_out_command_check_leaves_nothing_running() {
    let m = marker(6);
    let _sweep = Sweep(m.clone());
    let item = format!(
        "      - {{ id: cmd, title: Forks, check: {{ kind: command, run: [\"sh\", \"-c\", \"sleep {m}1 & sleep {m}2\"], timeout: 1s }}, samples: 1 }}\n"
    );
    let (code, stderr, _) = start(&checklist("", &item), "lifecycle-6").finish();
    assert_eq!(code, Some(1), "{stderr}");
    assert_none_left(&m, "after a timed-out command check", &stderr);
}

#[test]
fn after_sigkill_golive_cleanup_ends_what_the_run_left() {
    let m = marker(7);
    let _sweep = Sweep(m.clone());
    let tmp = tempfile::tempdir().expect("temp dir");
    let yaml = checklist(&forking_service(&m, tmp.path(), "{ kind: tcp }"), SLOW);
    let folder = format!("lifecycle-kill9-{}", std::process::id());
    let mut run = start(&yaml, &folder);
    run.wait_for_line("→ slow");
    let run_id = run.announced_run_id();
    run.signal(nix::sys::signal::Signal::SIGKILL);
    let (_, stderr, run) = run.finish();
    // The parent-death signal reaches the shell only; the rest keeps running.
    let left = leftovers(&m);
    assert!(
        left.iter().any(|p| p.contains("sleep")) && left.iter().any(|p| p.contains("http.server")),
        "a killed golive cannot stop them, so they remain: {left:?}\n{stderr}"
    );
    let out = golive()
        .args(["cleanup", "--run", &run_id])
        .env("GOLIVE_STATE_DIR", &run.state)
        .output()
        .expect("golive cleanup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(0)
            || (out.status.code() == Some(3) && stderr.contains("Docker did not answer")),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("golive cleanup: 1 process session(s) ended."),
        "{stdout}"
    );
    assert_none_left(&m, "after golive cleanup", &stdout);
    // Its record is gone, so a second clean-up finds nothing.
    let again = golive()
        .args(["cleanup", "--run", &run_id])
        .env("GOLIVE_STATE_DIR", &run.state)
        .output()
        .expect("golive cleanup");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 process session(s) ended"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
