//! Every default in one place; spec field docs name these values.

use crate::units::{ByteSize, Duration};

pub const CONFIDENCE: f64 = 0.95;
pub const SAMPLES: u32 = 1;
pub const MAX_SAMPLES: u32 = 1_000_000;
pub const CONCURRENCY: u32 = 1;
pub const MAX_CONCURRENCY: u32 = 256;
pub const INTERVAL: Duration = Duration::ZERO;
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);
pub const WEBSOCKET_TIMEOUT: Duration = Duration::from_secs(5);
pub const TLS_TIMEOUT: Duration = Duration::from_secs(5);
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
pub const POSTGRES_TIMEOUT: Duration = Duration::from_secs(5);
pub const POSTGRES_QUERY: &str = "SELECT 1";
pub const POSTGRES_REUSE_CONNECTION: bool = true;
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(5);
pub const PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(5);
pub const REDIS_COMMAND: &str = "PING";
pub const MAX_BODY: ByteSize = ByteSize::from_bytes(1 << 20);
pub const MAX_REDIRECTS: u32 = 20;
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_IN_FLIGHT: u32 = 1000;
/// The most users, connections or requests in flight one load run may ask for. Each
/// costs a task and a connection's buffers (tens of KB; the histograms are shared per
/// runtime thread), and one machine's engine saturates long before: more is a typo or
/// needs sharding (`--shard`), never a reason to abort at start.
pub const MAX_LOAD_WORKERS: u32 = 10_000;
pub const CONNECTIONS: u32 = 50;
/// What `golive load --url` judges when no `--threshold` is given: a run whose every
/// request failed must not exit 0.
pub const ADHOC_THRESHOLD: &str = "error_rate < 1%";
pub const RULE_WINDOW: Duration = Duration::from_secs(10);
pub const MIN_RULE_WINDOW: Duration = Duration::from_millis(100);
pub const RULE_MIN_SAMPLES: u64 = 20;
pub const PROCESS_URL: &str = "http://127.0.0.1:{port}";

// The monitor (`monitor:`).
pub const MONITOR_EVERY: Duration = Duration::from_secs(30);
/// Each interval spread by up to ±10%.
pub const MONITOR_JITTER: f64 = 0.10;
pub const MONITOR_SAMPLES: u32 = 1;
pub const MONITOR_RULE_WINDOW: Duration = Duration::from_secs(60);
pub const MONITOR_RULE_MIN_SAMPLES: u64 = 5;
pub const MONITOR_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// The shortest retention: the status page shows uptime over the last hour.
pub const MONITOR_MIN_RETENTION: Duration = Duration::from_secs(3600);
pub const MONITOR_RESEND: Duration = Duration::from_secs(60);
pub const OBJECTIVE_MIN_SAMPLES: u64 = 10;

/// How long a `pause` drill keeps a service frozen.
pub const PAUSE_FOR: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn default_of(schema: &Value, def: &str, prop: &str) -> Value {
        schema["$defs"][def]["properties"][prop]["default"].clone()
    }

    /// The schemas state these defaults for editors; they must be the ones used here.
    #[test]
    fn the_schemas_state_these_defaults() {
        let checklist = crate::spec::checklist_schema();
        let scenario = crate::spec::scenario_schema();
        let duration =
            |v: Value| -> Duration { v.as_str().unwrap_or_else(|| panic!("{v}")).parse().unwrap() };
        for (schema, def, prop, want) in [
            (&checklist, "Item", "interval", INTERVAL),
            (&checklist, "Service", "startup_timeout", STARTUP_TIMEOUT),
            (&scenario, "RuleSpec", "window", RULE_WINDOW),
            (&checklist, "MonitorSpec", "every", MONITOR_EVERY),
            (&checklist, "MonitorSpec", "retention", MONITOR_RETENTION),
            (&checklist, "MonitorSpec", "resend", MONITOR_RESEND),
            (&checklist, "AlertRuleSpec", "window", MONITOR_RULE_WINDOW),
        ] {
            assert_eq!(
                duration(default_of(schema, def, prop)),
                want,
                "{def}.{prop}"
            );
        }
        for (schema, def, prop, want) in [
            (&checklist, "Item", "samples", json!(SAMPLES)),
            (&checklist, "Item", "concurrency", json!(CONCURRENCY)),
            (&checklist, "ProcessSpec", "url", json!(PROCESS_URL)),
            (
                &scenario,
                "RuleSpec",
                "min_samples",
                json!(RULE_MIN_SAMPLES),
            ),
            (&checklist, "MonitorSpec", "samples", json!(MONITOR_SAMPLES)),
            (&checklist, "MonitorSpec", "jitter", json!("10%")),
            (
                &checklist,
                "AlertRuleSpec",
                "min_samples",
                json!(MONITOR_RULE_MIN_SAMPLES),
            ),
            (
                &checklist,
                "ObjectiveSpec",
                "min_samples",
                json!(OBJECTIVE_MIN_SAMPLES),
            ),
        ] {
            assert_eq!(default_of(schema, def, prop), want, "{def}.{prop}");
        }
        let confidence: crate::units::Percent = checklist["properties"]["confidence"]["default"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(confidence.fraction(), CONFIDENCE);
        // Check kinds are inlined in CheckSpec's branches: find each by its `kind`.
        let kinds = checklist["$defs"]["CheckSpec"]["oneOf"]
            .as_array()
            .or(checklist["$defs"]["CheckSpec"]["anyOf"].as_array())
            .unwrap();
        let kind = |k: &str| {
            kinds
                .iter()
                .find(|b| b["properties"]["kind"]["const"] == k)
                .unwrap_or_else(|| panic!("{k}"))
        };
        for (k, want) in [
            ("http", HTTP_TIMEOUT),
            ("tcp", TCP_TIMEOUT),
            ("websocket", WEBSOCKET_TIMEOUT),
            ("tls", TLS_TIMEOUT),
            ("command", COMMAND_TIMEOUT),
            ("postgres", POSTGRES_TIMEOUT),
            ("redis", REDIS_TIMEOUT),
            ("prometheus", PROMETHEUS_TIMEOUT),
        ] {
            assert_eq!(
                duration(kind(k)["properties"]["timeout"]["default"].clone()),
                want,
                "{k}"
            );
        }
        assert_eq!(
            kind("http")["properties"]["max_body"]["default"]
                .as_str()
                .unwrap()
                .parse::<ByteSize>()
                .unwrap(),
            MAX_BODY
        );
        assert_eq!(
            kind("postgres")["properties"]["query"]["default"],
            json!(POSTGRES_QUERY)
        );
        assert_eq!(
            kind("postgres")["properties"]["reuse_connection"]["default"],
            json!(POSTGRES_REUSE_CONNECTION)
        );
        assert_eq!(
            kind("redis")["properties"]["command"]["default"],
            json!([REDIS_COMMAND])
        );
    }
}
