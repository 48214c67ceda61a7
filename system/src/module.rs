//! The records that flow between compile, resolve, cache and bundle.

use std::fs::Metadata;
use std::time::SystemTime;

use serde::Serialize;

use crate::{Location, ModuleId, ModuleKind};

/// How an import statement uses its specifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ImportKind {
    /// `ворид … аз "x";`
    Import,
    /// `ворид "x";` (evaluated for its side effects only)
    SideEffect,
    /// `содир { a } аз "x";` or `содир * аз "x";` — re-exports are
    /// dependencies too.
    ReExport,
}

/// One specifier a module imports, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Import {
    /// The string between the quotes, e.g. `./util` or `lodash`.
    pub specifier: String,
    /// The statement form.
    pub kind: ImportKind,
    /// Where the specifier string starts.
    pub at: Location,
}

/// What [`crate::compile`] makes of one source file, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledSource {
    /// CommonJS code. Imports become `require("<specifier as written>")`, so
    /// the code does not depend on where its imports resolve.
    pub code: String,
    /// Every import and re-export, in source order (duplicates kept).
    pub imports: Vec<Import>,
    /// The names the module exports (`default` for a default export), in
    /// source order, without duplicates. `*` re-exports are not expanded.
    pub exports: Vec<String>,
}

/// Where a specifier leads.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Resolved {
    /// A file under the module root.
    Module(ModuleId),
    /// A bare name on the externals allowlist, fetched from the registry or
    /// left to the host's `require`.
    External(String),
}

/// One resolved import of a compiled module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The specifier as written in the source.
    pub specifier: String,
    /// Where it leads.
    pub target: Resolved,
}

/// The (modification time, length) pair a cache entry was compiled from.
/// A file whose stamp differs is treated as edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    /// Last modification time, where the filesystem reports one.
    pub modified: Option<SystemTime>,
    /// Length in bytes.
    pub len: u64,
}

impl FileStamp {
    /// The stamp of a file from its metadata.
    pub fn of(metadata: &Metadata) -> FileStamp {
        FileStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
        }
    }
}

/// A compiled module as the cache holds it.
#[derive(Clone, Debug)]
pub struct CachedModule {
    /// Its identity (the cache key).
    pub id: ModuleId,
    /// Source language.
    pub kind: ModuleKind,
    /// The file's stamp when it was read, taken *before* reading, so an edit
    /// racing the read is seen as a change on the next validation.
    pub stamp: FileStamp,
    /// Hash of the source text (change detection, not security).
    pub source_hash: u64,
    /// Length of the source text in bytes.
    pub source_bytes: u64,
    /// The CommonJS code.
    pub code: String,
    /// Resolved imports, in source order, duplicates removed.
    pub deps: Vec<Dependency>,
    /// Exported names.
    pub exports: Vec<String>,
}

/// Per-entry bookkeeping the cache adds to every entry (map slot, LRU and hit
/// counters, reference counts), counted so that many tiny modules cannot
/// slip under the memory limit.
pub const ENTRY_OVERHEAD_BYTES: u64 = 256;

impl CachedModule {
    /// The honest number of bytes this entry keeps alive: every heap buffer
    /// it owns (by capacity) plus the struct itself and
    /// [`ENTRY_OVERHEAD_BYTES`].
    pub fn memory_bytes(&self) -> u64 {
        let deps: usize = self
            .deps
            .iter()
            .map(|d| {
                std::mem::size_of::<Dependency>()
                    + d.specifier.capacity()
                    + match &d.target {
                        Resolved::Module(id) => id.as_str().len(),
                        Resolved::External(name) => name.capacity(),
                    }
            })
            .sum();
        let exports: usize = self
            .exports
            .iter()
            .map(|e| std::mem::size_of::<String>() + e.capacity())
            .sum();
        (std::mem::size_of::<CachedModule>()
            + self.id.as_str().len()
            + self.code.capacity()
            + (self.deps.capacity() - self.deps.len()) * std::mem::size_of::<Dependency>()
            + deps
            + (self.exports.capacity() - self.exports.len()) * std::mem::size_of::<String>()
            + exports) as u64
            + ENTRY_OVERHEAD_BYTES
    }

    /// The ids of the modules this one imports (externals skipped).
    pub fn module_deps(&self) -> impl Iterator<Item = &ModuleId> {
        self.deps.iter().filter_map(|d| match &d.target {
            Resolved::Module(id) => Some(id),
            Resolved::External(_) => None,
        })
    }
}
