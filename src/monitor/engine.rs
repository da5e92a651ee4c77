//! What the monitor knows, and how a step changes it: ticks come in, alert rules judge
//! each finished window (the load's rule engine), objectives read their burn rates, and
//! every transition opens or closes an incident and queues its notifications, in the
//! same transaction as the ticks that caused it. Memory is bounded: ticks are kept for
//! the longest rule window, counts in fixed slots, timelines trimmed.

use super::store::{Incident, Store, StoreError, StoredTick, Tx};
use crate::evidence::Confidence;
use crate::plan::{AlertRule, MonitorPlan, ObjectiveAlerts};
use crate::rules::slo::{Counts, Ledger, Sli};
use crate::rules::{RuleMemory, RuleMetric, RuleRun, RuleState, WindowFigures};
use crate::tally::{Failure, FailureClass, Observations};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// A finished window is judged this long after its end, so a tick that completed just
/// before the boundary has arrived.
const GRACE_MS: i64 = 100;
/// Timeline rows a rule keeps.
const TIMELINE: usize = 60;

/// One tick of an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// When it completed, ms since the epoch.
    pub at_ms: i64,
    pub n: u32,
    pub errors: u32,
    /// Latencies of its successful samples, µs.
    pub latencies_us: Vec<u64>,
    /// The first failure's reason.
    pub reason: Option<String>,
    /// The first failure's class.
    pub class: Option<FailureClass>,
}

const CLASSES: [FailureClass; 8] = [
    FailureClass::Connect,
    FailureClass::Timeout,
    FailureClass::Tls,
    FailureClass::Status4xx,
    FailureClass::Status5xx,
    FailureClass::Expectation,
    FailureClass::Protocol,
    FailureClass::Setup,
];

fn class_named(name: Option<&str>) -> Option<FailureClass> {
    CLASSES.into_iter().find(|c| Some(c.as_str()) == name)
}

/// How long a firing burn-rate alert must stay below its factor to resolve.
const BURN_CLEAR_MS: i64 = 60_000;

/// How far back an item's criteria and latency are judged (the ticks kept in memory, at
/// least): short enough that a monitor's memory is flat from its second minute on.
const CRITERIA_SPAN_MS: i64 = 2 * 60_000;

/// A change the step made, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub alert: String,
    pub firing: bool,
    pub evidence: String,
}

struct ItemState {
    title: String,
    kind: &'static str,
    target: String,
    every_ms: i64,
    ticks: VecDeque<Tick>,
    keep_ms: i64,
    ledger: Ledger,
    criteria: Vec<crate::criteria::Criterion>,
}

struct RuleSlot {
    def: AlertRule,
    id: String,
    run: RuleRun,
    next_end_ms: i64,
    last: Option<(Option<f64>, u64)>,
    incident: Option<i64>,
}

struct BurnSlot {
    id: String,
    /// Since when the alert has not been burning while it fires: it resolves after
    /// [`BURN_CLEAR_MS`] of that, so a burn hovering at its factor does not flap.
    clear_since_ms: Option<i64>,
    windows: String,
    factor: f64,
    severity: String,
    reading: Option<crate::rules::slo::BurnReading>,
    incident: Option<i64>,
}

struct ObjectiveSlot {
    def: ObjectiveAlerts,
    ledger: Ledger,
    alerts: Vec<BurnSlot>,
}

/// The monitor's live state.
pub struct Engine {
    system: String,
    plan: MonitorPlan,
    receivers: Vec<&'static str>,
    items: BTreeMap<String, ItemState>,
    rules: Vec<RuleSlot>,
    objectives: Vec<ObjectiveSlot>,
    started_ms: i64,
    redactor: crate::redact::Redactor,
    /// Whether the last step was inside a maintenance window.
    quiet: bool,
    /// The items' criteria as last judged, and when (judging is not free: every 10 s).
    criteria: BTreeMap<String, Vec<CriterionStatus>>,
    criteria_at_ms: i64,
}

/// The end of the first window that starts at least one interval (`every_ms`) after
/// `now_ms`, windows aligned on the clock.
fn first_end(now_ms: i64, w: i64, every_ms: i64) -> i64 {
    let start = (now_ms + every_ms).div_euclid(w) * w + w;
    start + w
}

fn rule_definition(r: &AlertRule) -> String {
    let x = &r.rule;
    format!(
        "{}|{}|{}|{}|{}|{}|{:?}",
        r.item, x.when, x.window, x.for_, x.clear_for, x.min_samples, x.no_data
    )
}

fn item_ledger(id: &str) -> String {
    format!("item:{id}")
}

fn objective_ledger(name: &str) -> String {
    format!("objective:{name}")
}

