//! One CommonJS file from a [`ModuleGraph`]: a module map keyed by
//! JSON-escaped ids relative to the entry, a tiny cycle-safe loader, and
//! externals left to the host's `require`.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::graph::is_bundled;
use crate::{ModuleGraph, ModuleId, Resolved};

/// Bundle settings.
#[derive(Clone, Debug, Default)]
pub struct BundleOptions {
    /// Also produce a source map (v3) mapping every generated line back to
    /// its module's source line.
    pub source_map: bool,
    /// Bare package names the graph was told to keep external (see
    /// [`crate::GraphOptions::externals`]); their imports go to the host.
    pub externals: Vec<String>,
    /// Defect twin `quadratic-source-map` (a deliberate bug): the source map finds
    /// each mapping's generated line by counting newlines from the top of
    /// the bundle. Same map; time grows with the square of the bundle's size.
    pub rescan_per_line: bool,
}

/// A bundled program.
#[derive(Clone, Debug, Serialize)]
pub struct Bundle {
    /// The JavaScript: evaluates the entry and, where `module` exists (Node),
    /// assigns its exports to `module.exports`.
    pub code: String,
    /// Source map v3 as JSON text, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    /// How many modules the bundle holds.
    pub modules: usize,
    /// Length of `code` in bytes.
    pub bytes: usize,
    /// External packages the code will `require` from the host.
    pub externals: Vec<String>,
    /// Warnings from building the graph (cycles).
    pub warnings: Vec<String>,
}

