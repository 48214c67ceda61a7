//! One breaker per external, by name.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use super::{Breaker, BreakerSettings, BreakerState, BreakerStatus};
use crate::Defects;

/// The breakers of every configured external, sharing one set of settings.
///
/// Lookups take a read lock; only creating, dropping and re-configuring
/// breakers take the write lock. Each breaker is handed out as an `Arc`, so
/// a caller keeps using its breaker even if [`Breakers::retain`] drops it
/// from the registry meanwhile.
///
/// ```
/// use std::time::Instant;
/// use somon_system::{BreakerSettings, Breakers};
///
/// let now = Instant::now();
/// let breakers = Breakers::new(BreakerSettings::default());
/// let left_pad = breakers.get_or_create("left-pad", now);
/// assert!(left_pad.try_acquire(now).is_ok());
/// assert!(breakers.force_open("left-pad", now));
/// assert!(breakers.any_open(now));
/// assert_eq!(breakers.reset_all(now), 1);
/// ```
#[derive(Debug)]
pub struct Breakers {
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: BreakerSettings,
    by_name: BTreeMap<String, Arc<Breaker>>,
    /// Trips of breakers dropped by `retain`: the total is a Prometheus
    /// counter and must never go down.
    retired_trips: u64,
    defects: Defects,
}

impl Breakers {
    /// An empty registry; breakers created later use `settings`.
    pub fn new(settings: BreakerSettings) -> Breakers {
        Breakers {
            inner: RwLock::new(Inner {
                settings,
                by_name: BTreeMap::new(),
                retired_trips: 0,
                defects: Defects::NONE,
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The breaker for `name`, created closed at `now` if there is none.
    pub fn get_or_create(&self, name: &str, now: Instant) -> Arc<Breaker> {
        if let Some(breaker) = self.get(name) {
            return breaker;
        }
        let mut inner = self.write();
        let (settings, defects) = (inner.settings, inner.defects);
        Arc::clone(inner.by_name.entry(name.to_owned()).or_insert_with(|| {
            let breaker = Breaker::new(name, settings, now);
            breaker.set_defects(defects);
            Arc::new(breaker)
        }))
    }

    /// Switches defect twins on for every breaker, present and future (see
    /// [`Breaker::set_defects`]).
    pub fn set_defects(&self, defects: Defects) {
        let mut inner = self.write();
        inner.defects = defects;
        for breaker in inner.by_name.values() {
            breaker.set_defects(defects);
        }
    }

    /// The breaker for `name`, if one exists.
    pub fn get(&self, name: &str) -> Option<Arc<Breaker>> {
        self.read().by_name.get(name).cloned()
    }

    /// Drops the breakers whose name is not in `names` (externals no longer
    /// configured); their trips leave [`Breakers::total_trips`].
    pub fn retain(&self, names: &[String]) {
        let mut inner = self.write();
        let mut retired = 0;
        inner.by_name.retain(|name, breaker| {
            let keep = names.iter().any(|n| n == name);
            if !keep {
                retired += breaker.trips();
            }
            keep
        });
        inner.retired_trips += retired;
    }

    /// The status of every breaker, sorted by name.
    pub fn statuses(&self, now: Instant) -> Vec<BreakerStatus> {
        self.snapshot().iter().map(|b| b.status(now)).collect()
    }

    /// Resets every breaker; returns how many there are.
    pub fn reset_all(&self, now: Instant) -> usize {
        let all = self.snapshot();
        for breaker in &all {
            breaker.reset(now);
        }
        all.len()
    }

    /// Resets one breaker; `false` if no breaker has that name.
    pub fn reset(&self, name: &str, now: Instant) -> bool {
        self.get(name).map(|b| b.reset(now)).is_some()
    }

    /// Forces one breaker open (drills); `false` if no breaker has that name.
    pub fn force_open(&self, name: &str, now: Instant) -> bool {
        self.get(name).map(|b| b.force_open(now)).is_some()
    }

    /// Applies `settings` to every breaker now and to those created later.
    pub fn set_settings(&self, settings: BreakerSettings, now: Instant) {
        let mut inner = self.write();
        inner.settings = settings;
        // Under the write lock, so no breaker is created with the old
        // settings after this returns.
        for breaker in inner.by_name.values() {
            breaker.set_settings(settings, now);
        }
    }

    /// The settings new breakers get.
    pub fn settings(&self) -> BreakerSettings {
        self.read().settings
    }

    /// Trips of all current breakers (since each one's creation or reset).
    pub fn total_trips(&self) -> u64 {
        let retired = self.read().retired_trips;
        retired + self.snapshot().iter().map(|b| b.trips()).sum::<u64>()
    }

    /// Whether any breaker is open at `now` (half-open does not count).
    pub fn any_open(&self, now: Instant) -> bool {
        self.snapshot()
            .iter()
            .any(|b| b.state(now) == BreakerState::Open)
    }

    /// The breakers in name order, copied out so that reading statuses
    /// never blocks creating breakers.
    fn snapshot(&self) -> Vec<Arc<Breaker>> {
        self.read().by_name.values().cloned().collect()
    }
}
