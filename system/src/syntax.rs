//! Recognises import and export statements in a token stream.
//!
//! Only the module syntax is parsed; everything else is left to the JavaScript
//! engine. Statements are found at bracket depth 0, and each is described by
//! token indices so the compiler can rewrite it in place.

use crate::lexer::{Token, TokenKind};
use crate::{Location, ParseError};

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
fn is_reserved(word: &str) -> bool {
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

/// A module specifier string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Specifier {
    /// The decoded string value.
    pub(crate) value: String,
    /// The opening quote.
    pub(crate) at: Location,
}

/// One `name` or `name чун alias` in braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    /// The name before `чун` (imported name, or local name in an export list).
    pub(crate) name: String,
    /// The name after `чун`, or `name` again.
    pub(crate) alias: String,
}

/// What an import/export statement does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `ворид "x";`
    SideEffect(Specifier),
    /// `ворид d, * чун ns аз "x";`, `ворид d, { a } аз "x";`, …
    Import {
        default: Option<String>,
        namespace: Option<String>,
        named: Option<Vec<Binding>>,
        source: Specifier,
    },
    /// `содир { a чун b } аз "x";`
    ExportFrom(Vec<Binding>, Specifier),
    /// `содир * аз "x";`
    ExportStar(Specifier),
    /// `содир * чун ns аз "x";`
    ExportStarAs(String, Specifier),
    /// `содир { a, b чун c };`
    ExportList(Vec<Binding>),
    /// `содир [пешфарз] [ҳамзамон] функсия [*] name …`: the declaration stays,
    /// the export is hoisted.
    ExportFunction { name: String, default: bool },
    /// `содир [пешфарз] синф Name … { … }`; `body_end` is the closing `}`.
    ExportClass {
        name: String,
        default: bool,
        body_end: usize,
    },
    /// `содир собит a = 1, b;`: the declarator name tokens and whether each
    /// has an initializer.
    ExportVar(Vec<(usize, String, bool)>),
    /// `содир пешфарз <expression>`; for an anonymous function or class,
    /// the token index of its closing `}`.
    ExportDefault { anonymous_end: Option<usize> },
}

/// One import/export statement: tokens `start..end`, of which
/// `start..keywords_end` are the `содир [пешфарз]` / `ворид` words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) start: usize,
    pub(crate) keywords_end: usize,
    pub(crate) end: usize,
    pub(crate) form: Form,
}

