//! Local processes: started with a free port, their output kept as a short tail for
//! the report, stopped with SIGTERM and a grace period, then SIGKILL. Each runs in a
//! session of its own (see [`super::session`]), so a terminal's Ctrl-C reaches golive
//! alone, which then stops them in order, and so every process a service forks is
//! signalled and waited for with it. Fault drills can kill, stop, pause and start one
//! again with the same command and port.

use super::session::{Launcher, Session};
use super::tail::LogTail;
use super::ProcessForm;
use crate::template::{Endpoint, Endpoints, ProcessVars};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::task::JoinHandle;

use super::session::GRACE;

/// A process golive started.
pub struct Running {
    pub name: String,
    pub endpoint: Endpoint,
    /// The rendered command, to start it again after a drill.
    argv: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    child: Option<tokio::process::Child>,
    /// The session of the current process and all it forks.
    session: Option<Session>,
    pub(super) launcher: Launcher,
    /// The current session id, the leader's PID (0 while not running), read by the
    /// resource sampler.
    pid: Arc<AtomicU32>,
    pub tail: LogTail,
    readers: Vec<JoinHandle<()>>,
}

/// A free TCP port on 127.0.0.1, found by binding port 0.
pub fn free_port() -> Result<u16, String> {
    Ok(free_ports(1)?[0])
}

/// `n` distinct free TCP ports on 127.0.0.1: every listener is held until all are bound,
/// so the system cannot hand the same port out twice.
pub fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n.max(1))
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// Parses a rendered service URL into an endpoint; `port` when the URL has none.
pub fn endpoint(url: &str, port: u16, ports: BTreeMap<String, u16>) -> Result<Endpoint, String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("the service URL `{url}` is not valid: {e}"))?;
    Ok(Endpoint {
        url: url.trim_end_matches('/').to_string(),
        host: crate::net::host(&parsed).unwrap_or_else(|| "127.0.0.1".to_string()),
        port: parsed.port_or_known_default().unwrap_or(port),
        ports,
    })
}

pub fn start(
    name: &str,
    form: &ProcessForm,
    golive: &str,
    endpoints: &Endpoints,
    watch: Option<String>,
    launcher: &Launcher,
) -> Result<Running, String> {
    // One free port per name (`{port}` is the first), or one unnamed port.
    let free = free_ports(form.ports.len())?;
    let port = free[0];
    let ports: BTreeMap<String, u16> = form.ports.iter().cloned().zip(free).collect();
    let vars = ProcessVars {
        port,
        ports: &ports,
        golive,
    };
    let argv: Vec<String> = form
        .command
        .iter()
        .map(|a| a.render(endpoints, Some(&vars)))
        .collect();
    if argv.is_empty() {
        return Err("the command is empty".into());
    }
    let url = form.url.render(endpoints, Some(&vars));
    let mut running = Running {
        name: name.to_string(),
        endpoint: endpoint(&url, port, ports.clone())?,
        argv,
        env: form
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.render(endpoints, Some(&vars))))
            .collect(),
        cwd: form.cwd.clone(),
        child: None,
        session: None,
        launcher: launcher.clone(),
        pid: Arc::default(),
        tail: LogTail::new(watch),
        readers: Vec::new(),
    };
    running.spawn()?;
    Ok(running)
}

impl Running {
    fn spawn(&mut self) -> Result<(), String> {
        let (program, args) = self.argv.split_first().ok_or("the command is empty")?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(self.env.iter().cloned())
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (mut child, session) = self
            .launcher
            .spawn(&mut cmd, &self.name)
            .map_err(|e| format!("cannot start `{program}`: {e}"))?;
        self.session = Some(session);
        let pid = child.id().unwrap_or(0);
        tracing::info!(service = %self.name, pid, url = %self.endpoint.url, "Service process started.");
        self.pid.store(pid, Ordering::Relaxed);
        if let Some(out) = child.stdout.take() {
            let t = self.tail.clone();
            self.readers
                .push(tokio::spawn(super::tail::keep(out, t, self.name.clone())));
        }
        if let Some(err) = child.stderr.take() {
            let t = self.tail.clone();
            self.readers
                .push(tokio::spawn(super::tail::keep(err, t, self.name.clone())));
        }
        self.child = Some(child);
        Ok(())
    }

