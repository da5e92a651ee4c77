//! Which results `golive merge` takes as one sharded run: shards of one scenario file,
//! one split and one start time, every index exactly once. The adding up itself is
//! `merge`'s (and `record`'s); the rules are judged on the sum by `load::rulebook`.

use super::merge::MergeError;
use super::model::Report;

/// The shard records of each report's load items, checked to belong together: one
/// scenario (same file hash), one shard count, one start time, every index exactly once.
/// `Ok(false)` when none of the reports is a shard's run.
pub(super) fn check(reports: &[Report], files: &[String]) -> Result<bool, MergeError> {
    let shard_of = |r: &Report| {
        r.phases.iter().flat_map(|p| p.items.iter()).find_map(|i| {
            let l = i.evidence.load.as_ref()?;
            Some((i.id.clone(), l.shard.clone()))
        })
    };
    let Some(first) = reports.first() else {
        return Ok(false);
    };
    if reports
        .iter()
        .all(|r| shard_of(r).is_none_or(|(_, s)| s.is_none()))
    {
        return Ok(false);
    }
    let mut seen: Vec<Option<&String>> = Vec::new();
    let mut expected: Option<crate::load::shard::ShardRecord> = None;
    for (r, file) in reports.iter().zip(files) {
        let mismatch = |reason: String| MergeError::Mismatch {
            file: file.clone(),
            reason,
        };
        let (id, shard) = shard_of(r).unwrap_or_default();
        let field = format!("phases.items[`{id}`].evidence.load.shard");
        let Some(shard) = shard else {
            return Err(mismatch(format!(
                "{field} is missing: it is not a shard's run (`golive load --shard`), and \
                 {} is; shards merge only with their own scenario's other shards",
                files[0]
            )));
        };
        if r.checklist.sha256 != first.checklist.sha256 {
            return Err(mismatch(format!(
                "checklist.sha256 is {}, but {} ran {}: shards of different scenario files \
                 (or different versions of one) do not merge",
                r.checklist.sha256, files[0], first.checklist.sha256
            )));
        }
        let want = expected.get_or_insert_with(|| shard.clone());
        if shard.count != want.count {
            return Err(mismatch(format!(
                "{field}.count is {}, but {} says {}: all shards must be of one split",
                shard.count, files[0], want.count
            )));
        }
        if shard.start_at != want.start_at {
            return Err(mismatch(format!(
                "{field}.start_at is {}, but {} started at {}: shards must share one \
                 --start-at, or their windows do not line up",
                shard.start_at, files[0], want.start_at
            )));
        }
        if shard.count > crate::load::shard::MAX_SHARDS {
            return Err(mismatch(format!(
                "{field}.count is {}, more than the {} shards golive splits a load into",
                shard.count,
                crate::load::shard::MAX_SHARDS
            )));
        }
        seen.resize(shard.count as usize, None);
        match seen.get_mut(shard.index as usize) {
            Some(Some(other)) => {
                return Err(mismatch(format!(
                    "{field}.index is {}, which {other} is too: each shard's results.json \
                     is given once",
                    shard.index
                )))
            }
            Some(slot) => *slot = Some(file),
            None => {
                return Err(mismatch(format!(
                    "{field}.index is {}, out of 0..{}",
                    shard.index, shard.count
                )))
            }
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards {
            missing: missing.join(", "),
            count: seen.len() as u32,
        });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::expr::Op;
    use crate::load::result::WindowScope;
    use crate::load::result::{LoadResult, WindowSummary};
    use crate::load::rulebook::judge_merged;
    use crate::load::shard::ShardRecord;
    use crate::record::ItemEvidence;
    use crate::rules::Rule;
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
