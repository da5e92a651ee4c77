//! What golive shows of text it did not write itself. Secrets are replaced by `***`:
//! every value a checklist read from `{env.NAME}` (collected at plan time into a
//! [`Redactor`]), and, wherever they occur, the password of a URL's user info and the
//! value of a `password=` parameter. Control characters are escaped ([`printable`],
//! [`one_line`]) so that a service's output or a user's id cannot move the cursor,
//! recolour a terminal or CI log, or start a new line in a report. A leaf: the compiler
//! builds the redactor, and the drivers apply it where text leaves golive (the report
//! model, progress lines, logs).

use std::borrow::Cow;
use std::fmt::Write;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Shorter values are not treated as secrets: masking `1` or `true` everywhere would
/// garble reports and protect nothing.
pub const MIN_SECRET_LEN: usize = 4;

/// The secret values of one plan, and how to hide them in text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `values`; trivial ones (shorter than [`MIN_SECRET_LEN`]) are left
    /// out. Each value's percent-encoded form is a secret too, since URLs are shown
    /// encoded.
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut r = Redactor::default();
        r.add(values);
        r
    }

    /// Adds `values` (as [`Redactor::new`] would take them).
    pub fn add(&mut self, values: impl IntoIterator<Item = String>) {
        for v in values {
            if v.chars().count() < MIN_SECRET_LEN {
                continue;
            }
            let encoded = percent_encode(&v);
            if encoded != v {
                self.secrets.push(encoded);
            }
            self.secrets.push(v);
        }
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.secrets.dedup();
    }

    /// Adds every secret `other` holds.
    pub fn extend(&mut self, other: &Redactor) {
        self.add(other.secrets.iter().cloned());
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret, URL password and password parameter masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        if let Cow::Owned(masked) = structural(&out) {
            return Cow::Owned(masked);
        }
        out
    }
}

/// `text` with the password of every URL's user info (`scheme://user:PASSWORD@host`) and
/// the value of every password parameter (`?password=…`, `&passwd=…`, `pwd=…` in a
/// connection string) masked; needs no list of secrets.
pub fn structural(text: &str) -> Cow<'_, str> {
    let mut spans = user_info_passwords(text);
    spans.extend(password_parameters(text));
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Where a URL's authority or a parameter's value ends in running text.
fn ends_value(c: char) -> bool {
    c.is_whitespace() || "\"'`<>|,;)]}".contains(c)
}

/// Byte spans of the passwords in `scheme://user:password@host` occurrences.
fn user_info_passwords(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| ends_value(c) || "/?#".contains(c))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                let (p0, p1) = (start + colon + 1, start + at);
                if p1 > p0 && &text[p0..p1] != MASK {
                    spans.push((p0, p1));
                }
            }
        }
        from = start;
    }
    spans
}

/// Byte spans of the values of parameters named like a password.
fn password_parameters(text: &str) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut spans = Vec::new();
    for (eq, _) in lower.match_indices('=') {
        let key_start = lower[..eq]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| i + 1);
        let key = &lower[key_start..eq];
        if !(key.ends_with("password") || key.ends_with("passwd") || key == "pwd") {
            continue;
        }
        let rest = &text[eq + 1..];
        let len = rest
            .find(|c: char| ends_value(c) || "&#".contains(c))
            .unwrap_or(rest.len());
        if len > 0 && &rest[..len] != MASK {
            spans.push((eq + 1, eq + 1 + len));
        }
    }
    spans
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Characters that would act on a terminal or a reader instead of being shown: control
/// characters, and the Unicode marks that reorder or hide text.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` for a terminal or a log: line breaks and tabs stay, every other control
/// character is shown escaped (`\u{1b}`, `\r`).
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// `text` on one line: every control character, line breaks included, shown escaped.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_their_encoded_form_but_not_trivial_values() {
        let r = Redactor::new([
            "s3cr3t-XYZ-123".to_string(),
            "p@ss word".into(),
            "abc".into(),
        ]);
        let table = [
            ("http://h/x?k=s3cr3t-XYZ-123&y=1", "http://h/x?k=***&y=1"),
            ("token p%40ss%20word sent", "token *** sent"),
            ("p@ss word", "***"),
            ("abc stays", "abc stays"),
        ];
        for (text, shown) in table {
            assert_eq!(r.redact(text), shown, "{text}");
        }
    }

    #[test]
    fn masks_url_passwords_and_password_parameters_without_a_list() {
        let table = [
            (
                "error sending request for url (http://ada:hunter22@127.0.0.1:9/x)",
                "error sending request for url (http://ada:***@127.0.0.1:9/x)",
            ),
            ("postgres://app:pw@db/x", "postgres://app:***@db/x"),
            ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
            ("https://ada@h/x", "https://ada@h/x"),
            (
                "postgres://db/x?user=a&password=pw&x=1",
                "postgres://db/x?user=a&password=***&x=1",
            ),
            ("host=db PASSWORD=pw user=a", "host=db PASSWORD=*** user=a"),
            ("?sslpassword=k", "?sslpassword=***"),
            (
                "http://a:***@h/ and password=***",
                "http://a:***@h/ and password=***",
            ),
            ("a == b, x = 1", "a == b, x = 1"),
            ("pwd", "pwd"),
        ];
        for (text, shown) in table {
            assert_eq!(structural(text), shown, "{text}");
        }
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(printable("a\u{1b}[31mb\r\nc\td"), "a\\u{1b}[31mb\\r\nc\td");
        assert_eq!(one_line("a\nb\rc|"), "a\\nb\\rc|");
        assert_eq!(one_line("x\u{202e}y"), "x\\u{202e}y");
        assert!(matches!(printable("plain ✅"), Cow::Borrowed(_)));
    }
}
