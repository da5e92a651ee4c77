//! Every process golive starts — a service, a `command` check, a readiness command —
//! runs in a session of its own (`setsid` between fork and exec), so that it and all
//! it forks can be found in /proc by session id and ended whole: SIGTERM to all of
//! them, a grace period, then SIGKILL until none is left. Signalling only the PID, as
//! golive once did, left a shell's children serving after the run. Each session is
//! recorded in the run's [`Ledger`] while it lives, so `golive cleanup` can end what a
//! killed golive left behind; each process also carries `GOLIVE_RUN_ID` in its
//! environment, which that clean-up uses to tell the run's processes from others.
//!
//! A session leader's PID is not reused while it is a zombie or while any process of
//! its session lives, so a session is signalled only while golive has not reaped its
//! leader, or after checking in /proc that members remain.

use super::ledger::Ledger;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The environment variable naming the run on every process golive starts.
pub const RUN_ID_VAR: &str = "GOLIVE_RUN_ID";
/// How long a service's processes get after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long SIGKILLed processes get to disappear before golive gives up on them.
const KILL_WAIT: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(20);

/// Starts processes for one run: each in its own session, recorded in the run's ledger.
#[derive(Clone)]
pub struct Launcher {
    ledger: Ledger,
}

impl Launcher {
    pub fn new(run_id: &str) -> Launcher {
        Launcher {
            ledger: Ledger::for_run(run_id),
        }
    }

    /// Spawns `cmd` as the leader of a new session that dies with golive's thread
    /// (parent-death signal; it covers the leader only, the ledger covers the rest).
    /// `what` names it in the ledger (a service name, `check`, `ready`).
    pub fn spawn(
        &self,
        cmd: &mut tokio::process::Command,
        what: &str,
    ) -> io::Result<(tokio::process::Child, Session)> {
        cmd.env(RUN_ID_VAR, self.ledger.run_id()).kill_on_drop(true);
        // SAFETY: the closure runs in the child between fork and exec and makes only the
        // async-signal-safe setsid(2) and prctl(2) calls.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(io::Error::from)?;
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(io::Error::from)?;
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let sid = child.id().unwrap_or(0) as i32;
        let entry = self.ledger.record(sid, what);
        Ok((
            child,
            Session {
                sid,
                entry,
                done: false,
            },
        ))
    }
}

/// How long what a short command left running gets after SIGTERM.
const COMMAND_GRACE: Duration = Duration::from_secs(2);

/// How a short command ended.
pub struct Output {
    pub status: std::process::ExitStatus,
    /// When its leader exited (its output may close a little later).
    pub exited_at: Instant,
    /// The first bytes it wrote to each stream (the rest was read and dropped).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a short command has no [`Output`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run it: {0}")]
    Spawn(io::Error),
    #[error("waiting for it failed: {0}")]
    Wait(io::Error),
    #[error("it did not finish in time and was ended")]
    TimedOut,
}

impl Launcher {
    /// Runs a short command (a check, a readiness probe) in its own session: its
    /// output is read to the end, keeping the first `keep` bytes of each stream, so it
    /// never blocks on a full pipe; whatever it leaves running once it exits is ended;
    /// after `limit`, the whole session is ended and the result is `TimedOut`.
    pub async fn run(
        &self,
        mut cmd: tokio::process::Command,
        what: &str,
        limit: Duration,
        keep: usize,
    ) -> Result<Output, RunError> {
        use std::process::Stdio;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (mut child, mut session) = self.spawn(&mut cmd, what).map_err(RunError::Spawn)?;
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let finished = {
            let (child, session) = (&mut child, &mut session);
            async move {
                let waited = async {
                    let status = child.wait().await;
                    let exited_at = Instant::now();
                    // What it left running (a shell's `&`) holds the pipes open; end it
                    // so the output ends too.
                    session.end(COMMAND_GRACE).await;
                    (status, exited_at)
                };
                tokio::join!(waited, read_capped(out, keep), read_capped(err, keep))
            }
        };
        match tokio::time::timeout(limit, finished).await {
            Ok(((status, exited_at), stdout, stderr)) => Ok(Output {
                status: status.map_err(RunError::Wait)?,
                exited_at,
                stdout,
                stderr,
            }),
            Err(_) => {
                session.end(COMMAND_GRACE).await;
                let _ = tokio::time::timeout(KILL_WAIT, child.wait()).await;
                Err(RunError::TimedOut)
            }
        }
    }
}

/// Reads `stream` to its end, keeping its first `keep` bytes.
async fn read_capped(stream: Option<impl tokio::io::AsyncRead + Unpin>, keep: usize) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut kept = Vec::new();
    let Some(mut stream) = stream else {
        return kept;
    };
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    kept
}

/// One process session golive started. Dropped while processes remain (a cancelled
/// probe, a panic), it SIGKILLs them.
pub struct Session {
    sid: i32,
    entry: Option<PathBuf>,
    done: bool,
}

impl Session {
    /// The session id: the leader's PID.
    pub fn id(&self) -> u32 {
        self.sid as u32
    }

    /// Sends `sig` to every live process of the session.
    pub fn signal(&self, sig: Signal) -> Result<(), String> {
        signal_session(self.sid, sig, |_| true);
        Ok(())
    }

    /// Whether a process of the session still runs (zombies do not count).
    pub fn alive(&self) -> bool {
        !members(self.sid).is_empty()
    }

    /// Ends the session whole: SIGTERM (and SIGCONT, for a paused one) to every
    /// process, up to `grace` for them to exit, then SIGKILL to whatever is left.
    /// Returns how many processes had to be killed.
    pub async fn end(&mut self, grace: Duration) -> usize {
        let killed = end(self.sid, grace, |_| true).await;
        self.finish();
        killed
    }

