//! Assembles the report model: the plan's items with their evidence and claims, then a
//! judgement laid over them. No verdict rule lives here; `verdict::judge_run` holds them
//! all, and [`apply`] only copies its outcomes in, for a fresh run and a merge alike.
//! Secrets are masked here, once, so every format and the summary show the same text.

use super::model::*;
use crate::plan::{ItemBody, ItemPlan, Plan};
use crate::record::{ItemEvidence, RunEnd};
use crate::services::ServiceReport;
use crate::verdict::{ItemClaims, Judgement};

/// Facts about the run as a whole.
pub struct RunFacts {
    pub id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
    pub end: RunEnd,
    pub provider: String,
    pub services: Vec<ServiceReport>,
}

/// The report of a run of `plan`: its items with `evidence` (in plan order), judged by
/// `judgement` (of the same items, from `plan.claims()`).
pub fn build(
    plan: &Plan,
    evidence: Vec<ItemEvidence>,
    judgement: &Judgement,
    facts: RunFacts,
) -> Report {
    let mut evidence = evidence.into_iter();
    let phases = plan
        .phases
        .iter()
        .map(|phase| PhaseReport {
            id: phase.id.clone(),
            title: phase.title.clone(),
            items: phase
                .items
                .iter()
                .map(|item| unjudged(item, evidence.next().unwrap_or_default()))
                .collect(),
        })
        .collect();
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        golive_version: env!("CARGO_PKG_VERSION").to_string(),
        verdict: judgement.decision.verdict,
        verdict_reason: String::new(),
        exit_code: 0,
        run: RunInfo {
            id: facts.id,
            started_at: facts
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            finished_at: facts
                .finished_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_s: (facts.finished_at - facts.started_at).num_milliseconds() as f64 / 1e3,
            interrupted: facts.end == RunEnd::Interrupted,
            end: facts.end,
            provider: facts.provider,
            host: hostname(),
            confidence: plan.confidence.value(),
        },
        checklist: ChecklistInfo {
            file: plan.file.display().to_string(),
            sha256: plan.sha256.clone(),
            system: plan.system.clone(),
            release: plan.release.clone(),
            description: plan.description.clone(),
        },
        summary: Summary::default(),
        services: facts.services,
        waivers: Vec::new(),
        baseline: None,
        phases,
    };
    apply(&mut report, judgement);
    redacted(report, &plan.redactor)
}

/// `report` with every secret masked in every string it holds: targets, reasons, errors,
/// service logs, whatever a later field adds. Done on the serialised form so no field can
/// be forgotten; histograms (base64, never holding `://` or `=` inside, nor a secret's
/// punctuation) are left as they are so they read back.
fn redacted(report: Report, redactor: &crate::redact::Redactor) -> Report {
    fn walk(v: &mut serde_json::Value, redactor: &crate::redact::Redactor) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(masked) = redactor.redact(s) {
                    *s = masked;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, redactor)),
            serde_json::Value::Object(fields) => {
                for (key, value) in fields.iter_mut() {
                    if !key.ends_with("histogram") {
                        walk(value, redactor);
                    }
                }
            }
            _ => {}
        }
    }
    let masked = serde_json::to_value(&report).and_then(|mut v| {
        walk(&mut v, redactor);
        serde_json::from_value(v)
    });
    match masked {
        Ok(r) => r,
        // The model is results.json's own schema, so it reads back; should it not, the
        // report is still written, with the error saying why secrets may show.
        Err(e) => {
            tracing::error!(error = %e, "Cannot mask secrets in the report.");
            report
        }
    }
}

/// An item with its evidence and claims, not yet judged.
fn unjudged(item: &ItemPlan, evidence: ItemEvidence) -> ItemReport {
    let claims = item.claims();
    let (kind, signoff) = match &item.body {
        ItemBody::Manual(m) => {
            let mut signoff = SignoffReport {
                role: m.role.clone(),
                instructions: m.instructions.clone(),
                signed_by: None,
                signed_at: None,
                signature: None,
                rejected: None,
            };
            signoff.refresh(&evidence);
            ("manual".to_string(), Some(signoff))
        }
        ItemBody::Load(_) => ("load".to_string(), None),
        ItemBody::Resources(_) => ("resources".to_string(), None),
        ItemBody::Check(c) => (c.check.kind().to_string(), None),
    };
    ItemReport {
        id: item.id.clone(),
        title: item.title.clone(),
        description: item.description.clone(),
        severity: item.severity,
        kind,
        line: item.line,
        target: evidence.target.clone(),
        outcome: crate::evidence::Outcome::Inconclusive,
        why: String::new(),
        skipped: evidence.skipped.clone(),
        claims: claims.claims,
        criteria: Vec::new(),
        failures: failure_reasons(&evidence),
        signoff,
        evidence,
    }
}

