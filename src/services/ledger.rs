//! The process sessions each run has started and not yet ended, one small file per
//! session under golive's state folder, so that `golive cleanup` can end what a killed
//! golive (SIGKILL, the OOM killer) left running. A run's own shut-down ends its
//! sessions and removes their files; the files of a golive that still runs are never
//! touched by a clean-up.
//!
//! The folder is `$GOLIVE_STATE_DIR`, else `$XDG_STATE_HOME/golive`, else
//! `~/.local/state/golive`; in it, `sessions/<run id>/<owner pid>-<owner start>-<sid>-<sid start>`
//! holds the boot id and what the session is (a service name, `check`, `ready`).
//! Run ids are folder names, so two runs can share one; the owning golive's PID and
//! start time keep their files apart.

use super::session;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where one run records its sessions.
#[derive(Clone)]
pub struct Ledger {
    run_id: String,
    /// `None` when no state folder can be named (no HOME): nothing is recorded.
    dir: Option<PathBuf>,
}

/// The state folder.
pub fn state_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("GOLIVE_STATE_DIR")
        .or_else(|| var("XDG_STATE_HOME").map(|d| d.join("golive")))
        .or_else(|| var("HOME").map(|d| d.join(".local/state/golive")))
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// This golive: `<pid>-<start ticks>`.
fn owner() -> String {
    let pid = std::process::id() as i32;
    let start = session::stat(pid).map_or(0, |p| p.start);
    format!("{pid}-{start}")
}

impl Ledger {
    pub fn for_run(run_id: &str) -> Ledger {
        Ledger {
            run_id: run_id.to_string(),
            dir: state_dir().map(|d| d.join("sessions").join(run_id)),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Records session `sid`; returns its file, or `None` (with a warning) when it
    /// could not be written: the run goes on, only a clean-up after a kill would miss it.
    pub fn record(&self, sid: i32, what: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let start = session::stat(sid)?.start;
        let path = dir.join(format!("{}-{sid}-{start}", owner()));
        let text = format!("{}\n{what}\n", boot_id());
        let written =
            std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, text.as_bytes()));
        match written {
            Ok(()) => Some(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "Cannot record a process session; `golive cleanup` would not find it after a kill.");
                None
            }
        }
    }

    /// Removes a session's file once the session has ended, and the run's folder when
    /// it is empty.
    pub fn forget(entry: &Path) {
        let _ = std::fs::remove_file(entry);
        if let Some(dir) = entry.parent() {
            // Fails while other sessions are recorded: that is the point.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// One session a clean-up ended.
#[derive(Debug)]
pub struct Ended {
    pub run_id: String,
    pub what: String,
    pub session: i32,
    pub processes: usize,
}

/// What a clean-up did.
#[derive(Debug, Default)]
pub struct Swept {
    pub ended: Vec<Ended>,
    /// Sessions left alone because the golive that started them still runs.
    pub live_owner: usize,
}

/// A recorded session, parsed from its file name and content.
struct Entry {
    path: PathBuf,
    run_id: String,
    owner_pid: i32,
    owner_start: u64,
    sid: i32,
    sid_start: u64,
    boot: String,
    what: String,
}

fn entries(run: Option<&str>) -> Vec<Entry> {
    let Some(root) = state_dir().map(|d| d.join("sessions")) else {
        return Vec::new();
    };
    let runs: Vec<PathBuf> = match run {
        Some(id) => vec![root.join(id)],
        None => std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .filter_map(|e| Some(e.ok()?.path()))
            .collect(),
    };
    let mut out = Vec::new();
    for dir in runs {
        let run_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for file in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = file.path();
            let name = file.file_name().to_string_lossy().into_owned();
            let nums: Vec<u64> = name.split('-').filter_map(|n| n.parse().ok()).collect();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let mut lines = text.lines();
            match nums[..] {
                [owner_pid, owner_start, sid, sid_start] => out.push(Entry {
                    run_id: run_id.clone(),
                    owner_pid: owner_pid as i32,
                    owner_start,
                    sid: sid as i32,
                    sid_start,
                    boot: lines.next().unwrap_or_default().to_string(),
                    what: lines.next().unwrap_or_default().to_string(),
                    path,
                }),
                _ => {
                    tracing::warn!(path = %path.display(), "Not a golive session record; left alone.")
                }
            }
        }
    }
    out
}

/// Ends the sessions recorded for `run` (or for every run) whose golive no longer
/// runs. A session is ended only when it is certainly the one recorded: on the same
/// boot, and either its leader still runs with the recorded start time, or (the leader
/// gone) only those of its processes that carry the run's `GOLIVE_RUN_ID`.
pub async fn sweep(run: Option<&str>, grace: Duration) -> Swept {
    let mut swept = Swept::default();
    let boot = boot_id();
    for e in entries(run) {
        let owner_alive = session::stat(e.owner_pid).is_some_and(|p| p.start == e.owner_start);
        if owner_alive && e.boot == boot {
            swept.live_owner += 1;
            continue;
        }
        if e.boot == boot {
            let processes = match session::stat(e.sid) {
                // The leader runs: the whole session is the one recorded.
                // (A zombie leader still holds its PID: the session is the one recorded.)
                Some(leader) if leader.start == e.sid_start => {
                    let n = session::members(e.sid).len();
                    session::end(e.sid, grace, |_| true).await;
                    n
                }
                // Another process has the PID now: the recorded session is long gone.
                Some(_) => 0,
                None => {
                    let ours = |p: &session::Proc| session::carries_run(p.pid, &e.run_id);
                    let n = session::members(e.sid).iter().filter(|p| ours(p)).count();
                    if n > 0 {
                        session::end(e.sid, grace, ours).await;
                    }
                    n
                }
            };
            if processes > 0 {
                swept.ended.push(Ended {
                    run_id: e.run_id.clone(),
                    what: e.what.clone(),
                    session: e.sid,
                    processes,
                });
            }
        }
        Ledger::forget(&e.path);
    }
    swept
}

/// SIGKILLs, at once, every session this golive recorded and has not ended: for a
/// second Ctrl-C, after which golive exits without its orderly shut-down.
pub fn kill_own_sessions() {
    let me = std::process::id() as i32;
    let start = session::stat(me).map_or(0, |p| p.start);
    for e in entries(None) {
        if e.owner_pid == me && e.owner_start == start {
            session::kill_now(e.sid);
            Ledger::forget(&e.path);
        }
    }
}
