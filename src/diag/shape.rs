//! The shape of a YAML document, checked on granit-parser's event stream before anything
//! is built from it: nesting deeper than any checklist needs (a few kilobytes of `[[[[`
//! would otherwise cost gigabytes of paths and overflow the stack of recursive
//! deserialisers), and a key written twice in one mapping (YAML keeps the last one
//! silently, so the first is a setting the user believes in and golive would ignore).
//! The stream is read once, holding one frame per open collection, and stops at the
//! first collection past the limit.

use super::Pos;
use serde_saphyr::granit_parser::{ErrorKind, Event, Parser};
use std::collections::HashMap;

/// Deepest nesting of mappings and sequences accepted. A checklist item's deepest value
/// (`phases[0].items[0].check.tls.ca`) sits 6 levels down, a scenario's about as deep;
/// 64 leaves room for any hand-written file.
pub const MAX_DEPTH: usize = 64;

/// What is wrong with a document's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// A collection opens more than [`MAX_DEPTH`] levels down; nothing else was checked.
    TooDeep { at: Pos },
    /// `key` appears again in the same mapping.
    DuplicateKey { key: String, at: Pos, first: Pos },
}

impl ShapeError {
    pub fn pos(&self) -> Pos {
        match self {
            ShapeError::TooDeep { at } | ShapeError::DuplicateKey { at, .. } => *at,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ShapeError::TooDeep { .. } => {
                format!("the document nests more than {MAX_DEPTH} levels of mappings or sequences")
            }
            ShapeError::DuplicateKey { key, first, .. } => format!(
                "the key `{key}` is written twice in this mapping (first at {}:{}); YAML would \
                 keep only this one",
                first.line, first.col
            ),
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            ShapeError::TooDeep { .. } => "a checklist nests a few levels; is this the right file?",
            ShapeError::DuplicateKey { .. } => "keep one of them",
        }
    }
}

enum Frame {
    /// Scalar keys seen so far and where; `expect_key` alternates with each child.
    Map {
        keys: HashMap<String, Pos>,
        expect_key: bool,
    },
    Seq,
}

/// Checks `text`'s shape. A syntax error ends the check quietly: the deserialiser
/// reports it with its own position.
pub fn check(text: &str) -> Vec<ShapeError> {
    let mut errors = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            Some(Ok(e)) => e,
            // The scanner may read ahead through an open flow collection and give up at its
            // own nesting limit before the events past 64 reach this loop.
            Some(Err(e)) if matches!(e.kind(), ErrorKind::RecursionLimitExceeded) => {
                let m = e.marker();
                errors.push(ShapeError::TooDeep {
                    at: Pos {
                        line: m.line(),
                        col: m.col() + 1,
                    },
                });
                return errors;
            }
            Some(Err(_)) | None => break,
        };
        let at = Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        };
        // Is this node a mapping key? Then the next node is its value.
        let is_key = match stack.last_mut() {
            Some(Frame::Map { expect_key, .. })
                if !matches!(event, Event::MappingEnd | Event::SequenceEnd) =>
            {
                let was = *expect_key;
                *expect_key = !was;
                was
            }
            _ => false,
        };
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, ..) if is_key => {
                if let Some(Frame::Map { keys, .. }) = stack.last_mut() {
                    match keys.get(value.as_ref()) {
                        Some(&first) => errors.push(ShapeError::DuplicateKey {
                            key: value.into_owned(),
                            at,
                            first,
                        }),
                        None => {
                            keys.insert(value.into_owned(), at);
                        }
                    }
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    errors.push(ShapeError::TooDeep { at });
                    return errors;
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        keys: HashMap::new(),
                        expect_key: true,
                    }
                } else {
                    Frame::Seq
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checklist_shaped_document_passes() {
        let doc = "system: x\nphases:\n  - id: a\n    items:\n      - { id: b, check: { kind: http, tls: { ca: c } } }\n";
        assert_eq!(check(doc), vec![]);
    }

    #[test]
    fn nesting_past_the_limit_stops_at_the_first_collection_too_deep() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(&ok), vec![]);
        let deeper = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(
            check(&deeper),
            vec![ShapeError::TooDeep {
                at: Pos {
                    line: 1,
                    col: MAX_DEPTH + 1
                }
            }]
        );
        // 100,000 levels: stops at the first collection too deep, whoever notices it.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(check(&deep)[..], [ShapeError::TooDeep { .. }]));
        let block: String = (0..200)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(matches!(check(&block)[..], [ShapeError::TooDeep { .. }]));
    }

    #[test]
    fn a_key_written_twice_in_one_mapping_is_found_with_both_places() {
        let doc = "a: 1\nb:\n  c: 1\n  c: 2\nd: { e: 1, e: 2 }\na: 3\nf: [{ g: 1 }, { g: 2 }]\n";
        let errs = check(doc);
        let found: Vec<(String, Pos, Pos)> = errs
            .into_iter()
            .filter_map(|e| match e {
                ShapeError::DuplicateKey { key, at, first } => Some((key, at, first)),
                ShapeError::TooDeep { .. } => None,
            })
            .collect();
        let p = |line, col| Pos { line, col };
        assert_eq!(
            found,
            vec![
                ("c".into(), p(4, 3), p(3, 3)),
                ("e".into(), p(5, 12), p(5, 6)),
                ("a".into(), p(6, 1), p(1, 1)),
            ]
        );
    }

    #[test]
    fn keys_under_different_mappings_and_values_equal_to_keys_are_not_duplicates() {
        assert_eq!(check("a: a\nb: a\nc: { a: a }\n"), vec![]);
        assert_eq!(check("? [x]\n: 1\n? [x]\n: 2\n"), vec![]);
    }

    #[test]
    fn broken_yaml_is_left_to_the_deserialiser() {
        assert_eq!(check("a: [1, 2\nb: }"), vec![]);
    }
}
