//! Latency recording shared by both models: histograms keyed by
//! (op, phase, outcome), 1 s interval histograms, a per-interval time series.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::interval_log::IntervalLogWriter;
use crate::summary::Summary;

/// Highest latency a histogram holds: one hour, in µs (larger values are
/// clamped to it and still counted).
pub const MAX_LATENCY_MICROS: u64 = 3_600_000_000;

/// Significant decimal digits of every histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Number of independently locked recording shards.
const SHARDS: usize = 8;

/// A histogram of µs with this crate's bounds (1 µs .. 1 h, 3 digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// A 1xx, 2xx or 3xx response.
    Ok,
    /// A 4xx response.
    Status4xx,
    /// A 5xx response.
    Status5xx,
    /// No complete response within the request timeout.
    Timeout,
    /// The connection could not be established.
    Connect,
    /// The connection was reset or closed mid-request.
    Reset,
    /// Any other transport failure.
    Other,
}

impl RequestOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: [RequestOutcome; 7] = [
        RequestOutcome::Ok,
        RequestOutcome::Status4xx,
        RequestOutcome::Status5xx,
        RequestOutcome::Timeout,
        RequestOutcome::Connect,
        RequestOutcome::Reset,
        RequestOutcome::Other,
    ];

    /// The outcome named `name` by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<RequestOutcome> {
        RequestOutcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The outcome for an HTTP status code.
    pub fn from_status(status: u16) -> RequestOutcome {
        match status {
            400..=499 => RequestOutcome::Status4xx,
            500..=599 => RequestOutcome::Status5xx,
            _ => RequestOutcome::Ok,
        }
    }

    /// Whether this counts as an error.
    pub fn is_error(self) -> bool {
        self != RequestOutcome::Ok
    }

    /// Stable lower-case name (`ok`, `status_4xx`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Status4xx => "status_4xx",
            RequestOutcome::Status5xx => "status_5xx",
            RequestOutcome::Timeout => "timeout",
            RequestOutcome::Connect => "connect",
            RequestOutcome::Reset => "reset",
            RequestOutcome::Other => "other",
        }
    }
}

/// What a latency is recorded under: the journey or operation, the phase
/// of the run, and the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    /// Journey or operation, e.g. `load_cached`.
    pub op: Arc<str>,
    /// Phase of the scenario, e.g. `steady`.
    pub phase: Arc<str>,
    /// How the request ended.
    pub outcome: RequestOutcome,
}

impl Key {
    /// A key from its parts.
    pub fn new(op: &str, phase: &str, outcome: RequestOutcome) -> Key {
        Key {
            op: op.into(),
            phase: phase.into(),
            outcome,
        }
    }

    /// `op/phase/outcome`: the interval-log tag of this key, which
    /// [`str::parse`] reads back (`"load/steady/ok".parse::<Key>()`).
    ///
    /// Op and phase may be any string: the characters that would make the
    /// tag ambiguous or that an interval log cannot carry — `/`, `,`, space,
    /// CR, LF, and `%` itself — are written percent-encoded (`%2F`, `%2C`,
    /// `%20`, `%0D`, `%0A`, `%25`); other names are written as they are.
    ///
    /// ```
    /// use somon_loadgen::{Key, RequestOutcome};
    ///
    /// let key = Key::new("GET /modules", "warm-up", RequestOutcome::Timeout);
    /// assert_eq!(key.tag(), "GET%20%2Fmodules/warm-up/timeout");
    /// assert_eq!(key.tag().parse::<Key>().unwrap(), key);
    /// ```
    pub fn tag(&self) -> String {
        format!(
            "{}/{}/{}",
            escape(&self.op),
            escape(&self.phase),
            self.outcome.as_str()
        )
    }
}

impl std::str::FromStr for Key {
    type Err = crate::Error;

