//! Circuit breakers on a fake clock (a base `Instant` plus `Duration`s):
//! tripping, failing fast, half-open trials, the doubling wait, the
//! registry, status, logging, and a model-based proptest.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use somon_system::{
    Breaker, BreakerSettings, BreakerState, BreakerStatus, Breakers, CallOutcome, Permit, Rejected,
};

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn defaults(t0: Instant) -> Breaker {
    Breaker::new("left-pad", BreakerSettings::default(), t0)
}

fn fail(b: &Breaker, at: Instant) {
    let permit = b.try_acquire(at).expect("breaker admits the call");
    b.record(permit, CallOutcome::Failure, at);
}

fn succeed(b: &Breaker, at: Instant) {
    let permit = b.try_acquire(at).expect("breaker admits the call");
    b.record(permit, CallOutcome::Success, at);
}

/// Trips a default breaker at `at` with five failures.
fn trip(b: &Breaker, at: Instant) {
    for _ in 0..5 {
        fail(b, at);
    }
    assert_eq!(b.state(at), BreakerState::Open);
}

#[test]
fn breakers_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Breaker>();
    assert_send_sync::<Breakers>();
    assert_send_sync::<Permit>();
}

#[test]
fn trips_on_the_fifth_failure_inside_the_window() {
    let t0 = Instant::now();
    let b = defaults(t0);
    for i in 0..4 {
        fail(&b, t0 + i * 2 * SEC);
        assert_eq!(b.state(t0 + i * 2 * SEC), BreakerState::Closed);
    }
    // Failures at 0, 2, 4, 6 and 9.999 s: five inside 10 s.
    let t = t0 + 9999 * MS;
    fail(&b, t);
    assert_eq!(b.state(t), BreakerState::Open);
    assert_eq!(b.trips(), 1);
}

#[test]
fn failures_spread_wider_than_the_window_never_trip() {
    let t0 = Instant::now();
    let b = defaults(t0);
    // One failure every 2.5 s: any 10 s window holds at most four.
    for i in 0..40 {
        let t = t0 + i * 2500 * MS;
        fail(&b, t);
        assert_eq!(b.state(t), BreakerState::Closed, "failure {i}");
    }
    assert_eq!(b.trips(), 0);
}

#[test]
fn many_successes_keep_it_closed() {
    let t0 = Instant::now();
    let b = defaults(t0);
    for _ in 0..20 {
        succeed(&b, t0);
    }
    for i in 0..19 {
        fail(&b, t0 + i * MS);
    }
    // 19 failures against 20 successes: ratio below 0.5.
    assert_eq!(b.state(t0 + SEC), BreakerState::Closed);
    fail(&b, t0 + SEC);
    // 20 : 20 reaches 0.5.
    assert_eq!(b.state(t0 + SEC), BreakerState::Open);
}

#[test]
fn open_fails_fast_with_the_rest_of_the_wait() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    assert_eq!(
        b.try_acquire(t0).unwrap_err(),
        Rejected {
            retry_after: 5 * SEC
        }
    );
    assert_eq!(
        b.try_acquire(t0 + 3250 * MS).unwrap_err().retry_after,
        1750 * MS
    );
    assert!(b.try_acquire(t0 + 5 * SEC).is_ok());
}

#[test]
fn half_open_admits_at_most_three_trials_and_rejects_the_rest_fast() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    let t1 = t0 + 5 * SEC;
    let trials: Vec<Permit> = (0..3).map(|_| b.try_acquire(t1).unwrap()).collect();
    assert!(trials.iter().all(Permit::is_trial));
    assert_eq!(b.state(t1), BreakerState::HalfOpen);
    for _ in 0..10 {
        assert_eq!(b.try_acquire(t1).unwrap_err().retry_after, MS);
    }
    assert_eq!(b.status(t1).half_open_in_flight, 3);
    // A finished trial frees its slot.
    let mut trials = trials.into_iter();
    b.record(trials.next().unwrap(), CallOutcome::Success, t1);
    assert!(b.try_acquire(t1).is_ok());
}

