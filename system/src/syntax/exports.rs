//! Export statements: `содир` followed by a list, a star, `пешфарз`, or a
//! declaration.

use super::{canonical, ends_value, is_reserved, starts_value, Form, Parser, Statement};
use crate::lexer::TokenKind;
use crate::ParseError;

impl Parser<'_> {
    pub(super) fn export(mut self) -> Result<Statement, ParseError> {
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
