//! Compiles one module's source to CommonJS.
//!
//! The output keeps every token on its source line: replaced statements are
//! padded with the newlines they spanned, hoisted exports go at the start of
//! line 1 and helpers at the end of the last line. A line-level source map
//! is therefore the identity.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::lexer::{lex, Token, TokenKind};
use crate::syntax::{self, Binding, Form, Specifier, Statement};
use crate::{CompiledSource, Import, ImportKind, ModuleKind, ParseError};

/// Returns `m.default` when the module has its own `default`, else the module
/// itself, so default imports of plain CommonJS or JSON modules work.
const DEFAULT_HELPER: &str = "function __somonDefault(m) { return m != null && \
Object.prototype.hasOwnProperty.call(m, \"default\") ? m.default : m; }";

/// Copies every export but `default` as a live getter.
const STAR_HELPER: &str = "function __somonStar(e, m) { Object.keys(m).forEach(function (k) { \
if (k !== \"default\" && !Object.prototype.hasOwnProperty.call(e, k)) \
Object.defineProperty(e, k, { enumerable: true, get: function () { return m[k]; } }); }); }";

/// Compiles one module's source to CommonJS.
///
/// - [`ModuleKind::Som`]: keywords become JavaScript and imports/exports
///   become `require`/`exports` code, line for line.
/// - [`ModuleKind::Json`]: validated, then `module.exports = <source>;` with
///   the single export `default`.
/// - [`ModuleKind::Js`]: the source as it is, a leaf with no imports.
///
/// Fails with the line:col of the first lexical or import/export syntax
/// error (or the JSON error).
///
/// ```
/// use somon_system::{compile, ModuleKind};
/// let out = compile(ModuleKind::Som, "ворид { a } аз \"./x\";\nчоп.сабт(a);").unwrap();
/// assert_eq!(out.code, "const { a } = require(\"./x\");\nconsole.log(a);");
/// assert_eq!(out.imports[0].specifier, "./x");
/// ```
pub fn compile(kind: ModuleKind, source: &str) -> Result<CompiledSource, ParseError> {
    match kind {
        ModuleKind::Som => compile_som(source),
        ModuleKind::Json => compile_json(source),
        ModuleKind::Js => Ok(CompiledSource {
            code: source.to_string(),
            imports: Vec::new(),
            exports: Vec::new(),
        }),
    }
}

fn compile_json(source: &str) -> Result<CompiledSource, ParseError> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(source) {
        let line = e.line().max(1);
        // serde_json counts columns in bytes; ours count characters.
        let text = source.split('\n').nth(line - 1).unwrap_or("");
        let mut bytes = e.column().saturating_sub(1).min(text.len());
        while !text.is_char_boundary(bytes) {
            bytes -= 1;
        }
        let column = text[..bytes].chars().count() + 1;
        let message = e.to_string();
        // Drop serde_json's own " at line L column C" suffix.
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => &message,
        };
        return Err(ParseError::new(
            line as u32,
            column as u32,
            format!("invalid JSON: {message}"),
        ));
    }
    let mut code = String::with_capacity(source.len() + 20);
    code.push_str("module.exports = ");
    code.push_str(source);
    code.push(';');
    Ok(CompiledSource {
        code,
        imports: Vec::new(),
        exports: vec!["default".to_string()],
    })
}

/// A change to the token stream, in token order.
enum Edit {
    /// Tokens `start..end` (and the text between them) become `text` plus
    /// the newlines they spanned.
    Replace {
        start: usize,
        end: usize,
        text: String,
    },
    /// `text` goes right after token `after`.
    InsertAfter { after: usize, text: String },
}

impl Edit {
    fn first_token(&self) -> usize {
        match self {
            Edit::Replace { start, .. } => *start,
            Edit::InsertAfter { after, .. } => *after,
        }
    }
}

/// What the statements turned into, before the body is written.
#[derive(Default)]
struct Plan {
    edits: Vec<Edit>,
    hoisted: String,
    imports: Vec<Import>,
    exports: Vec<String>,
    seen: HashSet<String>,
    temps: usize,
    /// Top-level function declarations: exporting them can be hoisted.
    functions: HashSet<String>,
    uses_default: bool,
    uses_star: bool,
}

impl Plan {
    fn export(&mut self, name: &str) {
        if self.seen.insert(name.to_string()) {
            self.exports.push(name.to_string());
        }
    }

