//! Counters and latency histograms for load, compile, bundle and external
//! fetch: cumulative since start and over a sliding last-60-s
//! window.
//!
//! # Recording without one global lock
//!
//! Every HTTP request records, from many threads. Each thread is assigned
//! one of [`SHARDS`] shards round-robin on its first record; a shard is a
//! mutex around, per operation, the histogram of the *current* 10-s slot.
//! So a record takes one shard's mutex, which only threads sharing that
//! shard contend for, plus two relaxed atomic increments for the totals.
//!
//! When a shard's slot ages (a record arrives with a later 10-s epoch), the
//! shard folds the finished slot into the operation's *global* state under
//! the operation's own mutex — at most once per shard per operation every
//! 10 s. The global state holds the cumulative histogram and a ring of six
//! 10-s slots. A sample arriving with an older `now` than its shard's slot
//! (clocks injected by concurrent callers need not be monotonic) goes
//! straight to the global state.
//!
//! Reads lock the shards in index order and then the global state (the same
//! order a record folding a slot uses, so no deadlock), *clone* what they
//! need and merge after releasing the locks; recorders are blocked only for
//! the copies (tens of µs), not the merges.
//!
//! # The window
//!
//! The window is the merge of the slots whose 10-s epoch is one of the six
//! latest at `now`: it covers between 50 and 60 s of history. A slot
//! replaced in the ring was already added to the cumulative histogram.
//!
//! # Memory
//!
//! Histograms are allocated on first use and auto-resize: 16 KiB each while
//! latencies stay under ~2 ms, ~40 KiB up to ~16 ms, at most 136 KiB (60 s,
//! where larger values are clamped). Per operation in use there are at most
//! `SHARDS + 7` of them (shard slots, ring, cumulative): 15 × 4 operations
//! = 60 histograms, so ~1–2.5 MB typical and 8.2 MB worst case; operations
//! never recorded cost nothing.

mod latency;
mod prometheus;
mod report;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

pub use latency::{
    decode_histogram, HistogramDecodeError, LatencySummary, MAX_LATENCY_MICROS, SIGNIFICANT_DIGITS,
};
pub use report::MetricsReport;

use latency::{encode_histogram, merge, new_histogram, record_micros};

/// How many shards recording threads are spread over. Eight keeps two
/// threads per shard on a 16-thread runtime while bounding memory (see the
/// module docs).
pub const SHARDS: usize = 8;

/// Length of the sliding window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Granularity of the window: a sample leaves it 50–60 s after it was
/// recorded.
const SLOT_SECS: u64 = 10;
/// Slots in the ring; `SLOTS * SLOT_SECS` is the window.
const SLOTS: usize = 6;

/// What was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Serving one module load request (resolve, cache, compile on miss).
    Load,
    /// Compiling one module.
    Compile,
    /// Building one bundle.
    Bundle,
    /// Fetching one external module from the registry.
    External,
}

impl Op {
    /// Every operation, in report order.
    pub const ALL: [Op; 4] = [Op::Load, Op::Compile, Op::Bundle, Op::External];

    /// The key used in [`MetricsExport::ops`]: `load`, `compile`, `bundle`,
    /// `external`.
    pub fn name(self) -> &'static str {
        match self {
            Op::Load => "load",
            Op::Compile => "compile",
            Op::Bundle => "bundle",
            Op::External => "external",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whether a measured operation succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpOutcome {
    /// It produced its result.
    Ok,
    /// It failed; it is counted in `errors` and its latency still recorded.
    Error,
}

/// One operation's figures at a moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpSnapshot {
    /// Operations recorded since start.
    pub total: u64,
    /// Of those, failed ones.
    pub errors: u64,
    /// Latency since start.
    pub latency: LatencySummary,
    /// Latency over the window ([`WINDOW`]).
    pub window: LatencySummary,
    /// Operations recorded in the window.
    pub window_total: u64,
    /// Failed operations recorded in the window.
    pub window_errors: u64,
}

/// The full snapshot `GET /metrics/export` serves for offline analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsExport {
    /// Seconds since the metrics started.
    pub uptime: f64,
    /// Length of the window histograms, seconds.
    pub window_seconds: u64,
    /// Unit of every histogram value.
    pub unit: String,
    /// Per operation, keyed by [`Op::name`].
    pub ops: BTreeMap<String, OpExport>,
}

