//! The evidence record: what a run measured, item by item, before anything is judged.
//! A run produces it, `verdict::judge_run` judges it, `results.json` carries it, and
//! `golive merge` adds records together exactly (histograms included) and judges the sum
//! once, so a merged verdict is the verdict of the pooled samples.

use crate::load::result::{Percentiles, ScopeResult, WindowSummary};
use crate::load::LoadResult;
use crate::services::drill::DrillReport;
use crate::services::resources::ResourceSummary;
use crate::tally::{decode_histogram, encode_histogram, new_histogram, Observations};
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the run as a whole ended, as far as judging needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunEnd {
    Completed,
    /// SIGINT or SIGTERM cut the run short.
    Interrupted,
    /// A service could not be brought up or reached.
    EnvironmentFailed {
        why: String,
    },
}

/// What one item measured. Exactly the fields its kind produces are set; `skipped` says
/// why an item measured nothing (or less than planned).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemEvidence {
    /// What was probed, rendered for this run.
    pub target: Option<String>,
    /// Why the item did not run, or was cut short.
    pub skipped: Option<String>,
    /// A check item's samples.
    pub samples: Option<SampleEvidence>,
    /// A load item's run, with histograms per request and overall.
    pub load: Option<LoadResult>,
    /// Why a load item could not start.
    pub load_error: Option<String>,
    /// When a load item's load started, seconds on the run's clock (since `run.started_at`,
    /// the clock of the services' resource readings): the origin of its timeline, rules
    /// and drills, whose seconds count from it. Absent in records written before it was
    /// kept, and after a merge of shards whose loads started at different times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_started_s: Option<f64>,
    /// Fault drills run during a load item.
    #[serde(default)]
    pub drills: Vec<DrillReport>,
    /// What the service of a `kind: resources` item used.
    pub resources: Option<ResourceSummary>,
    /// Who signed a manual item, and when.
    pub signed: Option<Signature>,
    /// Who rejected a manual item after the run (`golive sign --reject`), and why: the
    /// item FAILs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
}

/// A sign-off given for a manual item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub by: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The id (SHA-256 of the public key, hex) of the Ed25519 key whose attestation in
    /// `signoffs.jsonl` carries this sign-off; absent for an unsigned one (`run --sign`,
    /// or `golive sign` without `--key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A sign-off refused for a manual item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub by: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub reason: String,
    /// As [`Signature::key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A check item's samples: counts, the latency histogram, and when and how they were
/// taken (the binomial arithmetic assumes independent trials; span, concurrency and the
/// longest runs let a reader see how far that holds).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleEvidence {
    pub planned: u64,
    pub taken: u64,
    pub failed: u64,
    /// Wall-clock seconds from the first sample's start to the last one's end.
    pub span_s: f64,
    /// Samples in flight at once.
    pub concurrency: u32,
    /// The longest run of consecutive failed samples (in completion order).
    pub longest_failure_run: u64,
    /// For each latency threshold a criterion names: the longest run of consecutive
    /// samples that failed or took at least that long.
    #[serde(default)]
    pub longest_over: Vec<LongestRun>,
    /// Failed samples by class (connect, timeout, tls, expectation, protocol, setup).
    pub failures_by_class: BTreeMap<String, u64>,
    /// The first distinct failure reasons, with counts.
    pub reasons: Vec<FailureReason>,
    /// Latency of successful samples; absent when none succeeded.
    pub latency_ms: Option<Percentiles>,
    /// The latency histogram of successful samples (µs), HdrHistogram V2 compressed,
    /// base64: what makes runs merge exactly.
    pub latency_histogram: Option<String>,
    /// Seconds the sampling took (as `span_s`, kept for completions per second).
    pub duration_s: f64,
    /// The run was interrupted before every planned sample ran.
    pub cut_short: bool,
    /// Sampling stopped because a supported FAIL was already certain.
    pub stopped_early: bool,
    /// The probe could not be prepared at all (no sample ran).
    pub setup_error: Option<String>,
}

