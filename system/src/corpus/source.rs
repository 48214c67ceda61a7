//! The text of generated modules: exports, imports that only name what the
//! target really exports, a deterministic value function, and padding.
//!
//! Every module `i` exports `ҳисоб_i(арзиш)`, a memoised function of a small
//! integer that folds in the values of its imports. Importers only ever call
//! it with `арзиш` in `0..5`, so a whole corpus evaluates in time linear in
//! its edges however many paths the DAG has.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use rand_chacha::ChaCha8Rng;

use super::{below, shuffle, specifier, Export, ExportKind, Plan, Role};
use crate::CorpusSpec;

use rand::Rng;

/// Values stay far below 2^53, so JavaScript numbers are exact.
const MODULUS: u32 = 1_000_003;

/// A module's text before padding. Padding goes between `head` and `tail`
/// because the `содир { … }` list export must follow the declarations it names.
pub(super) struct Skeleton {
    head: String,
    tail: String,
}

impl Skeleton {
    /// Bytes the module needs at minimum.
    pub(super) fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }
}

/// Decides what each module exports and re-exports. Dependencies are planned
/// before their importers (partners, then deepest level first), so a
/// re-export only names what the target is known to export.
pub(super) fn plan_exports(plans: &mut [Plan], rng: &mut ChaCha8Rng) {
    let rank = |role: Role| match role {
        Role::Partner(_) => 0,
        Role::Layer(level) => usize::MAX - level,
        Role::Entry => usize::MAX,
    };
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by_key(|&i| (rank(plans[i].role), i));
    for i in order {
        if plans[i].role == Role::Entry {
            continue;
        }
        let plan = &mut plans[i];
        plan.has_class = rng.random_bool(0.4);
        plan.has_default = rng.random_bool(0.35);
        plan.has_list = rng.random_bool(0.35);
        let mut exports = vec![
            export(format!("ҳисоб_{i}"), ExportKind::Function),
            export(format!("АДАД_{i}"), ExportKind::Const),
        ];
        if plan.has_class {
            exports.push(export(format!("Ҳисобкунак_{i}"), ExportKind::Class));
        }
        if plan.has_list {
            exports.push(export(format!("ёрдам_{i}"), ExportKind::Function));
            exports.push(export(format!("ҲАД_{i}"), ExportKind::Const));
        }
        let mut reexports = Vec::new();
        let mut star = None;
        if matches!(plans[i].role, Role::Layer(_)) && !plans[i].deps.is_empty() {
            let deps = plans[i].deps.clone();
            if rng.random_bool(0.25) {
                let from = deps[below(rng, deps.len())];
                let offered = &plans[from].exports;
                let picked = offered[below(rng, offered.len())].clone();
                if !exports.iter().any(|e| e.name == picked.name) {
                    reexports.push((from, picked.name.clone()));
                    exports.push(picked);
                }
            }
            if rng.random_bool(0.1) {
                star = Some(deps[below(rng, deps.len())]);
            }
        }
        let plan = &mut plans[i];
        plan.exports = exports;
        plan.reexports = reexports;
        plan.star = star;
    }
}

fn export(name: String, kind: ExportKind) -> Export {
    Export { name, kind }
}

