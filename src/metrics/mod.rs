//! golive's Prometheus export: the only module that knows the exposition format.
//!
//! [`Metrics`] owns a registry whose every family comes from [`names::METRICS`]. The
//! load engine records through pre-resolved [`RequestMetrics`] handles, the gate checks
//! through [`CheckMetrics`], and the orchestrator sets rule states, item outcomes and
//! the verdict. The exposition is served over HTTP ([`serve`]) for a Prometheus to
//! scrape during a run, and pushed to a Pushgateway ([`push`]) so a short CI run that
//! ends between two scrapes loses nothing.

mod handles;
mod monitor;
pub mod names;
mod push;
mod register;
mod serve;
#[cfg(test)]
mod tests;

pub use handles::{CheckMetrics, RequestMetrics};
pub use monitor::MonitorMetrics;
pub use push::{delete, push, push_periodically, PushError, PushTarget};
pub use serve::{serve, serve_app, Limits as ServeLimits};

use names::{OUTCOMES, VERDICTS};
use prometheus::{GaugeVec, HistogramVec, IntCounterVec, IntGaugeVec, Registry};
use std::time::{SystemTime, UNIX_EPOCH};

/// The content type of [`Metrics::render`]'s text, as Prometheus and the Pushgateway
/// expect it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What names a run in `golive_run_info`, and (`run_id`) its Pushgateway group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabels {
    pub run_id: String,
    /// The checklist's `system`.
    pub system: String,
    /// The checklist's file name.
    pub checklist: String,
}

pub use crate::rules::RuleState;

/// A rule's state as `golive_rule_state` exports it: 0 ok, 1 pending, 2 firing.
fn rule_state_value(s: RuleState) -> i64 {
    match s {
        RuleState::Ok => 0,
        RuleState::Pending => 1,
        RuleState::Firing => 2,
    }
}

/// golive's metrics for one run. Share it as `Arc<Metrics>`; every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    run_id: String,
    request_duration: HistogramVec,
    request_service_time: HistogramVec,
    request_error_duration: HistogramVec,
    requests: IntCounterVec,
    request_errors: IntCounterVec,
    in_flight: IntGaugeVec,
    target_rate: GaugeVec,
    achieved_rate: GaugeVec,
    dropped: IntCounterVec,
    late: IntCounterVec,
    check_duration: HistogramVec,
    check_samples: IntCounterVec,
    check_failures: IntCounterVec,
    rule_state: IntGaugeVec,
    rule_firing: IntGaugeVec,
    item_outcome: IntGaugeVec,
    verdict: IntGaugeVec,
    exit_code: IntGaugeVec,
    service_cpu: GaugeVec,
    service_memory: IntGaugeVec,
    service_restarts: IntCounterVec,
    drill_recovery: GaugeVec,
    /// Set once the verdict and exit code are final ([`Metrics::mark_final`]).
    is_final: std::sync::atomic::AtomicBool,
    /// Scrapes that read the final values.
    final_scrapes: std::sync::atomic::AtomicU64,
}