/// The longest run of consecutive samples at or beyond a threshold (failed ones included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongestRun {
    pub threshold_us: u64,
    pub run: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureReason {
    pub class: String,
    pub reason: String,
    pub count: u64,
}

/// A histogram in a record that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct CorruptHistogram {
    /// Where it is, e.g. `latency_histogram` or `load.overall.latency_histogram`.
    pub field: String,
    pub reason: String,
}

impl SampleEvidence {
    /// The record of one item's sampling.
    pub fn of(obs: &Observations, planned: u64) -> SampleEvidence {
        SampleEvidence {
            planned,
            taken: obs.samples,
            failed: obs.failures,
            span_s: round_ms(obs.span.as_secs_f64()),
            concurrency: obs.concurrency,
            longest_failure_run: obs.longest_failure_run,
            longest_over: obs
                .longest_over()
                .map(|(threshold_us, run)| LongestRun { threshold_us, run })
                .collect(),
            failures_by_class: obs
                .by_class
                .iter()
                .map(|(c, n)| (c.as_str().to_string(), *n))
                .collect(),
            reasons: obs
                .reasons
                .iter()
                .map(|(class, reason, count)| FailureReason {
                    class: class.as_str().to_string(),
                    reason: reason.clone(),
                    count: *count,
                })
                .collect(),
            latency_ms: Percentiles::of(&obs.latency),
            latency_histogram: encode_histogram(&obs.latency),
            duration_s: round_ms(obs.duration.as_secs_f64()),
            cut_short: obs.cut_short,
            stopped_early: obs.stopped_early,
            setup_error: obs.setup_error.clone(),
        }
    }

    /// The latency histogram of successful samples.
    pub fn histogram(&self) -> Result<Histogram<u64>, CorruptHistogram> {
        decode(&self.latency_histogram, "samples.latency_histogram")
    }

    /// Adds `other`, taken side by side with these samples (another machine, the same
    /// checklist): counts add, histograms add exactly, spans and runs keep the longest.
    pub fn merge(&mut self, other: &SampleEvidence) -> Result<(), CorruptHistogram> {
        self.planned += other.planned;
        self.taken += other.taken;
        self.failed += other.failed;
        self.span_s = self.span_s.max(other.span_s);
        self.duration_s = self.duration_s.max(other.duration_s);
        self.concurrency += other.concurrency;
        self.longest_failure_run = self.longest_failure_run.max(other.longest_failure_run);
        for r in &other.longest_over {
            match self
                .longest_over
                .iter_mut()
                .find(|x| x.threshold_us == r.threshold_us)
            {
                Some(x) => x.run = x.run.max(r.run),
                None => self.longest_over.push(*r),
            }
        }
        for (k, v) in &other.failures_by_class {
            *self.failures_by_class.entry(k.clone()).or_default() += v;
        }
        merge_reasons(&mut self.reasons, &other.reasons);
        let h = add_encoded(
            &mut self.latency_histogram,
            &other.latency_histogram,
            "samples.latency_histogram",
        )?;
        self.latency_ms = Percentiles::of(&h);
        self.cut_short |= other.cut_short;
        self.stopped_early |= other.stopped_early;
        if self.setup_error.is_none() {
            self.setup_error = other.setup_error.clone();
        }
        Ok(())
    }
}

impl ItemEvidence {
    /// Adds another run's evidence for the same item (see [`SampleEvidence::merge`]).
    pub fn merge(&mut self, other: &ItemEvidence) -> Result<(), CorruptHistogram> {
        match (&mut self.samples, &other.samples) {
            (Some(a), Some(b)) => a.merge(b)?,
            (None, Some(b)) => self.samples = Some(b.clone()),
            _ => {}
        }
        match (&mut self.load, &other.load) {
            (Some(a), Some(b)) => merge_load(a, b)?,
            (None, Some(b)) => self.load = Some(b.clone()),
            _ => {}
        }
        self.drills.extend(other.drills.iter().cloned());
        // Each shard ran on its own clock: one origin only stands when they agree.
        if self.load_started_s != other.load_started_s {
            self.load_started_s = None;
        }
        self.resources = match (self.resources.take(), &other.resources) {
            (Some(a), Some(b)) => Some(worst_resources(a, b)),
            (a, b) => a.or_else(|| b.clone()),
        };
        if self.signed.is_none() {
            self.signed = other.signed.clone();
        }
        if self.rejected.is_none() {
            self.rejected = other.rejected.clone();
        }
        if self.skipped.is_none() {
            self.skipped = other.skipped.clone();
        }
        if self.load_error.is_none() {
            self.load_error = other.load_error.clone();
        }
        Ok(())
    }

