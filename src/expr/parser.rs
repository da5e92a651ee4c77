//! `subject op value` by recursive descent over the tokens.

use super::lexer::{lex, Tok};
use super::{BaselineOffset, Comparison, Op, ParseError, PathSeg, Value};

const SHAPE: &str = "write `subject operator value`, e.g. `p95 < 100ms` or `status == 200`";

/// Parses one comparison; the error carries the character offset of the problem.
pub fn parse(input: &str) -> Result<Comparison, ParseError> {
    let toks = lex(input)?;
    let end = input.chars().count();
    let mut p = Parser { toks, pos: 0, end };
    let subject_at = p.offset();
    let subject = p.path()?;
    let op_at = p.offset();
    let op = p.op()?;
    let value_at = p.offset();
    let value = p.value()?;
    if let Some((at, tok)) = p.toks.get(p.pos) {
        return Err(ParseError {
            offset: *at,
            message: format!("unexpected {} after the value; {SHAPE}", describe(tok)),
        });
    }
    Ok(Comparison {
        subject,
        op,
        value,
        subject_at,
        op_at,
        value_at,
    })
}

/// Parses a lone subject path (`body.connectionToken`, `message.items[0].id`), as a
/// capture names the value it takes.
pub fn parse_path(input: &str) -> Result<Vec<PathSeg>, ParseError> {
    let toks = lex(input)?;
    let end = input.chars().count();
    let mut p = Parser { toks, pos: 0, end };
    let path = p.path()?;
    if let Some((at, tok)) = p.toks.get(p.pos) {
        return Err(ParseError {
            offset: *at,
            message: format!(
                "unexpected {} after the path; write a path such as `body.token`",
                describe(tok)
            ),
        });
    }
    Ok(path)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Number(n) => format!("`{n}`"),
        Tok::Str(s) => format!("the string {s:?}"),
        Tok::Dot => "`.`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Sign(c) => format!("`{c}`"),
    }
}

