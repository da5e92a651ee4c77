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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Op;
    use crate::load::result::WindowScope;
    use crate::load::shard::ShardRecord;
    use crate::record::ItemEvidence;
    use crate::rules::{RuleMetric, RuleState};
    use crate::spec::NoData;
    use crate::units::Duration as D;

    /// A shard's load of 5 one-second windows of `rps` requests each (2 ms apiece), with
    /// the rule `rps > 150/s for 2s` stored but not judged.
    fn shard(index: u32, rps: u64) -> LoadResult {
        let mut l = LoadResult::of_outcomes(&[("a", vec![Ok(()); 5 * rps as usize])], 5.0);
        let mut h = crate::tally::new_histogram();
        for _ in 0..rps {
            h.record(2_000).unwrap();
        }
        let scope = WindowScope {
            requests: rps,
            errors: 0,
            latency_histogram: crate::tally::encode_histogram(&h),
        };
        l.timeline = (0..5)
            .map(|k| WindowSummary {
                start_s: k as f64,
                secs: 1.0,
                requests: rps,
                errors: 0,
                rps: rps as f64,
                p50_ms: Some(2.0),
                p95_ms: Some(2.0),
                p99_ms: Some(2.0),
                warm_up: false,
                scopes: vec![scope.clone(), scope.clone()],
            })
            .collect();
        let rule = Rule {
            name: "hot".into(),
            when: "rps > 150/s".into(),
            request: None,
            metric: RuleMetric::Rps,
            op: Op::Gt,
            threshold: 150.0,
            for_: D::from_secs(2),
            window: D::from_secs(1),
            min_samples: 1,
            no_data: NoData::Ignore,
            clear_for: D::from_secs(1),
            observe_only: false,
        };
        l.rules = vec![crate::load::result::RuleResult {
            name: rule.name.clone(),
            when: rule.when.clone(),
            for_s: 2.0,
            window_s: 1.0,
            observe_only: false,
            final_state: RuleState::Ok,
            fired_at_s: None,
            timeline: Vec::new(),
            rule: Some(rule),
        }];
        l.shard = Some(ShardRecord {
            index,
            count: 2,
            start_at: "2026-11-30T14:00:00.000Z".into(),
        });
        l
    }

    #[test]
    fn a_rule_no_shard_breaks_alone_fires_on_the_merged_windows() {
        // Each shard sends 100/s: alone, `rps > 150/s` never holds.
        let mut alone = shard(0, 100);
        judge_merged(&mut alone).unwrap();
        assert!(alone.rollback.is_none());
        assert_eq!(alone.rules[0].final_state, RuleState::Ok);

        let mut merged = ItemEvidence {
            load: Some(shard(0, 100)),
            ..ItemEvidence::default()
        };
        merged
            .merge(&ItemEvidence {
                load: Some(shard(1, 100)),
                ..ItemEvidence::default()
            })
            .unwrap();
        let load = merged.load.as_mut().unwrap();
        assert_eq!(load.timeline[0].scopes[0].requests, 200);
        judge_merged(load).unwrap();
        let rb = load.rollback.as_ref().expect("the rule fired on the sum");
        assert_eq!(rb.rule, "hot");
        // Breached from the first window: firing once `for: 2s` had passed.
        assert_eq!(rb.at_s, 2.0);
        assert_eq!(load.rules[0].final_state, RuleState::Firing);
        assert_eq!(load.rules[0].timeline.len(), 5);
        assert_eq!(load.rules[0].timeline[0].observed, Some(200.0));
    }

    #[test]
    fn a_stored_rule_without_its_definition_is_refused() {
        let mut l = shard(0, 100);
        l.rules[0].rule = None;
        assert!(judge_merged(&mut l).unwrap_err().contains("rules[].rule"));
    }
}
