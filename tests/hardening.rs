//! Hostile and careless inputs against the real binary (issue 11): inputs that once
//! aborted golive, hung it or passed validation only to fail at run time, run under a
//! 1 GB address-space limit with a generous time bound; run folders shared by two runs,
//! a full disk, a closed stderr, a metrics client that never finishes its request, and
//! an ad-hoc load whose every request fails. Traffic goes only to 127.0.0.1.

mod common;

use common::golive;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A checklist that passes at once without any service.
const QUICK: &str = "system: quick\nphases:\n  - id: p\n    title: p\n    items:\n      - id: ok\n        title: ok\n        check: { kind: command, run: [\"true\"] }\n";

/// Runs `golive ARGS` through bash with `ulimit -v 1000000` (1 GB); returns the exit
/// code, stderr and how long it took.
fn limited(args: &[&str]) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 1000000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_golive"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// `golive validate FILE` under the limit: the exit code it gave and its stderr, after
/// checking it ended within 5 s.
fn validate_limited(file: &Path) -> (i32, String) {
    let (code, stderr, took) = limited(&["validate", file.to_str().unwrap()]);
    assert!(
        took < Duration::from_secs(5),
        "{} took {took:?}; stderr:\n{stderr}",
        file.display()
    );
    (code, stderr)
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A checklist with one http item whose check is `check` (a flow mapping's inside).
fn http_item(check: &str) -> String {
    format!("system: s\nphases:\n  - id: p\n    title: p\n    items:\n      - id: i\n        title: i\n        check: {{ kind: http, {check} }}\n")
}

#[test]
fn bad_files_exit_2_within_5_s_under_a_1_gb_limit_naming_the_file_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let scenario = |executor: &str| {
        format!("name: s\ntarget: \"http://127.0.0.1:1\"\nrequests: [{{ name: r, path: / }}]\nexecutor: {executor}\n")
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        // 40 KB of nested sequences took 1.28 GB and 3.8 s; 400 KB overflowed the stack.
        (
            write(d, "nested-40k.yaml", format!("{}{}", "[".repeat(20_000), "]".repeat(20_000))),
            "nests more than 64 levels",
        ),
        (
            write(d, "nested-400k.yaml", format!("{}{}", "[".repeat(200_000), "]".repeat(200_000))),
            "nests more than 64 levels",
        ),
        (
            write(d, "nested-block.yaml", format!("{}x\n", "- ".repeat(20_000))),
            "nests more than 64 levels",
        ),
        (
            write(d, "nested-maps.yaml", (0..2_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>()),
            "nests more than 64 levels",
        ),
        (
            write(d, "duplicate-key.yaml", QUICK.replace("system: quick\n", "system: quick\nsystem: other\n")),
            "the key `system` is written twice in this mapping (first at 1:1)",
        ),
        (
            write(d, "header-newline.yaml", http_item("url: \"http://127.0.0.1:1/\", headers: { X-A: \"a\\nX-Injected: b\" }")),
            "cannot hold the control character '\\n'",
        ),
        (
            write(d, "latency-zero.yaml", QUICK.replace("check:", "criteria: [p95 < 0ms]\n        check:")),
            "p95 < 0 can never hold",
        ),
        (
            write(
                d,
                "self-url.yaml",
                format!(
                    "system: s\nservices:\n  app:\n    process: {{ command: [\"true\"], url: \"http://{{services.app.host}}:{{port}}\" }}\n{}",
                    &QUICK["system: quick\n".len()..]
                ),
            ),
            "service `app` refers to its own address",
        ),
        (
            write(d, "users.yaml", scenario("{ kind: constant-users, users: 10000000, duration: 1s }")),
            "10000000 users is more than one load run drives (at most 10000)",
        ),
        (
            write(d, "in-flight.yaml", scenario("{ kind: constant-rate, rate: 10/s, duration: 1s, max_in_flight: 1000000 }")),
            "max_in_flight is at most 10000",
        ),
        (
            write(d, "rate.yaml", scenario("{ kind: constant-rate, rate: 100000000000000000000000/s, duration: 1s }")),
            "a rate is at most 1000000/s",
        ),
    ];
    for (file, needle) in &cases {
        let (code, stderr) = validate_limited(file);
        assert_eq!(code, 2, "{}: {stderr}", file.display());
        assert!(
            stderr.contains(&file.display().to_string()) && stderr.contains(needle),
            "{}: expected `{needle}` in:\n{stderr}",
            file.display()
        );
    }
}

#[test]
fn a_fifo_as_the_checklist_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("checklist.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Opening it would wait for a writer forever; the bound ends the test if it does.
    let (code, stderr) = validate_limited(&fifo);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    let (code, stderr, _) = limited(&["run", fifo.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_key() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "bom.yaml", format!("\u{feff}{QUICK}"));
    let (code, stderr) = validate_limited(&file);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn huge_ad_hoc_loads_are_refused_before_anything_is_allocated() {
    for args in [
        ["--users", "1000000"],
        ["--connections", "20000"],
        ["--rate", "100000000000000000000000/s"],
    ] {
        let mut all = vec!["load", "--url", "http://127.0.0.1:1/", "--duration", "1s"];
        if args[0] != "--rate" {
            all.extend(["--rate", "10/s"]);
        }
        if args[0] == "--users" {
            all.retain(|a| *a != "--rate" && *a != "10/s");
        }
        all.extend(args);
        let (code, stderr, took) = limited(&all);
        assert_eq!(code, 2, "{all:?}: {stderr}");
        assert!(took < Duration::from_secs(5), "{all:?} took {took:?}");
        assert!(
            stderr.contains("at most 10000") || stderr.contains("at most 1000000/s"),
            "{all:?}: {stderr}"
        );
    }
}

fn run_quick(out: &Path) -> std::process::Output {
    let dir = out.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("quick.yaml");
    std::fs::write(&file, QUICK).unwrap();
    golive()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(out)
        .output()
        .expect("golive run")
}

fn run_id(out: &Path) -> String {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    v["run"]["id"].as_str().expect("run.id").to_string()
}

fn is_run_id(id: &str) -> bool {
    let b = id.as_bytes();
    id.len() == 25
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[16] == b'-'
        && id[..8].bytes().all(|c| c.is_ascii_digit())
        && id[9..15].bytes().all(|c| c.is_ascii_digit())
        && id[17..].bytes().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn runs_with_the_same_folder_name_get_their_own_ids_and_a_used_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("job-a/out/gate");
    let b = tmp.path().join("job-b/out/gate");
    let odd = tmp.path().join("runs/My Run!");
    for out in [&a, &b, &odd] {
        let o = run_quick(out);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let ids: Vec<String> = [&a, &b, &odd].iter().map(|o| run_id(o)).collect();
    for id in &ids {
        // Never the folder's name: a timestamp and 32 random bits, valid in Docker names.
        assert!(is_run_id(id), "{id}");
    }
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    // The reports are readable by others (0644 under the usual umask 022).
    use std::os::unix::fs::PermissionsExt;
    for f in ["results.json", "report.md", "junit.xml"] {
        let mode = std::fs::metadata(a.join(f)).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode & 0o044, 0, "{f} has mode {mode:o}");
    }

    // The same folder again: refused, and the first run's results stay as they were.
    let before = std::fs::read(a.join("results.json")).unwrap();
    let o = run_quick(&a);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already holds a run"), "{stderr}");
    assert_eq!(std::fs::read(a.join("results.json")).unwrap(), before);
}

/// Mounts a 64 KiB tmpfs at a fresh folder; `None` (and a SKIPPED line) when this
/// machine does not let the test mount one.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("SKIPPED a full disk: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_disk_without_room_for_the_reports_fails_before_the_run_does_its_work() {
    let Some(fs) = Tmpfs::mount() else { return };
    let file = tempfile::NamedTempFile::new().unwrap();
    // A check that would take 30 s: the run must stop before it.
    std::fs::write(
        file.path(),
        QUICK.replace("[\"true\"]", "[\"sleep\", \"30\"], timeout: 40s"),
    )
    .unwrap();
    let started = Instant::now();
    let o = golive()
        .arg("run")
        .arg(file.path())
        .arg("--out")
        .arg(fs.0.path().join("run"))
        .output()
        .expect("golive run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot write the run folder"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run did its work first"
    );
    // The failed claim leaves no placeholder that would refuse the next run.
    assert!(!fs.0.path().join("run/results.json").exists());
}

#[test]
fn a_closed_stderr_does_not_cost_the_report_or_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "quick.yaml", QUICK);
    let out = tmp.path().join("run");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader); // every write to stderr now fails with EPIPE
    let o = golive()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .stderr(writer)
        .output()
        .expect("golive run");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(out.join("results.json").is_file());
    // And a validation error still exits 2 rather than panicking with 101.
    let bad = write(tmp.path(), "bad.yaml", "system: x\n");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let status = golive()
        .arg("validate")
        .arg(&bad)
        .stderr(writer)
        .status()
        .expect("golive validate");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn a_metrics_client_holding_a_half_sent_request_does_not_keep_golive_from_stopping() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(
        tmp.path(),
        "slow.yaml",
        QUICK.replace("[\"true\"]", "[\"sleep\", \"20\"], timeout: 30s"),
    );
    let mut child = golive()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .args(["--metrics-addr", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive run");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("golive ended early").expect("stderr");
        if let Some(url) = line.strip_prefix("golive: metrics at http://") {
            break url.trim_end_matches("/metrics").to_string();
        }
    };
    // Keep reading stderr so golive never blocks on it.
    let drain = std::thread::spawn(move || for _ in lines {});
    let mut held = std::net::TcpStream::connect(&addr).expect("connect to metrics");
    held.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let stopped = Instant::now();
    let deadline = stopped + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("golive was still running 30 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = stopped.elapsed();
    let _ = drain.join();
    assert_eq!(status.code(), Some(130));
    // The endpoint's grace is 2 s; the rest is the interrupted run writing its report.
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    assert!(tmp.path().join("run/results.json").is_file());
    drop(held);
}

#[test]
fn an_ad_hoc_load_whose_requests_all_fail_exits_1_on_its_threshold() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let o = golive()
        .args([
            "load",
            "--url",
            &url,
            "--rate",
            "50/s",
            "--duration",
            "1s",
            "--json",
        ])
        .output()
        .expect("golive load");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(r["outcome"], "FAIL", "{r}");
    assert_eq!(r["thresholds"][0]["criterion"], "error_rate < 1%", "{r}");
    assert_eq!(r["thresholds"][0]["outcome"], "FAIL", "{r}");

    // A threshold that cannot be judged is invalid input, before any request.
    let o = golive()
        .args([
            "load",
            "--url",
            &url,
            "--rate",
            "50/s",
            "--threshold",
            "p95 < 0ms",
        ])
        .output()
        .expect("golive load");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--threshold `p95 < 0ms`"));
}
