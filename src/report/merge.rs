//! `golive merge`: results of the same checklist run on several machines, combined
//! exactly. Each item's evidence record (histograms included) is added to the others', and
//! the sum is judged once by `verdict::judge_run` on the typed claims stored in the
//! results, so the merged verdict is that of one run that took every sample, for every
//! criterion kind (resources, recovery times and rollback rules included).

use super::model::*;
use crate::record::RunEnd;

/// Why results could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least two results.json files")]
    TooFew,
    #[error("{file}: {reason}")]
    Mismatch { file: String, reason: String },
    #[error(
        "shard(s) {missing} of {count} missing: give the results.json of every shard \
         0..{count} exactly once"
    )]
    MissingShards { missing: String, count: u32 },
}

/// Merges `reports` (named by `files` for errors) into one.
pub fn merge(reports: &[Report], files: &[String]) -> Result<Report, MergeError> {
    let sharded = super::shards::check(reports, files)?;
    let (first, rest) = reports.split_first().ok_or(MergeError::TooFew)?;
    if rest.is_empty() && !sharded {
        return Err(MergeError::TooFew);
    }
    let mut out = first.clone();
    // One shard's before/after table says nothing of the pooled run; compare the merged
    // results.json with `golive compare` instead.
    out.baseline = None;
    for (r, file) in rest.iter().zip(files.iter().skip(1)) {
        let mismatch = |reason: String| MergeError::Mismatch {
            file: file.clone(),
            reason,
        };
        if r.checklist.sha256 != first.checklist.sha256 {
            return Err(mismatch(format!(
                "it ran a different checklist ({} vs {}); only runs of the same checklist merge",
                r.checklist.file, first.checklist.file
            )));
        }
        if r.items().count() != first.items().count() {
            return Err(mismatch("it has a different list of items".into()));
        }
        for (pa, pb) in out.phases.iter_mut().zip(&r.phases) {
            for (a, b) in pa.items.iter_mut().zip(&pb.items) {
                if a.id != b.id {
                    return Err(mismatch(format!(
                        "item `{}` where `{}` was expected",
                        b.id, a.id
                    )));
                }
                a.evidence
                    .merge(&b.evidence)
                    .map_err(|e| mismatch(format!("phases.items[`{}`].evidence.{e}", b.id)))?;
                if a.signoff.as_ref().is_some_and(|s| s.signed_by.is_none()) {
                    a.signoff.clone_from(&b.signoff);
                }
            }
        }
        out.services.extend(r.services.iter().cloned());
        out.run.interrupted |= r.run.interrupted;
        out.run.end = worse_end(&out.run.end, &r.run.end);
        out.run.duration_s = out.run.duration_s.max(r.run.duration_s);
        out.run.host = format!("{}, {}", out.run.host, r.run.host);
    }
    for item in out.phases.iter_mut().flat_map(|p| p.items.iter_mut()) {
        if let Some(load) = item.evidence.load.as_mut().filter(|_| sharded) {
            // The shards judged no rule: each saw a part of the load. The rules are
            // judged here, once, on the windows added up.
            crate::load::rulebook::judge_merged(load).map_err(|reason| MergeError::Mismatch {
                file: files[0].clone(),
                reason: format!("phases.items[`{}`].evidence.load: {reason}", item.id),
            })?;
            load.shard = None;
        }
        item.failures = super::build::failure_reasons(&item.evidence);
        item.target = item.evidence.target.clone();
    }
    super::build::rejudge(&mut out, chrono::Utc::now()).map_err(|e| MergeError::Mismatch {
        file: files[0].clone(),
        reason: e.to_string(),
    })?;
    out.verdict_reason = format!(
        "{} (merged from {} {})",
        out.verdict_reason,
        reports.len(),
        if sharded { "shards" } else { "runs" }
    );
    out.run.id = format!("merged-{}", out.run.id);
    Ok(out)
}

/// An environment failure outweighs an interruption, which outweighs a completed run.
fn worse_end(a: &RunEnd, b: &RunEnd) -> RunEnd {
    match (a, b) {
        (RunEnd::EnvironmentFailed { .. }, _) => a.clone(),
        (_, RunEnd::EnvironmentFailed { .. }) => b.clone(),
        (RunEnd::Interrupted, _) | (_, RunEnd::Interrupted) => RunEnd::Interrupted,
        _ => RunEnd::Completed,
    }
}

#[cfg(test)]
mod tests {
    use crate::criteria::{Criterion, CriterionKind};
    use crate::evidence::Confidence;
    use crate::evidence::Tail;
    use crate::expr::Op;
    use crate::record::{ItemEvidence, SampleEvidence};
    use crate::tally::{Failure, FailureClass, Observations};
    use crate::verdict::Policy;
    use crate::verdict::{judge_item, Claim, ItemClaims, ItemKind};

    fn criterion(text: &str, kind: CriterionKind) -> Claim {
        Claim::Samples {
            request: None,
            criterion: Criterion {
                text: text.into(),
                kind,
                baseline: None,
            },
        }
    }

