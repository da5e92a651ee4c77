//! Typing expectations (`status == 200`, `body.status == "UP"`,
//! `header.content-type contains "json"`, `exit_code == 0`, `days_to_expiry > 14`,
//! `rows >= 1`, `reply == "PONG"`) from parsed comparisons into [`Expectation`]s.
//! A sample that misses one is a failure of class "expectation". Which subjects exist
//! depends on the check kind; that is decided here, once.

use crate::expect::{Expectation, Matcher, Subject};
use crate::expr::{Comparison, Op, PathSeg, Value};
use regex::Regex;

/// The check kinds, for deciding which subjects exist: the same list the schema's
/// expectation patterns are made from (`expr::pattern`), so a new kind is added once.
pub use crate::expr::pattern::Subjects as KindSubjects;

/// The subjects a kind observes, named for error messages.
fn allowed(kind: KindSubjects) -> &'static [&'static str] {
    match kind {
        KindSubjects::Http => &[
            "status",
            "body",
            "body.<path>",
            "header.<name>",
            "size",
            "latency",
        ],
        KindSubjects::Tcp => &["latency"],
        KindSubjects::WebSocket => &["message", "message.<path>", "latency"],
        KindSubjects::Tls => &["days_to_expiry", "latency"],
        KindSubjects::Command => &["exit_code", "stdout", "stderr", "latency"],
        KindSubjects::Postgres => &["rows", "value", "latency"],
        KindSubjects::Redis => &["reply", "reply[<index>]", "reply.<key>", "latency"],
        KindSubjects::Prometheus => &["value", "series", "latency"],
        // Load requests are typed by their protocol's kind; nothing is built with `Any`.
        KindSubjects::Any => &["latency"],
    }
}

/// Types `c` for a check of kind `kind`; the error is `(offset, message)`.
pub fn build(
    text: &str,
    c: &Comparison,
    kind: KindSubjects,
) -> Result<Expectation, (usize, String)> {
    let (head, rest) = match c.subject.split_first() {
        Some((PathSeg::Key(k), rest)) => (k.as_str(), rest),
        _ => return Err((c.subject_at, "an expectation starts with a name".into())),
    };
    let subject = match (head, rest, kind) {
        ("status", [], KindSubjects::Http) => Subject::Status,
        ("body", [], KindSubjects::Http) => Subject::Body,
        ("body", path, KindSubjects::Http) => Subject::BodyJson(path.to_vec()),
        ("header", [PathSeg::Key(name)], KindSubjects::Http) => {
            Subject::Header(name.to_ascii_lowercase())
        }
        ("size", [], KindSubjects::Http) => Subject::Size,
        ("latency", [], _) => Subject::Latency,
        ("exit_code", [], KindSubjects::Command) => Subject::ExitCode,
        ("stdout", [], KindSubjects::Command) => Subject::Stdout,
        ("stderr", [], KindSubjects::Command) => Subject::Stderr,
        ("message", [], KindSubjects::WebSocket) => Subject::Message,
        ("message", path, KindSubjects::WebSocket) => Subject::MessageJson(path.to_vec()),
        ("days_to_expiry", [], KindSubjects::Tls) => Subject::DaysToExpiry,
        ("rows", [], KindSubjects::Postgres) => Subject::Rows,
        ("value", [], KindSubjects::Postgres) => Subject::Value,
        ("reply", path, KindSubjects::Redis) => Subject::Reply(path.to_vec()),
        ("value", [], KindSubjects::Prometheus) => Subject::Value,
        ("series", [], KindSubjects::Prometheus) => Subject::Series,
        _ => {
            let allowed = allowed(kind);
            let mut m = format!(
                "`{}` is not something this check observes; it can test {}",
                c.subject_text(),
                allowed.join(", ")
            );
            let names = allowed
                .iter()
                .map(|a| a.split(['.', '[']).next().unwrap_or(a));
            if let Some(h) = crate::diag::did_you_mean(head, names) {
                m.push_str(&format!(" ({h})"));
            }
            return Err((c.subject_at, m));
        }
    };
    let matcher = matcher(&subject, c)?;
    Ok(Expectation {
        text: text.trim().to_string(),
        subject,
        matcher,
    })
}

