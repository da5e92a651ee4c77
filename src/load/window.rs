//! Live windows: what completed in the current window, per request and overall, read and
//! reset by the supervisor at each window boundary to drive rules and the timeline.
//! Shared behind one short lock: windows must be read while workers run, and at the
//! rates one machine generates an uncontended lock per request costs well under a
//! microsecond.

use crate::tally::new_histogram;
use hdrhistogram::Histogram;
use std::sync::Mutex;

/// One scope's figures in one window.
#[derive(Debug, Clone)]
pub struct WindowStats {
    pub requests: u64,
    pub errors: u64,
    /// Latency of successful requests, µs.
    pub latency: Histogram<u64>,
}

impl Default for WindowStats {
    fn default() -> Self {
        WindowStats {
            requests: 0,
            errors: 0,
            latency: new_histogram(),
        }
    }
}

impl WindowStats {
    fn add(&mut self, ok: bool, latency_us: u64) {
        self.requests += 1;
        if ok {
            self.latency.saturating_record(latency_us.max(1));
        } else {
            self.errors += 1;
        }
    }

    pub fn merge(&mut self, o: &WindowStats) {
        self.requests += o.requests;
        self.errors += o.errors;
        let _ = self.latency.add(&o.latency);
    }
}

/// A window's figures: per request, then overall.
#[derive(Debug, Clone)]
pub struct WindowSet {
    pub per_request: Vec<WindowStats>,
    pub overall: WindowStats,
}

impl WindowSet {
    pub fn new(requests: usize) -> Self {
        WindowSet {
            per_request: (0..requests).map(|_| WindowStats::default()).collect(),
            overall: WindowStats::default(),
        }
    }

    pub fn merge(&mut self, o: &WindowSet) {
        for (a, b) in self.per_request.iter_mut().zip(&o.per_request) {
            a.merge(b);
        }
        self.overall.merge(&o.overall);
    }

    /// The stats of a rule's scope.
    pub fn scope(&self, request: Option<usize>) -> &WindowStats {
        request
            .and_then(|i| self.per_request.get(i))
            .unwrap_or(&self.overall)
    }
}

/// The current window, written by workers.
pub struct Windows {
    current: Mutex<WindowSet>,
    requests: usize,
}

impl Windows {
    pub fn new(requests: usize) -> Self {
        Windows {
            current: Mutex::new(WindowSet::new(requests)),
            requests,
        }
    }

    pub fn record(&self, request: usize, ok: bool, latency_us: u64) {
        let mut w = self.current.lock().unwrap_or_else(|p| p.into_inner());
        w.overall.add(ok, latency_us);
        if let Some(s) = w.per_request.get_mut(request) {
            s.add(ok, latency_us);
        }
    }

    /// The current window so far, overall: requests, errors and the p95 latency (µs) of
    /// its successful requests; for live progress between window ends.
    pub fn so_far(&self) -> (u64, u64, Option<u64>) {
        let w = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let o = &w.overall;
        let p95 = (!o.latency.is_empty()).then(|| o.latency.value_at_quantile(0.95));
        (o.requests, o.errors, p95)
    }

    /// Ends the current window: returns it and starts a fresh one.
    pub fn take(&self) -> WindowSet {
        let fresh = WindowSet::new(self.requests);
        let mut w = self.current.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *w, fresh)
    }
}
