//! Circuit breakers, one per external dependency.
//!
//! A [`Breaker`] is a plain state machine: every method takes the current
//! time as `now: Instant`, so tests drive it with a fake clock and nothing
//! here sleeps, spawns or reads the system clock. [`Breakers`] keeps one per
//! external by name. Nothing here knows about HTTP.

mod registry;
mod window;

pub use registry::Breakers;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Defect, Defects};

use window::{ratio_reached, OutcomeWindow};

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls go through; failures are counted in the window.
    Closed,
    /// Calls fail fast without touching the network until the wait ends.
    Open,
    /// A bounded number of trial calls decide between closing and re-opening.
    HalfOpen,
}

/// What `/circuit-breakers/status` and `/metrics` show of one breaker.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerStatus {
    /// The dependency it guards (an external's name).
    pub name: String,
    /// Current state.
    pub state: BreakerState,
    /// Failures counted in the current window (closed) or trial (half-open);
    /// while open, the count at the moment it opened.
    pub failures: u64,
    /// Successes counted in the current window (closed) or trial (half-open);
    /// while open, the count at the moment it opened.
    pub successes: u64,
    /// Trial calls in flight while half-open.
    pub half_open_in_flight: u32,
    /// How many times it has opened since it was created (a reset does not
    /// clear it: it feeds a Prometheus counter).
    pub trips: u64,
    /// Milliseconds since the last state change.
    pub since_transition_ms: u64,
    /// Milliseconds until an open breaker lets a trial call through; `None`
    /// unless open.
    pub next_attempt_in_ms: Option<u64>,
    /// The wait an open breaker uses now (doubles on each re-open, capped).
    pub current_wait_ms: u64,
}

impl BreakerState {
    /// The kebab-case name used in JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// How a breaker decides; one set per registry (the runtime config's
/// `failureThreshold`, `circuitBreakerWindowMs`, `retryDelayMs`, `timeoutMs`,
/// `halfOpenMaxCalls`).
///
/// Out-of-range values are made harmless rather than rejected (config
/// validation is the caller's job): a `failure_threshold` or
/// `half_open_max_calls` of 0 acts as 1, and every wait, the first included,
/// is capped at `max_wait`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSettings {
    /// Failures inside `window` needed to trip (default 5).
    pub failure_threshold: u32,
    /// How far back call outcomes count (`circuitBreakerWindowMs`, default 10 s).
    pub window: Duration,
    /// Failures / (failures + successes) needed as well to trip (default 0.5).
    pub min_failure_ratio: f64,
    /// The first open wait (`retryDelayMs`, default 5 s).
    pub retry_delay: Duration,
    /// Cap of the doubling open wait (`timeoutMs`, default 30 s).
    pub max_wait: Duration,
    /// Trial calls allowed in flight while half-open, and trial successes
    /// needed to close (default 3).
    pub half_open_max_calls: u32,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings {
            failure_threshold: 5,
            window: Duration::from_secs(10),
            min_failure_ratio: 0.5,
            retry_delay: Duration::from_secs(5),
            max_wait: Duration::from_secs(30),
            half_open_max_calls: 3,
        }
    }
}

impl BreakerSettings {
    fn initial_wait(&self) -> Duration {
        self.retry_delay.min(self.max_wait)
    }

    fn trial_calls(&self) -> u32 {
        self.half_open_max_calls.max(1)
    }
}

/// How a permitted call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// The dependency answered correctly.
    Success,
    /// Error, timeout or integrity failure: counts against the dependency.
    Failure,
}

/// A breaker refused a call: open (waiting), or half-open with every trial
/// slot taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker refused the call; retry after {} ms", retry_after.as_millis())]
pub struct Rejected {
    /// Time until a trial call may be admitted, at least 1 ms. While open it
    /// is the rest of the wait; while half-open and full it is 1 ms, because a
    /// slot frees whenever a trial ends and the breaker cannot know when.
    pub retry_after: Duration,
}

/// The shortest `retry_after`, so callers never busy-loop on zero.
const MIN_RETRY_AFTER: Duration = Duration::from_millis(1);

