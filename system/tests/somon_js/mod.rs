//! A deliberately small SomonScript → CommonJS translator for the statement
//! forms the corpus generator writes (one statement per line), so generated
//! trees can be checked in Node before the real compiler exists.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One import or export statement of a generated module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `ворид "x";`
    SideEffect { from: String },
    /// `ворид * чун NS аз "x";`
    Namespace { local: String, from: String },
    /// `ворид D, { a, b чун c } аз "x";` (either part optional).
    Import {
        default: Option<String>,
        /// (exported name, local name)
        named: Vec<(String, String)>,
        from: String,
    },
    /// `содир { a } аз "x";`
    ReExport { names: Vec<String>, from: String },
    /// `содир * аз "x";`
    ReExportAll { from: String },
    /// `содир { a, b };`
    ExportList { names: Vec<String> },
    /// `содир функсия f(`, `содир собит K =`, `содир синф C {`.
    ExportDeclaration { keyword: String, name: String },
    /// `содир пешфарз функсия g(`
    ExportDefault { name: String },
}

impl Statement {
    /// The specifier, for statements that have one.
    pub fn from(&self) -> Option<&str> {
        match self {
            Statement::SideEffect { from }
            | Statement::Namespace { from, .. }
            | Statement::Import { from, .. }
            | Statement::ReExport { from, .. }
            | Statement::ReExportAll { from } => Some(from),
            _ => None,
        }
    }
}

/// The statement on `line`, if it starts with `ворид` or `содир`.
pub fn parse_line(line: &str) -> Option<Statement> {
    if let Some(rest) = line.strip_prefix("ворид ") {
        if let Some(from) = quoted(rest.trim_end_matches(';')) {
            return Some(Statement::SideEffect { from });
        }
        let (clause, from) = split_from(rest)?;
        if let Some(local) = clause.strip_prefix("* чун ") {
            return Some(Statement::Namespace {
                local: local.trim().to_owned(),
                from,
            });
        }
        let (default, braces) = match clause.find('{') {
            Some(open) => (
                clause[..open].trim().trim_end_matches(','),
                Some(&clause[open..]),
            ),
            None => (clause.trim(), None),
        };
        let named = braces.map(names_in_braces).unwrap_or_default();
        let named = named
            .into_iter()
            .map(|n| match n.split_once(" чун ") {
                Some((name, local)) => (name.trim().to_owned(), local.trim().to_owned()),
                None => (n.clone(), n),
            })
            .collect();
        let default = (!default.is_empty()).then(|| default.to_owned());
        return Some(Statement::Import {
            default,
            named,
            from,
        });
    }
    let rest = line.strip_prefix("содир ")?;
    if let Some(rest) = rest.strip_prefix("* аз ") {
        return Some(Statement::ReExportAll {
            from: quoted(rest.trim_end_matches(';'))?,
        });
    }
    if rest.starts_with('{') {
        return Some(match split_from(rest) {
            Some((clause, from)) => Statement::ReExport {
                names: names_in_braces(&clause),
                from,
            },
            None => Statement::ExportList {
                names: names_in_braces(rest),
            },
        });
    }
    if let Some(decl) = rest.strip_prefix("пешфарз функсия ") {
        return Some(Statement::ExportDefault {
            name: identifier(decl),
        });
    }
    let (keyword, decl) = rest.split_once(' ')?;
    Some(Statement::ExportDeclaration {
        keyword: keyword.to_owned(),
        name: identifier(decl),
    })
}

fn quoted(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"')).then(|| inner.to_owned())
}

/// `clause аз "x";` → (clause, x)
fn split_from(rest: &str) -> Option<(String, String)> {
    let at = rest.rfind(" аз \"")?;
    let from = quoted(rest[at + " аз ".len()..].trim_end_matches(';'))?;
    Some((rest[..at].trim().to_owned(), from))
}

fn names_in_braces(text: &str) -> Vec<String> {
    let inner = text
        .split_once('{')
        .and_then(|(_, r)| r.split_once('}'))
        .map_or("", |(i, _)| i);
    inner
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect()
}

/// Every statement of a source text, in order.
pub fn statements(source: &str) -> Vec<Statement> {
    source.lines().filter_map(parse_line).collect()
}