fn matcher(subject: &Subject, c: &Comparison) -> Result<Matcher, (usize, String)> {
    let name = c.subject_text();
    let text_op = |c: &Comparison| -> Result<Matcher, (usize, String)> {
        let s = match &c.value {
            Value::Str(s) => s.clone(),
            other => {
                return Err((
                    c.value_at,
                    format!(
                        "`{name}` is text; compare it with a quoted string, not {}",
                        other.kind()
                    ),
                ))
            }
        };
        match c.op {
            Op::Contains => Ok(Matcher::Contains(s)),
            Op::NotContains => Ok(Matcher::NotContains(s)),
            Op::Matches => Regex::new(&s)
                .map(Matcher::Matches)
                .map_err(|e| (c.value_at, format!("not a valid regular expression: {e}"))),
            Op::Eq | Op::Ne => Ok(Matcher::Compare(c.op, Value::Str(s))),
            _ => Err((
                c.op_at,
                format!("`{name}` is text; use ==, !=, contains, not contains or matches"),
            )),
        }
    };
    let ordered =
        |c: &Comparison, ok: fn(&Value) -> bool, what: &str| -> Result<Matcher, (usize, String)> {
            if !ok(&c.value) {
                return Err((
                    c.value_at,
                    format!("`{name}` needs {what}, not {}", c.value.kind()),
                ));
            }
            if matches!(c.op, Op::Contains | Op::NotContains | Op::Matches) {
                return Err((
                    c.op_at,
                    format!("`{name}` compares with ==, !=, <, <=, > or >="),
                ));
            }
            Ok(Matcher::Compare(c.op, c.value.clone()))
        };
    match subject {
        Subject::Body
        | Subject::Stdout
        | Subject::Stderr
        | Subject::Message
        | Subject::Header(_) => text_op(c),
        Subject::Status
        | Subject::ExitCode
        | Subject::DaysToExpiry
        | Subject::Rows
        | Subject::Series => ordered(
            c,
            |v| matches!(v, Value::Number(n) if n.fract() == 0.0),
            "a whole number",
        ),
        Subject::Size => ordered(
            c,
            |v| matches!(v, Value::Bytes(_) | Value::Number(_)),
            "a size such as `1MB`",
        ),
        Subject::Latency => match &c.value {
            Value::Number(n) => Err((
                c.value_at,
                format!("`{n}` has no unit; latency needs a duration such as `{n}ms`"),
            )),
            _ => ordered(
                c,
                |v| matches!(v, Value::Duration(_)),
                "a duration such as `100ms`",
            ),
        },
        // Postgres sends every value as text; a number compares numerically with it.
        Subject::Value => match (&c.op, &c.value) {
            (_, Value::Str(_)) | (Op::Contains | Op::NotContains | Op::Matches, _) => text_op(c),
            (Op::Eq | Op::Ne, Value::Null) | (_, Value::Number(_)) => {
                Ok(Matcher::Compare(c.op, c.value.clone()))
            }
            (_, other) => Err((
                c.value_at,
                format!(
                    "`{name}` is a column value; compare it with a string, a number or null, not {}",
                    other.kind()
                ),
            )),
        },
        Subject::BodyJson(_) | Subject::MessageJson(_) | Subject::Reply(_) => match (&c.op, &c.value) {
            (Op::Contains | Op::NotContains | Op::Matches, _) => text_op(c),
            (_, Value::Number(_) | Value::Str(_) | Value::Bool(_) | Value::Null) => {
                Ok(Matcher::Compare(c.op, c.value.clone()))
            }
            (_, other) => Err((
                c.value_at,
                format!(
                    "a JSON value compares with a number, string, true, false or null, not {}",
                    other.kind()
                ),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(text: &str, kind: KindSubjects) -> Result<Expectation, (usize, String)> {
        let c = crate::expr::parse(text).map_err(|e| (e.offset, e.message))?;
        build(text, &c, kind)
    }

    #[test]
    fn types_subjects_by_kind() {
        use KindSubjects::*;
        let table = [
            ("status == 200", Http, Subject::Status),
            ("body contains \"UP\"", Http, Subject::Body),
            (
                "body.status == \"UP\"",
                Http,
                Subject::BodyJson(vec![PathSeg::Key("status".into())]),
            ),
            (
                "header.Content-Type contains \"json\"",
                Http,
                Subject::Header("content-type".into()),
            ),
            ("size < 1MB", Http, Subject::Size),
            ("latency < 20ms", Tcp, Subject::Latency),
            ("message == \"pong\"", WebSocket, Subject::Message),
            (
                "message.type == \"pong\"",
                WebSocket,
                Subject::MessageJson(vec![PathSeg::Key("type".into())]),
            ),
            ("days_to_expiry > 14", Tls, Subject::DaysToExpiry),
            ("exit_code == 0", Command, Subject::ExitCode),
            ("stdout matches \"^ok\"", Command, Subject::Stdout),
            ("rows >= 1", Postgres, Subject::Rows),
            ("value == \"t\"", Postgres, Subject::Value),
            ("value < 10", Postgres, Subject::Value),
            ("value == null", Postgres, Subject::Value),
            ("latency < 5ms", Postgres, Subject::Latency),
            ("reply == \"PONG\"", Redis, Subject::Reply(vec![])),
            ("value < 0.01", Prometheus, Subject::Value),
            ("value == \"NaN\"", Prometheus, Subject::Value),
            ("series >= 1", Prometheus, Subject::Series),
            ("reply == null", Redis, Subject::Reply(vec![])),
            (
                "reply[1] contains \"x\"",
                Redis,
                Subject::Reply(vec![PathSeg::Index(1)]),
            ),
            ("latency < 5ms", Redis, Subject::Latency),
        ];
        for (text, kind, subject) in table {
            assert_eq!(expect(text, kind).unwrap().subject, subject, "{text}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        use KindSubjects::*;
        let table = [
            ("status == 200", Tcp, 0, "not something this check observes"),
            ("stauts == 200", Http, 0, "did you mean `status`?"),
            ("status == \"200\"", Http, 10, "whole number"),
            ("status contains 2", Http, 7, "compares with"),
            ("body > 3", Http, 7, "is text"),
            ("body matches \"(\"", Http, 13, "regular expression"),
            ("latency < 20", Tcp, 10, "has no unit"),
            ("exit_code == 0", Http, 0, "not something"),
            ("rows >= \"1\"", Postgres, 8, "whole number"),
            ("rows > 1.5", Postgres, 7, "whole number"),
            ("value > 1ms", Postgres, 8, "compare it with a string"),
            ("value < \"b\"", Postgres, 6, "is text"),
            (
                "reply == \"PONG\"",
                Postgres,
                0,
                "can test rows, value, latency",
            ),
            ("rowz >= 1", Postgres, 0, "did you mean `rows`?"),
            ("rows >= 1", Redis, 0, "can test reply"),
            ("replies == 1", Redis, 0, "did you mean `reply`?"),
            ("reply > 1ms", Redis, 8, "JSON value compares"),
        ];
        for (text, kind, offset, needle) in table {
            let (at, message) = expect(text, kind).unwrap_err();
            assert!(message.contains(needle), "{text}: {message}");
            assert_eq!(at, offset, "{text}: {message}");
        }
    }
}