/// A circuit breaker guarding one dependency.
///
/// ```text
///            N failures in window            wait elapsed
///   Closed ───(and ratio ≥ min)──▶ Open ─────────────────▶ HalfOpen
///     ▲                             ▲                         │
///     │                             └──── one trial fails ────┤
///     └──────────── half_open_max_calls trials succeed ───────┘
/// ```
///
/// - **Closed**: calls go through. A recorded failure trips the breaker when
///   at least `failure_threshold` failures were recorded within the last
///   `window` (exact: a failure at `t` counts while `now - t < window`) *and*
///   the failure ratio reaches `min_failure_ratio`. The ratio is counted in
///   ten time buckets of `window / 10` measured from the breaker's creation,
///   taking the current bucket and the nine before it, so it sees between
///   90 % and 100 % of the window. Only failures trip; successes and time
///   passing never do.
/// - **Open**: calls fail fast with [`Rejected`] until the wait ends. The
///   wait starts at `retry_delay`, doubles on each re-open from half-open,
///   and is capped at `max_wait`; closing resets it.
/// - **HalfOpen**: at most `half_open_max_calls` trial calls in flight; that
///   many recorded trial successes close the breaker (window cleared), one
///   trial failure re-opens it with the doubled wait.
///
/// Every [`Permit`] belongs to the phase (state entry) that issued it; an
/// outcome reported after the breaker changed state, was reset or was
/// forced open is ignored, since it says nothing about the new phase. Times
/// passed in are clamped to never go backwards, so callers on several
/// threads may pass slightly out-of-order `now`s. Each transition emits a
/// `tracing` event (`warn` when opening, `info` otherwise) with the fields
/// `breaker.name`, `breaker.from`, `breaker.to` and `breaker.wait_ms`.
///
/// ```
/// use std::time::{Duration, Instant};
/// use somon_system::{Breaker, BreakerSettings, BreakerState, CallOutcome};
///
/// let t0 = Instant::now();
/// let breaker = Breaker::new("left-pad", BreakerSettings::default(), t0);
/// for _ in 0..5 {
///     let permit = breaker.try_acquire(t0).unwrap();
///     breaker.record(permit, CallOutcome::Failure, t0);
/// }
/// assert_eq!(breaker.state(t0), BreakerState::Open);
/// let rejected = breaker.try_acquire(t0 + Duration::from_secs(1)).unwrap_err();
/// assert_eq!(rejected.retry_after, Duration::from_secs(4));
/// // After the 5 s wait the next call is a trial.
/// assert!(breaker.try_acquire(t0 + Duration::from_secs(5)).is_ok());
/// ```
#[derive(Debug)]
pub struct Breaker {
    shared: Arc<Shared>,
}

/// What a breaker and its outstanding permits share.
#[derive(Debug)]
struct Shared {
    name: String,
    core: Mutex<Core>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Core> {
        // The core stays consistent across a panic elsewhere (no method
        // panics halfway through an update), so poisoning is not fatal.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn emit(&self, transitions: &[Transition]) {
        for t in transitions {
            let wait_ms = t.wait.as_millis() as u64;
            if t.to == BreakerState::Open {
                tracing::warn!(
                    breaker.name = %self.name,
                    breaker.from = t.from.as_str(),
                    breaker.to = t.to.as_str(),
                    breaker.wait_ms = wait_ms,
                    "circuit breaker opened"
                );
            } else {
                tracing::info!(
                    breaker.name = %self.name,
                    breaker.from = t.from.as_str(),
                    breaker.to = t.to.as_str(),
                    breaker.wait_ms = wait_ms,
                    "circuit breaker changed state"
                );
            }
        }
    }
}

/// One state change, logged after the lock is released.
#[derive(Clone, Copy, Debug)]
struct Transition {
    from: BreakerState,
    to: BreakerState,
    wait: Duration,
}

/// The mutable state machine behind the mutex.
#[derive(Debug)]
struct Core {
    settings: BreakerSettings,
    state: BreakerState,
    /// Bumped on every state entry, reset and forced open; permits carry it.
    phase: u64,
    /// When the current state was entered.
    since: Instant,
    /// Latest time seen, so time never runs backwards inside.
    latest: Instant,
    window: OutcomeWindow,
    /// The wait of the current (or next) open period.
    wait: Duration,
    /// End of the wait; meaningful only while open.
    open_until: Instant,
    /// `(failures, successes)` shown while open.
    opened_with: (u64, u64),
    trials_in_flight: u32,
    trial_successes: u64,
    trips: u64,
    /// Defect twins `breaker-never-trips` and `breaker-stuck-open`.
    defects: Defects,
}

