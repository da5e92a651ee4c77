//! `golive merge`: results of the same checklist run on several machines, combined
//! exactly. Histograms travel in results.json (HdrHistogram V2), so merged percentiles
//! are those of one histogram fed every sample; counts add; every criterion is judged
//! again on the merged data, and the verdict decided again.

use super::model::*;
use crate::evidence::{Confidence, Outcome};
use crate::expr::PathSeg;
use crate::load::result::{Percentiles, ScopeResult};
use crate::load::LoadResult;
use crate::tally::{decode_histogram, encode_histogram, new_histogram, Observations};
use crate::verdict::{decide, judge, ItemJudgement, RunState};
use hdrhistogram::Histogram;

/// Why results could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least two results.json files")]
    TooFew,
    #[error("{file}: {reason}")]
    Mismatch { file: String, reason: String },
}

/// Merges `reports` (named by `files` for errors) into one.
pub fn merge(reports: &[Report], files: &[String]) -> Result<Report, MergeError> {
    let (first, rest) = reports.split_first().ok_or(MergeError::TooFew)?;
    if rest.is_empty() {
        return Err(MergeError::TooFew);
    }
    let mut out = first.clone();
    for (r, file) in rest.iter().zip(files.iter().skip(1)) {
        let mismatch = |reason: String| MergeError::Mismatch {
            file: file.clone(),
            reason,
        };
        if r.checklist.sha256 != first.checklist.sha256 {
            return Err(mismatch(format!(
                "it ran a different checklist ({} vs {})",
                r.checklist.file, first.checklist.file
            )));
        }
        for (pa, pb) in out.phases.iter_mut().zip(&r.phases) {
            for (a, b) in pa.items.iter_mut().zip(&pb.items) {
                if a.id != b.id {
                    return Err(mismatch(format!(
                        "item `{}` where `{}` was expected",
                        b.id, a.id
                    )));
                }
                merge_item(a, b).map_err(mismatch)?;
            }
        }
        out.services.extend(r.services.iter().cloned());
        out.run.interrupted |= r.run.interrupted;
        out.run.duration_s = out.run.duration_s.max(r.run.duration_s);
        out.run.host = format!("{}, {}", out.run.host, r.run.host);
    }
    let conf = Confidence::new(first.run.confidence).unwrap_or_default();
    let mut judgements = Vec::new();
    let mut summary = Summary::default();
    let mut rollback = None;
    for item in out.phases.iter_mut().flat_map(|p| p.items.iter_mut()) {
        rejudge(item, conf).map_err(|reason| MergeError::Mismatch {
            file: files[0].clone(),
            reason,
        })?;
        if let Some(rb) = item.load.as_ref().and_then(|l| l.rollback.as_ref()) {
            rollback.get_or_insert_with(|| {
                format!(
                    "rollback rule `{}` fired at {:.1} s into `{}`: {}",
                    rb.rule, rb.at_s, item.id, rb.why
                )
            });
        }
        summary.items += 1;
        match item.outcome {
            Outcome::Pass => summary.passed += 1,
            Outcome::Fail if item.severity == crate::spec::Severity::Blocker => {
                summary.failed += 1;
                summary.blockers_failed += 1
            }
            Outcome::Fail => {
                summary.failed += 1;
                summary.warnings_failed += 1
            }
            Outcome::Inconclusive => summary.inconclusive += 1,
        }
        let pending = item.signoff.as_ref().is_some_and(|s| s.signed_by.is_none());
        if let Some(s) = &item.signoff {
            if s.signed_by.is_some() {
                summary.signoffs_given += 1
            } else {
                summary.signoffs_pending += 1
            }
        }
        judgements.push(ItemJudgement {
            id: item.id.clone(),
            severity: item.severity,
            outcome: item.outcome,
            pending_signoff: pending,
        });
    }
    let state = match (rollback, out.run.interrupted) {
        (Some(why), _) => RunState::RolledBack(why),
        (None, true) => RunState::Interrupted,
        (None, false) => RunState::Completed,
    };
    let d = decide(&judgements, &state);
    out.verdict = d.verdict;
    out.verdict_reason = format!("{} (merged from {} runs)", d.reason, reports.len());
    out.exit_code = d.exit_code;
    out.summary = summary;
    out.run.id = format!("merged-{}", out.run.id);
    Ok(out)
}