    #[test]
    fn judging_merged_evidence_equals_judging_the_pooled_samples() {
        let ms = |v: u64| crate::units::Duration::from_std(std::time::Duration::from_millis(v));
        let claims = ItemClaims {
            id: "api".into(),
            severity: crate::spec::Severity::Blocker,
            kind: ItemKind::Check,
            claims: vec![
                criterion(
                    "p95 < 20ms",
                    CriterionKind::Quantile {
                        q: 0.95,
                        threshold: ms(20),
                        tail: Tail::Below,
                    },
                ),
                criterion(
                    "p99.7 < 450ms",
                    CriterionKind::Quantile {
                        q: 0.997,
                        threshold: ms(450),
                        tail: Tail::Below,
                    },
                ),
                criterion(
                    "error_rate < 1%",
                    CriterionKind::FailureRate {
                        limit: 0.01,
                        written_as_success: false,
                    },
                ),
                criterion(
                    "mean < 10ms",
                    CriterionKind::Mean {
                        threshold: ms(10),
                        below: true,
                    },
                ),
                criterion(
                    "max < 5s",
                    CriterionKind::Extreme {
                        max: true,
                        op: Op::Lt,
                        threshold: ms(5000),
                    },
                ),
                criterion(
                    "failures <= 40",
                    CriterionKind::Failures {
                        op: Op::Le,
                        count: 40,
                    },
                ),
            ],
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut a, mut b, mut all) = (
            Observations::default(),
            Observations::default(),
            Observations::default(),
        );
        for i in 0..6_000u64 {
            // A long-tailed mix with a few failures.
            let sample = match rng.u32(0..1000) {
                0..=2 => Err(Failure::new(FailureClass::Timeout, "timed out")),
                3..=30 => Ok(rng.u64(300_000..600_000)),
                _ => Ok(rng.u64(800..8_000)),
            };
            if i % 3 == 0 {
                a.record(sample.clone())
            } else {
                b.record(sample.clone())
            }
            all.record(sample);
        }
        for o in [&mut a, &mut b, &mut all] {
            o.duration = std::time::Duration::from_secs(10);
        }
        let mut merged = ItemEvidence {
            samples: Some(SampleEvidence::of(&a, 2_000)),
            ..ItemEvidence::default()
        };
        merged
            .merge(&ItemEvidence {
                samples: Some(SampleEvidence::of(&b, 4_000)),
                ..ItemEvidence::default()
            })
            .unwrap();
        let pooled = ItemEvidence {
            samples: Some(SampleEvidence::of(&all, 6_000)),
            ..ItemEvidence::default()
        };
        let policy = Policy {
            confidence: Confidence::DEFAULT,
            now: chrono::Utc::now(),
            waivers: Vec::new(),
        };
        let from_merged = judge_item(&claims, &merged, &policy).unwrap();
        let from_pooled = judge_item(&claims, &pooled, &policy).unwrap();
        assert_eq!(from_merged.criteria.len(), 6);
        for (m, p) in from_merged.criteria.iter().zip(&from_pooled.criteria) {
            // Every number and word but the rate (the merged shards ran side by side).
            assert_eq!(m, p, "{}", m.criterion);
        }
        assert_eq!(from_merged.outcome, from_pooled.outcome);
        let (sm, sp) = (merged.samples.unwrap(), pooled.samples.unwrap());
        assert_eq!((sm.taken, sm.failed), (sp.taken, sp.failed));
        assert_eq!(sm.latency_ms, sp.latency_ms);
    }

    #[test]
    fn merged_load_evidence_adds_the_failures_by_status_exactly() {
        let fail = |status: Option<u16>| -> Result<(), Failure> {
            Err(match status {
                Some(s) => Failure::new(FailureClass::of_status(s), "bad status").with_status(s),
                None => Failure::new(FailureClass::Timeout, "timed out"),
            })
        };
        let leaders = |ok: usize, fives: usize, threes: usize, timeouts: usize| {
            let mut v = vec![Ok(()); ok];
            v.extend(std::iter::repeat_n(fail(Some(500)), fives));
            v.extend(std::iter::repeat_n(fail(Some(503)), threes));
            v.extend(std::iter::repeat_n(fail(None), timeouts));
            v
        };
        let run = |a: (usize, usize, usize, usize)| {
            crate::load::LoadResult::of_outcomes(
                &[
                    ("portfolio", vec![Ok(()); 300]),
                    ("volume-leaders", leaders(a.0, a.1, a.2, a.3)),
                ],
                10.0,
            )
        };
        let mut merged = ItemEvidence {
            load: Some(run((5, 40, 2, 1))),
            ..ItemEvidence::default()
        };
        merged
            .merge(&ItemEvidence {
                load: Some(run((7, 25, 0, 3))),
                ..ItemEvidence::default()
            })
            .unwrap();
        let load = merged.load.as_ref().unwrap();
        let want: std::collections::BTreeMap<u16, u64> = [(500, 65), (503, 2)].into();
        assert_eq!(load.overall.errors_by_status, want);
        assert_eq!(load.by_request[1].errors_by_status, want);
        assert!(load.by_request[0].errors_by_status.is_empty());
        assert_eq!(load.by_request[1].errors, 71); // the 4 timeouts have no status

        // A record written before the counts existed still reads: none recorded.
        let mut old = serde_json::to_value(&load.overall).unwrap();
        old.as_object_mut().unwrap().remove("errors_by_status");
        let old: crate::load::result::ScopeResult = serde_json::from_value(old).unwrap();
        assert!(old.errors_by_status.is_empty());
    }
}
