//! The one list of golive's Prometheus metrics: name, type, help, label names and
//! buckets, as data. Registration in [`super::Metrics::new`] reads every family from
//! here, and the tests check the registry, the Grafana dashboard and the alert rules
//! against [`METRICS`], so a renamed metric cannot silently orphan a panel or an alert.
//!
//! Conventions (Prometheus naming guide, vector's STYLE.md): the `golive_` prefix, base
//! units in the name (`_seconds`), `_total` on counters only, latency as a histogram,
//! and labels whose values come from the checklist or from closed lists below, never
//! from request data.

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    /// The type as the text exposition writes it in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    /// Upper bounds in seconds; empty for counters and gauges.
    pub buckets: &'static [f64],
}

/// Request latency buckets: 0.5 ms to 10 s, roughly 1-2.5-5 per decade, with bounds
/// at the thresholds checklists use most (100 ms, 250 ms, 500 ms, 1 s) so that a
/// `p95 > 500ms` alert compares at a bucket edge instead of interpolating across one.
pub const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Check latency buckets: the request ones plus 30 s, the default timeout of a
/// `command` check, so slow commands do not all land in `+Inf`.
pub const CHECK_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The closed list of failure classes (request and check): the load engine's and the
/// check kinds' classes. Anything else is counted as [`OTHER_CLASS`], so a new or
/// misspelt class can never add a label value per distinct error text.
pub const ERROR_CLASSES: &[&str] = &[
    "connect",
    "timeout",
    "tls",
    "status_4xx",
    "status_5xx",
    "expectation",
    "protocol",
    "setup",
    OTHER_CLASS,
];
/// Where unknown failure classes go.
pub const OTHER_CLASS: &str = "other";

/// Values of `golive_item_outcome`'s `outcome` label.
pub const OUTCOMES: &[&str] = &["PASS", "FAIL", "INCONCLUSIVE"];
/// Values of `golive_verdict`'s `verdict` label (results.json's spelling).
pub const VERDICTS: &[&str] = &["GO", "NO_GO", "INCONCLUSIVE", "ROLLBACK"];

const fn def(
    name: &'static str,
    kind: Kind,
    help: &'static str,
    labels: &'static [&'static str],
) -> MetricDef {
    MetricDef {
        name,
        kind,
        help,
        labels,
        buckets: &[],
    }
}

const fn histogram(
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
) -> MetricDef {
    MetricDef {
        name,
        kind: Kind::Histogram,
        help,
        labels,
        buckets,
    }
}

use Kind::{Counter, Gauge};

// Load: one series per (scenario, request), both named in the checklist.
pub const REQUEST_DURATION: MetricDef = histogram(
    "golive_request_duration_seconds",
    "Latency of successful load requests, from the intended send time (open model) to the complete answer.",
    &["scenario", "request"],
    REQUEST_BUCKETS,
);
pub const REQUEST_SERVICE_TIME: MetricDef = histogram(
    "golive_request_service_time_seconds",
    "Latency of successful load requests, from the actual send to the complete answer.",
    &["scenario", "request"],
    REQUEST_BUCKETS,
);
pub const REQUEST_ERROR_DURATION: MetricDef = histogram(
    "golive_request_error_duration_seconds",
    "Time until a failed load request was known to have failed, from its intended send time.",
    &["scenario", "request"],
    REQUEST_BUCKETS,
);
pub const REQUESTS: MetricDef = def(
    "golive_requests_total",
    Counter,
    "Load requests completed, successful or not.",
    &["scenario", "request"],
);
pub const REQUEST_ERRORS: MetricDef = def(
    "golive_request_errors_total",
    Counter,
    "Load requests that failed, by failure class.",
    &["scenario", "request", "class"],
);
pub const IN_FLIGHT: MetricDef = def(
    "golive_requests_in_flight",
    Gauge,
    "Load requests sent and not yet answered.",
    &["scenario"],
);
pub const TARGET_RATE: MetricDef = def(
    "golive_target_rate_per_second",
    Gauge,
    "Request rate the scenario's profile asks for now (open model only).",
    &["scenario"],
);
pub const ACHIEVED_RATE: MetricDef = def(
    "golive_achieved_rate_per_second",
    Gauge,
    "Request rate actually sent over the last measuring window.",
    &["scenario"],
);
pub const DROPPED: MetricDef = def(
    "golive_requests_dropped_total",
    Counter,
    "Open-model requests not sent because the in-flight bound was reached.",
    &["scenario"],
);
pub const LATE: MetricDef = def(
    "golive_requests_late_total",
    Counter,
    "Requests sent later than their intended time by more than the lag tolerance.",
    &["scenario"],
);

