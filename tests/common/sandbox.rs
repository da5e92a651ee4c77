//! A reference system (`golive sandbox`) a test starts itself on a free port, to point
//! checklists and loads at as an external service, and to ask afterwards what it saw.
//! Stopped (and resumed first, if a test paused it) by PID when dropped.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, Read, Write};
use std::process::{Child, Stdio};

pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Sandbox {
    /// Starts it with `faults` (`errors=30%`), whatever GOLIVE_SANDBOX_FAULTS says.
    pub fn start(faults: &[&str]) -> Sandbox {
        let args: Vec<&str> = faults.iter().flat_map(|f| ["--fault", *f]).collect();
        Sandbox::start_with(&args, Stdio::null())
    }

    /// Starts it with more arguments (`--redis URL`) and its stderr (its log) sent to
    /// `stderr`; whatever the GOLIVE_SANDBOX_* variables say, they are not read.
    pub fn start_with(args: &[&str], stderr: Stdio) -> Sandbox {
        let mut cmd = super::golive();
        cmd.args(["sandbox", "--listen", "127.0.0.1:0"]).args(args);
        for var in [
            "GOLIVE_SANDBOX_FAULTS",
            "GOLIVE_SANDBOX_POSTGRES",
            "GOLIVE_SANDBOX_REDIS",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start sandbox");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("address line");
        let url = line.trim().rsplit(' ').next().expect("url").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Sandbox { child, url }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// One HTTP/1.0 exchange (the sandbox closes the connection after it): the status
    /// code, the head and the body. A read that waits 10 s fails the test, so a hung
    /// route cannot hang it.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let addr = self.addr();
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("read timeout");
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp)
            .unwrap_or_else(|e| panic!("{method} {path}: no whole answer: {e}"));
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
        (code, head.to_string(), body.to_string())
    }

    /// [`Sandbox::request`] with the body read as JSON.
    pub fn json(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let (code, _, text) = self.request(method, path, body);
        let json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        (code, json)
    }

    /// One plain HTTP/1.1 exchange on the admin API; the status line and the body.
    fn admin(&self, method: &str, path: &str, body: &str) -> (String, String) {
        let addr = self.addr();
        let mut s = std::net::TcpStream::connect(addr).expect("admin connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("admin write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("admin read");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        (
            head.lines().next().unwrap_or_default().to_string(),
            body.to_string(),
        )
    }

    /// Replaces its faults (`{"errors":"30%"}`).
    pub fn set_faults(&self, json: &str) {
        let (status, body) = self.admin("PUT", "/admin/faults", json);
        assert!(status.starts_with("HTTP/1.1 200"), "{status} {body}");
    }

    /// `GET /admin/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = self.admin("GET", "/admin/stats", "");
        assert!(status.starts_with("HTTP/1.1 200"), "{status} {body}");
        serde_json::from_str(&body).expect("stats are JSON")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = kill(self.pid(), Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
