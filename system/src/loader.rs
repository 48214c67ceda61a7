//! Loading a module: resolve the request, look it up in the cache, compile it
//! on a miss, then make sure its dependencies are loaded too.

use std::collections::HashSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::resolve::normalize_request;
use crate::{
    compile, CachedModule, Defect, Dependency, Error, FileStamp, Importer, ModuleCache, ModuleId,
    ParseError, Resolved, Resolver, ResolverConfig,
};

/// The result of [`Loader::load`].
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The compiled module.
    pub module: Arc<CachedModule>,
    /// True when it was served from the cache without compiling.
    pub cached: bool,
}

/// What [`Loader::warm`] did.
#[derive(Clone, Debug, Default)]
pub struct WarmReport {
    /// Modules now in the cache (the requested ones, not their dependencies).
    pub loaded: Vec<ModuleId>,
    /// Requests that failed, with the reason.
    pub failed: Vec<(String, Error)>,
}

/// Resolves, compiles and caches modules under one root.
///
/// The hit path touches only the cache: a request that is already a
/// canonical id in the cache skips resolution (no probing syscalls), and the
/// resolver's lock is taken only when something has to be compiled.
///
/// ```
/// use std::time::Instant;
/// use somon_system::{CacheLimits, Loader, ModuleCache, Resolver, ResolverConfig, Validation};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.som"), "содир собит x = 1;").unwrap();
/// let resolver = Resolver::new(dir.path(), ResolverConfig::default()).unwrap();
/// let cache = ModuleCache::new(resolver.root().to_path_buf(), CacheLimits::default(), Validation::Stat);
/// let loader = Loader::new(resolver, cache);
///
/// let first = loader.load("a.som", Instant::now()).unwrap();
/// let second = loader.load("a.som", Instant::now()).unwrap();
/// assert!(!first.cached && second.cached);
/// assert_eq!(first.module.exports, ["x"]);
/// ```
pub struct Loader {
    resolver: RwLock<Arc<Resolver>>,
    cache: ModuleCache,
    compiles: AtomicU64,
}

impl Loader {
    /// A loader over `resolver`'s root. `cache` must have been created for
    /// the same (canonical) root.
    pub fn new(resolver: Resolver, cache: ModuleCache) -> Loader {
        Loader {
            resolver: RwLock::new(Arc::new(resolver)),
            cache,
            compiles: AtomicU64::new(0),
        }
    }

