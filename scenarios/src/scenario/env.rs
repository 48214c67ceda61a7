//! `${NAME}` in a scenario's text: the value of environment variable
//! `NAME`, put in before the TOML is read, so a token, a host or a rate can
//! come from CI's environment anywhere in the file.
//!
//! - `${NAME:-default}` gives `default` when `NAME` is unset or empty;
//! - `$${` is a literal `${`;
//! - `${…}` in a comment is left alone (no variable is needed for it).
//!
//! A value goes in as what it means, not as TOML text: inside a quoted
//! string its quotes and backslashes are escaped, so a password with a `"`
//! cannot end the string early; outside a string a value must be a plain
//! number or `true`/`false`. Every problem is reported at the `${` of the
//! file as written, and later problems are mapped back to the text as
//! written too ([`Expanded::original`]).

use std::ops::Range;

/// A scenario's text with its `${…}` replaced.
#[derive(Debug, Default)]
pub(crate) struct Expanded {
    /// The text to parse.
    pub(crate) text: String,
    /// Each replacement: where it is in `text`, and where its `${…}` was
    /// in the text as written. In order.
    replaced: Vec<(Range<usize>, Range<usize>)>,
    /// `(name, value)` of every variable used, in order of first use.
    pub(crate) values: Vec<(String, String)>,
}

/// A problem with one `${…}`: its byte offset in the text as written.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EnvProblem {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Which TOML context a `${` stands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Context {
    Bare,
    Basic,
    MultiBasic,
    Literal,
    MultiLiteral,
    Comment,
}

impl Expanded {
    /// The offset in the text as written of `offset` in [`Expanded::text`]:
    /// inside a replaced value, its `${`.
    pub(crate) fn original(&self, offset: usize) -> usize {
        let mut shift: isize = 0;
        for (out, input) in &self.replaced {
            if offset < out.start {
                break;
            }
            if offset < out.end {
                return input.start;
            }
            shift = input.end as isize - out.end as isize;
        }
        offset.saturating_add_signed(shift)
    }

    /// The value variable `name` was replaced with, if it was used.
    pub(crate) fn value_of(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Replaces every `${NAME}` of `text` with `lookup(NAME)`.
///
/// # Errors
/// Every unset variable without a default, every malformed `${`, and every
/// value that cannot stand where it is written.
pub(crate) fn expand(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Expanded, Vec<EnvProblem>> {
    let bytes = text.as_bytes();
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        ..Expanded::default()
    };
    let mut problems = Vec::new();
    let mut context = Context::Bare;
    let mut i = 0;
    // Start of the input not yet copied to the output.
    let mut copied = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        // Leaving or entering a string or comment.
        let (next, step) = match (context, rest[0]) {
            (Context::Comment, b'\n') => (Context::Bare, 1),
            (Context::Bare, b'#') => (Context::Comment, 1),
            (Context::Bare, b'"') if rest.starts_with(b"\"\"\"") => (Context::MultiBasic, 3),
            (Context::Bare, b'"') => (Context::Basic, 1),
            (Context::Bare, b'\'') if rest.starts_with(b"'''") => (Context::MultiLiteral, 3),
            (Context::Bare, b'\'') => (Context::Literal, 1),
            (Context::Basic | Context::MultiBasic, b'\\') => (context, 2),
            (Context::Basic, b'"') | (Context::Literal, b'\'') => (Context::Bare, 1),
            (Context::Basic | Context::Literal, b'\n') => (Context::Bare, 1),
            (Context::MultiBasic, b'"') if rest.starts_with(b"\"\"\"") => (Context::Bare, 3),
            (Context::MultiLiteral, b'\'') if rest.starts_with(b"'''") => (Context::Bare, 3),
            (Context::Comment, _) => (context, 1),
            (_, b'$') if rest.starts_with(b"$${") => {
                // `$${` is a literal `${`: drop one `$`.
                out.text.push_str(&text[copied..i]);
                let start = out.text.len();
                out.text.push_str("${");
                out.replaced.push((start..out.text.len(), i..i + 3));
                i += 3;
                copied = i;
                continue;
            }
            (_, b'$') if rest.starts_with(b"${") => {
                let Some(len) = rest.iter().position(|&b| b == b'}' || b == b'\n') else {
                    problems.push(EnvProblem {
                        offset: i,
                        message: "`${` without its closing `}`".into(),
                    });
                    break;
                };
                if rest[len] != b'}' {
                    problems.push(EnvProblem {
                        offset: i,
                        message: "`${` without its closing `}` on the same line".into(),
                    });
                    i += 2;
                    continue;
                }
                let inner = &text[i + 2..i + len];
                match value(inner, &lookup).and_then(|v| fit(&v, context).map(|text| (v, text))) {
                    Ok((raw, text_value)) => {
                        out.text.push_str(&text[copied..i]);
                        let start = out.text.len();
                        out.text.push_str(&text_value);
                        out.replaced.push((start..out.text.len(), i..i + len + 1));
                        let name = inner.split_once(":-").map_or(inner, |(n, _)| n);
                        if out.value_of(name).is_none() {
                            out.values.push((name.to_owned(), raw));
                        }
                    }
                    Err(message) => problems.push(EnvProblem { offset: i, message }),
                }
                i += len + 1;
                copied = i;
                continue;
            }
            _ => (context, 1),
        };
        context = next;
        i = (i + step).min(bytes.len());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    out.text.push_str(&text[copied..]);
    Ok(out)
}

/// The value of `NAME` or `NAME:-default`.
fn value(inner: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let (name, default) = match inner.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (inner, None),
    };
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`${{{inner}}}`: a variable name is letters, digits and `_` (`${{API_TOKEN}}`, `${{RATE:-20}}`)"
        ));
    }
    match (lookup(name).filter(|v| !v.is_empty()), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => Err(format!(
            "environment variable {name} is not set or empty (write `${{{name}:-…}}` to give a default)"
        )),
    }
}

