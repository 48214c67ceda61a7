//! Compiling SomonScript, JSON and JavaScript modules to CommonJS: the code,
//! the import/export lists, parse errors, line preservation, and running the
//! output in Node.

mod util;

use std::io::Write as _;
use std::process::Command;

use proptest::prelude::*;
use somon_system::{compile, tokenize, CompiledSource, ImportKind, Location, ModuleKind};

fn som(src: &str) -> CompiledSource {
    compile(ModuleKind::Som, src).unwrap_or_else(|e| panic!("{e}\nin:\n{src}"))
}

fn code(src: &str) -> String {
    som(src).code
}

/// `(line, column, message)` of the error compiling `src`.
fn error(src: &str) -> (u32, u32, String) {
    let e = compile(ModuleKind::Som, src).expect_err(src);
    (e.at.line, e.at.column, e.message)
}

fn newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

const DEFAULT_HELPER_START: &str = " function __somonDefault(m)";

// ---------------------------------------------------------------- forms

#[test]
fn named_import() {
    assert_eq!(
        code("ворид { a, b чун c } аз \"./x\";"),
        "const { a, b: c } = require(\"./x\");"
    );
}

#[test]
fn default_import_uses_helper_on_last_line() {
    let c = code("ворид d аз \"./x\";\nd();");
    let (body, helper) = c.split_at(c.find(DEFAULT_HELPER_START).unwrap());
    assert_eq!(body, "const d = __somonDefault(require(\"./x\"));\nd();");
    assert!(!helper.contains('\n'));
    assert!(!helper.contains("__somonStar"));
}

#[test]
fn default_with_named_and_namespace_use_unique_temps() {
    let c = code("ворид d, { a } аз \"./x\";\nворид e, * чун ns аз \"./y\";");
    let lines: Vec<&str> = c.lines().collect();
    assert_eq!(
        lines[0],
        "const __somon_0 = require(\"./x\"), d = __somonDefault(__somon_0), { a } = __somon_0;"
    );
    assert!(lines[1].starts_with(
        "const __somon_1 = require(\"./y\"), e = __somonDefault(__somon_1), ns = __somon_1;"
    ));
}

#[test]
fn namespace_and_side_effect_imports() {
    let out = som("ворид * чун X аз \"lodash\";\nворид \"./side\";");
    assert_eq!(
        out.code,
        "const X = require(\"lodash\");\nrequire(\"./side\");"
    );
    let kinds: Vec<ImportKind> = out.imports.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [ImportKind::Import, ImportKind::SideEffect]);
}

#[test]
fn plain_javascript_keywords_are_accepted() {
    assert_eq!(
        code("import { a as b } from './x'\nexport const c = b;"),
        "const { a: b } = require(\"./x\");\n const c = exports.c = b;"
    );
}

#[test]
fn exported_functions_are_hoisted_to_line_one() {
    let out = som(
        "чоп.сабт(1);\nсодир функсия f() {}\nсодир ҳамзамон функсия g() {}\nсодир функсия* h() {}\nсодир пешфарз функсия k() {}",
    );
    assert_eq!(
        out.code,
        "exports.f = f; exports.g = g; exports.h = h; module.exports.default = k; \
         console.log(1);\n function f() {}\n async function g() {}\n function* h() {}\n function k() {}"
    );
    assert_eq!(out.exports, ["f", "g", "h", "default"]);
}

#[test]
fn anonymous_default_exports() {
    assert_eq!(
        code("содир пешфарз функсия () { бозгашт 1 }"),
        "module.exports.default = function () { return 1 };"
    );
    assert_eq!(
        code("содир пешфарз синф {\n}"),
        "module.exports.default = class {\n};"
    );
    assert_eq!(
        code("содир пешфарз [1, 2];"),
        "module.exports.default = [1, 2];"
    );
}

#[test]
fn default_class_export_follows_the_body() {
    assert_eq!(
        code("содир пешфарз синф C extends B {\n  m() {}\n}\nx"),
        " class C extends B {\n  m() {}\n} module.exports.default = C;\nx"
    );
}