impl Engine {
    /// The state for `plan`, resumed from `store`: ticks, counts, rule memories and open
    /// incidents. A rule whose definition changed starts afresh (its open incident is
    /// resolved); windows missed while the monitor was down are skipped, not judged.
    pub fn resume(
        system: &str,
        plan: &MonitorPlan,
        targets: &BTreeMap<String, String>,
        redactor: &crate::redact::Redactor,
        store: &mut Store,
        now_ms: i64,
    ) -> Result<(Engine, Vec<Transition>), StoreError> {
        let shown = |text: &str| -> String {
            crate::redact::structural(&redactor.redact(text)).into_owned()
        };
        let mut receivers = Vec::new();
        if plan.alertmanager.is_some() {
            receivers.push("alertmanager");
        }
        if plan.webhook.is_some() {
            receivers.push("webhook");
        }
        let retention_s = plan.retention.as_secs();
        let mut items = BTreeMap::new();
        for i in &plan.items {
            let longest = plan
                .rules
                .iter()
                .filter(|r| r.item == i.id)
                .map(|r| r.rule.window.as_std().as_millis() as i64)
                .max()
                .unwrap_or(0);
            let every_ms = i.every.as_std().as_millis() as i64;
            let mut ledger = Ledger::new(3600, retention_s.min(7 * 86_400));
            restore(&mut ledger, store, &item_ledger(&i.id))?;
            items.insert(
                i.id.clone(),
                ItemState {
                    title: i.title.clone(),
                    kind: i.check.kind(),
                    target: shown(targets.get(&i.id).map(String::as_str).unwrap_or_default()),
                    every_ms,
                    ticks: VecDeque::new(),
                    // Two windows and a tick: the window being filled and the one judged;
                    // at least the span the criteria are judged over.
                    keep_ms: (2 * longest + every_ms).max(CRITERIA_SPAN_MS),
                    ledger,
                    criteria: i.criteria.clone(),
                },
            );
        }
        let horizon = items.values().map(|i| i.keep_ms).max().unwrap_or(0);
        for t in store.ticks_since(now_ms - horizon)? {
            if let Some(item) = items.get_mut(&t.item) {
                item.ticks.push_back(Tick {
                    at_ms: t.at_ms,
                    n: t.n,
                    errors: t.errors,
                    latencies_us: t.latencies_us,
                    class: class_named(t.class.as_deref()),
                    reason: t.reason,
                });
            }
        }
        let mut transitions = Vec::new();
        let mut rules = Vec::new();
        for r in &plan.rules {
            let id = format!("rule:{}", r.rule.name);
            let definition = rule_definition(r);
            let w = r.rule.window.as_std().as_millis().max(1) as i64;
            let every = items.get(&r.item).map(|i| i.every_ms).unwrap_or(0);
            // Only windows this monitor watched whole are judged: the first begins once
            // the item has had an interval to tick. A window the monitor was down for
            // (partly or wholly) is skipped, never judged on what little it holds; the
            // rule's streaks and state carry over.
            let next_end_ms = first_end(now_ms, w, every);
            let run = match store.rule(&id)? {
                Some((def, memory, _)) if def == definition => {
                    match serde_json::from_str::<RuleMemory>(&memory) {
                        Ok(m) => RuleRun::resume(m),
                        Err(_) => RuleRun::default(),
                    }
                }
                _ => RuleRun::default(),
            };
            let incident = store.open_incident(&id)?.map(|i| i.id);
            rules.push(RuleSlot {
                def: r.clone(),
                id,
                run,
                next_end_ms,
                last: None,
                incident,
            });
        }
        let mut objectives = Vec::new();
        for o in &plan.objectives {
            let fine = o
                .objective
                .alerts
                .iter()
                .map(|a| a.long.as_secs())
                .max()
                .unwrap_or(3600)
                .max(3600);
            let mut ledger = Ledger::new(fine, o.objective.window.as_secs());
            restore(&mut ledger, store, &objective_ledger(&o.objective.name))?;
            let mut alerts = Vec::new();
            for a in &o.objective.alerts {
                let id = format!("objective:{}:{}", o.objective.name, a.windows());
                let incident = store.open_incident(&id)?.map(|i| i.id);
                alerts.push(BurnSlot {
                    id,
                    clear_since_ms: None,
                    windows: a.windows(),
                    factor: a.factor,
                    severity: a.severity.clone(),
                    reading: None,
                    incident,
                });
            }
            objectives.push(ObjectiveSlot {
                def: o.clone(),
                ledger,
                alerts,
            });
        }
        let mut engine = Engine {
            system: system.to_string(),
            plan: plan.clone(),
            receivers,
            items,
            rules,
            objectives,
            started_ms: now_ms,
            redactor: redactor.clone(),
            quiet: false,
            criteria: BTreeMap::new(),
            criteria_at_ms: i64::MIN,
        };
        engine.quiet = engine.in_maintenance(now_ms);
        // Incidents of alerts that no longer exist, or whose rule changed and restarted
        // from OK, are resolved now: nothing will ever resolve them otherwise.
        let (open, _) = store.incidents(0)?;
        let known: Vec<(String, bool)> = engine
            .rules
            .iter()
            .map(|r| (r.id.clone(), r.run.state == RuleState::Firing))
            .chain(
                engine
                    .objectives
                    .iter()
                    .flat_map(|o| o.alerts.iter().map(|a| (a.id.clone(), true))),
            )
            .collect();
        let stale: Vec<Incident> = open
            .into_iter()
            .filter(|i| !known.iter().any(|(id, firing)| *id == i.alert && *firing))
            .collect();
        if !stale.is_empty() {
            let suppressed = engine.in_maintenance(now_ms);
            let receivers = engine.receivers.clone();
            store.transaction(|tx| {
                for i in &stale {
                    let why = "its rule was removed or changed";
                    tx.close_incident(i.id, now_ms, &with_resolution(&i.annotations, why))?;
                    for r in &receivers {
                        tx.enqueue(r, i.id, "resolved", now_ms, suppressed)?;
                    }
                }
                Ok(())
            })?;
            for r in &mut engine.rules {
                if stale.iter().any(|i| i.alert == r.id) {
                    r.incident = None;
                }
            }
            for i in stale {
                transitions.push(Transition {
                    alert: i.alert,
                    firing: false,
                    evidence: "resolved at start: its rule was removed or changed".into(),
                });
            }
        }
        Ok((engine, transitions))
    }