/// The names a module exports (`default` included), from its statements.
pub fn exported_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for statement in statements(source) {
        match statement {
            Statement::ReExport { names: list, .. } | Statement::ExportList { names: list } => {
                names.extend(list)
            }
            Statement::ExportDeclaration { name, .. } => names.push(name),
            Statement::ExportDefault { .. } => names.push("default".to_owned()),
            _ => {}
        }
    }
    names
}

/// Module `source` as the body of a CommonJS function `(module, exports, require)`.
pub fn to_commonjs(source: &str) -> String {
    let mut prologue = String::new();
    let mut body = String::new();
    let mut epilogue = String::new();
    for (n, line) in source.lines().enumerate() {
        let Some(statement) = parse_line(line) else {
            body.push_str(line);
            body.push('\n');
            continue;
        };
        let m = format!("__m{n}");
        match statement {
            Statement::SideEffect { from } => {
                let _ = writeln!(body, "require({from:?});");
            }
            Statement::Namespace { local, from } => {
                let _ = writeln!(body, "const {local} = require({from:?});");
            }
            Statement::Import {
                default,
                named,
                from,
            } => {
                let _ = write!(body, "const {m} = require({from:?});");
                let pairs = default
                    .map(|d| ("default".to_owned(), d))
                    .into_iter()
                    .chain(named);
                for (name, local) in pairs {
                    let _ = write!(
                        body,
                        " if (!({name:?} in {m})) throw new Error({:?});\
                         const {local} = {m}[{name:?}];",
                        format!("{from} does not export {name}")
                    );
                }
                body.push('\n');
            }
            Statement::ReExport { names, from } => {
                let _ = write!(body, "const {m} = require({from:?});");
                for name in names {
                    let _ = write!(body, " exports[{name:?}] = {m}[{name:?}];");
                }
                body.push('\n');
            }
            Statement::ReExportAll { from } => {
                let _ = writeln!(
                    body,
                    "{{ const {m} = require({from:?}); for (const k in {m}) \
                     if (k !== \"default\" && !(k in exports)) exports[k] = {m}[k]; }}"
                );
            }
            Statement::ExportList { names } => {
                for name in names {
                    let _ = write!(body, "exports[{name:?}] = {name}; ");
                }
                body.push('\n');
            }
            Statement::ExportDeclaration { keyword, name } => {
                let declaration = line.strip_prefix("содир ").unwrap_or(line);
                match keyword.as_str() {
                    // Function declarations hoist, so export them first: cycles see them.
                    "функсия" => {
                        let _ = writeln!(prologue, "exports[{name:?}] = {name};");
                        let _ = writeln!(body, "{declaration}");
                    }
                    "собит" => {
                        let _ = writeln!(body, "{declaration} exports[{name:?}] = {name};");
                    }
                    _ => {
                        let _ = writeln!(body, "{declaration}");
                        let _ = writeln!(epilogue, "exports[{name:?}] = {name};");
                    }
                }
            }
            Statement::ExportDefault { name } => {
                let _ = writeln!(prologue, "exports.default = {name};");
                let declaration = line.strip_prefix("содир пешфарз ").unwrap_or(line);
                let _ = writeln!(body, "{declaration}");
            }
        }
    }
    map_keywords(&format!("{prologue}{body}{epilogue}"))
}

const KEYWORDS: [(&str, &str); 20] = [
    ("ворид", "import"),
    ("содир", "export"),
    ("аз", "from"),
    ("чун", "as"),
    ("пешфарз", "default"),
    ("функсия", "function"),
    ("собит", "const"),
    ("тағйирёбанда", "let"),
    ("тағ", "let"),
    ("бозгашт", "return"),
    ("агар", "if"),
    ("вагарна", "else"),
    ("барои", "for"),
    ("синф", "class"),
    ("нав", "new"),
    ("ин", "this"),
    ("дуруст", "true"),
    ("нодуруст", "false"),
    ("холӣ", "null"),
    ("беқимат", "undefined"),
];

/// Replaces keyword identifiers outside strings, templates and comments.
pub fn map_keywords(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let end = code(&chars, 0, &mut out, false);
    assert_eq!(end, chars.len(), "unbalanced braces in template");
    out
}

