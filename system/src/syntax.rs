//! Recognises import and export statements in a token stream.
//!
//! Only the module syntax is parsed; everything else is left to the JavaScript
//! engine. Statements are found at bracket depth 0, and each is described by
//! token indices so the compiler can rewrite it in place.

use std::collections::HashSet;

use crate::lexer::{Token, TokenKind};
use crate::{Location, ParseError};

mod exports;
mod words;

pub(crate) use words::canonical;
use words::{decode_string, is_reserved};

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

/// The module-level syntax the compiler needs.
pub(crate) struct ModuleSyntax {
    /// Every import/export statement, in source order.
    pub(crate) statements: Vec<Statement>,
    /// Names of top-level function declarations, whose exports can be
    /// hoisted like `содир функсия` ones.
    pub(crate) functions: HashSet<String>,
}

/// Finds every import/export statement, in source order. `tokens` must come
/// from the lexer (balanced brackets, ending in `Eof`).
pub(crate) fn parse(src: &str, tokens: &[Token]) -> Result<ModuleSyntax, ParseError> {
    let mut found = Vec::new();
    let mut functions = HashSet::new();
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
                if word == "function" && depth == 0 {
                    if let Some(name) = declared_function(src, tokens, i) {
                        functions.insert(name.to_string());
                    }
                }
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
    Ok(ModuleSyntax {
        statements: found,
        functions,
    })
}

/// The name of the function declared by the `function` word at `i`, when it
/// is a top-level declaration rather than a function expression.
fn declared_function<'s>(src: &'s str, tokens: &[Token], i: usize) -> Option<&'s str> {
    let mut first = i;
    if first > 0 && canonical(tokens[first - 1].text(src)) == "async" {
        first -= 1;
    }
    let statement_start = match first.checked_sub(1).map(|p| &tokens[p]) {
        None => true,
        Some(prev) => {
            matches!(prev.text(src), ";" | "}")
                || (prev.span.line < tokens[first].span.line && ends_value(src, prev))
        }
    };
    let mut j = i + 1;
    if tokens.get(j).is_some_and(|t| t.is_punct(src, "*")) {
        j += 1;
    }
    let name = tokens.get(j).filter(|t| t.kind == TokenKind::Ident)?;
    statement_start.then(|| canonical(name.text(src)))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn parse(src: &str) -> Result<Vec<Statement>, ParseError> {
        super::parse(src, &tokenize(src).unwrap()).map(|m| m.statements)
    }

    fn functions(src: &str) -> Vec<String> {
        let mut names: Vec<String> = super::parse(src, &tokenize(src).unwrap())
            .unwrap()
            .functions
            .into_iter()
            .collect();
        names.sort();
        names
    }

    #[test]
    fn finds_top_level_function_declarations_only() {
        let src = "функсия a() {}\nҳамзамон функсия b() {}; функсия* c() {}\n\
                   x = функсия d() {}\nf(функсия e() {})\n{ функсия g() {} }\nx\nfunction h() {}";
        assert_eq!(functions(src), ["a", "b", "c", "h"]);
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
}
