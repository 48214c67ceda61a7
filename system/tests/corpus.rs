//! The corpus generator: determinism, shape, sizes, and that what it writes
//! links (every import resolves, every imported name is exported) and runs.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Command;

use std::time::Instant;

use somon_system::{
    bundle, compile, generate, BundleOptions, CacheLimits, Corpus, CorpusSpec, GraphOptions,
    Importer, Loader, ModuleCache, ModuleGraph, ModuleId, Resolved, Resolver, ResolverConfig,
    Validation,
};
use tempfile::TempDir;

fn written(spec: &CorpusSpec) -> (TempDir, Corpus) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = generate(dir.path(), spec).unwrap();
    (dir, corpus)
}

/// Every file under `root`, by relative path.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.insert(rel.replace('\\', "/"), fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn sources(corpus: &Corpus) -> BTreeMap<String, String> {
    corpus
        .modules
        .iter()
        .map(|m| {
            let text = fs::read_to_string(m.id.path_in(&corpus.root)).unwrap();
            (m.id.as_str().to_owned(), text)
        })
        .collect()
}

/// A resolver over the corpus that treats its externals as externals.
fn resolver_for(corpus: &Corpus) -> Resolver {
    let config = ResolverConfig {
        paths: vec![],
        externals: corpus.externals.clone(),
    };
    Resolver::new(&corpus.root, config).unwrap()
}

fn with_externals() -> CorpusSpec {
    CorpusSpec {
        modules: 120,
        seed: 42,
        externals: vec!["lodash".into(), "@acme/ui".into(), "dayjs".into()],
        external_fraction: 0.25,
        cycles: 3,
        ..CorpusSpec::default()
    }
}

#[test]
fn same_seed_writes_identical_files() {
    let spec = with_externals();
    let (a, _) = written(&spec);
    let (b, _) = written(&spec);
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), spec.modules);
    assert!(fa == fb, "same seed, different trees");
}

#[test]
fn different_seed_writes_different_files() {
    let (a, _) = written(&CorpusSpec::default());
    let (b, _) = written(&CorpusSpec {
        seed: 2,
        ..CorpusSpec::default()
    });
    assert!(files(a.path()) != files(b.path()));
}

