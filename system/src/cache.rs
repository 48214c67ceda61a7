//! The compiled-module cache: LRU under an entry limit *and* a byte limit,
//! stat validation on every hit, dependent invalidation and single-flight
//! loading.
//!
//! The design, and why cache hits from many threads do not serialise, is
//! documented on [`ModuleCache`] so that it appears in the crate's rustdoc.

mod book;
mod flight;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{CachedModule, Defect, Defects, Error, FileStamp, ModuleId};
use book::Book;
use flight::{Flights, Role};

/// How many shards the entries are spread over. More shards than cores
/// keeps writers (inserts, evictions) from blocking hits on other shards.
const SHARDS: usize = 16;

/// The two limits the cache enforces after every operation.
///
/// ```
/// use somon_system::CacheLimits;
/// let limits = CacheLimits::default();
/// assert_eq!((limits.max_entries, limits.max_bytes), (1000, 100 * 1024 * 1024));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most entries kept (`maxCacheSize`).
    pub max_entries: usize,
    /// Most bytes kept, summed over [`CachedModule::memory_bytes`]
    /// (`maxCacheMemory`). A single module larger than this is returned to
    /// its caller but not kept.
    pub max_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> CacheLimits {
        CacheLimits {
            max_entries: 1000,
            max_bytes: 104_857_600,
        }
    }
}

/// Whether a hit re-checks the file it was compiled from (`cacheValidation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validation {
    /// Each hit compares the file's current (mtime, length) with the entry's
    /// [`crate::FileStamp`]; a difference (or a vanished file) is a miss.
    #[default]
    Stat,
    /// Hits are trusted; only [`ModuleCache::invalidate`] and
    /// [`ModuleCache::cleanup`] notice edits.
    None,
}

/// The answer of [`ModuleCache::get_or_load`].
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The module, cached or freshly loaded.
    pub module: Arc<CachedModule>,
    /// `true` when it was found cached (and valid); `false` when this call
    /// loaded it or waited for another caller's load.
    pub hit: bool,
}

/// A snapshot of the cache for `GET /cache/stats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    /// Entries held.
    pub size: usize,
    /// The entry limit.
    pub max_size: usize,
    /// Bytes held (sum of [`CachedModule::memory_bytes`]).
    pub memory_usage: u64,
    /// The byte limit.
    pub max_memory: u64,
    /// Counted lookups answered from the cache.
    pub hits: u64,
    /// Counted lookups that loaded, or waited for, a module that was not
    /// cached. Failed loads are not misses (they are errors).
    pub misses: u64,
    /// Entries removed to respect the limits (explicit removals excluded).
    pub evictions: u64,
    /// Loads that produced a module: each time a module's source was
    /// compiled for the cache (a miss's load, a recompile after an edit or
    /// an invalidation, and — with the `no-single-flight` defect twin —
    /// every duplicate load of a concurrent miss). A failed load is not
    /// counted. Read together with `size` (same lock), so with no eviction,
    /// removal or oversized module, `compilations - size` stays constant
    /// while modules enter the cache once each.
    pub compilations: u64,
    /// `hits / (hits + misses)`, in `[0, 1]`; 0 before any counted lookup.
    pub hit_rate: f64,
    /// Up to ten cached modules with the most counted hits (since they were
    /// last loaded), most first, ties by id. Modules never hit are left out.
    pub most_accessed: Vec<ModuleHits>,
}

/// One line of [`CacheStats::most_accessed`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModuleHits {
    /// The module.
    pub module: ModuleId,
    /// Counted hits since it was last loaded.
    pub hits: u64,
}

/// One cached module and the bookkeeping a hit updates without a lock.
struct Entry {
    module: Arc<CachedModule>,
    bytes: u64,
    /// Clock tick of the last use; only ever grows.
    last_used: AtomicU64,
    hits: AtomicU64,
    /// Last access in nanoseconds from the cache's epoch (may be negative:
    /// callers inject `now` and may pass instants older than the cache).
    last_access: AtomicI64,
}

type Shard = RwLock<HashMap<ModuleId, Arc<Entry>>>;

