//! JSON Schema patterns of criteria and expectations for editors. They may be looser than
//! the parser and the compiler (which also check, say, that `rps` is a floor), but must
//! never refuse text golive accepts; the tests hold them against every criterion and
//! expectation shipped. ECMA-262 and Rust `regex` syntax alike, as in `units::pattern`.

use crate::units::pattern::{anchored, bytes_body, duration_body, percent_body, rate_body, token};

fn duration() -> String {
    token(&duration_body())
}
fn percent() -> String {
    token(&percent_body())
}
fn rate() -> String {
    token(&rate_body())
}
fn bytes() -> String {
    token(&bytes_body())
}

/// The comparison operators as symbols.
const SYMBOL_OP: &str = r"(?:<=|>=|==|!=|<|>)";

/// A whole number (a count).
const COUNT: &str = r"_*[0-9][0-9_]*(?:\.[0_]*)?";

/// An optional request scope, `checkout.`: a word of the expression language (no space,
/// dot, bracket, operator or quote) and a dot.
const REQUEST: &str = r#"(?:[^\s.\[\]<>=!"'0-9+-][^\s.\[\]<>=!"']*\s*\.\s*)?"#;

/// `baseline`, `baseline + 10%`, `baseline - 5ms`.
fn baseline() -> String {
    format!(r"baseline(?:\s*[+-]\s*(?:{}|{}))?", percent(), duration())
}

/// A criterion, a load threshold or a rollback rule's condition: a metric (optionally
/// scoped to a request, `checkout.p99`) compared with a value of the metric's unit.
pub fn criterion() -> String {
    let (duration, percent, rate, bytes) = (duration(), percent(), rate(), bytes());
    let baseline = baseline();
    let latency = r"(?:p[0-9]*(?:\s*\.\s*[0-9]+)?|mean|avg|median|max|min)";
    let claims = [
        format!(r"{latency}\s*{SYMBOL_OP}\s*(?:{duration}|{baseline})"),
        format!(
            r"(?:error_rate|success_rate|availability)\s*{SYMBOL_OP}\s*(?:{percent}|{baseline})"
        ),
        format!(r"rps\s*{SYMBOL_OP}\s*(?:{rate}|{baseline})"),
        format!(r"(?:failures|restarts)\s*{SYMBOL_OP}\s*{COUNT}"),
        format!(r"(?:memory|memory_growth)\s*{SYMBOL_OP}\s*{bytes}"),
        format!(r"memory_slope\s*{SYMBOL_OP}\s*{bytes}/(?:s|min|m|h)"),
        format!(r"(?:cpu|cpu_max)\s*{SYMBOL_OP}\s*{percent}"),
        format!(r"recovery_time\s*{SYMBOL_OP}\s*{duration}"),
    ];
    anchored(&format!("{REQUEST}(?:{})", claims.join("|")))
}

/// A rollback rule's breach condition: `p95 > 500ms`, `error_rate > 5%`, `rps < 50/s`,
/// `mean > 200ms`, optionally scoped to a request; only ordering operators.
pub fn rule() -> String {
    let order = r"(?:<=|>=|<|>)";
    let claims = [
        format!(
            r"(?:p[0-9]*(?:\s*\.\s*[0-9]+)?|mean)\s*{order}\s*{}",
            duration()
        ),
        format!(r"error_rate\s*{order}\s*{}", percent()),
        format!(r"rps\s*{order}\s*{}", rate()),
    ];
    anchored(&format!("{REQUEST}(?:{})", claims.join("|")))
}

/// A word of the expression language: no space, dot, bracket, operator or quote, and not
/// starting with a digit or sign.
const WORD: &str = r#"[^\s.\[\]<>=!"'0-9+-][^\s.\[\]<>=!"']*"#;

/// Any subject path: `body.data[0].price`, `header.content-type`.
fn any_subject() -> String {
    format!(r"{WORD}{}*", segment())
}

/// One step of a path after its first word: `.name`, `.0`, `[0]`.
fn segment() -> String {
    format!(r"(?:\s*\.\s*(?:{WORD}|[0-9]+)|\s*\[\s*[0-9]+\s*\])")
}

/// The subjects one check kind observes: `plan::expect` types expectations by it, and
/// [`expectation`] makes the schema's pattern from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subjects {
    Http,
    Tcp,
    WebSocket,
    Tls,
    Command,
    Postgres,
    Redis,
    Prometheus,
    /// Whatever a load request's protocol observes: left to `golive validate`.
    Any,
}