/// Copies code from `i`; in a template substitution, stops after its `}`.
fn code(chars: &[char], mut i: usize, out: &mut String, in_template: bool) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            out.push_str("/*");
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                out.push(chars[i]);
                i += 1;
            }
            out.push_str("*/");
            i += 2;
        } else if c == '"' || c == '\'' {
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    out.push(chars[i]);
                    i += 1;
                }
                out.push(chars[i]);
                i += 1;
            }
            out.push(c);
            i += 1;
        } else if c == '`' {
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                if chars[i] == '\\' {
                    out.push(chars[i]);
                    out.push(chars[i + 1]);
                    i += 2;
                } else if chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
                    out.push_str("${");
                    i = code(chars, i + 2, out, true);
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            out.push('`');
            i += 1;
        } else if c == '{' {
            depth += 1;
            out.push(c);
            i += 1;
        } else if c == '}' {
            out.push(c);
            i += 1;
            if in_template && depth == 0 {
                return i;
            }
            depth = depth.saturating_sub(1);
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after_dot = start > 0 && chars[start - 1] == '.';
            let mapped = if word == "чоп" {
                Some("console")
            } else if word == "сабт" && out.ends_with("console.") {
                Some("log")
            } else if after_dot {
                None
            } else {
                KEYWORDS.iter().find(|(k, _)| *k == word).map(|(_, js)| *js)
            };
            out.push_str(mapped.unwrap_or(&word));
        } else {
            out.push(c);
            i += 1;
        }
    }
    i
}

/// A script that loads every module of `modules` (id → source) with
/// `links` (id → specifier → target id, or `None` for an external) and
/// prints the JSON array of each entry's `main()`.
pub fn bundle(
    modules: &BTreeMap<String, String>,
    links: &BTreeMap<String, BTreeMap<String, Option<String>>>,
    entries: &[String],
) -> String {
    let mut script = String::from("\"use strict\";\nconst __defs = {};\n");
    for (id, source) in modules {
        let _ = writeln!(
            script,
            "__defs[{id:?}] = function (module, exports, require) {{\n{}\n}};",
            to_commonjs(source)
        );
    }
    let links = serde_json::to_string(links).unwrap();
    let entries = serde_json::to_string(entries).unwrap();
    let _ = write!(
        script,
        "const __links = {links};\nconst __cache = {{}};\n\
         function __load(id) {{\n\
         \x20 if (__cache[id]) return __cache[id].exports;\n\
         \x20 const module = {{ exports: {{}} }};\n\
         \x20 __cache[id] = module;\n\
         \x20 const require = (spec) => {{\n\
         \x20   const target = __links[id][spec];\n\
         \x20   if (target === undefined) throw new Error(`unlinked ${{spec}} in ${{id}}`);\n\
         \x20   return target === null ? {{ external: spec }} : __load(target);\n\
         \x20 }};\n\
         \x20 __defs[id](module, module.exports, require);\n\
         \x20 return module.exports;\n\
         }}\n\
         process.stdout.write(JSON.stringify({entries}.map((e) => __load(e).main())) + \"\\n\");\n"
    );
    script
}

#[test]
fn parses_every_form() {
    let cases = [
        (
            "ворид \"./x\";",
            Statement::SideEffect { from: "./x".into() },
        ),
        (
            "ворид * чун М аз \"lodash\";",
            Statement::Namespace {
                local: "М".into(),
                from: "lodash".into(),
            },
        ),
        (
            "ворид д, { а чун б, в } аз \"../y\";",
            Statement::Import {
                default: Some("д".into()),
                named: vec![("а".into(), "б".into()), ("в".into(), "в".into())],
                from: "../y".into(),
            },
        ),
        (
            "содир { а } аз \"./m\";",
            Statement::ReExport {
                names: vec!["а".into()],
                from: "./m".into(),
            },
        ),
        (
            "содир * аз \"./m\";",
            Statement::ReExportAll { from: "./m".into() },
        ),
        (
            "содир { а, б };",
            Statement::ExportList {
                names: vec!["а".into(), "б".into()],
            },
        ),
        (
            "содир пешфарз функсия г(x) {",
            Statement::ExportDefault { name: "г".into() },
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(parse_line(line), Some(expected), "{line}");
    }
    assert_eq!(
        map_keywords("агар (x) { бозгашт `ин ${ нав Y() } \"агар\"`; } // агар"),
        "if (x) { return `ин ${ new Y() } \"агар\"`; } // агар"
    );
}
