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
        let mut cmd = super::golive();
        cmd.args(["sandbox", "--listen", "127.0.0.1:0"]);
        for f in faults {
            cmd.args(["--fault", f]);
        }
        let mut child = cmd
            .env_remove("GOLIVE_SANDBOX_FAULTS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