    /// The current PID, shared with the resource sampler (0 while not running).
    pub fn pid_cell(&self) -> Arc<AtomicU32> {
        self.pid.clone()
    }

    /// `Some(status)` once the process has exited. It is not reaped here: until the
    /// session is ended, its PID (the session id) stays golive's.
    pub fn exited(&mut self) -> Option<String> {
        if self.child.is_none() {
            return Some("it is not running".into());
        }
        let pid = Pid::from_raw(self.pid.load(Ordering::Relaxed) as i32);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::Exited(_, code)) => Some(format!("exit status: {code}")),
            Ok(WaitStatus::Signaled(_, sig, _)) => Some(format!("signal: {} ({sig})", sig as i32)),
            Ok(_) => None,
            Err(e) => Some(format!("cannot be waited for: {e}")),
        }
    }

    fn signal_group(&self, sig: Signal) -> Result<(), String> {
        match &self.session {
            Some(s) => s.signal(sig),
            None => Err("the process is not running".into()),
        }
    }

    /// SIGKILL to every process of the service, like a crash or the OOM killer.
    pub async fn kill(&mut self) -> Result<(), String> {
        let Some(session) = self.session.as_mut() else {
            return Err("the process is not running".into());
        };
        session.kill().await;
        self.reap().await;
        Ok(())
    }

    /// SIGKILL to every process of the service, left for the supervisor to find (not
    /// reaped here): a crash under `restart: on-failure`.
    pub fn crash(&self) -> Result<(), String> {
        self.signal_group(Signal::SIGKILL)
    }

    /// `Some(why)` when the process ended in a way `restart: on-failure` restarts: an exit
    /// status other than 0, or a signal other than those of a deliberate stop (SIGTERM,
    /// SIGINT, SIGHUP, SIGPIPE), as systemd's `Restart=on-failure` decides. `None` while it
    /// runs, after a clean exit, and once golive has stopped it itself.
    pub fn failed_exit(&self) -> Option<String> {
        self.child.as_ref()?;
        let pid = Pid::from_raw(self.pid.load(Ordering::Relaxed) as i32);
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::Exited(_, code)) if code != 0 => Some(format!("exit status: {code}")),
            Ok(WaitStatus::Signaled(_, sig, _))
                if !matches!(
                    sig,
                    Signal::SIGTERM | Signal::SIGINT | Signal::SIGHUP | Signal::SIGPIPE
                ) =>
            {
                Some(format!("signal: {} ({sig})", sig as i32))
            }
            _ => None,
        }
    }

    /// Reaps the crashed process and starts the same command again on the same port.
    pub async fn restart_after_crash(&mut self) -> Result<(), String> {
        if let Some(session) = self.session.as_mut() {
            // Whatever it forked may still run: a crash of the whole service.
            session.kill().await;
        }
        self.reap().await;
        self.start_again()
    }

    /// SIGSTOP / SIGCONT to every process of the service.
    pub fn pause(&self) -> Result<(), String> {
        self.signal_group(Signal::SIGSTOP)
    }

    pub fn resume(&self) -> Result<(), String> {
        self.signal_group(Signal::SIGCONT)
    }

    /// Graceful stop of the service and all it forked, without forgetting how to start
    /// it again.
    pub async fn halt(&mut self) {
        if let Some(session) = self.session.as_mut() {
            let killed = session.end(GRACE).await;
            if killed > 0 {
                tracing::warn!(service = %self.name, killed, "Service ignored SIGTERM; killed its processes.");
            }
        }
        self.reap().await;
    }

    async fn reap(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Bounded: a process in uninterruptible sleep outlives SIGKILL for a while.
            let _ = tokio::time::timeout(GRACE, c.wait()).await;
        }
        self.session = None;
        self.pid.store(0, Ordering::Relaxed);
        for r in self.readers.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), r).await;
        }
    }

    /// Starts the same command again on the same port (after `kill` or `halt`).
    pub fn start_again(&mut self) -> Result<(), String> {
        self.tail.rearm();
        self.spawn()
    }

    /// Stops the process (SIGTERM, then SIGKILL after the grace period) and returns the
    /// last lines it wrote.
    pub async fn stop(mut self) -> Vec<String> {
        self.halt().await;
        tracing::info!(service = %self.name, "Service process stopped.");
        self.tail.lines()
    }
}