#[test]
fn three_trial_successes_close_and_clear_the_window() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    let t1 = t0 + 5 * SEC;
    for i in 0..3 {
        assert_eq!(b.state(t1), BreakerState::HalfOpen, "after {i} successes");
        succeed(&b, t1);
    }
    assert_eq!(b.state(t1), BreakerState::Closed);
    let status = b.status(t1);
    assert_eq!((status.failures, status.successes), (0, 0));
    // The five failures before opening no longer count.
    fail(&b, t1);
    assert_eq!(b.state(t1), BreakerState::Closed);
}

#[test]
fn wait_doubles_on_each_reopen_up_to_the_cap() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    let mut now = t0;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let status = b.status(now);
        assert_eq!(status.state, BreakerState::Open);
        waits.push(status.current_wait_ms / 1000);
        assert_eq!(status.next_attempt_in_ms, Some(status.current_wait_ms));
        let wait = Duration::from_millis(status.current_wait_ms);
        assert!(b.try_acquire(now + wait - MS).is_err());
        now += wait;
        fail(&b, now);
    }
    assert_eq!(waits, [5, 10, 20, 30, 30]);
    assert_eq!(b.trips(), 6);
    // Closing resets the wait.
    now += 30 * SEC;
    for _ in 0..3 {
        succeed(&b, now);
    }
    assert_eq!(b.status(now).current_wait_ms, 5000);
    trip(&b, now);
    assert_eq!(b.status(now).next_attempt_in_ms, Some(5000));
}

#[test]
fn reset_closes_clears_counts_and_wait_but_keeps_the_trip_count() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    let t1 = t0 + 5 * SEC;
    fail(&b, t1); // re-open: 10 s
    assert_eq!(b.status(t1).current_wait_ms, 10_000);
    b.reset(t1 + SEC);
    let status = b.status(t1 + 2 * SEC);
    assert_eq!(status.state, BreakerState::Closed);
    assert_eq!(status.current_wait_ms, 5000);
    assert_eq!(status.trips, 2);
    assert_eq!(status.since_transition_ms, 1000);
    assert_eq!((status.failures, status.successes), (0, 0));
    assert!(b.try_acquire(t1 + SEC).is_ok());
}

#[test]
fn force_open_opens_now_with_the_current_wait() {
    let t0 = Instant::now();
    let b = defaults(t0);
    b.force_open(t0);
    assert_eq!(b.state(t0), BreakerState::Open);
    assert_eq!(b.trips(), 1);
    assert_eq!(b.try_acquire(t0).unwrap_err().retry_after, 5 * SEC);
    // Forcing an open breaker restarts its wait without a new trip.
    b.force_open(t0 + 4 * SEC);
    assert_eq!(b.trips(), 1);
    assert_eq!(
        b.try_acquire(t0 + 4 * SEC).unwrap_err().retry_after,
        5 * SEC
    );
    // From half-open it keeps the current wait (no doubling).
    let t1 = t0 + 9 * SEC;
    assert_eq!(b.state(t1), BreakerState::HalfOpen);
    b.force_open(t1);
    assert_eq!(b.trips(), 2);
    assert_eq!(b.status(t1).current_wait_ms, 5000);
}

#[test]
fn dropped_permit_frees_its_slot_and_counts_nothing() {
    let t0 = Instant::now();
    let b = defaults(t0);
    trip(&b, t0);
    let t1 = t0 + 5 * SEC;
    let trials: Vec<Permit> = (0..3).map(|_| b.try_acquire(t1).unwrap()).collect();
    assert!(b.try_acquire(t1).is_err());
    drop(trials);
    let status = b.status(t1);
    assert_eq!(status.state, BreakerState::HalfOpen);
    assert_eq!(status.half_open_in_flight, 0);
    assert_eq!((status.failures, status.successes), (0, 0));
    // Three fresh trials are admitted, and three successes are still needed.
    for _ in 0..2 {
        succeed(&b, t1);
    }
    assert_eq!(b.state(t1), BreakerState::HalfOpen);
    succeed(&b, t1);
    assert_eq!(b.state(t1), BreakerState::Closed);
}

