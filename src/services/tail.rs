//! The last lines a service wrote, kept for the report, and whether it has written the
//! line its readiness probe waits for.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const TAIL_LINES: usize = 40;

/// Shared between the reader of a service's output and whoever asks about it.
#[derive(Clone, Default)]
pub struct LogTail {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    lines: VecDeque<String>,
    watch: Option<String>,
    seen: bool,
}

impl LogTail {
    /// A tail that also remembers whether a line containing `watch` was ever written.
    pub fn new(watch: Option<String>) -> LogTail {
        let tail = LogTail::default();
        tail.lock().watch = watch;
        tail
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, service: &str, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        tracing::debug!(service = %service, line = %line, "Service output.");
        let mut t = self.lock();
        if t.watch.as_deref().is_some_and(|w| line.contains(w)) {
            t.seen = true;
        }
        if t.lines.len() == TAIL_LINES {
            t.lines.pop_front();
        }
        t.lines.push_back(line.to_string());
    }

    /// Whether the watched line has been written (always false without one).
    pub fn seen(&self) -> bool {
        self.lock().seen
    }

    /// Forgets the watched line, e.g. after a restart.
    pub fn rearm(&self) {
        self.lock().seen = false;
    }

    pub fn lines(&self) -> Vec<String> {
        self.lock().lines.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_and_remembers_the_watched_one() {
        let t = LogTail::new(Some("ready to accept".into()));
        t.push("db", "starting\n");
        assert!(!t.seen());
        t.push("db", "database system is ready to accept connections");
        for i in 0..100 {
            t.push("db", &format!("line {i}"));
        }
        assert!(
            t.seen(),
            "seen even after the line scrolled out of the tail"
        );
        let lines = t.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.last().map(String::as_str), Some("line 99"));
        t.rearm();
        assert!(!t.seen());
    }
}