impl Core {
    fn new(settings: BreakerSettings, now: Instant) -> Core {
        Core {
            settings,
            state: BreakerState::Closed,
            phase: 0,
            since: now,
            latest: now,
            window: OutcomeWindow::new(now, settings.window, settings.failure_threshold),
            wait: settings.initial_wait(),
            open_until: now,
            opened_with: (0, 0),
            trials_in_flight: 0,
            trial_successes: 0,
            trips: 0,
            defects: Defects::NONE,
        }
    }

    /// Clamps `now` to the latest time seen and applies the lazy
    /// open → half-open transition, dated when the wait actually ended.
    fn tick(&mut self, now: Instant, log: &mut Vec<Transition>) -> Instant {
        self.latest = self.latest.max(now);
        let now = self.latest;
        let stuck = self.defects.has(Defect::BreakerStuckOpen);
        if self.state == BreakerState::Open && now >= self.open_until && !stuck {
            let at = self.open_until;
            self.enter(BreakerState::HalfOpen, at, log);
        }
        now
    }

    /// Enters `to` at `at`. Entering open uses `self.wait`, so callers set
    /// the wait (doubling it on a re-open) before calling.
    fn enter(&mut self, to: BreakerState, at: Instant, log: &mut Vec<Transition>) {
        let from = self.state;
        self.state = to;
        self.phase += 1;
        self.since = at;
        self.trials_in_flight = 0;
        match to {
            BreakerState::Closed => {
                self.window.clear();
                self.wait = self.settings.initial_wait();
            }
            BreakerState::Open => {
                self.opened_with = match from {
                    BreakerState::Closed => self.window.counts(at),
                    BreakerState::HalfOpen => (0, self.trial_successes),
                    BreakerState::Open => self.opened_with,
                };
                if from != BreakerState::Open {
                    self.trips += 1;
                }
                self.open_until = at
                    .checked_add(self.wait)
                    .unwrap_or(at + Duration::from_secs(365 * 24 * 3600));
            }
            BreakerState::HalfOpen => {}
        }
        self.trial_successes = 0;
        log.push(Transition {
            from,
            to,
            wait: self.wait,
        });
    }

    fn acquire(&mut self, now: Instant) -> Result<bool, Rejected> {
        match self.state {
            BreakerState::Closed => Ok(false),
            BreakerState::Open => Err(Rejected {
                retry_after: self.open_until.duration_since(now).max(MIN_RETRY_AFTER),
            }),
            BreakerState::HalfOpen if self.trials_in_flight < self.settings.trial_calls() => {
                self.trials_in_flight += 1;
                Ok(true)
            }
            BreakerState::HalfOpen => Err(Rejected {
                retry_after: MIN_RETRY_AFTER,
            }),
        }
    }

    fn record(
        &mut self,
        phase: u64,
        trial: bool,
        outcome: CallOutcome,
        now: Instant,
        log: &mut Vec<Transition>,
    ) {
        if phase != self.phase {
            return;
        }
        let failed = outcome == CallOutcome::Failure;
        if trial {
            self.trials_in_flight -= 1;
            if failed {
                self.wait = self.wait.saturating_mul(2).min(self.settings.max_wait);
                self.enter(BreakerState::Open, now, log);
                self.opened_with.0 = 1;
            } else {
                self.trial_successes += 1;
                if self.trial_successes >= u64::from(self.settings.trial_calls()) {
                    self.enter(BreakerState::Closed, now, log);
                }
            }
        } else {
            self.window.record(failed, now);
            let never_trips = self.defects.has(Defect::BreakerNeverTrips);
            if failed && !never_trips && self.window.threshold_reached(now) {
                let (failures, successes) = self.window.counts(now);
                if ratio_reached(failures, successes, self.settings.min_failure_ratio) {
                    self.enter(BreakerState::Open, now, log);
                }
            }
        }
    }

    /// A permit went away unrecorded: free its trial slot, count nothing.
    fn release(&mut self, phase: u64, trial: bool) {
        if trial && phase == self.phase {
            // Saturating: this runs in `Drop`, where a panic could abort.
            self.trials_in_flight = self.trials_in_flight.saturating_sub(1);
        }
    }