impl Metrics {
    /// Registers every family of [`names::METRICS`] and sets `golive_run_info` and
    /// `golive_run_start_time_seconds` (now).
    pub fn new(run: &RunLabels) -> Metrics {
        use names as n;
        use register::{gauge, histogram, int_counter, int_gauge};
        // Every series names its run and system (as k6 tags each sample with its test
        // id): a dashboard picks one run, and the two copies of a run (scraped from
        // /metrics and through the Pushgateway) are told apart by `job` alone.
        let run_labels = std::collections::HashMap::from([
            ("run_id".to_string(), run.run_id.clone()),
            ("system".to_string(), run.system.clone()),
        ]);
        let r = Registry::new_custom(None, Some(run_labels)).unwrap_or_default();
        let metrics = Metrics {
            run_id: run.run_id.clone(),
            request_duration: histogram(&r, &n::REQUEST_DURATION),
            request_service_time: histogram(&r, &n::REQUEST_SERVICE_TIME),
            request_error_duration: histogram(&r, &n::REQUEST_ERROR_DURATION),
            requests: int_counter(&r, &n::REQUESTS),
            request_errors: int_counter(&r, &n::REQUEST_ERRORS),
            in_flight: int_gauge(&r, &n::IN_FLIGHT),
            target_rate: gauge(&r, &n::TARGET_RATE),
            achieved_rate: gauge(&r, &n::ACHIEVED_RATE),
            dropped: int_counter(&r, &n::DROPPED),
            late: int_counter(&r, &n::LATE),
            check_duration: histogram(&r, &n::CHECK_DURATION),
            check_samples: int_counter(&r, &n::CHECK_SAMPLES),
            check_failures: int_counter(&r, &n::CHECK_FAILURES),
            rule_state: int_gauge(&r, &n::RULE_STATE),
            rule_firing: int_gauge(&r, &n::RULE_FIRING),
            item_outcome: int_gauge(&r, &n::ITEM_OUTCOME),
            verdict: int_gauge(&r, &n::VERDICT),
            exit_code: int_gauge(&r, &n::EXIT_CODE),
            service_cpu: gauge(&r, &n::SERVICE_CPU),
            service_memory: int_gauge(&r, &n::SERVICE_MEMORY),
            service_restarts: int_counter(&r, &n::SERVICE_RESTARTS),
            drill_recovery: gauge(&r, &n::DRILL_RECOVERY),
            is_final: std::sync::atomic::AtomicBool::new(false),
            final_scrapes: std::sync::atomic::AtomicU64::new(0),
            registry: r,
        };
        // Set once and never read back: no need to keep the handles.
        int_gauge(&metrics.registry, &n::RUN_INFO)
            .with_label_values(&[&run.checklist])
            .set(1);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        gauge(&metrics.registry, &n::RUN_START_TIME)
            .with_label_values::<&str>(&[])
            .set(now);
        // All verdicts at 0 until one is decided, so "verdict is not GO" alerts and
        // panels see a decided verdict, not a missing series, as the change.
        for v in VERDICTS {
            metrics.verdict.with_label_values(&[v]).set(0);
        }
        metrics
    }

