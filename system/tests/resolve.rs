//! Resolution rules: relative paths, probing, aliases,
//! `node_modules`, externals and confinement to the module root.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use somon_system::{
    normalize_request, Error, Importer, Location, ModuleId, Resolved, Resolver, ResolverConfig,
};
use tempfile::TempDir;

/// A module root with the given files (parents created).
fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn importer(module: &str) -> Importer {
    Importer {
        module: ModuleId::new(module),
        at: Location {
            line: 3,
            column: 17,
        },
    }
}

fn resolver(dir: &TempDir) -> Resolver {
    Resolver::new(dir.path(), ResolverConfig::default()).unwrap()
}

/// The id `specifier` resolves to from `from`, panicking on anything else.
fn id(resolver: &Resolver, specifier: &str, from: Option<&str>) -> String {
    let from = from.map(importer);
    match resolver.resolve(specifier, from.as_ref()) {
        Ok(Resolved::Module(id)) => id.as_str().to_owned(),
        other => panic!("{specifier} from {from:?}: {other:?}"),
    }
}

fn error_code(resolver: &Resolver, specifier: &str, from: Option<&str>) -> &'static str {
    let from = from.map(importer);
    match resolver.resolve(specifier, from.as_ref()) {
        Err(e) => e.code(),
        Ok(r) => panic!("{specifier} unexpectedly resolved to {r:?}"),
    }
}

#[test]
fn relative_and_parent() {
    let dir = tree(&[
        ("app/main.som", ""),
        ("app/util.som", ""),
        ("lib/core/a.som", ""),
        ("top.som", ""),
    ]);
    let r = resolver(&dir);
    assert_eq!(id(&r, "./util", Some("app/main.som")), "app/util.som");
    assert_eq!(id(&r, "./util.som", Some("app/main.som")), "app/util.som");
    assert_eq!(id(&r, "../top", Some("app/main.som")), "top.som");
    assert_eq!(
        id(&r, "../../app/util", Some("lib/core/a.som")),
        "app/util.som"
    );
    assert_eq!(
        id(&r, "/lib/core/a", Some("app/main.som")),
        "lib/core/a.som"
    );
    assert_eq!(id(&r, "./top", Some("main.som")), "top.som");
}

#[test]
fn outside_requests_are_root_relative() {
    let dir = tree(&[("app/main.som", "")]);
    let r = resolver(&dir);
    assert_eq!(id(&r, "app/main.som", None), "app/main.som");
    assert_eq!(id(&r, "./app/main", None), "app/main.som");
    assert_eq!(id(&r, "/app/main", None), "app/main.som");
}

#[test]
fn extension_probing_order() {
    let dir = tree(&[
        ("x.som", ""),
        ("x.js", ""),
        ("x.json", ""),
        ("y.js", ""),
        ("y.json", ""),
        ("z.json", ""),
        ("exact", ""),
        ("exact.som", ""),
    ]);
    let r = resolver(&dir);
    assert_eq!(id(&r, "./x", Some("m.som")), "x.som");
    assert_eq!(id(&r, "./y", Some("m.som")), "y.js");
    assert_eq!(id(&r, "./z", Some("m.som")), "z.json");
    assert_eq!(id(&r, "./exact", Some("m.som")), "exact");
}

#[test]
fn directory_index() {
    let dir = tree(&[
        ("app/widgets/index.som", ""),
        ("app/widgets/index.js", ""),
        ("app/plain/index.js", ""),
        ("app/both.som", ""),
        ("app/both/index.som", ""),
    ]);
    fs::create_dir(dir.path().join("app/empty")).unwrap();
    let r = resolver(&dir);
    assert_eq!(
        id(&r, "./widgets", Some("app/m.som")),
        "app/widgets/index.som"
    );
    assert_eq!(id(&r, "./plain", Some("app/m.som")), "app/plain/index.js");
    // A file with an extension beats a directory of the same name.
    assert_eq!(id(&r, "./both", Some("app/m.som")), "app/both.som");
    // `.`, `..` and a trailing slash name the directory, never `dir.som`.
    assert_eq!(id(&r, "./both/", Some("app/m.som")), "app/both/index.som");
    assert_eq!(id(&r, ".", Some("app/both/x.som")), "app/both/index.som");
    assert_eq!(
        id(&r, "..", Some("app/both/inner/x.som")),
        "app/both/index.som"
    );
    // A directory is never an "exact" match.
    assert_eq!(
        error_code(&r, "./empty", Some("app/m.som")),
        "MODULE_NOT_FOUND"
    );
}

