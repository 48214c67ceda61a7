//! Single-flight: concurrent misses on one id share one load.
//!
//! The first caller to miss becomes the *leader* and runs the load with no
//! lock held; later callers become *followers* and block on the flight's
//! condition variable until the leader publishes its result (an `Ok` or a
//! cloned `Err`). A [`Leader`] guard publishes an error from its `Drop` if it
//! is dropped without a result, so a panicking load releases its followers
//! instead of leaving them parked forever.
//!
//! Because a load may itself look up other modules, a follower could end up
//! waiting (directly or through other threads) for a flight its own thread
//! leads. The map records which flight each thread waits on, so such a wait
//! is refused with [`Error::CircularDependency`] instead of deadlocking.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};

use super::lock;
use crate::{CachedModule, Error, ModuleId};

/// What a load produced, as handed to every caller that waited for it.
pub(super) type OpOutcome = Result<Arc<CachedModule>, Error>;

/// One load in progress.
pub(super) struct Flight {
    /// The thread running the load.
    leader: ThreadId,
    /// `None` until the leader publishes.
    result: Mutex<Option<OpOutcome>>,
    done: Condvar,
    /// Followers currently parked on `done` (diagnostics and tests).
    waiters: AtomicUsize,
}

#[derive(Default)]
pub(super) struct Table {
    flights: HashMap<ModuleId, Arc<Flight>>,
    /// Which id each parked follower thread waits for: the wait-for graph
    /// used to refuse waits that would deadlock.
    waiting_on: HashMap<ThreadId, ModuleId>,
}

/// The in-flight loads of one cache.
#[derive(Default)]
pub(super) struct Flights {
    table: Mutex<Table>,
}

/// How a caller that missed takes part in the load of its id.
pub(super) enum Role<'a> {
    /// The module turned up in the cache while the caller queued (a load
    /// that finished between its first look and now).
    Cached(Arc<CachedModule>),
    /// The caller must run the load and publish the result through the guard.
    Leader(Leader<'a>),
    /// Another caller is loading; wait with [`Flights::wait`].
    Follower(Arc<Flight>),
}

impl Flights {
    /// Joins the flight for `id`, starting one if none is in progress.
    /// `recheck` runs under the table lock when no flight exists, so a
    /// caller never starts a second load of a module whose leader has just
    /// inserted it and left. `panic_path` names the file in the error
    /// followers get if the load panics.
    ///
    /// Fails with [`Error::CircularDependency`] when waiting would deadlock.
    pub(super) fn join(
        &self,
        id: &ModuleId,
        panic_path: impl FnOnce() -> PathBuf,
        recheck: impl FnOnce() -> Option<Arc<CachedModule>>,
    ) -> Result<Role<'_>, Error> {
        let me = thread::current().id();
        let mut table = lock(&self.table);
        if let Some(flight) = table.flights.get(id) {
            if let Some(cycle) = table.cycle_through(id, me) {
                return Err(Error::CircularDependency { cycle });
            }
            let flight = Arc::clone(flight);
            flight.waiters.fetch_add(1, Ordering::SeqCst);
            table.waiting_on.insert(me, id.clone());
            return Ok(Role::Follower(flight));
        }
        if let Some(module) = recheck() {
            return Ok(Role::Cached(module));
        }
        let flight = Arc::new(Flight {
            leader: me,
            result: Mutex::new(None),
            done: Condvar::new(),
            waiters: AtomicUsize::new(0),
        });
        table.flights.insert(id.clone(), Arc::clone(&flight));
        Ok(Role::Leader(Leader {
            flights: self,
            id: id.clone(),
            flight,
            panic_path: panic_path(),
            published: false,
        }))
    }

    /// Parks a follower until its leader publishes, then hands back a clone
    /// of the result.
    pub(super) fn wait(&self, flight: &Flight) -> OpOutcome {
        let outcome = {
            let mut slot = lock(&flight.result);
            loop {
                if let Some(outcome) = slot.as_ref() {
                    break outcome.clone();
                }
                slot = flight
                    .done
                    .wait(slot)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        lock(&self.table).waiting_on.remove(&thread::current().id());
        flight.waiters.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Holds the table lock, to show that hits never need it.
    #[cfg(test)]
    pub(super) fn hold(&self) -> std::sync::MutexGuard<'_, Table> {
        lock(&self.table)
    }

    /// How many followers are parked on the load of `id` right now.
    pub(super) fn waiting(&self, id: &str) -> usize {
        lock(&self.table)
            .flights
            .get(id)
            .map_or(0, |f| f.waiters.load(Ordering::SeqCst))
    }
}

impl Table {
    /// Follows the wait-for chain from the flight of `id`: its leader, the
    /// flight that leader waits on, and so on. Returns the ids on the chain
    /// (first repeated at the end) if it leads back to thread `me`.
    fn cycle_through(&self, id: &ModuleId, me: ThreadId) -> Option<Vec<ModuleId>> {
        let mut cycle = vec![id.clone()];
        let mut flight = self.flights.get(id)?;
        // Each thread waits on at most one flight, so the chain cannot be
        // longer than the number of parked threads; the bound only guards
        // against a torn table.
        for _ in 0..=self.waiting_on.len() {
            if flight.leader == me {
                cycle.push(id.clone());
                return Some(cycle);
            }
            let next = self.waiting_on.get(&flight.leader)?;
            cycle.push(next.clone());
            flight = self.flights.get(next)?;
        }
        None
    }
}

/// The right, and the duty, to publish the result of one load.
pub(super) struct Leader<'a> {
    flights: &'a Flights,
    id: ModuleId,
    flight: Arc<Flight>,
    panic_path: PathBuf,
    published: bool,
}

impl Leader<'_> {
    /// Hands `outcome` to every follower and retires the flight. The caller
    /// inserts a successful result into the cache first, so that no caller
    /// can find neither the entry nor the flight and load again.
    pub(super) fn finish(mut self, outcome: OpOutcome) {
        self.publish(outcome);
    }

    fn publish(&mut self, outcome: OpOutcome) {
        self.published = true;
        *lock(&self.flight.result) = Some(outcome);
        {
            let mut table = lock(&self.flights.table);
            if table
                .flights
                .get(&self.id)
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            {
                table.flights.remove(&self.id);
            }
        }
        self.flight.done.notify_all();
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.published {
            // Only reached when the load unwound: followers must not hang,
            // and the next caller must be free to try again.
            let reason = io::Error::other(format!("loading {} panicked", self.id));
            let error = Error::io(std::mem::take(&mut self.panic_path), reason);
            self.publish(Err(error));
        }
    }
}