/// What `judge_run` needs from a report's items: their typed claims.
pub fn claims_of(report: &Report) -> Vec<ItemClaims> {
    report
        .items()
        .map(|i| ItemClaims {
            id: i.id.clone(),
            severity: i.severity,
            kind: match (i.kind.as_str(), &i.signoff) {
                (_, Some(s)) => crate::verdict::ItemKind::Manual {
                    role: s.role.clone(),
                },
                ("load", _) => crate::verdict::ItemKind::Load,
                ("resources", _) => crate::verdict::ItemKind::Resources,
                _ => crate::verdict::ItemKind::Check,
            },
            claims: i.claims.clone(),
        })
        .collect()
}

/// Judges a stored report again from its evidence and claims (as `golive merge` does),
/// at `now`: after its evidence changed, e.g. a sign-off given after the run. Sign-off
/// entries are refreshed from the evidence first.
pub fn rejudge(
    report: &mut Report,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), crate::record::CorruptHistogram> {
    for item in report.phases.iter_mut().flat_map(|p| p.items.iter_mut()) {
        if let Some(s) = item.signoff.as_mut() {
            s.refresh(&item.evidence);
        }
    }
    let policy = crate::verdict::Policy {
        confidence: crate::evidence::Confidence::new(report.run.confidence).unwrap_or_default(),
        now,
        waivers: report.waivers.iter().map(|w| w.waiver.clone()).collect(),
    };
    let claims = claims_of(report);
    let evidence: Vec<_> = report.items().map(|i| i.evidence.clone()).collect();
    let judgement = crate::verdict::judge_run(&claims, &evidence, &report.run.end, &policy)?;
    apply(report, &judgement);
    Ok(())
}

/// Lays `judgement` (of the report's items, in order) over `report`: outcomes, criteria,
/// the summary and the decision.
pub fn apply(report: &mut Report, judgement: &Judgement) {
    let mut summary = Summary::default();
    let items = report.phases.iter_mut().flat_map(|p| p.items.iter_mut());
    for (item, judged) in items.zip(&judgement.items) {
        item.outcome = judged.outcome;
        item.why = judged.why.clone();
        item.criteria = judged.criteria.clone();
        if let Some(s) = item.evidence.samples.as_ref().filter(|s| s.cut_short) {
            if item.skipped.is_none() {
                item.skipped = Some(format!(
                    "interrupted after {} of {} samples",
                    s.taken, s.planned
                ));
            }
        }
        tally(&mut summary, item);
    }
    report.summary = summary;
    report.waivers.clone_from(&judgement.waivers);
    report.verdict = judgement.decision.verdict;
    report.verdict_reason = judgement.decision.reason.clone();
    report.exit_code = judgement.decision.exit_code;
}

fn tally(s: &mut Summary, r: &ItemReport) {
    use crate::evidence::Outcome;
    s.items += 1;
    match r.outcome {
        Outcome::Pass => s.passed += 1,
        Outcome::Fail => s.failed += 1,
        Outcome::Inconclusive => s.inconclusive += 1,
        Outcome::Waived => s.waived += 1,
    }
    if r.outcome == Outcome::Fail {
        match r.severity {
            crate::spec::Severity::Blocker => s.blockers_failed += 1,
            _ => s.warnings_failed += 1,
        }
    }
    if let Some(sign) = &r.signoff {
        match sign.signed_by {
            Some(_) => s.signoffs_given += 1,
            None => s.signoffs_pending += 1,
        }
    }
}

/// The first distinct failure reasons an item's evidence holds.
pub(super) fn failure_reasons(ev: &ItemEvidence) -> Vec<FailureReason> {
    let mut out = match (&ev.samples, &ev.load) {
        (Some(s), _) => s.reasons.clone(),
        (None, Some(l)) => l
            .overall
            .error_reasons
            .iter()
            .map(|(class, reason, count)| FailureReason {
                class: class.clone(),
                reason: reason.clone(),
                count: *count,
            })
            .collect(),
        _ => Vec::new(),
    };
    if let Some(e) = ev.samples.as_ref().and_then(|s| s.setup_error.as_ref()) {
        out.push(FailureReason {
            class: "setup".into(),
            reason: e.clone(),
            count: 1,
        });
    }
    out
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}
