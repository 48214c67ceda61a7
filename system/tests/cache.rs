//! The module cache against real files: limits and LRU (model-based),
//! stat validation and dependents, single-flight, stats and cleanup.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use proptest::prelude::*;
use somon_system::{
    CacheLimits, CachedModule, Dependency, Error, FileStamp, ModuleCache, ModuleHits, ModuleId,
    Resolved, Validation,
};
use tempfile::TempDir;

/// A module root with one file per name.
fn root(names: &[&str]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        fs::write(dir.path().join(name), format!("// {name}\n")).unwrap();
    }
    dir
}

/// A compiled record for `root/id` as the loader would build it: the stamp
/// comes from the real file.
fn module(root: &Path, id: &str, code: usize, deps: &[&str]) -> CachedModule {
    let id = ModuleId::new(id);
    let metadata = fs::metadata(id.path_in(root)).unwrap();
    CachedModule {
        kind: id.kind(),
        stamp: FileStamp::of(&metadata),
        source_hash: 0,
        source_bytes: metadata.len(),
        code: "x".repeat(code),
        deps: deps
            .iter()
            .map(|d| Dependency {
                specifier: format!("./{d}"),
                target: Resolved::Module(ModuleId::new(*d)),
            })
            .collect(),
        exports: vec!["default".to_owned()],
        id,
    }
}

fn cache(root: &TempDir, limits: CacheLimits) -> ModuleCache {
    ModuleCache::new(root.path().to_path_buf(), limits, Validation::Stat)
}

/// Looks `id` up, loading it from disk on a miss; returns whether it hit.
fn get(cache: &ModuleCache, root: &TempDir, id: &str, deps: &[&str], now: Instant) -> bool {
    cache
        .get_or_load(&ModuleId::new(id), now, true, || {
            Ok(module(root.path(), id, 10, deps))
        })
        .unwrap()
        .hit
}