// Gate checks: one series per (item, kind); kind is the check kind (http, tcp, ...).
pub const CHECK_DURATION: MetricDef = histogram(
    "golive_check_duration_seconds",
    "Latency of successful check samples.",
    &["item", "kind"],
    CHECK_BUCKETS,
);
pub const CHECK_SAMPLES: MetricDef = def(
    "golive_check_samples_total",
    Counter,
    "Check samples taken, successful or not.",
    &["item", "kind"],
);
pub const CHECK_FAILURES: MetricDef = def(
    "golive_check_failures_total",
    Counter,
    "Check samples that failed, by failure class.",
    &["item", "kind", "class"],
);

// Rules, outcomes and the verdict.
pub const RULE_STATE: MetricDef = def(
    "golive_rule_state",
    Gauge,
    "State of a rollback rule: 0 ok, 1 pending, 2 firing.",
    &["rule"],
);
pub const RULE_FIRING: MetricDef = def(
    "golive_rule_firing",
    Gauge,
    "1 while a rollback rule is firing, else 0.",
    &["rule"],
);
pub const ITEM_OUTCOME: MetricDef = def(
    "golive_item_outcome",
    Gauge,
    "1 for a checklist item's outcome (PASS, FAIL or INCONCLUSIVE), 0 for the others.",
    &["item", "outcome"],
);
pub const VERDICT: MetricDef = def(
    "golive_verdict",
    Gauge,
    "1 for the run's verdict (GO, NO_GO, INCONCLUSIVE or ROLLBACK), 0 for the others; all 0 until decided.",
    &["verdict"],
);
pub const EXIT_CODE: MetricDef = def(
    "golive_exit_code",
    Gauge,
    "The exit code golive ends with; absent until decided.",
    &[],
);
pub const RUN_INFO: MetricDef = def(
    "golive_run_info",
    Gauge,
    "Always 1; names the checklist (every series of golive carries run_id and system).",
    &["checklist"],
);
pub const RUN_START_TIME: MetricDef = def(
    "golive_run_start_time_seconds",
    Gauge,
    "When the run started, in seconds since the Unix epoch.",
    &[],
);

// Services golive runs (containers and processes), sampled every second.
pub const SERVICE_CPU: MetricDef = def(
    "golive_service_cpu_percent",
    Gauge,
    "CPU a service used over the last second, percent of one core.",
    &["service"],
);
pub const SERVICE_MEMORY: MetricDef = def(
    "golive_service_memory_bytes",
    Gauge,
    "Memory a service uses: resident set for a process, usage minus page cache for a container.",
    &["service"],
);
pub const SERVICE_RESTARTS: MetricDef = def(
    "golive_service_restarts_total",
    Counter,
    "Times a fault drill started a service again.",
    &["service"],
);
pub const DRILL_RECOVERY: MetricDef = def(
    "golive_drill_recovery_seconds",
    Gauge,
    "From a fault drill until the service passed its readiness probe again.",
    &["service", "action"],
);

// The monitor (`golive monitor`): one series per item, rule, alert or objective, all
// named in the checklist.
pub const MONITOR_ITEM_UP: MetricDef = def(
    "golive_monitor_item_up",
    Gauge,
    "1 when the item's last tick passed, 0 when it failed; absent before the first tick.",
    &["item"],
);

pub const MONITOR_CHECK_DURATION: MetricDef = histogram(
    "golive_monitor_check_duration_seconds",
    "Latency of the monitor's successful samples, per item.",
    &["item"],
    CHECK_BUCKETS,
);

pub const MONITOR_SAMPLES: MetricDef = def(
    "golive_monitor_samples_total",
    Counter,
    "Samples the monitor took, per item.",
    &["item"],
);

pub const MONITOR_SAMPLE_FAILURES: MetricDef = def(
    "golive_monitor_sample_failures_total",
    Counter,
    "Samples that failed, per item and failure class.",
    &["item", "class"],
);