/// The shared cache of compiled modules; `Send + Sync`, meant to live in an
/// `Arc` and be used from many threads.
///
/// Entries are bounded by [`CacheLimits`] (entries *and* bytes, true LRU),
/// re-validated on each hit per [`Validation`], invalidated together with
/// the modules that import them, and loaded once per id however many
/// callers miss at the same time.
///
/// # Design: hits do not serialise
///
/// ```text
///  hit path (many threads at once)          miss / write path (one at a time)
///  ───────────────────────────────          ─────────────────────────────────
///  shard = shards[hash(id) % 16]            book: Mutex<Book>
///  shard.read()  (RwLock, shared)             len, bytes, limits,
///  entry.last_used.fetch_max(clock++)         LRU index tick → id,
///  entry.hits += 1, entry.last_access         reverse index dep → importers
///  (atomics), then stat without a lock      then shard.write() briefly
/// ```
///
/// * Entries live in 16 shards of `RwLock<HashMap<ModuleId, Arc<Entry>>>`,
///   chosen by hashing the id. A hit takes only its shard's **read** lock —
///   any number of hits, on any shards, proceed together — and records its
///   use with atomics on the entry: `last_used` (a tick from one global
///   `AtomicU64` clock), a hit counter, and the last-access time for the idle
///   TTL. The stat call of [`Validation::Stat`] runs after the read lock is
///   released. The global clock is one contended cache line, not a lock: a
///   `fetch_add` never blocks.
/// * Everything that changes the *set* of entries (insert, evict, invalidate,
///   clear, cleanup, limit changes) holds the `book` mutex and then briefly a
///   shard's write lock. Those paths already pay for a compile or are
///   administrative, so one writer at a time is the simple, cheap choice; it
///   also keeps the count, the byte total and the indexes exactly consistent
///   with the shards.
/// * **True LRU without touching the book on a hit:** the book keeps an
///   ordered index `tick → id` whose key for an entry may be *older* than the
///   entry's `last_used` (hits only move the atomic). To evict, pop the
///   smallest key and, under the shard's write lock (so no hit can race the
///   check), compare it with the entry's `last_used`: equal means nothing
///   was used less recently (every other entry's real tick is at least its
///   key, which is larger), so evict; different means the entry was hit since,
///   so re-file it under its real tick and look again. Each hit causes at
///   most one re-filing, so eviction is O(log n) amortised instead of an
///   O(n) scan for the minimum.
/// * A reverse index (`dependency → modules that import it`, built from
///   [`CachedModule::module_deps`]) makes invalidation of dependents a graph
///   walk instead of a scan of every entry.
/// * Misses go through single-flight (`cache/flight.rs`): one leader loads with no
///   lock held, followers park on a condition variable and receive a clone
///   of the result; a drop guard publishes an error if the load panics.
///
/// Lock order, to rule out deadlock: `book` → shard; in-flight table → shard
/// (read). A hit takes a shard read lock only; the unit test
/// `a_hit_completes_while_the_global_locks_and_a_shard_read_lock_are_held`
/// holds the book, the in-flight table and the hit's own shard read lock on
/// one thread and shows a hit on another thread still completes.
///
/// ## Trade-offs and limits
///
/// * Writers are serialised by the book mutex: concurrent misses on
///   *different* ids load in parallel (no lock is held during `load`), but
///   their inserts queue briefly. A hit on a shard waits only while a writer
///   holds that one shard's write lock for a map insert or removal.
/// * Every hit does a `fetch_add` on the shared clock, so under heavy
///   parallel hits that cache line bounces between cores. Per-shard clocks
///   would avoid it but could not order entries across shards, which true
///   LRU needs.
/// * A hit that found its entry just before a concurrent invalidation or
///   eviction still returns the module it found (the hit happened first).
/// * Invalidation walks importers through modules that are cached: an
///   importer evicted earlier took its import edges with it.
/// * Per-module hit counts (for `mostAccessed`) restart when a module is
///   reloaded.
///
/// # Example
///
/// ```
/// use std::time::Instant;
/// use somon_system::{CacheLimits, ModuleCache, ModuleId, Validation};
///
/// let cache = ModuleCache::new("/srv/app".into(), CacheLimits::default(), Validation::None);
/// let id = ModuleId::new("main.som");
/// # let module = somon_system::CachedModule {
/// #     id: id.clone(), kind: id.kind(),
/// #     stamp: somon_system::FileStamp { modified: None, len: 0 },
/// #     source_hash: 0, source_bytes: 0, code: String::new(), deps: vec![], exports: vec![],
/// # };
/// let first = cache.get_or_load(&id, Instant::now(), true, || Ok(module))?;
/// assert!(!first.hit);
/// let again = cache.get_or_load(&id, Instant::now(), true, || unreachable!())?;
/// assert!(again.hit);
/// assert_eq!(cache.stats().hit_rate, 0.5);
/// # Ok::<(), somon_system::Error>(())
/// ```
pub struct ModuleCache {
    root: PathBuf,
    shards: Box<[Shard]>,
    hasher: RandomState,
    book: Mutex<Book>,
    flights: Flights,
    clock: AtomicU64,
    epoch: Instant,
    stat: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    /// Modules compiled for the cache; bumped under the book lock by
    /// `insert` so a stats snapshot sees it and `size` move together.
    compilations: AtomicU64,
    defects: Defects,
}