#[test]
fn dropped_closed_permit_counts_nothing() {
    let t0 = Instant::now();
    let b = defaults(t0);
    for _ in 0..10 {
        drop(b.try_acquire(t0).unwrap());
    }
    let status = b.status(t0);
    assert_eq!((status.failures, status.successes), (0, 0));
}

#[test]
fn status_fields() {
    let t0 = Instant::now();
    let b = defaults(t0);
    succeed(&b, t0);
    fail(&b, t0 + SEC);
    assert_eq!(
        b.status(t0 + 2 * SEC),
        BreakerStatus {
            name: "left-pad".into(),
            state: BreakerState::Closed,
            failures: 1,
            successes: 1,
            half_open_in_flight: 0,
            trips: 0,
            since_transition_ms: 2000,
            next_attempt_in_ms: None,
            current_wait_ms: 5000,
        }
    );
    for _ in 0..4 {
        fail(&b, t0 + 2 * SEC);
    }
    let open = b.status(t0 + 3 * SEC);
    assert_eq!(open.state, BreakerState::Open);
    assert_eq!((open.failures, open.successes), (5, 1));
    assert_eq!(open.since_transition_ms, 1000);
    assert_eq!(open.next_attempt_in_ms, Some(4000));
    assert_eq!(open.trips, 1);
    let trial = b.try_acquire(t0 + 7 * SEC).unwrap();
    let half = b.status(t0 + 7 * SEC);
    assert_eq!(half.state, BreakerState::HalfOpen);
    assert_eq!(half.half_open_in_flight, 1);
    assert_eq!(half.since_transition_ms, 0);
    b.record(trial, CallOutcome::Success, t0 + 7 * SEC);
    assert_eq!(b.status(t0 + 7 * SEC).successes, 1);

    let json = serde_json::to_value(b.status(t0 + 7 * SEC)).unwrap();
    assert_eq!(json["state"], "half-open");
    assert_eq!(json["halfOpenInFlight"], 0);
    assert_eq!(json["nextAttemptInMs"], serde_json::Value::Null);
}

#[test]
fn outcomes_age_out_of_the_status_counts() {
    let t0 = Instant::now();
    let b = defaults(t0);
    fail(&b, t0);
    succeed(&b, t0);
    assert_eq!(b.status(t0 + 9 * SEC).failures, 1);
    let later = b.status(t0 + 10 * SEC);
    assert_eq!((later.failures, later.successes), (0, 0));
}

#[test]
fn registry_operations() {
    let t0 = Instant::now();
    let breakers = Breakers::new(BreakerSettings::default());
    let b = breakers.get_or_create("zeta", t0);
    assert!(Arc::ptr_eq(&b, &breakers.get_or_create("zeta", t0)));
    breakers.get_or_create("alpha", t0);
    breakers.get_or_create("mid", t0);
    assert!(breakers.get("nope").is_none());
    let names: Vec<String> = breakers.statuses(t0).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);

    assert!(!breakers.any_open(t0));
    assert!(breakers.force_open("alpha", t0));
    assert!(!breakers.force_open("nope", t0));
    trip(&b, t0);
    assert!(breakers.any_open(t0));
    assert_eq!(breakers.total_trips(), 2);
    // Half-open does not count as open.
    assert!(!breakers.any_open(t0 + 5 * SEC));

    assert!(breakers.reset("zeta", t0));
    assert!(!breakers.reset("nope", t0));
    assert_eq!(b.state(t0), BreakerState::Closed);
    assert_eq!(breakers.total_trips(), 2, "a reset keeps the count");
    assert_eq!(breakers.reset_all(t0), 3);
    assert_eq!(breakers.total_trips(), 2);
    assert!(!breakers.any_open(t0));

    breakers.retain(&["zeta".to_string(), "other".to_string()]);
    let names: Vec<String> = breakers.statuses(t0).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["zeta"]);
    // A dropped breaker keeps working for whoever still holds it.
    let alpha = Breakers::new(BreakerSettings::default()).get_or_create("alpha", t0);
    assert!(alpha.try_acquire(t0).is_ok());
}