/// One operation in a [`MetricsExport`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpExport {
    /// Operations recorded since start.
    pub total: u64,
    /// Failed operations since start.
    pub errors: u64,
    /// Operations in the window.
    pub window_total: u64,
    /// Failed operations in the window.
    pub window_errors: u64,
    /// Summary of `histogram`.
    pub latency: LatencySummary,
    /// Summary of `window_histogram`.
    pub window: LatencySummary,
    /// Cumulative latency histogram (µs): base64 of the V2+deflate
    /// encoding; read it back with [`decode_histogram`].
    pub histogram: String,
    /// Window latency histogram (µs), encoded like `histogram`.
    pub window_histogram: String,
}

/// Counters and latency histograms shared by all request handlers.
///
/// Cheap to record into from many threads (see the module docs for the
/// sharding and the memory bound); reads merge and may take a millisecond.
///
/// ```
/// use std::time::{Duration, Instant};
/// use somon_system::{Metrics, Op, OpOutcome};
///
/// let start = Instant::now();
/// let metrics = Metrics::new(start);
/// metrics.record(Op::Load, OpOutcome::Ok, Duration::from_millis(4), start);
/// metrics.record(Op::Load, OpOutcome::Error, Duration::from_millis(8), start);
///
/// let later = start + Duration::from_secs(90);
/// let load = metrics.op(Op::Load, later);
/// assert_eq!((load.total, load.errors), (2, 1));
/// assert_eq!(load.window_total, 0); // both left the 60 s window
/// ```
pub struct Metrics {
    start: Instant,
    counters: [Counters; 4],
    shards: Box<[Shard]>,
    global: [Mutex<Global>; 4],
}

#[derive(Default)]
struct Counters {
    total: AtomicU64,
    errors: AtomicU64,
}

/// Aligned to its own cache lines so neighbouring shards' mutexes do not
/// bounce one line between cores.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<[Option<Slot>; 4]>);

/// Samples of one 10-s epoch.
#[derive(Clone)]
struct Slot {
    epoch: u64,
    histogram: Histogram<u64>,
    errors: u64,
}

impl Slot {
    fn new(epoch: u64) -> Slot {
        Slot {
            epoch,
            histogram: new_histogram(),
            errors: 0,
        }
    }

    fn record(&mut self, micros: u64, outcome: OpOutcome) {
        record_micros(&mut self.histogram, micros);
        if outcome == OpOutcome::Error {
            self.errors += 1;
        }
    }

    /// Whether this slot is still in the window when the latest epoch is
    /// `current`.
    fn in_window(&self, current: u64) -> bool {
        self.epoch + SLOTS as u64 > current
    }
}

/// One operation's history beyond the shards' current slots.
#[derive(Default)]
struct Global {
    cumulative: Option<Histogram<u64>>,
    ring: [Option<Slot>; SLOTS],
}

impl Global {
    /// The ring slot for `epoch`, reset if it holds an older epoch; `None`
    /// when it holds a newer one (then `epoch` is out of the window for
    /// good).
    fn ring_slot(&mut self, epoch: u64) -> Option<&mut Slot> {
        let slot = &mut self.ring[(epoch % SLOTS as u64) as usize];
        match slot {
            Some(held) if held.epoch > epoch => return None,
            Some(held) if held.epoch < epoch => {
                // Its samples are already in `cumulative`; reuse the memory.
                held.epoch = epoch;
                held.histogram.reset();
                held.errors = 0;
            }
            Some(_) => {}
            None => *slot = Some(Slot::new(epoch)),
        }
        slot.as_mut()
    }

    fn cumulative(&mut self) -> &mut Histogram<u64> {
        self.cumulative.get_or_insert_with(new_histogram)
    }

    /// Folds a finished shard slot in.
    fn absorb(&mut self, finished: &Slot) {
        merge(self.cumulative(), &finished.histogram);
        if let Some(slot) = self.ring_slot(finished.epoch) {
            merge(&mut slot.histogram, &finished.histogram);
            slot.errors += finished.errors;
        }
    }

    /// Records a sample older than its shard's current slot.
    fn record_late(&mut self, epoch: u64, micros: u64, outcome: OpOutcome) {
        record_micros(self.cumulative(), micros);
        if let Some(slot) = self.ring_slot(epoch) {
            slot.record(micros, outcome);
        }
    }
}