    /// SIGKILL to every process of the session, like a crash; waits until they are gone.
    pub async fn kill(&mut self) {
        end(self.sid, Duration::ZERO, |_| true).await;
        self.finish();
    }

    fn finish(&mut self) {
        self.done = true;
        if let Some(entry) = self.entry.take() {
            Ledger::forget(&entry);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.done {
            signal_session(self.sid, Signal::SIGKILL, |_| true);
        }
        if let Some(entry) = self.entry.take() {
            Ledger::forget(&entry);
        }
    }
}

/// A process as /proc/<pid>/stat shows it.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    pub pid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// Clock ticks after boot when it started.
    pub start: u64,
    /// utime + stime + cutime + cstime: its own CPU and that of children it reaped.
    pub cpu_ticks: u64,
    zombie: bool,
}

/// Reads /proc/<pid>/stat.
pub fn stat(pid: i32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields start after the last ')'.
    let rest = text.get(text.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(Proc {
        pid,
        zombie: matches!(f.first(), Some(&"Z") | Some(&"X")),
        pgrp: f.get(2)?.parse().ok()?,
        session: f.get(3)?.parse().ok()?,
        cpu_ticks: num(11)? + num(12)? + num(13)? + num(14)?,
        start: num(19)?,
    })
}

/// Every process in /proc.
pub fn all() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// The live (not zombie) processes of session `sid`.
pub fn members(sid: i32) -> Vec<Proc> {
    if sid <= 0 {
        return Vec::new();
    }
    all()
        .into_iter()
        .filter(|p| p.session == sid && !p.zombie)
        .collect()
}

/// Sends `sig` to the live processes of session `sid` that `pick` accepts: to the
/// session's own process group at once, then to each picked member in another group
/// (one that called setpgid, like a job-control shell). Returns how many were live.
fn signal_session(sid: i32, sig: Signal, pick: impl Fn(&Proc) -> bool) -> usize {
    let live: Vec<Proc> = members(sid).into_iter().filter(|p| pick(p)).collect();
    if live.iter().any(|p| p.pgrp == sid) {
        let _ = killpg(Pid::from_raw(sid), sig);
    }
    for p in &live {
        if p.pgrp != sid {
            let _ = kill(Pid::from_raw(p.pid), sig);
        }
    }
    live.len()
}

/// SIGKILL to every live process of session `sid`, without waiting.
pub fn kill_now(sid: i32) {
    signal_session(sid, Signal::SIGKILL, |_| true);
}

/// Ends the processes of session `sid` that `pick` accepts: SIGTERM and SIGCONT, up to
/// `grace` for them to exit, then SIGKILL (again to any forked meanwhile) for up to
/// [`KILL_WAIT`]. Returns how many had to be killed.
pub async fn end(sid: i32, grace: Duration, pick: impl Fn(&Proc) -> bool) -> usize {
    if grace > Duration::ZERO && signal_session(sid, Signal::SIGTERM, &pick) > 0 {
        signal_session(sid, Signal::SIGCONT, &pick);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            if !members(sid).iter().any(&pick) {
                return 0;
            }
        }
    }
    let killed = signal_session(sid, Signal::SIGKILL, &pick);
    if killed == 0 {
        return 0;
    }
    let deadline = Instant::now() + KILL_WAIT;
    while Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        if signal_session(sid, Signal::SIGKILL, &pick) == 0 {
            return killed;
        }
    }
    tracing::warn!(
        session = sid,
        "Processes of a session golive started survived SIGKILL."
    );
    killed
}

/// What the processes of session `sid` use: (CPU clock ticks, memory in bytes), or
/// `None` when none is left. Memory is each process's proportional share of what it
/// has resident (PSS: pages shared by several processes, such as PostgreSQL's shared
/// buffers, count once over the session), or its RSS where PSS cannot be read.
pub fn usage(sid: i32) -> Option<(u64, u64)> {
    let live = members(sid);
    if live.is_empty() {
        return None;
    }
    let ticks = live.iter().map(|p| p.cpu_ticks).sum();
    let memory = live.iter().filter_map(|p| memory(p.pid)).sum();
    Some((ticks, memory))
}

fn memory(pid: i32) -> Option<u64> {
    let field = |file: &str, name: &str| -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
        let kb: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some(kb * 1024)
    };
    field("smaps_rollup", "Pss:").or_else(|| field("status", "VmRSS:"))
}

/// Whether `pid` carries `GOLIVE_RUN_ID=<run_id>` in its environment.
pub fn carries_run(pid: i32, run_id: &str) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{RUN_ID_VAR}={run_id}");
    environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = stat(std::process::id() as i32).expect("own stat");
        assert!(me.start > 0);
        assert!(memory(me.pid).unwrap_or(0) > 1 << 20);
        assert!(stat(i32::MAX - 1).is_none());
        assert!(members(0).is_empty());
    }

    #[tokio::test]
    async fn a_session_is_ended_whole() {
        let launcher = Launcher::new("session-unit-test");
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", "sleep 600 & sleep 601 & wait"]);
        let (mut child, mut session) = launcher.spawn(&mut cmd, "test").expect("spawn");
        let sid = session.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        while members(sid).len() < 3 && Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(members(sid).len(), 3, "sh and both sleeps");
        assert!(carries_run(sid, "session-unit-test"));
        assert!(usage(sid).is_some_and(|(_, m)| m > 0));
        assert_eq!(
            session.end(Duration::from_secs(5)).await,
            0,
            "TERM sufficed"
        );
        assert!(members(sid).is_empty());
        let _ = child.wait().await;
        assert!(usage(sid).is_none());
    }
}