    pub fn in_maintenance(&self, now_ms: i64) -> bool {
        self.maintenance_at(now_ms).is_some()
    }

    /// The maintenance window in force at `now_ms`.
    pub fn maintenance_at(&self, now_ms: i64) -> Option<&crate::plan::Maintenance> {
        self.plan
            .maintenance
            .iter()
            .find(|m| m.from.timestamp_millis() <= now_ms && now_ms < m.to.timestamp_millis())
    }

    /// One step: records `ticks`, judges every window that has ended and every
    /// objective, and writes it all in one transaction. The ticks are borrowed, so a
    /// caller whose step failed can feed the same ones again.
    pub fn step(
        &mut self,
        store: &mut Store,
        ticks: &[(String, Tick)],
        now_ms: i64,
    ) -> Result<Vec<Transition>, StoreError> {
        let suppressed = self.in_maintenance(now_ms);
        let maintenance_ended = self.quiet && !suppressed;
        self.quiet = suppressed;
        let receivers = self.receivers.clone();
        let system = self.system.clone();
        let open: Vec<i64> = self.firing_incidents();
        let redactor = self.redactor.clone();
        let Engine {
            items,
            rules,
            objectives,
            ..
        } = self;
        store.transaction(|tx| {
            // A maintenance window ended: what fired during it and still fires is sent now.
            if maintenance_ended {
                for id in &open {
                    for rc in &receivers {
                        if !tx.sent(*id, rc, "firing")? {
                            tx.enqueue(rc, *id, "firing", now_ms, false)?;
                        }
                    }
                }
            }
            for (id, tick) in ticks {
                let Some(item) = items.get_mut(id) else {
                    continue;
                };
                let mut tick = tick.clone();
                tick.reason = tick
                    .reason
                    .map(|r| crate::redact::structural(&redactor.redact(&r)).into_owned());
                tx.tick(&StoredTick {
                    item: id.clone(),
                    at_ms: tick.at_ms,
                    n: tick.n,
                    errors: tick.errors,
                    latencies_us: tick.latencies_us.clone(),
                    reason: tick.reason.clone(),
                    class: tick.class.map(|c| c.as_str().to_string()),
                })?;
                let at_s = (tick.at_ms / 1000).max(0) as u64;
                let c = Counts {
                    good: u64::from(tick.n - tick.errors.min(tick.n)),
                    total: u64::from(tick.n),
                };
                add_counts(tx, &mut item.ledger, &item_ledger(id), at_s, c)?;
                for o in objectives
                    .iter_mut()
                    .filter(|o| o.def.objective.item == *id)
                {
                    let good = match o.def.objective.sli {
                        Sli::Availability => c.good,
                        sli @ Sli::LatencyBelow { .. } => {
                            tick.latencies_us
                                .iter()
                                .filter(|l| sli.good(true, **l))
                                .count() as u64
                        }
                    };
                    let oc = Counts {
                        good,
                        total: c.total,
                    };
                    let key = objective_ledger(&o.def.objective.name);
                    add_counts(tx, &mut o.ledger, &key, at_s, oc)?;
                }
                item.ticks.push_back(tick);
                while item
                    .ticks
                    .front()
                    .is_some_and(|t| t.at_ms < now_ms - item.keep_ms)
                {
                    item.ticks.pop_front();
                }
            }
            let mut transitions = Vec::new();
            for r in rules.iter_mut() {
                let w = r.def.rule.window.as_std().as_millis().max(1) as i64;
                let every = items.get(&r.def.item).map(|i| i.every_ms).unwrap_or(0);
                // The clock jumped (a suspended machine, a step back): the windows it
                // skipped were not watched; judging starts again from now.
                if now_ms >= r.next_end_ms + w + GRACE_MS || r.next_end_ms - now_ms > 2 * w + every
                {
                    r.next_end_ms = first_end(now_ms, w, every);
                }
                let mut judged = false;
                while now_ms >= r.next_end_ms + GRACE_MS {
                    let end = r.next_end_ms;
                    let item = items.get(&r.def.item);
                    let (figures, mut latencies) = window_of(item, end - w, end);
                    latencies.sort_unstable();
                    let measured = r
                        .def
                        .rule
                        .measure(&figures, |q| nearest_rank(&latencies, q));
                    let fired = r.run.observe(
                        &r.def.rule,
                        (end - w) as f64 / 1e3,
                        w as f64 / 1e3,
                        figures.requests,
                        measured,
                    );
                    r.last = Some((measured, figures.requests));
                    r.next_end_ms = end + w;
                    judged = true;
                    let evidence = rule_evidence(r, measured, figures.requests, end);
                    if fired && r.incident.is_none() {
                        let (labels, annotations) = rule_alert(&system, r, &evidence);
                        let id = tx.open_incident(&r.id, end, &labels, &annotations)?;
                        for rc in &receivers {
                            tx.enqueue(rc, id, "firing", now_ms, suppressed)?;
                        }
                        r.incident = Some(id);
                        transitions.push(Transition {
                            alert: r.id.clone(),
                            firing: true,
                            evidence,
                        });
                    } else if r.run.state != RuleState::Firing {
                        if let Some(id) = r.incident.take() {
                            close(tx, id, end, &evidence, &receivers, now_ms, suppressed)?;
                            transitions.push(Transition {
                                alert: r.id.clone(),
                                firing: false,
                                evidence,
                            });
                        }
                    }
                }
                if judged {
                    r.run.keep_last(TIMELINE);
                    let memory = serde_json::to_string(&r.run.memory()).unwrap_or_default();
                    tx.rule(&r.id, &rule_definition(&r.def), &memory, r.next_end_ms)?;
                }
            }
            let now_s = (now_ms / 1000).max(0) as u64;
            for o in objectives.iter_mut() {
                let obj = &o.def.objective;
                for (a, slot) in obj.alerts.iter().zip(o.alerts.iter_mut()) {
                    let reading = obj.read(a, &o.ledger, now_s);
                    slot.reading = Some(reading);
                    let evidence = burn_evidence(obj, slot, &reading, &o.ledger, now_s);
                    if reading.burning && slot.incident.is_none() {
                        let mut labels = base_labels(&system, &obj.name, &obj.item);
                        labels.insert("objective".into(), obj.name.clone());
                        labels.insert("window".into(), slot.windows.clone());
                        labels.insert("severity".into(), slot.severity.clone());
                        labels.extend(o.def.labels.clone());
                        let annotations = BTreeMap::from([
                            (
                                "summary".to_string(),
                                format!("{} burns its error budget ({})", obj.name, obj.text),
                            ),
                            ("evidence".to_string(), evidence.clone()),
                        ]);
                        let id = tx.open_incident(
                            &slot.id,
                            now_ms,
                            &json(&labels),
                            &json(&annotations),
                        )?;
                        for rc in &receivers {
                            tx.enqueue(rc, id, "firing", now_ms, suppressed)?;
                        }
                        slot.incident = Some(id);
                        transitions.push(Transition {
                            alert: slot.id.clone(),
                            firing: true,
                            evidence,
                        });
                    } else if reading.burning {
                        slot.clear_since_ms = None;
                    } else if !reading.no_data && slot.incident.is_some() {
                        let since = *slot.clear_since_ms.get_or_insert(now_ms);
                        if now_ms - since >= BURN_CLEAR_MS {
                            slot.clear_since_ms = None;
                            if let Some(id) = slot.incident.take() {
                                close(tx, id, now_ms, &evidence, &receivers, now_ms, suppressed)?;
                                transitions.push(Transition {
                                    alert: slot.id.clone(),
                                    firing: false,
                                    evidence,
                                });
                            }
                        }
                    }
                }
            }
            Ok(transitions)
        })
    }

