//! Waivers: each names an item (and optionally one of its criteria, or a load request, or
//! one HTTP status of a load request, to leave out), an owner, a reason and an expiry
//! date. Everything that can be checked before a run is: the item and criterion exist, the
//! request is one of the item's, the status is an HTTP status, the date is a date, ids are
//! unique. Whether a waiver is in force is the judge's business
//! (it has the clock).

use super::{Ctx, ItemBody, PhasePlan};
use crate::spec::WaiverSpec;
use crate::verdict::{Claim, Waiver};
use std::collections::HashSet;

/// Adds the waivers of a `--waivers` file (`waivers: [...]`, the checklist's format) to
/// `plan`, validated against its items exactly as the checklist's own are; every problem
/// comes back located in that file.
pub fn add_file(
    plan: &mut super::Plan,
    path: &std::path::Path,
) -> Result<(), Vec<crate::diag::Diagnostic>> {
    let source = crate::spec::read_source(path)?;
    let file: crate::spec::WaiverFile = crate::diag::yaml::from_str(&source.text)
        .map_err(|e| vec![crate::diag::from_serde_error(path, &source.index, &e)])?;
    let mut ctx = Ctx {
        diags: crate::diag::Diagnostics::new(&source.path, &source.index),
        source: &source,
        others: Vec::new(),
        // Waivers hold no templates: the names are enough.
        services: plan
            .services
            .iter()
            .map(|s| (s.name.clone(), Vec::new()))
            .collect(),
        base_dir: std::path::PathBuf::from("."),
        secrets: Default::default(),
        captured: Default::default(),
        earlier: Vec::new(),
        options: Default::default(),
        uses: Vec::new(),
    };
    let added = build(&file.waivers, "waivers", &plan.phases, &mut ctx);
    for (i, w) in file.waivers.iter().enumerate() {
        if plan.waivers.iter().any(|x| x.id == w.id) {
            ctx.diags.error(
                &format!("waivers[{i}].id"),
                format!("waiver id `{}` is also used by the checklist", w.id),
            );
        }
    }
    if !ctx.diags.is_empty() {
        return Err(ctx.diags.into_vec());
    }
    plan.waivers.extend(added);
    Ok(())
}

pub(super) fn build(
    specs: &[WaiverSpec],
    base: &str,
    phases: &[PhasePlan],
    ctx: &mut Ctx,
) -> Vec<Waiver> {
    let items: Vec<_> = phases.iter().flat_map(|p| p.items.iter()).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, w) in specs.iter().enumerate() {
        let at = format!("{base}[{i}]");
        let mut ok = true;
        if !super::services::valid_id(&w.id) {
            ctx.diags.error(
                &format!("{at}.id"),
                format!(
                    "`{}` is not a valid id; use letters, digits, `-` and `_`",
                    w.id
                ),
            );
            ok = false;
        } else if !seen.insert(w.id.as_str()) {
            ctx.diags.error(
                &format!("{at}.id"),
                format!("waiver id `{}` is used twice", w.id),
            );
            ok = false;
        }
        for (field, value) in [("reason", &w.reason), ("owner", &w.owner)] {
            if value.trim().is_empty() {
                ctx.diags.error(
                    &format!("{at}.{field}"),
                    format!("a waiver needs a non-empty `{field}`"),
                );
                ok = false;
            }
        }
        let expires = match chrono::NaiveDate::parse_from_str(w.expires.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                ctx.diags.error_hint(
                    &format!("{at}.expires"),
                    format!("`{}` is not a date", w.expires),
                    "write the last day the waiver applies as YYYY-MM-DD, e.g. 2026-12-31",
                );
                None
            }
        };
        let Some(item) = items.iter().find(|it| it.id == w.item) else {
            let hint = crate::diag::did_you_mean(&w.item, items.iter().map(|i| i.id.as_str()))
                .unwrap_or_else(|| "name the id of one of the checklist's items".into());
            ctx.diags.error_hint(
                &format!("{at}.item"),
                format!("no item `{}` in this checklist", w.item),
                hint,
            );
            continue;
        };
        let claims = item.claims();
        let texts: Vec<String> = claims
            .claims
            .iter()
            .map(|c| match c {
                Claim::Samples { criterion, .. } => criterion.text.clone(),
                Claim::Resource { criterion, .. } => criterion.text.clone(),
                Claim::Recovery { criterion } => criterion.text.clone(),
            })
            .collect();
        if let Some(c) = &w.criterion {
            let norm = crate::verdict::normalise_criterion(c);
            let known = texts
                .iter()
                .any(|t| crate::verdict::normalise_criterion(t) == norm)
                || (texts.is_empty() && norm == "failures==0");
            if !known {
                ctx.diags.error_hint(
                    &format!("{at}.criterion"),
                    format!("item `{}` has no criterion `{c}`", w.item),
                    if texts.is_empty() {
                        "its only criterion is the default `failures == 0`".to_string()
                    } else {
                        format!("its criteria: {}", texts.join(", "))
                    },
                );
                ok = false;
            }
        }
        if let Some(status) = w.exclude.as_ref().and_then(|e| e.status) {
            if !(100..=599).contains(&status) {
                ctx.diags.error_hint(
                    &format!("{at}.exclude.status"),
                    format!("`{status}` is not an HTTP status"),
                    "write the status the known issue answers, from 100 to 599 (e.g. 500), or leave `status` out to exclude the whole request",
                );
                ok = false;
            }
        }
        let exclude_request = match (&w.exclude, &item.body) {
            (None, _) => None,
            (Some(e), ItemBody::Load(load)) => {
                if load.requests.iter().any(|r| r.name == e.request) {
                    Some(e.request.clone())
                } else {
                    let names: Vec<&str> = load.requests.iter().map(|r| r.name.as_str()).collect();
                    ctx.diags.error_hint(
                        &format!("{at}.exclude.request"),
                        format!(
                            "the scenario of `{}` has no request `{}`",
                            w.item, e.request
                        ),
                        format!("its requests: {}", names.join(", ")),
                    );
                    ok = false;
                    None
                }
            }
            (Some(_), _) => {
                ctx.diags.error(
                    &format!("{at}.exclude"),
                    format!(
                        "`exclude` leaves a request out of a load item; `{}` is not a load item",
                        w.item
                    ),
                );
                ok = false;
                None
            }
        };
        if let (true, Some(expires)) = (ok, expires) {
            out.push(Waiver {
                id: w.id.clone(),
                item: w.item.clone(),
                criterion: w.criterion.clone(),
                exclude_status: w.exclude.as_ref().and_then(|e| e.status),
                exclude_request,
                reason: w.reason.trim().to_string(),
                owner: w.owner.trim().to_string(),
                link: w.link.clone(),
                expires,
            });
        }
    }
    out
}
