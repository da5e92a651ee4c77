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
    let message = match err.error.without_snippet() {
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

    #[test]
    fn syntax_errors_keep_the_parser_position() {
        let text = "items: [\n  - a\n";
        let err = super::super::yaml::from_str::<Outer>(text).unwrap_err();
        let d = from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err);
        assert!(d.pos.line >= 2, "{d}");
        assert!(!d.message.contains(" at line "), "{d}");
    }
}
