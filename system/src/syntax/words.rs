//! Words and literal values: the SomonScript keyword table, JavaScript
//! reserved words, and string literal decoding.

/// The JavaScript word a SomonScript keyword stands for.
pub(crate) fn js_word(word: &str) -> Option<&'static str> {
    // Every SomonScript keyword is Cyrillic, so ASCII words skip the table.
    if word.is_ascii() {
        return None;
    }
    Some(match word {
        "ворид" => "import",
        "содир" => "export",
        "аз" => "from",
        "чун" => "as",
        "пешфарз" => "default",
        "функсия" => "function",
        "собит" => "const",
        "тағйирёбанда" | "тағ" => "let",
        "бозгашт" => "return",
        "агар" => "if",
        "вагарна" => "else",
        "барои" => "for",
        "синф" => "class",
        "нав" => "new",
        "ин" => "this",
        "дуруст" => "true",
        "нодуруст" => "false",
        "холӣ" => "null",
        "беқимат" => "undefined",
        "ҳамзамон" => "async",
        "интизор" => "await",
        "кӯшиш" => "try",
        "гирифтан" => "catch",
        "ниҳоят" => "finally",
        "партофтан" => "throw",
        "шикастан" => "break",
        "давом" => "continue",
        _ => return None,
    })
}

/// The word as JavaScript sees it: keywords mapped, other names unchanged.
pub(crate) fn canonical(word: &str) -> &str {
    js_word(word).unwrap_or(word)
}

/// Words that cannot name a binding in strict-mode JavaScript.
pub(super) fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "break"
            | "case"
            | "catch"
            | "class"
            | "const"
            | "continue"
            | "debugger"
            | "default"
            | "delete"
            | "do"
            | "else"
            | "enum"
            | "export"
            | "extends"
            | "false"
            | "finally"
            | "for"
            | "function"
            | "if"
            | "import"
            | "in"
            | "instanceof"
            | "new"
            | "null"
            | "return"
            | "super"
            | "switch"
            | "this"
            | "throw"
            | "true"
            | "try"
            | "typeof"
            | "var"
            | "void"
            | "while"
            | "with"
            | "yield"
            | "let"
            | "static"
            | "implements"
            | "interface"
            | "package"
            | "private"
            | "protected"
            | "public"
            | "await"
            | "undefined"
    )
}

/// The value of a string literal (quotes included in `literal`).
pub(super) fn decode_string(literal: &str) -> String {
    let inner = &literal[1..literal.len().saturating_sub(1).max(1)];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0' if !chars.peek().is_some_and(char::is_ascii_digit) => out.push('\0'),
            // A line continuation contributes nothing.
            '\n' | '\u{2028}' | '\u{2029}' => {}
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                push_code(&mut out, &hex);
            }
            'u' if chars.peek() == Some(&'{') => {
                chars.next();
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                push_code(&mut out, &hex);
            }
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                push_code(&mut out, &hex);
            }
            other => out.push(other),
        }
    }
    out
}

fn push_code(out: &mut String, hex: &str) {
    let c = u32::from_str_radix(hex, 16)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}');
    out.push(c);
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_table() {
        assert_eq!(js_word("холӣ"), Some("null"));
        assert_eq!(js_word("тағ"), Some("let"));
        assert_eq!(js_word("import"), None);
        assert_eq!(canonical("салом"), "салом");
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode_string(r#""a\x41\u0042\u{43}\n\"""#), "aABC\n\"");
        assert_eq!(decode_string("'it\\'s'"), "it's");
    }
}