impl fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleCache")
            .field("root", &self.root)
            .field("limits", &self.limits())
            .field("validation", &self.validation())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl ModuleCache {
    /// An empty cache for modules under `root` (used to find the file of an
    /// id when validating).
    pub fn new(root: PathBuf, limits: CacheLimits, validation: Validation) -> ModuleCache {
        ModuleCache {
            root,
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            hasher: RandomState::new(),
            book: Mutex::new(Book::new(limits)),
            flights: Flights::default(),
            clock: AtomicU64::new(0),
            epoch: Instant::now(),
            stat: AtomicBool::new(validation == Validation::Stat),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            compilations: AtomicU64::new(0),
            defects: Defects::NONE,
        }
    }

    /// The same cache with deliberate bugs switched on (defect twins): `fifo-eviction`, `stale-cache`, `hit-rate-zero`,
    /// `no-single-flight`. Others in the set are ignored here.
    pub fn with_defects(mut self, defects: Defects) -> ModuleCache {
        self.defects = defects;
        self
    }

    /// The defect twins switched on for this cache (and the loader over it).
    pub fn defects(&self) -> Defects {
        self.defects
    }

    /// The lookup the loader uses.
    ///
    /// On a hit (entry present and, under [`Validation::Stat`], the file's
    /// current (mtime, len) equal to the entry's stamp) returns it and marks
    /// it most recently used. Otherwise calls `load` — once for all
    /// concurrent callers of the same id: the others wait for that result
    /// (`Ok` or `Err`) and get `hit == false`. A successful load is inserted
    /// (then the limits are enforced); errors are not cached, so the next
    /// call loads again. A stale entry (stamp differs, or file vanished) is
    /// invalidated together with its transitive dependents before loading.
    ///
    /// `count` says whether this lookup counts in hits/misses: top-level
    /// requests do, a loader's internal dependency lookups do not.
    ///
    /// # Errors
    ///
    /// Whatever `load` returned (to its caller and every waiter). If `load`
    /// panics, the panic continues in its caller and waiters get
    /// [`Error::Io`] naming the file. [`Error::CircularDependency`] if
    /// waiting would deadlock because `load` (directly or through other
    /// threads) waits for a load that waits for it.
    pub fn get_or_load<F>(
        &self,
        id: &ModuleId,
        now: Instant,
        count: bool,
        load: F,
    ) -> Result<Lookup, Error>
    where
        F: FnOnce() -> Result<CachedModule, Error>,
    {
        if let Some(module) = self.hit(id, now, count) {
            return Ok(Lookup { module, hit: true });
        }
        if self.defects.has(Defect::NoSingleFlight) {
            // Defect twin: every concurrent miss loads on its own.
            let module = self.insert(id, load()?, now);
            if count {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(Lookup { module, hit: false });
        }
        let role = self.flights.join(
            id,
            || id.path_in(&self.root),
            || self.touch_cached(id, now, count),
        );
        // A miss is counted only when it produced a module: a failed load is
        // an error, not a miss, so the hit rate describes servable lookups.
        let count_miss = || {
            if count {
                self.misses.fetch_add(1, Ordering::Relaxed);
            }
        };
        match role? {
            Role::Cached(module) => Ok(Lookup { module, hit: true }),
            Role::Follower(flight) => {
                let module = self.flights.wait(&flight)?;
                count_miss();
                Ok(Lookup { module, hit: false })
            }
            Role::Leader(leader) => {
                let outcome = load().map(|module| self.insert(id, module, now));
                leader.finish(outcome.clone());
                let module = outcome?;
                count_miss();
                Ok(Lookup { module, hit: false })
            }
        }
    }

    /// The cached module for `id` if it is cached and (under
    /// [`Validation::Stat`]) still matches its file; never loads. A found
    /// module is marked most recently used and, if `count`, counted as a hit;
    /// nothing is counted when it is not found (the caller's load will be).
    /// A stale entry is invalidated with its dependents.
    pub fn get(&self, id: &ModuleId, now: Instant, count: bool) -> Option<Arc<CachedModule>> {
        self.hit(id, now, count)
    }

    /// The cached module for `id`, if any, without validating it, touching
    /// its recency or counting anything.
    pub fn peek(&self, id: &str) -> Option<Arc<CachedModule>> {
        read(self.shard(id)).get(id).map(|e| Arc::clone(&e.module))
    }

    /// Whether `id` is cached (not validated).
    pub fn contains(&self, id: &str) -> bool {
        read(self.shard(id)).contains_key(id)
    }

    /// Removes `id` and every cached module that (transitively) imports it;
    /// returns what was removed. Modules already evicted no longer link
    /// their imports to their importers, so the walk continues only through
    /// modules that were cached (or `id` itself).
    pub fn invalidate(&self, id: &str) -> Vec<ModuleId> {
        let mut book = lock(&self.book);
        self.invalidate_locked(&mut book, id)
    }

    /// Drops entries whose files changed or vanished (with their dependents,
    /// whatever the [`Validation`] setting) and, if `idle_ttl` is given,
    /// entries not used for longer than it at `now`. Returns how many were
    /// removed.
    pub fn cleanup(&self, now: Instant, idle_ttl: Option<Duration>) -> usize {
        let now = self.offset(now);
        let ttl = idle_ttl.map(nanos);
        // Stat and classify from a snapshot, without the write lock, so
        // cleanup does not block inserts for the duration of n syscalls.
        let mut stale = Vec::new();
        let mut idle = Vec::new();
        for (id, entry) in self.snapshot() {
            if !self.is_fresh(&id, &entry) {
                stale.push((id, entry));
            } else if ttl.is_some_and(|ttl| {
                now.saturating_sub(entry.last_access.load(Ordering::Relaxed)) > ttl
            }) {
                idle.push((id, entry));
            }
        }
        let mut book = lock(&self.book);
        let mut removed = 0;
        for (id, entry) in stale {
            if self.is_current(id.as_str(), &entry) {
                removed += self.invalidate_locked(&mut book, id.as_str()).len();
            }
        }
        for (id, entry) in idle {
            if self.is_current(id.as_str(), &entry)
                && self.remove_locked(&mut book, id.as_str()).is_some()
            {
                removed += 1;
            }
        }
        removed
    }

    /// Drops every entry; returns how many. Counters (hits, misses,
    /// evictions) are kept: they describe the cache's history.
    pub fn clear(&self) -> usize {
        let mut book = lock(&self.book);
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut map = write(shard);
            removed += map.len();
            map.clear();
        }
        book.clear();
        removed
    }

    /// The limits in force.
    pub fn limits(&self) -> CacheLimits {
        lock(&self.book).limits
    }

    /// Replaces the limits. Takes effect at once: shrinking evicts now, least
    /// recently used first.
    pub fn set_limits(&self, limits: CacheLimits) {
        let mut book = lock(&self.book);
        book.limits = limits;
        self.enforce(&mut book);
    }

    /// The validation mode in force.
    pub fn validation(&self) -> Validation {
        if self.stat.load(Ordering::Relaxed) {
            Validation::Stat
        } else {
            Validation::None
        }
    }

    /// Switches validation for the hits that follow.
    pub fn set_validation(&self, validation: Validation) {
        self.stat
            .store(validation == Validation::Stat, Ordering::Relaxed);
    }

    /// A snapshot of sizes, limits and counters.
    pub fn stats(&self) -> CacheStats {
        // The counters that move with the set of entries (compilations on
        // insert, evictions in `enforce`) change only under the book lock:
        // read under it too, so size, compilations and evictions agree.
        let (size, memory_usage, limits, compilations, evictions) = {
            let book = lock(&self.book);
            (
                book.len,
                book.memory,
                book.limits,
                self.compilations.load(Ordering::Relaxed),
                self.evictions.load(Ordering::Relaxed),
            )
        };
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        // Defect twin `hit-rate-zero`: the ratio is mis-computed as 0.
        let hit_rate = if hits + misses == 0 || self.defects.has(Defect::HitRateZero) {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        };
        let mut most_accessed: Vec<ModuleHits> = self
            .snapshot()
            .into_iter()
            .map(|(module, entry)| ModuleHits {
                module,
                hits: entry.hits.load(Ordering::Relaxed),
            })
            .filter(|m| m.hits > 0)
            .collect();
        most_accessed.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.module.cmp(&b.module)));
        most_accessed.truncate(10);
        CacheStats {
            size,
            max_size: limits.max_entries,
            memory_usage,
            max_memory: limits.max_bytes,
            hits,
            misses,
            evictions,
            compilations,
            hit_rate,
            most_accessed,
        }
    }

    /// How many modules were compiled for the cache since it was created
    /// (see [`CacheStats::compilations`]). Single-flight makes
    /// it grow by one however many callers miss the same id at once.
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        lock(&self.book).len
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held: the sum of [`CachedModule::memory_bytes`] over entries.
    pub fn memory_bytes(&self) -> u64 {
        lock(&self.book).memory
    }

    /// The ids held, in no particular order.
    pub fn ids(&self) -> Vec<ModuleId> {
        self.snapshot().into_iter().map(|(id, _)| id).collect()
    }

    /// How many callers are parked waiting for an in-flight load of `id`
    /// (0 when none is in flight). For diagnostics and deterministic tests.
    pub fn waiting(&self, id: &str) -> usize {
        self.flights.waiting(id)
    }

    fn shard(&self, id: &str) -> &Shard {
        // `ModuleId` hashes like its `str`, so lookups by `&str` agree.
        let hash = self.hasher.hash_one(id);
        &self.shards[(hash % SHARDS as u64) as usize]
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn offset(&self, now: Instant) -> i64 {
        match now.checked_duration_since(self.epoch) {
            Some(after) => nanos(after),
            None => -nanos(self.epoch - now),
        }
    }

    /// The hit path: shard read lock, atomics, then (lock-free) validation.
    fn hit(&self, id: &ModuleId, now: Instant, count: bool) -> Option<Arc<CachedModule>> {
        let entry = {
            let map = read(self.shard(id.as_str()));
            let entry = Arc::clone(map.get(id.as_str())?);
            // Recorded under the read lock: eviction checks `last_used`
            // under the write lock, so it either sees this use or happens
            // entirely before it (and then this lookup found the entry
            // before it was evicted). A stale entry's tick does not matter:
            // it is about to be removed.
            self.touch(&entry);
            entry
        };
        // Defect twin `stale-cache`: never re-validate.
        let validate = self.stat.load(Ordering::Relaxed) && !self.defects.has(Defect::StaleCache);
        if validate && !self.is_fresh(id, &entry) {
            let mut book = lock(&self.book);
            // Another caller may already have replaced it with a fresh load.
            if self.is_current(id.as_str(), &entry) {
                self.invalidate_locked(&mut book, id.as_str());
            }
            return None;
        }
        Some(self.record_hit(&entry, now, count))
    }

    /// A module found while queueing for a load: someone just loaded it.
    fn touch_cached(&self, id: &ModuleId, now: Instant, count: bool) -> Option<Arc<CachedModule>> {
        let map = read(self.shard(id.as_str()));
        let entry = map.get(id.as_str())?;
        self.touch(entry);
        Some(self.record_hit(entry, now, count))
    }

    /// Marks `entry` most recently used — unless the `fifo-eviction` defect
    /// twin is on, which keeps insertion order.
    fn touch(&self, entry: &Entry) {
        if !self.defects.has(Defect::FifoEviction) {
            entry.last_used.fetch_max(self.tick(), Ordering::AcqRel);
        }
    }

    fn record_hit(&self, entry: &Entry, now: Instant, count: bool) -> Arc<CachedModule> {
        entry
            .last_access
            .fetch_max(self.offset(now), Ordering::Relaxed);
        if count {
            entry.hits.fetch_add(1, Ordering::Relaxed);
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        Arc::clone(&entry.module)
    }

    fn is_fresh(&self, id: &ModuleId, entry: &Entry) -> bool {
        std::fs::metadata(id.path_in(&self.root))
            .is_ok_and(|md| FileStamp::of(&md) == entry.module.stamp)
    }

    /// Whether `entry` is still the one cached under `id`.
    fn is_current(&self, id: &str, entry: &Arc<Entry>) -> bool {
        read(self.shard(id))
            .get(id)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
    }

    fn snapshot(&self) -> Vec<(ModuleId, Arc<Entry>)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let map = read(shard);
            all.extend(map.iter().map(|(id, e)| (id.clone(), Arc::clone(e))));
        }
        all
    }
}

fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// Locks ignore poisoning: no code holding them calls user code, and every
/// update leaves the structures consistent before anything can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Barrier};
    use std::thread;

    use super::*;
    use crate::{Dependency, FileStamp, Resolved};

    fn module(id: &str, code: usize, deps: &[&str]) -> CachedModule {
        let id = ModuleId::new(id);
        CachedModule {
            kind: id.kind(),
            id,
            stamp: FileStamp {
                modified: None,
                len: 0,
            },
            source_hash: 0,
            source_bytes: 0,
            code: "x".repeat(code),
            deps: deps
                .iter()
                .map(|d| Dependency {
                    specifier: format!("./{d}"),
                    target: Resolved::Module(ModuleId::new(*d)),
                })
                .collect(),
            exports: Vec::new(),
        }
    }

    fn cache(limits: CacheLimits) -> ModuleCache {
        ModuleCache::new("/nonexistent".into(), limits, Validation::None)
    }

    fn load(cache: &ModuleCache, id: &str, deps: &[&str], now: Instant) -> Lookup {
        cache
            .get_or_load(&ModuleId::new(id), now, true, || Ok(module(id, 10, deps)))
            .unwrap()
    }

    impl ModuleCache {
        /// The book agrees with the shards, and every LRU key is at most
        /// its entry's real tick.
        fn check_invariants(&self) {
            let book = lock(&self.book);
            let entries = self.snapshot();
            assert_eq!(book.len, entries.len());
            assert_eq!(
                book.memory,
                entries.iter().map(|(_, e)| e.bytes).sum::<u64>()
            );
            assert_eq!(book.keys.len(), book.len);
            assert_eq!(book.lru.len(), book.len);
            for (id, entry) in &entries {
                let key = book.keys[id];
                assert_eq!(&book.lru[&key], id);
                assert!(key <= entry.last_used.load(Ordering::SeqCst));
                for dep in entry.module.module_deps() {
                    assert!(book.dependents[dep].contains(id));
                }
            }
            for importers in book.dependents.values() {
                assert!(!importers.is_empty());
                assert!(importers.iter().all(|i| book.keys.contains_key(i)));
            }
            assert!(book.len <= book.limits.max_entries);
            assert!(book.memory <= book.limits.max_bytes);
        }
    }

    #[test]
    fn the_cache_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<ModuleCache>();
    }

    /// The acceptance point "hits do not serialise on one global mutex",
    /// shown structurally: while this thread holds every lock a writer or a
    /// miss would need (the book, the in-flight table) *and* a read lock on
    /// the entry's shard, a hit on another thread still completes. The
    /// timeout only turns a deadlock into a failure instead of a hang.
    #[test]
    fn a_hit_completes_while_the_global_locks_and_a_shard_read_lock_are_held() {
        let cache = cache(CacheLimits::default());
        let now = Instant::now();
        load(&cache, "a.som", &[], now);
        let id = ModuleId::new("a.som");

        let book = lock(&cache.book);
        let flights = cache.flights.hold();
        let shard = read(cache.shard("a.som"));
        let (done, finished) = mpsc::channel();
        thread::scope(|s| {
            s.spawn(|| {
                let lookup = cache.get_or_load(&id, now, true, || unreachable!("cached"));
                done.send(lookup.map(|l| l.hit)).unwrap();
            });
            let result = finished.recv_timeout(Duration::from_secs(60));
            drop((shard, flights, book));
            assert!(matches!(result, Ok(Ok(true))), "hit blocked: {result:?}");
        });
        assert_eq!(cache.stats().hits, 1);
    }

    #[test]
    fn eviction_refiles_entries_hit_since_they_were_filed() {
        let cache = cache(CacheLimits::default());
        let now = Instant::now();
        for id in ["a.som", "b.som", "c.som"] {
            load(&cache, id, &[], now);
        }
        // `a` keeps its insertion key in the index; only its atomic moves.
        assert!(load(&cache, "a.som", &[], now).hit);
        cache.check_invariants();
        cache.set_limits(CacheLimits {
            max_entries: 2,
            ..CacheLimits::default()
        });
        cache.check_invariants();
        let mut ids = cache.ids();
        ids.sort();
        assert_eq!(ids, [ModuleId::new("a.som"), ModuleId::new("c.som")]);
        assert_eq!(cache.stats().evictions, 1);
    }

    #[test]
    fn invalidation_follows_importers_and_cleans_the_reverse_index() {
        let cache = cache(CacheLimits::default());
        let now = Instant::now();
        load(&cache, "a.som", &[], now);
        load(&cache, "b.som", &["a.som"], now);
        load(&cache, "c.som", &["b.som", "a.som"], now);
        load(&cache, "d.som", &[], now);
        load(&cache, "self.som", &["self.som", "d.som"], now);
        cache.check_invariants();
        let mut removed = cache.invalidate("a.som");
        removed.sort();
        assert_eq!(
            removed,
            ["a.som", "b.som", "c.som"].map(ModuleId::new).to_vec()
        );
        cache.check_invariants();
        assert_eq!(
            cache.invalidate("d.som"),
            ["d.som", "self.som"].map(ModuleId::new).to_vec()
        );
        cache.check_invariants();
        assert!(lock(&cache.book).dependents.is_empty());
    }

    #[test]
    fn instants_older_than_the_cache_still_order_idle_times() {
        let root = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(root.path().into(), CacheLimits::default(), Validation::Stat);
        for name in ["old.som", "new.som"] {
            std::fs::write(root.path().join(name), "").unwrap();
        }
        let Some(long_ago) = Instant::now().checked_sub(Duration::from_secs(3600)) else {
            return; // the platform's clock starts too recently to go back
        };
        let stamped = |name: &str, now: Instant| {
            let md = std::fs::metadata(root.path().join(name)).unwrap();
            let module = CachedModule {
                stamp: FileStamp::of(&md),
                ..module(name, 1, &[])
            };
            let id = ModuleId::new(name);
            cache.get_or_load(&id, now, true, || Ok(module)).unwrap();
        };
        stamped("old.som", long_ago);
        stamped("new.som", long_ago + Duration::from_secs(100));
        let removed = cache.cleanup(
            long_ago + Duration::from_secs(150),
            Some(Duration::from_secs(60)),
        );
        assert_eq!(removed, 1);
        assert_eq!(cache.ids(), [ModuleId::new("new.som")]);
    }

    #[test]
    fn a_load_that_waits_for_itself_fails_instead_of_deadlocking() {
        let cache = cache(CacheLimits::default());
        let id = ModuleId::new("loop.som");
        let outcome = cache.get_or_load(&id, Instant::now(), true, || {
            let inner = cache.get_or_load(&id, Instant::now(), false, || unreachable!());
            match inner {
                Err(Error::CircularDependency { cycle }) => {
                    assert_eq!(cycle, [id.clone(), id.clone()]);
                    Ok(module("loop.som", 1, &[]))
                }
                other => panic!("expected a cycle error, got {:?}", other.map(|l| l.hit)),
            }
        });
        assert!(!outcome.unwrap().hit);
        assert!(cache.contains("loop.som"));
        assert_eq!(cache.waiting("loop.som"), 0);
    }

    /// Writers, readers and administrative calls racing each other leave
    /// the book consistent with the shards.
    #[test]
    fn concurrent_mixed_operations_keep_the_book_consistent() {
        let cache = cache(CacheLimits {
            max_entries: 6,
            max_bytes: 4000,
        });
        let names = [
            "a.som", "b.som", "c.som", "d.som", "e.som", "f.som", "g.som", "h.som",
        ];
        let start = Instant::now();
        thread::scope(|s| {
            for seed in 1..=4u64 {
                let cache = &cache;
                s.spawn(move || {
                    let mut x = seed;
                    for step in 0..3000u64 {
                        // xorshift: a deterministic stream per thread
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let name = names[(x % names.len() as u64) as usize];
                        let dep = names[((x >> 8) % names.len() as u64) as usize];
                        let now = start + Duration::from_millis(step);
                        match (x >> 16) % 20 {
                            0 => drop(cache.invalidate(name)),
                            1 => drop(cache.cleanup(now, Some(Duration::from_millis(50)))),
                            2 => drop(cache.stats()),
                            3 if step % 10 == 0 => drop(cache.clear()),
                            4 => cache.set_limits(CacheLimits {
                                max_entries: (x >> 24) as usize % 8,
                                max_bytes: 1000 + (x >> 32) % 4000,
                            }),
                            _ => {
                                let id = ModuleId::new(name);
                                let code = ((x >> 40) % 500) as usize;
                                cache
                                    .get_or_load(&id, now, true, || Ok(module(name, code, &[dep])))
                                    .unwrap();
                            }
                        }
                    }
                });
            }
        });
        cache.check_invariants();
        let stats = cache.stats();
        assert!(stats.hits + stats.misses > 0);
    }

    /// Single-flight, counted: N callers missing one id at once
    /// compile it once; the `no-single-flight` twin compiles it N times.
    /// Barriers, not sleeps: the twin's loads wait until all N are inside
    /// `load` at the same time (a real overlap), the sound leader until the
    /// other N − 1 are parked on its flight.
    #[test]
    fn concurrent_misses_compile_once_and_the_twin_once_per_caller() {
        const THREADS: usize = 16;
        for twin in [false, true] {
            let defects = if twin {
                Defects::NONE.with(Defect::NoSingleFlight)
            } else {
                Defects::NONE
            };
            let cache = cache(CacheLimits::default()).with_defects(defects);
            let id = ModuleId::new("hot.som");
            let start = Barrier::new(THREADS);
            let inside = Barrier::new(THREADS);
            thread::scope(|s| {
                for _ in 0..THREADS {
                    s.spawn(|| {
                        start.wait();
                        let lookup = cache.get_or_load(&id, Instant::now(), true, || {
                            if twin {
                                inside.wait();
                            } else {
                                while cache.waiting("hot.som") < THREADS - 1 {
                                    thread::yield_now();
                                }
                            }
                            Ok(module("hot.som", 10, &[]))
                        });
                        assert!(!lookup.unwrap().hit);
                    });
                }
            });
            let expected = if twin { THREADS as u64 } else { 1 };
            assert_eq!(cache.compilations(), expected, "twin: {twin}");
            let stats = cache.stats();
            assert_eq!((stats.compilations, stats.size), (expected, 1));
            assert_eq!(stats.misses, THREADS as u64);
            cache.check_invariants();

            // A hit compiles nothing; a reload after invalidation does.
            assert!(load(&cache, "hot.som", &[], Instant::now()).hit);
            assert_eq!(cache.compilations(), expected);
            cache.invalidate("hot.som");
            assert!(!load(&cache, "hot.som", &[], Instant::now()).hit);
            assert_eq!(cache.compilations(), expected + 1);
        }
    }

    #[test]
    fn a_module_larger_than_the_byte_limit_is_returned_but_not_kept() {
        let cache = cache(CacheLimits {
            max_entries: 10,
            max_bytes: 100,
        });
        let lookup = load(&cache, "big.som", &[], Instant::now());
        assert!(!lookup.hit);
        assert_eq!(lookup.module.id.as_str(), "big.som");
        assert!(cache.is_empty());
        assert_eq!(cache.stats().evictions, 0);
        cache.check_invariants();
    }
}
