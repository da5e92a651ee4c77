//! Splits an expression into tokens with their character offsets.

use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A path segment name or a keyword (`contains`, `true`).
    Word(String),
    /// A number with its unit suffix, as written (`100ms`, `1%`, `200/s`, `3`).
    Number(String),
    Str(String),
    Dot,
    LBracket,
    RBracket,
    Op(&'static str),
    /// `+` or `-` between a value and an offset (`baseline + 10%`).
    Sign(char),
}

pub fn lex(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            _ if c.is_whitespace() => i += 1,
            '.' => {
                out.push((i, Tok::Dot));
                i += 1;
            }
            '[' => {
                out.push((i, Tok::LBracket));
                i += 1;
            }
            ']' => {
                out.push((i, Tok::RBracket));
                i += 1;
            }
            '<' | '>' | '=' | '!' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "<=" => "<=",
                    ">=" => ">=",
                    "==" => "==",
                    "!=" => "!=",
                    _ if c == '<' => "<",
                    _ if c == '>' => ">",
                    _ if c == '=' => {
                        return Err(ParseError {
                            offset: i,
                            message: "`=` is not an operator; write `==` to compare".into(),
                        })
                    }
                    _ => {
                        return Err(ParseError {
                            offset: i,
                            message: "`!` must be followed by `=` (`!=`)".into(),
                        })
                    }
                };
                out.push((i, Tok::Op(op)));
                i += op.len();
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ParseError {
                                offset: start,
                                message: format!(
                                    "the string opened here is never closed with {quote}"
                                ),
                            })
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some('\\') if quote == '"' => {
                            match chars.get(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(&other) => s.push(other),
                                None => {}
                            }
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            _ if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "._%/µ".contains(chars[i]))
                {
                    i += 1;
                }
                out.push((start, Tok::Number(chars[start..i].iter().collect())));
            }
            '+' | '-' => {
                out.push((i, Tok::Sign(c)));
                i += 1;
            }
            _ if c.is_alphabetic() || c == '_' || c == '$' => {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_-$".contains(chars[i])) {
                    // `baseline-10%`: the word ends where the offset's sign begins.
                    if chars[i] == '-' && chars[start..i].iter().collect::<String>() == "baseline" {
                        break;
                    }
                    i += 1;
                }
                out.push((start, Tok::Word(chars[start..i].iter().collect())));
            }
            _ => {
                return Err(ParseError {
                    offset: i,
                    message: format!("unexpected character `{c}`"),
                })
            }
        }
    }
    Ok(out)
}