#[test]
fn exported_variables_assign_exports_per_declarator() {
    let out =
        som("содир собит K = 1, L = f(a, b);\nсодир тағ x = 2, y;\nсодир тағйирёбанда z = [1, 2]");
    assert_eq!(
        out.code,
        " const K = exports.K = 1, L = exports.L = f(a, b);\n let x = exports.x = 2, y = exports.y = void 0;\n let z = exports.z = [1, 2]"
    );
    assert_eq!(out.exports, ["K", "L", "x", "y", "z"]);
}

#[test]
fn exported_class_gets_its_export_after_the_closing_brace() {
    assert_eq!(
        code("содир синф C extends B {\n  m() { бозгашт ин }\n}\nнав C();"),
        " class C extends B {\n  m() { return this }\n} exports.C = C;\nnew C();"
    );
}

#[test]
fn local_export_list() {
    let out = som("собит a = 1, b = 2;\nсодир { a, b чун c, a чун пешфарз };");
    assert_eq!(
        out.code,
        "const a = 1, b = 2;\nexports.a = a; exports.c = b; exports.default = a;"
    );
    assert_eq!(out.exports, ["a", "c", "default"]);
}

#[test]
fn re_exports_are_live_getters_and_dependencies() {
    let out =
        som("содир { a, b чун c } аз \"./m\";\nсодир * аз './n';\nсодир * чун ns аз \"./o\";");
    let lines: Vec<&str> = out.code.lines().collect();
    assert_eq!(
        lines[0],
        "Object.defineProperty(exports, \"a\", { enumerable: true, get: function () { return require(\"./m\").a; } }); \
         Object.defineProperty(exports, \"c\", { enumerable: true, get: function () { return require(\"./m\").b; } });"
    );
    assert_eq!(lines[1], "__somonStar(exports, require(\"./n\"));");
    assert!(lines[2].starts_with("exports.ns = require(\"./o\"); function __somonStar(e, m)"));
    assert!(out.imports.iter().all(|i| i.kind == ImportKind::ReExport));
    assert_eq!(out.exports, ["a", "c", "ns"]);
}

#[test]
fn imports_list_has_specifiers_and_quote_locations_in_order() {
    let out = som("ворид a аз './a';\n  ворид { b } аз \"b\"\nсодир * аз \"./c\"\nворид \"./a\";");
    let got: Vec<(&str, ImportKind, Location)> = out
        .imports
        .iter()
        .map(|i| (i.specifier.as_str(), i.kind, i.at))
        .collect();
    let at = |line, column| Location { line, column };
    assert_eq!(
        got,
        [
            ("./a", ImportKind::Import, at(1, 12)),
            ("b", ImportKind::Import, at(2, 18)),
            ("./c", ImportKind::ReExport, at(3, 12)),
            ("./a", ImportKind::SideEffect, at(4, 7)),
        ]
    );
}

#[test]
fn exports_are_deduplicated_in_source_order() {
    let out =
        som("содир собит b = 1;\nсодир { b чун a, b };\nсодир пешфарз b;\nсодир функсия c() {}");
    assert_eq!(out.exports, ["b", "a", "default", "c"]);
}

