//! Splits SomonScript source into tokens.
//!
//! The lexer is a single forward pass: every character is looked at a
//! bounded number of times, so cost is linear in the source size. Whitespace
//! and comments are not tokens; the compiler copies the text between tokens
//! verbatim, which is how comments and line structure survive compilation.

use crate::syntax;
use crate::{Location, ParseError};

/// What a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An identifier or keyword (SomonScript or JavaScript), or a private
    /// class name such as `#count`.
    Ident,
    /// A numeric literal: decimal, hex/octal/binary, exponent, `_`
    /// separators, bigint suffix `n`.
    Number,
    /// A quoted string literal, quotes included.
    String,
    /// A regular expression literal with its flags.
    Regex,
    /// An operator or bracket.
    Punct,
    /// A template literal without substitutions: `` `text` ``.
    Template,
    /// The start of a template literal up to its first substitution: `` `text${ ``.
    TemplateHead,
    /// Template text between two substitutions: `}text${`.
    TemplateMiddle,
    /// The end of a template literal after its last substitution: `` }text` ``.
    TemplateTail,
    /// The end of the input (always the last token, with an empty span).
    Eof,
}

/// Where a token lies: byte range in the source plus the 1-based line and
/// column (in characters) of its first character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of the first character.
    pub line: u32,
    /// 1-based column of the first character, counted in characters.
    pub column: u32,
}

impl Span {
    /// The position of the span's first character.
    pub fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }
}

/// One lexical token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

impl Token {
    /// The token's text in `source` (the string it was lexed from).
    ///
    /// ```
    /// let src = "собит x = 1;";
    /// let tokens = somon_system::tokenize(src).unwrap();
    /// assert_eq!(tokens[0].text(src), "собит");
    /// ```
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.span.start..self.span.end]
    }

    pub(crate) fn is_punct(&self, source: &str, p: &str) -> bool {
        self.kind == TokenKind::Punct && self.text(source) == p
    }
}

/// Splits `source` into tokens, ending with one [`TokenKind::Eof`] token.
///
/// Fails on an unterminated string, template, regex or block comment, a
/// character that cannot start a token, or unbalanced brackets; the error
/// points at the opening quote, the offending character or the unmatched
/// bracket.
///
/// ```
/// use somon_system::{tokenize, TokenKind};
/// let tokens = tokenize("ворид { a } аз \"./x\";").unwrap();
/// assert_eq!(tokens.len(), 8); // … `"./x"`, `;`, end of input
/// assert_eq!(tokens[5].kind, TokenKind::String);
/// assert_eq!((tokens[5].span.line, tokens[5].span.column), (1, 16));
/// assert!(tokenize("x = 'open").is_err());
/// ```
pub fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    lex(source).map(|lexed| lexed.tokens)
}

/// The lexer's full answer, for the compiler.
pub(crate) struct Lexed {
    pub(crate) tokens: Vec<Token>,
    /// The source ends inside a `//` comment, so text appended to the last
    /// line would be commented out.
    pub(crate) ends_in_line_comment: bool,
}

pub(crate) fn lex(source: &str) -> Result<Lexed, ParseError> {
    let mut lexer = Lexer {
        src: source,
        bytes: source.as_bytes(),
        pos: 0,
        line: 1,
        col: 1,
        // Roughly one token per five bytes of typical source.
        tokens: Vec::with_capacity(source.len() / 5 + 1),
        open: Vec::new(),
        ends_in_line_comment: false,
    };
    lexer.run()?;
    Ok(Lexed {
        tokens: lexer.tokens,
        ends_in_line_comment: lexer.ends_in_line_comment,
    })
}

/// An open bracket waiting for its closer.
struct Open {
    /// `(`, `[`, `{`, or `` ` `` for a template substitution `${`.
    ch: u8,
    at: Location,
    /// For a template substitution: where the template literal started.
    template: Location,
}

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    open: Vec<Open>,
    ends_in_line_comment: bool,
}