    fn reset(&mut self, now: Instant, log: &mut Vec<Transition>) {
        if self.state == BreakerState::Closed {
            // Not a state change: keep `since`, but start a clean phase.
            self.phase += 1;
            self.window.clear();
            self.wait = self.settings.initial_wait();
        } else {
            self.enter(BreakerState::Closed, now, log);
        }
    }

    fn force_open(&mut self, now: Instant, log: &mut Vec<Transition>) {
        self.enter(BreakerState::Open, now, log);
    }

    fn set_settings(&mut self, settings: BreakerSettings, now: Instant, log: &mut Vec<Transition>) {
        self.settings = settings;
        self.window
            .reshape(settings.window, settings.failure_threshold);
        match self.state {
            BreakerState::Closed => self.wait = settings.initial_wait(),
            BreakerState::Open => {
                self.wait = self.wait.min(settings.max_wait);
                self.open_until = self.open_until.min(self.since + self.wait);
            }
            BreakerState::HalfOpen => {
                self.wait = self.wait.min(settings.max_wait);
                if self.trial_successes >= u64::from(settings.trial_calls()) {
                    self.enter(BreakerState::Closed, now, log);
                }
            }
        }
        // A shortened wait may already be over.
        self.tick(now, log);
    }

    fn status(&self, name: &str, now: Instant) -> BreakerStatus {
        let (failures, successes) = match self.state {
            BreakerState::Closed => self.window.counts(now),
            BreakerState::Open => self.opened_with,
            BreakerState::HalfOpen => (0, self.trial_successes),
        };
        BreakerStatus {
            name: name.to_owned(),
            state: self.state,
            failures,
            successes,
            half_open_in_flight: self.trials_in_flight,
            trips: self.trips,
            since_transition_ms: now.duration_since(self.since).as_millis() as u64,
            next_attempt_in_ms: (self.state == BreakerState::Open)
                .then(|| ceil_millis(self.open_until.duration_since(now))),
            current_wait_ms: self.wait.as_millis() as u64,
        }
    }
}

/// Milliseconds rounded up, so a breaker still open never shows 0.
fn ceil_millis(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000) as u64
}

impl Breaker {
    /// A closed breaker named after the dependency it guards; `now` is also
    /// the origin of its ratio buckets.
    pub fn new(name: impl Into<String>, settings: BreakerSettings, now: Instant) -> Breaker {
        Breaker {
            shared: Arc::new(Shared {
                name: name.into(),
                core: Mutex::new(Core::new(settings, now)),
            }),
        }
    }

    /// Switches on the breaker's defect twins (deliberate bugs):
    /// `breaker-never-trips` (never opens on failures) and
    /// `breaker-stuck-open` (never leaves open). Other defects are ignored.
    pub fn set_defects(&self, defects: Defects) {
        self.shared.lock().defects = defects;
    }

    /// The dependency it guards.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Runs `f` on the core after the lazy transition, then logs.
    fn with_core<T>(
        &self,
        now: Instant,
        f: impl FnOnce(&mut Core, Instant, &mut Vec<Transition>) -> T,
    ) -> T {
        let mut log = Vec::new();
        let out = {
            let mut core = self.shared.lock();
            let now = core.tick(now, &mut log);
            f(&mut core, now, &mut log)
        };
        self.shared.emit(&log);
        out
    }

    /// Asks to make a call.
    ///
    /// Closed: always granted. Open: [`Rejected`] with the rest of the wait
    /// until it has passed; then the breaker goes half-open and this call is
    /// a trial. Half-open: granted while fewer than `half_open_max_calls`
    /// trials are in flight, otherwise rejected at once.
    ///
    /// The [`Permit`] must be handed back through [`Breaker::record`];
    /// dropping it instead frees its trial slot without counting anything.
    pub fn try_acquire(&self, now: Instant) -> Result<Permit, Rejected> {
        self.with_core(now, |core, now, _| {
            let trial = core.acquire(now)?;
            Ok(Permit {
                shared: Arc::clone(&self.shared),
                phase: core.phase,
                trial,
                settled: false,
            })
        })
    }

