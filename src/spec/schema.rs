//! The published JSON Schemas of checklists and scenarios: what schemars derives from the
//! spec types, made as strict as the types allow (patterns for units, criteria and
//! expectations), with real defaults only (never `null`), Markdown descriptions for
//! editors, and a versioned `$id` so a checklist kept in another repository can point at
//! the schema of the golive release it was written for.

use schemars::{json_schema, Schema, SchemaGenerator};
use serde_json::Value;

/// Where released files are served from: the raw view of golive's repository. The one
/// place to change if the repository moves; a schema's URL is this, `/v<version>/`, and
/// its path in the repository.
pub const SCHEMA_BASE_URL: &str = "https://raw.githubusercontent.com/golive/golive";

/// The checklist schema's path in the repository.
pub const CHECKLIST_SCHEMA_PATH: &str = "checks/checklist.schema.json";

/// The scenario schema's path in the repository.
pub const SCENARIO_SCHEMA_PATH: &str = "scenarios/scenario.schema.json";

/// The versioned URL of a schema file of this golive release, e.g.
/// `https://raw.githubusercontent.com/golive/golive/v0.1.0/checks/checklist.schema.json`.
pub fn schema_url(path: &str) -> String {
    format!("{SCHEMA_BASE_URL}/v{}/{path}", env!("CARGO_PKG_VERSION"))
}

/// The derived schema made fit to publish: `$id`, how to reference it, no `"default":
/// null` (editors would insert `null`), and every description also as
/// `markdownDescription` (yaml-language-server renders that one, backticks included).
pub fn publish(schema: Schema, path: &str) -> Value {
    let mut v = serde_json::to_value(schema).unwrap_or_default();
    tidy(&mut v);
    if let Value::Object(root) = &mut v {
        let url = schema_url(path);
        root.insert(
            "$comment".into(),
            Value::String(format!(
                "Reference this schema from the first line of a YAML file: `# yaml-language-server: $schema={url}` (or a relative path to the copy beside it)."
            )),
        );
        root.insert("$id".into(), Value::String(url));
    }
    v
}

fn tidy(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::String(d)) = map.get("description") {
                if !map.contains_key("markdownDescription") {
                    let d = d.clone();
                    map.insert("markdownDescription".into(), Value::String(d));
                }
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

fn strings(pattern: String) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "string", "pattern": pattern } })
}

/// An item's criteria or a scenario's thresholds.
pub(super) fn criteria(_: &mut SchemaGenerator) -> Schema {
    strings(crate::expr::pattern::criterion())
}

/// Expectations of one check kind, or of a load request (any subject).
macro_rules! expectations {
    ($($name:ident => $subjects:ident),* $(,)?) => {$(
        pub(super) fn $name(_: &mut SchemaGenerator) -> Schema {
            strings(crate::expr::pattern::expectation(crate::expr::pattern::Subjects::$subjects))
        }
    )*};
}
expectations! {
    http_expectations => Http,
    tcp_expectations => Tcp,
    websocket_expectations => WebSocket,
    tls_expectations => Tls,
    command_expectations => Command,
    postgres_expectations => Postgres,
    redis_expectations => Redis,
    prometheus_expectations => Prometheus,
    request_expectations => Any,
}

/// A rollback rule's `when`.
pub(super) fn rule_condition(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "pattern": crate::expr::pattern::rule() })
}

/// A stage's duration: longer than 0s.
pub(super) fn stage_duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "description": "a duration longer than 0s, with a unit: us, ms, s, m or h (e.g. `30s`)",
        "pattern": crate::units::pattern::positive_duration(),
    })
}