#[test]
fn specifier_escapes_are_decoded_and_requoted() {
    let out = som(r#"ворид 'it\'s\u0041';"#);
    assert_eq!(out.imports[0].specifier, "it'sA");
    assert_eq!(out.code, "require(\"it'sA\");");
}

#[test]
fn dynamic_import_is_left_alone() {
    assert_eq!(
        code("ворид(\"./lazy\").then(m => m)"),
        "import(\"./lazy\").then(m => m)"
    );
    assert!(som("ворид(\"./lazy\")").imports.is_empty());
}

#[test]
fn json_and_js_modules() {
    let json = compile(ModuleKind::Json, "{\n  \"a\": [1, 2]\n}").unwrap();
    assert_eq!(json.code, "module.exports = {\n  \"a\": [1, 2]\n};");
    assert_eq!(json.exports, ["default"]);
    assert!(json.imports.is_empty());
    let e = compile(ModuleKind::Json, "{\n  \"a\": [1, 2,]\n}").unwrap_err();
    assert_eq!(e.at.line, 2);
    let js = compile(ModuleKind::Js, "ворид x аз 'y'; 'ин'").unwrap();
    assert_eq!(js.code, "ворид x аз 'y'; 'ин'");
    assert!(js.imports.is_empty() && js.exports.is_empty());
}

// ---------------------------------------------------------------- keywords

#[test]
fn every_keyword_maps() {
    let pairs = [
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
        ("ҳамзамон", "async"),
        ("интизор", "await"),
        ("кӯшиш", "try"),
        ("гирифтан", "catch"),
        ("ниҳоят", "finally"),
        ("партофтан", "throw"),
        ("шикастан", "break"),
        ("давом", "continue"),
        ("аз", "from"),
        ("чун", "as"),
        ("пешфарз", "default"),
    ];
    for (tajik, js) in pairs {
        assert_eq!(code(&format!("x({tajik})")), format!("x({js})"), "{tajik}");
    }
}

#[test]
fn keywords_stay_in_strings_comments_and_template_text() {
    let src =
        "'агар' \"ин\" // бозгашт ворид\n/* собит */ `нав ${ нав Ҷ(ин, `ин ${дуруст}`) } холӣ`";
    assert_eq!(
        code(src),
        "'агар' \"ин\" // бозгашт ворид\n/* собит */ `нав ${ new Ҷ(this, `ин ${true}`) } холӣ`"
    );
}

#[test]
fn import_words_in_strings_are_not_imports() {
    let out = som("собит s = 'ворид x аз \"./no\"'; // ворид \"./no\"\n`ворид \"./no\"`");
    assert!(out.imports.is_empty());
}

// ---------------------------------------------------------------- errors

#[test]
fn unterminated_literals_point_at_their_start() {
    assert_eq!(
        error("собит a = 1;\n  собит b = \"abc;\n"),
        (2, 13, "unterminated string literal".to_string())
    );
    assert_eq!(
        error("x;\n\n /* open\n more"),
        (3, 2, "unterminated block comment".to_string())
    );
    assert_eq!(
        error("собит t = `a\n${b}\n c"),
        (1, 11, "unterminated template literal".to_string())
    );
    assert_eq!(error("x = /ab\n").0, 1);
}

#[test]
fn unbalanced_brackets() {
    assert_eq!(error("f(a));"), (1, 5, "unmatched `)`".to_string()));
    assert_eq!(error("агар (x) {\n  y(\n}").0, 3);
    assert_eq!(error("a = [1,\n 2"), (1, 5, "unclosed `[`".to_string()));
    assert_eq!(error("x ¤"), (1, 3, "unexpected character `¤`".to_string()));
}

#[test]
fn malformed_imports_say_what_was_expected() {
    let (l, c, m) = error("ворид { a } \"./x\";");
    assert_eq!((l, c), (1, 13));
    assert!(m.contains("expected `аз` (from)"), "{m}");

    let (l, c, m) = error("ворид { a } аз;");
    assert_eq!((l, c), (1, 15));
    assert!(m.contains("module specifier string"), "{m}");

    let (l, c, m) = error("x;\nворид");
    assert_eq!((l, c), (2, 6));
    assert!(m.contains("after `ворид`"), "{m}");

    let (l, c, m) = error("ворид { a b } аз 'x';");
    assert_eq!((l, c), (1, 11));
    assert!(m.contains("`,` or `}`"), "{m}");

    let (l, c, m) = error("ворид * аз 'x';");
    assert_eq!((l, c), (1, 9));
    assert!(m.contains("чун"), "{m}");

    // An unclosed `{` is caught by the lexer at the brace.
    assert_eq!(error("ворид { a аз 'x';").0, 1);
    assert_eq!(error("ворид { a аз 'x';").1, 7);

    let (_, _, m) = error("ворид { a } аз 'x' y;");
    assert!(m.contains("`;`"), "{m}");
}

#[test]
fn malformed_exports_say_what_was_expected() {
    let (l, c, m) = error("\nсодир 5;");
    assert_eq!((l, c), (2, 7));
    assert!(m.contains("after `содир`"), "{m}");
    let (_, _, m) = error("содир функсия () {}");
    assert!(m.contains("needs a name"), "{m}");
    let (_, _, m) = error("содир пешфарз;");
    assert!(m.contains("expression"), "{m}");
    let (_, _, m) = error("содир { пешфарз };");
    assert!(m.contains("not a local name"), "{m}");
    let (_, _, m) = error("функсия f() { содир { a }; }");
    assert!(m.contains("top level"), "{m}");
}

// ---------------------------------------------------------------- lines

const MIXED: &str = r#"ворид {
  a,
  b чун c
} аз "./x"; собит м1 = 1;
ворид d,
  * чун ns
  аз "./y";
