//! Service level objectives with error budgets, and the multi-window, multi-burn-rate
//! alerts of the SRE workbook: an objective of 99.5% over 30 days allows 0.5% of its
//! events to be bad (the budget); the burn rate of a window is its bad share divided by
//! that budget (1 spends the budget exactly over the objective's window, 14.4 spends 2% of
//! a 30-day budget in one hour). An alert fires while both its long and its short window
//! burn faster than its factor: the long window proves the burn is significant, the short
//! one that it is still going on, so the alert also clears soon after the burn stops.
//!
//! Counts live in fixed slots (minutes for the alert windows, hours for the objective's),
//! so memory is bounded by the windows' lengths, never by uptime.

use crate::units::Duration;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Good and total events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub good: u64,
    pub total: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.good += o.good;
        self.total += o.total;
    }

    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }

    /// The good share; `None` without events.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.good as f64 / self.total as f64)
    }
}

/// Counts in consecutive slots of `slot_s` seconds, the newest that cover `span_s`.
#[derive(Debug, Clone)]
pub struct Slots {
    slot_s: u64,
    cap: usize,
    /// (slot index = unix seconds / slot_s, counts), oldest first.
    ring: VecDeque<(u64, Counts)>,
}

impl Slots {
    pub fn new(slot_s: u64, span_s: u64) -> Slots {
        let slot_s = slot_s.max(1);
        Slots {
            slot_s,
            cap: span_s.div_ceil(slot_s) as usize + 1,
            ring: VecDeque::new(),
        }
    }

    /// Adds events seen at `at_s` (unix seconds). Events older than the span are dropped.
    pub fn add(&mut self, at_s: u64, c: Counts) {
        let idx = at_s / self.slot_s;
        match self.ring.iter_mut().rev().find(|(i, _)| *i == idx) {
            Some((_, counts)) => counts.add(c),
            None => {
                let pos = self.ring.partition_point(|(i, _)| *i < idx);
                self.ring.insert(pos, (idx, c));
            }
        }
        let newest = self.ring.back().map(|(i, _)| *i).unwrap_or(idx);
        while let Some((i, _)) = self.ring.front() {
            if newest - i >= self.cap as u64 {
                self.ring.pop_front();
            } else {
                break;
            }
        }
    }

    /// The events of the last `window_s` seconds before `now_s`, in whole slots: from the
    /// slot holding `now_s - window_s` to the current, partial one. It covers at least
    /// the window and at most one slot more, so a short window never reads fewer events
    /// than it spans.
    pub fn sum(&self, now_s: u64, window_s: u64) -> Counts {
        let first = now_s.saturating_sub(window_s) / self.slot_s;
        let last = now_s / self.slot_s;
        let mut total = Counts::default();
        for (i, c) in &self.ring {
            if *i >= first && *i <= last {
                total.add(*c);
            }
        }
        total
    }

    /// Every slot, for storage: (slot start in unix seconds, counts).
    pub fn slots(&self) -> impl Iterator<Item = (u64, Counts)> + '_ {
        self.ring.iter().map(|(i, c)| (i * self.slot_s, *c))
    }

    pub fn slot_s(&self) -> u64 {
        self.slot_s
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// An objective's (or an item's) events at two resolutions: minutes for windows up to
/// `fine_span_s`, hours beyond.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub minutes: Slots,
    pub hours: Slots,
}

impl Ledger {
    pub fn new(fine_span_s: u64, coarse_span_s: u64) -> Ledger {
        Ledger {
            minutes: Slots::new(60, fine_span_s),
            hours: Slots::new(3600, coarse_span_s.max(3600)),
        }
    }

    pub fn add(&mut self, at_s: u64, c: Counts) {
        self.minutes.add(at_s, c);
        self.hours.add(at_s, c);
    }

    /// The events of the last `window_s` seconds, from minutes when they cover it.
    pub fn window(&self, now_s: u64, window_s: u64) -> Counts {
        if window_s <= (self.minutes.cap as u64 - 1) * 60 {
            self.minutes.sum(now_s, window_s)
        } else {
            self.hours.sum(now_s, window_s)
        }
    }
}

/// What an objective counts as a good event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sli {
    /// A sample that met its expectations.
    Availability,
    /// A sample that met its expectations within this latency, µs.
    LatencyBelow { threshold_us: u64 },
}

impl Sli {
    /// Whether one sample is good.
    pub fn good(&self, ok: bool, latency_us: u64) -> bool {
        match self {
            Sli::Availability => ok,
            Sli::LatencyBelow { threshold_us } => ok && latency_us < *threshold_us,
        }
    }
}

/// One multi-window burn-rate alert of an objective.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnAlert {
    pub long: Duration,
    pub short: Duration,
    /// Burn rate both windows must exceed.
    pub factor: f64,
    /// The `severity` label the alert carries.
    pub severity: String,
}