    /// Reports how a permitted call ended. The outcome goes to the breaker
    /// that issued the permit, and is ignored if that breaker changed state
    /// (or was reset or forced open) since.
    pub fn record(&self, mut permit: Permit, outcome: CallOutcome, now: Instant) {
        permit.settled = true;
        let shared = Arc::clone(&permit.shared);
        let mut log = Vec::new();
        {
            let mut core = shared.lock();
            let now = core.tick(now, &mut log);
            core.record(permit.phase, permit.trial, outcome, now, &mut log);
        }
        shared.emit(&log);
    }

    /// The state at `now` (an open breaker whose wait is over is half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        self.with_core(now, |core, _, _| core.state)
    }

    /// Everything `/circuit-breakers/status` shows, as of `now`.
    pub fn status(&self, now: Instant) -> BreakerStatus {
        self.with_core(now, |core, now, _| core.status(&self.shared.name, now))
    }

    /// Closes the breaker, clears its counts and trip counter, and puts the
    /// wait back to `retry_delay`. Outstanding permits become stale.
    pub fn reset(&self, now: Instant) {
        self.with_core(now, Core::reset);
    }

    /// Opens the breaker now with its current wait (for drills). Counts as a
    /// trip unless it was already open, in which case the wait restarts.
    pub fn force_open(&self, now: Instant) {
        self.with_core(now, Core::force_open);
    }

    /// Applies new settings at once. A changed window or threshold restarts
    /// the closed-state counting; the current wait is capped at the new
    /// `max_wait` (an open period shortened this way may end now); a closed
    /// breaker takes the new `retry_delay` as its next wait; a half-open one
    /// with enough trial successes for a lowered `half_open_max_calls` closes.
    pub fn set_settings(&self, settings: BreakerSettings, now: Instant) {
        self.with_core(now, |core, now, log| core.set_settings(settings, now, log));
    }

    /// How many times it has opened since creation or the last reset.
    pub fn trips(&self) -> u64 {
        self.shared.lock().trips
    }
}

/// Leave to make one call through a [`Breaker`].
///
/// Hand it back with [`Breaker::record`]. If it is dropped instead (the
/// caller gave up, or panicked), its half-open trial slot is freed and the
/// call counts as neither success nor failure. Recording consumes it, so no
/// call is counted twice.
#[derive(Debug)]
#[must_use = "a permit must be recorded, or its trial slot is only freed when dropped"]
pub struct Permit {
    shared: Arc<Shared>,
    phase: u64,
    trial: bool,
    settled: bool,
}

impl Permit {
    /// Whether this is a half-open trial call.
    pub fn is_trial(&self) -> bool {
        self.trial
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled {
            self.shared.lock().release(self.phase, self.trial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    fn fail(b: &Breaker, at: Instant) {
        let permit = b.try_acquire(at).expect("closed breaker admits");
        b.record(permit, CallOutcome::Failure, at);
    }

    fn succeed(b: &Breaker, at: Instant) {
        let permit = b.try_acquire(at).expect("breaker admits");
        b.record(permit, CallOutcome::Success, at);
    }

    #[test]
    fn nth_failure_one_nanosecond_inside_the_window_trips() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        for i in 0..4 {
            fail(&b, t0 + i * MS);
        }
        fail(&b, t0 + 10 * SEC - Duration::from_nanos(1));
        assert_eq!(b.state(t0 + 10 * SEC), BreakerState::Open);
        assert_eq!(b.trips(), 1);
    }

    #[test]
    fn nth_failure_exactly_one_window_later_does_not_trip() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        fail(&b, t0);
        for i in 1..4 {
            fail(&b, t0 + i * MS);
        }
        fail(&b, t0 + 10 * SEC);
        assert_eq!(b.state(t0 + 10 * SEC), BreakerState::Closed);
        // At 10.001 s the failure at 1 ms is exactly one window old too.
        fail(&b, t0 + 10 * SEC + MS);
        assert_eq!(b.state(t0 + 10 * SEC + MS), BreakerState::Closed);
        // At 10.0015 s the last five (2 ms .. 10.0015 s) are inside.
        let t1 = t0 + 10 * SEC + 3 * MS / 2;
        fail(&b, t1);
        assert_eq!(b.state(t1), BreakerState::Open);
    }

    #[test]
    fn outcome_of_a_call_started_before_opening_is_ignored() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        let late = b.try_acquire(t0).unwrap();
        for _ in 0..5 {
            fail(&b, t0);
        }
        // Half-open now; the late failure must not re-open it.
        let t1 = t0 + 5 * SEC;
        let trial = b.try_acquire(t1).unwrap();
        assert!(trial.is_trial());
        b.record(late, CallOutcome::Failure, t1);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert_eq!(b.status(t1).half_open_in_flight, 1);
        drop(trial);
        assert_eq!(b.status(t1).half_open_in_flight, 0);
    }