/// Pins the bytes of one small corpus, so a change in the generator (or in
/// the platform's arithmetic) that would break cross-machine determinism shows.
#[test]
fn pinned_digest() {
    let (_dir, corpus) = written(&CorpusSpec {
        modules: 40,
        seed: 9,
        ..CorpusSpec::default()
    });
    // FNV-1a over paths and contents.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (path, bytes) in files(&corpus.root) {
        for b in path.bytes().chain(bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    assert_eq!(hash, PINNED, "generator output changed: {hash:#x}");
}

const PINNED: u64 = 0x92f9_3fb0_a1ef_fa37;

#[test]
fn counts_and_records_match_the_files() {
    let spec = CorpusSpec {
        modules: 77,
        entries: 7,
        ..CorpusSpec::default()
    };
    let (dir, corpus) = written(&spec);
    assert_eq!(corpus.modules.len(), 77);
    assert_eq!(corpus.entries.len(), 7);
    let on_disk = files(dir.path());
    assert_eq!(on_disk.len(), 77);
    let mut total = 0;
    for module in &corpus.modules {
        let bytes = &on_disk[module.id.as_str()];
        assert_eq!(module.bytes, bytes.len() as u64);
        total += module.bytes;
    }
    assert_eq!(corpus.total_bytes, total);
    let sources = sources(&corpus);
    for entry in &corpus.entries {
        assert!(sources[entry.as_str()].contains("содир функсия main()"));
        let imported = corpus.modules.iter().any(|m| m.imports.contains(entry));
        assert!(!imported, "entry {entry} is imported");
    }
}

/// Every specifier the compiler extracts resolves to a corpus module (or an
/// allowed external), and the resolved set equals the recorded imports.
/// (That every imported name is exported is shown by running the corpus in
/// Node below: a missing name is `undefined` and calling it throws.)
#[test]
fn imports_resolve_to_the_recorded_modules() {
    for spec in [with_externals(), CorpusSpec::default()] {
        let (_dir, corpus) = written(&spec);
        let resolver = resolver_for(&corpus);
        let sources = sources(&corpus);
        for module in &corpus.modules {
            let compiled = compile(module.id.kind(), &sources[module.id.as_str()])
                .unwrap_or_else(|e| panic!("{}:{e}", module.id));
            let mut resolved = Vec::new();
            let mut externals = BTreeSet::new();
            for import in &compiled.imports {
                let importer = Importer {
                    module: module.id.clone(),
                    at: import.at,
                };
                match resolver.resolve(&import.specifier, Some(&importer)) {
                    Ok(Resolved::Module(id)) => {
                        if !resolved.contains(&id) {
                            resolved.push(id);
                        }
                    }
                    Ok(Resolved::External(name)) => {
                        externals.insert(name);
                    }
                    Err(e) => panic!("{}: {e}", module.id),
                }
            }
            let recorded: BTreeSet<&ModuleId> = module.imports.iter().collect();
            assert_eq!(recorded, resolved.iter().collect(), "{}", module.id);
            let recorded: BTreeSet<String> = module.externals.iter().cloned().collect();
            assert_eq!(recorded, externals, "{}", module.id);
        }
    }
}

/// Strongly connected components with more than one module (Kosaraju).
fn cycles(corpus: &Corpus) -> Vec<BTreeSet<ModuleId>> {
    let index: BTreeMap<&ModuleId, usize> = corpus
        .modules
        .iter()
        .enumerate()
        .map(|(i, m)| (&m.id, i))
        .collect();
    let edges: Vec<Vec<usize>> = corpus
        .modules
        .iter()
        .map(|m| m.imports.iter().map(|d| index[d]).collect())
        .collect();
    let n = edges.len();
    let mut reverse = vec![Vec::new(); n];
    for (from, targets) in edges.iter().enumerate() {
        for &to in targets {
            reverse[to].push(from);
        }
    }
    let mut seen = vec![false; n];
    let mut order = Vec::new();
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![(start, 0)];
        while let Some((node, next)) = stack.pop() {
            if next < edges[node].len() {
                stack.push((node, next + 1));
                let to = edges[node][next];
                if !seen[to] {
                    seen[to] = true;
                    stack.push((to, 0));
                }
            } else {
                order.push(node);
            }
        }
    }
    let mut component = vec![usize::MAX; n];
    let mut found = Vec::new();
    for &root in order.iter().rev() {
        if component[root] != usize::MAX {
            continue;
        }
        let mut members = BTreeSet::new();
        let mut stack = vec![root];
        component[root] = root;
        while let Some(node) = stack.pop() {
            members.insert(corpus.modules[node].id.clone());
            for &from in &reverse[node] {
                if component[from] == usize::MAX {
                    component[from] = root;
                    stack.push(from);
                }
            }
        }
        if members.len() > 1 {
            found.push(members);
        }
    }
    found
}

#[test]
fn no_cycles_unless_asked() {
    let (_dir, corpus) = written(&CorpusSpec::default());
    assert!(cycles(&corpus).is_empty());
}

#[test]
fn exactly_the_asked_two_module_cycles() {
    for asked in [1, 4] {
        let (_dir, corpus) = written(&CorpusSpec {
            cycles: asked,
            ..CorpusSpec::default()
        });
        let found = cycles(&corpus);
        assert_eq!(found.len(), asked, "{found:?}");
        assert!(found.iter().all(|c| c.len() == 2), "{found:?}");
    }
}

#[test]
fn sizes_follow_the_mean() {
    for mean in [1024, 2048, 8192] {
        let (_dir, corpus) = written(&CorpusSpec {
            modules: 500,
            mean_module_bytes: mean,
            ..CorpusSpec::default()
        });
        let average = corpus.total_bytes as f64 / 500.0;
        let ratio = average / mean as f64;
        assert!(
            (0.7..=1.3).contains(&ratio),
            "mean {mean}: average {average}"
        );
        // A spread, not all the same size.
        let sizes: BTreeSet<u64> = corpus.modules.iter().map(|m| m.bytes / 256).collect();
        assert!(sizes.len() > 5, "mean {mean}: {sizes:?}");
    }
}