    /// Reads an interval-log tag written by [`Key::tag`].
    ///
    /// The outcome and the phase are split off from the right (outcomes
    /// are a closed set), so a tag with a raw `/` in the op (written before
    /// names were escaped) still reads as that op: `a/b/steady/ok` is op
    /// `a/b`, phase `steady`. A `%` not followed by one of the codes
    /// [`Key::tag`] writes stays a `%`.
    ///
    /// # Errors
    /// [`Error::KeyTag`](crate::Error::KeyTag) when the tag is not
    /// `op/phase/outcome` with a known outcome.
    fn from_str(tag: &str) -> Result<Key, crate::Error> {
        let bad = || crate::Error::KeyTag {
            tag: tag.to_owned(),
        };
        let (rest, outcome) = tag.rsplit_once('/').ok_or_else(bad)?;
        let outcome = RequestOutcome::from_name(outcome).ok_or_else(bad)?;
        let (op, phase) = rest.rsplit_once('/').ok_or_else(bad)?;
        Ok(Key::new(&unescape(op), &unescape(phase), outcome))
    }
}

/// The characters [`Key::tag`] percent-encodes, with their codes.
const ESCAPED: [(char, &str); 6] = [
    ('%', "%25"),
    ('/', "%2F"),
    (',', "%2C"),
    (' ', "%20"),
    ('\r', "%0D"),
    ('\n', "%0A"),
];

fn escape(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.contains(|c| ESCAPED.iter().any(|(e, _)| *e == c)) {
        return name.into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match ESCAPED.iter().find(|(e, _)| *e == c) {
            Some((_, code)) => out.push_str(code),
            None => out.push(c),
        }
    }
    out.into()
}

