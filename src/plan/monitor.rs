//! The `monitor:` section planned against the checklist's items: which items tick how
//! often, the alert rules (the load's rule engine, [`super::scenario::rule`]), the
//! objectives and their burn-rate alerts, receivers and maintenance windows.

use super::{defaults, Ctx, ItemBody, PhasePlan};
use crate::check::Check;
use crate::rules::slo::{BurnAlert, Objective, Sli};
use crate::rules::Rule;
use crate::spec::{self, MonitorSpec, NoData};
use crate::template::Template;
use crate::units::{Duration, Percent};
use std::collections::{BTreeMap, HashMap};

/// How `golive monitor` runs a checklist.
#[derive(Debug, Clone)]
pub struct MonitorPlan {
    pub items: Vec<MonitoredItem>,
    pub rules: Vec<AlertRule>,
    pub objectives: Vec<ObjectiveAlerts>,
    pub alertmanager: Option<Receiver>,
    pub webhook: Option<Receiver>,
    pub maintenance: Vec<Maintenance>,
    pub retention: Duration,
    pub resend: Duration,
    /// Each interval spread by up to this share either way.
    pub jitter: f64,
}

/// An item the monitor runs on its own interval.
#[derive(Debug, Clone)]
pub struct MonitoredItem {
    pub id: String,
    pub title: String,
    pub check: Check,
    /// Samples per tick.
    pub samples: u32,
    pub every: Duration,
    /// The item's criteria, judged by the gate's judge over the last ticks.
    pub criteria: Vec<crate::criteria::Criterion>,
}

/// An alert rule over one item's ticks.
#[derive(Debug, Clone)]
pub struct AlertRule {
    pub rule: Rule,
    pub item: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// An objective with the labels its alerts carry.
#[derive(Debug, Clone)]
pub struct ObjectiveAlerts {
    pub objective: Objective,
    pub labels: BTreeMap<String, String>,
}

/// Where notifications go.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub url: Template,
    pub headers: Vec<(String, Template)>,
}

/// A period when notifications are held back.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    pub from: chrono::DateTime<chrono::Utc>,
    pub to: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
}

impl MonitorPlan {
    /// Nothing to monitor (a plan made from a load scenario alone).
    pub fn nothing() -> MonitorPlan {
        MonitorPlan {
            items: Vec::new(),
            rules: Vec::new(),
            objectives: Vec::new(),
            alertmanager: None,
            webhook: None,
            maintenance: Vec::new(),
            retention: defaults::MONITOR_RETENTION,
            resend: defaults::MONITOR_RESEND,
            jitter: defaults::MONITOR_JITTER,
        }
    }

