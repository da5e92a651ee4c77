//! Expectations: per-sample predicates (`status == 200`, `body.status == "UP"`,
//! `exit_code == 0`, `rows >= 1`, `reply == "PONG"`), and evaluating one against what a
//! sample observed. Each check kind exposes its observation through [`Observe`]; the
//! comparison logic lives here once. A leaf: the compiler (`plan`) types the user's text
//! into an [`Expectation`], and `check` and `load` evaluate it, without importing each other.

use crate::expr::{path_text, Op, PathSeg, Value};
use regex::Regex;
use std::borrow::Cow;
use std::cmp::Ordering;

/// One per-sample predicate, with the text the user wrote.
#[derive(Debug, Clone)]
pub struct Expectation {
    pub text: String,
    pub subject: Subject,
    pub matcher: Matcher,
}

/// What an expectation looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Status,
    Body,
    /// A value inside a JSON body (`body.data[0].price`).
    BodyJson(Vec<PathSeg>),
    /// A response header, by lower-case name.
    Header(String),
    /// Response body size in bytes.
    Size,
    Latency,
    ExitCode,
    Stdout,
    Stderr,
    Message,
    /// A value inside a JSON WebSocket message (`message.type`).
    MessageJson(Vec<PathSeg>),
    DaysToExpiry,
    /// Rows a SQL query returned (or, for INSERT/UPDATE/DELETE, affected).
    Rows,
    /// The first column of the first row of a SQL query's answer, as text.
    Value,
    /// A Redis reply, or a value inside it (`reply[0]`), as JSON.
    Reply(Vec<PathSeg>),
    /// How many series a PromQL query returned.
    Series,
}

/// How the observed value is compared.
#[derive(Debug, Clone)]
pub enum Matcher {
    Compare(Op, Value),
    Contains(String),
    NotContains(String),
    Matches(Regex),
}

/// A value a sample observed, for one subject.
#[derive(Debug)]
pub enum Observed<'a> {
    Int(i64),
    Text(Cow<'a, str>),
    Json(&'a serde_json::Value),
    Micros(u64),
    /// The subject has no value in this sample, and why (e.g. "the body is not JSON").
    Missing(String),
}

/// Implemented by each kind's per-sample observation.
pub trait Observe {
    fn observe(&self, subject: &Subject) -> Observed<'_>;
}

impl Expectation {
    /// `Ok` when the sample meets this expectation; otherwise a one-line reason with the
    /// observed value, e.g. "expected status == 200, got 503".
    pub fn check(&self, sample: &dyn Observe) -> Result<(), String> {
        let observed = sample.observe(&self.subject);
        let fail = |got: String| Err(format!("expected {}, got {got}", self.text));
        match (&self.matcher, observed) {
            (_, Observed::Missing(why)) => Err(format!("expected {}, but {why}", self.text)),
            (Matcher::Contains(s), o) => contains(&o, s)
                .then_some(())
                .map_or_else(|| fail(show(&o)), Ok),
            (Matcher::NotContains(s), o) => (!contains(&o, s))
                .then_some(())
                .map_or_else(|| fail(show(&o)), Ok),
            (Matcher::Matches(re), o) => {
                let text = as_text(&o);
                re.is_match(&text)
                    .then_some(())
                    .map_or_else(|| fail(show(&o)), Ok)
            }
            (Matcher::Compare(op, value), o) => match compare(&o, value) {
                Some(ordering) if op.holds(ordering) => Ok(()),
                // Unequal types are simply "not equal".
                None if *op == Op::Ne => Ok(()),
                _ => fail(show(&o)),
            },
        }
    }
}

fn as_text<'a>(o: &'a Observed) -> Cow<'a, str> {
    match o {
        Observed::Text(t) => Cow::Borrowed(t.as_ref()),
        Observed::Json(serde_json::Value::String(s)) => Cow::Borrowed(s),
        Observed::Json(v) => Cow::Owned(v.to_string()),
        Observed::Int(i) => Cow::Owned(i.to_string()),
        Observed::Micros(us) => Cow::Owned(crate::evidence::latency(*us)),
        Observed::Missing(_) => Cow::Borrowed(""),
    }
}