собит м2 = 2;
содир функсия f(
  x
) { бозгашт м3 }
содир собит K = {
  м4: 1,
}, L = 2;
содир синф C {
  м5() {}
} собит м6 = 3;
содир {
  a, c
};
содир * аз "./z"; собит м7 = `
${ м8 }`;
// трейлинг"#;

/// Every `мN` marker sits on the same line in the output as in the source.
#[test]
fn every_token_stays_on_its_line() {
    let out = som(MIXED);
    assert_eq!(newlines(&out.code), newlines(MIXED));
    for n in 1..=8 {
        let marker = format!("м{n}");
        let line_of = |s: &str| s.lines().position(|l| l.contains(&marker));
        assert_eq!(line_of(&out.code), line_of(MIXED), "{marker}\n{}", out.code);
    }
    // The source ends in a line comment, so helpers moved to line 1.
    assert!(out
        .code
        .starts_with("exports.f = f; function __somonDefault"));
    assert!(out.code.ends_with("// трейлинг"));
}

#[test]
fn crlf_sources_keep_their_line_count() {
    let src = "ворид {\r\n a\r\n} аз 'x';\r\nчоп.сабт(a)\r\n";
    assert_eq!(newlines(&code(src)), newlines(src));
}

// ---------------------------------------------------------------- node

