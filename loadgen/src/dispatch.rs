//! How the open model's due requests reach its connection workers.
//!
//! One shared [`Dispatch`] holds the schedule's cursor (the next request
//! not yet decided), the request source and the queue of handed-over
//! requests. Both the pacer thread and the workers *advance* the cursor:
//! every request whose intended time has come is decided there and then —
//! sent if fewer than `max_in_flight` are in flight, otherwise dropped and
//! counted. A worker that has just finished a response advances it itself
//! and keeps the first request it sends (no hand-over, no wake-up of
//! another thread): at high rates the workers pace themselves. The pacer
//! thread only steps in when no busy worker is about to: when no worker is
//! busy, when no response has come back lately, or when the oldest due
//! request has waited [`HANDOFF_GRACE`]. It then queues what is due and
//! wakes idle workers, starting another (one more keep-alive connection)
//! when more requests wait than workers are idle.
//!
//! Every request is timed from its intended send time wherever it is
//! sent, so waiting for a busy worker only shows in the latencies (and in
//! the send lag), never hides.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::client::{Conn, HttpClient};
use crate::measure::{InFlight, Key, Recorder};
use crate::request::Request;
use crate::run::StopCondition;
use crate::schedule::Position;
use crate::{ArrivalSchedule, RequestSource, RunControl};

/// Longest a due request is left for a busy worker to pick up before the
/// pacer hands it over (or drops it at the cap) itself. Short against any
/// latency worth measuring; long against the ~10 µs between responses at
/// the rates where workers pace themselves, so the pacer thread sleeps
/// through those runs instead of waking the runtime per request.
const HANDOFF_GRACE: Duration = Duration::from_micros(200);

/// The pacer sleeps at most this long at once, so a cancellation is seen
/// promptly even at low rates.
const SLICE: Duration = Duration::from_millis(50);

/// `next_due` once the schedule is over.
const ENDED: u64 = u64::MAX;

/// What was paced, for the self-check.
pub(crate) struct Paced {
    pub(crate) intended: u64,
    pub(crate) sent: u64,
    pub(crate) window: Duration,
}

/// The state shared by the pacer thread and the connection workers.
pub(crate) struct Dispatch {
    cursor: Mutex<Cursor>,
    /// Intended offset (ns from `start`) of the next undecided request, or
    /// [`ENDED`]; read without the lock to see whether anything is due.
    next_due: AtomicU64,
    /// When (ns from `start`) a worker last finished a response.
    last_done: AtomicU64,
    queue: Queue,
    /// Workers started so far (at most `max_in_flight`).
    workers: AtomicU64,
    start: Instant,
    max_in_flight: u64,
    recorder: Recorder,
    client: Arc<HttpClient>,
    phase: Arc<str>,
    runtime: tokio::runtime::Handle,
}

/// The schedule's cursor and what advancing it needs.
struct Cursor {
    schedule: ArrivalSchedule,
    position: Position,
    /// Offset of the next undecided request (`None` past the schedule).
    next: Option<Duration>,
    source: Box<dyn RequestSource>,
    stop: StopCondition,
    intended: u64,
    sent: u64,
    /// Set when the schedule is over: the window it covered.
    window: Option<Duration>,
}

/// One due request, in flight (counted against the cap) from the moment
/// it is decided until its latency is recorded.
struct Job {
    intended: Instant,
    request: Request,
    _guard: InFlight,
}

/// Everything a [`Dispatch`] is made from.
pub(crate) struct Setup {
    pub(crate) schedule: ArrivalSchedule,
    pub(crate) stop: StopCondition,
    pub(crate) max_in_flight: u64,
    pub(crate) recorder: Recorder,
    pub(crate) client: Arc<HttpClient>,
    pub(crate) phase: Arc<str>,
    pub(crate) runtime: tokio::runtime::Handle,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(ENDED - 1)
}

impl Dispatch {
    pub(crate) fn new(setup: Setup, source: Box<dyn RequestSource>) -> Arc<Dispatch> {
        let mut position = Position::default();
        let next = position.advance(&setup.schedule);
        Arc::new(Dispatch {
            next_due: AtomicU64::new(next.map_or(0, nanos)),
            cursor: Mutex::new(Cursor {
                schedule: setup.schedule,
                position,
                next,
                source,
                stop: setup.stop,
                intended: 0,
                sent: 0,
                window: None,
            }),
            last_done: AtomicU64::new(0),
            queue: Queue::default(),
            workers: AtomicU64::new(0),
            start: setup.recorder.started(),
            max_in_flight: setup.max_in_flight,
            recorder: setup.recorder,
            client: setup.client,
            phase: setup.phase,
            runtime: setup.runtime,
        })
    }