#[test]
fn aliases_with_star_and_exact() {
    let dir = tree(&[
        ("lib/core/a.som", ""),
        ("lib/deep/b.som", ""),
        ("vendor/special.som", ""),
    ]);
    let config = ResolverConfig {
        paths: vec![
            ("@lib/*".into(), "lib/*".into()),
            ("@lib/deep/*".into(), "lib/deep/*".into()),
            ("special".into(), "vendor/special.som".into()),
        ],
        externals: vec![],
    };
    let r = Resolver::new(dir.path(), config).unwrap();
    assert_eq!(id(&r, "@lib/core/a", Some("app/m.som")), "lib/core/a.som");
    assert_eq!(id(&r, "@lib/deep/b", Some("app/m.som")), "lib/deep/b.som");
    assert_eq!(id(&r, "special", Some("app/m.som")), "vendor/special.som");
    assert_eq!(
        error_code(&r, "@lib/nope", Some("app/m.som")),
        "MODULE_NOT_FOUND"
    );
}

#[test]
fn alias_cannot_escape() {
    let dir = tree(&[]);
    let config = ResolverConfig {
        paths: vec![("@up/*".into(), "../*".into())],
        externals: vec![],
    };
    let r = Resolver::new(dir.path(), config).unwrap();
    assert_eq!(error_code(&r, "@up/x", Some("m.som")), "PATH_ESCAPES_ROOT");
}

#[test]
fn node_modules_main_index_scoped_and_subpath() {
    let dir = tree(&[
        (
            "node_modules/withmain/package.json",
            r#"{"main": "dist/entry"}"#,
        ),
        ("node_modules/withmain/dist/entry.js", ""),
        ("node_modules/withmain/index.som", ""),
        ("node_modules/nomanifest/index.som", ""),
        (
            "node_modules/mainless/package.json",
            r#"{"name": "mainless"}"#,
        ),
        ("node_modules/mainless/index.som", ""),
        (
            "node_modules/@scope/pkg/package.json",
            r#"{"main": "./lib"}"#,
        ),
        ("node_modules/@scope/pkg/lib/index.som", ""),
        ("node_modules/@scope/pkg/extra.som", ""),
        ("node_modules/withmain/sub/path.som", ""),
    ]);
    let r = resolver(&dir);
    let from = Some("app/main.som");
    assert_eq!(
        id(&r, "withmain", from),
        "node_modules/withmain/dist/entry.js"
    );
    assert_eq!(
        id(&r, "nomanifest", from),
        "node_modules/nomanifest/index.som"
    );
    assert_eq!(id(&r, "mainless", from), "node_modules/mainless/index.som");
    assert_eq!(
        id(&r, "@scope/pkg", from),
        "node_modules/@scope/pkg/lib/index.som"
    );
    assert_eq!(
        id(&r, "@scope/pkg/extra", from),
        "node_modules/@scope/pkg/extra.som"
    );
    assert_eq!(
        id(&r, "withmain/sub/path", from),
        "node_modules/withmain/sub/path.som"
    );
    assert_eq!(error_code(&r, "absent", from), "MODULE_NOT_FOUND");
    assert_eq!(error_code(&r, "@scope", from), "MODULE_NOT_FOUND");
}

