//! Where every node of a YAML document starts, by path, so that errors found after
//! deserialisation (bad units, bad expressions, dangling references) still point at the
//! line and column the user wrote. Built from the events of granit-parser, the parser
//! serde-saphyr itself runs on, so positions and values come from one reading of the YAML.
//!
//! Why serde-saphyr: it is maintained, pure Rust without unsafe, bounds depth and alias
//! expansion, returns structured errors with positions, and re-exports its event parser,
//! which gives this index and the shape check the same spans. `saphyr` with hand-written
//! serde glue would have meant owning a deserialiser; `yaml-spanned` (0.0.x, libyaml-safer)
//! is too young to rely on. It replaced serde_yaml_ng (unsafe-libyaml, unmaintained) and a
//! second parse by yaml-rust2.

use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};
use std::collections::HashMap;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
struct Node {
    key: Option<Pos>,
    value: Pos,
    /// Columns to add to an offset inside the scalar (1 for a quoted scalar).
    quote: usize,
    /// The scalar's text, for finding a value an error message names.
    text: Option<String>,
    /// What a collection or alias is, for messages ("a sequence").
    kind: &'static str,
}

/// Positions of keys and values by dotted path (`phases[0].items[1].check.url`).
#[derive(Debug, Default)]
pub struct LocationIndex {
    nodes: HashMap<String, Node>,
    /// Child keys of each mapping, in document order, for "unknown key" lookups.
    keys: HashMap<String, Vec<String>>,
}

impl LocationIndex {
    /// Indexes `text`; a document that does not parse yields an empty index (the
    /// deserialiser reports the syntax error with its own position).
    pub fn build(text: &str) -> Self {
        let mut builder = Builder::default();
        // The first document only, as the deserialiser reads it; a syntax error ends the
        // index where it stands.
        for (event, span) in Parser::new_from_str(text).map_while(Result::ok) {
            if matches!(event, Event::DocumentEnd | Event::StreamEnd) {
                break;
            }
            builder.on_event(event, span.start);
        }
        builder.index
    }

    /// Where the value at `path` starts; falls back to its nearest indexed ancestor, then 1:1.
    pub fn value_pos(&self, path: &str) -> Pos {
        self.lookup(path)
            .map(|n| n.value)
            .unwrap_or(Pos { line: 1, col: 1 })
    }

    /// Whether the node at `path` itself is indexed.
    pub fn has(&self, path: &str) -> bool {
        self.nodes.contains_key(path)
    }

    /// Where the key naming `path` starts (for errors about the key itself).
    pub fn key_pos(&self, path: &str) -> Option<Pos> {
        self.nodes.get(path).and_then(|n| n.key)
    }

    /// A position `offset` characters into the single-line scalar at `path`.
    pub fn value_pos_at_offset(&self, path: &str, offset: usize) -> Pos {
        match self.nodes.get(path) {
            Some(n) => Pos {
                line: n.value.line,
                col: n.value.col + n.quote + offset,
            },
            None => self.value_pos(path),
        }
    }

    /// The first key named `key` at or below `prefix` (document order), with its path.
    /// Used when the deserialiser knows the enclosing mapping but not the exact key.
    pub fn find_key_under(&self, prefix: &str, key: &str) -> Option<(String, Pos)> {
        let suffix = format!(".{key}");
        self.nodes
            .iter()
            .filter(|(p, _)| under(p, prefix) && (p.ends_with(&suffix) || p.as_str() == key))
            .filter_map(|(p, n)| n.key.map(|k| (p.clone(), k)))
            .min_by_key(|(_, k)| (k.line, k.col))
    }

    /// The first scalar written as `text` at or below `prefix`, with its path.
    pub fn find_scalar_under(&self, prefix: &str, text: &str) -> Option<(String, Pos)> {
        self.nodes
            .iter()
            .filter(|(p, n)| n.text.as_deref() == Some(text) && under(p, prefix))
            .map(|(p, n)| (p.clone(), n.value))
            .min_by_key(|(_, v)| (v.line, v.col))
    }

    /// What is written at `path`, for messages: `` `abc` `` for a scalar, else "a mapping",
    /// "a sequence" or "an alias".
    pub fn written(&self, path: &str) -> Option<String> {
        let n = self.nodes.get(path)?;
        Some(match &n.text {
            Some(t) => format!("`{t}`"),
            None => n.kind.to_string(),
        })
    }

    /// The keys written in the mapping at `path`.
    pub fn keys_of(&self, path: &str) -> &[String] {
        self.keys.get(path).map(Vec::as_slice).unwrap_or(&[])
    }