fn add_encoded(a: &mut Option<String>, b: &Option<String>) -> Result<Histogram<u64>, String> {
    let mut h = new_histogram();
    for text in [a.as_deref(), b.as_deref()].into_iter().flatten() {
        h.add(decode_histogram(text)?)
            .map_err(|e| format!("{e:?}"))?;
    }
    *a = encode_histogram(&h);
    Ok(h)
}

fn merge_item(a: &mut ItemReport, b: &ItemReport) -> Result<(), String> {
    if let (Some(sa), Some(sb)) = (a.samples.as_mut(), &b.samples) {
        sa.planned += sb.planned;
        sa.taken += sb.taken;
        sa.failed += sb.failed;
        sa.longest_failure_run = sa.longest_failure_run.max(sb.longest_failure_run);
        for (k, v) in &sb.failures_by_class {
            *sa.failures_by_class.entry(k.clone()).or_default() += v;
        }
        let h = add_encoded(&mut sa.latency_histogram, &sb.latency_histogram)?;
        sa.latency_ms = stats(&h);
        sa.duration_s = sa.duration_s.max(sb.duration_s);
        sa.cut_short |= sb.cut_short;
    }
    if let (Some(la), Some(lb)) = (a.load.as_mut(), &b.load) {
        merge_load(la, lb)?;
    }
    if let (Some(sa), Some(sb)) = (a.signoff.as_mut(), &b.signoff) {
        if sa.signed_by.is_none() {
            sa.signed_by = sb.signed_by.clone();
            sa.signed_at = sb.signed_at.clone();
        }
    }
    for f in &b.failures {
        match a
            .failures
            .iter_mut()
            .find(|x| x.class == f.class && x.reason == f.reason)
        {
            Some(x) => x.count += f.count,
            None => a.failures.push(f.clone()),
        }
    }
    Ok(())
}

fn stats(h: &Histogram<u64>) -> Option<LatencyStats> {
    Percentiles::of(h).map(|p| LatencyStats {
        n: p.n,
        min: p.min,
        mean: p.mean,
        p50: p.p50,
        p90: p.p90,
        p95: p.p95,
        p99: p.p99,
        max: p.max,
    })
}

fn merge_scope(a: &mut ScopeResult, b: &ScopeResult) -> Result<(), String> {
    a.requests += b.requests;
    a.errors += b.errors;
    for (k, v) in &b.errors_by_class {
        *a.errors_by_class.entry(k.clone()).or_default() += v;
    }
    let l = add_encoded(&mut a.latency_histogram, &b.latency_histogram)?;
    a.latency_ms = Percentiles::of(&l);
    let s = add_encoded(&mut a.service_time_histogram, &b.service_time_histogram)?;
    a.service_time_ms = Percentiles::of(&s);
    Ok(())
}