#[test]
fn registry_settings_apply_to_existing_and_new_breakers() {
    let t0 = Instant::now();
    let breakers = Breakers::new(BreakerSettings::default());
    let old = breakers.get_or_create("old", t0);
    let settings = BreakerSettings {
        failure_threshold: 2,
        retry_delay: SEC,
        ..BreakerSettings::default()
    };
    breakers.set_settings(settings, t0);
    assert_eq!(breakers.settings(), settings);
    let new = breakers.get_or_create("new", t0);
    for b in [&old, &new] {
        fail(b, t0);
        fail(b, t0);
        assert_eq!(b.state(t0), BreakerState::Open, "{}", b.name());
        assert_eq!(b.try_acquire(t0).unwrap_err().retry_after, SEC);
    }
}

/// Collects the fields of every `tracing` event as `name=value` strings.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Vec<String>>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(Vec<String>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push(format!("{}={:?}", field.name(), value));
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.0.push(format!("{}={}", field.name(), value));
            }
        }
        let mut fields = Fields(vec![format!("level={}", event.metadata().level())]);
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

#[test]
fn transitions_are_logged_with_breaker_fields() {
    use tracing_subscriber::layer::SubscriberExt;

    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    tracing::subscriber::with_default(subscriber, || {
        let t0 = Instant::now();
        let b = defaults(t0);
        trip(&b, t0);
        succeed(&b, t0 + 5 * SEC);
    });
    let events = events.0.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let opened = &events[0];
    for field in [
        "level=WARN",
        "breaker.name=left-pad",
        "breaker.from=closed",
        "breaker.to=open",
        "breaker.wait_ms=5000",
    ] {
        assert!(opened.iter().any(|f| f == field), "{field} in {opened:?}");
    }
    assert!(events[1].iter().any(|f| f == "breaker.to=half-open"));
    assert!(events[1].iter().any(|f| f == "level=INFO"));
}

// ---- model-based test ----

#[derive(Clone, Copy, Debug, PartialEq)]
enum ModelState {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

/// The state machine as the `Breaker` docs state it, keeping
/// every closed-state outcome so the window rules can be evaluated naively.
struct Model {
    settings: BreakerSettings,
    epoch: Instant,
    state: ModelState,
    outcomes: Vec<(Instant, bool)>,
    phase: u64,
    wait: Duration,
    in_flight: u32,
    trial_successes: u32,
    trips: u64,
}

impl Model {
    fn new(settings: BreakerSettings, now: Instant) -> Model {
        Model {
            settings,
            epoch: now,
            state: ModelState::Closed,
            outcomes: Vec::new(),
            phase: 0,
            wait: settings.retry_delay.min(settings.max_wait),
            in_flight: 0,
            trial_successes: 0,
            trips: 0,
        }
    }

    fn tick(&mut self, now: Instant) {
        if let ModelState::Open { until } = self.state {
            if now >= until {
                self.go(ModelState::HalfOpen);
            }
        }
    }

    fn go(&mut self, state: ModelState) {
        if matches!(state, ModelState::Open { .. })
            && !matches!(self.state, ModelState::Open { .. })
        {
            self.trips += 1;
        }
        if state == ModelState::Closed {
            self.outcomes.clear();
            self.wait = self.settings.retry_delay.min(self.settings.max_wait);
        }
        self.state = state;
        self.phase += 1;
        self.in_flight = 0;
        self.trial_successes = 0;
    }

    fn open(&mut self, now: Instant) {
        self.go(ModelState::Open {
            until: now + self.wait,
        });
    }

    fn bucket(&self, t: Instant) -> u128 {
        let width = (self.settings.window.as_nanos() / 10).max(1);
        (t - self.epoch).as_nanos() / width
    }

