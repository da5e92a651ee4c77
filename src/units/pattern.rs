//! The JSON Schema patterns of the unit forms, written to match exactly what the `FromStr`
//! impls beside them accept (ranges aside: see each function), so an editor never flags
//! text golive would read. They use only syntax that ECMA-262 (editors) and Rust's
//! `regex` (tests, the `jsonschema` crate) read alike: no look-around, no `\p{..}`.

/// A number as `split_number` reads it: digits with an optional fraction, `_` anywhere.
const NUMBER: &str = r"_*(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]*[0-9][0-9_]*)";

/// A number above zero (at least one digit that is not 0).
const POSITIVE: &str = r"(?:[0_]*[1-9][0-9_]*(?:\.[0-9_]*)?|[0_]*\.[0-9_]*[1-9][0-9_]*)";

/// A number from 0 to 100: up to two significant integer digits, or exactly 100.
const UP_TO_100: &str = r"_*(?:0_*)*(?:(?:[0-9]_*){1,2}(?:\._*(?:[0-9]_*)*)?|\._*(?:[0-9]_*)+|1_*0_*0_*(?:\._*(?:0_*)*)?)";

const DURATION_UNIT: &str = "(?:us|µs|ms|s|min|m|h|d)";
const BYTE_UNIT: &str = "(?:B|KB|kB|MB|GB|KiB|MiB|GiB)";
const RATE_UNIT: &str = r"/+\s*(?:s|min|m|h)";

/// A duration's body (no anchors, no surrounding space): `250ms`, `1.5s`, `5m`. Accepts
/// durations over a year, which golive refuses with a reason.
pub fn duration_body() -> String {
    format!(r"{NUMBER}\s*{DURATION_UNIT}")
}

/// A duration above zero, anchored: a stage's length.
pub fn positive_duration() -> String {
    anchored(&format!(r"{POSITIVE}\s*{DURATION_UNIT}"))
}

/// A byte size's body: `512B`, `50MB`, `1MiB`.
pub fn bytes_body() -> String {
    format!(r"{NUMBER}\s*{BYTE_UNIT}")
}

/// A percentage's body: `1%`, `99.5%`, `100%`; never above 100%.
pub fn percent_body() -> String {
    format!(r"{UP_TO_100}\s*%")
}

/// A rate's body: `200/s`, `12000/m`, `1/h`; above zero. Accepts rates over 1000000/s,
/// which golive refuses with a reason.
pub fn rate_body() -> String {
    format!(r"{POSITIVE}\s*{RATE_UNIT}")
}

/// The body as one token of an expression (`100ms`, never `100 ms`): the expression
/// lexer ends a number at the first space, so the gaps `FromStr` allows go.
pub fn token(body: &str) -> String {
    body.replace(r"\s*", "")
}

/// A whole pattern: the body with the space `FromStr` trims around it.
pub fn anchored(body: &str) -> String {
    format!(r"^\s*(?:{body})\s*$")
}

pub fn duration() -> String {
    anchored(&duration_body())
}
pub fn bytes() -> String {
    anchored(&bytes_body())
}
pub fn percent() -> String {
    anchored(&percent_body())
}
pub fn rate() -> String {
    anchored(&rate_body())
}

/// Asserts that `pattern` accepts exactly what `parses` accepts among `inputs`, apart from
/// `looser`: inputs the pattern accepts though golive refuses them (a range no pattern
/// states, such as a duration over a year). Used by each unit's tests.
#[cfg(test)]
pub(crate) fn assert_agrees(
    pattern: &str,
    inputs: &[&str],
    looser: &[&str],
    parses: impl Fn(&str) -> bool,
) {
    let re = regex::Regex::new(pattern).unwrap();
    for input in inputs {
        let (matched, ok) = (re.is_match(input), parses(input));
        if looser.contains(input) {
            assert!(
                matched && !ok,
                "{input}: listed as looser, but matched={matched} ok={ok}"
            );
        } else {
            assert_eq!(matched, ok, "{input}: pattern {pattern}");
        }
    }
}