/// Shards run side by side over the same period: counts and rates add.
fn merge_load(a: &mut LoadResult, b: &LoadResult) -> Result<(), String> {
    merge_scope(&mut a.overall, &b.overall)?;
    for (x, y) in a.by_request.iter_mut().zip(&b.by_request) {
        merge_scope(x, y)?;
    }
    a.requests += b.requests;
    a.errors += b.errors;
    a.warm_up_requests += b.warm_up_requests;
    a.dropped += b.dropped;
    a.late += b.late;
    a.achieved_rps += b.achieved_rps;
    a.target_rps = a.target_rps.zip(b.target_rps).map(|(x, y)| x + y);
    a.duration_s = a.duration_s.max(b.duration_s);
    a.stopped_early |= b.stopped_early;
    if a.rollback.is_none() {
        a.rollback = b.rollback.clone();
    }
    a.shortfall = match (&a.shortfall, &b.shortfall) {
        (None, None) => None,
        (x, y) => Some(
            [x.as_deref(), y.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    for (wa, wb) in a.timeline.iter_mut().zip(&b.timeline) {
        wa.requests += wb.requests;
        wa.errors += wb.errors;
        wa.rps += wb.rps;
        // Window percentiles are not carried as histograms; they cannot be merged exactly.
        (wa.p50_ms, wa.p95_ms, wa.p99_ms) = (None, None, None);
    }
    Ok(())
}

/// Rebuilds an item's observations from the merged figures and judges its criteria again.
fn rejudge(item: &mut ItemReport, conf: Confidence) -> Result<(), String> {
    if item.signoff.is_some() {
        item.outcome = if item.signoff.as_ref().is_some_and(|s| s.signed_by.is_some()) {
            Outcome::Pass
        } else {
            Outcome::Inconclusive
        };
        return Ok(());
    }
    let texts: Vec<String> = item.criteria.iter().map(|c| c.criterion.clone()).collect();
    let mut outcomes = Vec::new();
    for text in &texts {
        let parsed = crate::expr::parse(text).map_err(|e| format!("criterion `{text}`: {e}"))?;
        let (scope, comparison) = match parsed.subject.as_slice() {
            [PathSeg::Key(req), PathSeg::Key(metric)] => {
                let mut c = parsed.clone();
                c.subject = vec![PathSeg::Key(metric.clone())];
                (Some(req.clone()), c)
            }
            _ => (None, parsed),
        };
        let criterion = crate::plan::build_criterion(text, &comparison)
            .map_err(|(_, m)| format!("criterion `{text}`: {m}"))?;
        let obs = observations(item, scope.as_deref())?;
        outcomes.push(judge(&criterion, &obs, conf));
    }
    if !outcomes.is_empty() {
        item.criteria = outcomes;
        (item.outcome, item.why) = super::build::outcome_and_why(&item.criteria, "");
    }
    if let Some(rb) = item.load.as_ref().and_then(|l| l.rollback.as_ref()) {
        item.outcome = Outcome::Fail;
        item.why = format!(
            "rollback rule `{}` fired at {:.1} s: {}",
            rb.rule, rb.at_s, rb.why
        );
    }
    Ok(())
}

fn observations(item: &ItemReport, scope: Option<&str>) -> Result<Observations, String> {
    let mut o = Observations::default();
    if let Some(load) = &item.load {
        let s = match scope {
            None => &load.overall,
            Some(name) => load
                .by_request
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| format!("no request `{name}` in item `{}`", item.id))?,
        };
        o.samples = s.requests;
        o.failures = s.errors;
        if let Some(h) = &s.latency_histogram {
            o.latency = decode_histogram(h)?;
        }
        let secs = (load.duration_s - load.warm_up_s).max(1e-9);
        // Shards ran side by side, so a request's share of the summed rate is its rate.
        o.rate = Some(load.achieved_rps * s.requests as f64 / load.requests.max(1) as f64);
        o.shortfall = load.shortfall.clone();
        o.duration = std::time::Duration::from_secs_f64(secs);
    } else if let Some(s) = &item.samples {
        o.samples = s.taken;
        o.failures = s.failed;
        if let Some(h) = &s.latency_histogram {
            o.latency = decode_histogram(h)?;
        }
        // Machines sampled side by side, so every sample completed within the longest
        // one's time (the merged `duration_s`), as `observe` computes it for one machine.
        let secs = s.duration_s.max(1e-9);
        o.rate = Some(s.taken as f64 / secs);
        o.duration = std::time::Duration::from_secs_f64(secs);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histograms_equal_one_histogram_fed_every_sample() {
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut a, mut b, mut all) = (new_histogram(), new_histogram(), new_histogram());
        for i in 0..20_000u64 {
            // A long-tailed mix: mostly a few ms, sometimes seconds.
            let v = if rng.u32(0..100) < 3 {
                rng.u64(500_000..3_000_000)
            } else {
                rng.u64(800..8_000)
            };
            if i % 3 == 0 {
                a.record(v).unwrap()
            } else {
                b.record(v).unwrap()
            }
            all.record(v).unwrap();
        }
        let mut ea = encode_histogram(&a);
        let merged = add_encoded(&mut ea, &encode_histogram(&b)).unwrap();
        for q in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                merged.value_at_quantile(q),
                all.value_at_quantile(q),
                "q = {q}"
            );
        }
        assert_eq!(merged.len(), all.len());
        assert_eq!(Percentiles::of(&merged), Percentiles::of(&all));
    }
}