    #[test]
    fn time_never_runs_backwards_inside() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        b.force_open(t0 + 10 * SEC);
        // An older `now` from a slower thread sees the breaker as of the latest time.
        assert_eq!(b.status(t0).next_attempt_in_ms, Some(5000));
        assert_eq!(b.status(t0).since_transition_ms, 0);
    }

    #[test]
    fn half_open_is_dated_when_the_wait_ended() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        b.force_open(t0);
        let status = b.status(t0 + 7 * SEC);
        assert_eq!(status.state, BreakerState::HalfOpen);
        assert_eq!(status.since_transition_ms, 2000);
        assert_eq!(status.next_attempt_in_ms, None);
    }

    #[test]
    fn open_status_shows_the_counts_that_tripped_it() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        for _ in 0..3 {
            succeed(&b, t0);
        }
        for _ in 0..5 {
            fail(&b, t0);
        }
        let status = b.status(t0 + SEC);
        assert_eq!((status.failures, status.successes), (5, 3));
        assert_eq!(status.next_attempt_in_ms, Some(4000));
    }

    #[test]
    fn next_attempt_rounds_up() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        b.force_open(t0);
        let almost = t0 + 5 * SEC - Duration::from_nanos(1);
        assert_eq!(b.status(almost).next_attempt_in_ms, Some(1));
        assert_eq!(b.try_acquire(almost).unwrap_err().retry_after, MS);
    }

    #[test]
    fn shortened_max_wait_can_end_an_open_period_now() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        b.force_open(t0);
        let settings = BreakerSettings {
            max_wait: SEC,
            ..BreakerSettings::default()
        };
        b.set_settings(settings, t0 + 2 * SEC);
        assert_eq!(b.state(t0 + 2 * SEC), BreakerState::HalfOpen);
        assert_eq!(b.status(t0 + 2 * SEC).current_wait_ms, 1000);
    }

    #[test]
    fn lowered_trial_count_closes_a_half_open_breaker_that_already_has_enough() {
        let t0 = Instant::now();
        let b = Breaker::new("x", BreakerSettings::default(), t0);
        b.force_open(t0);
        let t1 = t0 + 5 * SEC;
        succeed(&b, t1);
        succeed(&b, t1);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        let settings = BreakerSettings {
            half_open_max_calls: 2,
            ..BreakerSettings::default()
        };
        b.set_settings(settings, t1);
        assert_eq!(b.state(t1), BreakerState::Closed);
    }

    #[test]
    fn zero_settings_act_as_one() {
        let t0 = Instant::now();
        let settings = BreakerSettings {
            failure_threshold: 0,
            half_open_max_calls: 0,
            ..BreakerSettings::default()
        };
        let b = Breaker::new("x", settings, t0);
        fail(&b, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        let t1 = t0 + 5 * SEC;
        let trial = b.try_acquire(t1).unwrap();
        assert!(b.try_acquire(t1).is_err());
        b.record(trial, CallOutcome::Success, t1);
        assert_eq!(b.state(t1), BreakerState::Closed);
    }

    #[test]
    fn first_wait_is_capped_too() {
        let t0 = Instant::now();
        let settings = BreakerSettings {
            retry_delay: 10 * SEC,
            max_wait: 2 * SEC,
            ..BreakerSettings::default()
        };
        let b = Breaker::new("x", settings, t0);
        b.force_open(t0);
        assert_eq!(b.status(t0).current_wait_ms, 2000);
    }

    #[test]
    fn rejected_displays_the_wait() {
        let rejected = Rejected {
            retry_after: 1500 * MS,
        };
        assert_eq!(
            rejected.to_string(),
            "circuit breaker refused the call; retry after 1500 ms"
        );
    }
}
