//! Pre-resolved label handles for the hot paths: a load request or a check sample
//! records into series looked up once, when the handle is made, so recording is a few
//! atomic operations with no label hashing and no lock.

use super::names::{error_class_index, ERROR_CLASSES};
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};
use std::sync::Arc;
use std::time::Duration;

/// One child of `vec` per failure class, in [`ERROR_CLASSES`] order. Made up front so
/// every class shows as 0 before its first failure: `rate()` then sees the first
/// failure as an increase instead of a series appearing from nowhere.
pub(super) fn per_class(vec: &IntCounterVec, labels: &[&str]) -> Arc<[IntCounter]> {
    ERROR_CLASSES
        .iter()
        .map(|class| {
            let mut values = labels.to_vec();
            values.push(class);
            vec.with_label_values(&values)
        })
        .collect()
}

pub(super) fn child(vec: &HistogramVec, labels: &[&str]) -> Histogram {
    vec.with_label_values(labels)
}

/// Records one load request of one scenario. Cheap to clone: give each worker its own.
#[derive(Clone)]
pub struct RequestMetrics {
    pub(super) duration: Histogram,
    pub(super) service_time: Histogram,
    pub(super) error_duration: Histogram,
    pub(super) requests: IntCounter,
    pub(super) errors: Arc<[IntCounter]>,
}

impl RequestMetrics {
    /// A request that met its expectations. `latency` runs from the intended send time
    /// (open model; the actual send in the closed model), `service_time` from the
    /// actual send.
    pub fn ok(&self, latency: Duration, service_time: Duration) {
        self.requests.inc();
        self.duration.observe(latency.as_secs_f64());
        self.service_time.observe(service_time.as_secs_f64());
    }

    /// A failed request. `class` is one of [`ERROR_CLASSES`]; anything else counts as
    /// `other`. Its latency goes to `golive_request_error_duration_seconds`, not to the
    /// latency histogram: golive judges latency on successful requests only, and a
    /// timeout's fixed latency would otherwise pull the percentiles toward it.
    pub fn error(&self, class: &str, latency: Duration) {
        self.requests.inc();
        self.errors[error_class_index(class)].inc();
        self.error_duration.observe(latency.as_secs_f64());
    }
}

/// Records the samples of one gate check item.
#[derive(Clone)]
pub struct CheckMetrics {
    pub(super) duration: Histogram,
    pub(super) samples: IntCounter,
    pub(super) failures: Arc<[IntCounter]>,
}

impl CheckMetrics {
    /// A sample that met its expectations, with its latency.
    pub fn ok(&self, latency: Duration) {
        self.samples.inc();
        self.duration.observe(latency.as_secs_f64());
    }

    /// A failed sample; `class` is a check failure class (`connect`, `timeout`, `tls`,
    /// `expectation`, `protocol`, `setup`), anything else counts as `other`.
    pub fn error(&self, class: &str) {
        self.samples.inc();
        self.failures[error_class_index(class)].inc();
    }
}