fn contains(o: &Observed, needle: &str) -> bool {
    match o {
        Observed::Json(serde_json::Value::Array(items)) => {
            items.iter().any(|v| v.as_str() == Some(needle))
        }
        other => as_text(other).contains(needle),
    }
}

/// Shows an observed value briefly (long bodies are cut) for a failure reason.
fn show(o: &Observed) -> String {
    const MAX: usize = 120;
    let text = match o {
        Observed::Text(t) => format!("{:?}", t.as_ref()),
        Observed::Json(v) => v.to_string(),
        other => as_text(other).into_owned(),
    };
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}… ({} bytes)", text.len())
    } else {
        text
    }
}

fn compare(o: &Observed, value: &Value) -> Option<Ordering> {
    match (o, value) {
        (Observed::Int(i), Value::Number(n)) => (*i as f64).partial_cmp(n),
        (Observed::Int(i), Value::Bytes(b)) => (*i as u64).partial_cmp(&b.bytes()),
        (Observed::Micros(us), Value::Duration(d)) => us.partial_cmp(&d.as_micros()),
        (Observed::Text(t), Value::Str(s)) => Some(t.as_ref().cmp(s.as_str())),
        // Only a column value (`value`) reaches here: text subjects compare with strings.
        (Observed::Text(t), Value::Number(n)) => t.trim().parse::<f64>().ok()?.partial_cmp(n),
        (Observed::Json(j), v) => match (j, v) {
            (serde_json::Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(b),
            (serde_json::Value::String(a), Value::Str(b)) => Some(a.as_str().cmp(b.as_str())),
            (serde_json::Value::Bool(a), Value::Bool(b)) => {
                (a == b).then_some(Ordering::Equal).or(Some(Ordering::Less))
            }
            (serde_json::Value::Null, Value::Null) => Some(Ordering::Equal),
            _ => None,
        },
        _ => None,
    }
}

/// Looks up `path` in a JSON document; the error says which step was missing.
/// The one judgement of an HTTP response, shared by the http check and the load engine:
/// a status of 400 or more fails (as `status_4xx`/`status_5xx`) unless an expectation names
/// the status itself; then every expectation must hold.
pub fn judge_http_response(
    status: u16,
    expect: &[Expectation],
    response: &dyn Observe,
) -> Result<(), crate::tally::Failure> {
    use crate::tally::{Failure, FailureClass};
    let explicit_status = expect.iter().any(|e| e.subject == Subject::Status);
    if !explicit_status && status >= 400 {
        return Err(Failure::new(
            FailureClass::of_status(status),
            format!("expected status < 400, got {status}"),
        )
        .with_status(status));
    }
    for e in expect {
        e.check(response)
            .map_err(|r| Failure::new(FailureClass::Expectation, r).with_status(status))?;
    }
    Ok(())
}

pub fn json_at<'a>(
    root: &'a serde_json::Value,
    path: &[PathSeg],
) -> Result<&'a serde_json::Value, String> {
    let mut v = root;
    for (i, seg) in path.iter().enumerate() {
        let next = match seg {
            PathSeg::Key(k) => v.get(k),
            PathSeg::Index(n) => v.get(*n),
        };
        v = next.ok_or_else(|| {
            let missing = path_text(&path[..=i]);
            format!("`{missing}` is not in the JSON document")
        })?;
    }
    Ok(v)
}

