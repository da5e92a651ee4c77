//! Live progress of a load: on a terminal (a pseudo-terminal from util-linux's `script`)
//! the progress line changes at least about once a second, whatever the rule window; on a
//! pipe, plain lines come every few seconds; with `--quiet`, nothing.

mod common;

use common::golive;
use std::io::{BufRead, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The reference system on a free port, ended when dropped.
struct Sandbox {
    child: Child,
    url: String,
}

impl Sandbox {
    fn start() -> Sandbox {
        let mut child = golive()
            .args(["sandbox", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sandbox");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the sandbox's address line");
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("an address")
            .to_string();
        Sandbox { child, url }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The progress messages (`N requests (…/s) | …`) in terminal output, each with when it
/// arrived: indicatif redraws the line with escape sequences, so split on those.
fn updates(chunks: &[(Duration, String)]) -> Vec<(Duration, String)> {
    let mut out: Vec<(Duration, String)> = Vec::new();
    for (at, chunk) in chunks {
        for piece in chunk.split(['\r', '\n', '\u{1b}']) {
            if let Some(i) = piece.find(" requests (") {
                let start = piece[..i].rfind(' ').map_or(0, |s| s + 1);
                let msg = piece[start..].to_string();
                if out.last().is_none_or(|(_, m)| *m != msg) {
                    out.push((*at, msg));
                }
            }
        }
    }
    out
}

#[test]
fn on_a_terminal_the_progress_line_moves_every_second() {
    let sandbox = Sandbox::start();
    let cmd = format!(
        "{} load --url {}/health --rate 50/s --duration 8s --threshold 'failures == 0'",
        env!("CARGO_BIN_EXE_golive"),
        sandbox.url
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .env("COLUMNS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script` (Debian bsdutils) runs golive on a pseudo-terminal");
    let mut out = child.stdout.take().unwrap();
    let started = Instant::now();
    let mut chunks = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = out.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        chunks.push((
            started.elapsed(),
            String::from_utf8_lossy(&buf[..n]).into_owned(),
        ));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "golive load never ended"
        );
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "golive load failed: {chunks:?}");
    let seen = updates(&chunks);
    // 8 s at one tick a second: the line changed at least 5 times while the load ran (the
    // 10 s rule window alone would have shown nothing before the end).
    assert!(seen.len() >= 5, "too few progress updates: {seen:#?}");
    let gaps: Vec<f64> = seen
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64())
        .collect();
    let slow = gaps.iter().filter(|g| **g > 2.5).count();
    assert!(
        slow <= 1,
        "the line stood still for more than 2.5 s {slow} times: {gaps:?} {seen:#?}"
    );
}

#[test]
fn on_a_pipe_plain_lines_and_with_quiet_nothing() {
    let sandbox = Sandbox::start();
    let url = format!("{}/health", sandbox.url);
    let out = golive()
        .args(["load", "--url", &url, "--rate", "50/s", "--duration", "7s"])
        .args(["--threshold", "failures == 0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let plain = stderr.lines().filter(|l| l.contains(" requests (")).count();
    assert!(
        plain >= 1,
        "no plain progress line before the end:\n{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no escape sequences on a pipe");
    let out = golive()
        .args([
            "load",
            "--quiet",
            "--url",
            &url,
            "--rate",
            "50/s",
            "--duration",
            "2s",
            "--threshold",
            "failures == 0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}