/// Longest first, so the first match is the longest match.
const PUNCTUATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%",
    "&", "|", "^", "!", "~", "?", ":", "=", ".", "@",
];

/// Words after which `/` starts a regex rather than a division.
const EXPRESSION_KEYWORDS: &[&str] = &[
    "return",
    "typeof",
    "instanceof",
    "in",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
    "extends",
    "default",
];

pub(crate) fn is_ident_start(c: char) -> bool {
    c == '$' || c == '_' || unicode_ident::is_xid_start(c)
}

pub(crate) fn is_ident_continue(c: char) -> bool {
    c == '$' || c == '\u{200C}' || c == '\u{200D}' || unicode_ident::is_xid_continue(c)
}

impl<'s> Lexer<'s> {
    fn peek(&self) -> Option<char> {
        match self.bytes.get(self.pos) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.src[self.pos..].chars().next(),
            None => None,
        }
    }

    fn peek_byte_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn here(&self) -> Location {
        Location {
            line: self.line,
            column: self.col,
        }
    }

    fn error(at: Location, message: impl Into<String>) -> ParseError {
        ParseError::new(at.line, at.column, message)
    }

    fn push(&mut self, kind: TokenKind, start: usize, at: Location) {
        self.tokens.push(Token {
            kind,
            span: Span {
                start,
                end: self.pos,
                line: at.line,
                column: at.column,
            },
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        if self.src.starts_with("#!") {
            self.skip_line_comment();
        }
        loop {
            self.skip_trivia()?;
            let start = self.pos;
            let at = self.here();
            let Some(c) = self.peek() else { break };
            match c {
                '"' | '\'' => self.string(c, start, at)?,
                '`' => {
                    self.bump();
                    self.template_chunk(start, at, at, TokenKind::Template)?;
                }
                '0'..='9' => self.number(start, at)?,
                '.' if matches!(self.peek_byte_at(1), Some(b'0'..=b'9')) => {
                    self.number(start, at)?
                }
                '#' if self.src[self.pos + 1..]
                    .chars()
                    .next()
                    .is_some_and(is_ident_start) =>
                {
                    self.bump();
                    self.ident(start, at);
                }
                c if is_ident_start(c) => self.ident(start, at),
                '/' if self.regex_allowed() => self.regex(start, at)?,
                '(' | '[' | '{' => {
                    self.bump();
                    self.open.push(Open {
                        ch: c as u8,
                        at,
                        template: at,
                    });
                    self.push(TokenKind::Punct, start, at);
                }
                ')' | ']' | '}' => self.close(c, start, at)?,
                _ => self.punct(c, start, at)?,
            }
        }
        if let Some(open) = self.open.last() {
            return Err(if open.ch == b'`' {
                Self::error(open.template, "unterminated template literal")
            } else {
                Self::error(open.at, format!("unclosed `{}`", open.ch as char))
            });
        }
        let at = self.here();
        self.push(TokenKind::Eof, self.pos, at);
        Ok(())
    }

    fn skip_line_comment(&mut self) {
        match self.src[self.pos..].find('\n') {
            Some(n) => {
                // Comments never contain a newline before `n`, so only the
                // column moves; count characters to keep columns exact.
                self.col += self.src[self.pos..self.pos + n].chars().count() as u32;
                self.pos += n;
            }
            None => {
                self.col += self.src[self.pos..].chars().count() as u32;
                self.pos = self.src.len();
                self.ends_in_line_comment = true;
            }
        }
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            if c == '/' && self.peek_byte_at(1) == Some(b'/') {
                self.skip_line_comment();
            } else if c == '/' && self.peek_byte_at(1) == Some(b'*') {
                let at = self.here();
                let Some(n) = self.src[self.pos + 2..].find("*/") else {
                    return Err(Self::error(at, "unterminated block comment"));
                };
                let end = self.pos + 2 + n + 2;
                while self.pos < end {
                    self.bump();
                }
            } else if c.is_whitespace() || c == '\u{feff}' {
                self.bump();
            } else {
                break;
            }
        }
        Ok(())
    }

    fn regex_allowed(&self) -> bool {
        let Some(last) = self.tokens.last() else {
            return true;
        };
        let text = last.text(self.src);
        match last.kind {
            TokenKind::Ident => {
                EXPRESSION_KEYWORDS.contains(&syntax::canonical(text)) && !text.starts_with('#')
            }
            TokenKind::Number
            | TokenKind::String
            | TokenKind::Regex
            | TokenKind::Template
            | TokenKind::TemplateTail => false,
            TokenKind::TemplateHead | TokenKind::TemplateMiddle | TokenKind::Eof => true,
            TokenKind::Punct => !matches!(text, ")" | "]" | "}" | "++" | "--"),
        }
    }

    fn string(&mut self, quote: char, start: usize, at: Location) -> Result<(), ParseError> {
        self.bump();
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(Self::error(at, "unterminated string literal"));
                }
                Some('\\') => {
                    if self.bump().is_none() {
                        return Err(Self::error(at, "unterminated string literal"));
                    }
                }
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.push(TokenKind::String, start, at);
        Ok(())
    }

    /// Lexes template text after its opening `` ` `` or `}` up to and
    /// including the closing `` ` `` or the next `${`. `kind` is the kind
    /// the chunk gets if it ends with `` ` ``.
    fn template_chunk(
        &mut self,
        start: usize,
        at: Location,
        template: Location,
        kind: TokenKind,
    ) -> Result<(), ParseError> {
        loop {
            match self.bump() {
                None => return Err(Self::error(template, "unterminated template literal")),
                Some('\\') => {
                    if self.bump().is_none() {
                        return Err(Self::error(template, "unterminated template literal"));
                    }
                }
                Some('`') => {
                    self.push(kind, start, at);
                    return Ok(());
                }
                Some('$') if self.peek() == Some('{') => {
                    let brace = self.here();
                    self.bump();
                    self.open.push(Open {
                        ch: b'`',
                        at: brace,
                        template,
                    });
                    let kind = if kind == TokenKind::Template {
                        TokenKind::TemplateHead
                    } else {
                        TokenKind::TemplateMiddle
                    };
                    self.push(kind, start, at);
                    return Ok(());
                }
                Some(_) => {}
            }
        }
    }

    fn close(&mut self, c: char, start: usize, at: Location) -> Result<(), ParseError> {
        let Some(open) = self.open.pop() else {
            return Err(Self::error(at, format!("unmatched `{c}`")));
        };
        let expected = match open.ch {
            b'(' => ')',
            b'[' => ']',
            _ => '}',
        };
        if c != expected {
            let opener = if open.ch == b'`' {
                "${".to_string()
            } else {
                (open.ch as char).to_string()
            };
            return Err(Self::error(
                at,
                format!(
                    "expected `{expected}` to close `{opener}` at {}, found `{c}`",
                    open.at
                ),
            ));
        }
        self.bump();
        if open.ch == b'`' {
            self.template_chunk(start, at, open.template, TokenKind::TemplateTail)
        } else {
            self.push(TokenKind::Punct, start, at);
            Ok(())
        }
    }

    fn eat_digits(&mut self, hex: bool) -> usize {
        let mut n = 0;
        while let Some(b) = self.peek_byte_at(0) {
            let ok = b.is_ascii_digit() || b == b'_' || (hex && b.is_ascii_hexdigit());
            if !ok {
                break;
            }
            self.bump();
            n += 1;
        }
        n
    }

    fn number(&mut self, start: usize, at: Location) -> Result<(), ParseError> {
        let radix_prefix = self.peek() == Some('0')
            && matches!(
                self.peek_byte_at(1),
                Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B')
            );
        if radix_prefix {
            self.bump();
            self.bump();
            if self.eat_digits(true) == 0 {
                return Err(Self::error(at, "invalid number literal: no digits"));
            }
        } else {
            self.eat_digits(false);
            if self.peek() == Some('.') {
                self.bump();
                self.eat_digits(false);
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
                if self.eat_digits(false) == 0 {
                    return Err(Self::error(at, "invalid number literal: empty exponent"));
                }
            }
        }
        if self.peek() == Some('n') {
            self.bump();
        }
        if self.peek().is_some_and(|c| is_ident_start(c) || c == '\\') {
            return Err(Self::error(
                self.here(),
                "unexpected character right after a number literal",
            ));
        }
        self.push(TokenKind::Number, start, at);
        Ok(())
    }

    fn ident(&mut self, start: usize, at: Location) {
        self.bump();
        while self.peek().is_some_and(is_ident_continue) {
            self.bump();
        }
        self.push(TokenKind::Ident, start, at);
    }

    fn regex(&mut self, start: usize, at: Location) -> Result<(), ParseError> {
        self.bump();
        let mut in_class = false;
        loop {
            match self.bump() {
                None | Some('\n') => {
                    return Err(Self::error(at, "unterminated regular expression literal"));
                }
                Some('\\') => {
                    if matches!(self.bump(), None | Some('\n')) {
                        return Err(Self::error(at, "unterminated regular expression literal"));
                    }
                }
                Some('[') => in_class = true,
                Some(']') => in_class = false,
                Some('/') if !in_class => break,
                Some(_) => {}
            }
        }
        while self.peek().is_some_and(is_ident_continue) {
            self.bump();
        }
        self.push(TokenKind::Regex, start, at);
        Ok(())
    }

    fn punct(&mut self, c: char, start: usize, at: Location) -> Result<(), ParseError> {
        let rest = &self.src[self.pos..];
        let first = rest.as_bytes().first().copied();
        let found = PUNCTUATORS.iter().find(|p| {
            // The first-byte test skips the string compare for nearly every
            // entry (the compare was a fifth of compile time in a profile).
            p.as_bytes().first().copied() == first
                && rest.starts_with(**p)
                // `a?.5:b` is a conditional, not optional chaining.
                && !(**p == "?." && rest.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
        });
        let Some(p) = found else {
            return Err(Self::error(at, format!("unexpected character `{c}`")));
        };
        // Punctuators are ASCII, so byte length equals column count.
        self.pos += p.len();
        self.col += p.len() as u32;
        self.push(TokenKind::Punct, start, at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_and_texts(src: &str) -> Vec<(TokenKind, &str)> {
        tokenize(src)
            .unwrap()
            .iter()
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    fn err(src: &str) -> (u32, u32, String) {
        let e = tokenize(src).unwrap_err();
        (e.at.line, e.at.column, e.message)
    }

    #[test]
    fn longest_punctuator_wins() {
        let toks = kinds_and_texts("a >>>= b ?? c ??= d?.e ... === !== => **=");
        let puncts: Vec<&str> = toks
            .iter()
            .filter(|(k, _)| *k == TokenKind::Punct)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(
            puncts,
            [">>>=", "??", "??=", "?.", "...", "===", "!==", "=>", "**="]
        );
    }

    #[test]
    fn optional_chain_is_not_taken_before_a_digit() {
        let toks = kinds_and_texts("a?.5:b");
        assert_eq!(toks[1], (TokenKind::Punct, "?"));
        assert_eq!(toks[2], (TokenKind::Number, ".5"));
    }

    #[test]
    fn tajik_identifiers_are_single_tokens() {
        let toks = kinds_and_texts("холӣ ҳамзамон тағйирёбанда $x _y");
        assert_eq!(toks.len(), 6);
        assert!(toks[..5].iter().all(|(k, _)| *k == TokenKind::Ident));
        assert_eq!(toks[0].1, "холӣ");
    }

    #[test]
    fn columns_count_characters() {
        let src = "ҳ ӣ\n  аз";
        let toks = tokenize(src).unwrap();
        assert_eq!((toks[1].span.line, toks[1].span.column), (1, 3));
        assert_eq!((toks[2].span.line, toks[2].span.column), (2, 3));
    }

    #[test]
    fn numbers() {
        for n in [
            "0", "1_000", "0xFF_FF", "0b1010", "0o17", "1.5e-3", ".5", "10n", "1E9",
        ] {
            assert_eq!(kinds_and_texts(n)[0], (TokenKind::Number, n), "{n}");
        }
        assert!(tokenize("1e").is_err());
        assert!(tokenize("0x").is_err());
        assert!(tokenize("3in").is_err());
    }

    #[test]
    fn regex_or_division_follows_previous_token() {
        let toks = kinds_and_texts("a / b / c");
        assert_eq!(toks[1], (TokenKind::Punct, "/"));
        let toks = kinds_and_texts("x = /[/]a\\/b/gi.test(y)");
        assert_eq!(toks[2], (TokenKind::Regex, "/[/]a\\/b/gi"));
        let toks = kinds_and_texts("бозгашт /a/");
        assert_eq!(toks[1], (TokenKind::Regex, "/a/"));
        let toks = kinds_and_texts("(a) / 2");
        assert_eq!(toks[3], (TokenKind::Punct, "/"));
        assert_eq!(err("x = /abc\n/").0, 1);
    }

    #[test]
    fn templates_nest() {
        let src = "`a${ {b: `c${d}e`} }f` + 1";
        let toks = kinds_and_texts(src);
        let kinds: Vec<TokenKind> = toks.iter().map(|t| t.0).collect();
        use TokenKind::*;
        assert_eq!(
            kinds,
            [
                TemplateHead,
                Punct,
                Ident,
                Punct,
                TemplateHead,
                Ident,
                TemplateTail,
                Punct,
                TemplateTail,
                Punct,
                Number,
                Eof
            ]
        );
        assert_eq!(toks[8].1, "}f`");
    }

    #[test]
    fn comments_and_strings_hide_their_contents() {
        let toks = kinds_and_texts("a // ) ]\n/* ( { */ 'b\\'c' \"d\"");
        assert_eq!(toks.len(), 4);
        assert_eq!(toks[1], (TokenKind::String, "'b\\'c'"));
    }

    #[test]
    fn errors_point_at_the_opening() {
        assert_eq!(
            err("x\n  'abc"),
            (2, 3, "unterminated string literal".into())
        );
        assert_eq!(err("a 'b\nc'").0, 1);
        assert_eq!(err("a\n /* x").1, 2);
        assert_eq!(
            err("x\n `a${b"),
            (2, 2, "unterminated template literal".into())
        );
        assert_eq!(err("f(a\n\n"), (1, 2, "unclosed `(`".into()));
        assert_eq!(err("a)"), (1, 2, "unmatched `)`".into()));
        assert_eq!(err("(]").0, 1);
        assert_eq!(err("a ¤ b"), (1, 3, "unexpected character `¤`".into()));
    }

    #[test]
    fn hashbang_and_private_names() {
        let toks = kinds_and_texts("#!/usr/bin/env node\nclass A { #x = 1 }");
        assert_eq!(toks[3], (TokenKind::Ident, "#x"));
    }

    #[test]
    fn crlf_counts_as_one_line() {
        let toks = tokenize("a\r\nb").unwrap();
        assert_eq!((toks[1].span.line, toks[1].span.column), (2, 1));
    }

    #[test]
    fn trailing_line_comment_is_reported() {
        assert!(lex("a // c").unwrap().ends_in_line_comment);
        assert!(!lex("a // c\n").unwrap().ends_in_line_comment);
    }
}