    /// Every histogram in the record reads back; what a renderer or the judge would
    /// otherwise meet half-way.
    pub fn validate(&self) -> Result<(), CorruptHistogram> {
        if let Some(s) = &self.samples {
            s.histogram()?;
        }
        if let Some(l) = &self.load {
            for (i, scope) in std::iter::once(&l.overall)
                .chain(l.by_request.iter())
                .enumerate()
            {
                let at = if i == 0 {
                    "load.overall".to_string()
                } else {
                    format!("load.by_request[{}]", i - 1)
                };
                decode(&scope.latency_histogram, &format!("{at}.latency_histogram"))?;
                decode(
                    &scope.service_time_histogram,
                    &format!("{at}.service_time_histogram"),
                )?;
            }
        }
        Ok(())
    }
}

/// Resources of one service measured on several machines: the claim must hold on each, so
/// the worst reading of each figure stands.
fn worst_resources(a: ResourceSummary, b: &ResourceSummary) -> ResourceSummary {
    let max_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    ResourceSummary {
        samples: a.samples.min(b.samples),
        duration_s: a.duration_s.max(b.duration_s),
        memory_first_bytes: a.memory_first_bytes.max(b.memory_first_bytes),
        memory_last_bytes: a.memory_last_bytes.max(b.memory_last_bytes),
        memory_max_bytes: a.memory_max_bytes.max(b.memory_max_bytes),
        memory_growth_bytes: max_opt(a.memory_growth_bytes, b.memory_growth_bytes),
        memory_slope_bytes_per_min: max_opt(
            a.memory_slope_bytes_per_min,
            b.memory_slope_bytes_per_min,
        ),
        cpu_mean_percent: max_opt(a.cpu_mean_percent, b.cpu_mean_percent),
        cpu_max_percent: max_opt(a.cpu_max_percent, b.cpu_max_percent),
        restarts: a.restarts + b.restarts,
        scope: a.scope.or_else(|| b.scope.clone()),
    }
}

fn merge_reasons(a: &mut Vec<FailureReason>, b: &[FailureReason]) {
    for f in b {
        match a
            .iter_mut()
            .find(|x| x.class == f.class && x.reason == f.reason)
        {
            Some(x) => x.count += f.count,
            None => a.push(f.clone()),
        }
    }
}

fn decode(text: &Option<String>, field: &str) -> Result<Histogram<u64>, CorruptHistogram> {
    match text {
        None => Ok(new_histogram()),
        Some(t) => decode_histogram(t).map_err(|reason| CorruptHistogram {
            field: field.to_string(),
            reason,
        }),
    }
}

/// `a + b` for two encoded histograms, stored back in `a`; returns the sum.
fn add_encoded(
    a: &mut Option<String>,
    b: &Option<String>,
    field: &str,
) -> Result<Histogram<u64>, CorruptHistogram> {
    let mut h = decode(a, field)?;
    let other = decode(b, field)?;
    h.add(&other).map_err(|e| CorruptHistogram {
        field: field.to_string(),
        reason: format!("cannot be added: {e:?}"),
    })?;
    *a = encode_histogram(&h);
    Ok(h)
}

