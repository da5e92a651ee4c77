//! The monitor's metrics: its own registry of [`names::MONITOR_METRICS`], labelled with
//! the system it watches.

use super::names;
use super::register::{gauge, histogram, int_counter, int_gauge};
use crate::rules::RuleState;
use prometheus::{GaugeVec, HistogramVec, IntCounterVec, IntGaugeVec, Registry};

pub struct MonitorMetrics {
    registry: Registry,
    item_up: IntGaugeVec,
    check_duration: HistogramVec,
    samples: IntCounterVec,
    sample_failures: IntCounterVec,
    uptime: GaugeVec,
    rule_state: IntGaugeVec,
    alert_firing: IntGaugeVec,
    burn_rate: GaugeVec,
    budget_left: GaugeVec,
    notifications: IntCounterVec,
    notification_failures: IntCounterVec,
    pending: IntGaugeVec,
}

impl MonitorMetrics {
    /// Registers every monitor family; every series carries `system`.
    pub fn new(system: &str) -> MonitorMetrics {
        use names as n;
        let labels = std::collections::HashMap::from([("system".to_string(), system.to_string())]);
        let r = Registry::new_custom(None, Some(labels)).unwrap_or_default();
        MonitorMetrics {
            item_up: int_gauge(&r, &n::MONITOR_ITEM_UP),
            check_duration: histogram(&r, &n::MONITOR_CHECK_DURATION),
            samples: int_counter(&r, &n::MONITOR_SAMPLES),
            sample_failures: int_counter(&r, &n::MONITOR_SAMPLE_FAILURES),
            uptime: gauge(&r, &n::MONITOR_UPTIME),
            rule_state: int_gauge(&r, &n::MONITOR_RULE_STATE),
            alert_firing: int_gauge(&r, &n::MONITOR_ALERT_FIRING),
            burn_rate: gauge(&r, &n::MONITOR_BURN_RATE),
            budget_left: gauge(&r, &n::MONITOR_BUDGET_LEFT),
            notifications: int_counter(&r, &n::MONITOR_NOTIFICATIONS),
            notification_failures: int_counter(&r, &n::MONITOR_NOTIFICATION_FAILURES),
            pending: int_gauge(&r, &n::MONITOR_NOTIFICATIONS_PENDING),
            registry: r,
        }
    }

    /// Forgets every state series (items, rules, alerts, objectives): a reloaded
    /// checklist sets its own, and a removed rule must not stay firing here.
    pub fn reset_states(&self) {
        self.item_up.reset();
        self.uptime.reset();
        self.rule_state.reset();
        self.alert_firing.reset();
        self.burn_rate.reset();
        self.budget_left.reset();
    }

    /// One sample of `item`: its latency when it passed, its failure class when not.
    pub fn sample(&self, item: &str, outcome: Result<std::time::Duration, &str>) {
        self.samples.with_label_values(&[item]).inc();
        match outcome {
            Ok(d) => self
                .check_duration
                .with_label_values(&[item])
                .observe(d.as_secs_f64()),
            Err(class) => self
                .sample_failures
                .with_label_values(&[item, names::error_class(class)])
                .inc(),
        }
    }

    pub fn set_item_up(&self, item: &str, up: bool) {
        self.item_up.with_label_values(&[item]).set(i64::from(up));
    }

    pub fn set_uptime(&self, item: &str, window: &str, ratio: Option<f64>) {
        match ratio {
            Some(r) => self.uptime.with_label_values(&[item, window]).set(r),
            None => {
                let _ = self.uptime.remove_label_values(&[item, window]);
            }
        }
    }

    pub fn set_rule_state(&self, rule: &str, item: &str, state: RuleState) {
        let v = match state {
            RuleState::Ok => 0,
            RuleState::Pending => 1,
            RuleState::Firing => 2,
        };
        self.rule_state.with_label_values(&[rule, item]).set(v);
    }

    pub fn set_alert_firing(&self, alert: &str, firing: bool) {
        self.alert_firing
            .with_label_values(&[alert])
            .set(i64::from(firing));
    }

    pub fn set_burn_rate(&self, objective: &str, window: &str, rate: Option<f64>) {
        match rate {
            Some(r) => self
                .burn_rate
                .with_label_values(&[objective, window])
                .set(r),
            None => {
                let _ = self.burn_rate.remove_label_values(&[objective, window]);
            }
        }
    }

    pub fn set_budget_left(&self, objective: &str, left: Option<f64>) {
        match left {
            Some(l) => self.budget_left.with_label_values(&[objective]).set(l),
            None => {
                let _ = self.budget_left.remove_label_values(&[objective]);
            }
        }
    }

    pub fn notified(&self, receiver: &str, kind: &str) {
        self.notifications
            .with_label_values(&[receiver, kind])
            .inc();
    }

    pub fn notification_failed(&self, receiver: &str) {
        self.notification_failures
            .with_label_values(&[receiver])
            .inc();
    }

    pub fn set_pending(&self, n: i64) {
        self.pending.with_label_values::<&str>(&[]).set(n);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        super::encode(&self.registry)
    }
}