/// An expectation on one sample (`status == 200`, `body.status == "UP"`,
/// `header.content-type contains "json"`, `latency < 50ms`): a subject the check kind
/// observes, an operator and a literal.
pub fn expectation(subjects: Subjects) -> String {
    let seg = segment();
    let subject = match subjects {
        Subjects::Http => format!(r"(?:status|size|latency|body{seg}*|header\s*\.\s*{WORD})"),
        Subjects::Tcp => "latency".to_string(),
        Subjects::WebSocket => format!(r"(?:latency|message{seg}*)"),
        Subjects::Tls => "(?:days_to_expiry|latency)".to_string(),
        Subjects::Command => "(?:exit_code|stdout|stderr|latency)".to_string(),
        Subjects::Postgres => "(?:rows|value|latency)".to_string(),
        Subjects::Redis => format!(r"(?:latency|reply{seg}*)"),
        Subjects::Prometheus => "(?:value|series|latency)".to_string(),
        Subjects::Any => any_subject(),
    };
    let op = format!(r"(?:{SYMBOL_OP}|contains|not\s+contains|matches)");
    let number = r"-?[0-9][0-9_.]*";
    let unit = format!(
        r"(?:{}|{}|{}|{}|{number})",
        duration(),
        percent(),
        bytes(),
        rate()
    );
    let value = format!(
        r#"(?:"(?:[^"\\]|\\.)*"|'[^']*'|true|false|null|{}|{unit})"#,
        baseline()
    );
    anchored(&format!(r"{subject}\s*{op}\s*{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form the parser's own tests read, and the forms the README shows.
    #[test]
    fn accepts_the_readable_surface_and_refuses_what_golive_refuses() {
        let criterion = regex::Regex::new(&criterion()).unwrap();
        for text in [
            "p95 < 100ms",
            "p99.9 <= 1s",
            "error_rate < 1%",
            "success_rate >= 99.5%",
            "failures == 0",
            "rps >= 120/s",
            "p95 <= baseline + 10%",
            "mean <= baseline - 50%",
            "mean<=baseline+5ms",
            "p99 < baseline -20%",
            "p99 < baseline-20%",
            "error_rate <= baseline",
            "memory < 200MB",
            "memory_growth < 50MB",
            "memory_slope < 1MB/m",
            "cpu < 25%",
            "restarts == 0",
            "recovery_time < 10s",
            "checkout.p99 < 500ms",
            "home.error_rate > 5%",
            "max < 1s",
        ] {
            assert!(criterion.is_match(text), "criterion refused: {text}");
        }
        for text in [
            "p95 < 100",
            "p95 = 100ms",
            "error_rate < 120%",
            "recovery_time < 10",
            "memory < 200",
            "cpu < 0.25",
            "rps >= 120",
            "p95 < 100 ms",
            "",
        ] {
            assert!(!criterion.is_match(text), "criterion accepted: {text}");
        }
        let rule = regex::Regex::new(&rule()).unwrap();
        for text in [
            "p95 > 500ms",
            "error_rate > 5%",
            "checkout.p99 > 1s",
            "rps < 50/s",
            "mean >= 1s",
        ] {
            assert!(rule.is_match(text), "rule refused: {text}");
        }
        for text in ["p95 > 500", "error_rate == 5%", "failures > 0", "p95 != 1s"] {
            assert!(!rule.is_match(text), "rule accepted: {text}");
        }
        let expectation = regex::Regex::new(&expectation(Subjects::Any)).unwrap();
        for text in [
            "status == 200",
            "body.status == \"UP\"",
            "body.data[0].price > 0",
            "header.content-type contains 'json'",
            "stdout not contains \"ERROR\"",
            "body matches \"^ok\"",
            "body.ready == true",
            "body.error == null",
            "body.delta > -1.5",
            "latency < 50ms",
            "reply[0] == \"a\"",
            "days_to_expiry > 14",
            "message.type == \"pong\"",
            "body == \"say \\\"hi\\\"\"",
        ] {
            assert!(expectation.is_match(text), "expectation refused: {text}");
        }
        for text in [
            "status = 200",
            "body.status == UP",
            "status ~ 2",
            "status ==",
            "",
        ] {
            assert!(!expectation.is_match(text), "expectation accepted: {text}");
        }
        let http = regex::Regex::new(&super::expectation(Subjects::Http)).unwrap();
        for text in [
            "status == 200",
            "body.a[0] == 1",
            "header.content-type contains \"json\"",
            "latency < 5ms",
            "body contains \"UP\"",
            "size < 1MB",
        ] {
            assert!(http.is_match(text), "http refused: {text}");
        }
        for text in [
            "exit_code == 0",
            "stauts == 200",
            "header == 1",
            "rows >= 1",
        ] {
            assert!(!http.is_match(text), "http accepted: {text}");
        }
        let redis = regex::Regex::new(&super::expectation(Subjects::Redis)).unwrap();
        for text in [
            "reply == \"PONG\"",
            "reply[0] == \"a\"",
            "reply.k == 1",
            "reply == null",
        ] {
            assert!(redis.is_match(text), "redis refused: {text}");
        }
    }
}
