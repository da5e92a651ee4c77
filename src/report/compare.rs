//! `golive compare`: two runs' reports side by side, item by item (matched by id), each
//! measured item judged by `evidence::compare` as a regression, an improvement, no
//! significant change, or inconclusive. Only assembles and renders; the statistics live
//! in the evidence module.

use super::markdown::{cell as md_cell, code};
use super::Report;
use crate::evidence::compare::{error_change, latency_change, mann_whitney, Change, MannWhitney};
use crate::evidence::{latency, percent, thousands};
use crate::exit;
use crate::record::ItemEvidence;
use crate::tally::decode_histogram;
use hdrhistogram::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The comparison of two runs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub base: RunRef,
    pub current: RunRef,
    /// Set when the runs executed different checklist texts (still compared by item id).
    pub checklist_differs: bool,
    /// Item ids of one run only: not compared.
    pub only_in_base: Vec<String>,
    pub only_in_current: Vec<String>,
    /// Items both runs measured (latency or requests), in the current run's order.
    pub items: Vec<ItemComparison>,
    /// Items of both runs without measurements (manual sign-offs, skipped items).
    pub not_measured: Vec<String>,
    pub verdict: Change,
    pub exit_code: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRef {
    pub file: String,
    pub run_id: String,
    pub checklist_sha256: String,
}

/// One side of an item: counts and latency percentiles (µs).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Side {
    /// Latency samples (successful probes or requests).
    pub n: u64,
    /// Probes or requests, failed ones included.
    pub requests: u64,
    pub errors: u64,
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemComparison {
    pub id: String,
    pub base: Side,
    pub current: Side,
    /// current/base.
    pub p50_ratio: Option<f64>,
    pub p95_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
    pub latency_test: Option<MannWhitney>,
    pub latency: Change,
    /// Fisher's exact test on errors/requests, two-sided.
    pub errors_p: f64,
    pub errors: Change,
    pub verdict: Change,
    /// One line: why this verdict.
    pub why: String,
}

/// The figures a baseline claim of item `item` (request `request`, for a load threshold
/// on one request) takes its threshold from, in `base` read from `file`; `None` when the
/// baseline has no such item or request, or measured nothing there.
pub fn baseline_figures(
    base: &Report,
    file: &str,
    item: &str,
    request: Option<&str>,
) -> Option<crate::criteria::BaselineFigures> {
    let e = &base.items().find(|i| i.id == item)?.evidence;
    let decode = |h: &Option<String>| h.as_deref().and_then(|t| decode_histogram(t).ok());
    let (latency, samples, failures, rate) = match (&e.samples, &e.load, request) {
        (Some(s), _, None) => (
            decode(&s.latency_histogram),
            s.taken,
            s.failed,
            (s.span_s > 0.0).then(|| s.taken as f64 / s.span_s),
        ),
        (_, Some(l), None) => (
            decode(&l.overall.latency_histogram),
            l.overall.requests,
            l.overall.errors,
            Some(l.achieved_rps),
        ),
        (_, Some(l), Some(name)) => {
            let scope = l.by_request.iter().find(|s| s.name == name)?;
            let rate = (l.duration_s > 0.0).then(|| scope.requests as f64 / l.duration_s);
            (
                decode(&scope.latency_histogram),
                scope.requests,
                scope.errors,
                rate,
            )
        }
        _ => return None,
    };
    Some(crate::criteria::BaselineFigures {
        run_id: base.run.id.clone(),
        file: file.to_string(),
        samples,
        failures,
        latency,
        rate,
    })
}

/// Latency histogram and (requests, errors) of an item: the check's samples or the load's
/// overall scope. `load_results` has already checked that every histogram decodes.
fn measured(e: &ItemEvidence) -> Option<(Option<Histogram<u64>>, u64, u64)> {
    let decode = |h: &Option<String>| h.as_deref().and_then(|t| decode_histogram(t).ok());
    if let Some(s) = &e.samples {
        return Some((decode(&s.latency_histogram), s.taken, s.failed));
    }
    e.load.as_ref().map(|l| {
        (
            decode(&l.overall.latency_histogram),
            l.overall.requests,
            l.overall.errors,
        )
    })
}

