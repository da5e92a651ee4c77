//! Local processes: started with a free port, their output kept as a short tail for
//! the report, stopped with SIGTERM and a grace period, then SIGKILL. Each runs in its
//! own process group so a terminal's Ctrl-C reaches golive alone, which then stops them
//! in order; and each is told to die with golive (parent-death signal) so a killed
//! golive leaves no orphans.

use super::ProcessForm;
use crate::plan::{Endpoint, Endpoints, ProcessVars};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

const TAIL_LINES: usize = 40;
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

type Tail = Arc<Mutex<VecDeque<String>>>;

/// A process golive started.
pub struct Running {
    pub name: String,
    pub endpoint: Endpoint,
    child: tokio::process::Child,
    tail: Tail,
    readers: Vec<JoinHandle<()>>,
}

/// A free TCP port on 127.0.0.1, found by binding port 0.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

pub fn start(
    name: &str,
    form: &ProcessForm,
    golive: &str,
    endpoints: &Endpoints,
) -> Result<Running, String> {
    let port = free_port()?;
    let vars = ProcessVars { port, golive };
    let argv: Vec<String> = form
        .command
        .iter()
        .map(|a| a.render(endpoints, Some(&vars)))
        .collect();
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let url = form.url.render(endpoints, Some(&vars));
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| format!("the service URL `{url}` is not valid: {e}"))?;
    let endpoint = Endpoint {
        url: url.trim_end_matches('/').to_string(),
        host: parsed
            .host_str()
            .unwrap_or("127.0.0.1")
            .trim_matches(['[', ']'])
            .to_string(),
        port: parsed.port_or_known_default().unwrap_or(port),
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(
            form.env
                .iter()
                .map(|(k, v)| (k.clone(), v.render(endpoints, Some(&vars)))),
        )
        .current_dir(&form.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // SAFETY: the closure runs in the child between fork and exec and only makes the
    // async-signal-safe prctl(2) call.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    tracing::info!(service = %name, pid = child.id().unwrap_or(0), %url, "Service process started.");
    let tail: Tail = Arc::new(Mutex::new(VecDeque::new()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(keep_tail(out, tail.clone(), name.to_string())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(keep_tail(err, tail.clone(), name.to_string())));
    }
    Ok(Running {
        name: name.to_string(),
        endpoint,
        child,
        tail,
        readers,
    })
}

async fn keep_tail(stream: impl AsyncRead + Unpin, tail: Tail, name: String) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(service = %name, line = %line, "Service output.");
        if let Ok(mut t) = tail.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }
}

impl Running {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot be waited for: {e}")),
        }
    }

    /// Stops the process (SIGTERM, then SIGKILL after the grace period) and returns the
    /// last lines it wrote.
    pub async fn stop(mut self) -> Vec<String> {
        if self.exited().is_none() {
            if let Some(pid) = self.child.id() {
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
            }
            if tokio::time::timeout(GRACE, self.child.wait())
                .await
                .is_err()
            {
                tracing::warn!(service = %self.name, "Service ignored SIGTERM; killing it.");
                let _ = self.child.kill().await;
            }
        }
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), r).await;
        }
        tracing::info!(service = %self.name, "Service process stopped.");
        self.tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}
