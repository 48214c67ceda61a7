//! Helpers shared by the integration tests: a module tree in a temporary
//! directory and a loader over it.

#![allow(dead_code, unreachable_pub, clippy::new_without_default)]

use std::path::{Path, PathBuf};
use std::process::Command;

use somon_system::{CacheLimits, Loader, ModuleCache, Resolver, ResolverConfig, Validation};

/// A temporary module root, removed on drop.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// An empty root.
    pub fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// A root holding `files` (path, contents).
    pub fn with(files: &[(&str, &str)]) -> Tree {
        let tree = Tree::new();
        for (path, contents) in files {
            tree.write(path, contents);
        }
        tree
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes (or overwrites) one file, creating its directories.
    pub fn write(&self, path: &str, contents: &str) -> PathBuf {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, contents).unwrap();
        full
    }

    /// A loader with default limits and stat validation.
    pub fn loader(&self) -> Loader {
        self.loader_with(ResolverConfig::default(), CacheLimits::default())
    }

    /// A loader with the given settings.
    pub fn loader_with(&self, config: ResolverConfig, limits: CacheLimits) -> Loader {
        let resolver = Resolver::new(self.root(), config).expect("resolver");
        let cache = ModuleCache::new(resolver.root().to_path_buf(), limits, Validation::Stat);
        Loader::new(resolver, cache)
    }
}

/// Runs `script` in Node and returns its standard output, or `None` (after
/// printing why) when `node` is not installed.
pub fn node(script: &str) -> Option<String> {
    let output = match Command::new("node").arg("-e").arg(script).output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("skipping the Node part of this test: cannot run `node` ({e})");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "node failed:\n{}\n--- script ---\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}
