//! What one probe returns (a [`Sample`]) and what many add up to ([`Observations`]):
//! counts, failure classes, the first distinct reasons, and an HDR histogram of the
//! latencies of the samples that succeeded.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a sample failed, grouped so reports and metrics can count by class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Could not connect (refused, unreachable, DNS).
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// TLS handshake or certificate problem.
    Tls,
    /// An HTTP 4xx answer where no expectation named the status.
    #[serde(rename = "status_4xx")]
    Status4xx,
    /// An HTTP 5xx answer where no expectation named the status.
    #[serde(rename = "status_5xx")]
    Status5xx,
    /// An answer that did not meet an expectation (status, body, message, exit code).
    Expectation,
    /// A malformed or oversized answer, or a broken protocol exchange.
    Protocol,
    /// golive could not run the probe (bad URL at run time, missing program, a login the
    /// server rejects).
    Setup,
}

/// A failed sample's class and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub class: FailureClass,
    pub reason: String,
}

impl FailureClass {
    /// The class of an HTTP status that failed the default `status < 400`.
    pub fn of_status(status: u16) -> FailureClass {
        if status >= 500 {
            FailureClass::Status5xx
        } else {
            FailureClass::Status4xx
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Connect => "connect",
            FailureClass::Timeout => "timeout",
            FailureClass::Tls => "tls",
            FailureClass::Status4xx => "status_4xx",
            FailureClass::Status5xx => "status_5xx",
            FailureClass::Expectation => "expectation",
            FailureClass::Protocol => "protocol",
            FailureClass::Setup => "setup",
        }
    }
}

impl Failure {
    pub fn new(class: FailureClass, reason: impl Into<String>) -> Self {
        Failure {
            class,
            reason: reason.into(),
        }
    }
}

/// `e` and its causes, joined with `: `; a cause whose text is already there is skipped.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        source = s.source();
    }
    reason
}

/// One probe's result: its latency in microseconds (as the kind defines it: full
/// response, connect, round trip, handshake or run time), or why it failed.
pub type Sample = Result<u64, Failure>;

/// Distinct failure reasons kept per item; the rest are counted, not stored.
const KEPT_REASONS: usize = 5;

/// All samples of one check.
#[derive(Debug, Clone)]
pub struct Observations {
    pub samples: u64,
    pub failures: u64,
    pub by_class: BTreeMap<FailureClass, u64>,
    /// The first distinct reasons with how often each occurred.
    pub reasons: Vec<(FailureClass, String, u64)>,
    /// Latencies of successful samples, in microseconds.
    pub latency: Histogram<u64>,
    /// True when the run was interrupted before every planned sample ran.
    pub cut_short: bool,
    /// The longest run of consecutive failed samples (in the order they completed).
    pub longest_failure_run: u64,
    current_failure_run: u64,
    /// True when sampling stopped because a FAIL was already certain.
    pub stopped_early: bool,
    /// Completed samples per second (load runs).
    pub rate: Option<f64>,
    /// Set when a load run could not produce its intended load; latency claims at that
    /// load are then unsupported.
    pub shortfall: Option<String>,
    /// Set when the probe could not be prepared at all (no sample ran).
    pub setup_error: Option<String>,
    pub duration: Duration,
    /// From the start of sampling to the last sample's completion.
    pub span: Duration,
    /// Samples taken at once.
    pub concurrency: u32,
    /// Per tracked latency threshold (µs): the longest and the current run of consecutive
    /// samples that failed or took at least that long.
    over: Vec<(u64, u64, u64)>,
}

impl Default for Observations {
    fn default() -> Self {
        Observations {
            samples: 0,
            failures: 0,
            by_class: BTreeMap::new(),
            reasons: Vec::new(),
            latency: new_histogram(),
            cut_short: false,
            stopped_early: false,
            longest_failure_run: 0,
            current_failure_run: 0,
            rate: None,
            shortfall: None,
            setup_error: None,
            duration: Duration::ZERO,
            span: Duration::ZERO,
            concurrency: 1,
            over: Vec::new(),
        }
    }
}

/// Microsecond latencies from 1 µs to one hour at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// HdrHistogram V2 compressed, base64: the interchange format other HDR tools read, and
/// how results.json carries histograms so that runs merge exactly.
pub fn encode_histogram(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    if h.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut buf).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(buf))
}

/// The inverse of [`encode_histogram`].
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))?;
    let mut out = new_histogram();
    out.add(&h)
        .map_err(|e| format!("histogram out of range: {e:?}"))?;
    Ok(out)
}

impl Observations {
    /// Empty observations that also track, for each latency threshold in µs, the longest
    /// run of consecutive samples that failed or reached it.
    pub fn tracking(thresholds: impl IntoIterator<Item = u64>) -> Self {
        let mut o = Observations::default();
        for t in thresholds {
            if !o.over.iter().any(|(x, _, _)| *x == t) {
                o.over.push((t, 0, 0));
            }
        }
        o
    }

    /// (threshold µs, longest run of consecutive samples that failed or reached it).
    pub fn longest_over(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.over.iter().map(|&(t, longest, _)| (t, longest))
    }

    pub fn record(&mut self, sample: Sample) {
        self.samples += 1;
        let latency = sample.as_ref().ok().copied();
        for (t, longest, current) in &mut self.over {
            if latency.is_some_and(|us| us < *t) {
                *current = 0;
            } else {
                *current += 1;
                *longest = (*longest).max(*current);
            }
        }
        match sample {
            Ok(us) => {
                self.current_failure_run = 0;
                self.latency.saturating_record(us.max(1));
            }
            Err(f) => {
                self.failures += 1;
                self.current_failure_run += 1;
                self.longest_failure_run = self.longest_failure_run.max(self.current_failure_run);
                *self.by_class.entry(f.class).or_default() += 1;
                if let Some(entry) = self
                    .reasons
                    .iter_mut()
                    .find(|(c, r, _)| *c == f.class && *r == f.reason)
                {
                    entry.2 += 1;
                } else if self.reasons.len() < KEPT_REASONS {
                    self.reasons.push((f.class, f.reason, 1));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_failures_by_class_and_keeps_distinct_reasons() {
        let mut o = Observations::default();
        for i in 0..20u64 {
            o.record(if i % 2 == 0 {
                Ok(i * 1000)
            } else {
                Err(Failure::new(
                    FailureClass::Timeout,
                    format!("reason {}", i % 14),
                ))
            });
        }
        assert_eq!((o.samples, o.failures), (20, 10));
        assert_eq!(o.by_class[&FailureClass::Timeout], 10);
        assert_eq!(o.reasons.len(), KEPT_REASONS);
        assert_eq!(
            o.reasons[0],
            (FailureClass::Timeout, "reason 1".to_string(), 2)
        );
        assert_eq!(o.latency.len(), 10);
        let back = decode_histogram(&encode_histogram(&o.latency).unwrap()).unwrap();
        assert_eq!(back, o.latency);
        assert_eq!(o.longest_failure_run, 1);
        o.record(Err(Failure::new(FailureClass::Connect, "refused")));
        o.record(Err(Failure::new(FailureClass::Connect, "refused")));
        assert_eq!(o.longest_failure_run, 3);
    }
}
