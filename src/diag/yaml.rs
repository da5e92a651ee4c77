//! The one way golive reads YAML into types: serde-saphyr with golive's options, and the
//! YAML path of the node an error is about (from `serde_path_to_error`: serde-saphyr's
//! errors carry a position but no path).

use serde::de::DeserializeOwned;
use serde_saphyr::{DefaultMessageFormatter, Error, MessageFormatter};
use std::fmt;

/// A deserialisation error and the YAML path where it happened.
#[derive(Debug)]
pub struct YamlError {
    /// Dotted path such as `phases[0].items[1].check`; empty at the top level, for syntax
    /// errors and for limits.
    pub path: String,
    /// Boxed to keep `Result<T, YamlError>` small.
    pub error: Box<Error>,
}

impl YamlError {
    /// The message alone, without position or path.
    pub fn message(&self) -> String {
        if self.is_limit() {
            // serde-saphyr's own text here is a Rust value (`Nodes { nodes: 250001 }`).
            return "the document is too large or too complex: it holds, or its aliases \
                    expand to, more than a checklist ever needs"
                .into();
        }
        DefaultMessageFormatter
            .format_message(self.root())
            .into_owned()
    }

    /// The error itself, out of the wrappers that add a snippet or an alias's position.
    pub fn root(&self) -> &Error {
        let mut e = self.error.as_ref();
        loop {
            match e {
                Error::WithSnippet { error, .. } | Error::AliasError { error, .. } => e = error,
                _ => return e,
            }
        }
    }

    /// Whether reading stopped at one of serde-saphyr's limits (nodes, events, aliases).
    fn is_limit(&self) -> bool {
        matches!(
            self.root(),
            Error::Budget { .. }
                | Error::AliasReplayLimitExceeded { .. }
                | Error::AliasExpansionLimitExceeded { .. }
                | Error::AliasReplayStackDepthExceeded { .. }
        )
    }

    /// Whether the parser rejected the text itself (as opposed to its shape or a value).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self.root(),
            Error::ExternalMessage { .. }
                | Error::Eof { .. }
                | Error::UnknownAnchor { .. }
                | Error::MultipleDocuments { .. }
        )
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message())
        } else {
            write!(f, "{}: {}", self.path, self.message())
        }
    }
}

impl std::error::Error for YamlError {}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // YAML 1.2 booleans only, as golive has always read them: `on`, `yes`, `off` and
        // `no` are text, so `verify: yes` is an error rather than a guess.
        strict_booleans: true,
        // `role:` with nothing after it reads as "" (and then fails validation with a
        // message about the role), not as a Rust type error.
        null_as_string: true,
        // The diagnostic shows the position; a rendered snippet would only be dropped.
        with_snippet: false,
    }
}

/// Deserialises one YAML document. A key written twice is an error, aliases are expanded
/// within serde-saphyr's default budget (alias bombs stop with an error, not with memory
/// exhausted), and more than one document is an error.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let mut path = String::new();
    serde_saphyr::with_deserializer_from_str_with_options(text, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|error| {
        // `serde_path_to_error` writes the top level as `.`.
        let path = if path == "." { String::new() } else { path };
        let mut e = YamlError {
            path,
            error: Box::new(error),
        };
        // The parser reads as the deserialiser asks, so a syntax error or a limit meets a
        // path; the text as a whole is wrong, not the value at that path.
        if e.is_syntax() || e.is_limit() {
            e.path.clear();
        }
        e
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Flags {
        on: bool,
        name: String,
    }

    #[test]
    fn reads_yaml_1_2_booleans_and_keeps_other_words_as_text() {
        let f: Flags = from_str("on: true\nname: no\n").unwrap();
        assert!(f.on);
        assert_eq!(f.name, "no");
        let e = from_str::<Flags>("on: yes\nname: x\n").unwrap_err();
        assert_eq!(e.path, "on");
        let v: Value = from_str("a: yes\nb: on\nc: 250\nd: 250ms\ne: ~\n").unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "yes", "b": "on", "c": 250, "d": "250ms", "e": null})
        );
    }

    #[test]
    fn errors_carry_the_path_and_the_position() {
        let e =
            from_str::<Vec<Flags>>("- on: true\n  name: x\n- on: true\n  nme: y\n").unwrap_err();
        assert_eq!(e.path, "[1].nme");
        let at = e.error.location().unwrap();
        assert_eq!((at.line(), at.column()), (4, 3));
        assert!(
            e.to_string().starts_with("[1].nme: unknown field `nme`"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_have_no_path() {
        let e = from_str::<Value>("a: [1, 2\nb: }").unwrap_err();
        assert!(e.is_syntax(), "{e:?}");
        assert_eq!(e.path, "");
    }

    #[test]
    fn an_alias_bomb_is_an_error_not_a_gigabyte() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        text.push_str("z: *a9\n");
        let e = from_str::<Value>(&text).unwrap_err();
        assert!(e.message().contains("too large or too complex"), "{e}");
        assert_eq!(e.path, "");
    }

    #[test]
    fn two_documents_are_an_error() {
        assert!(from_str::<Value>("a: 1\n---\nb: 2\n").is_err());
    }
}