/// Types `text` as an expectation of any kind, for the runtime's own tests; the compiler's
/// builder (`plan::build_expectation`) is the strict one, which checks the subject against
/// the check kind and says why a comparison does not fit.
#[cfg(test)]
pub(crate) fn lenient(text: &str) -> Expectation {
    let c = crate::expr::parse(text).expect("a valid expectation");
    let (head, rest) = match c.subject.split_first() {
        Some((PathSeg::Key(k), rest)) => (k.as_str(), rest.to_vec()),
        _ => panic!("`{text}` does not start with a name"),
    };
    let subject = match (head, rest.as_slice()) {
        ("status", []) => Subject::Status,
        ("body", []) => Subject::Body,
        ("body", _) => Subject::BodyJson(rest),
        ("header", [PathSeg::Key(name)]) => Subject::Header(name.to_ascii_lowercase()),
        ("size", []) => Subject::Size,
        ("latency", []) => Subject::Latency,
        ("exit_code", []) => Subject::ExitCode,
        ("stdout", []) => Subject::Stdout,
        ("stderr", []) => Subject::Stderr,
        ("message", []) => Subject::Message,
        ("message", _) => Subject::MessageJson(rest),
        ("days_to_expiry", []) => Subject::DaysToExpiry,
        ("rows", []) => Subject::Rows,
        ("value", []) => Subject::Value,
        ("reply", _) => Subject::Reply(rest),
        ("series", []) => Subject::Series,
        _ => panic!("`{text}` names no subject"),
    };
    let text_of = |v: &Value| match v {
        Value::Str(s) => s.clone(),
        other => panic!("`{text}` needs a string, not {}", other.kind()),
    };
    let matcher = match c.op {
        Op::Contains => Matcher::Contains(text_of(&c.value)),
        Op::NotContains => Matcher::NotContains(text_of(&c.value)),
        Op::Matches => Matcher::Matches(Regex::new(&text_of(&c.value)).expect("a valid regex")),
        op => Matcher::Compare(op, c.value.clone()),
    };
    Expectation {
        text: text.trim().to_string(),
        subject,
        matcher,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        status: i64,
        body: &'static str,
        json: Option<serde_json::Value>,
    }

    impl Observe for Fake {
        fn observe(&self, s: &Subject) -> Observed<'_> {
            match s {
                Subject::Status => Observed::Int(self.status),
                Subject::Body => Observed::Text(Cow::Borrowed(self.body)),
                Subject::BodyJson(path) => match &self.json {
                    Some(j) => json_at(j, path)
                        .map(Observed::Json)
                        .unwrap_or_else(Observed::Missing),
                    None => Observed::Missing("the body is not JSON".into()),
                },
                Subject::Latency => Observed::Micros(1500),
                _ => Observed::Missing("not observed".into()),
            }
        }
    }

    fn check(text: &str, f: &Fake) -> Result<(), String> {
        lenient(text).check(f)
    }

    #[test]
    fn evaluates_and_explains() {
        let f = Fake {
            status: 503,
            body: "{\"status\":\"DOWN\",\"n\":3,\"tags\":[\"a\"]}",
            json: serde_json::from_str("{\"status\":\"DOWN\",\"n\":3,\"tags\":[\"a\"]}").ok(),
        };
        assert_eq!(
            check("status == 200", &f).unwrap_err(),
            "expected status == 200, got 503"
        );
        assert!(check("status >= 500", &f).is_ok());
        assert!(check("status != 200", &f).is_ok());
        assert_eq!(
            check("body.status == \"UP\"", &f).unwrap_err(),
            "expected body.status == \"UP\", got \"DOWN\""
        );
        assert!(check("body.n > 2", &f).is_ok());
        assert!(check("body.tags contains \"a\"", &f).is_ok());
        assert!(check("body contains \"DOWN\"", &f).is_ok());
        assert!(check("body not contains \"UP\"", &f).is_ok());
        assert!(check("body matches \"^\\\\{\"", &f).is_ok());
        assert!(check("latency < 2ms", &f).is_ok());
        assert_eq!(
            check("body.missing.x == 1", &f).unwrap_err(),
            "expected body.missing.x == 1, but `missing` is not in the JSON document"
        );
        let not_json = Fake {
            status: 200,
            body: "<html>",
            json: None,
        };
        assert_eq!(
            check("body.status == \"UP\"", &not_json).unwrap_err(),
            "expected body.status == \"UP\", but the body is not JSON"
        );
    }
}