    /// Ticks older than every item needs, for [`Store::prune`].
    pub fn ticks_horizon_ms(&self, now_ms: i64) -> i64 {
        now_ms - self.items.values().map(|i| i.keep_ms).max().unwrap_or(0)
    }

    /// Minute slots older than this are read by no window, for [`Store::prune`].
    pub fn minutes_horizon_ms(&self, now_ms: i64) -> i64 {
        let longest_alert = self
            .objectives
            .iter()
            .flat_map(|o| o.def.objective.alerts.iter().map(|a| a.long.as_secs()))
            .max()
            .unwrap_or(0)
            .max(3600);
        now_ms - (longest_alert as i64 + 120) * 1000
    }

    pub fn retention_ms(&self) -> i64 {
        self.plan.retention.as_std().as_millis() as i64
    }

    /// Firing alerts with their incidents, for re-sending to Alertmanager.
    pub fn firing_incidents(&self) -> Vec<i64> {
        self.rules
            .iter()
            .filter_map(|r| r.incident)
            .chain(
                self.objectives
                    .iter()
                    .flat_map(|o| o.alerts.iter().filter_map(|a| a.incident)),
            )
            .collect()
    }

    /// What the status page and `/metrics` show.
    pub fn status(&mut self, now_ms: i64, confidence: Confidence) -> Status {
        let now_s = (now_ms / 1000).max(0) as u64;
        let judge_now =
            now_ms.saturating_sub(self.criteria_at_ms) >= 10_000 || now_ms < self.criteria_at_ms;
        if judge_now {
            self.criteria_at_ms = now_ms;
            let judged_all: BTreeMap<String, Vec<CriterionStatus>> = self
                .items
                .iter()
                .map(|(id, i)| {
                    let span: Vec<&Tick> = i
                        .ticks
                        .iter()
                        .filter(|t| t.at_ms >= now_ms - CRITERIA_SPAN_MS)
                        .collect();
                    (id.clone(), judged(&i.criteria, &span, confidence))
                })
                .collect();
            self.criteria = judged_all;
        }
        let items = self
            .items
            .iter()
            .map(|(id, i)| {
                let last = i.ticks.back();
                let state = match last {
                    None => "unknown",
                    // A tick older than three intervals says nothing about now.
                    Some(t) if now_ms - t.at_ms > 3 * i.every_ms + 5_000 => "stale",
                    Some(t) if t.errors > 0 => "down",
                    Some(_) => "up",
                };
                let uptime = [("1h", 3600u64), ("24h", 86_400), ("7d", 7 * 86_400)]
                    .into_iter()
                    .map(|(name, secs)| {
                        let c = i.ledger.window(now_s, secs);
                        uptime(name, c, confidence)
                    })
                    .collect();
                let span: Vec<&Tick> = i
                    .ticks
                    .iter()
                    .filter(|t| t.at_ms >= now_ms - CRITERIA_SPAN_MS)
                    .collect();
                let mut recent: Vec<u64> = span
                    .iter()
                    .flat_map(|t| t.latencies_us.iter().copied())
                    .collect();
                recent.sort_unstable();
                let criteria = self.criteria.get(id).cloned().unwrap_or_default();
                ItemStatus {
                    id: id.clone(),
                    title: i.title.clone(),
                    kind: i.kind.to_string(),
                    target: i.target.clone(),
                    every_s: i.every_ms as f64 / 1e3,
                    state: state.to_string(),
                    last_tick: last.map(|t| rfc3339(t.at_ms)),
                    last_samples: last.map(|t| t.n).unwrap_or(0),
                    last_errors: last.map(|t| t.errors).unwrap_or(0),
                    last_reason: last.and_then(|t| t.reason.clone()),
                    p50_ms: nearest_rank(&recent, 0.5).map(|v| v as f64 / 1e3),
                    p95_ms: nearest_rank(&recent, 0.95).map(|v| v as f64 / 1e3),
                    latency_n: recent.len() as u64,
                    uptime,
                    criteria,
                }
            })
            .collect();
        let rules = self
            .rules
            .iter()
            .map(|r| RuleStatus {
                name: r.def.rule.name.clone(),
                item: r.def.item.clone(),
                when: r.def.rule.when.clone(),
                state: r.run.state,
                observed: r
                    .last
                    .and_then(|(m, _)| m)
                    .map(|v| r.def.rule.display_value(v)),
                unit: unit(r.def.rule.metric).to_string(),
                samples: r.last.map(|(_, n)| n).unwrap_or(0),
                window_s: r.def.rule.window.as_secs_f64(),
            })
            .collect();
        let objectives = self
            .objectives
            .iter()
            .map(|o| {
                let obj = &o.def.objective;
                let total = o.ledger.window(now_s, obj.window.as_secs());
                ObjectiveStatus {
                    name: obj.name.clone(),
                    item: obj.item.clone(),
                    objective: obj.text.clone(),
                    budget_left: obj.budget_left(&o.ledger, now_s),
                    good: total.good,
                    total: total.total,
                    alerts: o
                        .alerts
                        .iter()
                        .map(|a| BurnStatus {
                            windows: a.windows.clone(),
                            factor: a.factor,
                            long_rate: a.reading.and_then(|r| r.long_rate),
                            short_rate: a.reading.and_then(|r| r.short_rate),
                            long_n: a.reading.map(|r| r.long.total).unwrap_or(0),
                            short_n: a.reading.map(|r| r.short.total).unwrap_or(0),
                            firing: a.incident.is_some(),
                        })
                        .collect(),
                }
            })
            .collect();
        Status {
            system: self.system.clone(),
            now: rfc3339(now_ms),
            started: rfc3339(self.started_ms),
            maintenance: self.maintenance_at(now_ms).map(|m| {
                format!(
                    "until {}{}",
                    m.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    m.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )
            }),
            items,
            rules,
            objectives,
        }
    }
}

