//! Every unknown key in a file at once. serde stops at the first structural error; this
//! walks the whole document against the checklist's JSON Schema (the same one editors
//! use) and reports each key the schema does not allow, at the key, with a suggestion.

use crate::diag::{did_you_mean, Diagnostic, LocationIndex, Pos};
use serde_json::Value;
use std::path::Path;

/// Diagnostics for every key of `text` that `schema` does not allow.
pub fn unknown_keys(
    file: &Path,
    text: &str,
    index: &LocationIndex,
    schema: &Value,
) -> Vec<Diagnostic> {
    let Ok(doc) = crate::diag::yaml::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut walker = Walker {
        file,
        index,
        root: schema,
        out: &mut out,
    };
    walker.walk(&doc, schema, "");
    out.sort_by_key(|d| (d.pos.line, d.pos.col));
    out
}

struct Walker<'a> {
    file: &'a Path,
    index: &'a LocationIndex,
    root: &'a Value,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Walker<'a> {
    /// Follows `$ref` into `$defs`.
    fn resolve<'s>(&self, mut s: &'s Value) -> &'s Value
    where
        'a: 's,
    {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match r
                .strip_prefix("#/$defs/")
                .and_then(|name| self.root["$defs"].get(name))
            {
                Some(def) => s = def,
                None => break,
            }
        }
        s
    }

    /// The branch of a `oneOf`/`anyOf` that describes `v`: for a tagged mapping the one
    /// whose `kind` matches; otherwise the first whose type fits.
    fn branch<'s>(&self, s: &'s Value, v: &Value) -> Option<&'s Value>
    where
        'a: 's,
    {
        let options = s.get("oneOf").or_else(|| s.get("anyOf"))?.as_array()?;
        options.iter().map(|o| self.resolve(o)).find(|o| {
            if o.get("oneOf").is_some() || o.get("anyOf").is_some() {
                return self.branch(o, v).is_some();
            }
            let type_fits = match (o.get("type").and_then(Value::as_str), v) {
                (Some("object"), Value::Object(_)) | (Some("array"), Value::Array(_)) => true,
                (Some("null"), Value::Null) | (None, _) => true,
                (Some(_), Value::Object(_) | Value::Array(_) | Value::Null) => false,
                (Some(_), _) => true,
            };
            let tag_fits = match (o.pointer("/properties/kind/const"), v.get("kind")) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => true,
            };
            type_fits && tag_fits
        })
    }

    fn walk(&mut self, v: &Value, schema: &Value, path: &str) {
        let mut s = self.resolve(schema);
        if s.get("oneOf").is_some() || s.get("anyOf").is_some() {
            match self.branch(s, v) {
                Some(b) => s = b,
                // No branch fits (an unknown `kind`): serde reports that one itself.
                None => return,
            }
            if s.get("oneOf").is_some() || s.get("anyOf").is_some() {
                return self.walk(v, s, path);
            }
        }
        match v {
            Value::Object(map) => {
                let props = s.get("properties").and_then(Value::as_object);
                let extra = s.get("additionalProperties");
                for (key, child) in map {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if let Some(p) = props.and_then(|p| p.get(key)) {
                        self.walk(child, p, &child_path);
                    } else if extra == Some(&Value::Bool(false)) {
                        let allowed: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let hint =
                            did_you_mean(key, allowed.iter().copied()).unwrap_or_else(|| {
                                format!("allowed keys here: {}", allowed.join(", "))
                            });
                        let pos = self
                            .index
                            .key_pos(&child_path)
                            .unwrap_or(Pos { line: 1, col: 1 });
                        self.out.push(Diagnostic {
                            file: self.file.to_path_buf(),
                            path: child_path,
                            pos,
                            message: format!("unknown key `{key}`"),
                            hint: Some(hint),
                            cause: None,
                            used_by: None,
                        });
                    } else if let Some(extra @ Value::Object(_)) = extra {
                        self.walk(child, extra, &child_path);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(item, item_schema, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_unknown_key_in_one_pass() {
        let text = "\
system: S
sytem_owner: x
phases:
  - id: a
    title: A
    items:
      - id: h
        title: H
        check: { kind: http, url: 'http://127.0.0.1:1', timout: 5s }
        sampels: 3
      - id: m
        title: M
        manual: { role: QA, rol: x }
";
        let index = LocationIndex::build(text);
        let found = unknown_keys(
            Path::new("c.yaml"),
            text,
            &index,
            &crate::spec::checklist_schema(),
        );
        let shown: Vec<String> = found
            .iter()
            .map(|d| format!("{}:{} {} {:?}", d.pos.line, d.pos.col, d.message, d.hint))
            .collect();
        assert_eq!(
            shown,
            [
                "2:1 unknown key `sytem_owner` Some(\"did you mean `system`?\")",
                "9:57 unknown key `timout` Some(\"did you mean `timeout`?\")",
                "10:9 unknown key `sampels` Some(\"did you mean `samples`?\")",
                "13:29 unknown key `rol` Some(\"did you mean `role`?\")",
            ]
        );
    }
}