/// Finds every import/export statement, in source order. `tokens` must come
/// from the lexer (balanced brackets, ending in `Eof`).
pub(crate) fn statements(src: &str, tokens: &[Token]) -> Result<Vec<Statement>, ParseError> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() && tokens[i].kind != TokenKind::Eof {
        let t = &tokens[i];
        match t.kind {
            TokenKind::Punct => match t.text(src) {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                _ => {}
            },
            TokenKind::TemplateHead => depth += 1,
            TokenKind::TemplateTail => depth = depth.saturating_sub(1),
            TokenKind::Ident => {
                let word = canonical(t.text(src));
                let p = Parser { src, tokens, i };
                let after_dot = i > 0 && matches!(tokens[i - 1].text(src), "." | "?.");
                if word == "import" && !after_dot && p.starts_statement(true, depth) {
                    if depth > 0 {
                        return Err(p.error_here("imports are only allowed at the top level"));
                    }
                    let statement = p.import()?;
                    i = statement.end;
                    found.push(statement);
                    continue;
                }
                if word == "export" && !after_dot && p.starts_statement(false, depth) {
                    if depth > 0 {
                        return Err(p.error_here("exports are only allowed at the top level"));
                    }
                    let statement = p.export()?;
                    i = statement.end;
                    found.push(statement);
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(found)
}

/// Does `t` end an expression (so a following line can start a new statement)?
fn ends_value(src: &str, t: &Token) -> bool {
    match t.kind {
        TokenKind::Ident
        | TokenKind::Number
        | TokenKind::String
        | TokenKind::Regex
        | TokenKind::Template
        | TokenKind::TemplateTail => true,
        TokenKind::Punct => matches!(t.text(src), ")" | "]" | "}"),
        _ => false,
    }
}

/// Can `t` only start a new expression (not continue the previous one)?
fn starts_value(src: &str, t: &Token) -> bool {
    match t.kind {
        TokenKind::Ident => !matches!(canonical(t.text(src)), "in" | "instanceof"),
        TokenKind::Number
        | TokenKind::String
        | TokenKind::Regex
        | TokenKind::Template
        | TokenKind::TemplateHead => true,
        _ => false,
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: &'a [Token],
    i: usize,
}

impl<'a> Parser<'a> {
    fn tok(&self) -> &'a Token {
        // The lexer always ends with Eof, so clamping keeps us on it.
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn text(&self) -> &'a str {
        self.tok().text(self.src)
    }

    fn word(&self) -> Option<&'a str> {
        (self.tok().kind == TokenKind::Ident).then(|| canonical(self.text()))
    }

    fn is_word(&self, w: &str) -> bool {
        self.word() == Some(w)
    }

    fn is_punct(&self, p: &str) -> bool {
        self.tok().is_punct(self.src, p)
    }

    fn describe(&self) -> String {
        if self.tok().kind == TokenKind::Eof {
            return "end of input".to_string();
        }
        let text: String = self.text().chars().take(24).collect();
        format!("`{text}`")
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        let s = self.tok().span;
        ParseError::new(s.line, s.column, message)
    }

    fn expected(&self, what: &str) -> ParseError {
        self.error_here(format!("expected {what}, found {}", self.describe()))
    }

    /// Whether the import/export word at `i` begins a statement rather than
    /// `import(…)`, `import.meta` or a property name. At the top level both
    /// words are reserved, so anything else is a (possibly malformed)
    /// statement; inside brackets only clear statement shapes count.
    fn starts_statement(&self, import: bool, depth: usize) -> bool {
        let Some(next) = self.tokens.get(self.i + 1) else {
            return false;
        };
        if depth == 0 {
            return !(import && (next.is_punct(self.src, "(") || next.is_punct(self.src, ".")));
        }
        match next.kind {
            TokenKind::Punct => match next.text(self.src) {
                "{" | "*" => true,
                // A malformed `ворид;` is still an import statement.
                ";" => import,
                _ => false,
            },
            TokenKind::String | TokenKind::Ident => true,
            TokenKind::Eof => true,
            _ => false,
        }
    }

    /// Ends a statement that is replaced wholesale: an optional `;`, else a
    /// line break, `}` or the end of input must follow.
    fn finish(&mut self, what: &str) -> Result<(), ParseError> {
        if self.is_punct(";") {
            self.i += 1;
            return Ok(());
        }
        let prev = &self.tokens[self.i - 1];
        let t = self.tok();
        if t.kind == TokenKind::Eof || t.span.line > prev.span.line || self.is_punct("}") {
            Ok(())
        } else {
            Err(self.expected(&format!("`;` after {what}")))
        }
    }

    fn specifier(&mut self) -> Result<Specifier, ParseError> {
        let t = self.tok();
        if t.kind != TokenKind::String {
            return Err(self.expected("a module specifier string"));
        }
        self.i += 1;
        Ok(Specifier {
            value: decode_string(t.text(self.src)),
            at: t.span.location(),
        })
    }

    fn expect_from(&mut self) -> Result<(), ParseError> {
        if !self.is_word("from") {
            return Err(self.expected("`аз` (from)"));
        }
        self.i += 1;
        Ok(())
    }

    /// A name that may appear as a property: any identifier or keyword.
    fn any_name(&mut self) -> Result<String, ParseError> {
        match self.word() {
            Some(w) if !w.starts_with('#') => {
                self.i += 1;
                Ok(w.to_string())
            }
            _ if self.tok().kind == TokenKind::String => {
                Err(self.error_here("string names in import/export lists are not supported"))
            }
            _ => Err(self.expected("a name")),
        }
    }

    /// A name for a local variable.
    fn binding(&mut self) -> Result<String, ParseError> {
        match self.word() {
            Some(w) if !w.starts_with('#') && !is_reserved(w) => {
                self.i += 1;
                Ok(w.to_string())
            }
            Some(_) => Err(self.error_here(format!(
                "{} is a reserved word and cannot name a binding",
                self.describe()
            ))),
            None => Err(self.expected("a binding name")),
        }
    }

    /// `{ a, b чун c, }`. For imports the alias must be a binding; for
    /// exports the returned token indices let the caller check local names
    /// once it knows whether `аз` follows.
    fn named_list(&mut self, import: bool) -> Result<Vec<(Binding, usize)>, ParseError> {
        self.i += 1; // `{`
        let mut list = Vec::new();
        while !self.is_punct("}") {
            let name_at = self.i;
            let name = self.any_name()?;
            let alias = if self.is_word("as") {
                self.i += 1;
                if import {
                    self.binding()?
                } else {
                    self.any_name()?
                }
            } else {
                if import && is_reserved(&name) {
                    self.i = name_at;
                    return Err(self.error_here(format!(
                        "{} must be renamed with `чун` to import it",
                        self.describe()
                    )));
                }
                name.clone()
            };
            list.push((Binding { name, alias }, name_at));
            if self.is_punct(",") {
                self.i += 1;
            } else if !self.is_punct("}") {
                return Err(self.expected("`,` or `}`"));
            }
        }
        self.i += 1; // `}`
        Ok(list)
    }

    fn import(mut self) -> Result<Statement, ParseError> {
        let start = self.i;
        self.i += 1;
        let keywords_end = self.i;
        let form = if self.tok().kind == TokenKind::String {
            Form::SideEffect(self.specifier()?)
        } else {
            let mut default = None;
            let mut namespace = None;
            let mut named = None;
            if self.tok().kind == TokenKind::Ident {
                default = Some(self.binding()?);
                if self.is_punct(",") {
                    self.i += 1;
                    if !self.is_punct("*") && !self.is_punct("{") {
                        return Err(self.expected("`{` or `*` after `,`"));
                    }
                }
            }
            if self.is_punct("*") {
                self.i += 1;
                if !self.is_word("as") {
                    return Err(self.expected("`чун` (as) after `*`"));
                }
                self.i += 1;
                namespace = Some(self.binding()?);
            } else if self.is_punct("{") {
                named = Some(self.named_list(true)?.into_iter().map(|b| b.0).collect());
            } else if default.is_none() {
                return Err(self.expected("a module string, a name, `{` or `*` after `ворид`"));
            }
            self.expect_from()?;
            Form::Import {
                default,
                namespace,
                named,
                source: self.specifier()?,
            }
        };
        self.finish("the import")?;
        Ok(Statement {
            start,
            keywords_end,
            end: self.i,
            form,
        })
    }

    fn export(mut self) -> Result<Statement, ParseError> {
        let start = self.i;
        self.i += 1;
        let mut keywords_end = self.i;
        let form = if self.is_punct("*") {
            self.i += 1;
            let name = if self.is_word("as") {
                self.i += 1;
                Some(self.any_name()?)
            } else {
                None
            };
            self.expect_from()?;
            let source = self.specifier()?;
            self.finish("the export")?;
            match name {
                Some(name) => Form::ExportStarAs(name, source),
                None => Form::ExportStar(source),
            }
        } else if self.is_punct("{") {
            let list = self.named_list(false)?;
            if self.is_word("from") {
                self.i += 1;
                let source = self.specifier()?;
                self.finish("the export")?;
                Form::ExportFrom(list.into_iter().map(|b| b.0).collect(), source)
            } else {
                self.finish("the export list")?;
                let end = self.i;
                for (binding, at) in &list {
                    if is_reserved(&binding.name) {
                        self.i = *at;
                        return Err(self.error_here(format!(
                            "{} is not a local name; did you mean `содир {{ … }} аз \"…\"`?",
                            self.describe()
                        )));
                    }
                }
                self.i = end;
                Form::ExportList(list.into_iter().map(|b| b.0).collect())
            }
        } else if self.is_word("default") {
            self.i += 1;
            keywords_end = self.i;
            self.export_default()?
        } else if self.is_function_start() {
            self.skip_function_keywords();
            let name = match self.word() {
                Some(_) => self.binding()?,
                None => return Err(self.error_here(
                    "an exported function needs a name (use `содир пешфарз` for an anonymous one)",
                )),
            };
            Form::ExportFunction {
                name,
                default: false,
            }
        } else if self.is_word("class") {
            self.i += 1;
            let name =
                match self.word() {
                    Some(w) if w != "extends" => self.binding()?,
                    _ => return Err(self.error_here(
                        "an exported class needs a name (use `содир пешфарз` for an anonymous one)",
                    )),
                };
            Form::ExportClass {
                name,
                default: false,
                body_end: self.body_end()?,
            }
        } else if matches!(self.word(), Some("const" | "let" | "var")) {
            self.i += 1;
            self.declarators()?
        } else {
            return Err(self.expected(
                "`{`, `*`, `пешфарз`, `функсия`, `синф`, `собит` or `тағ` after `содир`",
            ));
        };
        let end = match form {
            // Declarations are edited in place; scanning resumes after the
            // keywords so the body's brackets are counted by the caller.
            Form::ExportFunction { .. } | Form::ExportClass { .. } | Form::ExportDefault { .. } => {
                keywords_end
            }
            _ => self.i,
        };
        Ok(Statement {
            start,
            keywords_end,
            end,
            form,
        })
    }

    fn is_function_start(&self) -> bool {
        self.is_word("function")
            || (self.is_word("async")
                && self.tokens.get(self.i + 1).is_some_and(|t| {
                    t.kind == TokenKind::Ident && canonical(t.text(self.src)) == "function"
                }))
    }

    /// Steps over `[async] function [*]`.
    fn skip_function_keywords(&mut self) {
        if self.is_word("async") {
            self.i += 1;
        }
        self.i += 1;
        if self.is_punct("*") {
            self.i += 1;
        }
    }

    fn export_default(&mut self) -> Result<Form, ParseError> {
        let save = self.i;
        if self.is_function_start() {
            self.skip_function_keywords();
            if self.tok().kind == TokenKind::Ident {
                let name = self.binding()?;
                return Ok(Form::ExportFunction {
                    name,
                    default: true,
                });
            }
            let end = self.body_end()?;
            self.i = save;
            return Ok(Form::ExportDefault {
                anonymous_end: Some(end),
            });
        }
        if self.is_word("class") {
            self.i += 1;
            let name = match self.word() {
                Some(w) if w != "extends" => Some(self.binding()?),
                _ => None,
            };
            let body_end = self.body_end()?;
            self.i = save;
            return Ok(match name {
                Some(name) => Form::ExportClass {
                    name,
                    default: true,
                    body_end,
                },
                None => Form::ExportDefault {
                    anonymous_end: Some(body_end),
                },
            });
        }
        if self.tok().kind == TokenKind::Eof || self.is_punct(";") || self.is_punct("}") {
            return Err(self.expected("an expression after `содир пешфарз`"));
        }
        Ok(Form::ExportDefault {
            anonymous_end: None,
        })
    }

    /// The index of the `}` closing the first `{` at depth 0 from here: the
    /// body of a function or class.
    fn body_end(&self) -> Result<usize, ParseError> {
        let mut depth = 0usize;
        let mut j = self.i;
        let mut body = false;
        while let Some(t) = self.tokens.get(j) {
            match (t.kind, t.text(self.src)) {
                (TokenKind::Eof, _) => break,
                (TokenKind::Punct, "{") if depth == 0 => {
                    body = true;
                    depth += 1;
                }
                (TokenKind::Punct, "(" | "[" | "{") | (TokenKind::TemplateHead, _) => depth += 1,
                (TokenKind::Punct, ")" | "]" | "}") | (TokenKind::TemplateTail, _) => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    if depth == 0 && body {
                        return Ok(j);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let at = Parser {
            src: self.src,
            tokens: self.tokens,
            i: j,
        };
        Err(at.expected("a `{ … }` body"))
    }

    fn declarators(&mut self) -> Result<Form, ParseError> {
        let mut names = Vec::new();
        loop {
            if self.is_punct("{") || self.is_punct("[") {
                return Err(self.error_here(
                    "destructuring is not supported in exported declarations; \
                     declare the names first, then `содир { … }`",
                ));
            }
            let at = self.i;
            let name = self.binding()?;
            let has_init = self.is_punct("=");
            if has_init {
                self.i += 1;
                self.skip_initializer()?;
            }
            names.push((at, name, has_init));
            if self.is_punct(",") {
                self.i += 1;
            } else {
                break;
            }
        }
        if self.is_punct(";") {
            self.i += 1;
        }
        Ok(Form::ExportVar(names))
    }

    /// Moves past one initializer expression: up to `,` or `;` at depth 0,
    /// or a line break where automatic semicolon insertion ends it.
    fn skip_initializer(&mut self) -> Result<(), ParseError> {
        let first = self.i;
        let mut depth = 0usize;
        while let Some(t) = self.tokens.get(self.i) {
            let text = t.text(self.src);
            match t.kind {
                TokenKind::Eof => break,
                TokenKind::Punct if depth == 0 && (text == "," || text == ";") => break,
                TokenKind::Punct if matches!(text, "(" | "[" | "{") => depth += 1,
                TokenKind::TemplateHead => depth += 1,
                TokenKind::Punct if matches!(text, ")" | "]" | "}") => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                TokenKind::TemplateTail => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 && self.i > first {
                let prev = &self.tokens[self.i - 1];
                if t.span.line > prev.span.line
                    && ends_value(self.src, prev)
                    && starts_value(self.src, t)
                {
                    break;
                }
            }
            self.i += 1;
        }
        if self.i == first {
            return Err(self.expected("an expression after `=`"));
        }
        Ok(())
    }
}

/// The value of a string literal (quotes included in `literal`).
pub(crate) fn decode_string(literal: &str) -> String {
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
    use crate::lexer::tokenize;

    fn parse(src: &str) -> Result<Vec<Statement>, ParseError> {
        statements(src, &tokenize(src).unwrap())
    }

    fn forms(src: &str) -> Vec<Form> {
        parse(src).unwrap().into_iter().map(|s| s.form).collect()
    }

    fn spec(value: &str, line: u32, column: u32) -> Specifier {
        Specifier {
            value: value.to_string(),
            at: Location { line, column },
        }
    }

    #[test]
    fn keyword_table() {
        assert_eq!(js_word("холӣ"), Some("null"));
        assert_eq!(js_word("тағ"), Some("let"));
        assert_eq!(js_word("import"), None);
        assert_eq!(canonical("салом"), "салом");
    }

    #[test]
    fn import_forms() {
        let f = forms("ворид d, * чун ns аз './x'\nimport \"y\";");
        assert_eq!(
            f[0],
            Form::Import {
                default: Some("d".into()),
                namespace: Some("ns".into()),
                named: None,
                source: spec("./x", 1, 22),
            }
        );
        assert_eq!(f[1], Form::SideEffect(spec("y", 2, 8)));
    }

    #[test]
    fn named_import_maps_keywords_in_names() {
        let f = forms("ворид { пешфарз чун d, аз } аз \"m\";");
        let Form::Import { named, .. } = &f[0] else {
            panic!()
        };
        let named = named.as_ref().unwrap();
        assert_eq!(named[0].name, "default");
        assert_eq!(named[0].alias, "d");
        assert_eq!(named[1].alias, "from");
    }

    #[test]
    fn dynamic_import_and_property_are_not_statements() {
        assert!(forms("ворид('./x').then(f); a.import; import.meta").is_empty());
    }

    #[test]
    fn export_var_declarators_stop_at_depth_zero() {
        let f = forms("содир собит K = f(a, b), L = { c: 1, d }, M\nчоп.сабт(K)");
        let Form::ExportVar(names) = &f[0] else {
            panic!()
        };
        let names: Vec<_> = names.iter().map(|n| (n.1.as_str(), n.2)).collect();
        assert_eq!(names, [("K", true), ("L", true), ("M", false)]);
    }

    #[test]
    fn initializer_ends_at_line_break_by_asi() {
        let f = forms("содир тағ x = 1\ny, z = 2");
        let Form::ExportVar(names) = &f[0] else {
            panic!()
        };
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn errors_name_what_was_expected() {
        let e = parse("ворид { a } \"./x\";").unwrap_err();
        assert_eq!((e.at.line, e.at.column), (1, 13));
        assert!(e.message.contains("аз"), "{}", e.message);
        let e = parse("ворид { a аз \"./x\" };").unwrap_err();
        assert!(e.message.contains("`,` or `}`"), "{}", e.message);
        let e = parse("ворид").unwrap_err();
        assert_eq!((e.at.line, e.at.column), (1, 6));
        let e = parse("ворид { a } аз x;").unwrap_err();
        assert!(e.message.contains("specifier"), "{}", e.message);
        let e = parse("агар (x) { ворид { a } аз 'b'; }").unwrap_err();
        assert!(e.message.contains("top level"));
        let e = parse("содир собит { a } = b;").unwrap_err();
        assert!(e.message.contains("destructuring"));
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(decode_string(r#""a\x41\u0042\u{43}\n\"""#), "aABC\n\"");
        assert_eq!(decode_string("'it\\'s'"), "it's");
    }
}