/// The runtime wrapped around the module map. Each module is registered in
/// `cache` *before* it runs, so a cyclic import sees the partial exports
/// instead of recursing forever (CommonJS semantics).
const PRELUDE: &str = r#"(function (modules, entry) {
  var cache = {};
  var hostRequire = typeof require === "function" ? require : null;
  function load(id) {
    var found = cache[id];
    if (found) return found.exports;
    var def = modules[id];
    var module = { id: id, exports: {} };
    cache[id] = module;
    def[0].call(module.exports, function (specifier) {
      var target = def[1][specifier];
      if (target !== undefined) return load(target);
      if (hostRequire) return hostRequire(specifier);
      throw new Error("Cannot find module '" + specifier + "' from '" + id + "'");
    }, module, module.exports);
    return module.exports;
  }
  var exported = load(entry);
  if (typeof module === "object" && module !== null) module.exports = exported;
  return exported;
})({
"#;

/// Bundles every module of `graph` into one CommonJS program.
///
/// ```
/// use std::time::Instant;
/// use somon_system::*;
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.som"), "ворид { b } аз \"./b\";\nсодир собит a = b + 1;").unwrap();
/// std::fs::write(dir.path().join("b.som"), "содир собит b = 41;").unwrap();
/// let resolver = Resolver::new(dir.path(), ResolverConfig::default()).unwrap();
/// let cache = ModuleCache::new(resolver.root().to_path_buf(), CacheLimits::default(), Validation::Stat);
/// let loader = Loader::new(resolver, cache);
///
/// let graph = ModuleGraph::build(&loader, "a.som", &GraphOptions::default(), Instant::now()).unwrap();
/// let out = bundle(&graph, &BundleOptions::default());
/// assert_eq!(out.modules, 2);
/// assert!(out.code.contains("\"./b.som\""));
/// ```
pub fn bundle(graph: &ModuleGraph, options: &BundleOptions) -> Bundle {
    let base = graph.entry.dir();
    let keys: HashMap<&ModuleId, String> = graph
        .modules
        .iter()
        .map(|m| (&m.id, relative_key(base, m.id.as_str())))
        .collect();

    let capacity = PRELUDE.len() + graph.code_bytes() + graph.modules.len() * 160;
    let mut code = String::with_capacity(capacity);
    code.push_str(PRELUDE);
    let mut map = options.source_map.then(|| SourceMap {
        rescan_per_line: options.rescan_per_line,
        ..SourceMap::default()
    });

    for (index, module) in graph.modules.iter().enumerate() {
        let key = json(&keys[&module.id]);
        let _ = writeln!(code, "{key}: [function (require, module, exports) {{");
        if let Some(map) = map.as_mut() {
            map.add_module(&keys[&module.id], &code, &module.code);
        }
        code.push_str(&module.code);
        code.push_str("\n}, {");
        let mut first = true;
        for dep in &module.deps {
            let Resolved::Module(target) = &dep.target else {
                continue;
            };
            if !is_bundled(dep, &options.externals) {
                continue;
            }
            let Some(target_key) = keys.get(target) else {
                continue;
            };
            if !first {
                code.push_str(", ");
            }
            first = false;
            let _ = write!(code, "{}: {}", json(&dep.specifier), json(target_key));
        }
        code.push_str(if index + 1 < graph.modules.len() {
            "}],\n"
        } else {
            "}]\n"
        });
    }
    let _ = writeln!(code, "}}, {});", json(&keys[&graph.entry]));

    Bundle {
        bytes: code.len(),
        code,
        map: map.map(|m| m.finish()),
        modules: graph.modules.len(),
        externals: graph.externals.iter().cloned().collect(),
        warnings: graph.warnings.clone(),
    }
}

fn json(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

/// The path of `id` as seen from the directory `base` (both root-relative),
/// always starting with `./` or `../`.
fn relative_key(base: &str, id: &str) -> String {
    let base: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    let target: Vec<&str> = id.split('/').collect();
    let dir = &target[..target.len() - 1];
    let common = base.iter().zip(dir).take_while(|(a, b)| a == b).count();
    let mut key = String::new();
    if common == base.len() {
        key.push_str("./");
    } else {
        for _ in common..base.len() {
            key.push_str("../");
        }
    }
    key.push_str(&target[common..].join("/"));
    key
}

/// Source map v3 whose segments map column 0 of each generated line to
/// column 0 of the same line in the module's source. Exact by line, because
/// the compiler keeps every token on its source line.
#[derive(Default)]
struct SourceMap {
    sources: Vec<String>,
    mappings: String,
    /// Generated lines already covered by `mappings`.
    lines_done: usize,
    /// Newlines in the generated text up to byte `scanned` (counted
    /// incrementally: rescanning the whole bundle per module is quadratic).
    lines_seen: usize,
    scanned: usize,
    /// Previous segment's source index and source line (VLQ values are deltas).
    prev_source: i64,
    prev_line: i64,
    /// [`BundleOptions::rescan_per_line`].
    rescan_per_line: bool,
}

impl SourceMap {
    /// Records a module whose first code line is the line after the end of
    /// `generated` so far.
    fn add_module(&mut self, key: &str, generated: &str, module_code: &str) {
        self.lines_seen += generated[self.scanned..].matches('\n').count();
        self.scanned = generated.len();
        let first_line = self.lines_seen;
        while self.lines_done < first_line {
            self.mappings.push(';');
            self.lines_done += 1;
        }
        let source = self.sources.len() as i64;
        self.sources
            .push(key.strip_prefix("./").unwrap_or(key).to_owned());
        let lines = module_code.matches('\n').count() + 1;
        for line in 0..lines as i64 {
            if self.rescan_per_line {
                // Defect::QuadraticSourceMap: the line is found again from
                // the top of the bundle, for every line.
                let generated_line = generated.matches('\n').count() + line as usize;
                while self.lines_done < generated_line {
                    self.mappings.push(';');
                    self.lines_done += 1;
                }
            }
            // [generated column, source index, source line, source column]
            vlq(&mut self.mappings, 0);
            vlq(&mut self.mappings, source - self.prev_source);
            vlq(&mut self.mappings, line - self.prev_line);
            vlq(&mut self.mappings, 0);
            self.prev_source = source;
            self.prev_line = line;
            self.mappings.push(';');
            self.lines_done += 1;
        }
    }

    fn finish(self) -> String {
        serde_json::json!({
            "version": 3,
            "sources": self.sources,
            "names": [],
            "mappings": self.mappings,
        })
        .to_string()
    }
}

/// Base64 VLQ, as the source map format defines it.
fn vlq(out: &mut String, value: i64) {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rest = if value < 0 {
        ((-value) << 1) | 1
    } else {
        value << 1
    } as u64;
    loop {
        let mut digit = (rest & 31) as usize;
        rest >>= 5;
        if rest > 0 {
            digit |= 32;
        }
        out.push(DIGITS[digit] as char);
        if rest == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_to_the_entry_directory() {
        assert_eq!(relative_key("app", "app/main.som"), "./main.som");
        assert_eq!(relative_key("app", "app/x/y.som"), "./x/y.som");
        assert_eq!(relative_key("app", "lib/x.som"), "../lib/x.som");
        assert_eq!(relative_key("app/deep", "lib/x.som"), "../../lib/x.som");
        assert_eq!(relative_key("", "lib/x.som"), "./lib/x.som");
        assert_eq!(relative_key("a/b", "a/c.som"), "../c.som");
    }

    #[test]
    fn vlq_matches_the_spec_examples() {
        let enc = |v| {
            let mut s = String::new();
            vlq(&mut s, v);
            s
        };
        assert_eq!(enc(0), "A");
        assert_eq!(enc(1), "C");
        assert_eq!(enc(-1), "D");
        assert_eq!(enc(15), "e");
        assert_eq!(enc(16), "gB");
        assert_eq!(enc(-17), "jB");
        assert_eq!(enc(1000), "w+B");
    }

    #[test]
    fn keys_are_json_escaped() {
        assert_eq!(json("./a\"b\\c.som"), r#""./a\"b\\c.som""#);
        assert_eq!(json("./\u{2028}.som"), "\"./\u{2028}.som\"");
    }
}
