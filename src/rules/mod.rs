//! The rule engine, one for the load's rollback rules and the monitor's alert rules.
//! A rule fires when its breach condition holds in every window across its `for`
//! duration, and clears after the condition has been false for `clear_for` (hysteresis,
//! so one bad window does not flap it). Pure: windows are fed in by the caller, so tests
//! drive it with a synthetic clock. [`slo`] adds error-budget objectives and their
//! multi-window burn-rate alerts.

pub mod slo;

use crate::expr::Op;
use crate::spec::NoData;
use crate::units::Duration;
use serde::{Deserialize, Serialize};

/// What a rule measures in a window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleMetric {
    /// A latency quantile, threshold in microseconds.
    Quantile(f64),
    /// Failed share of requests, threshold as a fraction.
    ErrorRate,
    /// Mean latency, threshold in microseconds.
    Mean,
    /// Completed requests per second.
    Rps,
}

/// A validated rule (stored with a shard's evidence, so a merge can judge it again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub when: String,
    /// Index of the request it watches; `None` for all requests.
    pub request: Option<usize>,
    pub metric: RuleMetric,
    pub op: Op,
    pub threshold: f64,
    pub for_: Duration,
    pub window: Duration,
    pub min_samples: u64,
    pub no_data: NoData,
    pub clear_for: Duration,
    pub observe_only: bool,
}

/// A rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    Ok,
    /// Breaching, but not yet for long enough.
    Pending,
    Firing,
}

/// What one window showed a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowReading {
    Breach,
    Clear,
    NoData,
}

/// One row of a rule's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleWindow {
    /// Window start, seconds from the start of the load.
    pub start_s: f64,
    pub samples: u64,
    /// The measured value (ms for latency, % for error rate, /s for rps); absent without data.
    pub observed: Option<f64>,
    pub reading: WindowReading,
    pub state: RuleState,
}

/// The figures of one window for one scope, as a rule needs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowFigures {
    pub requests: u64,
    pub errors: u64,
    /// Latency quantile values and mean are read through this closure's results.
    pub mean_us: Option<f64>,
    pub secs: f64,
}

/// What a rule's run-time state must keep across a restart (the monitor stores it): the
/// state and how long the current breach or clear streak has lasted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleMemory {
    pub state: RuleState,
    pub breach_secs: f64,
    pub clear_secs: f64,
}

/// A rule's run-time state (kept by the load supervisor or the monitor, never on the rule
/// itself).
#[derive(Debug, Clone)]
pub struct RuleRun {
    pub state: RuleState,
    breach_secs: f64,
    clear_secs: f64,
    pub fired_at_s: Option<f64>,
    pub timeline: Vec<RuleWindow>,
}

impl Default for RuleRun {
    fn default() -> Self {
        RuleRun {
            state: RuleState::Ok,
            breach_secs: 0.0,
            clear_secs: 0.0,
            fired_at_s: None,
            timeline: Vec::new(),
        }
    }
}

impl Rule {
    /// The value this rule measures in a window, in the unit of its threshold, given the
    /// window's counts and a quantile reader (microseconds); `None` without enough data.
    pub fn measure(
        &self,
        f: &WindowFigures,
        quantile_us: impl Fn(f64) -> Option<u64>,
    ) -> Option<f64> {
        if f.requests < self.min_samples.max(1) {
            return None;
        }
        match self.metric {
            RuleMetric::ErrorRate => Some(f.errors as f64 / f.requests as f64),
            RuleMetric::Rps => (f.secs > 0.0).then(|| f.requests as f64 / f.secs),
            RuleMetric::Mean => f.mean_us,
            RuleMetric::Quantile(q) => quantile_us(q).map(|v| v as f64),
        }
    }

    /// The observed value in the unit people read (ms, %, /s).
    pub fn display_value(&self, v: f64) -> f64 {
        let shown = match self.metric {
            RuleMetric::Quantile(_) | RuleMetric::Mean => v / 1e3,
            RuleMetric::ErrorRate => v * 100.0,
            RuleMetric::Rps => v,
        };
        (shown * 1000.0).round() / 1000.0
    }
}

impl RuleRun {
    /// A run resumed from stored memory, with an empty timeline.
    pub fn resume(m: RuleMemory) -> RuleRun {
        RuleRun {
            state: m.state,
            breach_secs: m.breach_secs,
            clear_secs: m.clear_secs,
            ..RuleRun::default()
        }
    }

    /// What a restart needs to continue where this run is.
    pub fn memory(&self) -> RuleMemory {
        RuleMemory {
            state: self.state,
            breach_secs: self.breach_secs,
            clear_secs: self.clear_secs,
        }
    }

    /// Keeps the newest `n` timeline rows: a run that never ends (the monitor) stays
    /// bounded in memory.
    pub fn keep_last(&mut self, n: usize) {
        if self.timeline.len() > n {
            self.timeline.drain(..self.timeline.len() - n);
        }
    }

