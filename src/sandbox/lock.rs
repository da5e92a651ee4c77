//! The `stale_lock` fault: a lock file the sandbox takes at start and removes on a clean
//! shutdown, as services that guard against a second instance of themselves do. A
//! SIGKILL skips the removal, so the file stays behind and the next start refuses to run
//! while it exists: the crash loop a restarting supervisor meets with such a service.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The exit status of a start refused by the lock: a service's plain failure, which a
/// supervisor's `on-failure` policy restarts (and so keeps failing).
pub const REFUSED_EXIT: i32 = 1;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cannot start: lock file {} exists ({}); remove it if no other instance runs",
        .path.display(),
        owner(*.pid)
    )]
    Held { path: PathBuf, pid: Option<u32> },
    #[error("cannot take the lock file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn owner(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("left by PID {pid}"),
        None => "no PID readable in it".into(),
    }
}

/// A lock file this process created; removed when dropped, which a clean shutdown does
/// and a SIGKILL does not.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
}

impl LockFile {
    /// Creates `path` (never an existing one) and writes this process's PID into it.
    pub fn take(path: &Path) -> Result<LockFile, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            Err(e) => return Err(io(e)),
        };
        // Held from here, so a failed write still removes the file.
        let lock = LockFile {
            path: path.to_path_buf(),
        };
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        tracing::info!(path = %path.display(), "Sandbox took its lock file (stale_lock fault).");
        Ok(lock)
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "Cannot remove the sandbox's lock file.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_taken_once_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sandbox.lock");
        let lock = LockFile::take(&path).unwrap();
        let pid = std::fs::read_to_string(&path).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        let e = LockFile::take(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cannot start: lock file {} exists (left by PID {}); remove it if no other \
                 instance runs",
                path.display(),
                std::process::id()
            )
        );
        drop(lock);
        assert!(!path.exists());

        std::fs::write(&path, "garbage").unwrap();
        let e = LockFile::take(&path).unwrap_err().to_string();
        assert!(e.contains("(no PID readable in it)"), "{e}");
        let e = LockFile::take(&dir.path().join("no/such/dir.lock")).unwrap_err();
        assert!(matches!(e, LockError::Io { .. }), "{e}");
    }
}