    fn import(&mut self, source: &Specifier, kind: ImportKind) {
        self.imports.push(Import {
            specifier: source.value.clone(),
            kind,
            at: source.at,
        });
    }

    fn replace(&mut self, statement: &Statement, text: String) {
        self.edits.push(Edit::Replace {
            start: statement.start,
            end: statement.end,
            text,
        });
    }

    /// Deletes `содир [пешфарз]`, keeping the declaration after it.
    fn drop_keywords(&mut self, statement: &Statement, text: &str) {
        self.edits.push(Edit::Replace {
            start: statement.start,
            end: statement.keywords_end,
            text: text.to_string(),
        });
    }

    fn add(&mut self, statement: &Statement) {
        match &statement.form {
            Form::SideEffect(source) => {
                self.import(source, ImportKind::SideEffect);
                self.replace(statement, format!("require({});", quote(&source.value)));
            }
            Form::Import {
                default,
                namespace,
                named,
                source,
            } => {
                self.import(source, ImportKind::Import);
                let text = self.import_code(
                    default.as_deref(),
                    namespace.as_deref(),
                    named.as_deref(),
                    source,
                );
                self.replace(statement, text);
            }
            Form::ExportFrom(list, source) => {
                self.import(source, ImportKind::ReExport);
                let mut text = String::new();
                for b in list {
                    self.export(&b.alias);
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    let _ = write!(
                        text,
                        "Object.defineProperty(exports, {}, {{ enumerable: true, get: function () \
                         {{ return require({}){}; }} }});",
                        quote(&b.alias),
                        quote(&source.value),
                        member(&b.name),
                    );
                }
                if list.is_empty() {
                    let _ = write!(text, "require({});", quote(&source.value));
                }
                self.replace(statement, text);
            }
            Form::ExportStar(source) => {
                self.import(source, ImportKind::ReExport);
                self.uses_star = true;
                self.replace(
                    statement,
                    format!("__somonStar(exports, require({}));", quote(&source.value)),
                );
            }
            Form::ExportStarAs(name, source) => {
                self.import(source, ImportKind::ReExport);
                self.export(name);
                self.replace(
                    statement,
                    format!(
                        "exports{} = require({});",
                        member(name),
                        quote(&source.value)
                    ),
                );
            }
            Form::ExportList(list) => {
                let mut text = String::new();
                for b in list {
                    self.export(&b.alias);
                    if self.functions.contains(&b.name) {
                        // As for `содир функсия`: visible to cyclic importers.
                        let _ = write!(self.hoisted, "exports{} = {}; ", member(&b.alias), b.name);
                        continue;
                    }
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    let _ = write!(text, "exports{} = {};", member(&b.alias), b.name);
                }
                self.replace(statement, text);
            }
            Form::ExportFunction { name, default } => {
                self.drop_keywords(statement, "");
                let target = self.export_target(name, *default);
                // Function declarations are hoisted, so exporting them before
                // any other code lets cyclic importers see them early.
                let _ = write!(self.hoisted, "{target} = {name}; ");
            }
            Form::ExportClass {
                name,
                default,
                body_end,
            } => {
                self.drop_keywords(statement, "");
                let target = self.export_target(name, *default);
                self.edits.push(Edit::InsertAfter {
                    after: *body_end,
                    text: format!(" {target} = {name};"),
                });
            }
            Form::ExportVar(names) => {
                self.drop_keywords(statement, "");
                for (at, name, has_init) in names {
                    self.export(name);
                    let text = if *has_init {
                        format!(" = exports{}", member(name))
                    } else {
                        format!(" = exports{} = void 0", member(name))
                    };
                    self.edits.push(Edit::InsertAfter { after: *at, text });
                }
            }
            Form::ExportDefault { anonymous_end } => {
                self.export("default");
                self.drop_keywords(statement, "module.exports.default =");
                if let Some(end) = anonymous_end {
                    self.edits.push(Edit::InsertAfter {
                        after: *end,
                        text: ";".to_string(),
                    });
                }
            }
        }
    }

    fn export_target(&mut self, name: &str, default: bool) -> String {
        if default {
            self.export("default");
            "module.exports.default".to_string()
        } else {
            self.export(name);
            format!("exports{}", member(name))
        }
    }