    /// The run id the Pushgateway groups this run's metrics under.
    /// The verdict, exit code and item outcomes are set for good: scrapes from now on
    /// read the final values (counted by [`Metrics::final_scrapes`]).
    pub fn mark_final(&self) {
        self.is_final
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The exposition for a scrape, counted when it holds the final values (final
    /// before rendering, so a count never stands for a scrape of earlier values).
    pub(crate) fn render_scrape(&self) -> String {
        let is_final = self.is_final.load(std::sync::atomic::Ordering::SeqCst);
        let body = self.render();
        if is_final {
            self.final_scrapes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        body
    }

    /// Scrapes that read the final values so far.
    pub fn final_scrapes(&self) -> u64 {
        self.final_scrapes.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Handles for one request of one scenario; make them once per scenario and
    /// request before the load starts, not per request.
    pub fn request(&self, scenario: &str, request: &str) -> RequestMetrics {
        let labels = [scenario, request];
        RequestMetrics {
            duration: handles::child(&self.request_duration, &labels),
            service_time: handles::child(&self.request_service_time, &labels),
            error_duration: handles::child(&self.request_error_duration, &labels),
            requests: self.requests.with_label_values(&labels),
            errors: handles::per_class(&self.request_errors, &labels),
        }
    }

    /// Handles for one gate check item; `kind` is its check kind (`http`, `tcp`, ...).
    pub fn check(&self, item: &str, kind: &str) -> CheckMetrics {
        let labels = [item, kind];
        CheckMetrics {
            duration: handles::child(&self.check_duration, &labels),
            samples: self.check_samples.with_label_values(&labels),
            failures: handles::per_class(&self.check_failures, &labels),
        }
    }

    pub fn set_in_flight(&self, scenario: &str, n: i64) {
        self.in_flight.with_label_values(&[scenario]).set(n);
    }

    /// The profile's current target (`None` in the closed model, where there is none:
    /// the series is then removed rather than set to a made-up 0) and the rate sent.
    pub fn set_rates(&self, scenario: &str, target_per_s: Option<f64>, achieved_per_s: f64) {
        match target_per_s {
            Some(t) => self.target_rate.with_label_values(&[scenario]).set(t),
            None => {
                // Err only means there was no such series: nothing to remove.
                let _ = self.target_rate.remove_label_values(&[scenario]);
            }
        }
        self.achieved_rate
            .with_label_values(&[scenario])
            .set(achieved_per_s);
    }

    /// Open-model requests not sent because the in-flight bound was reached.
    pub fn add_dropped(&self, scenario: &str, n: u64) {
        self.dropped.with_label_values(&[scenario]).inc_by(n);
    }

    /// Requests sent later than their intended time by more than the lag tolerance.
    pub fn add_late(&self, scenario: &str, n: u64) {
        self.late.with_label_values(&[scenario]).inc_by(n);
    }

    pub fn set_rule_state(&self, rule: &str, state: RuleState) {
        self.rule_state
            .with_label_values(&[rule])
            .set(rule_state_value(state));
        let firing = i64::from(state == RuleState::Firing);
        self.rule_firing.with_label_values(&[rule]).set(firing);
    }

    /// Sets `golive_item_outcome{item, outcome}` to 1 for `outcome` (`PASS`, `FAIL` or
    /// `INCONCLUSIVE`, any case) and 0 for the other two. An unknown outcome sets all
    /// three to 0 rather than adding a label value.
    pub fn set_item_outcome(&self, item: &str, outcome: &str) {
        let known = OUTCOMES.iter().find(|o| o.eq_ignore_ascii_case(outcome));
        if known.is_none() {
            tracing::warn!(item, outcome, "Unknown item outcome; exported as none.");
        }
        for o in OUTCOMES {
            let hot = Some(o) == known;
            self.item_outcome
                .with_label_values(&[item, o])
                .set(i64::from(hot));
        }
    }

    /// Sets `golive_verdict{verdict}` one-hot. Takes results.json's spelling (`NO_GO`)
    /// and the people's (`NO-GO`), any case; an unknown verdict leaves all at 0.
    pub fn set_verdict(&self, verdict: &str) {
        let normal = verdict.replace('-', "_");
        let known = VERDICTS.iter().find(|v| v.eq_ignore_ascii_case(&normal));
        if known.is_none() {
            tracing::warn!(verdict, "Unknown verdict; exported as none.");
        }
        for v in VERDICTS {
            let hot = Some(v) == known;
            self.verdict.with_label_values(&[v]).set(i64::from(hot));
        }
    }

    /// One resource reading of a service; `cpu_percent` is absent on a first reading.
    pub fn set_service_resources(&self, service: &str, cpu_percent: Option<f64>, memory: u64) {
        if let Some(c) = cpu_percent {
            self.service_cpu.with_label_values(&[service]).set(c);
        }
        self.service_memory
            .with_label_values(&[service])
            .set(i64::try_from(memory).unwrap_or(i64::MAX));
    }

    /// Raises a service's restart counter to `total` (counters only go up).
    pub fn set_service_restarts(&self, service: &str, total: u64) {
        let c = self.service_restarts.with_label_values(&[service]);
        c.inc_by(total.saturating_sub(c.get()));
    }

    /// How long a drilled service took to pass its readiness probe again.
    pub fn set_drill_recovery(&self, service: &str, action: &str, seconds: f64) {
        self.drill_recovery
            .with_label_values(&[service, action])
            .set(seconds);
    }

    pub fn set_exit_code(&self, code: i32) {
        self.exit_code
            .with_label_values::<&str>(&[])
            .set(i64::from(code));
    }

    /// The text exposition format 0.0.4 of every series.
    pub fn render(&self) -> String {
        encode(&self.registry)
    }
}

/// A registry in the text exposition format 0.0.4.
fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Encoding fails only for a family the registry should have refused at
    // registration; keep what was written and say so rather than panic mid-run.
    if let Err(e) = prometheus::TextEncoder::new().encode_utf8(&registry.gather(), &mut out) {
        tracing::error!(error = %e, "Cannot encode the metrics.");
    }
    out
}
