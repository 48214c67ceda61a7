//! Bundles run in Node: cycles, externals, escaped keys, generated corpora,
//! source maps.

mod util;

use std::time::Instant;

use somon_system::{
    bundle, Bundle, BundleOptions, CacheLimits, CycleStrategy, Error, GraphOptions, ModuleGraph,
    ResolverConfig,
};
use util::{node, Tree};

fn bundle_of(tree: &Tree, entry: &str, cycles: CycleStrategy) -> Result<Bundle, Error> {
    let loader = tree.loader();
    let options = GraphOptions {
        cycles,
        externals: Vec::new(),
    };
    let graph = ModuleGraph::build(&loader, entry, &options, Instant::now())?;
    Ok(bundle(&graph, &BundleOptions::default()))
}

/// Writes the bundle next to the tree and prints `expr` evaluated on its exports.
fn run(tree: &Tree, out: &Bundle, expr: &str) -> Option<String> {
    let file = tree.write("__bundle.js", &out.code);
    node(&format!(
        "const m = require({}); console.log(JSON.stringify({expr}));",
        serde_json::to_string(file.to_str().unwrap()).unwrap()
    ))
}

fn cyclic_tree() -> Tree {
    Tree::with(&[
        (
            "app/even.som",
            "ворид { isOdd } аз \"./odd\";\n\
             содир функсия isEven(n) {\n  агар (n === 0) бозгашт дуруст;\n  бозгашт isOdd(n - 1);\n}\n",
        ),
        (
            "app/odd.som",
            "ворид { isEven } аз \"./even\";\n\
             содир функсия isOdd(n) {\n  агар (n === 0) бозгашт нодуруст;\n  бозгашт isEven(n - 1);\n}\n",
        ),
        (
            "app/main.som",
            "ворид { isEven } аз \"./even\";\n\
             содир пешфарз функсия main() { бозгашт [isEven(10), isEven(7)]; }\n",
        ),
    ])
}

#[test]
fn a_cyclic_graph_bundles_under_warn_and_runs() {
    let tree = cyclic_tree();
    let out = bundle_of(&tree, "app/main.som", CycleStrategy::Warn).unwrap();
    assert_eq!(out.modules, 3);
    assert_eq!(
        out.warnings,
        ["circular dependency: app/even.som → app/odd.som → app/even.som"]
    );
    if let Some(printed) = run(&tree, &out, "m.default()") {
        assert_eq!(printed.trim(), "[true,false]");
    }
}

#[test]
fn a_cyclic_graph_is_refused_under_error_with_the_cycle_path() {
    let tree = cyclic_tree();
    match bundle_of(&tree, "app/main.som", CycleStrategy::Error) {
        Err(Error::CircularDependency { cycle }) => {
            let path: Vec<_> = cycle.iter().map(|m| m.as_str()).collect();
            assert_eq!(path, ["app/even.som", "app/odd.som", "app/even.som"]);
        }
        other => panic!("expected a circular dependency error, got {other:?}"),
    }
    let quiet = bundle_of(&tree, "app/main.som", CycleStrategy::Ignore).unwrap();
    assert!(quiet.warnings.is_empty());
}

#[test]
fn externals_are_left_to_the_host_require() {
    let tree = Tree::with(&[(
        "main.som",
        "ворид * чун path аз \"path\";\nсодир собит joined = path.join(\"a\", \"b\");\n",
    )]);
    let loader = tree.loader_with(
        ResolverConfig {
            externals: vec!["path".into()],
            ..ResolverConfig::default()
        },
        CacheLimits::default(),
    );
    let graph = ModuleGraph::build(
        &loader,
        "main.som",
        &GraphOptions::default(),
        Instant::now(),
    )
    .unwrap();
    let out = bundle(&graph, &BundleOptions::default());
    assert_eq!(out.externals, ["path"]);
    assert_eq!(out.modules, 1);
    if let Some(printed) = run(&tree, &out, "m.joined") {
        assert_eq!(printed.trim(), "\"a/b\"");
    }
}

#[test]
fn module_keys_are_json_escaped() {
    let tree = Tree::with(&[
        ("main.som", "ворид { q } аз './we\"ird';\nсодир { q };\n"),
        ("we\"ird.som", "содир собит q = \"quoted\";\n"),
    ]);
    let out = bundle_of(&tree, "main.som", CycleStrategy::Warn).unwrap();
    assert!(out.code.contains(r#""./we\"ird.som""#), "{}", out.code);
    if let Some(printed) = run(&tree, &out, "m.q") {
        assert_eq!(printed.trim(), "\"quoted\"");
    }
}

/// Decodes a v3 `mappings` string into, per generated line, the (source
/// index, source line) of its first segment.
fn decode(mappings: &str) -> Vec<Option<(i64, i64)>> {
    const DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut source, mut line) = (0i64, 0i64);
    mappings
        .split(';')
        .map(|segment| {
            if segment.is_empty() {
                return None;
            }
            let mut values = Vec::new();
            let (mut value, mut shift) = (0i64, 0);
            for c in segment.split(',').next().unwrap().chars() {
                let digit = DIGITS.find(c).unwrap() as i64;
                value |= (digit & 31) << shift;
                shift += 5;
                if digit & 32 == 0 {
                    values.push(if value & 1 == 1 {
                        -(value >> 1)
                    } else {
                        value >> 1
                    });
                    (value, shift) = (0, 0);
                }
            }
            source += values[1];
            line += values[2];
            Some((source, line))
        })
        .collect()
}

#[test]
fn source_maps_point_each_line_back_to_its_module_line() {
    let tree = cyclic_tree();
    let loader = tree.loader();
    let graph = ModuleGraph::build(
        &loader,
        "app/main.som",
        &GraphOptions::default(),
        Instant::now(),
    )
    .unwrap();
    let out = bundle(
        &graph,
        &BundleOptions {
            source_map: true,
            ..BundleOptions::default()
        },
    );
    let map: serde_json::Value = serde_json::from_str(out.map.as_deref().unwrap()).unwrap();
    assert_eq!(map["version"], 3);
    let sources: Vec<&str> = map["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 3);
    let lines = decode(map["mappings"].as_str().unwrap());
    let generated: Vec<&str> = out.code.lines().collect();
    for (needle, module, source_line) in [
        ("бозгашт isOdd(n - 1)", "even.som", 3),
        ("return isOdd(n - 1)", "even.som", 3),
        ("isEven(n - 1)", "odd.som", 3),
        ("isEven(10)", "main.som", 1),
    ] {
        let Some(at) = generated.iter().position(|l| l.contains(needle)) else {
            continue;
        };
        let (source, line) = lines[at].expect("the line is mapped");
        assert_eq!(sources[source as usize], module, "{needle}");
        assert_eq!(line, source_line, "{needle}");
    }
    assert!(generated.iter().any(|l| l.contains("isEven(10)")));
}