    fn lookup(&self, path: &str) -> Option<&Node> {
        let mut p = path;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return Some(n);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn under(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path.starts_with(&format!("{prefix}."))
        || path.starts_with(&format!("{prefix}["))
}

/// Joins a mapping key onto a path: `a` + `b` → `a.b`.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

enum Frame {
    Map {
        path: String,
        pending_key: Option<(String, Pos)>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    index: LocationIndex,
    stack: Vec<Frame>,
}

fn pos(m: &Marker) -> Pos {
    // granit-parser counts lines from 1 and columns (characters) from 0.
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

impl Builder {
    /// The path of the node that starts now, and the key position it hangs from. Returns
    /// `None` when the event is a mapping key rather than a value.
    fn place(&mut self, scalar_key: Option<&str>, at: Pos) -> Option<(String, Option<Pos>)> {
        match self.stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some((p, None))
            }
            Some(Frame::Map { path, pending_key }) => match pending_key.take() {
                Some((key, key_pos)) => Some((join_key(path, &key), Some(key_pos))),
                None => {
                    let key = scalar_key.unwrap_or("?").to_string();
                    self.index
                        .keys
                        .entry(path.clone())
                        .or_default()
                        .push(key.clone());
                    *pending_key = Some((key, at));
                    None
                }
            },
        }
    }
}

impl Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = pos(&mark);
        match ev {
            Event::Scalar(value, style, ..) => {
                if let Some((path, key)) = self.place(Some(&value), at) {
                    let quote = usize::from(matches!(
                        style,
                        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
                    ));
                    self.index.nodes.insert(
                        path,
                        Node {
                            key,
                            value: at,
                            quote,
                            text: Some(value.into_owned()),
                            kind: "a value",
                        },
                    );
                }
            }
            Event::Alias(_) => {
                if let Some((path, key)) = self.place(None, at) {
                    self.index.nodes.insert(
                        path,
                        Node {
                            key,
                            value: at,
                            quote: 0,
                            text: None,
                            kind: "an alias",
                        },
                    );
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A collection used as a mapping key has no useful path; index it as "?".
                let (path, key) = self
                    .place(Some("?"), at)
                    .unwrap_or_else(|| ("?".into(), None));
                self.index.nodes.insert(
                    path.clone(),
                    Node {
                        key,
                        value: at,
                        quote: 0,
                        text: None,
                        kind: if is_map { "a mapping" } else { "a sequence" },
                    },
                );
                self.stack.push(if is_map {
                    Frame::Map {
                        path,
                        pending_key: None,
                    }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
system: Portfolio
phases:
  - id: staging
    items:
      - id: health
        criteria: [p95 < 100ms, \"error_rate < 1%\"]
        check: { kind: http, url: x }
";

    #[test]
    fn finds_values_and_keys() {
        let idx = LocationIndex::build(DOC);
        assert_eq!(idx.value_pos("system"), Pos { line: 1, col: 9 });
        assert_eq!(idx.key_pos("system"), Some(Pos { line: 1, col: 1 }));
        assert_eq!(idx.value_pos("phases[0].id"), Pos { line: 3, col: 9 });
        assert_eq!(
            idx.value_pos("phases[0].items[0].criteria[0]"),
            Pos { line: 6, col: 20 }
        );
        assert_eq!(
            idx.value_pos("phases[0].items[0].criteria[1]"),
            Pos { line: 6, col: 33 }
        );
        assert_eq!(
            idx.value_pos_at_offset("phases[0].items[0].criteria[1]", 11),
            Pos { line: 6, col: 45 }
        );
        assert_eq!(
            idx.key_pos("phases[0].items[0].check.url"),
            Some(Pos { line: 7, col: 30 })
        );
        assert_eq!(idx.keys_of("phases[0].items[0].check"), ["kind", "url"]);
        assert_eq!(idx.written("phases[0].id").as_deref(), Some("`staging`"));
        assert_eq!(idx.written("phases").as_deref(), Some("a sequence"));
        assert_eq!(
            idx.written("phases[0].items[0].check").as_deref(),
            Some("a mapping")
        );
    }

    #[test]
    fn unknown_paths_fall_back_to_the_nearest_ancestor() {
        let idx = LocationIndex::build(DOC);
        assert_eq!(
            idx.value_pos("phases[0].items[0].check.nope"),
            Pos { line: 7, col: 16 }
        );
        assert_eq!(idx.value_pos("nothing.here"), Pos { line: 1, col: 1 });
    }

    #[test]
    fn broken_yaml_gives_an_empty_index() {
        let idx = LocationIndex::build("a: [1, 2\nb: }");
        assert_eq!(idx.value_pos("a"), Pos { line: 1, col: 4 });
    }
}