pub const MONITOR_UPTIME: MetricDef = def(
    "golive_monitor_uptime_ratio",
    Gauge,
    "Share of the item's samples that passed over the window (1h, 24h, 7d).",
    &["item", "window"],
);

pub const MONITOR_RULE_STATE: MetricDef = def(
    "golive_monitor_rule_state",
    Gauge,
    "Alert rule state: 0 ok, 1 pending, 2 firing.",
    &["rule", "item"],
);

pub const MONITOR_ALERT_FIRING: MetricDef = def(
    "golive_monitor_alert_firing",
    Gauge,
    "1 while the alert (a rule or an objective's burn-rate pair) fires.",
    &["alert"],
);

pub const MONITOR_BURN_RATE: MetricDef = def(
    "golive_monitor_slo_burn_rate",
    Gauge,
    "How fast the objective spends its error budget over the window (1 = exactly over its period).",
    &["objective", "window"],
);

pub const MONITOR_BUDGET_LEFT: MetricDef = def(
    "golive_monitor_slo_error_budget_remaining_ratio",
    Gauge,
    "Share of the objective's error budget left over its period (below 0: overspent).",
    &["objective"],
);

pub const MONITOR_NOTIFICATIONS: MetricDef = def(
    "golive_monitor_notifications_total",
    Counter,
    "Notifications delivered, per receiver and kind (firing, resolved).",
    &["receiver", "kind"],
);

pub const MONITOR_NOTIFICATION_FAILURES: MetricDef = def(
    "golive_monitor_notification_failures_total",
    Counter,
    "Delivery attempts that failed (they are retried), per receiver.",
    &["receiver"],
);

pub const MONITOR_NOTIFICATIONS_PENDING: MetricDef = def(
    "golive_monitor_notifications_pending",
    Gauge,
    "Notifications waiting in the outbox.",
    &[],
);

/// Every metric `golive monitor` exports.
pub const MONITOR_METRICS: &[MetricDef] = &[
    MONITOR_ITEM_UP,
    MONITOR_CHECK_DURATION,
    MONITOR_SAMPLES,
    MONITOR_SAMPLE_FAILURES,
    MONITOR_UPTIME,
    MONITOR_RULE_STATE,
    MONITOR_ALERT_FIRING,
    MONITOR_BURN_RATE,
    MONITOR_BUDGET_LEFT,
    MONITOR_NOTIFICATIONS,
    MONITOR_NOTIFICATION_FAILURES,
    MONITOR_NOTIFICATIONS_PENDING,
];

/// Every metric `golive run` exports.
pub const METRICS: &[MetricDef] = &[
    SERVICE_CPU,
    SERVICE_MEMORY,
    SERVICE_RESTARTS,
    DRILL_RECOVERY,
    REQUEST_DURATION,
    REQUEST_SERVICE_TIME,
    REQUEST_ERROR_DURATION,
    REQUESTS,
    REQUEST_ERRORS,
    IN_FLIGHT,
    TARGET_RATE,
    ACHIEVED_RATE,
    DROPPED,
    LATE,
    CHECK_DURATION,
    CHECK_SAMPLES,
    CHECK_FAILURES,
    RULE_STATE,
    RULE_FIRING,
    ITEM_OUTCOME,
    VERDICT,
    EXIT_CODE,
    RUN_INFO,
    RUN_START_TIME,
];

/// The definition named `name`, also for a histogram's `_bucket`, `_sum` and `_count`
/// series, which is how PromQL in dashboards and alert rules refers to histograms.
pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    let all = || METRICS.iter().chain(MONITOR_METRICS);
    if let Some(d) = all().find(|d| d.name == name) {
        return Some(d);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        all().find(|d| d.name == base && d.kind == Kind::Histogram)
    })
}

/// `class` if it is in [`ERROR_CLASSES`], else [`OTHER_CLASS`].
pub fn error_class(class: &str) -> &'static str {
    ERROR_CLASSES[error_class_index(class)]
}

/// The position of `class` in [`ERROR_CLASSES`], or of [`OTHER_CLASS`] (the last).
pub fn error_class_index(class: &str) -> usize {
    ERROR_CLASSES
        .iter()
        .position(|c| *c == class)
        .unwrap_or(ERROR_CLASSES.len() - 1)
}
