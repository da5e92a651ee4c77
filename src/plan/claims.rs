//! What each planned item claims, in the judge's typed vocabulary: the compiler builds
//! the judge's input (as it builds every runtime type), so the judge never needs the plan.

use super::{ItemBody, ItemPlan, Plan};
use crate::verdict::{Claim, ItemClaims, ItemKind};

impl Plan {
    /// Every item's claims, in plan order (the order of its evidence).
    pub fn claims(&self) -> Vec<ItemClaims> {
        self.items().map(ItemPlan::claims).collect()
    }
}

impl ItemPlan {
    /// This item's claims: its criteria, a load's thresholds (per request where named)
    /// and recovery limits, or its resource criteria; a manual item claims its sign-off.
    pub fn claims(&self) -> ItemClaims {
        let (kind, claims) = match &self.body {
            ItemBody::Manual(m) => (
                ItemKind::Manual {
                    role: m.role.clone(),
                },
                Vec::new(),
            ),
            ItemBody::Check(c) => (
                ItemKind::Check,
                c.criteria
                    .iter()
                    .map(|criterion| Claim::Samples {
                        request: None,
                        criterion: criterion.clone(),
                    })
                    .collect(),
            ),
            ItemBody::Resources(r) => (
                ItemKind::Resources,
                r.criteria
                    .iter()
                    .map(|criterion| Claim::Resource {
                        service: r.service.clone(),
                        criterion: criterion.clone(),
                    })
                    .collect(),
            ),
            ItemBody::Load(load) => {
                let thresholds = load.thresholds.iter().map(|t| Claim::Samples {
                    request: t
                        .request
                        .and_then(|i| load.requests.get(i))
                        .map(|r| r.name.clone()),
                    criterion: t.criterion.clone(),
                });
                let recovery = load.recovery.iter().map(|r| Claim::Recovery {
                    criterion: r.clone(),
                });
                (ItemKind::Load, thresholds.chain(recovery).collect())
            }
        };
        ItemClaims {
            id: self.id.clone(),
            severity: self.severity,
            kind,
            claims,
        }
    }
}