    /// The longest window any rule of `item` reads, for how many ticks to keep.
    pub fn longest_rule_window(&self) -> Duration {
        self.rules
            .iter()
            .map(|r| r.rule.window)
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The longest alert window of any objective: the fine (per-minute) span of ledgers.
    pub fn longest_alert_window(&self) -> Duration {
        self.objectives
            .iter()
            .flat_map(|o| o.objective.alerts.iter().map(|a| a.long))
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// Plans the monitor's view of a checklist whose phases are planned already.
pub(super) fn build(
    ctx: &mut Ctx,
    spec: Option<&MonitorSpec>,
    items: &[(&spec::Item, String)],
    phases: &[PhasePlan],
) -> MonitorPlan {
    let empty = MonitorSpec::default();
    let m = spec.unwrap_or(&empty);
    let default_every = m.every.unwrap_or(defaults::MONITOR_EVERY);
    let samples = m.samples.unwrap_or(defaults::MONITOR_SAMPLES);
    if samples == 0 {
        ctx.diags
            .error("monitor.samples", "a tick takes at least 1 sample");
    }
    let jitter = m
        .jitter
        .map(Percent::fraction)
        .unwrap_or(defaults::MONITOR_JITTER);
    if jitter >= 0.5 {
        ctx.diags.error_hint(
            "monitor.jitter",
            format!(
                "a jitter of {} lets two ticks run back to back",
                Percent::from_fraction(jitter)
            ),
            "keep it below 50% (10% is usual)",
        );
    }

    // Items: every automated check, each with its interval.
    let mut monitored = Vec::new();
    for item in phases.iter().flat_map(|p| &p.items) {
        let found = items.iter().find(|(i, _)| i.id == item.id);
        let spec_item = found.map(|(i, _)| *i);
        let every = spec_item.and_then(|i| i.every);
        let at = match (every, found) {
            (Some(_), Some((_, p))) => format!("{p}.every"),
            _ => "monitor.every".to_string(),
        };
        // Written (on the item or as `monitor.every`): checked against the timeout.
        // Not written: 30s, or the check's timeout where that is longer.
        let written = every.or(m.every);
        match &item.body {
            ItemBody::Check(c) => {
                let timeout = c.check.timeout();
                let every = written.unwrap_or(default_every.max(timeout));
                if every < timeout {
                    ctx.diags.error_hint(
                        &at,
                        format!(
                            "`every: {every}` is shorter than `{}`'s timeout ({timeout}): a tick could still be waiting when the next one is due",
                            item.id
                        ),
                        format!("make `every` at least {timeout}, or lower the check's `timeout`"),
                    );
                }
                monitored.push(MonitoredItem {
                    id: item.id.clone(),
                    title: item.title.clone(),
                    check: c.check.clone(),
                    samples,
                    every,
                    criteria: c.criteria.clone(),
                });
            }
            _ if every.is_some() => {
                ctx.diags.error_hint(
                    &at,
                    format!(
                        "`{}` is not a check: the monitor runs check items only",
                        item.id
                    ),
                    "remove `every` here",
                );
            }
            _ => {}
        }
    }
    let every_of: HashMap<&str, Duration> =
        monitored.iter().map(|i| (i.id.as_str(), i.every)).collect();
    let ids: Vec<String> = monitored.iter().map(|i| i.id.clone()).collect();

    let mut names: HashMap<String, String> = HashMap::new();
    let mut unique = |ctx: &mut Ctx, at: &str, name: &str| {
        if !super::services::valid_id(name) {
            ctx.diags.error(
                at,
                format!("`{name}` is not a valid name; use letters, digits, `-` and `_`"),
            );
        }
        if let Some(first) = names.insert(name.to_string(), at.to_string()) {
            ctx.diags.error(
                at,
                format!("`{name}` is also the name of {first}: alert names are their ids and must be unique"),
            );
        }
    };

    // Rules.
    let mut rules = Vec::new();
    for (i, r) in m.rules.iter().enumerate() {
        let at = format!("monitor.rules[{i}]");
        unique(ctx, &format!("{at}.name"), &r.name);
        let Some(every) = known_item(ctx, &format!("{at}.item"), &r.item, &ids, &every_of) else {
            continue;
        };
        let as_rule = spec::RuleSpec {
            name: Some(r.name.clone()),
            when: r.when.clone(),
            for_: r.for_,
            window: Some(r.window.unwrap_or(defaults::MONITOR_RULE_WINDOW)),
            min_samples: Some(r.min_samples.unwrap_or(defaults::MONITOR_RULE_MIN_SAMPLES)),
            no_data: Some(r.no_data.unwrap_or(NoData::Breach)),
            clear_for: r.clear_for,
            observe_only: None,
        };
        let Some(rule) = super::scenario::rule(ctx, &at, &as_rule, &[]) else {
            continue;
        };
        // The fewest samples a window surely holds: its whole ticks at the longest
        // jittered interval, times the samples per tick.
        let ticks = (rule.window.as_secs_f64() / (every.as_secs_f64() * (1.0 + jitter))).floor();
        let surely = (ticks as u64) * u64::from(samples);
        if rule.window >= every && surely < rule.min_samples {
            ctx.diags.error_hint(
                &format!("{at}.window"),
                format!(
                    "a {} window of `{}` (every {every}, {samples} samples a tick) may hold only {surely} samples, fewer than `min_samples: {}`: every window would be no data",
                    rule.window, r.item, rule.min_samples
                ),
                "lengthen the window, tick more often or take more samples (`monitor.samples`), or lower `min_samples`",
            );
        }
        if rule.window < every {
            ctx.diags.error_hint(
                &format!("{at}.window"),
                format!(
                    "`window: {}` is shorter than `{}`'s interval ({every}): most windows would hold no tick",
                    rule.window, r.item
                ),
                format!("make the window at least {every} (a few ticks is better)"),
            );
        }
        if matches!(rule.metric, crate::rules::RuleMetric::Rps) {
            ctx.diags.error(
                &format!("{at}.when"),
                "a monitor's ticks run at the rate it sets: watch error_rate, pNN or mean",
            );
        }
        rules.push(AlertRule {
            rule,
            item: r.item.clone(),
            labels: r.labels.clone(),
            annotations: r.annotations.clone(),
        });
    }

    // Retention first: objectives must fit in it.
    let retention = m.retention.unwrap_or(defaults::MONITOR_RETENTION);
    if retention < defaults::MONITOR_MIN_RETENTION {
        ctx.diags.error(
            "monitor.retention",
            format!(
                "a retention under {} cannot back the status page's last hour",
                defaults::MONITOR_MIN_RETENTION
            ),
        );
    }

    // Objectives.
    let mut objectives = Vec::new();
    for (i, o) in m.objectives.iter().enumerate() {
        let at = format!("monitor.objectives[{i}]");
        unique(ctx, &format!("{at}.name"), &o.name);
        let item_every = known_item(ctx, &format!("{at}.item"), &o.item, &ids, &every_of);
        let item_ok = item_every.is_some();
        let min_samples = o.min_samples.unwrap_or(defaults::OBJECTIVE_MIN_SAMPLES);
        let Some((sli, target, window)) = parse_objective(&o.objective) else {
            ctx.diags.error_hint(
                &format!("{at}.objective"),
                format!("cannot read `{}` as an objective", o.objective),
                "write `availability > 99.5% over 30d` or `99% of samples < 300ms over 7d`",
            );
            continue;
        };
        if !(0.0..1.0).contains(&target) || target <= 0.0 {
            ctx.diags.error(
                &format!("{at}.objective"),
                "the target must be above 0% and below 100%: 100% leaves no error budget",
            );
            continue;
        }
        if window > retention {
            ctx.diags.error_hint(
                &format!("{at}.objective"),
                format!("the objective's window ({window}) is longer than `monitor.retention` ({retention})"),
                format!("set `monitor.retention: {window}` or more"),
            );
        }
        let alerts: Vec<BurnAlert> = match &o.alerts {
            None => BurnAlert::defaults(),
            Some(list) => list
                .iter()
                .map(|a| BurnAlert {
                    long: a.long,
                    short: a.short,
                    factor: a.factor,
                    severity: a.severity.clone().unwrap_or_else(|| "page".into()),
                })
                .collect(),
        };
        for (j, a) in alerts.iter().enumerate() {
            let ap = if o.alerts.is_some() {
                format!("{at}.alerts[{j}]")
            } else {
                format!("{at}.objective")
            };
            if a.long > window {
                ctx.diags.error_hint(
                    &ap,
                    format!(
                        "the objective's window ({window}) is shorter than its alert's long window ({})",
                        a.long
                    ),
                    "lengthen the objective's window or give `alerts:` with shorter windows",
                );
            }
            if a.short >= a.long || a.short == Duration::ZERO {
                ctx.diags.error(
                    &format!("{ap}.short"),
                    format!(
                        "the short window ({}) must be above 0 and shorter than the long one ({})",
                        a.short, a.long
                    ),
                );
            }
            if let Some(every) = item_every {
                let ticks =
                    (a.short.as_secs_f64() / (every.as_secs_f64() * (1.0 + jitter))).floor();
                let surely = (ticks as u64) * u64::from(samples);
                if surely < min_samples {
                    ctx.diags.error_hint(
                        &ap,
                        format!(
                            "the {} short window of `{}` (every {every}, {samples} samples a tick) may hold only {surely} samples, fewer than `min_samples: {min_samples}`: the alert could never fire",
                            a.short, o.item
                        ),
                        "tick more often or take more samples (`monitor.samples`), lengthen the short window, or lower `min_samples`",
                    );
                }
            }
            if !(a.factor.is_finite() && a.factor > 0.0) {
                ctx.diags.error(
                    &format!("{ap}.factor"),
                    "the factor is a burn rate above 0, e.g. 14.4",
                );
            }
        }
        if item_ok {
            objectives.push(ObjectiveAlerts {
                objective: Objective {
                    name: o.name.clone(),
                    item: o.item.clone(),
                    text: o.objective.trim().to_string(),
                    sli,
                    target,
                    window,
                    alerts,
                    min_samples,
                },
                labels: o.labels.clone(),
            });
        }
    }

    let alertmanager = m
        .alertmanager
        .as_ref()
        .and_then(|r| receiver(ctx, "monitor.alertmanager", r));
    let webhook = m
        .webhook
        .as_ref()
        .and_then(|r| receiver(ctx, "monitor.webhook", r));
    let maintenance = m
        .maintenance
        .iter()
        .enumerate()
        .filter_map(|(i, w)| maintenance(ctx, &format!("monitor.maintenance[{i}]"), w))
        .collect();
    let resend = m.resend.unwrap_or(defaults::MONITOR_RESEND);
    if resend < Duration::from_secs(1) {
        ctx.diags
            .error("monitor.resend", "resend at most once a second");
    }
    MonitorPlan {
        items: monitored,
        rules,
        objectives,
        alertmanager,
        webhook,
        maintenance,
        retention,
        resend,
        jitter,
    }
}

/// The interval of the monitored item `id`, or a located error naming the ones there are.
fn known_item(
    ctx: &mut Ctx,
    at: &str,
    id: &str,
    ids: &[String],
    every_of: &HashMap<&str, Duration>,
) -> Option<Duration> {
    if let Some(every) = every_of.get(id) {
        return Some(*every);
    }
    let near = ids
        .iter()
        .max_by(|a, b| strsim::jaro_winkler(a, id).total_cmp(&strsim::jaro_winkler(b, id)))
        .filter(|best| strsim::jaro_winkler(best, id) > 0.8);
    let hint = match near {
        Some(best) => format!("did you mean `{best}`?"),
        None if ids.is_empty() => "the checklist has no check items to monitor".into(),
        None => format!("the monitored items are: {}", ids.join(", ")),
    };
    ctx.diags.error_hint(
        at,
        format!("`{id}` is not a check item of this checklist"),
        hint,
    );
    None
}

/// `availability > 99.5% over 30d` or `99% of samples < 300ms over 7d`.
pub fn parse_objective(text: &str) -> Option<(Sli, f64, Duration)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["availability", op, target, "over", window] if matches!(*op, ">" | ">=") => {
            let target: Percent = target.parse().ok()?;
            Some((Sli::Availability, target.fraction(), window.parse().ok()?))
        }
        [target, "of", "samples", op, threshold, "over", window] if matches!(*op, "<" | "<=") => {
            let target: Percent = target.parse().ok()?;
            let threshold: Duration = threshold.parse().ok()?;
            let mut threshold_us = threshold.as_micros();
            if *op == "<=" {
                threshold_us += 1;
            }
            Some((
                Sli::LatencyBelow { threshold_us },
                target.fraction(),
                window.parse().ok()?,
            ))
        }
        _ => None,
    }
}

fn receiver(ctx: &mut Ctx, at: &str, r: &spec::ReceiverSpec) -> Option<Receiver> {
    let url = ctx.template(&format!("{at}.url"), &r.url, false)?;
    let mut headers = Vec::new();
    for (name, value) in &r.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            ctx.diags.error(
                &format!("{at}.headers.{name}"),
                format!("`{name}` is not a valid HTTP header name"),
            );
            continue;
        }
        headers.push((
            name.clone(),
            ctx.template(&format!("{at}.headers.{name}"), value, false)?,
        ));
    }
    Some(Receiver { url, headers })
}