/// The item's criteria judged by the gate's judge on `ticks`.
fn judged(
    criteria: &[crate::criteria::Criterion],
    ticks: &[&Tick],
    confidence: Confidence,
) -> Vec<CriterionStatus> {
    if criteria.is_empty() {
        return Vec::new();
    }
    let mut obs = Observations::default();
    for t in ticks {
        for us in &t.latencies_us {
            obs.record(Ok(*us));
        }
        for _ in 0..t.errors {
            obs.record(Err(Failure {
                class: t.class.unwrap_or(FailureClass::Expectation),
                reason: t.reason.clone().unwrap_or_else(|| "failed".into()),
                status: None,
            }));
        }
    }
    criteria
        .iter()
        .map(|c| {
            let j = crate::verdict::judge(c, &obs, confidence);
            CriterionStatus {
                claim: j.expected.clone(),
                outcome: j.outcome.as_str().to_string(),
                observed: j.observed.clone(),
                why: j.why.clone(),
            }
        })
        .collect()
}

fn restore(ledger: &mut Ledger, store: &Store, key: &str) -> Result<(), StoreError> {
    for (slot_s, start_s, good, total) in store.slots(key)? {
        let c = Counts { good, total };
        if slot_s == ledger.minutes.slot_s() {
            ledger.minutes.add(start_s, c);
        } else if slot_s == ledger.hours.slot_s() {
            ledger.hours.add(start_s, c);
        }
    }
    Ok(())
}

fn add_counts(
    tx: &Tx,
    ledger: &mut Ledger,
    key: &str,
    at_s: u64,
    c: Counts,
) -> rusqlite::Result<()> {
    ledger.add(at_s, c);
    for slot_s in [ledger.minutes.slot_s(), ledger.hours.slot_s()] {
        tx.slot(key, slot_s, at_s / slot_s * slot_s, c.good, c.total)?;
    }
    Ok(())
}

/// An item's figures over [from, to): counts and the latencies of successful samples.
fn window_of(item: Option<&ItemState>, from: i64, to: i64) -> (WindowFigures, Vec<u64>) {
    let mut f = WindowFigures {
        secs: (to - from) as f64 / 1e3,
        ..Default::default()
    };
    let mut latencies = Vec::new();
    if let Some(item) = item {
        for t in item
            .ticks
            .iter()
            .filter(|t| t.at_ms >= from && t.at_ms < to)
        {
            f.requests += u64::from(t.n);
            f.errors += u64::from(t.errors);
            latencies.extend(t.latencies_us.iter().copied());
        }
    }
    if !latencies.is_empty() {
        f.mean_us = Some(latencies.iter().sum::<u64>() as f64 / latencies.len() as f64);
    }
    (f, latencies)
}

