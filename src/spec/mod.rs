//! What users write: serde types for checklists, exactly as they appear in YAML, and
//! nothing more. Strict at the door (`deny_unknown_fields` everywhere, no untagged
//! shorthands); expressions and templates stay strings here and are parsed by `plan`.

mod check;
mod load;
mod monitor;
mod ports;
mod scenario;
mod schema;
mod service;
mod strict;

pub use check::*;
pub use load::{load_file, load_scenario, read_source, Source, MAX_FILE_BYTES};
pub use monitor::*;
pub use ports::{NamedPorts, MAX_PORTS, PORT_NAME_PATTERN};
pub use scenario::*;
pub use schema::{schema_url, CHECKLIST_SCHEMA_PATH, SCENARIO_SCHEMA_PATH, SCHEMA_BASE_URL};
pub use service::*;
pub use strict::unknown_keys;

use crate::units::{Duration, Percent};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A go-live checklist: the system, the services to bring up, and phases of items.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// Name of the system being released, e.g. "Stock Portfolio Management System".
    #[schemars(extend("examples" = ["Stock Portfolio Management System"]))]
    pub system: String,
    /// The release being judged, e.g. "1.0" or a git tag.
    #[serde(default)]
    #[schemars(extend("examples" = ["1.0", "v2.3.1"]))]
    pub release: Option<String>,
    /// Free text shown at the top of reports.
    #[serde(default)]
    pub description: Option<String>,
    /// Confidence level of every statistical claim (percentage). Default: 95%.
    #[serde(default)]
    #[schemars(extend("default" = "95%"))]
    pub confidence: Option<Percent>,
    /// Services to bring up (or reach) before the checks run, by name; checks refer to
    /// them as `{services.NAME.url}`.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Phases in the order they run, e.g. pre-deployment, staging validation, sign-off.
    #[schemars(extend("contains" = { "required": ["items"], "properties": { "items": { "minItems": 1 } } }))]
    pub phases: Vec<Phase>,
    /// Known issues carried as documented exceptions, each with an owner and an expiry.
    #[serde(default)]
    pub waivers: Vec<WaiverSpec>,
    /// How `golive monitor` runs this checklist forever (the gate ignores it).
    #[serde(default)]
    pub monitor: Option<MonitorSpec>,
}

/// A known issue carried as a documented exception: while in force, the FAILs it covers
/// are WAIVED (shown, never PASS, not blocking); after `expires` it is not applied.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverSpec {
    /// Short identifier, unique among the waivers.
    pub id: String,
    /// The id of the item it covers.
    pub item: String,
    /// The criterion it covers, as written in the item (e.g. `error_rate < 5%`). Default:
    /// every criterion of the item.
    #[serde(default)]
    #[schemars(extend("examples" = ["error_rate < 5%"]))]
    pub criterion: Option<String>,
    /// For a load item: what to leave out of the judged scope instead of waiving a FAIL.
    #[serde(default)]
    pub exclude: Option<WaiverExclude>,
    /// Why the issue is accepted for this release.
    pub reason: String,
    /// Who owns the fix.
    pub owner: String,
    /// Where the issue is tracked.
    #[serde(default)]
    pub link: Option<String>,
    /// The last day the waiver applies (UTC), as `YYYY-MM-DD`.
    #[schemars(extend("examples" = ["2026-12-31"]))]
    pub expires: String,
}

/// What a waiver leaves out of a load item's judged scope: a whole request, or only its
/// failed answers with one HTTP status.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverExclude {
    /// A request name of the item's scenario: "error rate < 5% excluding the known issue".
    pub request: String,
    /// An HTTP status (100 to 599): only the request's failed answers with this status are
    /// left out, so its other failures (another status, timeouts) still count. Default:
    /// the whole request.
    #[serde(default)]
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<u16>,
}

/// A file of waivers given with `--waivers`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverFile {
    pub waivers: Vec<WaiverSpec>,
}

/// A group of items, run in order.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Short identifier, unique in the checklist (letters, digits, `-`, `_`).
    #[schemars(extend("examples" = ["pre-deployment", "staging"]))]
    pub id: String,
    /// Human title, e.g. "Staging validation".
    pub title: String,
    /// The items of this phase.
    #[serde(default)]
    pub items: Vec<Item>,
}

/// One checklist item: an automated check with criteria, or a manual attestation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("not" = { "required": ["check", "manual"] }))]
pub struct Item {
    /// Short identifier, unique in the checklist; also the JUnit test name.
    #[schemars(extend("examples" = ["health", "api-latency"]))]
    pub id: String,
    /// What the item claims, e.g. "Health endpoints respond within 100ms".
    #[schemars(extend("examples" = ["Health endpoints respond within 100ms"]))]
    pub title: String,
    /// Longer explanation or the seed text it translates.
    #[serde(default)]
    pub description: Option<String>,
    /// blocker (default): its failure means NO-GO; warning and info never block.
    #[serde(default)]
    pub severity: Severity,
    /// The automated check; give either `check` or `manual`.
    #[serde(default)]
    pub check: Option<CheckSpec>,
    /// A manual attestation by a named role; give either `check` or `manual`.
    #[serde(default)]
    pub manual: Option<ManualSpec>,
    /// How many times the check runs; every claim is judged on all of them. Default: 1.
    #[serde(default)]
    #[schemars(extend("default" = 1, "examples" = [300]))]
    pub samples: Option<u32>,
    /// Pause between two samples of one worker (duration). Default: 0ms.
    #[serde(default)]
    #[schemars(extend("default" = "0ms", "examples" = ["100ms"]))]
    pub interval: Option<Duration>,
    /// How many samples run at once. Default: 1.
    #[serde(default)]
    #[schemars(extend("default" = 1, "examples" = [4]))]
    pub concurrency: Option<u32>,
    /// Claims over all samples, e.g. `p95 < 100ms`, `error_rate < 1%`. Default: every
    /// sample meets its expectations (`failures == 0`).
    #[serde(default)]
    #[schemars(schema_with = "schema::criteria", extend("examples" = [["p95 < 100ms", "error_rate < 1%"], ["failures == 0"], ["p95 <= baseline + 10%"], ["memory < 200MB", "restarts == 0"]]))]
    pub criteria: Vec<String>,
    /// How often `golive monitor` runs this item (duration). Default: `monitor.every`.
    #[serde(default)]
    #[schemars(extend("examples" = ["10s"]))]
    pub every: Option<Duration>,
}

/// How much an item's outcome weighs on the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A FAIL means NO-GO; INCONCLUSIVE means the verdict cannot be GO.
    #[default]
    Blocker,
    /// Reported, never blocks.
    Warning,
    /// Reported, never blocks.
    Info,
}

/// A person in a named role attests to the item; the run records who and when.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualSpec {
    /// The role that must sign, e.g. "Business Stakeholder".
    #[schemars(extend("examples" = ["QA Team Lead", "Business Stakeholder"]))]
    pub role: String,
    /// What the signer confirms.
    #[serde(default)]
    pub instructions: Option<String>,
}

/// The JSON Schema of checklists, for editors (yaml-language-server) and `golive schema`.
pub fn checklist_schema() -> serde_json::Value {
    schema::publish(schemars::schema_for!(Checklist), CHECKLIST_SCHEMA_PATH)
}