fn maintenance(ctx: &mut Ctx, at: &str, w: &spec::MaintenanceSpec) -> Option<Maintenance> {
    let when = |ctx: &mut Ctx, field: &str, text: &str| {
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| {
                ctx.diags.error_hint(
                    &format!("{at}.{field}"),
                    format!("`{text}` is not an RFC 3339 time: {e}"),
                    "write it like 2026-12-01T02:00:00Z",
                )
            })
            .ok()
    };
    let from = when(ctx, "from", &w.from);
    let to = when(ctx, "to", &w.to);
    let (from, to) = (from?, to?);
    if to <= from {
        ctx.diags
            .error(&format!("{at}.to"), "the window ends before it starts");
        return None;
    }
    Some(Maintenance {
        from,
        to,
        reason: w.reason.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_availability_and_latency_forms() {
        let (sli, t, w) = parse_objective("availability > 99.5% over 30d").unwrap();
        assert_eq!(sli, Sli::Availability);
        assert!((t - 0.995).abs() < 1e-12);
        assert_eq!(w, Duration::from_secs(30 * 86_400));
        let (sli, t, w) = parse_objective("99% of samples < 300ms over 7d").unwrap();
        assert_eq!(
            sli,
            Sli::LatencyBelow {
                threshold_us: 300_000
            }
        );
        assert!((t - 0.99).abs() < 1e-12);
        assert_eq!(w, Duration::from_secs(7 * 86_400));
        assert!(parse_objective("availability < 99%").is_none());
        assert!(parse_objective("uptime > 99% over 1d").is_none());
    }
}