fn side(h: &Option<Histogram<u64>>, requests: u64, errors: u64) -> Side {
    let q = |q: f64| {
        h.as_ref()
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(q))
    };
    Side {
        n: h.as_ref().map_or(0, |h| h.len()),
        requests,
        errors,
        p50_us: q(0.50),
        p95_us: q(0.95),
        p99_us: q(0.99),
    }
}

fn ratio(base: Option<u64>, current: Option<u64>) -> Option<f64> {
    match (base, current) {
        (Some(b), Some(c)) if b > 0 => Some(c as f64 / b as f64),
        _ => None,
    }
}

/// Compares `current` against `base`; `files` name them in the output.
pub fn compare(base: &Report, current: &Report, files: (&str, &str)) -> Comparison {
    let base_items: Vec<_> = base.items().collect();
    let current_ids: Vec<&str> = current.items().map(|i| i.id.as_str()).collect();
    let only_in_base = base_items
        .iter()
        .filter(|i| !current_ids.contains(&i.id.as_str()))
        .map(|i| i.id.clone())
        .collect();
    let (mut only_in_current, mut items, mut not_measured) = (vec![], vec![], vec![]);
    for cur in current.items() {
        let Some(b) = base_items.iter().find(|b| b.id == cur.id) else {
            only_in_current.push(cur.id.clone());
            continue;
        };
        match (measured(&b.evidence), measured(&cur.evidence)) {
            (Some(mb), Some(mc)) => items.push(compare_item(&cur.id, mb, mc)),
            _ => not_measured.push(cur.id.clone()),
        }
    }
    let verdict = items
        .iter()
        .fold(Change::NoSignificantChange, |v, i| v.worst(i.verdict));
    let exit_code = exit_code(verdict);
    let run_ref = |r: &Report, file: &str| RunRef {
        file: file.to_string(),
        run_id: r.run.id.clone(),
        checklist_sha256: r.checklist.sha256.clone(),
    };
    Comparison {
        base: run_ref(base, files.0),
        current: run_ref(current, files.1),
        checklist_differs: base.checklist.sha256 != current.checklist.sha256,
        only_in_base,
        only_in_current,
        items,
        not_measured,
        verdict,
        exit_code,
    }
}

/// 1 on a regression, 4 when something could not be judged, else 0.
fn exit_code(verdict: Change) -> i32 {
    match verdict {
        Change::Regression => exit::NO_GO,
        Change::Inconclusive => exit::INCONCLUSIVE,
        Change::Improvement | Change::NoSignificantChange => exit::GO,
    }
}

type Measured = (Option<Histogram<u64>>, u64, u64);

fn compare_item(id: &str, (hb, rb, eb): Measured, (hc, rc, ec): Measured) -> ItemComparison {
    let (base, current) = (side(&hb, rb, eb), side(&hc, rc, ec));
    let test = match (&hb, &hc) {
        (Some(b), Some(c)) => mann_whitney(b, c),
        _ => None,
    };
    let p95_ratio = ratio(base.p95_us, current.p95_us);
    let latency_verdict = latency_change(test.as_ref(), p95_ratio);
    let (errors_p, errors) = error_change(eb, rb, ec, rc);
    let verdict = latency_verdict.worst(errors);
    let why = why(
        &base,
        &current,
        test.as_ref(),
        p95_ratio,
        latency_verdict,
        errors,
        errors_p,
    );
    ItemComparison {
        id: id.to_string(),
        p50_ratio: ratio(base.p50_us, current.p50_us),
        p95_ratio,
        p99_ratio: ratio(base.p99_us, current.p99_us),
        base,
        current,
        latency_test: test,
        latency: latency_verdict,
        errors_p,
        errors,
        verdict,
        why,
    }
}