fn sorted(ids: Vec<ModuleId>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

/// Rewrites a file with a different length and a later mtime.
fn edit(root: &TempDir, name: &str) {
    let path = root.path().join(name);
    fs::write(&path, "// edited, and longer than before\n").unwrap();
    let file = fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
}

// ---------------------------------------------------------------- model

const IDS: [&str; 6] = ["a.som", "b.som", "c.som", "d.som", "e.som", "f.som"];

#[derive(Clone, Debug)]
enum Op {
    /// Look up `IDS[id]`; on a miss load it with `code` bytes of code and
    /// the lower-numbered ids selected by `deps` as imports.
    Get {
        id: usize,
        code: usize,
        deps: u8,
    },
    SetLimits(CacheLimits),
    Invalidate(usize),
    Clear,
    /// Cleanup with an idle TTL in seconds (the clock moves 1 s per op).
    Cleanup(Option<u64>),
}

fn limits() -> impl Strategy<Value = CacheLimits> {
    (0usize..6, 0u64..4000).prop_map(|(max_entries, max_bytes)| CacheLimits {
        max_entries,
        max_bytes,
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..IDS.len(), 0usize..600, any::<u8>())
            .prop_map(|(id, code, deps)| Op::Get { id, code, deps }),
        1 => limits().prop_map(Op::SetLimits),
        1 => (0..IDS.len()).prop_map(Op::Invalidate),
        1 => Just(Op::Clear),
        1 => proptest::option::of(0u64..4).prop_map(Op::Cleanup),
    ]
}

/// One cached module in the reference model.
struct Slot {
    id: usize,
    bytes: u64,
    deps: Vec<usize>,
    last_access: u64,
}

/// The reference: a Vec in recency order (least recently used first).
struct Model {
    order: Vec<Slot>,
    limits: CacheLimits,
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl Model {
    fn memory(&self) -> u64 {
        self.order.iter().map(|s| s.bytes).sum()
    }

    fn enforce(&mut self) {
        while self.order.len() > self.limits.max_entries || self.memory() > self.limits.max_bytes {
            self.order.remove(0);
            self.evictions += 1;
        }
    }

    /// Removes `id` and, transitively, the cached modules importing it.
    fn invalidate(&mut self, id: usize) -> BTreeSet<usize> {
        let mut removed = BTreeSet::new();
        let mut seen = BTreeSet::from([id]);
        let mut queue = vec![id];
        while let Some(current) = queue.pop() {
            if let Some(i) = self.order.iter().position(|s| s.id == current) {
                self.order.remove(i);
                removed.insert(current);
            }
            for slot in &self.order {
                if slot.deps.contains(&current) && seen.insert(slot.id) {
                    queue.push(slot.id);
                }
            }
        }
        removed
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.order.iter().map(|s| IDS[s.id].to_owned()).collect();
        ids.sort();
        ids
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_cache_behaves_like_an_lru_model(initial in limits(), ops in prop::collection::vec(op(), 1..60)) {
        let dir = root(&IDS);
        let cache = cache(&dir, initial);
        let start = Instant::now();
        let mut model = Model { order: Vec::new(), limits: initial, hits: 0, misses: 0, evictions: 0 };

        for (step, op) in ops.into_iter().enumerate() {
            let t = step as u64;
            let now = start + Duration::from_secs(t);
            match op {
                Op::Get { id, code, deps } => {
                    let deps: Vec<usize> = (0..id).filter(|j| deps & (1 << j) != 0).collect();
                    let names: Vec<&str> = deps.iter().map(|&j| IDS[j]).collect();
                    let built = module(dir.path(), IDS[id], code, &names);
                    let bytes = built.memory_bytes();
                    let mut loaded = false;
                    let lookup = cache
                        .get_or_load(&ModuleId::new(IDS[id]), now, true, || {
                            loaded = true;
                            Ok(built)
                        })
                        .unwrap();
                    prop_assert_eq!(lookup.module.id.as_str(), IDS[id]);
                    if let Some(i) = model.order.iter().position(|s| s.id == id) {
                        prop_assert!(lookup.hit && !loaded);
                        let mut slot = model.order.remove(i);
                        slot.last_access = t;
                        model.order.push(slot);
                        model.hits += 1;
                    } else {
                        prop_assert!(!lookup.hit && loaded);
                        model.misses += 1;
                        if model.limits.max_entries > 0 && bytes <= model.limits.max_bytes {
                            model.order.push(Slot { id, bytes, deps, last_access: t });
                            model.enforce();
                        }
                    }
                }
                Op::SetLimits(limits) => {
                    cache.set_limits(limits);
                    model.limits = limits;
                    model.enforce();
                }
                Op::Invalidate(id) => {
                    let removed = cache.invalidate(IDS[id]);
                    let expected: Vec<String> = model.invalidate(id).into_iter().map(|i| IDS[i].to_owned()).collect();
                    prop_assert_eq!(sorted(removed), expected);
                }
                Op::Clear => {
                    prop_assert_eq!(cache.clear(), model.order.len());
                    model.order.clear();
                }
                Op::Cleanup(ttl) => {
                    let removed = cache.cleanup(now, ttl.map(Duration::from_secs));
                    let before = model.order.len();
                    if let Some(ttl) = ttl {
                        model.order.retain(|s| t - s.last_access <= ttl);
                    }
                    prop_assert_eq!(removed, before - model.order.len());
                }
            }
            let stats = cache.stats();
            prop_assert!(cache.len() <= model.limits.max_entries);
            prop_assert!(cache.memory_bytes() <= model.limits.max_bytes);
            prop_assert_eq!(sorted(cache.ids()), model.ids());
            prop_assert_eq!(cache.memory_bytes(), model.memory());
            prop_assert_eq!(stats.size, model.order.len());
            prop_assert_eq!(stats.memory_usage, model.memory());
            prop_assert_eq!((stats.hits, stats.misses, stats.evictions), (model.hits, model.misses, model.evictions));
        }
    }
}

// ---------------------------------------------------------- validation

#[test]
fn an_edited_file_is_reloaded_and_its_importers_invalidated() {
    let dir = root(&["a.som", "b.som", "c.som", "d.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let now = Instant::now();
    assert!(!get(&cache, &dir, "a.som", &[], now));
    assert!(!get(&cache, &dir, "b.som", &["a.som"], now));
    assert!(!get(&cache, &dir, "c.som", &["b.som"], now));
    assert!(!get(&cache, &dir, "d.som", &[], now));
    assert!(get(&cache, &dir, "a.som", &[], now));

    edit(&dir, "a.som");
    let loads = AtomicUsize::new(0);
    let lookup = cache
        .get_or_load(&ModuleId::new("a.som"), now, true, || {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(module(dir.path(), "a.som", 10, &[]))
        })
        .unwrap();
    assert!(!lookup.hit);
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(lookup.module.stamp.len, 34);
    assert_eq!(sorted(cache.ids()), ["a.som", "d.som"]);
    // The fresh record now hits.
    assert!(get(&cache, &dir, "a.som", &[], now));
}

#[test]
fn a_vanished_file_is_a_miss() {
    let dir = root(&["gone.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let now = Instant::now();
    assert!(!get(&cache, &dir, "gone.som", &[], now));
    fs::remove_file(dir.path().join("gone.som")).unwrap();
    let id = ModuleId::new("gone.som");
    let outcome = cache.get_or_load(&id, now, true, || {
        Err(Error::ModuleNotFound {
            specifier: "./gone.som".into(),
            importer: None,
        })
    });
    assert_eq!(outcome.unwrap_err().code(), "MODULE_NOT_FOUND");
    assert!(cache.is_empty());
    // The failed load is an error, not a miss.
    assert_eq!((cache.stats().hits, cache.stats().misses), (0, 1));
}

#[test]
fn without_validation_an_edit_goes_unnoticed_until_cleanup() {
    let dir = root(&["a.som", "b.som", "c.som"]);
    let cache = ModuleCache::new(
        dir.path().to_path_buf(),
        CacheLimits::default(),
        Validation::None,
    );
    assert_eq!(cache.validation(), Validation::None);
    let now = Instant::now();
    get(&cache, &dir, "a.som", &[], now);
    get(&cache, &dir, "b.som", &["a.som"], now);
    get(&cache, &dir, "c.som", &[], now);
    edit(&dir, "a.som");
    assert!(get(&cache, &dir, "a.som", &[], now));
    assert_eq!(cache.cleanup(now, None), 2);
    assert_eq!(sorted(cache.ids()), ["c.som"]);

    cache.set_validation(Validation::Stat);
    get(&cache, &dir, "a.som", &[], now);
    edit(&dir, "a.som");
    assert!(!get(&cache, &dir, "a.som", &[], now));
}

// -------------------------------------------------------- single-flight

/// Blocks a load until `waiters` callers are parked on it, so the test
/// does not depend on timing. The deadline only turns a bug into a failed
/// assertion instead of a hang.
fn wait_for_waiters(cache: &ModuleCache, id: &str, waiters: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while cache.waiting(id) < waiters && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn two_hundred_concurrent_misses_load_once() {
    const THREADS: usize = 200;
    let dir = root(&["hot.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let barrier = Barrier::new(THREADS);
    let loads = AtomicUsize::new(0);
    let id = ModuleId::new("hot.som");

    let modules: Vec<_> = thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    cache
                        .get_or_load(&id, Instant::now(), true, || {
                            loads.fetch_add(1, Ordering::SeqCst);
                            wait_for_waiters(&cache, "hot.som", THREADS - 1);
                            thread::sleep(Duration::from_millis(5));
                            Ok(module(dir.path(), "hot.som", 10, &[]))
                        })
                        .unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert!(modules.iter().all(|l| !l.hit));
    assert!(modules
        .iter()
        .all(|l| Arc::ptr_eq(&l.module, &modules[0].module)));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (0, THREADS as u64));
    assert_eq!(cache.waiting("hot.som"), 0);
    assert!(
        cache
            .get_or_load(&id, Instant::now(), true, || unreachable!())
            .unwrap()
            .hit
    );
}

#[test]
fn a_failed_load_is_shared_with_waiters_and_not_cached() {
    const THREADS: usize = 20;
    let dir = root(&["bad.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let barrier = Barrier::new(THREADS);
    let loads = AtomicUsize::new(0);
    let id = ModuleId::new("bad.som");
    let failing = || {
        loads.fetch_add(1, Ordering::SeqCst);
        wait_for_waiters(&cache, "bad.som", THREADS - 1);
        Err(Error::io("bad.som", std::io::Error::other("disk on fire")))
    };

    let outcomes: Vec<_> = thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    cache.get_or_load(&id, Instant::now(), false, failing)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    assert_eq!(loads.load(Ordering::SeqCst), 1);
    for outcome in &outcomes {
        let error = outcome.as_ref().unwrap_err();
        assert!(error.to_string().contains("disk on fire"), "{error}");
    }
    assert!(cache.is_empty());
    // Uncounted lookups leave the counters alone.
    assert_eq!((cache.stats().hits, cache.stats().misses), (0, 0));
    // Not cached: the next lookup loads again.
    let lookup = cache
        .get_or_load(&id, Instant::now(), true, || {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(module(dir.path(), "bad.som", 10, &[]))
        })
        .unwrap();
    assert!(!lookup.hit);
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

#[test]
fn a_panicking_load_releases_its_waiters_with_an_error() {
    const FOLLOWERS: usize = 5;
    let dir = root(&["boom.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let id = ModuleId::new("boom.som");
    let started = Barrier::new(2);

    thread::scope(|s| {
        let leader = s.spawn(|| {
            cache.get_or_load(&id, Instant::now(), true, || {
                started.wait();
                wait_for_waiters(&cache, "boom.som", FOLLOWERS);
                panic!("the compiler fell over");
            })
        });
        started.wait();
        let followers: Vec<_> = (0..FOLLOWERS)
            .map(|_| {
                s.spawn(|| {
                    cache.get_or_load(&id, Instant::now(), true, || unreachable!("in flight"))
                })
            })
            .collect();
        for follower in followers {
            let error = follower.join().unwrap().unwrap_err();
            assert_eq!(error.code(), "IO_ERROR");
            assert!(error.to_string().contains("panicked"), "{error}");
        }
        assert!(leader.join().is_err());
    });

    assert!(cache.is_empty());
    assert_eq!(cache.waiting("boom.som"), 0);
    assert!(!get(&cache, &dir, "boom.som", &[], Instant::now()));
    assert!(cache.contains("boom.som"));
}

// ------------------------------------------------ stats, limits, cleanup

#[test]
fn stats_report_hit_rate_most_accessed_and_evictions() {
    let dir = root(&["a.som", "b.som", "c.som", "d.som"]);
    let cache = cache(
        &dir,
        CacheLimits {
            max_entries: 3,
            max_bytes: 1 << 20,
        },
    );
    assert_eq!(cache.stats().hit_rate, 0.0);
    let now = Instant::now();
    for id in ["a.som", "b.som", "c.som"] {
        get(&cache, &dir, id, &[], now);
    }
    get(&cache, &dir, "a.som", &[], now);
    get(&cache, &dir, "a.som", &[], now);
    get(&cache, &dir, "b.som", &[], now);
    // Uncounted lookups still count as a use for LRU, not in the stats.
    let c = ModuleId::new("c.som");
    assert!(
        cache
            .get_or_load(&c, now, false, || unreachable!())
            .unwrap()
            .hit
    );

    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (3, 3));
    assert_eq!(stats.hit_rate, 0.5);
    let hits = |list: &[ModuleHits]| -> Vec<(String, u64)> {
        list.iter()
            .map(|m| (m.module.to_string(), m.hits))
            .collect()
    };
    assert_eq!(
        hits(&stats.most_accessed),
        [("a.som".to_owned(), 2), ("b.som".to_owned(), 1)]
    );

    // Recency is a, b, c (least first): loading d evicts a.
    get(&cache, &dir, "d.som", &[], now);
    assert_eq!(sorted(cache.ids()), ["b.som", "c.som", "d.som"]);
    get(&cache, &dir, "d.som", &[], now);
    let stats = cache.stats();
    assert_eq!(stats.evictions, 1);
    assert_eq!(stats.size, 3);
    assert_eq!(stats.max_size, 3);
    // Ties are ordered by id.
    assert_eq!(
        hits(&stats.most_accessed),
        [("b.som".to_owned(), 1), ("d.som".to_owned(), 1)]
    );

    let json = serde_json::to_value(&stats).unwrap();
    for key in [
        "size",
        "maxSize",
        "memoryUsage",
        "maxMemory",
        "hits",
        "misses",
        "evictions",
        "hitRate",
        "mostAccessed",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["mostAccessed"][0]["module"], "b.som");
}

#[test]
fn shrinking_the_limits_evicts_at_once_in_lru_order() {
    let names = ["a.som", "b.som", "c.som", "d.som", "e.som"];
    let dir = root(&names);
    let cache = cache(&dir, CacheLimits::default());
    let now = Instant::now();
    for id in names {
        get(&cache, &dir, id, &[], now);
    }
    // Recency, least first: b, d, e, a, c.
    get(&cache, &dir, "a.som", &[], now);
    get(&cache, &dir, "c.som", &[], now);

    let per_entry = cache.memory_bytes() / 5;
    cache.set_limits(CacheLimits {
        max_entries: 4,
        max_bytes: u64::MAX,
    });
    assert_eq!(sorted(cache.ids()), ["a.som", "c.som", "d.som", "e.som"]);
    cache.set_limits(CacheLimits {
        max_entries: 4,
        max_bytes: per_entry * 2,
    });
    assert_eq!(sorted(cache.ids()), ["a.som", "c.som"]);
    assert_eq!(cache.memory_bytes(), per_entry * 2);
    assert_eq!(cache.stats().evictions, 3);
    assert_eq!(cache.limits().max_bytes, per_entry * 2);
}

#[test]
fn cleanup_drops_idle_and_changed_entries() {
    let dir = root(&["a.som", "b.som", "c.som", "d.som"]);
    let cache = cache(&dir, CacheLimits::default());
    let t0 = Instant::now();
    let at = |secs| t0 + Duration::from_secs(secs);
    get(&cache, &dir, "a.som", &[], at(0));
    get(&cache, &dir, "b.som", &[], at(10));
    get(&cache, &dir, "c.som", &["d.som"], at(10));
    get(&cache, &dir, "d.som", &[], at(10));
    get(&cache, &dir, "a.som", &[], at(20));

    // b, c, d idle 15 s, a 5 s.
    assert_eq!(cache.cleanup(at(25), Some(Duration::from_secs(15))), 0);
    get(&cache, &dir, "d.som", &[], at(21));
    assert_eq!(cache.cleanup(at(25), Some(Duration::from_secs(10))), 2);
    assert_eq!(sorted(cache.ids()), ["a.som", "d.som"]);

    get(&cache, &dir, "c.som", &["d.som"], at(25));
    edit(&dir, "d.som");
    assert_eq!(cache.cleanup(at(25), None), 2);
    assert_eq!(sorted(cache.ids()), ["a.som"]);
    assert_eq!(cache.stats().evictions, 0);

    assert_eq!(cache.clear(), 1);
    assert!(cache.is_empty());
    assert_eq!(cache.memory_bytes(), 0);
}