#[test]
fn externals_appear_in_about_the_asked_fraction() {
    let spec = CorpusSpec {
        modules: 500,
        externals: vec!["lodash".into(), "react".into()],
        external_fraction: 0.3,
        ..CorpusSpec::default()
    };
    let (_dir, corpus) = written(&spec);
    let sources = sources(&corpus);
    let with = corpus
        .modules
        .iter()
        .filter(|m| {
            let text = &sources[m.id.as_str()];
            assert_eq!(
                !m.externals.is_empty(),
                text.contains("аз \"lodash\"") || text.contains("аз \"react\""),
                "{}",
                m.id
            );
            !m.externals.is_empty()
        })
        .count();
    let fraction = with as f64 / 500.0;
    assert!((0.25..=0.35).contains(&fraction), "{fraction}");
    assert_eq!(corpus.externals, ["lodash", "react"]);

    let (_dir, none) = written(&CorpusSpec::default());
    assert!(none.modules.iter().all(|m| m.externals.is_empty()));
    assert!(none.externals.is_empty());
}

#[test]
fn depth_is_respected() {
    for max_depth in [0, 1, 4] {
        let (_dir, corpus) = written(&CorpusSpec {
            max_depth,
            ..CorpusSpec::default()
        });
        let deepest = corpus.modules.iter().map(|m| m.depth).max().unwrap();
        assert_eq!(deepest, max_depth, "some module should use the full depth");
        for module in &corpus.modules {
            assert_eq!(module.depth, module.id.as_str().matches('/').count());
        }
    }
}

#[test]
fn impossible_specs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for spec in [
        CorpusSpec {
            entries: 0,
            ..CorpusSpec::default()
        },
        CorpusSpec {
            modules: 3,
            entries: 5,
            ..CorpusSpec::default()
        },
        CorpusSpec {
            modules: 10,
            entries: 5,
            cycles: 3,
            ..CorpusSpec::default()
        },
        CorpusSpec {
            external_fraction: 1.5,
            ..CorpusSpec::default()
        },
    ] {
        assert!(generate(dir.path(), &spec).is_err(), "{spec:?}");
    }
    // Entries only: no imports at all, still valid.
    let (_dir, corpus) = written(&CorpusSpec {
        modules: 3,
        entries: 3,
        ..CorpusSpec::default()
    });
    assert!(corpus.modules.iter().all(|m| m.imports.is_empty()));
}

/// Compiles and bundles every entry with the real pipeline and runs its
/// `main()` in Node: the code must be valid JavaScript, print nothing, and
/// return integers. Externals get empty stub packages next to the bundles.
/// Skipped when `node` is not installed.
#[test]
fn entries_bundle_and_run_in_node() {
    for spec in [with_externals(), CorpusSpec::default()] {
        let (_dir, corpus) = written(&spec);
        let resolver = resolver_for(&corpus);
        let cache = ModuleCache::new(
            resolver.root().to_path_buf(),
            CacheLimits::default(),
            Validation::Stat,
        );
        let loader = Loader::new(resolver, cache);
        let out = tempfile::tempdir().unwrap();
        for name in &corpus.externals {
            let package = out.path().join("node_modules").join(name);
            fs::create_dir_all(&package).unwrap();
            fs::write(package.join("index.js"), "module.exports = {};\n").unwrap();
        }
        let mut requires = Vec::new();
        for (i, entry) in corpus.entries.iter().enumerate() {
            let graph = ModuleGraph::build(
                &loader,
                entry.as_str(),
                &GraphOptions::default(),
                Instant::now(),
            )
            .unwrap_or_else(|e| panic!("{entry}: {e}"));
            let code = bundle(&graph, &BundleOptions::default()).code;
            let path = out.path().join(format!("entry{i}.js"));
            fs::write(&path, code).unwrap();
            requires.push(format!("require({:?}).main()", path.to_str().unwrap()));
        }
        let runner = out.path().join("run.js");
        fs::write(
            &runner,
            format!("console.log(JSON.stringify([{}]));\n", requires.join(", ")),
        )
        .unwrap();
        let output = match Command::new("node").arg(&runner).output() {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                util::skip(&util::node_unavailable(
                    &e,
                    "the bundled entries were not run",
                ));
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "node failed:\n{stderr}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "modules printed:\n{stdout}");
        let values: Vec<f64> = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(values.len(), spec.entries);
        for v in values {
            assert!(v.fract() == 0.0 && (0.0..1_000_003.0).contains(&v), "{v}");
        }
    }
}