    /// Feeds one window (`secs` long, starting at `start_s`) with its measured value.
    /// Returns true when the rule has just started firing.
    pub fn observe(
        &mut self,
        rule: &Rule,
        start_s: f64,
        secs: f64,
        samples: u64,
        measured: Option<f64>,
    ) -> bool {
        let reading = match measured {
            Some(v) if rule.op.holds(v.total_cmp(&rule.threshold)) => WindowReading::Breach,
            Some(_) => WindowReading::Clear,
            None => WindowReading::NoData,
        };
        let effective = match (reading, rule.no_data) {
            (WindowReading::NoData, NoData::Breach) => WindowReading::Breach,
            (WindowReading::NoData, NoData::Clear) => WindowReading::Clear,
            (r, _) => r,
        };
        let before = self.state;
        match effective {
            WindowReading::Breach => {
                self.breach_secs += secs;
                self.clear_secs = 0.0;
            }
            WindowReading::Clear => {
                self.clear_secs += secs;
                self.breach_secs = 0.0;
            }
            WindowReading::NoData => {}
        }
        let eps = 1e-9;
        self.state = match self.state {
            RuleState::Firing if self.clear_secs + eps >= rule.clear_for.as_secs_f64() => {
                RuleState::Ok
            }
            RuleState::Firing => RuleState::Firing,
            _ if self.breach_secs > 0.0 && self.breach_secs + eps >= rule.for_.as_secs_f64() => {
                RuleState::Firing
            }
            _ if self.breach_secs > 0.0 => RuleState::Pending,
            _ => RuleState::Ok,
        };
        let fired = self.state == RuleState::Firing && before != RuleState::Firing;
        if fired && self.fired_at_s.is_none() {
            self.fired_at_s = Some(start_s + secs);
        }
        self.timeline.push(RuleWindow {
            start_s: (start_s * 1000.0).round() / 1000.0,
            samples,
            observed: measured.map(|v| rule.display_value(v)),
            reading,
            state: self.state,
        });
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_s: u64, no_data: NoData) -> Rule {
        Rule {
            name: "errors".into(),
            when: "error_rate > 5%".into(),
            request: None,
            metric: RuleMetric::ErrorRate,
            op: Op::Gt,
            threshold: 0.05,
            for_: Duration::from_secs(for_s),
            window: Duration::from_secs(10),
            min_samples: 20,
            no_data,
            clear_for: Duration::from_secs(20),
            observe_only: false,
        }
    }

    fn feed(r: &Rule, windows: &[(u64, u64)]) -> (RuleRun, Vec<RuleState>) {
        let mut run = RuleRun::default();
        let mut states = Vec::new();
        for (i, (requests, errors)) in windows.iter().enumerate() {
            let f = WindowFigures {
                requests: *requests,
                errors: *errors,
                mean_us: None,
                secs: 10.0,
            };
            let measured = r.measure(&f, |_| None);
            run.observe(r, i as f64 * 10.0, 10.0, *requests, measured);
            states.push(run.state);
        }
        (run, states)
    }

    #[test]
    fn fires_only_after_breaching_for_the_whole_duration() {
        use RuleState::*;
        let r = rule(30, NoData::Ignore);
        let (run, states) = feed(&r, &[(100, 1), (100, 30), (100, 30), (100, 30), (100, 30)]);
        assert_eq!(states, [Ok, Pending, Pending, Firing, Firing]);
        assert_eq!(run.fired_at_s, Some(40.0));
        assert_eq!(run.timeline[1].observed, Some(30.0));
        assert_eq!(run.timeline[1].reading, WindowReading::Breach);
    }

    #[test]
    fn one_good_window_resets_the_streak_and_clearing_needs_its_own_duration() {
        use RuleState::*;
        let r = rule(20, NoData::Ignore);
        let (_, states) = feed(
            &r,
            &[
                (100, 30),
                (100, 0),
                (100, 30),
                (100, 30),
                (100, 0),
                (100, 30),
                (100, 0),
                (100, 0),
            ],
        );
        assert_eq!(
            states,
            [Pending, Ok, Pending, Firing, Firing, Firing, Firing, Ok]
        );
    }

    #[test]
    fn windows_without_enough_data_follow_the_rule_s_choice() {
        use RuleState::*;
        let thin = [(100, 30), (5, 5), (100, 30)];
        assert_eq!(
            feed(&rule(30, NoData::Ignore), &thin).1,
            [Pending, Pending, Pending]
        );
        assert_eq!(
            feed(&rule(30, NoData::Breach), &thin).1,
            [Pending, Pending, Firing]
        );
        assert_eq!(
            feed(&rule(30, NoData::Clear), &thin).1,
            [Pending, Ok, Pending]
        );
        let (run, _) = feed(&rule(30, NoData::Ignore), &thin);
        assert_eq!(run.timeline[1].reading, WindowReading::NoData);
        assert_eq!(run.timeline[1].observed, None);
    }

    #[test]
    fn a_resumed_run_continues_its_streak_and_a_trimmed_timeline_keeps_the_newest() {
        use RuleState::*;
        let r = rule(30, NoData::Ignore);
        let (mut run, _) = feed(&r, &[(100, 30), (100, 30)]);
        assert_eq!(run.state, Pending);
        let mut resumed = RuleRun::resume(run.memory());
        assert!(resumed.timeline.is_empty());
        // The third breached window completes `for: 30s` across the restart.
        assert!(resumed.observe(&r, 20.0, 10.0, 100, Some(0.3)));
        assert_eq!(resumed.state, Firing);
        run.keep_last(1);
        assert_eq!(run.timeline.len(), 1);
        assert_eq!(run.timeline[0].start_s, 10.0);
    }

    #[test]
    fn latency_rules_read_the_window_quantile() {
        let mut r = rule(10, NoData::Ignore);
        r.metric = RuleMetric::Quantile(0.95);
        r.threshold = 500_000.0;
        let f = WindowFigures {
            requests: 100,
            errors: 0,
            mean_us: None,
            secs: 10.0,
        };
        assert_eq!(
            r.measure(&f, |q| (q == 0.95).then_some(612_000)),
            Some(612_000.0)
        );
        let mut run = RuleRun::default();
        assert!(run.observe(&r, 0.0, 10.0, 100, Some(612_000.0)));
        assert_eq!(run.timeline[0].observed, Some(612.0));
    }
}
