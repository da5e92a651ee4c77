//! Turns a YAML deserialisation error into a located diagnostic with a fix: the unknown key
//! is pointed at exactly (found through the location index), and a close spelling is offered.

use super::{did_you_mean, Diagnostic, LocationIndex, Pos, YamlError};
use serde_saphyr::Error;
use std::path::Path;

/// The diagnostic for a YAML syntax or structure error in `file`.
pub fn from_serde_error(file: &Path, index: &LocationIndex, err: &YamlError) -> Diagnostic {
    let mut pos = err
        .error
        .location()
        .map(|l| Pos {
            line: usize::try_from(l.line()).unwrap_or(usize::MAX),
            col: usize::try_from(l.column()).unwrap_or(usize::MAX),
        })
        .filter(|p| p.line > 0)
        .unwrap_or(Pos { line: 1, col: 1 });
    let mut path = err.path.clone();
    let mut hint = None;
    let message = match err.root() {
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            // Point at the misspelt key itself. Its path usually ends with the key; inside a
            // tagged mapping (buffered before it is read) it stops at the mapping.
            if let Some((p, at)) = index.find_key_under(&path, field) {
                (path, pos) = (p, at);
            }
            hint = did_you_mean(field, expected.iter().copied()).or_else(|| {
                (!expected.is_empty())
                    .then(|| format!("allowed keys here: {}", expected.join(", ")))
            });
            format!("unknown key `{field}`")
        }
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            // At the value (serde-saphyr points a tag's bad value at its key).
            pos = node_pos(index, &path, pos);
            hint = did_you_mean(variant, expected.iter().copied())
                .or_else(|| Some(format!("expected one of: {}", expected.join(", "))));
            format!("unknown value `{variant}`")
        }
        Error::SerdeMissingField { field, .. } => {
            // At the mapping that lacks it (serde-saphyr points at its first key).
            pos = node_pos(index, &path, pos);
            format!("missing required key `{field}`")
        }
        Error::Unexpected { expected, .. } => {
            let expected = match *expected {
                "mapping start" | "empty mapping start" => "a mapping",
                "sequence start" => "a sequence",
                "string scalar" | "scalar" => "a single value",
                other => other,
            };
            expected_found(expected, index.written(&path))
        }
        Error::InvalidScalar { ty, .. } => {
            let expected = match *ty {
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number (0 or more)",
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
                "f32" | "f64" => "a number",
                other => other,
            };
            expected_found(expected, index.written(&path))
        }
        Error::InvalidBooleanStrict { .. } => {
            expected_found("`true` or `false`", index.written(&path))
        }
        Error::MultipleDocuments { .. } => {
            hint = Some("a checklist is one YAML document; remove the `---` before this".into());
            "a second YAML document starts here".into()
        }
        _ => {
            let message = err.message();
            // A value the deserialiser rejected ("`5` is not a valid duration"): find where
            // it was written below the path it knows.
            if let Some(value) = message.strip_prefix('`').and_then(|m| m.split('`').next()) {
                if let Some((p, at)) = index.find_scalar_under(&path, value) {
                    (path, pos) = (p, at);
                }
            }
            message
        }
    };
    Diagnostic {
        file: file.to_path_buf(),
        path,
        pos,
        message,
        hint,
        cause: None,
        used_by: None,
    }
}

fn expected_found(expected: &str, found: Option<String>) -> String {
    match found {
        Some(found) => format!("expected {expected}, found {found}"),
        None => format!("expected {expected}"),
    }
}

/// Where the node at `path` starts, or `fallback` when the path is not indexed.
fn node_pos(index: &LocationIndex, path: &str, fallback: Pos) -> Pos {
    if path.is_empty() || !index.has(path) {
        fallback
    } else {
        index.value_pos(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        timeout: String,
        url: String,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn unknown_key_points_at_the_key_with_a_suggestion() {
        let text = "items:\n  - url: x\n    timout: 5s\n";
        let err = super::super::yaml::from_str::<Outer>(text).unwrap_err();
        let d = from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err);
        assert_eq!(
            d.to_string(),
            "c.yaml:3:5: unknown key `timout` (at `items[0].timout`)\n  hint: did you mean `timeout`?"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Counted {
        samples: u32,
        items: Vec<Inner>,
    }

    fn shown(text: &str) -> String {
        let err = super::super::yaml::from_str::<Counted>(text).unwrap_err();
        from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err).to_string()
    }

    #[test]
    fn a_value_of_the_wrong_kind_says_what_was_expected_and_what_was_found() {
        assert_eq!(
            shown("samples: -3\nitems: []\n"),
            "c.yaml:1:10: expected a whole number (0 or more), found `-3` (at `samples`)"
        );
        assert_eq!(
            shown("samples: 3\nitems: { a: 1 }\n"),
            "c.yaml:2:8: expected a sequence, found a mapping (at `items`)"
        );
        assert_eq!(
            shown("samples: 3\nitems: [[x]]\n"),
            "c.yaml:2:9: expected a mapping, found a sequence (at `items[0]`)"
        );
    }

    #[test]
    fn syntax_errors_keep_the_parser_position() {
        let text = "items: [\n  - a\n";
        let err = super::super::yaml::from_str::<Outer>(text).unwrap_err();
        let d = from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err);
        assert!(d.pos.line >= 2, "{d}");
        assert!(!d.message.contains(" at line "), "{d}");
    }
}