/// Renders module `i` without padding.
pub(super) fn render(
    plans: &[Plan],
    i: usize,
    spec: &CorpusSpec,
    rng: &mut ChaCha8Rng,
) -> Skeleton {
    let plan = &plans[i];
    let mut head = String::new();
    let mut tail = String::new();
    let _ = writeln!(head, "// {} (тухми {})", plan.id, spec.seed);
    // Names bound in this module; re-exported names are reserved too, in case
    // a compiler gives re-exports a local binding.
    let mut locals: BTreeSet<String> = plan.reexports.iter().map(|(_, n)| n.clone()).collect();
    let mut terms = Vec::new();
    for &j in &plan.deps {
        let from = specifier(plan, &plans[j], rng);
        if plan.role == Role::Partner(j) {
            // The back edge of a cycle: a namespace read at call time, when the
            // other module has finished loading (CommonJS semantics).
            let ns = fresh(&mut locals, format!("М_{j}"));
            let _ = writeln!(head, "ворид * чун {ns} аз \"{from}\";");
            terms.push(format!("({ns}.АДАД_{j} || 0)"));
            continue;
        }
        let line = import_statement(&plans[j], j, &from, &mut locals, &mut terms, rng);
        head.push_str(&line);
    }
    for &e in &plan.externals {
        let _ = writeln!(head, "ворид * чун БЕРУН_{e} аз \"{}\";", spec.externals[e]);
    }
    for (j, name) in &plan.reexports {
        let from = specifier(plan, &plans[*j], rng);
        let _ = writeln!(head, "содир {{ {name} }} аз \"{from}\";");
    }
    if let Some(j) = plan.star {
        let from = specifier(plan, &plans[j], rng);
        let _ = writeln!(head, "содир * аз \"{from}\";");
    }
    head.push('\n');
    let _ = writeln!(head, "собит НАЗОРАТ_{i} = нодуруст;");
    if plan.role == Role::Entry {
        render_main(&mut head, i, &terms, rng);
    } else {
        render_value_function(&mut head, i, &terms, rng);
        render_extras(&mut head, &mut tail, plan, i, rng);
    }
    if !plan.externals.is_empty() {
        let names: Vec<String> = plan
            .externals
            .iter()
            .map(|e| format!("БЕРУН_{e}"))
            .collect();
        // Referenced but not called: the value must not depend on a package's content.
        let _ = writeln!(
            head,
            "\nфунксия берунӣ_{i}() {{\n  бозгашт [{}];\n}}",
            names.join(", ")
        );
    }
    Skeleton { head, tail }
}

/// One `ворид` statement for dependency `j`, adding the values it brings to `terms`.
fn import_statement(
    target: &Plan,
    j: usize,
    from: &str,
    locals: &mut BTreeSet<String>,
    terms: &mut Vec<String>,
    rng: &mut ChaCha8Rng,
) -> String {
    let roll = below(rng, 100);
    if roll < 8 {
        return format!("ворид \"{from}\";\n");
    }
    if roll < 23 {
        let ns = fresh(locals, format!("М_{j}"));
        terms.push(format!("{ns}.ҳисоб_{j}({}) + {ns}.АДАД_{j}", argument(rng)));
        return format!("ворид * чун {ns} аз \"{from}\";\n");
    }
    let default = if target.has_default && roll < 50 {
        let local = fresh(locals, format!("асосӣ_{j}"));
        terms.push(format!("{local}({})", argument(rng)));
        Some(local)
    } else {
        None
    };
    let named = if default.is_some() && roll < 38 {
        Vec::new()
    } else {
        let count = 1 + below(rng, 3).min(target.exports.len() - 1);
        let mut picks: Vec<usize> = (0..target.exports.len()).collect();
        shuffle(&mut picks, rng);
        picks.truncate(count);
        picks.sort_unstable();
        picks
            .into_iter()
            .map(|p| {
                let export = &target.exports[p];
                let wants_alias = rng.random_bool(0.3) || locals.contains(&export.name);
                let local = if wants_alias {
                    fresh(
                        locals,
                        format!("{}{j}", short_name(export.kind, &export.name)),
                    )
                } else {
                    fresh(locals, export.name.clone())
                };
                terms.push(use_of(&local, export.kind, rng));
                if local == export.name {
                    local
                } else {
                    format!("{} чун {local}", export.name)
                }
            })
            .collect()
    };
    match (default, named.is_empty()) {
        (Some(d), true) => format!("ворид {d} аз \"{from}\";\n"),
        (Some(d), false) => format!("ворид {d}, {{ {} }} аз \"{from}\";\n", named.join(", ")),
        (None, _) => format!("ворид {{ {} }} аз \"{from}\";\n", named.join(", ")),
    }
}

/// A short local name for an aliased import, as people write them.
fn short_name(kind: ExportKind, name: &str) -> String {
    let stem: String = name.chars().take_while(|c| *c != '_').take(3).collect();
    match kind {
        ExportKind::Class => stem,
        ExportKind::Function | ExportKind::Const => stem.to_lowercase(),
    }
}