impl BurnAlert {
    /// The SRE workbook's pairs for a 30-day objective: 2% of the budget in 1 h (14.4×,
    /// checked against 5 min) and 5% in 6 h (6×, against 30 min), both paging.
    pub fn defaults() -> Vec<BurnAlert> {
        vec![
            BurnAlert {
                long: Duration::from_secs(3600),
                short: Duration::from_secs(300),
                factor: 14.4,
                severity: "page".into(),
            },
            BurnAlert {
                long: Duration::from_secs(6 * 3600),
                short: Duration::from_secs(1800),
                factor: 6.0,
                severity: "page".into(),
            },
        ]
    }

    /// A stable name: `1h/5m`.
    pub fn windows(&self) -> String {
        format!("{}/{}", self.long, self.short)
    }
}

/// A validated objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub name: String,
    /// The item whose samples it counts.
    pub item: String,
    /// As written, e.g. `availability > 99.5% over 30d`.
    pub text: String,
    pub sli: Sli,
    /// The good share aimed at, e.g. 0.995.
    pub target: f64,
    pub window: Duration,
    pub alerts: Vec<BurnAlert>,
    /// Fewest events the short window of an alert needs before it may fire.
    pub min_samples: u64,
}

/// An alert's reading at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnReading {
    pub long: Counts,
    pub short: Counts,
    /// Burn rates; `None` without events.
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    /// Both windows burn faster than the factor, on enough events.
    pub burning: bool,
    /// Too few events in the short window to decide.
    pub no_data: bool,
}

impl Objective {
    /// The share of events allowed to be bad.
    pub fn budget(&self) -> f64 {
        1.0 - self.target
    }

    /// How fast `c` spends the budget: 1.0 spends it exactly over the objective's window.
    pub fn burn_rate(&self, c: Counts) -> Option<f64> {
        let budget = self.budget();
        (c.total > 0 && budget > 0.0).then(|| c.bad() as f64 / c.total as f64 / budget)
    }

    /// The share of the budget left over the objective's window: 1 untouched, 0 spent,
    /// below 0 overspent; `None` without events.
    pub fn budget_left(&self, ledger: &Ledger, now_s: u64) -> Option<f64> {
        let c = ledger.window(now_s, self.window.as_secs());
        let budget = self.budget();
        (c.total > 0 && budget > 0.0).then(|| 1.0 - c.bad() as f64 / (budget * c.total as f64))
    }