    fn since_start(&self, t: Instant) -> u64 {
        nanos(t.saturating_duration_since(self.start))
    }

    /// Decides every request due by `now`: sent while fewer than the cap
    /// are in flight, dropped otherwise. With `take`, the first one sent is
    /// returned for the caller (a worker with a free connection) to send;
    /// the others are queued for other workers. Also ends the schedule
    /// when a bound is reached. When behind, every due request is decided
    /// at once — none is skipped for being late; its lateness counts in
    /// its latency.
    fn advance(self: &Arc<Self>, now: Instant, take: bool) -> Option<Job> {
        let now_offset = now.saturating_duration_since(self.start);
        let mut mine = None;
        let mut queued: Option<MutexGuard<'_, VecDeque<Job>>> = None;
        let mut added = 0;
        {
            let mut cursor = lock(&self.cursor);
            let c = &mut *cursor;
            while c.window.is_none() {
                let Some(offset) = c.next else {
                    c.window = Some(c.schedule.duration().min(c.stop.max_duration));
                    break;
                };
                if offset >= c.stop.max_duration {
                    c.window = Some(c.stop.max_duration);
                    break;
                }
                if c.intended >= c.stop.max_requests {
                    c.window = Some(offset);
                    break;
                }
                if offset > now_offset {
                    break;
                }
                c.intended += 1;
                c.next = c.position.advance(&c.schedule);
                // Requests already decided hold their in-flight guards, so
                // the cap counts them.
                if self.recorder.in_flight_now() >= self.max_in_flight {
                    self.recorder.record_dropped();
                    continue;
                }
                let job = Job {
                    intended: self.start + offset,
                    request: c.source.next_request(),
                    _guard: self.recorder.in_flight(),
                };
                c.sent += 1;
                if take && mine.is_none() {
                    mine = Some(job);
                } else {
                    queued
                        .get_or_insert_with(|| lock(&self.queue.jobs))
                        .push_back(job);
                    added += 1;
                }
            }
            let next_due = match (c.window, c.next) {
                (None, Some(next)) => nanos(next),
                _ => ENDED,
            };
            self.next_due.store(next_due, Ordering::Release);
        }
        if let Some(jobs) = queued {
            let waiting = jobs.len();
            drop(jobs);
            self.wake(added, waiting);
        }
        mine
    }

    /// Wakes a worker per queued job and makes sure they have workers: a
    /// queued request never waits for a busy worker — when more are queued
    /// than workers are idle, more workers (connections) start, up to one
    /// per request in flight.
    fn wake(self: &Arc<Self>, added: usize, waiting: usize) {
        // One wake-up per job: a worker between its last look at the queue
        // and its wait is not counted idle yet, but is registered with
        // `Notify`.
        for _ in 0..added {
            self.queue.ready.notify_one();
        }
        let idle = self.queue.idle.load(Ordering::Acquire);
        for _ in idle..waiting {
            let started = self
                .workers
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                    (w < self.max_in_flight).then_some(w + 1)
                });
            if started.is_err() {
                break;
            }
            self.runtime.spawn(worker(Arc::clone(self)));
        }
    }

    /// Ends the schedule now (cancelled): nothing more is sent.
    fn cancel(&self, now: Instant) {
        let mut c = lock(&self.cursor);
        if c.window.is_none() {
            let elapsed = now.saturating_duration_since(self.start);
            c.window = Some(c.next.map_or(elapsed, |next| elapsed.min(next)));
        }
        self.next_due.store(ENDED, Ordering::Release);
    }

    /// Whether some worker is sending (started and not waiting for a job).
    fn busy(&self) -> bool {
        let idle = u64::try_from(self.queue.idle.load(Ordering::Acquire)).unwrap_or(u64::MAX);
        self.workers.load(Ordering::Acquire) > idle
    }

    /// The pacer thread: sleeps until a request is due, then leaves it to
    /// the busy workers if one is likely to finish within
    /// [`HANDOFF_GRACE`] (some worker is busy and responses are coming
    /// back), or decides it — and everything else due — itself. Returns
    /// once the schedule is over or `control` is cancelled; the workers
    /// then finish what is queued and exit.
    pub(crate) fn pace(self: &Arc<Self>, control: &RunControl) -> Paced {
        let grace = nanos(HANDOFF_GRACE);
        loop {
            if control.is_cancelled() {
                self.cancel(Instant::now());
            }
            let next_due = self.next_due.load(Ordering::Acquire);
            if next_due == ENDED {
                break;
            }
            let now = Instant::now();
            let now_ns = self.since_start(now);
            let wake_at = if next_due > now_ns {
                next_due
            } else if now_ns - next_due < grace
                && self.busy()
                && now_ns.saturating_sub(self.last_done.load(Ordering::Acquire)) < grace
            {
                next_due + grace
            } else {
                self.advance(now, false);
                continue;
            };
            let sleep = Duration::from_nanos(wake_at - now_ns).min(SLICE);
            std::thread::sleep(sleep);
        }
        self.queue.close();
        let c = lock(&self.cursor);
        Paced {
            intended: c.intended,
            sent: c.sent,
            window: c.window.unwrap_or_default(),
        }
    }
}

