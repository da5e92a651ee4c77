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
    /// The HTTP status of the answer that failed, when there was one: a waiver can leave
    /// one status of a load request out of the judged scope.
    pub status: Option<u16>,
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
            status: None,
        }
    }

    /// The same failure, of an answer with HTTP status `status`.
    pub fn with_status(self, status: u16) -> Self {
        Failure {
            status: Some(status),
            ..self
        }
    }
}

/// `e` and its causes, joined with `: `; a cause whose text is already there is skipped.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
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

/// The V2 cookies: the compressed envelope and the payload inside it.
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9304 | 0x10;
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
/// The most bytes a stored histogram may inflate to: a full microsecond histogram of one
/// hour at three significant digits, with room to spare.
const MAX_INFLATED: u64 = 4 * 1024 * 1024;

/// Checks a V2 compressed histogram's header before anything is sized from it: hdrhistogram
/// allocates the counts array the header describes, so a crafted 52-character string could
/// ask for gigabytes. Only the ranges golive records (1 µs to one hour, at most 5
/// significant digits) pass.
fn check_header(bytes: &[u8]) -> Result<(), String> {
    use std::io::Read;
    let word = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    if word(bytes, 0) != Some(V2_COMPRESSED_COOKIE) {
        return Err("not an HdrHistogram V2 compressed histogram (wrong cookie)".into());
    }
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(bytes.get(8..).unwrap_or_default())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| format!("not an HdrHistogram: its payload does not inflate: {e}"))?;
    if inflated.len() as u64 > MAX_INFLATED {
        return Err(format!(
            "the histogram inflates to more than {} MiB",
            MAX_INFLATED / 1024 / 1024
        ));
    }
    let long = |at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(
            inflated.get(at..at + 8)?.try_into().ok()?,
        ))
    };
    let (cookie, payload, digits, lowest, highest) = (
        word(&inflated, 0),
        word(&inflated, 4),
        word(&inflated, 12),
        long(16),
        long(24),
    );
    if cookie != Some(V2_COOKIE) {
        return Err("not an HdrHistogram V2 payload (wrong cookie)".into());
    }
    let payload = payload.ok_or("the histogram header is cut short")? as usize;
    if payload > inflated.len() {
        return Err(format!(
            "the histogram says it holds {payload} bytes of counts but has {}",
            inflated.len()
        ));
    }
    match (digits, lowest, highest) {
        (Some(1..=5), Some(1..=1_000), Some(h)) if (2..=2 * 3_600_000_000).contains(&h) => Ok(()),
        (d, l, h) => Err(format!(
            "the histogram's range (significant digits {d:?}, lowest {l:?}, highest {h:?}) is \
             not one golive records (1 µs to one hour, at most 5 significant digits)"
        )),
    }
}

/// The inverse of [`encode_histogram`]. The header is checked first, so a corrupt or
/// crafted string costs at most a few MiB.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    check_header(&bytes)?;
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

    /// A V2 compressed histogram with the given header and no counts.
    fn crafted(digits: u32, lowest: u64, highest: u64) -> String {
        use base64::Engine;
        use std::io::Write;
        let mut payload = Vec::new();
        payload.extend_from_slice(&V2_COOKIE.to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes());
        payload.extend_from_slice(&digits.to_be_bytes());
        payload.extend_from_slice(&lowest.to_be_bytes());
        payload.extend_from_slice(&highest.to_be_bytes());
        payload.extend_from_slice(&1f64.to_bits().to_be_bytes());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&payload).unwrap();
        let zipped = z.finish().unwrap();
        let mut bytes = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        bytes.extend_from_slice(&(zipped.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&zipped);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_crafted_histogram_header_is_refused_before_anything_is_allocated() {
        // The same header hdrhistogram would size a multi-GiB counts array from.
        let bomb = crafted(5, 1, u64::MAX >> 1);
        assert!(bomb.len() < 80, "{}", bomb.len());
        let err = decode_histogram(&bomb).unwrap_err();
        assert!(err.contains("not one golive records"), "{err}");
        for (digits, lowest, highest) in [(0, 1, 1000), (6, 1, 1000), (3, 0, 1000), (3, 1, 1)] {
            assert!(decode_histogram(&crafted(digits, lowest, highest)).is_err());
        }
        // The 52 characters: a normal range, but 4 GiB of counts claimed.
        let err =
            decode_histogram("HISTFAAAAB94nJNpmSz8HwgYIIAZSjOCiGuTlzDYf4AIAADaUAiD").unwrap_err();
        assert!(err.contains("bytes of counts"), "{err}");
        // A well-formed empty header of golive's own range reads back.
        assert!(decode_histogram(&crafted(3, 1, 3_600_000_000)).is_ok());
        // Garbage and a wrong cookie are errors, not panics.
        for text in ["", "bm90IGEgaGlzdG9ncmFt", "HISTFAAAAAAAAAAA", "%%%"] {
            assert!(decode_histogram(text).is_err(), "{text}");
        }
    }
}