/// `base`, made unique among `locals` and recorded there.
fn fresh(locals: &mut BTreeSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while locals.contains(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    locals.insert(name.clone());
    name
}

/// The argument importers pass: always in `0..5`, which bounds memoisation.
fn argument(rng: &mut ChaCha8Rng) -> String {
    format!("(арзиш + {}) % 5", below(rng, 5))
}

/// An expression turning an imported binding into a number.
fn use_of(local: &str, kind: ExportKind, rng: &mut ChaCha8Rng) -> String {
    match kind {
        ExportKind::Function => format!("{local}({})", argument(rng)),
        ExportKind::Const => local.to_owned(),
        ExportKind::Class => format!("нав {local}(арзиш).қимат()"),
    }
}

/// Adds the terms to `натиҷа`, a few per statement: each term stays below
/// about 2·10⁶, so the sums are exact.
fn fold_terms(out: &mut String, terms: &[String]) {
    for chunk in terms.chunks(3) {
        let _ = writeln!(
            out,
            "  натиҷа = (натиҷа + {}) % {MODULUS};",
            chunk.join(" + ")
        );
    }
}

fn render_main(out: &mut String, i: usize, terms: &[String], rng: &mut ChaCha8Rng) {
    let start = below(rng, 1000);
    let _ = write!(
        out,
        "\n// Нуқтаи вуруд: қимат бозмегардонад, чизе чоп намекунад.\n\
         содир функсия main() {{\n  собит арзиш = {};\n  тағ натиҷа = {start};\n",
        below(rng, 5)
    );
    fold_terms(out, terms);
    let _ = write!(
        out,
        "  агар (НАЗОРАТ_{i}) {{\n    чоп.сабт(`main: ${{натиҷа}}`);\n  }}\n  бозгашт натиҷа;\n}}\n"
    );
}

fn render_value_function(out: &mut String, i: usize, terms: &[String], rng: &mut ChaCha8Rng) {
    let constant = below(rng, 100_000);
    let factor = 2 + below(rng, 97);
    let _ = write!(
        out,
        "собит хотира_{i} = нав Map();\nсодир собит АДАД_{i} = {constant};\n\n\
         содир функсия ҳисоб_{i}(арзиш) {{\n  агар (хотира_{i}.has(арзиш)) {{\n    бозгашт хотира_{i}.get(арзиш);\n  }}\n\
         \x20 тағ натиҷа = (арзиш * {factor} + АДАД_{i}) % {MODULUS};\n"
    );
    fold_terms(out, terms);
    let _ = write!(
        out,
        "  хотира_{i}.set(арзиш, натиҷа);\n  агар (НАЗОРАТ_{i}) {{\n    чоп.сабт(`ҳисоб_{i}(${{арзиш}}) = ${{натиҷа}}`);\n  }}\n  бозгашт натиҷа;\n}}\n"
    );
}

/// Class, default export and the `содир { … }` list (which goes in `tail`).
fn render_extras(
    head: &mut String,
    tail: &mut String,
    plan: &Plan,
    i: usize,
    rng: &mut ChaCha8Rng,
) {
    if plan.has_class {
        let _ = write!(
            head,
            "\nсодир синф Ҳисобкунак_{i} {{\n  constructor(н) {{\n    ин.н = н;\n  }}\n\n  қимат() {{\n    бозгашт ин.н + АДАД_{i};\n  }}\n}}\n"
        );
    }
    if plan.has_default {
        let _ = write!(
            head,
            "\nсодир пешфарз функсия асосӣ_{i}(арзиш) {{\n  бозгашт (ҳисоб_{i}(арзиш) * 2) % {MODULUS};\n}}\n"
        );
    }
    if plan.has_list {
        let _ = write!(
            head,
            "\nфунксия ёрдам_{i}(арзиш) {{\n  бозгашт арзиш * {} + ҲАД_{i};\n}}\nсобит ҲАД_{i} = {};\n",
            1 + below(rng, 50),
            below(rng, 10_000)
        );
        let _ = write!(tail, "\nсодир {{ ёрдам_{i}, ҲАД_{i} }};\n");
    }
}

/// Words for comments, strings and filler; some are keywords on purpose,
/// since keywords inside strings and comments must stay as they are.
const WORDS: [&str; 24] = [
    "модул",
    "ворид",
    "содир",
    "аз",
    "функсия",
    "қимат",
    "рӯйхат",
    "сатр",
    "адад",
    "натиҷа",
    "бозгашт",
    "агар",
    "вагарна",
    "синф",
    "нав",
    "санҷиш",
    "маълумот",
    "ҳолат",
    "тартиб",
    "калид",
    "ҷадвал",
    "хато",
    "суръат",
    "андоза",
];

/// Fills `skeleton` with ordinary code up to about `target` bytes.
pub(super) fn pad(skeleton: Skeleton, i: usize, target: usize, rng: &mut ChaCha8Rng) -> String {
    let Skeleton { mut head, tail } = skeleton;
    let mut k = 0;
    while head.len() + tail.len() + 600 < target {
        padding_block(&mut head, i, k, rng);
        k += 1;
    }
    let budget = target.saturating_sub(head.len() + tail.len() + 1);
    if budget >= 8 {
        head.push('\n');
        filler_comment(&mut head, budget, rng);
    }
    head.push_str(&tail);
    head
}

/// One private helper of a random kind: loops, templates, strings with
/// keywords, classes, objects and block comments.
fn padding_block(out: &mut String, i: usize, k: usize, rng: &mut ChaCha8Rng) {
    let word = |rng: &mut ChaCha8Rng| WORDS[below(rng, WORDS.len())];
    let n = below(rng, 1000);
    out.push('\n');
    let _ = match below(rng, 6) {
        0 => write!(
            out,
            "функсия ҷамъ_{i}_{k}(рӯйхат) {{\n  тағ натиҷа = 0;\n  барои (тағ и = 0; и < рӯйхат.length; и++) {{\n\
             \x20   агар (рӯйхат[и] > {n}) {{\n      натиҷа += рӯйхат[и];\n    }} вагарна {{\n      натиҷа -= {};\n    }}\n  }}\n  бозгашт натиҷа;\n}}\n",
            below(rng, 10)
        ),
        1 => write!(
            out,
            "// Шаблон бо ифодаҳо: ${{…}} дар дохили сатр.\nфунксия тавсиф_{i}_{k}(ном, адад) {{\n\
             \x20 бозгашт `{} ${{ном}}: ${{адад * {n}}} (${{адад > {n} ? \"калон\" : \"хурд\"}})`;\n}}\n",
            word(rng)
        ),
        2 => write!(
            out,
            "собит ПАЁМҲО_{i}_{k} = [\n  \"{} ва {} калимаҳои калидӣ ҳастанд\",\n  'агар дуруст бошад, бозгашт кун: {}',\n  \"функсия, синф, нав, ин — танҳо матн\",\n];\n",
            word(rng),
            word(rng),
            word(rng)
        ),
        3 => write!(
            out,
            "синф Ҳисобгар_{i}_{k} {{\n  constructor(қимат) {{\n    ин.қимат = қимат;\n  }}\n\n  афзун(н) {{\n\
             \x20   бозгашт нав Ҳисобгар_{i}_{k}(ин.қимат + н + {n});\n  }}\n\n  холист() {{\n    бозгашт ин.қимат === холӣ;\n  }}\n}}\n"
        ),
        4 => write!(
            out,
            "/**\n * Қимати {} бо {} (арзиш + {n}) ҳисоб мешавад.\n * @param {{number}} арзиш\n */\n\
             функсия табдил_{i}_{k}(арзиш) {{\n  тағ натиҷа = арзиш;\n  барои (тағ и = 0; и < {}; и++) {{\n    натиҷа = (натиҷа * 31 + и) % {MODULUS};\n  }}\n  бозгашт натиҷа;\n}}\n",
            word(rng),
            word(rng),
            1 + below(rng, 9)
        ),
        _ => write!(
            out,
            "/*\n * Танзимоти {} барои ин модул.\n * Ин шарҳ калимаҳои ворид, содир ва бозгашт-ро дорад.\n */\n\
             собит ТАНЗИМОТ_{i}_{k} = {{ фаъол: {}, ҳад: {n}, ном: \"{}\", холигӣ: холӣ }};\n",
            word(rng),
            if rng.random_bool(0.5) { "дуруст" } else { "нодуруст" },
            word(rng)
        ),
    };
}

/// `//` lines of exactly `budget` bytes (at least 8).
fn filler_comment(out: &mut String, budget: usize, rng: &mut ChaCha8Rng) {
    let mut left = budget;
    while left >= 8 {
        // Never leave a remainder too small for another line.
        let mut room = left.min(80);
        if left - room > 0 && left - room < 8 {
            room = left - 8;
        }
        let mut line = String::from("// ");
        loop {
            let w = WORDS[below(rng, WORDS.len())];
            if line.len() + w.len() + 2 > room {
                break;
            }
            line.push_str(w);
            line.push(' ');
        }
        while line.len() + 1 < room {
            line.push('.');
        }
        line.push('\n');
        left -= line.len();
        out.push_str(&line);
    }
}
