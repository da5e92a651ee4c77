//! The `monitor:` section: how `golive monitor` runs a checklist forever. The gate ignores
//! it; the monitor reads it with the same items, checks and services.

use super::NoData;
use crate::units::{Duration, Percent};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// How `golive monitor` watches this checklist: every automated check item runs on its
/// own interval, alert rules and objectives judge what the ticks measured, and
/// notifications go to Alertmanager or a webhook.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Time between two ticks of an item, unless the item sets `every` (duration).
    /// Default: 30s.
    #[serde(default)]
    #[schemars(extend("default" = "30s", "examples" = ["10s"]))]
    pub every: Option<Duration>,
    /// Each interval is spread at random by up to this share either way, so items do
    /// not tick in step. Default: 10%.
    #[serde(default)]
    #[schemars(extend("default" = "10%"))]
    pub jitter: Option<Percent>,
    /// Samples each tick of an item takes (its `samples` is the gate's count). Default: 1.
    #[serde(default)]
    #[schemars(extend("default" = 1))]
    pub samples: Option<u32>,
    /// Alert rules over an item's ticks, in consecutive windows.
    #[serde(default)]
    pub rules: Vec<AlertRuleSpec>,
    /// Service level objectives with error budgets and burn-rate alerts.
    #[serde(default)]
    pub objectives: Vec<ObjectiveSpec>,
    /// Prometheus Alertmanager to send alerts to (its v2 API).
    #[serde(default)]
    pub alertmanager: Option<ReceiverSpec>,
    /// A URL that receives every firing and resolved notification as JSON.
    #[serde(default)]
    pub webhook: Option<ReceiverSpec>,
    /// Periods when notifications are held back; ticks and rules keep recording.
    #[serde(default)]
    pub maintenance: Vec<MaintenanceSpec>,
    /// How long ticks, incidents and delivered notifications are kept in the state file
    /// (duration); objectives' windows must fit in it. Default: 7d.
    #[serde(default)]
    #[schemars(extend("default" = "7d"))]
    pub retention: Option<Duration>,
    /// How often firing alerts are sent to Alertmanager again, which keeps them from
    /// expiring there (duration). Default: 1m.
    #[serde(default)]
    #[schemars(extend("default" = "1m"))]
    pub resend: Option<Duration>,
}

/// An alert rule: `when` holds in every window for `for` → the alert fires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSpec {
    /// The alert's name and stable id: its state survives restarts under this name.
    #[schemars(extend("examples" = ["api-errors"]))]
    pub name: String,
    /// The item whose ticks it watches.
    pub item: String,
    /// The breach condition, e.g. `error_rate > 5%`, `p95 > 500ms`.
    #[schemars(schema_with = "super::schema::rule_condition", extend("examples" = ["error_rate > 5%", "p95 > 500ms"]))]
    pub when: String,
    /// How long the condition must hold, in consecutive windows (duration).
    #[serde(rename = "for")]
    pub for_: Duration,
    /// Window length (duration). Default: 1m.
    #[serde(default)]
    #[schemars(extend("default" = "1m"))]
    pub window: Option<Duration>,
    /// Fewest samples a window needs to be judged. Default: 5.
    #[serde(default)]
    #[schemars(extend("default" = 5))]
    pub min_samples: Option<u64>,
    /// What a window with fewer samples means: ignore, breach (default: silence from a
    /// monitored item is an outage), or clear.
    #[serde(default)]
    #[schemars(extend("default" = "breach"))]
    pub no_data: Option<NoData>,
    /// How long the condition must stay false before a firing alert resolves (duration).
    /// Default: the `for` duration.
    #[serde(default)]
    pub clear_for: Option<Duration>,
    /// Labels the alert carries (Alertmanager routes on them), e.g. `severity: page`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Free text sent with the alert, e.g. `summary`, `runbook_url`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A service level objective over one item's samples.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// The objective's name and stable id.
    pub name: String,
    /// The item whose samples it counts.
    pub item: String,
    /// `availability > 99.5% over 30d`, or `99% of samples < 300ms over 7d`.
    #[schemars(extend("examples" = ["availability > 99.5% over 30d", "99% of samples < 300ms over 7d"]))]
    pub objective: String,
    /// Burn-rate alerts: each fires while both its windows spend the budget faster than
    /// `factor`. Default: 1h/5m at 14.4 and 6h/30m at 6, both `severity: page`.
    #[serde(default)]
    pub alerts: Option<Vec<BurnAlertSpec>>,
    /// Fewest samples an alert's short window needs before it may fire. Default: 10.
    #[serde(default)]
    #[schemars(extend("default" = 10))]
    pub min_samples: Option<u64>,
    /// Labels every alert of this objective carries.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One multi-window burn-rate alert.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BurnAlertSpec {
    /// The long window (duration), e.g. 1h.
    pub long: Duration,
    /// The short window (duration), e.g. 5m.
    pub short: Duration,
    /// Burn rate both windows must exceed, e.g. 14.4.
    pub factor: f64,
    /// The alert's `severity` label. Default: page.
    #[serde(default)]
    pub severity: Option<String>,
}

/// Where notifications go.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSpec {
    /// Base URL, e.g. `http://127.0.0.1:9093` for Alertmanager; `{env.NAME}` allowed.
    pub url: String,
    /// Headers sent with each notification, e.g. `Authorization: "Bearer {env.TOKEN}"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A period when notifications are held back.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSpec {
    /// Start, RFC 3339, e.g. `2026-12-01T02:00:00Z`.
    pub from: String,
    /// End, RFC 3339.
    pub to: String,
    /// Why, shown on the status page.
    #[serde(default)]
    pub reason: Option<String>,
}