/// Copies taken under the locks, merged after releasing them.
struct Gathered {
    cumulative: Histogram<u64>,
    window: Histogram<u64>,
    window_errors: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while recording leaves at worst one sample half-counted;
    // metrics must keep working rather than poison every later request.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This thread's shard, assigned round-robin on first use so that threads
/// spread evenly (hashing thread ids can pile several onto one shard).
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}

impl Metrics {
    /// Empty metrics; `now` is the start of uptime and of the window epochs.
    pub fn new(now: Instant) -> Metrics {
        Metrics {
            start: now,
            counters: Default::default(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            global: Default::default(),
        }
    }

    /// Counts one operation and records its latency in microseconds, at 3
    /// significant digits; latencies above 60 s are recorded as 60 s.
    pub fn record(&self, op: Op, outcome: OpOutcome, latency: Duration, now: Instant) {
        self.record_in_shard(shard_index(), op, outcome, latency, now);
    }

    fn record_in_shard(
        &self,
        shard: usize,
        op: Op,
        outcome: OpOutcome,
        latency: Duration,
        now: Instant,
    ) {
        let counters = &self.counters[op.index()];
        counters.total.fetch_add(1, Ordering::Relaxed);
        if outcome == OpOutcome::Error {
            counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let epoch = self.epoch(now);

        let mut slots = lock(&self.shards[shard].0);
        let slot = &mut slots[op.index()];
        match slot {
            Some(current) if current.epoch == epoch => current.record(micros, outcome),
            Some(current) if current.epoch > epoch => {
                lock(&self.global[op.index()]).record_late(epoch, micros, outcome);
            }
            Some(current) => {
                lock(&self.global[op.index()]).absorb(current);
                current.epoch = epoch;
                current.histogram.reset();
                current.errors = 0;
                current.record(micros, outcome);
            }
            None => {
                let mut current = Slot::new(epoch);
                current.record(micros, outcome);
                *slot = Some(current);
            }
        }
    }

    /// The 10-s epoch `now` falls in; instants before the start count as
    /// epoch 0.
    fn epoch(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_secs() / SLOT_SECS
    }

    /// Copies one operation's histograms under the locks, then merges.
    fn gather(&self, op: Op, now: Instant) -> Gathered {
        let current = self.epoch(now);
        let (cumulative, shard_slots, ring_slots) = {
            let shards: Vec<_> = self.shards.iter().map(|shard| lock(&shard.0)).collect();
            let global = lock(&self.global[op.index()]);
            let shard_slots: Vec<Slot> = shards
                .iter()
                .filter_map(|slots| slots[op.index()].clone())
                .collect();
            let ring_slots: Vec<Slot> = global
                .ring
                .iter()
                .flatten()
                .filter(|slot| slot.in_window(current))
                .cloned()
                .collect();
            (global.cumulative.clone(), shard_slots, ring_slots)
        };
        let mut cumulative = cumulative.unwrap_or_else(new_histogram);
        let mut window = new_histogram();
        let mut window_errors = 0;
        // The shards' current slots are not yet in `cumulative`.
        for slot in &shard_slots {
            merge(&mut cumulative, &slot.histogram);
        }
        for slot in shard_slots.iter().chain(&ring_slots) {
            if slot.in_window(current) {
                merge(&mut window, &slot.histogram);
                window_errors += slot.errors;
            }
        }
        Gathered {
            cumulative,
            window,
            window_errors,
        }
    }

    /// One operation's counts and latency summaries, cumulative and over the
    /// window ending at `now`.
    pub fn op(&self, op: Op, now: Instant) -> OpSnapshot {
        let gathered = self.gather(op, now);
        let counters = &self.counters[op.index()];
        OpSnapshot {
            total: counters.total.load(Ordering::Relaxed),
            errors: counters.errors.load(Ordering::Relaxed),
            latency: LatencySummary::from_histogram(&gathered.cumulative),
            window: LatencySummary::from_histogram(&gathered.window),
            window_total: gathered.window.len(),
            window_errors: gathered.window_errors,
        }
    }

    /// The cumulative latency histogram of `op` in microseconds, merged
    /// across shards — for Prometheus buckets and export.
    pub fn histogram(&self, op: Op) -> Histogram<u64> {
        // The cumulative histogram does not depend on the window's end.
        self.gather(op, self.start).cumulative
    }

    /// Everything, including the histograms encoded for offline analysis.
    pub fn export(&self, now: Instant) -> MetricsExport {
        let ops = Op::ALL
            .iter()
            .map(|&op| {
                let gathered = self.gather(op, now);
                let counters = &self.counters[op.index()];
                let export = OpExport {
                    total: counters.total.load(Ordering::Relaxed),
                    errors: counters.errors.load(Ordering::Relaxed),
                    window_total: gathered.window.len(),
                    window_errors: gathered.window_errors,
                    latency: LatencySummary::from_histogram(&gathered.cumulative),
                    window: LatencySummary::from_histogram(&gathered.window),
                    histogram: encode_histogram(&gathered.cumulative),
                    window_histogram: encode_histogram(&gathered.window),
                };
                (op.name().to_owned(), export)
            })
            .collect();
        MetricsExport {
            uptime: self.uptime(now).as_secs_f64(),
            window_seconds: WINDOW.as_secs(),
            unit: "microseconds".to_owned(),
            ops,
        }
    }

    /// Time since [`Metrics::new`] (zero for an earlier `now`).
    pub fn uptime(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn recorded(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
        histogram
            .iter_recorded()
            .map(|value| (value.value_iterated_to(), value.count_at_value()))
            .collect()
    }

    fn assert_same(merged: &Histogram<u64>, reference: &Histogram<u64>) {
        assert_eq!(merged.len(), reference.len());
        assert_eq!(recorded(merged), recorded(reference));
        for quantile in [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(
                merged.value_at_quantile(quantile),
                reference.value_at_quantile(quantile)
            );
        }
        assert_eq!(
            LatencySummary::from_histogram(merged),
            LatencySummary::from_histogram(reference)
        );
    }

    proptest! {
        // Each case merges up to 60-s histograms; 64 cases keep the debug
        // build under a few seconds.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Spreading samples over shards and slots loses nothing: the
        /// merged cumulative and window histograms hold exactly what one
        /// histogram given every sample holds.
        #[test]
        fn sharding_is_invisible(
            mut samples in prop::collection::vec(
                (0..SHARDS, 0u64..120_000_000, 0u64..200, any::<bool>()),
                1..400,
            ),
        ) {
            // Time moves forward; the shard taking each sample is random.
            samples.sort_by_key(|&(_, _, secs, _)| secs);
            let start = Instant::now();
            let metrics = Metrics::new(start);
            let mut all = new_histogram();
            for &(shard, micros, secs, failed) in &samples {
                let outcome = if failed { OpOutcome::Error } else { OpOutcome::Ok };
                let now = start + Duration::from_secs(secs);
                metrics.record_in_shard(shard, Op::Load, outcome, Duration::from_micros(micros), now);
                record_micros(&mut all, micros);
            }
            let end = samples.last().map_or(0, |&(_, _, secs, _)| secs);
            let current = end / SLOT_SECS;
            let mut window = new_histogram();
            let mut window_errors = 0;
            for &(_, micros, secs, failed) in &samples {
                if secs / SLOT_SECS + SLOTS as u64 > current {
                    record_micros(&mut window, micros);
                    window_errors += u64::from(failed);
                }
            }

            let gathered = metrics.gather(Op::Load, start + Duration::from_secs(end));
            assert_same(&gathered.cumulative, &all);
            assert_same(&gathered.window, &window);
            prop_assert_eq!(gathered.window_errors, window_errors);
            let snapshot = metrics.op(Op::Load, start + Duration::from_secs(end));
            prop_assert_eq!(snapshot.total, samples.len() as u64);
            prop_assert_eq!(snapshot.errors, samples.iter().filter(|s| s.3).count() as u64);
        }
    }

    #[test]
    fn threads_spread_over_shards() {
        let shards: std::collections::HashSet<usize> = (0..SHARDS)
            .map(|_| std::thread::spawn(shard_index).join().unwrap())
            .collect();
        // Round-robin: SHARDS fresh threads (in this test binary, other
        // tests also take indices) still land on several distinct shards.
        assert!(shards.len() > 1);
    }
}