    fn import_code(
        &mut self,
        default: Option<&str>,
        namespace: Option<&str>,
        named: Option<&[Binding]>,
        source: &Specifier,
    ) -> String {
        let require = format!("require({})", quote(&source.value));
        let pattern = named.filter(|n| !n.is_empty()).map(|list| {
            let parts: Vec<String> = list
                .iter()
                .map(|b| {
                    if b.name == b.alias {
                        b.alias.clone()
                    } else {
                        format!("{}: {}", b.name, b.alias)
                    }
                })
                .collect();
            format!("{{ {} }}", parts.join(", "))
        });
        let rest = namespace.map(str::to_string).or(pattern);
        match (default, rest) {
            (None, None) => format!("{require};"),
            (None, Some(target)) => format!("const {target} = {require};"),
            (Some(d), None) => {
                self.uses_default = true;
                format!("const {d} = __somonDefault({require});")
            }
            (Some(d), Some(target)) => {
                self.uses_default = true;
                let temp = format!("__somon_{}", self.temps);
                self.temps += 1;
                format!(
                    "const {temp} = {require}, {d} = __somonDefault({temp}), {target} = {temp};"
                )
            }
        }
    }
}

/// A JavaScript string literal for `s`.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// `.name`: names here are always identifiers (reserved words and
/// non-ASCII letters are fine after a dot).
fn member(name: &str) -> String {
    format!(".{name}")
}

fn compile_som(source: &str) -> Result<CompiledSource, ParseError> {
    let lexed = lex(source)?;
    let tokens = &lexed.tokens;
    let syntax = syntax::parse(source, tokens)?;
    let mut plan = Plan {
        functions: syntax.functions,
        ..Plan::default()
    };
    for statement in &syntax.statements {
        plan.add(statement);
    }
    let mut helpers = String::new();
    if plan.uses_default {
        helpers.push(' ');
        helpers.push_str(DEFAULT_HELPER);
    }
    if plan.uses_star {
        helpers.push(' ');
        helpers.push_str(STAR_HELPER);
    }
    let edits_len: usize = plan
        .edits
        .iter()
        .map(|e| match e {
            Edit::Replace { text, .. } | Edit::InsertAfter { text, .. } => text.len(),
        })
        .sum();
    let mut out =
        String::with_capacity(source.len() + plan.hoisted.len() + helpers.len() + edits_len);
    out.push_str(&plan.hoisted);
    if lexed.ends_in_line_comment {
        // Text appended to a last line ending in `//…` would be commented
        // out; function declarations hoist, so the start works as well.
        out.push_str(helpers.trim_start());
        out.push(' ');
    }
    write_body(&mut out, source, tokens, &plan.edits);
    if !lexed.ends_in_line_comment {
        out.push_str(&helpers);
    }
    Ok(CompiledSource {
        code: out,
        imports: plan.imports,
        exports: plan.exports,
    })
}

/// Writes the source with keywords mapped and `edits` applied.
fn write_body(out: &mut String, source: &str, tokens: &[Token], edits: &[Edit]) {
    debug_assert!(edits
        .windows(2)
        .all(|w| w[0].first_token() <= w[1].first_token()));
    let mut copied = 0;
    if source.starts_with("#!") {
        // A hashbang is only legal at the very start of a file; inside the
        // CommonJS wrapper it must become a comment.
        out.push_str("//");
        copied = 2;
    }
    let mut edits = edits.iter().peekable();
    let mut i = 0;
    while i < tokens.len() && tokens[i].kind != TokenKind::Eof {
        let token = &tokens[i];
        out.push_str(&source[copied..token.span.start]);
        if let Some(Edit::Replace { start, end, text }) = edits.peek() {
            if *start == i {
                let last = &tokens[end - 1];
                out.push_str(text);
                let spanned = &source[token.span.start..last.span.end];
                for _ in 0..spanned.bytes().filter(|&b| b == b'\n').count() {
                    out.push('\n');
                }
                copied = last.span.end;
                i = *end;
                edits.next();
                continue;
            }
        }
        out.push_str(&token_text(source, tokens, i));
        copied = token.span.end;
        while let Some(Edit::InsertAfter { after, text }) = edits.peek() {
            if *after != i {
                break;
            }
            out.push_str(text);
            edits.next();
        }
        i += 1;
    }
    out.push_str(&source[copied..]);
}