#[test]
fn broken_package_json_is_a_parse_error() {
    let dir = tree(&[
        ("node_modules/bad/package.json", "{\n  \"main\": ,\n}"),
        ("node_modules/bad/index.som", ""),
    ]);
    let r = resolver(&dir);
    match r.resolve("bad", Some(&importer("m.som"))) {
        Err(Error::Parse { module, error }) => {
            assert_eq!(module.as_str(), "node_modules/bad/package.json");
            assert_eq!(error.at.line, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn externals_allowlist_needs_no_files() {
    let dir = tree(&[]);
    let config = ResolverConfig {
        paths: vec![],
        externals: vec!["lodash".into(), "@acme/ui".into()],
    };
    let r = Resolver::new(dir.path(), config).unwrap();
    let from = importer("app/m.som");
    assert_eq!(
        r.resolve("lodash", Some(&from)).unwrap(),
        Resolved::External("lodash".into())
    );
    assert_eq!(
        r.resolve("lodash/fp", Some(&from)).unwrap(),
        Resolved::External("lodash/fp".into())
    );
    assert_eq!(
        r.resolve("@acme/ui", Some(&from)).unwrap(),
        Resolved::External("@acme/ui".into())
    );
    // Only whole package names match.
    assert_eq!(
        r.resolve("lodash-es", Some(&from)).unwrap_err().code(),
        "MODULE_NOT_FOUND"
    );
    assert_eq!(
        r.resolve("lodash", None).unwrap(),
        Resolved::External("lodash".into())
    );
}

#[test]
fn lexical_escape_is_refused() {
    let dir = tree(&[("app/main.som", "")]);
    let r = resolver(&dir);
    assert_eq!(
        error_code(&r, "../../etc/passwd", Some("app/main.som")),
        "PATH_ESCAPES_ROOT"
    );
    assert_eq!(error_code(&r, "../x", None), "PATH_ESCAPES_ROOT");
    assert_eq!(error_code(&r, "/../x", None), "PATH_ESCAPES_ROOT");
    assert_eq!(
        error_code(&r, "pkg/../../../x", Some("app/main.som")),
        "PATH_ESCAPES_ROOT"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_root_are_refused() {
    use std::os::unix::fs::symlink;
    let outside = tree(&[("secret.som", ""), ("dir/inner.som", "")]);
    let dir = tree(&[("app/main.som", "")]);
    symlink(outside.path().join("dir"), dir.path().join("app/linkdir")).unwrap();
    symlink(
        outside.path().join("secret.som"),
        dir.path().join("app/secret.som"),
    )
    .unwrap();
    let r = resolver(&dir);
    let from = Some("app/main.som");
    assert_eq!(error_code(&r, "./linkdir/inner", from), "PATH_ESCAPES_ROOT");
    assert_eq!(error_code(&r, "./secret", from), "PATH_ESCAPES_ROOT");
    assert_eq!(error_code(&r, "./secret.som", from), "PATH_ESCAPES_ROOT");
}

#[cfg(unix)]
#[test]
fn symlinks_inside_resolve_to_their_target() {
    use std::os::unix::fs::symlink;
    let dir = tree(&[("lib/real.som", ""), ("lib/sub/x.som", "")]);
    symlink(
        dir.path().join("lib/real.som"),
        dir.path().join("alias.som"),
    )
    .unwrap();
    symlink("lib/sub", dir.path().join("linked")).unwrap();
    let r = resolver(&dir);
    assert_eq!(id(&r, "./alias", Some("m.som")), "lib/real.som");
    assert_eq!(id(&r, "./linked/x", Some("m.som")), "lib/sub/x.som");
}

#[cfg(unix)]
#[test]
fn root_given_through_a_symlink_is_canonical() {
    use std::os::unix::fs::symlink;
    let dir = tree(&[("real/a.som", "")]);
    symlink(dir.path().join("real"), dir.path().join("root-link")).unwrap();
    let r = Resolver::new(dir.path().join("root-link"), ResolverConfig::default()).unwrap();
    assert_eq!(r.root(), fs::canonicalize(dir.path().join("real")).unwrap());
    assert_eq!(id(&r, "./a", Some("m.som")), "a.som");
}

#[test]
fn missing_root_is_an_io_error() {
    let dir = tree(&[("file.som", "")]);
    let missing = Resolver::new(dir.path().join("nope"), ResolverConfig::default());
    assert_eq!(missing.unwrap_err().code(), "IO_ERROR");
    let file = Resolver::new(dir.path().join("file.som"), ResolverConfig::default());
    assert_eq!(file.unwrap_err().code(), "IO_ERROR");
}

#[test]
fn not_found_names_specifier_and_importer() {
    let dir = tree(&[("app/main.som", "")]);
    let r = resolver(&dir);
    let from = importer("app/main.som");
    let error = r.resolve("./missing", Some(&from)).unwrap_err();
    match &error {
        Error::ModuleNotFound {
            specifier,
            importer,
        } => {
            assert_eq!(specifier, "./missing");
            assert_eq!(importer.as_ref(), Some(&from));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("\"./missing\""), "{message}");
    assert!(message.contains("app/main.som:3:17"), "{message}");
    assert_eq!(
        r.resolve("./missing", None).unwrap_err().to_string(),
        "module not found: \"./missing\" (requested directly)"
    );
}

#[test]
fn normalize_request_examples() {
    assert_eq!(normalize_request("./a/../b.som").as_deref(), Some("b.som"));
    assert_eq!(normalize_request("a/./b//c").as_deref(), Some("a/b/c"));
    assert_eq!(normalize_request("/a").as_deref(), Some("a"));
    assert_eq!(normalize_request("a/../..").as_deref(), None);
    assert_eq!(normalize_request("").as_deref(), Some(""));
}

proptest! {
    #[test]
    fn normalize_request_stays_under_the_root(request in "[a-z./]{0,40}|\\PC{0,40}") {
        if let Some(normal) = normalize_request(&request) {
            prop_assert!(!normal.starts_with('/'), "{normal}");
            prop_assert!(!normal.split('/').any(|p| p == ".." || p == "."), "{normal}");
            prop_assert!(normal != ".." && !normal.starts_with("../"), "{normal}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn resolve_never_panics(specifier in "[a-z./@*\\\\-]{0,30}|\\PC{0,300}", nested in any::<bool>()) {
        let dir = tree(&[("app/main.som", ""), ("lib/index.som", "")]);
        let config = ResolverConfig {
            paths: vec![("@lib/*".into(), "lib/*".into())],
            externals: vec!["lodash".into()],
        };
        let r = Resolver::new(dir.path(), config).unwrap();
        let from = importer(if nested { "app/main.som" } else { "main.som" });
        for importer in [None, Some(&from)] {
            if let Ok(Resolved::Module(id)) = r.resolve(&specifier, importer) {
                prop_assert!(id.path_in(r.root()).is_file());
                prop_assert!(!id.as_str().starts_with("..") && !id.as_str().starts_with('/'));
            }
        }
    }
}

#[test]
fn resolver_is_shareable_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Resolver>();
    let dir = tree(&[("a.som", "")]);
    let r = std::sync::Arc::new(resolver(&dir));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let r = r.clone();
            std::thread::spawn(move || id(&r, "./a", Some("m.som")))
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), "a.som");
    }
}