/// The nearest-rank quantile of sorted values.
fn nearest_rank(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn unit(m: RuleMetric) -> &'static str {
    match m {
        RuleMetric::Quantile(_) | RuleMetric::Mean => "ms",
        RuleMetric::ErrorRate => "%",
        RuleMetric::Rps => "/s",
    }
}

fn rule_evidence(r: &RuleSlot, measured: Option<f64>, n: u64, end_ms: i64) -> String {
    let rule = &r.def.rule;
    let seen = match measured {
        Some(v) => format!("{}{}", trim(rule.display_value(v)), unit(rule.metric)),
        None => format!("no data (fewer than {} samples)", rule.min_samples),
    };
    let state = match r.run.state {
        RuleState::Firing => format!("firing: breached for at least {}", rule.for_),
        RuleState::Pending => "pending".to_string(),
        RuleState::Ok => format!("clear for at least {}", rule.clear_for),
    };
    format!(
        "`{}` on {}: {seen} in the {} window ending {} (n={n}); {state}",
        rule.when,
        r.def.item,
        rule.window,
        rfc3339(end_ms)
    )
}

fn burn_evidence(
    obj: &crate::rules::slo::Objective,
    slot: &BurnSlot,
    r: &crate::rules::slo::BurnReading,
    ledger: &Ledger,
    now_s: u64,
) -> String {
    let rate = |v: Option<f64>| {
        v.map(|v| format!("{}x", trim(v)))
            .unwrap_or_else(|| "no data".into())
    };
    let left = obj
        .budget_left(ledger, now_s)
        .map(|l| format!("{}% of the budget left", trim(l * 100.0)))
        .unwrap_or_else(|| "no budget figure yet".into());
    format!(
        "burn rate {} over {} (n={}) and {} over {} (n={}) against {}x; {left} over {} ({})",
        rate(r.long_rate),
        slot.windows.split('/').next().unwrap_or(""),
        r.long.total,
        rate(r.short_rate),
        slot.windows.split('/').nth(1).unwrap_or(""),
        r.short.total,
        trim(slot.factor),
        obj.window,
        obj.text
    )
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn base_labels(system: &str, alert: &str, item: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("alertname".to_string(), alert.to_string()),
        ("system".to_string(), system.to_string()),
        ("item".to_string(), item.to_string()),
    ])
}

fn rule_alert(system: &str, r: &RuleSlot, evidence: &str) -> (String, String) {
    let mut labels = base_labels(system, &r.def.rule.name, &r.def.item);
    labels.extend(r.def.labels.clone());
    let mut annotations = BTreeMap::from([(
        "summary".to_string(),
        format!("{}: {}", r.def.item, r.def.rule.when),
    )]);
    annotations.extend(r.def.annotations.clone());
    annotations.insert("evidence".into(), evidence.to_string());
    (json(&labels), json(&annotations))
}

fn json(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// The incident's annotations with the evidence of its resolution added.
fn with_resolution(annotations: &str, evidence: &str) -> String {
    let mut m: BTreeMap<String, String> = serde_json::from_str(annotations).unwrap_or_default();
    m.insert("resolved_evidence".into(), evidence.to_string());
    json(&m)
}

#[allow(clippy::too_many_arguments)]
fn close(
    tx: &Tx,
    id: i64,
    ended_ms: i64,
    evidence: &str,
    receivers: &[&'static str],
    now_ms: i64,
    suppressed: bool,
) -> rusqlite::Result<()> {
    let annotations = tx.annotations(id)?;
    tx.close_incident(id, ended_ms, &with_resolution(&annotations, evidence))?;
    for rc in receivers {
        // A receiver told of the firing is told of the resolution, maintenance or not;
        // one never told of it (it fired and ended inside maintenance) is not.
        let told = tx.sent(id, rc, "firing")?;
        tx.enqueue(rc, id, "resolved", now_ms, suppressed && !told)?;
    }
    Ok(())
}

/// A time as the page, the evidence lines and `/api/status` show it.
pub(super) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn uptime(window: &str, c: Counts, confidence: Confidence) -> Uptime {
    let bad = c.bad();
    let (low, high) = if c.total > 0 {
        (
            Some(1.0 - crate::evidence::upper_bound(bad, c.total, confidence)),
            Some(1.0 - crate::evidence::lower_bound(bad, c.total, confidence)),
        )
    } else {
        (None, None)
    };
    Uptime {
        window: window.to_string(),
        good: c.good,
        total: c.total,
        ratio: c.ratio(),
        low,
        high,
    }
}

/// Everything the status page and `/api/status` show.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub system: String,
    pub now: String,
    pub started: String,
    pub maintenance: Option<String>,
    pub items: Vec<ItemStatus>,
    pub rules: Vec<RuleStatus>,
    pub objectives: Vec<ObjectiveStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub target: String,
    pub every_s: f64,
    /// up, down (its last tick failed), stale (no tick for three intervals) or unknown.
    pub state: String,
    pub last_tick: Option<String>,
    pub last_samples: u32,
    pub last_errors: u32,
    pub last_reason: Option<String>,
    /// Latency of the last 2 minutes' successful samples.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub latency_n: u64,
    pub uptime: Vec<Uptime>,
    /// The item's criteria over the last 2 minutes, judged as the gate judges them.
    pub criteria: Vec<CriterionStatus>,
}

/// One criterion of an item, judged on the monitor's recent samples.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionStatus {
    pub claim: String,
    /// PASS, FAIL or INCONCLUSIVE.
    pub outcome: String,
    pub observed: String,
    /// What the samples support, in words.
    pub why: String,
}

