//! Load recording: a few recorders per runtime thread, each shared by the workers that
//! map to it (a short uncontended lock after each exchange), merged once at the end.

use crate::tally::{new_histogram, Failure, FailureClass, Observations};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Distinct failure reasons kept per scope.
const KEPT_REASONS: usize = 5;

/// What one scope (a request name, or all) saw after warm-up.
#[derive(Debug, Clone)]
pub struct ScopeStats {
    /// Latency from the intended send time (open model) of successful requests, µs.
    pub latency: Histogram<u64>,
    /// Latency from the actual send of successful requests, µs.
    pub service: Histogram<u64>,
    pub requests: u64,
    pub errors: u64,
    pub by_class: BTreeMap<FailureClass, u64>,
    /// Failed requests by the HTTP status they answered (those without an answer are not
    /// here): what a waiver's `exclude: {request, status}` takes out.
    pub by_status: BTreeMap<u16, u64>,
    pub reasons: Vec<(FailureClass, String, u64)>,
}

impl Default for ScopeStats {
    fn default() -> Self {
        ScopeStats {
            latency: new_histogram(),
            service: new_histogram(),
            requests: 0,
            errors: 0,
            by_class: BTreeMap::new(),
            by_status: BTreeMap::new(),
            reasons: Vec::new(),
        }
    }
}

impl ScopeStats {
    pub fn record(&mut self, outcome: &Result<(), Failure>, latency_us: u64, service_us: u64) {
        self.requests += 1;
        match outcome {
            Ok(()) => {
                self.latency.saturating_record(latency_us.max(1));
                self.service.saturating_record(service_us.max(1));
            }
            Err(f) => {
                self.errors += 1;
                *self.by_class.entry(f.class).or_default() += 1;
                if let Some(status) = f.status {
                    *self.by_status.entry(status).or_default() += 1;
                }
                self.keep_reason(f.class, &f.reason, 1);
            }
        }
    }

    fn keep_reason(&mut self, class: FailureClass, reason: &str, n: u64) {
        if let Some(e) = self
            .reasons
            .iter_mut()
            .find(|(c, r, _)| *c == class && r == reason)
        {
            e.2 += n;
        } else if self.reasons.len() < KEPT_REASONS {
            self.reasons.push((class, reason.to_string(), n));
        }
    }

    pub fn merge(&mut self, other: &ScopeStats) {
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        self.requests += other.requests;
        self.errors += other.errors;
        for (c, n) in &other.by_class {
            *self.by_class.entry(*c).or_default() += n;
        }
        for (s, n) in &other.by_status {
            *self.by_status.entry(*s).or_default() += n;
        }
        for (c, r, n) in &other.reasons {
            self.keep_reason(*c, r, *n);
        }
    }

    /// The same figures in the form criteria are judged on.
    pub fn observations(&self, duration: std::time::Duration) -> Observations {
        let mut o = Observations::default();
        o.samples = self.requests;
        o.failures = self.errors;
        o.by_class = self.by_class.clone();
        o.reasons = self.reasons.clone();
        o.latency = self.latency.clone();
        o.duration = duration;
        o
    }
}

/// The recording of the workers that share it.
#[derive(Debug, Clone)]
pub struct Recorder {
    pub per_request: Vec<ScopeStats>,
    /// Actual minus intended send time, µs (open model).
    pub send_lag: Histogram<u64>,
    pub late: u64,
    /// Requests sent again on a new connection after the peer closed a kept-alive one.
    pub reconnects: u64,
    /// Requests completed during warm-up (sent, not judged).
    pub warm_up: u64,
}

impl Recorder {
    pub fn new(requests: usize) -> Self {
        Recorder {
            // Built one by one: `vec![x; n]` would clone x, copying (and so touching every
            // page of) each histogram's counts, where a fresh one is lazily zeroed memory.
            per_request: (0..requests).map(|_| ScopeStats::default()).collect(),
            send_lag: new_histogram(),
            late: 0,
            reconnects: 0,
            warm_up: 0,
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (a, b) in self.per_request.iter_mut().zip(&other.per_request) {
            a.merge(b);
        }
        let _ = self.send_lag.add(&other.send_lag);
        self.late += other.late;
        self.reconnects += other.reconnects;
        self.warm_up += other.warm_up;
    }

    pub fn overall(&self) -> ScopeStats {
        let mut all = ScopeStats::default();
        for s in &self.per_request {
            all.merge(s);
        }
        all
    }
}