impl Parser {
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map(|t| t.0).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset,
            message: message.into(),
        })
    }

    fn path(&mut self) -> Result<Vec<PathSeg>, ParseError> {
        let mut path = match self.next() {
            Some((_, Tok::Word(w))) => vec![PathSeg::Key(w)],
            Some((at, tok)) => {
                return self.err(
                    at,
                    format!(
                        "expected a subject such as `p95` or `status`, found {}; {SHAPE}",
                        describe(&tok)
                    ),
                )
            }
            None => return self.err(0, format!("the expression is empty; {SHAPE}")),
        };
        loop {
            match self.toks.get(self.pos) {
                Some((_, Tok::Dot)) => {
                    self.pos += 1;
                    match self.next() {
                        Some((_, Tok::Word(w))) => path.push(PathSeg::Key(w)),
                        // `p99.9` lexes as word `p99`, dot, number `9`.
                        Some((_, Tok::Number(n))) if n.chars().all(|c| c.is_ascii_digit()) => {
                            if let Some(PathSeg::Key(last)) = path.last_mut() {
                                last.push('.');
                                last.push_str(&n);
                            }
                        }
                        Some((at, tok)) => {
                            return self.err(
                                at,
                                format!("expected a name after `.`, found {}", describe(&tok)),
                            )
                        }
                        None => return self.err(self.end, "expected a name after `.`"),
                    }
                }
                Some((_, Tok::LBracket)) => {
                    self.pos += 1;
                    let index = match self.next() {
                        Some((at, Tok::Number(n))) => n
                            .parse::<usize>()
                            .or_else(|_| self.err(at, format!("`{n}` is not a list index")))?,
                        Some((at, tok)) => {
                            return self.err(
                                at,
                                format!("expected a list index, found {}", describe(&tok)),
                            )
                        }
                        None => return self.err(self.end, "expected a list index after `[`"),
                    };
                    match self.next() {
                        Some((_, Tok::RBracket)) => path.push(PathSeg::Index(index)),
                        other => {
                            return self.err(other.map(|t| t.0).unwrap_or(self.end), "expected `]`")
                        }
                    }
                }
                _ => return Ok(path),
            }
        }
    }

    fn op(&mut self) -> Result<Op, ParseError> {
        let op = match self.next() {
            Some((_, Tok::Op(o))) => match o {
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "==" => Op::Eq,
                _ => Op::Ne,
            },
            Some((_, Tok::Word(w))) if w == "contains" => Op::Contains,
            Some((_, Tok::Word(w))) if w == "matches" => Op::Matches,
            Some((at, Tok::Word(w))) if w == "not" => match self.next() {
                Some((_, Tok::Word(w))) if w == "contains" => Op::NotContains,
                _ => return self.err(at, "`not` must be followed by `contains`"),
            },
            Some((at, tok)) => {
                return self.err(
                    at,
                    format!("expected an operator (<, <=, >, >=, ==, !=, contains, not contains, matches), found {}", describe(&tok)),
                )
            }
            None => return self.err(self.end, format!("expected an operator after the subject; {SHAPE}")),
        };
        Ok(op)
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        match self.next() {
            Some((_, Tok::Str(s))) => Ok(Value::Str(s)),
            Some((_, Tok::Word(w))) => match w.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                "null" => Ok(Value::Null),
                "baseline" => self.baseline_offset(),
                _ if w.starts_with("baseline-") => self.err(
                    self.toks[self.pos - 1].0 + "baseline".len(),
                    format!(
                        "write the offset with spaces: `baseline - {}`",
                        &w["baseline-".len()..]
                    ),
                ),
                _ => self.err(
                    self.toks[self.pos - 1].0,
                    format!("`{w}` is not a value; put text in quotes: \"{w}\""),
                ),
            },
            Some((at, Tok::Number(n))) => number(&n).map_err(|message| ParseError {
                offset: at,
                message,
            }),
            Some((at, tok)) => self.err(at, format!("expected a value, found {}", describe(&tok))),
            None => self.err(
                self.end,
                format!("expected a value after the operator; {SHAPE}"),
            ),
        }
    }
}

impl Parser {
    /// After `baseline`: nothing, or `+`/`-` and a number with its unit (`baseline + 10%`,
    /// `baseline - 5ms`).
    fn baseline_offset(&mut self) -> Result<Value, ParseError> {
        let minus = match self.toks.get(self.pos) {
            None => return Ok(Value::Baseline { offset: None }),
            Some((_, Tok::Sign(c))) => {
                let minus = *c == '-';
                self.pos += 1;
                minus
            }
            // `baseline -10%`: the lexer read the sign into the number.
            Some((_, Tok::Number(n))) if n.starts_with('-') => false,
            Some((at, tok)) => {
                return self.err(
                    *at,
                    format!(
                        "unexpected {} after `baseline`; write `baseline`, `baseline + 10%` or `baseline - 5ms`",
                        describe(tok)
                    ),
                )
            }
        };
        match self.next() {
            Some((at, Tok::Number(n))) => {
                // `baseline -10%`: the lexer read the sign into the number.
                let (signed, body) = match n.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, n.as_str()),
                };
                let v = number(body).map_err(|message| ParseError {
                    offset: at,
                    message,
                })?;
                let minus = minus || signed;
                match v {
                    Value::Percent(_) | Value::Duration(_) => Ok(Value::Baseline {
                        offset: Some(BaselineOffset {
                            minus,
                            amount: Box::new(v),
                        }),
                    }),
                    other => self.err(
                        at,
                        format!(
                            "a baseline offset is a percentage (`baseline + 10%`) or a duration (`baseline + 5ms`), not {}",
                            other.kind()
                        ),
                    ),
                }
            }
            Some((at, tok)) => self.err(
                at,
                format!(
                    "expected an offset such as `10%` after the sign, found {}",
                    describe(&tok)
                ),
            ),
            None => self.err(
                self.end,
                "expected an offset such as `10%` after the sign".to_string(),
            ),
        }
    }
}

