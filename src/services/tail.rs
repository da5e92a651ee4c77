//! The last lines a service wrote, kept for the report, and whether it has written the
//! line its readiness probe waits for. A service's output is arbitrary bytes: lines are
//! kept lossily (invalid UTF-8 becomes U+FFFD), each line is cut at [`MAX_LINE`] bytes
//! and the tail holds at most [`MAX_TAIL_BYTES`], so neither a stray byte nor output
//! without newlines can stop the reader or grow golive's memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const TAIL_LINES: usize = 40;
/// Longest line kept, in bytes; the rest of a longer line is dropped with a marker.
pub const MAX_LINE: usize = 4 << 10;
/// Most bytes kept over all lines of a tail.
pub const MAX_TAIL_BYTES: usize = 64 << 10;
/// Appended to a line that was cut.
pub const CUT_MARKER: &str = " … [line cut at 4 KiB]";

/// Shared between the reader of a service's output and whoever asks about it.
#[derive(Clone, Default)]
pub struct LogTail {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    lines: VecDeque<String>,
    bytes: usize,
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
        // Lines from a splitter are already cut; this bounds any other caller.
        let line = if line.len() > MAX_LINE && !line.ends_with(CUT_MARKER) {
            let mut end = MAX_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{CUT_MARKER}", &line[..end])
        } else {
            line.to_string()
        };
        tracing::debug!(service = %service, line = %line, "Service output.");
        let mut t = self.lock();
        if t.watch.as_deref().is_some_and(|w| line.contains(w)) {
            t.seen = true;
        }
        t.bytes += line.len();
        t.lines.push_back(line);
        while t.lines.len() > TAIL_LINES || (t.bytes > MAX_TAIL_BYTES && t.lines.len() > 1) {
            if let Some(old) = t.lines.pop_front() {
                t.bytes -= old.len();
            }
        }
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

/// The first [`MAX_LINE`] bytes of `bytes`, lossily, with the cut marker.
fn cut(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LINE)]).into_owned();
    s.push_str(CUT_MARKER);
    s
}

/// Splits a byte stream into lines as it arrives, holding at most [`MAX_LINE`] bytes of
/// an unfinished line: the first part of a longer line is emitted at once (cut, with the
/// marker) and the rest of it is skipped up to its newline.
#[derive(Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Inside a line that was already emitted cut: skip to its end.
    skipping: bool,
}

impl LineSplitter {
    pub fn feed(&mut self, mut bytes: &[u8], mut emit: impl FnMut(&str)) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (chunk, rest) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if !self.skipping {
                let room = MAX_LINE - self.partial.len();
                if chunk.len() > room {
                    self.partial.extend_from_slice(&chunk[..room]);
                    emit(&cut(&self.partial));
                    self.partial.clear();
                    self.skipping = true;
                } else {
                    self.partial.extend_from_slice(chunk);
                }
            }
            if newline.is_some() {
                if !self.skipping {
                    emit(&String::from_utf8_lossy(&self.partial));
                }
                self.partial.clear();
                self.skipping = false;
            }
        }
    }

    /// Emits an unfinished last line (the stream ended without a newline).
    pub fn finish(&mut self, mut emit: impl FnMut(&str)) {
        if !self.skipping && !self.partial.is_empty() {
            emit(&String::from_utf8_lossy(&self.partial));
        }
        self.partial.clear();
        self.skipping = false;
    }
}

/// Reads `stream` to its end into `tail`, whatever bytes it carries: a service's pipe
/// stays drained for as long as the service writes to it, so it never blocks or dies
/// of EPIPE because golive stopped reading.
pub async fn keep(mut stream: impl tokio::io::AsyncRead + Unpin, tail: LogTail, name: String) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 << 10];
    let mut lines = LineSplitter::default();
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => lines.feed(&buf[..n], |l| tail.push(&name, l)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(service = %name, error = %e, "Reading the service's output failed.");
                break;
            }
        }
    }
    lines.finish(|l| tail.push(&name, l));
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

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = LineSplitter::default();
        for c in chunks {
            s.feed(c, |l| out.push(l.to_string()));
        }
        s.finish(|l| out.push(l.to_string()));
        out
    }

    #[test]
    fn invalid_utf8_is_kept_lossily_and_reading_goes_on() {
        let lines = split(&[b"bad \xff by", b"te\nnext\n", b"last"]);
        assert_eq!(lines, ["bad \u{fffd} byte", "next", "last"]);
    }

    #[test]
    fn a_long_line_is_cut_once_and_the_rest_skipped_to_its_newline() {
        let long = vec![b'x'; 3 * MAX_LINE];
        let lines = split(&[&long[..MAX_LINE - 10], &long, b"yy\nafter\n"]);
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert_eq!(lines[0].len(), MAX_LINE + CUT_MARKER.len());
        assert!(lines[0].ends_with(CUT_MARKER));
        assert_eq!(lines[1], "after");
        // Exactly MAX_LINE bytes is not cut.
        let exact = vec![b'z'; MAX_LINE];
        assert_eq!(split(&[&exact, b"\n"]), [String::from_utf8(exact).unwrap()]);
    }

    #[test]
    fn the_tail_is_bounded_in_bytes() {
        let t = LogTail::default();
        let line = "y".repeat(MAX_LINE);
        for _ in 0..TAIL_LINES {
            t.push("svc", &line);
        }
        let kept: usize = t.lines().iter().map(String::len).sum();
        assert!(kept <= MAX_TAIL_BYTES, "{kept}");
        assert_eq!(t.lines().len(), MAX_TAIL_BYTES / MAX_LINE);
        // A direct push of an over-long line is cut too.
        t.push("svc", &"w".repeat(10 * MAX_LINE));
        assert!(t.lines().last().unwrap().ends_with(CUT_MARKER));
    }
}