fn unescape(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.contains('%') {
        return name.into();
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ESCAPED.iter().find(|(_, code)| rest.starts_with(code)) {
            Some((c, code)) => {
                out.push(*c);
                rest = &rest[code.len()..];
            }
            None => {
                out.push('%');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// Error counts of one interval (or a whole run), by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// 4xx responses.
    pub status_4xx: u64,
    /// 5xx responses.
    pub status_5xx: u64,
    /// Timeouts.
    pub timeout: u64,
    /// Connection failures.
    pub connect: u64,
    /// Resets mid-request.
    pub reset: u64,
    /// Other transport failures.
    pub other: u64,
}

impl ErrorCounts {
    fn add(&mut self, outcome: RequestOutcome, n: u64) {
        match outcome {
            RequestOutcome::Ok => {}
            RequestOutcome::Status4xx => self.status_4xx += n,
            RequestOutcome::Status5xx => self.status_5xx += n,
            RequestOutcome::Timeout => self.timeout += n,
            RequestOutcome::Connect => self.connect += n,
            RequestOutcome::Reset => self.reset += n,
            RequestOutcome::Other => self.other += n,
        }
    }

    /// All errors together.
    pub fn total(&self) -> u64 {
        self.status_4xx + self.status_5xx + self.timeout + self.connect + self.reset + self.other
    }
}

/// One point of the per-interval time series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalPoint {
    /// Start of the interval since the run clock started.
    pub start: Duration,
    /// Length of the interval (1 s except the last).
    pub duration: Duration,
    /// Requests completed in the interval (any outcome).
    pub requests: u64,
    /// Errors among them, by kind.
    pub errors: ErrorCounts,
    /// Requests in flight when the interval closed.
    pub in_flight: u64,
    /// Most requests in flight at once during the interval.
    pub in_flight_peak: u64,
    /// Requests the open model dropped at its in-flight cap.
    pub dropped: u64,
}

/// Summary of one key over a whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeySummary {
    /// The key.
    pub key: Key,
    /// Its figures.
    pub summary: Summary,
}

/// What a [`Recorder`] holds at the end of a run.
#[derive(Clone, Debug, Default)]
pub struct Measurement {
    /// Whole-run histogram per key (µs).
    pub histograms: HashMap<Key, Histogram<u64>>,
    /// Whole-run send-lag histogram (µs; open model only, else empty).
    pub send_lag: Option<Histogram<u64>>,
    /// The interval log text.
    pub interval_log: String,
    /// The per-interval time series.
    pub series: Vec<IntervalPoint>,
    /// Requests dropped at the in-flight cap.
    pub dropped: u64,
    /// Run clock: time from the recorder's start to `finish`.
    pub elapsed: Duration,
}

struct Shard {
    latency: HashMap<Key, Histogram<u64>>,
    send_lag: Histogram<u64>,
}

struct Closed {
    last_tick: Duration,
    totals: HashMap<Key, Histogram<u64>>,
    send_lag: Histogram<u64>,
    log: IntervalLogWriter,
    series: Vec<IntervalPoint>,
    dropped: u64,
    live: Option<tokio::sync::mpsc::UnboundedSender<IntervalPoint>>,
}

struct Inner {
    started: Instant,
    shards: Vec<Mutex<Shard>>,
    in_flight: AtomicI64,
    in_flight_peak: AtomicI64,
    dropped: AtomicU64,
    sent_lag_seen: AtomicU64,
    closed: Mutex<Closed>,
}

/// Records latencies from many tasks with little contention: each thread
/// writes into one of a few shards (a short lock, uncontended in practice);
/// [`tick`](Recorder::tick) folds the shards into the interval log and the
/// whole-run histograms once a second.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::{Key, RequestOutcome, Recorder};
///
/// let recorder = Recorder::new();
/// recorder.record(&Key::new("get", "main", RequestOutcome::Ok), Duration::from_millis(20));
/// let m = recorder.finish();
/// let h = &m.histograms[&Key::new("get", "main", RequestOutcome::Ok)];
/// assert_eq!(h.len(), 1);
/// ```
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("elapsed", &self.inner.started.elapsed())
            .finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

thread_local! {
    static SHARD_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

fn shard_index() -> usize {
    SHARD_INDEX.with(|cell| match cell.get() {
        Some(i) => i,
        None => {
            let i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            cell.set(Some(i));
            i
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Adds `from` into `into`; both have this crate's bounds and values are
/// clamped when recorded, so the addition cannot go out of range.
fn merge_into(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    if let Err(e) = into.add(from) {
        tracing::warn!(error = ?e, "histogram merge lost values");
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Recorder {
    /// A recorder whose run clock starts now.
    pub fn new() -> Recorder {
        Recorder::starting_at(Instant::now())
    }

    /// A recorder whose run clock started at `started`.
    pub fn starting_at(started: Instant) -> Recorder {
        let wall = SystemTime::now()
            .checked_sub(started.elapsed())
            .unwrap_or_else(SystemTime::now);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    latency: HashMap::new(),
                    send_lag: new_histogram(),
                })
            })
            .collect();
        Recorder {
            inner: Arc::new(Inner {
                started,
                shards,
                in_flight: AtomicI64::new(0),
                in_flight_peak: AtomicI64::new(0),
                dropped: AtomicU64::new(0),
                sent_lag_seen: AtomicU64::new(0),
                closed: Mutex::new(Closed {
                    last_tick: Duration::ZERO,
                    totals: HashMap::new(),
                    send_lag: new_histogram(),
                    log: IntervalLogWriter::new(wall),
                    series: Vec::new(),
                    dropped: 0,
                    live: None,
                }),
            }),
        }
    }

    /// Sends every interval closed from now on to `live` as well.
    pub fn set_live(&self, live: tokio::sync::mpsc::UnboundedSender<IntervalPoint>) {
        lock(&self.inner.closed).live = Some(live);
    }

    /// The instant the run clock started.
    pub fn started(&self) -> Instant {
        self.inner.started
    }

    /// Time on the run clock.
    pub fn elapsed(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Records one request's latency (clamped to 1 µs .. 1 h).
    pub fn record(&self, key: &Key, latency: Duration) {
        let value = micros(latency).min(MAX_LATENCY_MICROS);
        let mut shard = lock(&self.inner.shards[shard_index()]);
        if let Some(h) = shard.latency.get_mut(key) {
            h.saturating_record(value);
        } else {
            let mut h = new_histogram();
            h.saturating_record(value);
            shard.latency.insert(key.clone(), h);
        }
    }

    /// Records how late a request left compared with its intended send time.
    pub fn record_send_lag(&self, lag: Duration) {
        let value = micros(lag).min(MAX_LATENCY_MICROS);
        self.inner.sent_lag_seen.store(1, Ordering::Relaxed);
        lock(&self.inner.shards[shard_index()])
            .send_lag
            .saturating_record(value);
    }

    /// Counts one request dropped at the in-flight cap.
    pub fn record_dropped(&self) {
        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a request as in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight {
        let now = self.inner.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.inner.in_flight_peak.fetch_max(now, Ordering::Relaxed);
        InFlight {
            recorder: self.clone(),
        }
    }

    /// Requests in flight now.
    pub fn in_flight_now(&self) -> u64 {
        u64::try_from(self.inner.in_flight.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Closes the current interval: folds every shard into the whole-run
    /// histograms, writes one interval-log line per key and appends a
    /// time-series point. Call once a second; [`finish`](Self::finish)
    /// closes the last, partial interval.
    pub fn tick(&self) {
        let now = self.elapsed();
        let mut interval: HashMap<Key, Histogram<u64>> = HashMap::new();
        let mut lag = new_histogram();
        for shard in &self.inner.shards {
            let mut shard = lock(shard);
            for (key, h) in shard.latency.iter_mut() {
                if h.is_empty() {
                    continue;
                }
                match interval.get_mut(key) {
                    Some(total) => merge_into(total, h),
                    None => {
                        interval.insert(key.clone(), h.clone());
                    }
                }
                h.reset();
            }
            if !shard.send_lag.is_empty() {
                merge_into(&mut lag, &shard.send_lag);
                shard.send_lag.reset();
            }
        }
        let in_flight = self.in_flight_now();
        let current = self.inner.in_flight.load(Ordering::Relaxed);
        let peak = self.inner.in_flight_peak.swap(current, Ordering::Relaxed);
        let dropped = self.inner.dropped.swap(0, Ordering::Relaxed);

        let mut closed = lock(&self.inner.closed);
        let start = closed.last_tick;
        let duration = now.saturating_sub(start);
        let mut point = IntervalPoint {
            start,
            duration,
            requests: 0,
            errors: ErrorCounts::default(),
            in_flight,
            in_flight_peak: u64::try_from(peak).unwrap_or(0),
            dropped,
        };
        let mut keys: Vec<_> = interval.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, h) in keys {
            point.requests += h.len();
            point.errors.add(key.outcome, h.len());
            if let Err(e) = closed.log.write(start, duration, Some(&key.tag()), &h) {
                tracing::warn!(error = %e, "interval log line lost");
            }
            match closed.totals.get_mut(&key) {
                Some(total) => merge_into(total, &h),
                None => {
                    closed.totals.insert(key, h);
                }
            }
        }
        merge_into(&mut closed.send_lag, &lag);
        closed.dropped += dropped;
        if let Some(live) = &closed.live {
            // A watcher that went away does not stop the run.
            let _ = live.send(point.clone());
        }
        closed.series.push(point);
        closed.last_tick = now;
    }

    /// Spawns a task that calls [`tick`](Self::tick) every second until
    /// `stop` resolves.
    pub fn spawn_ticker(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let recorder = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval_at(
                tokio::time::Instant::from_std(recorder.started() + Duration::from_secs(1)),
                Duration::from_secs(1),
            );
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => recorder.tick(),
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
            }
        })
    }

    /// Closes the last interval and returns everything recorded.
    pub fn finish(&self) -> Measurement {
        self.tick();
        let closed = lock(&self.inner.closed);
        let lag_seen = self.inner.sent_lag_seen.load(Ordering::Relaxed) == 1;
        Measurement {
            histograms: closed.totals.clone(),
            send_lag: lag_seen.then(|| closed.send_lag.clone()),
            interval_log: closed.log.finish(),
            series: closed.series.clone(),
            dropped: closed.dropped,
            elapsed: closed.last_tick,
        }
    }
}

/// Guard of one in-flight request (see [`Recorder::in_flight`]).
#[derive(Debug)]
pub struct InFlight {
    recorder: Recorder,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.recorder
            .inner
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl Measurement {
    /// Sum of the whole-run histograms whose key passes `keep`.
    pub fn merged(&self, keep: impl Fn(&Key) -> bool) -> Histogram<u64> {
        let mut total = new_histogram();
        for (key, h) in &self.histograms {
            if keep(key) {
                merge_into(&mut total, h);
            }
        }
        total
    }

    /// Per-key summaries, sorted by key; rates over the whole run.
    pub fn summaries(&self) -> Vec<KeySummary> {
        let mut out: Vec<KeySummary> = self
            .histograms
            .iter()
            .map(|(key, h)| KeySummary {
                key: key.clone(),
                summary: Summary::of(h, self.elapsed),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Errors over the whole run, by kind.
    pub fn errors(&self) -> ErrorCounts {
        let mut errors = ErrorCounts::default();
        for (key, h) in &self.histograms {
            errors.add(key.outcome, h.len());
        }
        errors
    }

    /// Requests completed over the whole run (any outcome).
    pub fn requests(&self) -> u64 {
        self.histograms.values().map(Histogram::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_fold_into_totals_and_series() {
        let recorder = Recorder::new();
        let ok = Key::new("a", "p", RequestOutcome::Ok);
        let bad = Key::new("a", "p", RequestOutcome::Status5xx);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..1000u64 {
                        recorder.record(&ok, Duration::from_micros(100 + i));
                    }
                    recorder.record(&bad, Duration::from_millis(1));
                });
            }
        });
        recorder.tick();
        recorder.record(&ok, Duration::from_millis(5));
        let m = recorder.finish();
        assert_eq!(m.histograms[&ok].len(), 4001);
        assert_eq!(m.errors().status_5xx, 4);
        assert_eq!(m.series.len(), 2);
        assert_eq!(m.series[0].requests, 4004);
        assert_eq!(m.series[1].requests, 1);
        let merged = crate::interval_log::merge(&m.interval_log, |_| true).unwrap();
        assert_eq!(merged.len(), 4005);
    }

    proptest::proptest! {
        #[test]
        fn tags_parse_back_into_their_keys(
            op in ".*",
            phase in ".*",
            outcome in proptest::sample::select(RequestOutcome::ALL.to_vec()),
        ) {
            let key = Key::new(&op, &phase, outcome);
            let tag = key.tag();
            proptest::prop_assert_eq!(tag.matches('/').count(), 2, "{}", tag);
            proptest::prop_assert!(!tag.contains([',', ' ', '\r', '\n']), "{}", tag);
            proptest::prop_assert_eq!(tag.parse::<Key>().ok(), Some(key));
        }
    }

    #[test]
    fn plain_names_are_tagged_as_they_are() {
        let key = Key::new("load_cached", "warm-up", RequestOutcome::Timeout);
        assert_eq!(key.tag(), "load_cached/warm-up/timeout");
        assert_eq!(key.tag().parse::<Key>().ok(), Some(key));
    }

    #[test]
    fn tags_split_outcome_and_phase_from_the_right() {
        // A raw `/` in a tag (never written by `Key::tag`) belongs to the op.
        assert_eq!(
            "a/b/c/ok".parse::<Key>().ok(),
            Some(Key::new("a/b", "c", RequestOutcome::Ok))
        );
        assert_eq!(
            "a%2Fb/c%2Fd/status_5xx".parse::<Key>().ok(),
            Some(Key::new("a/b", "c/d", RequestOutcome::Status5xx))
        );
        // A `%` that is not one of the codes stays.
        assert_eq!(
            "50%/100%25/ok".parse::<Key>().ok(),
            Some(Key::new("50%", "100%", RequestOutcome::Ok))
        );
        assert_eq!(
            "//reset".parse::<Key>().ok(),
            Some(Key::new("", "", RequestOutcome::Reset))
        );
        for bad in ["ops/steady/bogus", "ops/ok", "ops", "", "a/b/OK"] {
            let err = bad.parse::<Key>().unwrap_err();
            assert!(
                matches!(err, crate::Error::KeyTag { ref tag } if tag == bad),
                "{err}"
            );
        }
    }

    #[test]
    fn every_outcome_reads_back_from_its_name() {
        for outcome in RequestOutcome::ALL {
            assert_eq!(RequestOutcome::from_name(outcome.as_str()), Some(outcome));
        }
        assert_eq!(RequestOutcome::from_name("Ok"), None);
    }

    #[test]
    fn in_flight_guard_counts() {
        let recorder = Recorder::new();
        let a = recorder.in_flight();
        let b = recorder.in_flight();
        assert_eq!(recorder.in_flight_now(), 2);
        drop(a);
        drop(b);
        recorder.tick();
        let m = recorder.finish();
        assert_eq!(m.series[0].in_flight, 0);
        assert_eq!(m.series[0].in_flight_peak, 2);
    }
}
