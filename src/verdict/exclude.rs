//! What load waivers leave out of a load item's judged scope: a whole request ("error rate
//! < 5% excluding the known issue"), or only a request's failed answers with one HTTP
//! status, so that the request's other answers and failures still count. The arithmetic is
//! exact on the stored evidence: counts are subtracted, and a whole request's latency
//! histogram with them. A status exclusion leaves the histograms alone, because they hold
//! successful requests only (`load::record::ScopeStats::record`) and what it removes
//! failed.

use super::waiver::Waiver;
use crate::criteria::Criterion;
use crate::load::result::ScopeResult;
use crate::load::LoadResult;
use crate::record::CorruptHistogram;
use crate::tally::{decode_histogram, Observations};

/// The exclusions in force for one load item, as its waivers state them.
pub(super) struct Exclusions<'a> {
    waivers: Vec<&'a Waiver>,
}

impl<'a> Exclusions<'a> {
    /// The waivers among `in_force` (the item's, in force now) that leave something out.
    pub fn of(in_force: impl Iterator<Item = &'a Waiver>) -> Self {
        let mut waivers: Vec<&Waiver> = in_force.filter(|w| w.exclude_request.is_some()).collect();
        // Whole requests first, so a status of a request already left out is seen as gone.
        waivers.sort_by_key(|w| w.exclude_status.is_some());
        Exclusions { waivers }
    }

    /// Ids of the waivers that left out at least one failed request of `load`: the
    /// excluded request had errors, or answered the excluded status at least once.
    pub fn applied(&self, load: &LoadResult) -> Vec<String> {
        self.waivers
            .iter()
            .filter(|w| {
                scope_of(load, w).is_some_and(|s| match w.exclude_status {
                    Some(status) => failed_with(s, status) > 0,
                    None => s.errors > 0,
                })
            })
            .map(|w| w.id.clone())
            .collect()
    }

    /// Takes what the waivers covering `criterion` leave out of `obs`, the observations of
    /// the scope `request` (all requests when `None`) of `load`. Returns what was left
    /// out, in words, for the criterion's `why`; `None` when nothing applies to this scope.
    pub fn apply(
        &self,
        obs: &mut Observations,
        load: &LoadResult,
        request: Option<&str>,
        criterion: &Criterion,
    ) -> Result<Option<String>, CorruptHistogram> {
        let mut done: Vec<(&str, Option<u16>)> = Vec::new();
        let mut said = Vec::new();
        for w in self.waivers.iter().filter(|w| w.covers(&criterion.text)) {
            let Some(name) = w.exclude_request.as_deref() else {
                continue;
            };
            // A whole request leaves only the all-requests scope: judged alone, it would be
            // empty. A status leaves both that scope and the request's own.
            let relevant = match (request, w.exclude_status) {
                (None, _) => true,
                (Some(r), Some(_)) => r == name,
                (Some(_), None) => false,
            };
            // The same thing is never taken out twice, and a status is already gone with
            // its whole request.
            let already = done
                .iter()
                .any(|&(r, s)| r == name && (s.is_none() || s == w.exclude_status));
            if !relevant || already {
                continue;
            }
            done.push((name, w.exclude_status));
            let Some(scope) = scope_of(load, w) else {
                continue;
            };
            let n = match w.exclude_status {
                Some(status) => {
                    let n = failed_with(scope, status);
                    obs.samples = obs.samples.saturating_sub(n);
                    obs.failures = obs.failures.saturating_sub(n);
                    n
                }
                None => {
                    remove_request(obs, scope)?;
                    scope.requests
                }
            };
            said.push(format!(
                "{} ({} request{}) under waiver `{}`",
                w.excludes().unwrap_or_default(),
                crate::evidence::thousands(n),
                if n == 1 { "" } else { "s" },
                w.id
            ));
        }
        if said.is_empty() {
            return Ok(None);
        }
        let secs = obs.duration.as_secs_f64().max(1e-9);
        obs.rate = Some(obs.samples as f64 / secs);
        if obs.failures == 0 {
            // Every failure was left out, so no reason may be named as an example of one.
            // (Reasons are not kept by status: while other failures remain, a left-out
            // one's reason can still be shown among theirs as an example.)
            obs.reasons.clear();
        }
        Ok(Some(format!("excluding {}", said.join(", "))))
    }
}

