//! A container's named ports as written, `{api: 5002, web: 3000}`: kept in the order the
//! file gives them, because `{port}` means the first one. golive's YAML reader already
//! refuses a key written twice; the check here keeps a repeated name an error for any
//! other deserialiser too, never a silent overwrite.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// The most named ports a process or container form may declare.
pub const MAX_PORTS: usize = 16;

/// What a port name looks like: a lowercase identifier.
pub const PORT_NAME_PATTERN: &str = "^[a-z][a-z0-9_]*$";

/// Port name → container port, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedPorts(pub Vec<(String, u16)>);

impl<'de> Deserialize<'de> for NamedPorts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = NamedPorts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of port names to container ports, e.g. `{api: 5002, web: 3000}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NamedPorts, A::Error> {
                let mut all: Vec<(String, u16)> = Vec::new();
                while let Some((name, port)) = map.next_entry::<String, u16>()? {
                    if all.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!(
                            "the port name `{name}` is given twice"
                        )));
                    }
                    all.push((name, port));
                }
                Ok(NamedPorts(all))
            }
        }
        d.deserialize_map(Ordered)
    }
}

impl JsonSchema for NamedPorts {
    fn schema_name() -> Cow<'static, str> {
        "NamedPorts".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Port name → container port, e.g. `{api: 5002, web: 3000}`; each is published on its own free host port on 127.0.0.1.",
            "type": "object",
            "minProperties": 1,
            "maxProperties": MAX_PORTS,
            "propertyNames": { "pattern": PORT_NAME_PATTERN },
            "additionalProperties": { "type": "integer", "minimum": 1, "maximum": 65535 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_written_order_and_rejects_a_name_given_twice() {
        let p: NamedPorts = crate::diag::yaml::from_str("{web: 3000, api: 5002}").unwrap();
        assert_eq!(p.0, [("web".to_string(), 3000), ("api".to_string(), 5002)]);
        let e = crate::diag::yaml::from_str::<NamedPorts>("{web: 3000, web: 3001}").unwrap_err();
        assert!(e.to_string().contains("web"), "{e}");
        let json: Result<NamedPorts, _> = serde_json::from_str(r#"{"web": 3000, "web": 3001}"#);
        assert!(json.unwrap_err().to_string().contains("given twice"));
    }
}
