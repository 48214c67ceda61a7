//! Tokens of the claim language, with 1-based character columns.

use super::ClaimError;

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Token {
    /// A name: metric, journey, dependency, keyword (`for`).
    Name(String),
    /// A decimal number as written, and the unit glued to it (`100ms`,
    /// `1%`, `50KB`, `200/s`), empty when there is none.
    Number { digits: String, unit: String },
    /// `(`, `)`, `:`, `,`, `/`, `[`, `]` or a comparison operator.
    Punct(&'static str),
}

/// A token and the column it starts at.
pub(super) type Spanned = (Token, usize);

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '/')
}

fn is_unit_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '%' | '/' | 'µ')
}

/// Splits `text` into tokens.
pub(super) fn tokenize(text: &str) -> Result<Vec<Spanned>, ClaimError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let unit_start = i;
            while i < chars.len() && is_unit_char(chars[i]) {
                i += 1;
            }
            let unit = chars[unit_start..i].iter().collect();
            tokens.push((Token::Number { digits, unit }, column));
            continue;
        }
        if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            tokens.push((Token::Name(chars[start..i].iter().collect()), column));
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let punct = match (c, two.as_str()) {
            (_, "<=") => "<=",
            (_, ">=") => ">=",
            ('≤', _) => "<=",
            ('≥', _) => ">=",
            ('<', _) => "<",
            ('>', _) => ">",
            ('(', _) => "(",
            (')', _) => ")",
            (':', _) => ":",
            (',', _) => ",",
            ('/', _) => "/",
            ('[', _) => "[",
            (']', _) => "]",
            _ => {
                return Err(ClaimError::new(
                    column,
                    format!("unexpected character '{c}'"),
                ))
            }
        };
        i += if punct.len() == 2 && c.is_ascii() {
            2
        } else {
            1
        };
        tokens.push((Token::Punct(punct), column));
    }
    Ok(tokens)
}