/// Uptime over a window, with the bounds the samples support.
#[derive(Debug, Clone, Serialize)]
pub struct Uptime {
    pub window: String,
    pub good: u64,
    pub total: u64,
    pub ratio: Option<f64>,
    /// One-sided bounds at the checklist's confidence.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleStatus {
    pub name: String,
    pub item: String,
    pub when: String,
    pub state: RuleState,
    /// The last judged window's value, in `unit`.
    pub observed: Option<f64>,
    pub unit: String,
    pub samples: u64,
    pub window_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveStatus {
    pub name: String,
    pub item: String,
    pub objective: String,
    pub budget_left: Option<f64>,
    pub good: u64,
    pub total: u64,
    pub alerts: Vec<BurnStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurnStatus {
    pub windows: String,
    pub factor: f64,
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    pub long_n: u64,
    pub short_n: u64,
    pub firing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Redactor;

    /// A plan from checklist text (its one item is never sampled here: ticks are fed in).
    fn plan(monitor: &str) -> crate::plan::Plan {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(
            &file,
            format!(
                "system: S\nphases:\n  - id: p\n    title: P\n    items:\n      - {{ id: api, title: API, check: {{ kind: tcp, address: \"127.0.0.1:9\", timeout: 1s }}, every: 1s }}\n{monitor}"
            ),
        )
        .unwrap();
        crate::plan::plan_file(&file).unwrap_or_else(|d| panic!("{d:?}"))
    }

    const RULE: &str = "monitor:\n  samples: 2\n  rules: [{ name: down, item: api, when: error_rate > 50%, window: 2s, for: 4s, clear_for: 4s, min_samples: 2 }]\n  webhook: { url: \"http://127.0.0.1:9/hook\" }\n";

    /// T0 on a window boundary.
    const T0: i64 = 1_800_000_000_000;

    fn failing(at_ms: i64) -> (String, Tick) {
        (
            "api".into(),
            Tick {
                at_ms,
                n: 2,
                errors: 2,
                latencies_us: vec![],
                reason: Some("connection refused".into()),
                class: Some(FailureClass::Connect),
            },
        )
    }

    /// Feeds one failing tick a second from `from` to `to` (ms), stepping each second.
    fn run(e: &mut Engine, s: &mut Store, from: i64, to: i64, ticks: bool) -> Vec<Transition> {
        let mut all = Vec::new();
        let mut t = from;
        while t <= to {
            let batch = if ticks { vec![failing(t)] } else { vec![] };
            all.extend(e.step(s, &batch, t + 150).unwrap());
            t += 1000;
        }
        all
    }

    fn firing_rows(s: &Store) -> usize {
        s.due(i64::MAX, 1000)
            .unwrap()
            .iter()
            .filter(|o| o.kind == "firing")
            .count()
    }

    #[test]
    fn a_rule_fires_after_for_and_a_resumed_engine_neither_refires_nor_forgets() {
        let p = plan(RULE);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut s = Store::open(&path).unwrap();
        let targets = BTreeMap::new();
        let (mut e, _) =
            Engine::resume("S", &p.monitor, &targets, &Redactor::default(), &mut s, T0).unwrap();
        // The first window judged is the first whole one after an interval (1 s) has
        // passed: [T0+2s, T0+4s), then [T0+4s, T0+6s).
        let t = run(&mut e, &mut s, T0, T0 + 5_000, true);
        assert!(t.is_empty(), "one breached window is not `for: 4s`: {t:?}");
        let t = run(&mut e, &mut s, T0 + 6_000, T0 + 6_000, true);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(t[0].firing && t[0].alert == "rule:down");
        assert!(
            t[0].evidence.contains("100%") && t[0].evidence.contains("(n=4)"),
            "{}",
            t[0].evidence
        );
        assert_eq!(firing_rows(&s), 1);
        drop(e);
        drop(s);

        // A restart one second later: still firing, no second notification.
        let mut s = Store::open(&path).unwrap();
        let (mut e, t) = Engine::resume(
            "S",
            &p.monitor,
            &targets,
            &Redactor::default(),
            &mut s,
            T0 + 5_000,
        )
        .unwrap();
        assert!(t.is_empty(), "{t:?}");
        assert_eq!(
            e.status(T0 + 5_000, Confidence::default()).rules[0].state,
            RuleState::Firing
        );
        let t = run(&mut e, &mut s, T0 + 5_000, T0 + 9_000, true);
        assert!(t.is_empty(), "{t:?}");
        assert_eq!(firing_rows(&s), 1);
        // The counts went on from the stored ones: 12 ticks of 2 samples.
        let up = &e.status(T0 + 10_000, Confidence::default()).items[0].uptime[0];
        assert_eq!((up.good, up.total), (0, 24));

        // Healthy ticks: resolved after clear_for (two clear windows), once.
        let mut resolved = Vec::new();
        for t in (10..20).map(|k| T0 + k * 1000) {
            let ok = Tick {
                at_ms: t,
                n: 2,
                errors: 0,
                latencies_us: vec![900, 1100],
                reason: None,
                class: None,
            };
            resolved.extend(e.step(&mut s, &[("api".into(), ok)], t + 150).unwrap());
        }
        assert_eq!(resolved.len(), 1, "{resolved:?}");
        assert!(!resolved[0].firing);
        // In order: the resolution waits until the firing was delivered.
        let due = s.due(i64::MAX, 100).unwrap();
        let kinds: Vec<&str> = due.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["firing"]);
        s.delivered(due[0].id, T0 + 20_000).unwrap();
        let due = s.due(i64::MAX, 100).unwrap();
        let kinds: Vec<&str> = due.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["resolved"]);
    }

