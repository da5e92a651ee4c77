//! The rollback rules fed window by window: the load supervisor feeds each window as it
//! closes, and `golive merge` feeds the shards' windows added up, so both judge the
//! rules the same way (one ring of base windows, a rule judged every `window / base`
//! windows and at the end, the first firing of a rule that is not observe-only is the
//! rollback).

use super::result::{LoadResult, RollbackEvent, WindowSummary};
use super::window::{WindowSet, WindowStats};
use crate::rules::{Rule, RuleRun, WindowFigures, WindowReading};
use std::collections::VecDeque;
use std::time::Duration;

pub struct RuleBook<'a> {
    rules: &'a [Rule],
    requests: usize,
    base: Duration,
    ring: VecDeque<WindowSet>,
    ring_len: usize,
    pub runs: Vec<RuleRun>,
    pub rollback: Option<RollbackEvent>,
}

/// How many base windows make `w` (at least 1).
pub fn multiple(w: Duration, base: Duration) -> usize {
    ((w.as_secs_f64() / base.as_secs_f64()).round() as usize).max(1)
}

impl<'a> RuleBook<'a> {
    pub fn new(rules: &'a [Rule], requests: usize, base: Duration) -> Self {
        RuleBook {
            rules,
            requests,
            base,
            ring: VecDeque::new(),
            ring_len: rules
                .iter()
                .map(|r| multiple(r.window.as_std(), base))
                .max()
                .unwrap_or(1),
            runs: rules.iter().map(|_| RuleRun::default()).collect(),
            rollback: None,
        }
    }

    /// Feeds base window `index` (from `start_s`, `secs` long, seconds from the start of
    /// the load); rules are judged on it unless `judge` is false (warm-up, an empty
    /// window). `last`: the load's final window, where every rule is judged whatever its
    /// multiple. `at_s`: when the window closed.
    #[allow(clippy::too_many_arguments)]
    pub fn feed(
        &mut self,
        index: u64,
        set: WindowSet,
        start_s: f64,
        secs: f64,
        judge: bool,
        last: bool,
        at_s: f64,
    ) {
        self.ring.push_back(set);
        if self.ring.len() > self.ring_len {
            self.ring.pop_front();
        }
        if !judge {
            return;
        }
        for (rule, run) in self.rules.iter().zip(self.runs.iter_mut()) {
            let m = multiple(rule.window.as_std(), self.base);
            if !(index + 1).is_multiple_of(m as u64) && !last {
                continue;
            }
            let mut agg = WindowSet::new(self.requests);
            for w in self.ring.iter().rev().take(m) {
                agg.merge(w);
            }
            let scope = agg.scope(rule.request);
            let figures = WindowFigures {
                requests: scope.requests,
                errors: scope.errors,
                mean_us: (!scope.latency.is_empty()).then(|| scope.latency.mean()),
                secs: secs + self.base.as_secs_f64() * (m.min(self.ring.len()) as f64 - 1.0),
            };
            let measured = rule.measure(&figures, |q| {
                (!scope.latency.is_empty()).then(|| scope.latency.value_at_quantile(q))
            });
            let w_start = (start_s + secs - figures.secs).max(0.0);
            let fired = run.observe(rule, w_start, figures.secs, scope.requests, measured);
            if fired && !rule.observe_only && self.rollback.is_none() {
                self.rollback = Some(RollbackEvent {
                    rule: rule.name.clone(),
                    at_s: (at_s * 1000.0).round() / 1000.0,
                    why: format!(
                        "`{}` held for {} (window {}, {} consecutive windows)",
                        rule.when,
                        rule.for_,
                        rule.window,
                        run.timeline
                            .iter()
                            .rev()
                            .take_while(|w| w.reading == WindowReading::Breach)
                            .count()
                    ),
                });
            }
        }
    }
}

/// A window's figures as stored with a shard's evidence: overall, then per request.
fn window_set(w: &WindowSummary, requests: usize) -> Result<WindowSet, String> {
    let stats = |i: usize| -> Result<WindowStats, String> {
        let Some(s) = w.scopes.get(i) else {
            return Err(format!(
                "the window at {} s has {} scopes where {} were expected",
                w.start_s,
                w.scopes.len(),
                requests + 1
            ));
        };
        let latency = match &s.latency_histogram {
            Some(t) => crate::tally::decode_histogram(t)
                .map_err(|e| format!("the window at {} s: {e}", w.start_s))?,
            None => crate::tally::new_histogram(),
        };
        Ok(WindowStats {
            requests: s.requests,
            errors: s.errors,
            latency,
        })
    };
    Ok(WindowSet {
        overall: stats(0)?,
        per_request: (1..=requests).map(stats).collect::<Result<_, _>>()?,
    })
}

/// Judges the rules of merged shard evidence on its merged windows: each rule's timeline
/// and state, and the rollback, are replaced by what the whole load showed. The windows
/// line up because every shard started its schedule at the same instant.
pub fn judge_merged(load: &mut LoadResult) -> Result<(), String> {
    let rules: Vec<Rule> = load.rules.iter().filter_map(|r| r.rule.clone()).collect();
    if rules.len() != load.rules.len() {
        return Err("a rule is stored without its definition (rules[].rule)".into());
    }
    let base = rules
        .iter()
        .map(|r| r.window)
        .min()
        .unwrap_or(crate::units::Duration::from_secs(10))
        .as_std();
    let requests = load.by_request.len();
    let mut book = RuleBook::new(&rules, requests, base);
    let n = load.timeline.len();
    for (k, w) in load.timeline.iter().enumerate() {
        let set = window_set(w, requests)?;
        let judge = !w.warm_up && w.secs > 0.0;
        book.feed(
            k as u64,
            set,
            w.start_s,
            w.secs,
            judge,
            k + 1 == n,
            w.start_s + w.secs,
        );
    }
    let RuleBook { runs, rollback, .. } = book;
    for (r, run) in load.rules.iter_mut().zip(runs) {
        r.final_state = run.state;
        r.fired_at_s = run.fired_at_s;
        r.timeline = run.timeline;
    }
    load.rollback = rollback;
    Ok(())
}