/// The due requests handed to idle connection workers.
#[derive(Default)]
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// Wakes a worker waiting for a job (or all of them at the end).
    ready: Notify,
    /// Workers waiting for a job.
    idle: AtomicUsize,
    /// Set when the schedule is over: workers exit once the queue is empty.
    closed: AtomicBool,
}

impl Queue {
    fn pop(&self) -> Option<Job> {
        lock(&self.jobs).pop_front()
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_waiters();
    }

    /// The next job, waiting for one; `None` once closed and drained.
    async fn next(&self) -> Option<Job> {
        loop {
            if let Some(job) = self.pop() {
                return Some(job);
            }
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(job) = self.pop() {
                return Some(job);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            self.idle.fetch_add(1, Ordering::AcqRel);
            notified.await;
            self.idle.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A connection worker: owns one keep-alive connection and one timeout
/// timer, and sends requests one after another, each timed from its
/// intended send time. After each response it takes the next request
/// itself — one already queued, else the oldest one due now — and only
/// waits on the queue when nothing is due.
async fn worker(dispatch: Arc<Dispatch>) {
    let mut conn: Option<Conn> = None;
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match dispatch.queue.next().await {
                Some(job) => job,
                None => return,
            },
        };
        let recorder = &dispatch.recorder;
        recorder.record_send_lag(Instant::now().saturating_duration_since(job.intended));
        let outcome = dispatch
            .client
            .send(&mut conn, timer.as_mut(), &job.request)
            .await;
        let key = Key {
            op: Arc::clone(&job.request.op),
            phase: Arc::clone(&dispatch.phase),
            outcome,
        };
        let done = Instant::now();
        recorder.record(&key, done.saturating_duration_since(job.intended));
        // Frees this request's place under the cap before deciding the next.
        drop(job);
        let done_ns = dispatch.since_start(done);
        dispatch.last_done.store(done_ns, Ordering::Release);
        next = dispatch.queue.pop();
        if next.is_none() && dispatch.next_due.load(Ordering::Acquire) <= done_ns {
            next = dispatch.advance(done, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A dispatch over 1 000/s (one request per ms) whose workers are never
    /// run: the tests advance the cursor by hand at chosen times.
    fn dispatch(cap: u64, max_requests: u64, runtime: &tokio::runtime::Runtime) -> Arc<Dispatch> {
        let setup = Setup {
            schedule: ArrivalSchedule::constant(1000.0, Duration::from_secs(1)).unwrap(),
            stop: StopCondition::new(Duration::from_secs(10), max_requests).unwrap(),
            max_in_flight: cap,
            recorder: Recorder::new(),
            client: Arc::new(
                HttpClient::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap(),
            ),
            phase: "main".into(),
            runtime: runtime.handle().clone(),
        };
        Dispatch::new(setup, Box::new(Request::get("t", "/")))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn at(d: &Dispatch, micros: u64) -> Instant {
        d.start + Duration::from_micros(micros)
    }

    #[test]
    fn a_worker_takes_the_oldest_due_and_the_cap_drops_the_rest() {
        let rt = runtime();
        let d = dispatch(2, 5, &rt);
        let first = d.advance(at(&d, 500), true).expect("request 0 is due");
        assert_eq!(first.intended, d.start);
        assert_eq!(d.next_due.load(Ordering::Acquire), 1_000_000);
        // Nothing due yet: nothing decided.
        assert!(d.advance(at(&d, 900), true).is_none());
        // Requests 1, 2 and 3 are due: 1 takes the last place under the
        // cap, 2 and 3 are dropped, never delayed.
        let second = d.advance(at(&d, 3_500), true).expect("request 1");
        assert_eq!(second.intended, at(&d, 1_000));
        assert_eq!(d.recorder.in_flight_now(), 2);
        {
            let c = lock(&d.cursor);
            assert_eq!((c.intended, c.sent), (4, 2));
        }
        assert!(d.queue.pop().is_none());
        drop((first, second));
        // Request 4 is the last one the ceiling allows; the schedule ends
        // at the offset of the next.
        let last = d.advance(at(&d, 9_000), true).expect("request 4");
        assert_eq!(last.intended, at(&d, 4_000));
        assert_eq!(d.next_due.load(Ordering::Acquire), ENDED);
        assert!(d.advance(at(&d, 20_000), true).is_none());
        let c = lock(&d.cursor);
        assert_eq!((c.intended, c.sent), (5, 3));
        assert_eq!(c.window, Some(Duration::from_millis(5)));
        assert_eq!(d.recorder.finish().dropped, 2);
    }

    #[test]
    fn the_pacer_queues_what_is_due_and_a_cancel_ends_the_schedule() {
        let rt = runtime();
        let d = dispatch(10, 100, &rt);
        assert!(d.advance(at(&d, 2_500), false).is_none());
        let queued: Vec<_> = std::iter::from_fn(|| d.queue.pop()).collect();
        assert_eq!(queued.len(), 3, "requests 0, 1 and 2, queued in order");
        assert!(queued.windows(2).all(|w| w[0].intended < w[1].intended));
        // A worker was started per queued job (none was idle).
        assert_eq!(d.workers.load(Ordering::Acquire), 3);
        d.cancel(at(&d, 2_700));
        assert_eq!(d.next_due.load(Ordering::Acquire), ENDED);
        assert!(d.advance(at(&d, 50_000), true).is_none());
        assert_eq!(lock(&d.cursor).window, Some(Duration::from_micros(2_700)));
    }

    proptest! {
        /// Whoever advances the cursor, and whenever: every request is
        /// decided once, in order, never before its time, and never more
        /// than the cap are in flight.
        #[test]
        fn every_due_request_is_decided_once_within_the_cap(
            steps in prop::collection::vec((0u64..4_000, any::<bool>(), 0usize..4), 1..60),
            cap in 1u64..6,
        ) {
            let rt = runtime();
            let d = dispatch(cap, 1_000, &rt);
            let mut now = 0;
            let mut held: Vec<Job> = Vec::new();
            let mut last_intended = None;
            for (gap, take, finish) in steps {
                now += gap;
                let mine = d.advance(at(&d, now), take);
                prop_assert!(take || mine.is_none());
                // The caller's own request is the oldest decided; the
                // queued ones follow in order.
                let decided: Vec<Job> = mine.into_iter().chain(std::iter::from_fn(|| d.queue.pop())).collect();
                for job in &decided {
                    prop_assert!(job.intended <= at(&d, now));
                    prop_assert!(last_intended.is_none_or(|l| l < job.intended));
                    last_intended = Some(job.intended);
                }
                held.extend(decided);
                prop_assert!(d.recorder.in_flight_now() <= cap);
                prop_assert_eq!(d.recorder.in_flight_now(), held.len() as u64);
                // Finish the oldest (any order would do).
                held.drain(..finish.min(held.len()));
            }
            let c = lock(&d.cursor);
            let due = now / 1_000 + 1;
            prop_assert_eq!(c.intended, due.min(1_000));
            drop(c);
            let sent = lock(&d.cursor).sent;
            prop_assert_eq!(d.recorder.finish().dropped + sent, due.min(1_000));
        }
    }
}
