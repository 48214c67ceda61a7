//! The closed-state outcome window: what decides whether a breaker trips.
//!
//! Memory is bounded whatever the call rate: the failure *count* uses the
//! timestamps of only the last `failure_threshold` failures (exact), and the
//! failure *ratio* uses per-bucket counts in a ring of [`BUCKETS`] time
//! buckets (approximate at the window's old edge, see [`OutcomeWindow`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many time buckets the ratio window is cut into.
pub(crate) const BUCKETS: u64 = 10;

/// Counts of one time bucket; `index` says which bucket of time it holds, so
/// a slot left over from an earlier lap of the ring is recognised as stale.
#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    index: u64,
    failures: u64,
    successes: u64,
}

/// Outcomes of calls made while closed.
///
/// - *Failure count* (exact): a failure recorded at `t` counts at `now` while
///   `now - t < window`. Only the last `threshold` failure times are kept,
///   which is enough to know whether at least `threshold` fall in the window:
///   that is true exactly when the oldest of the last `threshold` does.
/// - *Ratio* (approximate): time since `epoch` is cut into buckets of
///   `window / 10` (integer nanoseconds, at least 1 ns), numbered from 0.
///   At `now`, whose bucket is `b`, the ratio counts every outcome whose
///   bucket lies in `b-9 ..= b` — so it covers between 90 % and 100 % of the
///   window, forgetting the oldest partial bucket early.
#[derive(Debug)]
pub(crate) struct OutcomeWindow {
    epoch: Instant,
    window: Duration,
    bucket_nanos: u128,
    threshold: usize,
    failure_times: VecDeque<Instant>,
    ring: [Bucket; BUCKETS as usize],
}

impl OutcomeWindow {
    pub(crate) fn new(epoch: Instant, window: Duration, threshold: u32) -> OutcomeWindow {
        let threshold = threshold.max(1) as usize;
        OutcomeWindow {
            epoch,
            window,
            bucket_nanos: bucket_nanos(window),
            threshold,
            failure_times: VecDeque::with_capacity(threshold),
            ring: [Bucket::default(); BUCKETS as usize],
        }
    }

    /// Forgets every outcome (the breaker closed, or the window's shape changed).
    pub(crate) fn clear(&mut self) {
        self.failure_times.clear();
        self.ring = [Bucket::default(); BUCKETS as usize];
    }

    /// Adds one outcome at `now`; callers pass non-decreasing times.
    pub(crate) fn record(&mut self, failed: bool, now: Instant) {
        let index = self.bucket_index(now);
        let slot = &mut self.ring[(index % BUCKETS) as usize];
        if slot.index != index {
            *slot = Bucket {
                index,
                ..Bucket::default()
            };
        }
        if failed {
            slot.failures += 1;
            if self.failure_times.len() == self.threshold {
                self.failure_times.pop_front();
            }
            self.failure_times.push_back(now);
        } else {
            slot.successes += 1;
        }
    }

    /// Whether at least `threshold` failures fall inside the exact window.
    pub(crate) fn threshold_reached(&self, now: Instant) -> bool {
        self.failure_times.len() == self.threshold
            && self
                .failure_times
                .front()
                .is_some_and(|&oldest| now.saturating_duration_since(oldest) < self.window)
    }

    /// `(failures, successes)` in the bucketed ratio window at `now`.
    pub(crate) fn counts(&self, now: Instant) -> (u64, u64) {
        let current = self.bucket_index(now);
        self.ring
            .iter()
            .filter(|b| b.index <= current && b.index + BUCKETS > current)
            .fold((0, 0), |(f, s), b| (f + b.failures, s + b.successes))
    }

    /// Applies new settings; a change of window or threshold restarts the
    /// counting, because old outcomes cannot be re-bucketed and the failure
    /// times kept for a smaller threshold cannot serve a larger one.
    pub(crate) fn reshape(&mut self, window: Duration, threshold: u32) {
        let threshold = threshold.max(1) as usize;
        if window != self.window || threshold != self.threshold {
            self.window = window;
            self.bucket_nanos = bucket_nanos(window);
            self.threshold = threshold;
            self.clear();
        }
    }

    fn bucket_index(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos() / self.bucket_nanos;
        u64::try_from(nanos).unwrap_or(u64::MAX - BUCKETS)
    }
}

/// Width of one ratio bucket in nanoseconds (never zero).
pub(crate) fn bucket_nanos(window: Duration) -> u128 {
    (window.as_nanos() / u128::from(BUCKETS)).max(1)
}

/// The trip rule for the ratio: `failures / (failures + successes) >= min`.
pub(crate) fn ratio_reached(failures: u64, successes: u64, min_failure_ratio: f64) -> bool {
    let total = failures + successes;
    total > 0 && failures as f64 / total as f64 >= min_failure_ratio
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn keeps_only_threshold_failure_times() {
        let t0 = Instant::now();
        let mut w = OutcomeWindow::new(t0, 10 * SEC, 3);
        for i in 0..1000 {
            w.record(true, t0 + Duration::from_millis(i));
        }
        assert_eq!(w.failure_times.len(), 3);
        assert!(w.threshold_reached(t0 + SEC));
    }

    #[test]
    fn failure_leaves_the_exact_window_at_its_edge() {
        let t0 = Instant::now();
        let mut w = OutcomeWindow::new(t0, 10 * SEC, 2);
        w.record(true, t0);
        w.record(true, t0 + 5 * SEC);
        assert!(w.threshold_reached(t0 + 10 * SEC - Duration::from_nanos(1)));
        assert!(!w.threshold_reached(t0 + 10 * SEC));
    }

    #[test]
    fn ratio_forgets_buckets_older_than_the_window() {
        let t0 = Instant::now();
        let mut w = OutcomeWindow::new(t0, 10 * SEC, 5);
        w.record(false, t0);
        w.record(true, t0 + 9 * SEC);
        assert_eq!(w.counts(t0 + 9 * SEC), (1, 1));
        // Bucket 0 drops out once bucket 10 begins.
        assert_eq!(w.counts(t0 + 10 * SEC), (1, 0));
        assert_eq!(w.counts(t0 + 19 * SEC), (0, 0));
    }

    #[test]
    fn ring_slot_of_an_earlier_lap_is_reset() {
        let t0 = Instant::now();
        let mut w = OutcomeWindow::new(t0, 10 * SEC, 5);
        w.record(false, t0 + SEC);
        w.record(true, t0 + 11 * SEC);
        assert_eq!(w.counts(t0 + 11 * SEC), (1, 0));
    }

    #[test]
    fn ratio_rule() {
        assert!(ratio_reached(5, 5, 0.5));
        assert!(!ratio_reached(5, 6, 0.5));
        assert!(!ratio_reached(0, 0, 0.0));
        assert!(ratio_reached(1, 0, 1.0));
    }

    #[test]
    fn zero_window_never_counts_and_never_divides_by_zero() {
        let t0 = Instant::now();
        let mut w = OutcomeWindow::new(t0, Duration::ZERO, 1);
        w.record(true, t0);
        assert!(!w.threshold_reached(t0));
    }
}