/// `1MB/m`: a byte size per second, minute or hour.
fn byte_rate(text: &str, unit_start: usize) -> Result<Value, String> {
    let (size, per) = text.split_once('/').unwrap_or((text, ""));
    let seconds = match per {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "`{text}`: a byte rate is per s, m or h, not per `{other}` (e.g. 1MB/m)"
            ))
        }
    };
    if unit_start >= size.len() {
        return Err(format!("`{text}`: write a size before `/`, e.g. 1MB/m"));
    }
    let bytes: crate::units::ByteSize = size
        .parse()
        .map_err(|e: crate::units::UnitError| format!("`{text}`: {e}"))?;
    Ok(Value::ByteRate {
        bytes_per_second: bytes.bytes() as f64 / seconds,
        text: text.to_string(),
    })
}

/// A number and its unit: the unit decides the type; no unit is a plain number.
fn number(text: &str) -> Result<Value, String> {
    let unit_start = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || c == '_' || (i == 0 && c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let unit = &text[unit_start..];
    let parsed = match unit {
        "" => text
            .replace('_', "")
            .parse::<f64>()
            .map(Value::Number)
            .map_err(|_| format!("`{text}` is not a number")),
        "%" => text.parse().map(Value::Percent).map_err(|e| e.to_string()),
        u if u.starts_with('/') => text.parse().map(Value::Rate).map_err(|e| e.to_string()),
        u if u.contains('/') => byte_rate(text, unit_start),
        "us" | "µs" | "ms" | "s" | "m" | "min" | "h" => text.parse().map(Value::Duration).map_err(|e| e.to_string()),
        "B" | "KB" | "kB" | "MB" | "GB" | "KiB" | "MiB" | "GiB" => text.parse().map(Value::Bytes).map_err(|e| e.to_string()),
        other => Err(format!(
            "unknown unit `{other}` in `{text}`; durations use us, ms, s, m or h, percentages %, sizes B, KB, MB, GB, KiB, MiB or GiB, rates /s, /m or /h"
        )),
    }?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Duration;

    fn key(s: &str) -> PathSeg {
        PathSeg::Key(s.into())
    }

    #[test]
    fn parses_the_readable_surface() {
        let table: Vec<(&str, Vec<PathSeg>, Op, Value)> = vec![
            (
                "p95 < 100ms",
                vec![key("p95")],
                Op::Lt,
                Value::Duration(Duration::from_millis(100)),
            ),
            (
                "p99.9 <= 1s",
                vec![key("p99.9")],
                Op::Le,
                Value::Duration(Duration::from_secs(1)),
            ),
            (
                "error_rate < 1%",
                vec![key("error_rate")],
                Op::Lt,
                Value::Percent("1%".parse().unwrap()),
            ),
            (
                "status == 200",
                vec![key("status")],
                Op::Eq,
                Value::Number(200.0),
            ),
            (
                "body.status == \"UP\"",
                vec![key("body"), key("status")],
                Op::Eq,
                Value::Str("UP".into()),
            ),
            (
                "body.data[0].price > 0",
                vec![key("body"), key("data"), PathSeg::Index(0), key("price")],
                Op::Gt,
                Value::Number(0.0),
            ),
            (
                "header.content-type contains 'json'",
                vec![key("header"), key("content-type")],
                Op::Contains,
                Value::Str("json".into()),
            ),
            (
                "stdout not contains \"ERROR\"",
                vec![key("stdout")],
                Op::NotContains,
                Value::Str("ERROR".into()),
            ),
            (
                "body matches \"^ok\"",
                vec![key("body")],
                Op::Matches,
                Value::Str("^ok".into()),
            ),
            (
                "body.ready == true",
                vec![key("body"), key("ready")],
                Op::Eq,
                Value::Bool(true),
            ),
            (
                "body.error == null",
                vec![key("body"), key("error")],
                Op::Eq,
                Value::Null,
            ),
            (
                "rps >= 200/s",
                vec![key("rps")],
                Op::Ge,
                Value::Rate("200/s".parse().unwrap()),
            ),
            (
                "memory < 50MB",
                vec![key("memory")],
                Op::Lt,
                Value::Bytes("50MB".parse().unwrap()),
            ),
            (
                "body.delta > -1.5",
                vec![key("body"), key("delta")],
                Op::Gt,
                Value::Number(-1.5),
            ),
            (
                "failures != 0",
                vec![key("failures")],
                Op::Ne,
                Value::Number(0.0),
            ),
            (
                "error_rate <= baseline",
                vec![key("error_rate")],
                Op::Le,
                Value::Baseline { offset: None },
            ),
        ];
        for (input, subject, op, value) in table {
            let c = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((c.subject, c.op, c.value), (subject, op, value), "{input}");
        }
    }

    #[test]
    fn reads_a_baseline_and_its_offset() {
        let offset = |input: &str| match parse(input) {
            Ok(Comparison {
                value: Value::Baseline { offset: Some(o) },
                ..
            }) => (o.minus, o.amount.to_string()),
            other => panic!("{input}: {other:?}"),
        };
        assert_eq!(offset("p95 <= baseline + 10%"), (false, "10%".into()));
        assert_eq!(offset("mean <= baseline - 50%"), (true, "50%".into()));
        assert_eq!(offset("mean<=baseline+5ms"), (false, "5ms".into()));
        assert_eq!(offset("p99 < baseline -20%"), (true, "20%".into()));
        assert_eq!(offset("p99 < baseline-20%"), (true, "20%".into()));
        let c = parse("p95 <= baseline + 10%").unwrap();
        assert_eq!(c.value.to_string(), "baseline + 10%");
        for (input, at, needle) in [
            ("p95 <= baseline +", 17, "expected an offset"),
            (
                "p95 <= baseline + 3",
                18,
                "a percentage (`baseline + 10%`) or a duration",
            ),
            (
                "p95 <= baseline 10%",
                16,
                "unexpected `10%` after `baseline`",
            ),
            ("p95 <= baseline + x", 18, "expected an offset"),
            (
                "p95 <= 10% + baseline",
                11,
                "unexpected `+` after the value",
            ),
        ] {
            let e = parse(input).unwrap_err();
            assert!(e.message.contains(needle), "{input}: {}", e.message);
            assert_eq!(e.offset, at, "{input}: {}", e.message);
        }
    }

    #[test]
    fn records_offsets() {
        let c = parse("p95  <  100ms").unwrap();
        assert_eq!((c.subject_at, c.op_at, c.value_at), (0, 5, 8));
    }

    #[test]
    fn rejects_with_a_located_reason() {
        let table = [
            ("", 0, "empty"),
            ("p95 100ms", 4, "expected an operator"),
            ("p95 <", 5, "expected a value"),
            ("p95 = 100ms", 4, "write `==`"),
            ("p95 < 100 ms", 10, "unexpected `ms`"),
            ("p95 < 100parsecs", 6, "unknown unit `parsecs`"),
            ("error_rate < 120%", 13, "between 0% and 100%"),
            ("body.status == UP", 15, "put text in quotes"),
            ("body == \"open", 8, "never closed"),
            ("status == 200 200", 14, "unexpected `200`"),
            ("status ~ 2", 7, "unexpected character"),
            ("body[x] == 1", 5, "expected a list index"),
        ];
        for (input, offset, needle) in table {
            let e = parse(input).unwrap_err();
            assert!(e.message.contains(needle), "{input}: {}", e.message);
            assert_eq!(e.offset, offset, "{input}: {}", e.message);
        }
    }
}
