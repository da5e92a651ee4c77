//! Claims written against a baseline run (`p95 <= baseline + 10%`): finding them, and
//! resolving them once the run has read its baseline, before anything runs, so sampling
//! stops early and runs beyond a threshold are tracked against the threshold that will be
//! judged.

use super::{ItemBody, Plan};
use crate::criteria::{BaselineFigures, Criterion};

/// One claim that needs a baseline: its item, request (for a load threshold on one
/// request) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineClaim {
    pub item: String,
    pub request: Option<String>,
    pub text: String,
}

impl std::fmt::Display for BaselineClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.request {
            Some(r) => write!(f, "`{}` of item `{}` (request `{r}`)", self.text, self.item),
            None => write!(f, "`{}` of item `{}`", self.text, self.item),
        }
    }
}

impl Plan {
    /// Every claim written against a baseline run, in plan order.
    pub fn baseline_claims(&self) -> Vec<BaselineClaim> {
        // With no baseline figures, every baseline claim is one the baseline lacks.
        self.clone()
            .resolve_baseline(|_, _| None)
            .err()
            .unwrap_or_default()
    }

    /// Resolves every baseline claim with the baseline's figures for its item (and
    /// request). The claims whose item or request the baseline does not have are returned
    /// as the error, and nothing is changed.
    pub fn resolve_baseline(
        &mut self,
        figures: impl Fn(&str, Option<&str>) -> Option<BaselineFigures>,
    ) -> Result<(), Vec<BaselineClaim>> {
        let confidence = self.confidence;
        let mut missing = Vec::new();
        let mut resolved = self.clone();
        for item in resolved.phases.iter_mut().flat_map(|p| p.items.iter_mut()) {
            let id = item.id.clone();
            for_each_mut(&mut item.body, &mut |request, c| {
                if !c.needs_baseline() {
                    return;
                }
                match figures(&id, request) {
                    Some(f) => *c = c.resolve(&f, confidence),
                    None => missing.push(BaselineClaim {
                        item: id.clone(),
                        request: request.map(str::to_string),
                        text: c.text.clone(),
                    }),
                }
            });
        }
        if missing.is_empty() {
            *self = resolved;
            Ok(())
        } else {
            Err(missing)
        }
    }
}

fn for_each_mut(body: &mut ItemBody, f: &mut dyn FnMut(Option<&str>, &mut Criterion)) {
    match body {
        ItemBody::Check(c) => c.criteria.iter_mut().for_each(|c| f(None, c)),
        ItemBody::Load(load) => {
            let names: Vec<String> = load.requests.iter().map(|r| r.name.clone()).collect();
            for t in &mut load.thresholds {
                let request = t.request.and_then(|i| names.get(i)).map(String::as_str);
                f(request, &mut t.criterion);
            }
        }
        ItemBody::Manual(_) | ItemBody::Resources(_) => {}
    }
}