fn merge_scope(a: &mut ScopeResult, b: &ScopeResult, at: &str) -> Result<(), CorruptHistogram> {
    a.requests += b.requests;
    a.errors += b.errors;
    for (k, v) in &b.errors_by_class {
        *a.errors_by_class.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &b.errors_by_status {
        *a.errors_by_status.entry(*k).or_default() += v;
    }
    for (class, reason, count) in &b.error_reasons {
        match a
            .error_reasons
            .iter_mut()
            .find(|(c, r, _)| c == class && r == reason)
        {
            Some(x) => x.2 += count,
            None => a
                .error_reasons
                .push((class.clone(), reason.clone(), *count)),
        }
    }
    let l = add_encoded(
        &mut a.latency_histogram,
        &b.latency_histogram,
        &format!("{at}.latency_histogram"),
    )?;
    a.latency_ms = Percentiles::of(&l);
    let s = add_encoded(
        &mut a.service_time_histogram,
        &b.service_time_histogram,
        &format!("{at}.service_time_histogram"),
    )?;
    a.service_time_ms = Percentiles::of(&s);
    Ok(())
}

/// Shards that ran side by side over the same period: counts and rates add.
fn merge_load(a: &mut LoadResult, b: &LoadResult) -> Result<(), CorruptHistogram> {
    merge_scope(&mut a.overall, &b.overall, "load.overall")?;
    for (i, (x, y)) in a.by_request.iter_mut().zip(&b.by_request).enumerate() {
        merge_scope(x, y, &format!("load.by_request[{i}]"))?;
    }
    a.requests += b.requests;
    a.errors += b.errors;
    a.warm_up_requests += b.warm_up_requests;
    a.dropped += b.dropped;
    a.late += b.late;
    a.reconnects += b.reconnects;
    a.achieved_rps += b.achieved_rps;
    a.target_rps = a.target_rps.zip(b.target_rps).map(|(x, y)| x + y);
    a.max_in_flight = a.max_in_flight.zip(b.max_in_flight).map(|(x, y)| x + y);
    a.duration_s = a.duration_s.max(b.duration_s);
    a.stopped_early |= b.stopped_early;
    if a.rollback.is_none() {
        a.rollback = b.rollback.clone();
    }
    a.shortfall = match (&a.shortfall, &b.shortfall) {
        (None, None) => None,
        (x, y) => Some(
            [x.as_deref(), y.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    if a.timeline.len() < b.timeline.len() {
        a.timeline
            .extend(b.timeline[a.timeline.len()..].iter().cloned());
    }
    for (k, (wa, wb)) in a.timeline.iter_mut().zip(&b.timeline).enumerate() {
        merge_window(wa, wb, &format!("load.timeline[{k}]"))?;
    }
    Ok(())
}

/// Window `k` of two shards that started together covers the same span: counts add, and
/// where both carry their histograms (sharded runs) the percentiles are those of the sum.
fn merge_window(
    a: &mut WindowSummary,
    b: &WindowSummary,
    at: &str,
) -> Result<(), CorruptHistogram> {
    a.requests += b.requests;
    a.errors += b.errors;
    a.rps += b.rps;
    a.secs = a.secs.max(b.secs);
    if a.scopes.len() == b.scopes.len() && !a.scopes.is_empty() {
        for (i, (x, y)) in a.scopes.iter_mut().zip(&b.scopes).enumerate() {
            x.requests += y.requests;
            x.errors += y.errors;
            let h = add_encoded(
                &mut x.latency_histogram,
                &y.latency_histogram,
                &format!("{at}.scopes[{i}].latency_histogram"),
            )?;
            if i == 0 {
                let q =
                    |q: f64| (!h.is_empty()).then(|| (h.value_at_quantile(q) as f64).round() / 1e3);
                (a.p50_ms, a.p95_ms, a.p99_ms) = (q(0.5), q(0.95), q(0.99));
            }
        }
    } else {
        // Window percentiles without histograms cannot be merged exactly.
        a.scopes.clear();
        (a.p50_ms, a.p95_ms, a.p99_ms) = (None, None, None);
    }
    Ok(())
}

fn round_ms(secs: f64) -> f64 {
    (secs * 1e3).round() / 1e3
}