    /// Reads one alert's two windows.
    pub fn read(&self, alert: &BurnAlert, ledger: &Ledger, now_s: u64) -> BurnReading {
        let long = ledger.window(now_s, alert.long.as_secs());
        let short = ledger.window(now_s, alert.short.as_secs());
        let long_rate = self.burn_rate(long);
        let short_rate = self.burn_rate(short);
        let no_data = short.total < self.min_samples.max(1);
        let burning = !no_data
            && matches!((long_rate, short_rate), (Some(l), Some(s)) if l > alert.factor && s > alert.factor);
        BurnReading {
            long,
            short,
            long_rate,
            short_rate,
            burning,
            no_data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(target: f64, window_days: u64) -> Objective {
        Objective {
            name: "api".into(),
            item: "health".into(),
            text: String::new(),
            sli: Sli::Availability,
            target,
            window: Duration::from_secs(window_days * 86_400),
            alerts: BurnAlert::defaults(),
            min_samples: 10,
        }
    }

    fn ledger() -> Ledger {
        Ledger::new(6 * 3600, 30 * 86_400)
    }

    const T0: u64 = 1_800_000_000; // a whole hour: 1_800_000_000 / 3600 = 500_000

    /// One sample a second for `secs` seconds from `from`, `bad_every`-th one bad.
    fn feed(l: &mut Ledger, from: u64, secs: u64, bad_every: u64) {
        for s in 0..secs {
            let bad = bad_every > 0 && s % bad_every == 0;
            l.add(
                from + s,
                Counts {
                    good: u64::from(!bad),
                    total: 1,
                },
            );
        }
    }

    #[test]
    fn the_budget_of_99_5_percent_is_half_a_percent_and_burn_is_the_bad_share_over_it() {
        let o = objective(0.995, 30);
        assert!((o.budget() - 0.005).abs() < 1e-12);
        // 10 bad in 1,000: 1% bad, twice the 0.5% budget.
        let rate = o
            .burn_rate(Counts {
                good: 990,
                total: 1000,
            })
            .unwrap();
        assert!((rate - 2.0).abs() < 1e-9, "{rate}");
        assert_eq!(o.burn_rate(Counts::default()), None);
    }

    #[test]
    fn a_fast_burn_fires_the_1h_5m_pair_and_not_before_the_long_window_agrees() {
        let o = objective(0.999, 30);
        let alert = &o.alerts[0]; // 1h/5m at 14.4x: over 1.44% bad in both windows.
        let mut l = ledger();
        // 55 minutes healthy, then 5 minutes with every other sample bad (50%).
        feed(&mut l, T0, 55 * 60, 0);
        feed(&mut l, T0 + 55 * 60, 5 * 60, 2);
        let now = T0 + 60 * 60 - 1;
        let r = o.read(alert, &l, now);
        // Short window (5m) at 59:59: minutes 54..59, the healthy minute 54 (60 samples)
        // and the 300 samples of 55..59, 150 bad: 150/360 = 41.67% / 0.1% = 416.7x.
        assert_eq!(
            r.short,
            Counts {
                good: 210,
                total: 360
            }
        );
        assert!((r.short_rate.unwrap() - 416.666_666_666).abs() < 1e-6);
        // Long window (1h): 150 bad of 3,600 = 4.1667% / 0.1% = 41.67x.
        assert_eq!(r.long.total, 3600);
        assert!((r.long_rate.unwrap() - 41.666_666_666).abs() < 1e-6);
        assert!(r.burning);
        // The same burn with only 1 bad minute in an hour: long = 30/3600 = 0.833% bad,
        // 8.33x < 14.4: the long window vetoes the page.
        let mut l = ledger();
        feed(&mut l, T0, 59 * 60, 0);
        feed(&mut l, T0 + 59 * 60, 60, 2);
        let r = o.read(alert, &l, T0 + 60 * 60 - 1);
        assert!((r.long_rate.unwrap() - 8.333_333_333).abs() < 1e-6);
        assert!(r.short_rate.unwrap() > 14.4);
        assert!(!r.burning);
    }

    #[test]
    fn a_burn_that_stopped_clears_on_the_short_window_while_the_long_still_burns() {
        let o = objective(0.999, 30);
        let alert = &o.alerts[0];
        let mut l = ledger();
        feed(&mut l, T0, 30 * 60, 2); // 30 minutes at 50% bad
        feed(&mut l, T0 + 30 * 60, 10 * 60, 0); // then 10 healthy minutes
        let r = o.read(alert, &l, T0 + 40 * 60 - 1);
        assert!(r.long_rate.unwrap() > 14.4);
        assert_eq!(r.short_rate, Some(0.0));
        assert!(!r.burning);
    }

    #[test]
    fn too_few_events_in_the_short_window_are_no_data_never_a_page() {
        let mut o = objective(0.999, 30);
        o.min_samples = 10;
        let mut l = ledger();
        // 5 samples, all bad: burn rate 1000x on 5 events.
        feed(&mut l, T0, 5, 1);
        let r = o.read(&o.alerts[0], &l, T0 + 5);
        assert!(r.no_data);
        assert!(!r.burning);
        assert!((r.short_rate.unwrap() - 1000.0).abs() < 1e-6);
        // Nothing at all: no rate, no data.
        let r = o.read(&o.alerts[0], &ledger(), T0);
        assert_eq!(r.long_rate, None);
        assert!(r.no_data && !r.burning);
    }

    #[test]
    fn the_budget_left_over_30_days_counts_hours_beyond_the_fine_span() {
        let o = objective(0.995, 30);
        let mut l = ledger();
        // Day 1: 86,400 samples, 1 in 400 bad = 216 bad (0.25%: half the budget spent).
        feed(&mut l, T0, 86_400, 400);
        let now = T0 + 86_400 - 1;
        let left = o.budget_left(&l, now).unwrap();
        assert!((left - 0.5).abs() < 1e-9, "{left}");
        // 29 days later the first hours fall out of the 30-day window.
        let later = T0 + 30 * 86_400 + 3600;
        let c = l.window(later, o.window.as_secs());
        assert!(c.total < 86_400, "{c:?}");
    }

    #[test]
    fn slots_stay_bounded_by_their_span_whatever_the_uptime() {
        let mut s = Slots::new(60, 3600);
        for t in 0..(10 * 86_400u64) {
            s.add(T0 + t, Counts { good: 1, total: 1 });
        }
        assert_eq!(s.len(), 61);
        // An hour read at a minute's last second: the 60 minutes and the one it began in.
        assert_eq!(s.sum(T0 + 10 * 86_400 - 1, 3600).total, 3660);
    }

    #[test]
    fn a_latency_objective_counts_slow_and_failed_samples_as_bad() {
        let sli = Sli::LatencyBelow {
            threshold_us: 300_000,
        };
        assert!(sli.good(true, 299_999));
        assert!(!sli.good(true, 300_000));
        assert!(!sli.good(false, 10));
        assert!(Sli::Availability.good(true, 10_000_000));
    }
}