    /// The resolver in force.
    pub fn resolver(&self) -> Arc<Resolver> {
        Arc::clone(&self.resolver.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the resolution settings (aliases, externals). Every cached
    /// module was resolved under the old settings, so the cache is cleared.
    pub fn reconfigure(&self, config: ResolverConfig) -> Result<(), Error> {
        let next = Arc::new(Resolver::new(self.resolver().root(), config)?);
        *self.resolver.write().unwrap_or_else(|e| e.into_inner()) = next;
        self.cache.clear();
        Ok(())
    }

    /// The module cache.
    pub fn cache(&self) -> &ModuleCache {
        &self.cache
    }

    /// How many files this loader has compiled since it was created.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Loads the module a request names (root-relative, e.g. `app/main.som`
    /// or `app/main`), counting a cache hit or miss. On a miss its
    /// dependencies are loaded as well (uncounted); if one of them fails the
    /// module is dropped from the cache again and the error returned, so a
    /// module is never cached as loaded while its imports are broken.
    ///
    /// # Errors
    /// [`Error::ModuleNotFound`], [`Error::PathEscapesRoot`], [`Error::Parse`]
    /// or [`Error::Io`], for the module or any of its dependencies.
    pub fn load(&self, request: &str, now: Instant) -> Result<Loaded, Error> {
        let id = self.resolve_request(request)?;
        let lookup = self
            .cache
            .get_or_load(&id, now, true, || self.compile_id(&id))?;
        if !lookup.hit {
            if let Err(error) = self.load_dependencies(&lookup.module, now) {
                self.cache.invalidate(id.as_str());
                return Err(error);
            }
        }
        Ok(Loaded {
            module: lookup.module,
            cached: lookup.hit,
        })
    }

    /// The module a request names if it is already cached (and valid),
    /// counted as a hit; `None` — with nothing counted — otherwise. Lets an
    /// async server answer hits on its own thread and send only misses to a
    /// blocking pool.
    pub fn load_if_cached(&self, request: &str, now: Instant) -> Option<Loaded> {
        let key = normalize_request(request)?;
        let id = self.cache.peek(&key)?.id.clone();
        let module = self.cache.get(&id, now, true)?;
        Some(Loaded {
            module,
            cached: true,
        })
    }

    /// Compiles the module `id` from its file without consulting or
    /// filling the cache (a build, not a load).
    pub fn compile_uncached(&self, id: &ModuleId) -> Result<Arc<CachedModule>, Error> {
        self.compile_id(id).map(Arc::new)
    }

    /// Resolves a root-relative request to a module id. Requests that are
    /// already cached ids are answered from the cache without touching the
    /// filesystem.
    pub fn resolve_request(&self, request: &str) -> Result<ModuleId, Error> {
        if let Some(key) = normalize_request(request) {
            if let Some(module) = self.cache.peek(&key) {
                return Ok(module.id.clone());
            }
        }
        match self.resolver().resolve(request, None)? {
            Resolved::Module(id) => Ok(id),
            Resolved::External(_) => Err(Error::ModuleNotFound {
                specifier: request.to_owned(),
                importer: None,
            }),
        }
    }

    /// The module `id`, from the cache or compiled now, without counting a
    /// hit or miss and without loading its dependencies. Used to walk graphs.
    pub fn ensure(&self, id: &ModuleId, now: Instant) -> Result<Arc<CachedModule>, Error> {
        Ok(self
            .cache
            .get_or_load(id, now, false, || self.compile_id(id))?
            .module)
    }

    /// Loads each request (and its dependencies) without counting hits or
    /// misses: pre-heating is not traffic.
    pub fn warm(&self, requests: &[String], now: Instant) -> WarmReport {
        let mut report = WarmReport::default();
        for request in requests {
            let result = self.resolve_request(request).and_then(|id| {
                let module = self.ensure(&id, now)?;
                self.load_dependencies(&module, now)?;
                Ok(id)
            });
            match result {
                Ok(id) => report.loaded.push(id),
                Err(error) => report.failed.push((request.clone(), error)),
            }
        }
        report
    }

    /// Loads every module reachable from `root` that is not already cached.
    fn load_dependencies(&self, root: &CachedModule, now: Instant) -> Result<(), Error> {
        let mut seen: HashSet<ModuleId> = HashSet::new();
        seen.insert(root.id.clone());
        let mut pending: Vec<ModuleId> = root.module_deps().cloned().collect();
        while let Some(id) = pending.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            let lookup = self
                .cache
                .get_or_load(&id, now, false, || self.compile_id(&id))?;
            // A cached dependency was loaded together with its own imports
            // when it was compiled; walking them again would make every miss
            // cost the whole subgraph.
            if !lookup.hit {
                pending.extend(lookup.module.module_deps().cloned());
            }
        }
        Ok(())
    }

    fn compile_id(&self, id: &ModuleId) -> Result<CachedModule, Error> {
        let resolver = self.resolver();
        let unbuffered = self.cache.defects().has(Defect::UnbufferedRead);
        let module = compile_file(&resolver, id, unbuffered)?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        Ok(module)
    }
}

/// Reads, compiles and resolves the imports of one file.
fn compile_file(
    resolver: &Resolver,
    id: &ModuleId,
    unbuffered: bool,
) -> Result<CachedModule, Error> {
    let path = id.path_in(resolver.root());
    let not_found = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            Error::ModuleNotFound {
                specifier: id.to_string(),
                importer: None,
            }
        } else {
            Error::io(&path, source)
        }
    };
    // The stamp is taken before the read: an edit racing the read leaves a
    // stamp older than the file, so the next validation recompiles.
    let stamp = FileStamp::of(&fs::metadata(&path).map_err(not_found)?);
    let bytes = if unbuffered {
        read_unbuffered(&path).map_err(not_found)?
    } else {
        fs::read(&path).map_err(not_found)?
    };
    let source = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let text = String::from_utf8_lossy(valid);
        let line = text.matches('\n').count() as u32 + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        Error::Parse {
            module: id.clone(),
            error: ParseError::new(line, column, "source is not valid UTF-8"),
        }
    })?;
    let compiled = compile(id.kind(), &source).map_err(|error| Error::Parse {
        module: id.clone(),
        error,
    })?;

    let mut deps: Vec<Dependency> = Vec::with_capacity(compiled.imports.len());
    for import in &compiled.imports {
        if deps.iter().any(|d| d.specifier == import.specifier) {
            continue;
        }
        let importer = Importer {
            module: id.clone(),
            at: import.at,
        };
        let target = resolver.resolve(&import.specifier, Some(&importer))?;
        deps.push(Dependency {
            specifier: import.specifier.clone(),
            target,
        });
    }
    deps.shrink_to_fit();
    let mut code = compiled.code;
    code.shrink_to_fit();

    Ok(CachedModule {
        id: id.clone(),
        kind: id.kind(),
        stamp,
        source_hash: hash_source(&source),
        source_bytes: source.len() as u64,
        code,
        deps,
        exports: compiled.exports,
    })
}

/// Defect twin `unbuffered-read`: the file read one byte per `read` call,
/// as `File::bytes()` does without a `BufReader` (a classic Rust footgun:
/// `File` is unbuffered). Same bytes, one system call each.
// Clippy's `unbuffered_bytes` names exactly the bug this twin is.
#[allow(clippy::unbuffered_bytes)]
fn read_unbuffered(path: &std::path::Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    fs::File::open(path)?.bytes().collect()
}

/// A content hash for change detection and ETags (SipHash with fixed keys:
/// stable within one build, not a security measure).
fn hash_source(source: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut hasher);
    hasher.finish()
}