/// The JavaScript text of token `i`: keywords mapped, `чоп.сабт` made
/// `console.log`.
fn token_text<'s>(source: &'s str, tokens: &[Token], i: usize) -> std::borrow::Cow<'s, str> {
    let token = &tokens[i];
    let text = token.text(source);
    if token.kind != TokenKind::Ident {
        return text.into();
    }
    let is = |j: usize, w: &str| {
        tokens
            .get(j)
            .is_some_and(|t| t.kind == TokenKind::Ident && t.text(source) == w)
    };
    let dot = |j: usize| tokens.get(j).is_some_and(|t| t.is_punct(source, "."));
    match text {
        "чоп" if dot(i + 1) && is(i + 2, "сабт") => "console".into(),
        "сабт" if i >= 2 && dot(i - 1) && is(i - 2, "чоп") => "log".into(),
        _ => syntax::canonical(text).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(src: &str) -> String {
        compile(ModuleKind::Som, src).unwrap().code
    }

    #[test]
    fn keywords_map_only_in_code() {
        assert_eq!(
            code("агар (дуруст) { бозгашт холӣ } // агар\n'агар' + `ин ${ин}`"),
            "if (true) { return null } // агар\n'агар' + `ин ${this}`"
        );
    }

    #[test]
    fn console_log_pair() {
        assert_eq!(
            code("чоп . сабт(1); чоп; x.сабт"),
            "console . log(1); чоп; x.сабт"
        );
    }

    #[test]
    fn import_forms() {
        assert_eq!(
            code("ворид { a, b чун c } аз \"./x\";"),
            "const { a, b: c } = require(\"./x\");"
        );
        assert_eq!(
            code("ворид * чун X аз 'lodash'"),
            "const X = require(\"lodash\");"
        );
        assert_eq!(code("ворид \"./side\";"), "require(\"./side\");");
        let c = code("ворид d, { a } аз \"./x\";");
        assert!(
            c.starts_with(
                "const __somon_0 = require(\"./x\"), d = __somonDefault(__somon_0), { a } = __somon_0;"
            ),
            "{c}"
        );
        assert!(c.ends_with(DEFAULT_HELPER));
    }

    #[test]
    fn multi_line_import_keeps_line_count() {
        let src = "ворид {\n  a,\n  b\n} аз \"./x\"; чоп.сабт(a)\nb";
        let c = code(src);
        assert_eq!(
            c,
            "const { a, b } = require(\"./x\");\n\n\n console.log(a)\nb"
        );
    }

    #[test]
    fn export_declarations() {
        assert_eq!(
            code("содир собит K = 1, L = f(a, b);\nсодир тағ x;"),
            " const K = exports.K = 1, L = exports.L = f(a, b);\n let x = exports.x = void 0;"
        );
        assert_eq!(
            code("x();\nсодир функсия f() {}"),
            "exports.f = f; x();\n function f() {}"
        );
        assert_eq!(
            code("содир синф C extends B {\n}"),
            " class C extends B {\n} exports.C = C;"
        );
        assert_eq!(
            code("содир пешфарз функсия () {}"),
            "module.exports.default = function () {};"
        );
        assert_eq!(
            code("содир пешфарз 1 + 2;"),
            "module.exports.default = 1 + 2;"
        );
    }

    #[test]
    fn listed_function_exports_are_hoisted() {
        assert_eq!(
            code("собит a = 1;\nфунксия f() {}\nсодир { a, f чун g };"),
            "exports.g = f; const a = 1;\nfunction f() {}\nexports.a = a;"
        );
    }

    #[test]
    fn helpers_avoid_a_trailing_line_comment() {
        let c = code("ворид d аз 'x' // end");
        assert!(c.starts_with("function __somonDefault"), "{c}");
    }

    #[test]
    fn json_errors_count_characters() {
        let e = compile(ModuleKind::Json, "{\"ӣӣ\": x}").unwrap_err();
        assert_eq!((e.at.line, e.at.column), (1, 8));
        let ok = compile(ModuleKind::Json, "[1]\n").unwrap();
        assert_eq!(ok.code, "module.exports = [1]\n;");
        assert_eq!(ok.exports, ["default"]);
    }

    #[test]
    fn js_is_verbatim() {
        let out = compile(ModuleKind::Js, "import x from 'y'").unwrap();
        assert_eq!(out.code, "import x from 'y'");
        assert!(out.imports.is_empty() && out.exports.is_empty());
    }
}