fn scope_of<'l>(load: &'l LoadResult, w: &Waiver) -> Option<&'l ScopeResult> {
    load.by_request
        .iter()
        .find(|s| Some(&s.name) == w.exclude_request.as_ref())
}

/// Failed requests of `scope` that answered `status`.
fn failed_with(scope: &ScopeResult, status: u16) -> u64 {
    scope.errors_by_status.get(&status).copied().unwrap_or(0)
}

/// Takes the whole request `scope` out of the all-requests observations `obs`.
fn remove_request(obs: &mut Observations, scope: &ScopeResult) -> Result<(), CorruptHistogram> {
    obs.samples = obs.samples.saturating_sub(scope.requests);
    obs.failures = obs.failures.saturating_sub(scope.errors);
    if let Some(h) = &scope.latency_histogram {
        let h = decode_histogram(h).map_err(|reason| CorruptHistogram {
            field: format!("load.by_request[{}].latency_histogram", scope.name),
            reason,
        })?;
        obs.latency.subtract(&h).map_err(|e| CorruptHistogram {
            field: format!("load.by_request[{}].latency_histogram", scope.name),
            reason: format!("is not part of the overall histogram: {e:?}"),
        })?;
    }
    obs.reasons
        .retain(|(_, r, _)| !scope.error_reasons.iter().any(|(_, x, _)| x == r));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::judge::{judge_item, judge_run, Claim, ItemClaims, ItemKind, Policy};
    use super::super::waiver::{Waiver, WaiverState};
    use crate::criteria::{Criterion, CriterionKind};
    use crate::evidence::{Confidence, Outcome, Tail};
    use crate::load::LoadResult;
    use crate::record::{ItemEvidence, RunEnd};
    use crate::tally::{Failure, FailureClass};

    /// `ok` successes, then `n` failures answering `status` (or timing out) per entry.
    fn outcomes(ok: usize, failures: &[(usize, Option<u16>)]) -> Vec<Result<(), Failure>> {
        let mut v: Vec<Result<(), Failure>> = vec![Ok(()); ok];
        for &(n, status) in failures {
            let f = match status {
                Some(code) => Failure::new(
                    FailureClass::of_status(code),
                    format!("expected status < 400, got {code}"),
                )
                .with_status(code),
                None => Failure::new(FailureClass::Timeout, "no complete response within 2s"),
            };
            v.extend(std::iter::repeat_n(Err(f), n));
        }
        v
    }

    /// 900 good portfolio requests; volume-leaders: 100 good, 80 answering 500, and
    /// `timeouts` timed out.
    fn evidence(timeouts: usize) -> ItemEvidence {
        ItemEvidence {
            load: Some(LoadResult::of_outcomes(
                &[
                    ("portfolio", outcomes(900, &[])),
                    (
                        "volume-leaders",
                        outcomes(100, &[(80, Some(500)), (timeouts, None)]),
                    ),
                ],
                10.0,
            )),
            ..ItemEvidence::default()
        }
    }

    fn error_rate() -> Criterion {
        Criterion {
            text: "error_rate < 5%".into(),
            kind: CriterionKind::FailureRate {
                limit: 0.05,
                written_as_success: false,
            },
            baseline: None,
        }
    }

    fn p95() -> Criterion {
        Criterion {
            text: "p95 < 100ms".into(),
            kind: CriterionKind::Quantile {
                q: 0.95,
                threshold: crate::units::Duration::from_std(std::time::Duration::from_millis(100)),
                tail: Tail::Below,
            },
            baseline: None,
        }
    }

    /// The load item: error rate and p95 over all requests, error rate of volume-leaders.
    fn item() -> ItemClaims {
        let on = |request: Option<&str>, criterion| Claim::Samples {
            request: request.map(String::from),
            criterion,
        };
        ItemClaims {
            id: "dashboard".into(),
            severity: crate::spec::Severity::Blocker,
            kind: ItemKind::Load,
            claims: vec![
                on(None, error_rate()),
                on(None, p95()),
                on(Some("volume-leaders"), error_rate()),
            ],
        }
    }

    fn waiver(id: &str, status: Option<u16>) -> Waiver {
        Waiver {
            id: id.into(),
            item: "dashboard".into(),
            criterion: None,
            exclude_request: Some("volume-leaders".into()),
            exclude_status: status,
            reason: "volume leaders answers 500".into(),
            owner: "Ada".into(),
            link: None,
            expires: "2099-12-31".parse().unwrap(),
        }
    }

    fn policy(waivers: Vec<Waiver>) -> Policy {
        Policy {
            confidence: Confidence::DEFAULT,
            now: "2026-11-30T00:00:00Z".parse().unwrap(),
            waivers,
        }
    }

    /// (outcome, n) of each criterion, in order.
    fn judged(ev: &ItemEvidence, waivers: Vec<Waiver>) -> (Outcome, Vec<(Outcome, u64)>) {
        let j = judge_item(&item(), ev, &policy(waivers)).unwrap();
        let c = j.criteria.iter().map(|c| (c.outcome, c.n)).collect();
        (j.outcome, c)
    }

    #[test]
    fn a_status_leaves_the_item_and_its_request_with_only_its_failures_removed() {
        let ev = evidence(0);
        let (outcome, c) = judged(&ev, Vec::new());
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(c[0], (Outcome::Fail, 1_080)); // 80 of 1,080 failed
        assert_eq!(c[2], (Outcome::Fail, 180));

        let j = judge_item(&item(), &ev, &policy(vec![waiver("w", Some(500))])).unwrap();
        // What passed, passed only with the 500s left out: WAIVED, never PASS.
        assert_eq!(j.outcome, Outcome::Waived, "{}", j.why);
        assert_eq!(j.waivers_applied, vec!["w".to_string()]);
        let c: Vec<_> = j.criteria.iter().map(|c| (c.outcome, c.n)).collect();
        assert_eq!(c[0], (Outcome::Pass, 1_000)); // 0 of 1,000
                                                  // The histogram holds the 1,000 successes either way; only the failures went.
        assert_eq!(c[1], (Outcome::Pass, 1_000));
        assert_eq!(c[2], (Outcome::Pass, 100));
        assert!(
            j.criteria[0].why.ends_with(
                "(excluding status 500 of request `volume-leaders` (80 requests) under waiver `w`)"
            ),
            "{}",
            j.criteria[0].why
        );
    }

    #[test]
    fn a_status_does_not_hide_other_failures_of_the_same_request() {
        let (outcome, c) = judged(&evidence(120), vec![waiver("w", Some(500))]);
        // 120 timeouts of 1,120 left: 10.7%, refuting < 5%.
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(c[0], (Outcome::Fail, 1_120));
        assert_eq!(c[2], (Outcome::Fail, 220));
    }

    #[test]
    fn what_is_left_out_is_left_out_once() {
        // The whole request, and its 500s again, and the same status twice: 900 remain.
        let ev = evidence(0);
        let all = vec![
            waiver("status", Some(500)),
            waiver("whole", None),
            waiver("again", Some(500)),
        ];
        let (_, c) = judged(&ev, all);
        assert_eq!(c[0], (Outcome::Pass, 900));
        // A whole request is not left out of its own scope; its 500s are.
        assert_eq!(c[2], (Outcome::Pass, 100));
    }

    #[test]
    fn a_waiver_naming_a_criterion_leaves_out_only_for_that_criterion() {
        let mut w = waiver("w", Some(500));
        w.criterion = Some("p95<100ms".into());
        let (outcome, c) = judged(&evidence(0), vec![w]);
        assert_eq!(outcome, Outcome::Fail);
        assert_eq!(c[0], (Outcome::Fail, 1_080));
        assert_eq!(c[1], (Outcome::Pass, 1_000));
    }

    #[test]
    fn a_status_that_never_failed_is_unused() {
        let ev = evidence(0);
        let waivers = vec![
            waiver("five-hundred", Some(500)),
            waiver("gateway", Some(503)),
        ];
        let j = judge_run(&[item()], &[ev], &RunEnd::Completed, &policy(waivers)).unwrap();
        assert_eq!(j.items[0].outcome, Outcome::Waived);
        assert_eq!(j.waivers[0].state, WaiverState::Applied);
        assert_eq!(j.waivers[1].state, WaiverState::Unused);
        assert!(
            j.waivers[1].why.starts_with(
                "request `volume-leaders` of `dashboard` never failed with status 503"
            ),
            "{}",
            j.waivers[1].why
        );
    }
}
