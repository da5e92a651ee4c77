//! Turns a serde_yaml_ng error into a located diagnostic with a fix: the unknown key is
//! pointed at exactly (found through the location index), and a close spelling is offered.

use super::location::join_key;
use super::{did_you_mean, Diagnostic, LocationIndex, Pos};
use std::path::Path;

/// The diagnostic for a YAML syntax or structure error in `file`.
pub fn from_serde_error(
    file: &Path,
    index: &LocationIndex,
    err: &serde_yaml_ng::Error,
) -> Diagnostic {
    // serde_yaml_ng renders "PATH: MESSAGE at line L column C" (libyaml's own errors may
    // carry a second position); keep PATH and MESSAGE, the position is reported apart.
    let text = strip_positions(&err.to_string());
    let (path, message) = split_path(&text);
    let mut pos = err
        .location()
        .map(|l| Pos {
            line: l.line(),
            col: l.column(),
        })
        .unwrap_or(Pos { line: 1, col: 1 });
    let mut hint = None;
    let mut message = message.to_string();

    let mut path = path.to_string();
    if let Some((word, expected)) = parse_unknown(&message, "unknown field") {
        // Point at the misspelt key itself rather than at its parent mapping (inside a
        // tagged mapping the deserialiser only knows the parent).
        if let Some(p) = index.key_pos(&join_key(&path, &word)) {
            pos = p;
        } else if let Some((p, at)) = index.find_key_under(&path, &word) {
            (path, pos) = (p, at);
        }
        hint = did_you_mean(&word, expected.iter().map(String::as_str)).or_else(|| {
            (!expected.is_empty()).then(|| format!("allowed keys here: {}", expected.join(", ")))
        });
        message = format!("unknown key `{word}`");
    } else if let Some((word, expected)) = parse_unknown(&message, "unknown variant") {
        hint = did_you_mean(&word, expected.iter().map(String::as_str))
            .or_else(|| Some(format!("expected one of: {}", expected.join(", "))));
        message = format!("unknown value `{word}`");
    } else if let Some(field) = message.strip_prefix("missing field ") {
        message = format!("missing required key {field}");
    } else if let Some(value) = message.strip_prefix('`').and_then(|m| m.split('`').next()) {
        // A value the deserialiser rejected ("`5` is not a valid duration"): find where
        // it was written below the path it knows.
        if let Some((p, at)) = index.find_scalar_under(&path, value) {
            (path, pos) = (p, at);
        }
    }
    Diagnostic {
        file: file.to_path_buf(),
        path,
        pos,
        message,
        hint,
    }
}

fn strip_positions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + " at line ".len()..];
        let skip = tail
            .find(" column ")
            .map(|c| c + " column ".len())
            .map(|c| {
                c + tail[c..]
                    .find(|ch: char| !ch.is_ascii_digit())
                    .unwrap_or(tail.len() - c)
            })
            .unwrap_or(0);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

fn split_path(body: &str) -> (&str, &str) {
    // A path has no spaces and ends with ": " before the message.
    match body.find(": ") {
        Some(cut) if !body[..cut].contains(' ') && !body[..cut].is_empty() => {
            (&body[..cut], &body[cut + 2..])
        }
        _ => ("", body),
    }
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
fn parse_unknown(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?.trim_start();
    let mut quoted = rest.split('`').skip(1).step_by(2).map(str::to_string);
    let word = quoted.next()?;
    Some((word, quoted.collect()))
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
        let err = serde_yaml_ng::from_str::<Outer>(text).unwrap_err();
        let d = from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err);
        assert_eq!(
            d.to_string(),
            "c.yaml:3:5: unknown key `timout` (at `items[0]`)\n  hint: did you mean `timeout`?"
        );
    }

    #[test]
    fn syntax_errors_keep_the_parser_position() {
        let text = "items: [\n  - a\n";
        let err = serde_yaml_ng::from_str::<Outer>(text).unwrap_err();
        let d = from_serde_error(Path::new("c.yaml"), &LocationIndex::build(text), &err);
        assert!(d.pos.line >= 2, "{d}");
        assert!(!d.message.contains(" at line "), "{d}");
    }
}