    /// `(failures, successes)` in the ten buckets ending with `now`'s.
    fn ratio_counts(&self, now: Instant) -> (u64, u64) {
        let current = self.bucket(now);
        let in_ratio = self
            .outcomes
            .iter()
            .filter(|(t, _)| self.bucket(*t) + 10 > current);
        let failures = in_ratio.clone().filter(|(_, failed)| *failed).count() as u64;
        (failures, in_ratio.count() as u64 - failures)
    }

    fn should_trip(&self, now: Instant) -> bool {
        let in_window = self
            .outcomes
            .iter()
            .filter(|(t, failed)| *failed && now - *t < self.settings.window)
            .count();
        let (failures, successes) = self.ratio_counts(now);
        in_window >= self.settings.failure_threshold.max(1) as usize
            && failures as f64 / (failures + successes) as f64 >= self.settings.min_failure_ratio
    }

    /// `Ok(is_trial)` or the expected `retry_after`.
    fn acquire(&mut self, now: Instant) -> Result<bool, Duration> {
        self.tick(now);
        match self.state {
            ModelState::Closed => Ok(false),
            ModelState::Open { until } => Err((until - now).max(MS)),
            ModelState::HalfOpen if self.in_flight < self.settings.half_open_max_calls.max(1) => {
                self.in_flight += 1;
                Ok(true)
            }
            ModelState::HalfOpen => Err(MS),
        }
    }

    fn record(&mut self, phase: u64, trial: bool, failed: bool, now: Instant) {
        self.tick(now);
        if phase != self.phase {
            return;
        }
        if trial {
            self.in_flight -= 1;
            if failed {
                self.wait = (self.wait * 2).min(self.settings.max_wait);
                self.open(now);
            } else {
                self.trial_successes += 1;
                if self.trial_successes >= self.settings.half_open_max_calls.max(1) {
                    self.go(ModelState::Closed);
                }
            }
        } else {
            self.outcomes.push((now, failed));
            if failed && self.should_trip(now) {
                self.open(now);
            }
        }
    }

    fn release(&mut self, phase: u64, trial: bool) {
        if trial && phase == self.phase {
            self.in_flight -= 1;
        }
    }

    fn reset(&mut self, now: Instant) {
        self.tick(now);
        self.go(ModelState::Closed);
    }