fn why(
    base: &Side,
    current: &Side,
    test: Option<&MannWhitney>,
    p95_ratio: Option<f64>,
    latency_verdict: Change,
    errors: Change,
    errors_p: f64,
) -> String {
    use crate::evidence::compare::MIN_SAMPLES;
    let latency_part = match (latency_verdict, test) {
        (Change::Inconclusive, _) => format!(
            "latency: {} and {} samples, {} needed on each side",
            thousands(base.n),
            thousands(current.n),
            MIN_SAMPLES
        ),
        (v, Some(t)) => format!(
            "latency {}: U-test p = {}, P(current slower) = {:.3}, p95 {}",
            v.as_str().to_lowercase(),
            p_value(t.p),
            t.superiority,
            change_pct(p95_ratio)
        ),
        (v, None) => format!("latency {}", v.as_str().to_lowercase()),
    };
    let error_part = format!(
        "errors {} → {} (Fisher p = {}){}",
        rate(base),
        rate(current),
        p_value(errors_p),
        match errors {
            Change::Regression => ": significantly more",
            Change::Improvement => ": significantly fewer",
            _ => "",
        }
    );
    format!("{latency_part}; {error_part}")
}

fn rate(s: &Side) -> String {
    if s.requests == 0 {
        "none measured".to_string()
    } else {
        format!(
            "{} in {} ({})",
            thousands(s.errors),
            thousands(s.requests),
            percent(s.errors as f64 / s.requests as f64)
        )
    }
}

/// A p-value with three significant digits, or `< 1e-300` at the floor of f64.
pub fn p_value(p: f64) -> String {
    if p <= 0.0 {
        "< 1e-300".to_string()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.2e}")
    }
}

/// A ratio as a signed percentage change: 1.25 → `+25%`.
fn change_pct(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{:+.1}%", (r - 1.0) * 100.0),
        None => "n/a".to_string(),
    }
}

fn cell(before: Option<u64>, after: Option<u64>, r: Option<f64>) -> String {
    let show = |v: Option<u64>| v.map_or("—".to_string(), latency);
    format!("{} → {} ({})", show(before), show(after), change_pct(r))
}

/// The comparison as Markdown: a header, what could not be matched, one table row per
/// measured item.
pub fn markdown(c: &Comparison) -> String {
    format!(
        "# Before and after: {}\n\n{}",
        c.verdict.as_str(),
        markdown_body(c)
    )
}

/// The comparison as a section of a run's report.md.
pub fn markdown_section(c: &Comparison) -> String {
    format!(
        "## Before and after the baseline: {}\n\n{}\n",
        c.verdict.as_str(),
        markdown_body(c)
    )
}

fn markdown_body(c: &Comparison) -> String {
    let mut s = format!(
        "Base: {} (run {})  \nCurrent: {} (run {})\n\n",
        code(&c.base.file),
        code(&c.base.run_id),
        code(&c.current.file),
        code(&c.current.run_id)
    );
    if c.checklist_differs {
        s.push_str(&format!(
            "**The runs executed different checklists** (sha256 {} → {}); items are compared \
             by id.\n\n",
            short(&c.base.checklist_sha256),
            short(&c.current.checklist_sha256)
        ));
    }
    for (label, ids) in [
        ("Only in the base run (not compared)", &c.only_in_base),
        ("Only in the current run (not compared)", &c.only_in_current),
        ("Not measured in both runs", &c.not_measured),
    ] {
        if !ids.is_empty() {
            s.push_str(&format!("{label}: {}\n\n", quoted(ids)));
        }
    }
    s.push_str(
        "| Item | n base / current | p50 | p95 | p99 | Errors | U-test p | P(slower) | Verdict |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for i in &c.items {
        s.push_str(&format!(
            "| {} | {} / {} | {} | {} | {} | {} → {} | {} | {} | **{}** |\n",
            md_cell(&code(&i.id)),
            thousands(i.base.n),
            thousands(i.current.n),
            cell(i.base.p50_us, i.current.p50_us, i.p50_ratio),
            cell(i.base.p95_us, i.current.p95_us, i.p95_ratio),
            cell(i.base.p99_us, i.current.p99_us, i.p99_ratio),
            thousands(i.base.errors),
            thousands(i.current.errors),
            i.latency_test.map_or("—".to_string(), |t| p_value(t.p)),
            i.latency_test
                .map_or("—".to_string(), |t| format!("{:.3}", t.superiority)),
            i.verdict.as_str()
        ));
    }
    s.push('\n');
    for i in &c.items {
        s.push_str(&format!("- {}: {}\n", code(&i.id), i.why));
    }
    s
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn quoted(ids: &[String]) -> String {
    ids.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
}

/// The comparison as JSON.
pub fn json(c: &Comparison) -> String {
    let mut s =
        serde_json::to_string_pretty(c).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
