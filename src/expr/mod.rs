//! The readable surface of criteria and expectations (`p95 < 250ms`, `status == 200`,
//! `body.status == "UP"`, `header.content-type contains "json"`), parsed once into a
//! [`Comparison`]. What a subject means, and which values fit it, is decided in `plan`.
//!
//! ```
//! use golive::expr::{parse, Op};
//! let c = parse("p95 < 100ms").unwrap();
//! assert_eq!((c.subject_text(), c.op), ("p95".to_string(), Op::Lt));
//! let e = parse("p95 = 100ms").unwrap_err();
//! assert_eq!(e.offset, 4); // points at the `=`
//! ```

mod lexer;
mod parser;
pub mod pattern;

pub use parser::{parse, parse_path};

use crate::units::{ByteSize, Duration, Percent, Rate};
use std::fmt;

/// `subject op value`, with the offsets of each part in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub subject: Vec<PathSeg>,
    pub op: Op,
    pub value: Value,
    /// Character offsets of the subject, operator and value in the source.
    pub subject_at: usize,
    pub op_at: usize,
    pub value_at: usize,
}

impl Comparison {
    /// The subject written back as `a.b[0].c`.
    pub fn subject_text(&self) -> String {
        path_text(&self.subject)
    }
}

pub fn path_text(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathSeg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// One step of a dotted subject path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// A comparison operator; serialised as its symbol (`<`, `contains`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "contains")]
    Contains,
    #[serde(rename = "not contains")]
    NotContains,
    #[serde(rename = "matches")]
    Matches,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Contains => "contains",
            Op::NotContains => "not contains",
            Op::Matches => "matches",
        }
    }

    /// Whether `ordering` (observed compared with the bound) satisfies this operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Contains | Op::NotContains | Op::Matches => false,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A literal on the right-hand side; numbers with a unit are typed by that unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Duration(Duration),
    Percent(Percent),
    Bytes(ByteSize),
    Rate(Rate),
    /// Bytes per unit of time (`1MB/m`), kept as bytes per second.
    ByteRate {
        bytes_per_second: f64,
        text: String,
    },
    Str(String),
    Bool(bool),
    Null,
    /// The same measure in a baseline run, optionally moved by an offset
    /// (`baseline + 10%`, `baseline - 5ms`).
    Baseline {
        offset: Option<BaselineOffset>,
    },
}

/// `+ 10%` or `- 5ms` after `baseline`: a percentage of the baseline's value, or a
/// duration added to it.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineOffset {
    pub minus: bool,
    /// A [`Value::Percent`] or a [`Value::Duration`].
    pub amount: Box<Value>,
}

impl Value {
    /// What kind of literal this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Duration(_) => "a duration",
            Value::Percent(_) => "a percentage",
            Value::Bytes(_) => "a byte size",
            Value::Rate(_) => "a rate",
            Value::ByteRate { .. } => "a byte rate",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Baseline { .. } => "a baseline",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Duration(d) => write!(f, "{d}"),
            Value::Percent(p) => write!(f, "{p}"),
            Value::Bytes(b) => write!(f, "{b}"),
            Value::Rate(r) => write!(f, "{r}"),
            Value::ByteRate { text, .. } => f.write_str(text),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Baseline { offset: None } => f.write_str("baseline"),
            Value::Baseline {
                offset: Some(BaselineOffset { minus, amount }),
            } => write!(f, "baseline {} {amount}", if *minus { '-' } else { '+' }),
        }
    }
}

/// Why an expression did not parse, and where (character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}