/// Runs `entry` from `modules` (specifier, source) in Node and returns its
/// stdout, or `None` (after saying the test skips) when node is not installed.
fn run_in_node(modules: &[(&str, &str)], entry: &str) -> Option<String> {
    if let Err(e) = Command::new("node").arg("-v").output() {
        util::skip(&util::node_unavailable(&e, "the compiled code was not run"));
        return None;
    }
    let mut js = String::from("const sources = {\n");
    for (name, src) in modules {
        let kind = ModuleKind::of(name);
        let compiled = compile(kind, src).unwrap_or_else(|e| panic!("{name}: {e}"));
        js.push_str(&format!(
            "{}: function (require, module, exports) {{\n{}\n}},\n",
            serde_json::to_string(name).unwrap(),
            compiled.code
        ));
    }
    js.push_str(
        "};\nconst cache = {};\n\
         function load(name) {\n\
           if (cache[name]) return cache[name].exports;\n\
           if (!sources[name]) throw new Error('no module ' + name);\n\
           const module = { exports: {} };\n\
           cache[name] = module;\n\
           sources[name](load, module, module.exports);\n\
           return module.exports;\n\
         }\n",
    );
    js.push_str(&format!(
        "load({});\n",
        serde_json::to_string(entry).unwrap()
    ));
    let mut file = tempfile::Builder::new().suffix(".js").tempfile().unwrap();
    file.write_all(js.as_bytes()).unwrap();
    let out = Command::new("node").arg(file.path()).output().unwrap();
    assert!(
        out.status.success(),
        "node failed:\n{}\n--- program ---\n{js}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

const LIB: &str = "содир пешфарз функсия салом(ном) { бозгашт \"Салом, \" + ном; }
содир собит PI = 3, E = 2;
содир функсия ду(x) { бозгашт x * 2 }
";

#[test]
fn node_default_named_and_namespace_imports() {
    let main = "ворид салом, { PI, E чун e, ду } аз \"./lib\";
ворид * чун L аз \"./lib\";
ворид салом2, * чун L2 аз \"./lib\";
чоп.сабт(салом(\"дунё\"), PI, e, ду(4), L.PI, typeof L.default, L2 === L, салом2 === салом);";
    let Some(out) = run_in_node(&[("./lib", LIB), ("./main", main)], "./main") else {
        return;
    };
    assert_eq!(out, "Салом, дунё 3 2 8 3 function true true\n");
}

#[test]
fn node_re_exports_and_star() {
    let mid = "содир { PI чун pi, пешфарз чун greet } аз \"./lib\";
содир * аз \"./lib\";
содир * чун всё аз \"./lib\";";
    let main = "ворид { pi, greet, ду, PI, всё } аз \"./mid\";
ворид * чун M аз \"./mid\";
чоп.сабт(pi, greet(\"x\"), ду(5), PI, всё.E, \"default\" in M, Object.keys(M).sort().join());";
    let Some(out) = run_in_node(
        &[("./lib", LIB), ("./mid", mid), ("./main", main)],
        "./main",
    ) else {
        return;
    };
    assert_eq!(out, "3 Салом, x 10 3 2 false E,PI,greet,pi,всё,ду\n");
}

#[test]
fn node_cycle_with_hoisted_functions() {
    let a = "ворид { б } аз \"./b\";
содир функсия а(n) { бозгашт n <= 0 ? \"а\" : б(n - 1); }
чоп.сабт(а(3), а(4));";
    let b = "ворид { а } аз \"./a\";
содир функсия б(n) { бозгашт n <= 0 ? \"б\" : а(n - 1); }
чоп.сабт(\"b loaded\", typeof а);";
    let Some(out) = run_in_node(&[("./a", a), ("./b", b)], "./a") else {
        return;
    };
    assert_eq!(out, "b loaded function\nб а\n");
}

#[test]
fn node_cycle_with_listed_function_exports() {
    let a = "ворид { б } аз \"./b\";
функсия а(n) { бозгашт n <= 0 ? \"а\" : б(n - 1); }
содир { а };
чоп.сабт(а(5));";
    let b = "ворид * чун A аз \"./a\";
функсия б(n) { бозгашт n <= 0 ? \"б\" : A.а(n - 1); }
содир { б чун б };";
    let Some(out) = run_in_node(&[("./a", a), ("./b", b)], "./a") else {
        return;
    };
    assert_eq!(out, "б\n");
}

#[test]
fn node_classes_variables_lists_and_async() {
    let classes = "содир синф Ҳайвон {
  овоз() { бозгашт \"...\" }
}
содир пешфарз синф extends Ҳайвон { овоз() { бозгашт \"вак\" } }
содир тағ шумора = 1, холи;
собит а = 1, б = 2;
содир { а, б чун бе };
содир ҳамзамон функсия дер() { бозгашт интизор 5 }
содир функсия* ген() { yield 1; yield 2 }
содир собит матн = `${а}+${ `${б}` }`, r = /[/]\\//g.source;";
    let main = "ворид Саг, { Ҳайвон, шумора, холи, а, бе, дер, ген, матн, r } аз \"./classes\";
агар (нав Саг() instanceof Ҳайвон) { чоп.сабт(нав Саг().овоз(), нав Ҳайвон().овоз()) }
чоп.сабт(шумора, холи, а, бе, [...ген()].join(\"\"), матн, r);
дер().then(v => чоп.сабт(\"async\", v));";
    let Some(out) = run_in_node(&[("./classes", classes), ("./main", main)], "./main") else {
        return;
    };
    assert_eq!(out, "вак ...\n1 undefined 1 2 12 1+2 [/]\\/\nasync 5\n");
}

#[test]
fn node_json_and_js_leaves() {
    let main = "ворид data аз \"./data.json\";
ворид { n } аз \"./data.json\";
ворид js аз \"./leaf.js\";
ворид { f } аз \"./leaf.js\";
содир пешфарз функсия () { бозгашт 0 }
(чоп.сабт(data.n, n, js.f(), f()));";
    let Some(out) = run_in_node(
        &[
            ("./data.json", "{\"n\": 5}"),
            ("./leaf.js", "exports.f = function () { return 'js'; };"),
            ("./main", main),
        ],
        "./main",
    ) else {
        return;
    };
    assert_eq!(out, "5 5 js js\n");
}

// ---------------------------------------------------------------- properties

const VOCAB: &[&str] = &[
    "ворид",
    "содир",
    "аз",
    "чун",
    "пешфарз",
    "функсия",
    "собит",
    "тағ",
    "синф",
    "бозгашт",
    "агар",
    "вагарна",
    "нав",
    "ин",
    "холӣ",
    "ҳамзамон",
    "чоп",
    ".",
    "сабт",
    "import",
    "export",
    "from",
    "as",
    "default",
    "x",
    "y1",
    "$",
    "_z",
    "Ҷон",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    "*",
    "=",
    "=>",
    "/",
    "/=",
    "?.",
    "...",
    "+",
    "\"./a\"",
    "'b'",
    "\"un",
    "'\\",
    "`t",
    "`a${",
    "}b`",
    "${",
    "`",
    "1",
    "0x1F",
    "2n",
    "1e",
    "//c",
    "/*",
    "*/",
    "/re/g",
    "\n",
    "\r\n",
    " ",
    "#",
    "#p",
    "¤",
    "extends",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCAB),
            prop::sample::select(&[" ", "", "\n"][..]),
        ),
        0..60,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(word, sep)| [word, sep])
            .collect()
    })
}

#[derive(Debug, Clone)]
enum Stmt {
    SideEffect,
    Default,
    Named,
    Namespace,
    DefaultAndNamed,
    ReExport,
    Star,
}

fn import_statement() -> impl Strategy<Value = (Stmt, String, bool)> {
    (
        prop_oneof![
            Just(Stmt::SideEffect),
            Just(Stmt::Default),
            Just(Stmt::Named),
            Just(Stmt::Namespace),
            Just(Stmt::DefaultAndNamed),
            Just(Stmt::ReExport),
            Just(Stmt::Star),
        ],
        "[a-zA-Z0-9./@_ӣҳ-]{1,16}",
        any::<bool>(),
    )
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        let _ = tokenize(&src);
        let _ = compile(ModuleKind::Som, &src);
        let _ = compile(ModuleKind::Json, &src);
    }

    #[test]
    fn code_like_text_never_panics(src in "[a-zӣ{}()\\[\\]'\"`$/*\\\\\n .;,=]{0,80}") {
        let _ = tokenize(&src);
        if let Ok(out) = compile(ModuleKind::Som, &src) {
            prop_assert_eq!(newlines(&out.code), newlines(&src));
        }
    }

    #[test]
    fn token_soups_never_panic_and_keep_lines(src in soup()) {
        let _ = tokenize(&src);
        if let Ok(out) = compile(ModuleKind::Som, &src) {
            prop_assert_eq!(newlines(&out.code), newlines(&src));
        }
    }

    #[test]
    fn generated_imports_round_trip(stmts in prop::collection::vec(import_statement(), 0..8)) {
        let mut src = String::new();
        let mut expected = Vec::new();
        for (i, (form, spec, single)) in stmts.iter().enumerate() {
            let lit = if *single { format!("'{spec}'") } else { format!("\"{spec}\"") };
            let line = match form {
                Stmt::SideEffect => format!("ворид {lit};"),
                Stmt::Default => format!("ворид d{i} аз {lit}"),
                Stmt::Named => format!("import {{ a чун b{i}, c{i} }} from {lit};"),
                Stmt::Namespace => format!("ворид * чун ns{i} аз {lit};"),
                Stmt::DefaultAndNamed => format!("ворид d{i}, {{\n e{i}\n}} аз {lit};"),
                Stmt::ReExport => format!("содир {{ a чун z{i} }} аз {lit};"),
                Stmt::Star => format!("содир * аз {lit};"),
            };
            src.push_str(&line);
            src.push_str("\nчоп.сабт(1);\n");
            expected.push(spec.clone());
        }
        let out = compile(ModuleKind::Som, &src).unwrap();
        let got: Vec<String> = out.imports.into_iter().map(|i| i.specifier).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(newlines(&out.code), newlines(&src));
    }
}