    fn force_open(&mut self, now: Instant) {
        self.tick(now);
        self.open(now);
    }
}

#[derive(Clone, Debug)]
enum Step {
    Acquire,
    Record {
        which: usize,
        failed: bool,
    },
    Drop {
        which: usize,
    },
    Advance {
        micros: u64,
    },
    /// Lands exactly on the end of the open wait, if open.
    AdvanceToDeadline,
    Reset,
    ForceOpen,
}

fn settings() -> impl Strategy<Value = BreakerSettings> {
    (
        1u32..=4,
        100u64..=1000,
        prop::sample::select(vec![0.0, 0.3, 0.5, 0.8, 1.0]),
        50u64..=500,
        50u64..=2000,
        1u32..=3,
    )
        .prop_map(
            |(threshold, window, ratio, retry, max_wait, trials)| BreakerSettings {
                failure_threshold: threshold,
                window: Duration::from_millis(window),
                min_failure_ratio: ratio,
                retry_delay: Duration::from_millis(retry),
                max_wait: Duration::from_millis(max_wait),
                half_open_max_calls: trials,
            },
        )
}

/// Steps for a window of `window_ms`: clock advances are mostly short (so
/// outcomes share a window) and sometimes land exactly on window or bucket
/// edges.
fn steps(window_ms: u64) -> impl Strategy<Value = Vec<Step>> {
    let window_us = window_ms * 1000;
    let advance = prop_oneof![
        4 => 0..=window_us / 5,
        2 => 0..=3 * window_us,
        1 => Just(window_us),
        1 => Just(window_us / 10),
        1 => Just(1u64),
    ]
    .prop_map(|micros| Step::Advance { micros });
    let step = prop_oneof![
        5 => Just(Step::Acquire),
        5 => (any::<usize>(), any::<bool>()).prop_map(|(which, failed)| Step::Record { which, failed }),
        1 => any::<usize>().prop_map(|which| Step::Drop { which }),
        4 => advance,
        1 => Just(Step::AdvanceToDeadline),
        1 => Just(Step::Reset),
        1 => Just(Step::ForceOpen),
    ];
    prop::collection::vec(step, 1..200)
}

fn scenario() -> impl Strategy<Value = (BreakerSettings, Vec<Step>)> {
    settings().prop_flat_map(|s| {
        let window_ms = s.window.as_millis() as u64;
        (Just(s), steps(window_ms))
    })
}

fn model_state(m: &Model) -> BreakerState {
    match m.state {
        ModelState::Closed => BreakerState::Closed,
        ModelState::Open { .. } => BreakerState::Open,
        ModelState::HalfOpen => BreakerState::HalfOpen,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn breaker_matches_the_reference_model((settings, steps) in scenario()) {
        let t0 = Instant::now();
        let mut now = t0;
        let breaker = Breaker::new("model", settings, t0);
        let mut model = Model::new(settings, t0);
        // Held permits with the model's phase and trial flag.
        let mut held: Vec<(Permit, u64, bool)> = Vec::new();

        for (i, step) in steps.iter().enumerate() {
            match *step {
                Step::Acquire => {
                    let real = breaker.try_acquire(now);
                    let expected = model.acquire(now);
                    match (real, expected) {
                        (Ok(permit), Ok(trial)) => {
                            prop_assert_eq!(permit.is_trial(), trial, "step {}", i);
                            held.push((permit, model.phase, trial));
                        }
                        (Err(rejected), Err(retry_after)) => {
                            prop_assert_eq!(rejected.retry_after, retry_after, "step {}", i);
                        }
                        (real, expected) => prop_assert!(
                            false,
                            "step {}: acquire gave {:?}, model {:?}",
                            i,
                            real.map(|p| p.is_trial()),
                            expected
                        ),
                    }
                }
                Step::Record { which, failed } if !held.is_empty() => {
                    let (permit, phase, trial) = held.swap_remove(which % held.len());
                    let outcome = if failed { CallOutcome::Failure } else { CallOutcome::Success };
                    breaker.record(permit, outcome, now);
                    model.record(phase, trial, failed, now);
                }
                Step::Drop { which } if !held.is_empty() => {
                    let (permit, phase, trial) = held.swap_remove(which % held.len());
                    drop(permit);
                    model.release(phase, trial);
                }
                Step::Record { .. } | Step::Drop { .. } => {}
                Step::Advance { micros } => now += Duration::from_micros(micros),
                Step::AdvanceToDeadline => {
                    if let ModelState::Open { until } = model.state {
                        now = until;
                    }
                }
                Step::Reset => {
                    breaker.reset(now);
                    model.reset(now);
                }
                Step::ForceOpen => {
                    breaker.force_open(now);
                    model.force_open(now);
                }
            }

            model.tick(now);
            let status = breaker.status(now);
            prop_assert_eq!(breaker.state(now), model_state(&model), "step {}: {:?}", i, step);
            prop_assert_eq!(status.state, model_state(&model), "step {}", i);
            prop_assert_eq!(breaker.trips(), model.trips, "step {}", i);
            prop_assert_eq!(status.trips, model.trips, "step {}", i);
            prop_assert_eq!(status.half_open_in_flight, model.in_flight, "step {}", i);
            prop_assert_eq!(status.current_wait_ms, model.wait.as_millis() as u64, "step {}", i);
            match model.state {
                ModelState::Closed => {
                    let counts = model.ratio_counts(now);
                    prop_assert_eq!((status.failures, status.successes), counts, "step {}", i);
                    prop_assert_eq!(status.next_attempt_in_ms, None);
                }
                ModelState::Open { until } => {
                    let left = (until - now).as_nanos().div_ceil(1_000_000) as u64;
                    prop_assert_eq!(status.next_attempt_in_ms, Some(left), "step {}", i);
                }
                ModelState::HalfOpen => {
                    prop_assert_eq!(status.successes, u64::from(model.trial_successes));
                    prop_assert_eq!(status.next_attempt_in_ms, None);
                }
            }
        }
    }
}
