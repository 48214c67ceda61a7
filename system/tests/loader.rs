//! Loading through the cache: single-flight, invalidation of edited files
//! and their dependents, errors that leave nothing half-loaded.

mod util;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use somon_system::Error;
use util::Tree;

#[test]
fn concurrent_loads_of_one_uncached_module_compile_it_once() {
    let tree = Tree::with(&[("app/leaf.som", "содир собит answer = 42;\n")]);
    let loader = Arc::new(tree.loader());
    let barrier = Arc::new(Barrier::new(200));
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let loader = Arc::clone(&loader);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                loader.load("app/leaf.som", Instant::now()).unwrap()
            })
        })
        .collect();
    let loaded: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    assert_eq!(
        loader.compiles(),
        1,
        "200 concurrent misses must compile once"
    );
    assert_eq!(loaded.len(), 200);
    assert!(loaded
        .iter()
        .all(|l| Arc::ptr_eq(&l.module, &loaded[0].module)));
    assert_eq!(loaded[0].module.exports, ["answer"]);
    let stats = loader.cache().stats();
    assert_eq!(stats.hits + stats.misses, 200);
}

#[test]
fn a_load_brings_in_its_dependencies_once() {
    let tree = Tree::with(&[
        (
            "app/main.som",
            "ворид { a } аз \"./a\";\nворид b аз \"../lib/b\";\n",
        ),
        (
            "app/a.som",
            "ворид b аз \"../lib/b\";\nсодир собит a = 1;\n",
        ),
        ("lib/b.som", "содир пешфарз функсия b() {}\n"),
    ]);
    let loader = tree.loader();
    let now = Instant::now();
    let first = loader.load("app/main.som", now).unwrap();
    assert!(!first.cached);
    assert_eq!(loader.compiles(), 3);
    let deps: Vec<_> = first.module.module_deps().map(|d| d.to_string()).collect();
    assert_eq!(deps, ["app/a.som", "lib/b.som"]);

    // The dependencies were loaded uncounted: loading one directly is a hit.
    let b = loader.load("lib/b.som", now).unwrap();
    assert!(b.cached);
    assert_eq!(loader.compiles(), 3);
    let stats = loader.cache().stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[test]
fn an_edited_file_is_recompiled_and_its_dependents_invalidated() {
    let tree = Tree::with(&[
        ("main.som", "ворид { x } аз \"./mid\";\n"),
        ("mid.som", "ворид { x } аз \"./leaf\";\nсодир { x };\n"),
        ("leaf.som", "содир собит x = 1;\n"),
        ("other.som", "содир собит y = 2;\n"),
    ]);
    let loader = tree.loader();
    let now = Instant::now();
    loader.load("main.som", now).unwrap();
    loader.load("other.som", now).unwrap();
    assert_eq!(loader.compiles(), 4);

    tree.write("leaf.som", "содир собит x = 1;\nсодир собит z = 3;\n");
    let leaf = loader.load("leaf.som", now).unwrap();
    assert!(
        !leaf.cached,
        "an edited file must not be served from the cache"
    );
    assert_eq!(leaf.module.exports, ["x", "z"]);
    assert_eq!(loader.compiles(), 5);

    let cache = loader.cache();
    assert!(!cache.contains("mid.som"), "direct dependent invalidated");
    assert!(
        !cache.contains("main.som"),
        "transitive dependent invalidated"
    );
    assert!(cache.contains("other.som"), "unrelated module kept");
}

#[test]
fn a_broken_dependency_fails_the_load_and_caches_nothing_half_done() {
    let tree = Tree::with(&[
        ("main.som", "ворид { x } аз \"./bad\";\n"),
        ("bad.som", "содир собит x = \"unterminated;\n"),
    ]);
    let loader = tree.loader();
    let error = loader.load("main.som", Instant::now()).unwrap_err();
    match &error {
        Error::Parse { module, error } => {
            assert_eq!(module.as_str(), "bad.som");
            assert_eq!((error.at.line, error.at.column), (1, 17));
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(!loader.cache().contains("main.som"));

    tree.write("bad.som", "содир собит x = \"fixed\";\n");
    assert!(loader.load("main.som", Instant::now()).is_ok());
}

#[test]
fn unresolvable_imports_name_the_specifier_and_the_importer() {
    let tree = Tree::with(&[("app/main.som", "\n  ворид { a } аз \"./missing\";\n")]);
    let error = tree
        .loader()
        .load("app/main.som", Instant::now())
        .unwrap_err();
    assert_eq!(error.code(), "MODULE_NOT_FOUND");
    let message = error.to_string();
    assert!(message.contains("./missing"), "{message}");
    assert!(message.contains("app/main.som:2:"), "{message}");
}

#[test]
fn imports_that_climb_out_of_the_root_are_refused() {
    let tree = Tree::with(&[("app/main.som", "ворид \"../../etc/passwd\";\n")]);
    let error = tree
        .loader()
        .load("app/main.som", Instant::now())
        .unwrap_err();
    assert_eq!(error.code(), "PATH_ESCAPES_ROOT", "{error}");
    let error = tree.loader().load("../x.som", Instant::now()).unwrap_err();
    assert_eq!(error.code(), "PATH_ESCAPES_ROOT", "{error}");
}

#[test]
fn warm_loads_without_counting_and_reports_failures() {
    let tree = Tree::with(&[
        ("a.som", "содир собит a = 1;\n"),
        ("b.som", "ворид \"./nope\";\n"),
    ]);
    let loader = tree.loader();
    let report = loader.warm(&["a.som".into(), "b.som".into()], Instant::now());
    assert_eq!(report.loaded.len(), 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].1.code(), "MODULE_NOT_FOUND");
    let stats = loader.cache().stats();
    assert_eq!((stats.hits, stats.misses, stats.size), (0, 0, 1));
    assert!(loader.load("a.som", Instant::now()).unwrap().cached);
}
