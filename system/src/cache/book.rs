//! The write side: the book of entries and the changes to the *set* of
//! entries (insert, LRU eviction, removal, invalidation of importers).
//!
//! Every function here runs with the book mutex held and takes a shard's
//! write lock only for the map operation itself, so the count, the byte
//! total and both indexes always agree with the shards.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{lock, write, CacheLimits, Entry, ModuleCache};
use crate::{CachedModule, ModuleId};

/// The write side's consistent view; see the module doc.
pub(super) struct Book {
    pub(super) limits: CacheLimits,
    pub(super) len: usize,
    pub(super) memory: u64,
    /// LRU index: key ≤ the entry's real `last_used`.
    pub(super) lru: BTreeMap<u64, ModuleId>,
    /// Each entry's key in `lru`.
    pub(super) keys: HashMap<ModuleId, u64>,
    /// dependency → cached modules that import it.
    pub(super) dependents: HashMap<ModuleId, HashSet<ModuleId>>,
}

impl Book {
    pub(super) fn new(limits: CacheLimits) -> Book {
        Book {
            limits,
            len: 0,
            memory: 0,
            lru: BTreeMap::new(),
            keys: HashMap::new(),
            dependents: HashMap::new(),
        }
    }

    /// Forgets every entry (the shards are emptied by the caller).
    pub(super) fn clear(&mut self) {
        *self = Book::new(self.limits);
    }
}

impl ModuleCache {
    /// Inserts a freshly loaded module (replacing any entry for `id`) and
    /// enforces the limits. Returns the module whether or not it was kept.
    pub(super) fn insert(
        &self,
        id: &ModuleId,
        module: CachedModule,
        now: Instant,
    ) -> Arc<CachedModule> {
        let module = Arc::new(module);
        let bytes = module.memory_bytes();
        let mut book = lock(&self.book);
        // Every insert is a module just compiled by a load (kept or not);
        // counted under the book lock, like `len`, for consistent stats.
        self.compilations.fetch_add(1, Ordering::Relaxed);
        self.remove_locked(&mut book, id.as_str());
        if book.limits.max_entries == 0 || bytes > book.limits.max_bytes {
            return module;
        }
        let tick = self.tick();
        for dep in module.module_deps() {
            book.dependents
                .entry(dep.clone())
                .or_default()
                .insert(id.clone());
        }
        let entry = Arc::new(Entry {
            module: Arc::clone(&module),
            bytes,
            last_used: AtomicU64::new(tick),
            hits: AtomicU64::new(0),
            last_access: AtomicI64::new(self.offset(now)),
        });
        write(self.shard(id.as_str())).insert(id.clone(), entry);
        book.len += 1;
        book.memory += bytes;
        book.lru.insert(tick, id.clone());
        book.keys.insert(id.clone(), tick);
        self.enforce(&mut book);
        module
    }

    /// Evicts least recently used entries until both limits hold.
    pub(super) fn enforce(&self, book: &mut Book) {
        while book.len > book.limits.max_entries || book.memory > book.limits.max_bytes {
            let Some((key, id)) = book.lru.pop_first() else {
                break;
            };
            let mut map = write(self.shard(id.as_str()));
            let Some(used) = map
                .get(id.as_str())
                .map(|e| e.last_used.load(Ordering::Acquire))
            else {
                book.keys.remove(&id);
                continue;
            };
            if used != key {
                // Hit since it was filed: re-file under its real tick.
                book.lru.insert(used, id.clone());
                book.keys.insert(id, used);
                continue;
            }
            if let Some(entry) = map.remove(id.as_str()) {
                drop(map);
                self.forget(book, &id, &entry);
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(super) fn remove_locked(&self, book: &mut Book, id: &str) -> Option<Arc<Entry>> {
        let (id, entry) = write(self.shard(id)).remove_entry(id)?;
        self.forget(book, &id, &entry);
        Some(entry)
    }

    /// Drops the book's records of an entry already taken out of its shard.
    pub(super) fn forget(&self, book: &mut Book, id: &ModuleId, entry: &Entry) {
        book.len -= 1;
        book.memory -= entry.bytes;
        if let Some(key) = book.keys.remove(id) {
            book.lru.remove(&key);
        }
        for dep in entry.module.module_deps() {
            if let Some(importers) = book.dependents.get_mut(dep) {
                importers.remove(id);
                if importers.is_empty() {
                    book.dependents.remove(dep);
                }
            }
        }
    }

    pub(super) fn invalidate_locked(&self, book: &mut Book, id: &str) -> Vec<ModuleId> {
        let mut removed = Vec::new();
        let start = ModuleId::new(id);
        let mut seen = HashSet::from([start.clone()]);
        let mut queue = VecDeque::from([start]);
        while let Some(current) = queue.pop_front() {
            if self.remove_locked(book, current.as_str()).is_some() {
                removed.push(current.clone());
            }
            // An importer's edge is only dropped when the importer itself is
            // removed, and every removed importer was queued first, so no
            // dependent is lost by reading the edges after removing `current`.
            if let Some(importers) = book.dependents.get(&current) {
                for importer in importers {
                    if seen.insert(importer.clone()) {
                        queue.push_back(importer.clone());
                    }
                }
            }
        }
        removed
    }
}
