//! The reference implementation of the SomonScript module system: the
//! embedded default target that `somon-verify` measures.
//!
//! A request travels one way through small, separately tested parts:
//!
//! 1. [`Resolver`] turns a specifier into a [`ModuleId`] — relative paths,
//!    extension and `index.som` probing, `paths` aliases, `node_modules`
//!    packages, or an allowlisted external — and refuses anything that leaves
//!    the root, symlinks included ([`Error::PathEscapesRoot`]).
//! 2. [`compile`] lexes SomonScript (Tajik keywords, Unicode identifiers,
//!    template literals) and rewrites it to CommonJS in one linear pass,
//!    keeping every token on its source line.
//! 3. [`ModuleCache`] keeps compiled modules under both an entry and a byte
//!    limit with true LRU eviction, re-validates each hit against the file's
//!    (mtime, length), invalidates dependents of an edited file, and compiles
//!    concurrent misses of one module once (single-flight).
//! 4. [`Loader`] ties the three together; [`ModuleGraph`] walks an entry's
//!    imports in a deterministic topological order with a [`CycleStrategy`];
//!    [`bundle()`] writes one cycle-safe CommonJS program.
//! 5. [`generate`] writes a seeded, realistic module tree ([`CorpusSpec`]) for
//!    tests, benches and load scenarios.
//! 6. [`Metrics`] counts operations and keeps their latency in HDR
//!    histograms, cumulative and over the last 60 s, without one global
//!    lock; [`MetricsReport`] is the `/metrics` body (JSON or Prometheus
//!    text), [`SystemSampler`] adds process memory and CPU, and
//!    [`evaluate`] turns a report into the `/health` checks.
//!
//! # Concurrency of cache hits
//!
//! Hits from many threads do not serialise on one global lock. Entries live in 16 shards, each a `RwLock<HashMap>`;
//! a hit takes only its shard's *read* lock, so two threads hitting — even
//! the same module — proceed in parallel. Recency is recorded with atomics
//! (a global tick stored into the entry, a hit counter, a last-access time),
//! never under a lock. Everything that adds or removes entries (insert,
//! eviction, invalidation) goes through one write-side mutex, which hits
//! never take; eviction finds the least-recently-used entry through an index
//! that hits update lazily, re-checking the entry's real tick before
//! evicting. Concurrent misses of one module are coalesced by an in-flight
//! table, and no lock is held while a module compiles. The full design and
//! its trade-offs are on [`ModuleCache`].
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//! use somon_system::*;
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("util.som"), "содир функсия twice(x) { бозгашт x * 2; }").unwrap();
//! std::fs::write(dir.path().join("main.som"), "ворид { twice } аз \"./util\";\nсодир собит four = twice(2);").unwrap();
//!
//! let resolver = Resolver::new(dir.path(), ResolverConfig::default()).unwrap();
//! let cache = ModuleCache::new(resolver.root().to_path_buf(), CacheLimits::default(), Validation::Stat);
//! let loader = Loader::new(resolver, cache);
//!
//! let loaded = loader.load("main.som", Instant::now()).unwrap();
//! assert!(!loaded.cached);
//! assert!(loaded.module.code.contains("require(\"./util\")"));
//!
//! let graph = ModuleGraph::build(&loader, "main.som", &GraphOptions::default(), Instant::now()).unwrap();
//! let program = bundle(&graph, &BundleOptions::default());
//! assert_eq!(program.modules, 2);
//! ```

mod breaker;
mod bundle;
mod cache;
mod compile;
mod config;
mod corpus;
mod defects;
mod error;
mod externals;
mod graph;
mod health;
mod id;
mod lexer;
mod loader;
mod metrics;
mod module;
mod resolve;
pub mod server;
mod syntax;
mod system_stats;

pub use breaker::{
    Breaker, BreakerSettings, BreakerState, BreakerStatus, Breakers, CallOutcome, Permit, Rejected,
};
pub use bundle::{bundle, Bundle, BundleOptions};
pub use cache::{CacheLimits, CacheStats, Lookup, ModuleCache, ModuleHits, Validation};
pub use compile::compile;
pub use config::{
    load_startup, Config, ConfigProblem, LogLevel, PatchContext, ProblemOrigin, Startup,
    StartupError, StartupFlags, StartupProblem,
};
pub use corpus::{generate, Corpus, CorpusModule, CorpusSpec};
pub use defects::{Defect, Defects};
pub use error::{display_cycle, Error, Importer, Location, ParseError};
pub use externals::{
    sha256_hex, ExternalError, ExternalModule, ExternalSettings, ExternalUse, Externals, Provenance,
};
pub use graph::{CycleStrategy, GraphOptions, ModuleGraph};
pub use health::{evaluate, Check, CheckStatus, HealthReport, HealthStatus, HealthThresholds};
pub use id::{ModuleId, ModuleKind};
pub use lexer::{tokenize, Span, Token, TokenKind};
pub use loader::{Loaded, Loader, WarmReport};
pub use metrics::{
    decode_histogram, HistogramDecodeError, LatencySummary, Metrics, MetricsExport, MetricsReport,
    Op, OpExport, OpOutcome, OpSnapshot, MAX_LATENCY_MICROS, SHARDS, SIGNIFICANT_DIGITS, WINDOW,
};
pub use module::{
    CachedModule, CompiledSource, Dependency, FileStamp, Import, ImportKind, Resolved,
    ENTRY_OVERHEAD_BYTES,
};
pub use resolve::{normalize_request, Resolver, ResolverConfig};
pub use system_stats::{effective_memory_limit, SystemMetrics, SystemSampler};