    #[test]
    fn silence_is_an_outage_by_default_and_ignored_when_the_rule_says_so() {
        let dir = tempfile::tempdir().unwrap();
        // no_data: breach (the monitor's default): no tick at all fires the rule.
        let p = plan(RULE);
        let mut s = Store::open(&dir.path().join("a.db")).unwrap();
        let (mut e, _) = Engine::resume(
            "S",
            &p.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0,
        )
        .unwrap();
        let t = run(&mut e, &mut s, T0, T0 + 6_000, false);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(t[0].evidence.contains("no data"), "{}", t[0].evidence);
        // no_data: ignore: the same silence never fires.
        let p = plan(&RULE.replace("min_samples: 2", "min_samples: 2, no_data: ignore"));
        let mut s = Store::open(&dir.path().join("b.db")).unwrap();
        let (mut e, _) = Engine::resume(
            "S",
            &p.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0,
        )
        .unwrap();
        assert!(run(&mut e, &mut s, T0, T0 + 20_000, false).is_empty());
        assert_eq!(
            e.status(T0 + 20_000, Confidence::default()).rules[0].state,
            RuleState::Ok
        );
    }

    #[test]
    fn a_maintenance_window_records_the_incident_but_sends_nothing() {
        let from = chrono::DateTime::from_timestamp_millis(T0 - 3_600_000).unwrap();
        let to = chrono::DateTime::from_timestamp_millis(T0 + 3_600_000).unwrap();
        let p = plan(&format!(
            "{RULE}  maintenance: [{{ from: \"{}\", to: \"{}\", reason: database upgrade }}]\n",
            from.to_rfc3339(),
            to.to_rfc3339()
        ));
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("m.db")).unwrap();
        let (mut e, _) = Engine::resume(
            "S",
            &p.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0,
        )
        .unwrap();
        let t = run(&mut e, &mut s, T0, T0 + 6_000, true);
        assert_eq!(t.len(), 1);
        assert_eq!(s.incidents(10).unwrap().0.len(), 1, "recorded");
        assert!(s.due(i64::MAX, 10).unwrap().is_empty(), "held back");
        assert!(e
            .status(T0, Confidence::default())
            .maintenance
            .unwrap()
            .contains("database upgrade"));
    }

    #[test]
    fn a_changed_rule_starts_afresh_and_its_open_incident_is_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let p = plan(RULE);
        let mut s = Store::open(&path).unwrap();
        let (mut e, _) = Engine::resume(
            "S",
            &p.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0,
        )
        .unwrap();
        assert_eq!(run(&mut e, &mut s, T0, T0 + 6_000, true).len(), 1);
        drop(e);
        let changed = plan(&RULE.replace("error_rate > 50%", "error_rate > 60%"));
        let (mut e, t) = Engine::resume(
            "S",
            &changed.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0 + 7_000,
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        assert!(!t[0].firing);
        assert_eq!(
            e.status(T0 + 7_000, Confidence::default()).rules[0].state,
            RuleState::Ok
        );
        assert!(s.incidents(10).unwrap().0.is_empty());
    }

    #[test]
    fn after_maintenance_what_still_fires_is_sent_and_a_delivered_firing_gets_its_resolution() {
        // Maintenance from T0+5s to T0+9s; the rule fires at T0+6s (inside it).
        let at = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(T0 + ms)
                .unwrap()
                .to_rfc3339()
        };
        let p = plan(&format!(
            "{RULE}  maintenance: [{{ from: \"{}\", to: \"{}\" }}]\n",
            at(5_000),
            at(9_000)
        ));
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("q.db")).unwrap();
        let (mut e, _) = Engine::resume(
            "S",
            &p.monitor,
            &BTreeMap::new(),
            &Redactor::default(),
            &mut s,
            T0,
        )
        .unwrap();
        assert_eq!(run(&mut e, &mut s, T0, T0 + 6_000, true).len(), 1);
        assert!(
            s.due(i64::MAX, 10).unwrap().is_empty(),
            "held back while in maintenance"
        );
        // Still firing when the window ends: the firing is sent then.
        run(&mut e, &mut s, T0 + 7_000, T0 + 9_000, true);
        let due = s.due(i64::MAX, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].kind, "firing");
        s.delivered(due[0].id, T0 + 9_500).unwrap();
        // It resolves later: the receiver that was told of the firing hears of the end.
        for k in 10..16 {
            let t = T0 + k * 1000;
            let ok = Tick {
                at_ms: t,
                n: 2,
                errors: 0,
                latencies_us: vec![1000, 1000],
                reason: None,
                class: None,
            };
            e.step(&mut s, &[("api".into(), ok)], t + 150).unwrap();
        }
        let due = s.due(i64::MAX, 10).unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].kind, "resolved");
    }
}