/// `value` as TOML text for `context`.
fn fit(value: &str, context: Context) -> Result<String, String> {
    match context {
        Context::Comment => Ok(value.to_owned()),
        Context::Basic | Context::MultiBasic => {
            let mut s = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' if context == Context::MultiBasic => s.push('\n'),
                    c if c.is_control() => s.push_str(&format!("\\u{:04X}", u32::from(c))),
                    c => s.push(c),
                }
            }
            Ok(s)
        }
        Context::Literal if value.contains(['\'', '\n']) => Err(
            "the value has a `'` or a line break, which a '…' string cannot hold: use \"…\"".into(),
        ),
        Context::MultiLiteral if value.contains("'''") => {
            Err("the value has `'''`, which a '''…''' string cannot hold: use \"\"\"…\"\"\"".into())
        }
        Context::Literal | Context::MultiLiteral => Ok(value.to_owned()),
        Context::Bare => {
            let plain = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
            if plain {
                Ok(value.to_owned())
            } else {
                Err(format!(
                    "outside a string a value must be a number or true/false, not {value:?}: put the `${{…}}` in quotes"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr\"t\\x".into()),
            "RATE" => Some("25".into()),
            "EMPTY" => Some(String::new()),
            "QUOTE" => Some("it's".into()),
            _ => None,
        }
    }

    #[test]
    fn values_go_in_as_what_they_mean() {
        let text = "a = \"Bearer ${TOKEN}\"\nrate = ${RATE}\nb = '${RATE:-1}/${MISSING:-x y}'\n# ${UNSET}\nc = \"$${HOME}\"\n";
        let e = expand(text, env).unwrap();
        assert_eq!(
            e.text,
            "a = \"Bearer s3cr\\\"t\\\\x\"\nrate = 25\nb = '25/x y'\n# ${UNSET}\nc = \"${HOME}\"\n"
        );
        let table: toml::Table = e.text.parse().unwrap();
        assert_eq!(table["a"].as_str(), Some("Bearer s3cr\"t\\x"));
        assert_eq!(table["rate"].as_integer(), Some(25));
        assert_eq!(table["c"].as_str(), Some("${HOME}"));
        assert_eq!(e.value_of("TOKEN"), Some("s3cr\"t\\x"));
        assert_eq!(e.value_of("MISSING"), Some("x y"));
        assert_eq!(e.value_of("UNSET"), None, "comments need no variable");
    }

    #[test]
    fn offsets_map_back_to_the_text_as_written() {
        let text = "a = \"${TOKEN}\"\nrate = ${RATE}x\n";
        let e = expand(text, env).unwrap();
        let x = e.text.find('x').unwrap();
        // Inside a value: its `${`.
        assert_eq!(e.original(x - 2), text.find("${TOKEN}").unwrap());
        let after = e.text.find("25x").unwrap() + 2;
        assert_eq!(&text[e.original(after)..e.original(after) + 1], "x");
        assert_eq!(e.original(0), 0);
    }

    #[test]
    fn every_problem_is_reported_at_its_dollar() {
        let text = "a = \"${NOPE}\"\nb = ${TOKEN}\nc = '${QUOTE}'\nd = \"${9X}\"\ne = \"${EMPTY}\"\nf = \"${OPEN\"\n";
        let problems = expand(text, env).unwrap_err();
        let at: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.offset, &p.message[..20.min(p.message.len())]))
            .collect();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert_eq!(at[0].0, text.find("${NOPE}").unwrap());
        assert!(
            problems[0].message.contains("NOPE is not set"),
            "{}",
            problems[0].message
        );
        assert!(
            problems[1].message.contains("outside a string"),
            "{}",
            problems[1].message
        );
        assert!(
            problems[2].message.contains("'…' string"),
            "{}",
            problems[2].message
        );
        assert!(
            problems[3].message.contains("variable name"),
            "{}",
            problems[3].message
        );
        assert!(
            problems[4].message.contains("EMPTY is not set"),
            "{}",
            problems[4].message
        );
        assert!(
            problems[5].message.contains("closing"),
            "{}",
            problems[5].message
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_maps_inside_the_text(text in "[a-z=\"'#$\\{\\}:\\- \n\\\\]{0,60}") {
            if let Ok(e) = expand(&text, |n| (n.len() % 2 == 0).then(|| "v\"'".to_owned())) {
                for offset in 0..=e.text.len() {
                    proptest::prop_assert!(e.original(offset) <= text.len());
                }
            }
        }
    }
}
