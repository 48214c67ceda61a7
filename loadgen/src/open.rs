//! The open model: requests arrive on an [`ArrivalSchedule`], whatever the
//! target's latency, and each is timed from its intended send time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch, Notify};

use crate::client::{Conn, HttpClient};
use crate::measure::{InFlight, Key, Recorder};
use crate::request::Request;
use crate::run::{Model, RunOutput, StopCondition};
use crate::sampler::Sampler;
use crate::self_check::{CpuMeter, SelfCheck, ValidityLimits};
use crate::{ArrivalSchedule, Error, RequestSource, RunControl, Summary};

/// An open-model run: who to hit, on what schedule, within which bounds.
///
/// ```no_run
/// # async fn demo() -> Result<(), somon_loadgen::Error> {
/// use std::time::Duration;
/// use somon_loadgen::{ArrivalSchedule, OpenModel, Request, StopCondition};
///
/// let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(10))?;
/// let stop = StopCondition::new(Duration::from_secs(15), 10_000)?;
/// let run = OpenModel::new("http://127.0.0.1:8080", schedule, stop)
///     .run(Request::get("health", "/health"))
///     .await?;
/// println!("p99 {:?}, valid: {:?}", run.overall().p99, run.validity);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenModel {
    /// `http://host:port` of the target (plain HTTP/1.1).
    pub base_url: String,
    /// When requests are due.
    pub schedule: ArrivalSchedule,
    /// Hard bounds of the run.
    pub stop: StopCondition,
    /// Most requests in flight; a request due while the cap is reached is
    /// dropped and counted, never delayed (default 10 000).
    pub max_in_flight: u64,
    /// Per-request timeout, counted from the actual send (default 10 s).
    pub timeout: Duration,
    /// Phase name recorded in every key (default `main`).
    pub phase: String,
    /// Self-check thresholds.
    pub limits: ValidityLimits,
    /// Whether to poll the target's `/metrics` and breaker status.
    pub sample_target: bool,
    /// Early stop and live intervals.
    pub control: RunControl,
}

/// What the pacer thread did.
struct Paced {
    intended: u64,
    sent: u64,
    window: Duration,
}

impl OpenModel {
    /// A run with default cap, timeout, phase and limits, not sampling the
    /// target.
    pub fn new(base_url: &str, schedule: ArrivalSchedule, stop: StopCondition) -> OpenModel {
        OpenModel {
            base_url: base_url.to_owned(),
            schedule,
            stop,
            max_in_flight: 10_000,
            timeout: Duration::from_secs(10),
            phase: "main".to_owned(),
            limits: ValidityLimits::default(),
            sample_target: false,
            control: RunControl::default(),
        }
    }

    /// Runs the schedule against the target, sending what `source` yields.
    /// Must be called inside a multi-threaded Tokio runtime; the pacing runs
    /// on its own OS thread (`std::thread::sleep` is precise to ~0.1 ms,
    /// Tokio's timer only to 1 ms).
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a zero cap or a non-`http://` URL,
    /// [`Error::Pacer`] when the pacing thread fails, and
    /// [`Error::DrainTimeout`] when requests are still outstanding well after
    /// their timeout.
    #[tracing::instrument(skip_all, fields(load.model = "open", load.phase = %self.phase))]
    pub async fn run(&self, source: impl RequestSource + 'static) -> Result<RunOutput, Error> {
        if self.max_in_flight == 0 {
            return Err(Error::InvalidSetting {
                setting: "max_in_flight",
                reason: "must be positive".into(),
            });
        }
        let client = Arc::new(HttpClient::new(&self.base_url, self.timeout)?);
        let recorder = Recorder::new();
        self.control.attach(&recorder);
        let (stop_tx, stop_rx) = watch::channel(false);
        let ticker = recorder.spawn_ticker(stop_rx.clone());
        let sampler = self
            .sample_target
            .then(|| Sampler::new(&self.base_url).spawn(recorder.started(), stop_rx.clone()));
        let mut cpu = CpuMeter::start();

        let (done_tx, done_rx) = oneshot::channel();
        let pacing = Pacing {
            schedule: self.schedule.clone(),
            stop: self.stop,
            max_in_flight: self.max_in_flight,
            phase: self.phase.as_str().into(),
            recorder: recorder.clone(),
            client,
            runtime: tokio::runtime::Handle::current(),
            control: self.control.clone(),
        };
        std::thread::Builder::new()
            .name("loadgen-pacer".into())
            .spawn(move || {
                let paced = pacing.pace(source);
                let _ = done_tx.send(paced);
            })
            .map_err(|e| Error::Pacer {
                reason: e.to_string(),
            })?;
        let paced = done_rx.await.map_err(|_| Error::Pacer {
            reason: "the pacer thread panicked".into(),
        })?;

        let drained = self.drain(&recorder).await;
        let _ = stop_tx.send(true);
        let _ = ticker.await;
        let samples = match sampler {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        drained?;
        let (cpu_fraction, cores) = cpu.fraction();
        let measurement = recorder.finish();
        let completed = measurement.requests();
        let window = paced.window.as_secs_f64().max(1e-9);
        let self_check = SelfCheck {
            intended: paced.intended,
            sent: paced.sent,
            dropped: measurement.dropped,
            intended_per_sec: paced.intended as f64 / window,
            achieved_per_sec: completed as f64 / window,
            rate_ratio: if paced.intended == 0 {
                1.0
            } else {
                completed as f64 / paced.intended as f64
            },
            send_lag: measurement
                .send_lag
                .as_ref()
                .map(|h| Summary::of(h, paced.window))
                .unwrap_or_default(),
            cpu_fraction,
            cores,
        };
        let validity = self_check.validity(&self.limits, true);
        tracing::info!(
            load.requests = completed,
            load.achieved_per_sec = self_check.achieved_per_sec,
            load.valid = validity.is_valid(),
            "open-model run finished"
        );
        Ok(RunOutput::finish(
            Model::Open,
            self.phase.clone(),
            measurement,
            self_check,
            validity,
            samples,
        ))
    }

    /// Waits for in-flight requests: at most the timeout plus a second.
    async fn drain(&self, recorder: &Recorder) -> Result<(), Error> {
        let began = Instant::now();
        let limit = self.timeout + Duration::from_secs(1);
        while recorder.in_flight_now() > 0 {
            if began.elapsed() > limit {
                return Err(Error::DrainTimeout {
                    in_flight: recorder.in_flight_now(),
                    waited: began.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

/// Everything the pacer thread needs.
struct Pacing {
    schedule: ArrivalSchedule,
    stop: StopCondition,
    max_in_flight: u64,
    phase: Arc<str>,
    recorder: Recorder,
    client: Arc<HttpClient>,
    runtime: tokio::runtime::Handle,
    control: RunControl,
}

impl Pacing {
    /// Sleeps until `when`, in slices short enough that a cancellation is
    /// seen within 50 ms even at low rates.
    fn wait_until(&self, when: Instant) {
        const SLICE: Duration = Duration::from_millis(50);
        loop {
            let now = Instant::now();
            if now >= when || self.control.is_cancelled() {
                return;
            }
            std::thread::sleep((when - now).min(SLICE));
        }
    }

    /// Sends each request at its intended time; when behind, sends every
    /// due request at once (no request is skipped for being late — its
    /// lateness counts in its latency).
    ///
    /// Due requests are handed over in batches: every request due by now
    /// is queued under one lock before the pacer sleeps again (or after
    /// [`BATCH`] of them), and cancellation is checked once per wake-up.
    /// At high rates the pacer wakes far less often than it has requests
    /// to send (a sleep lasts at least the kernel's ~50 µs timer slack),
    /// so per-request locking and cancellation checks were most of its
    /// cost (see loadgen/README.md "Bench and the wrk comparison").
    fn pace(self, mut source: impl RequestSource) -> Paced {
        let start = self.recorder.started();
        let mut pacer = self.schedule.pacer();
        let mut intended_count = 0u64;
        let mut sent = 0u64;
        let queue = Arc::new(Queue::default());
        let mut workers = 0u64;
        let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
        let mut cancelled = self.control.is_cancelled();
        let window = loop {
            let Some(offset) = pacer.next() else {
                break self.schedule.duration().min(self.stop.max_duration);
            };
            if offset >= self.stop.max_duration {
                break self.stop.max_duration;
            }
            if intended_count >= self.stop.max_requests {
                break offset;
            }
            let intended = start + offset;
            if intended > Instant::now() {
                // Everything due so far goes out before the pacer sleeps.
                self.flush(&mut batch, &queue, &mut workers);
                self.wait_until(intended);
                cancelled = self.control.is_cancelled();
            }
            if intended_count.is_multiple_of(1024) {
                // A pacer that never sleeps (far behind, or dropping at the
                // cap) still sees a cancellation promptly.
                cancelled = cancelled || self.control.is_cancelled();
            }
            if cancelled {
                break start.elapsed().min(offset);
            }
            intended_count += 1;
            // Jobs in the batch already hold their in-flight guards, so the
            // cap counts them.
            if self.recorder.in_flight_now() >= self.max_in_flight {
                self.recorder.record_dropped();
                continue;
            }
            batch.push(Job {
                intended,
                request: source.next_request(),
                _guard: self.recorder.in_flight(),
            });
            if batch.len() >= BATCH {
                self.flush(&mut batch, &queue, &mut workers);
                cancelled = self.control.is_cancelled();
            }
            sent += 1;
        };
        self.flush(&mut batch, &queue, &mut workers);
        queue.close();
        Paced {
            intended: intended_count,
            sent,
            window,
        }
    }

    /// Queues the batch and makes sure it has workers: a due request never
    /// waits for a busy worker — when more are queued than workers are
    /// idle, more workers (connections) start, up to one per request in
    /// flight.
    fn flush(&self, batch: &mut Vec<Job>, queue: &Arc<Queue>, workers: &mut u64) {
        if batch.is_empty() {
            return;
        }
        let waiting = queue.push_all(batch);
        let idle = queue.idle.load(Ordering::Acquire);
        let mut missing = waiting.saturating_sub(idle);
        while missing > 0 && *workers < self.max_in_flight {
            missing -= 1;
            *workers += 1;
            self.runtime.spawn(worker(
                Arc::clone(queue),
                Arc::clone(&self.client),
                self.recorder.clone(),
                Arc::clone(&self.phase),
            ));
        }
    }
}

/// Most due requests the pacer collects before handing them over.
const BATCH: usize = 64;

/// One due request, in flight (counted against the cap) from the moment
/// the pacer queues it until its latency is recorded.
struct Job {
    intended: Instant,
    request: Request,
    _guard: InFlight,
}

/// The due requests the pacer hands to the connection workers.
#[derive(Default)]
struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    /// Wakes a worker waiting for a job (or all of them at the end).
    ready: Notify,
    /// Workers waiting for a job.
    idle: AtomicUsize,
    /// Set when the pacer is done: workers exit once the queue is empty.
    closed: AtomicBool,
}

impl Queue {
    /// Queues every job of `batch` (leaving it empty) under one lock,
    /// wakes a worker per job, and returns how many jobs wait.
    fn push_all(&self, batch: &mut Vec<Job>) -> usize {
        let added = batch.len();
        let waiting = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
            jobs.extend(batch.drain(..));
            jobs.len()
        };
        // One wake-up per job, as when they were queued one by one: a
        // worker between its last look at the queue and its wait is not
        // counted idle yet, but is registered with `Notify`.
        for _ in 0..added {
            self.ready.notify_one();
        }
        waiting
    }

    fn pop(&self) -> Option<Job> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
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
/// timer, and sends due requests one after another, each timed from its
/// intended send time.
async fn worker(queue: Arc<Queue>, client: Arc<HttpClient>, recorder: Recorder, phase: Arc<str>) {
    let mut conn: Option<Conn> = None;
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    while let Some(job) = queue.next().await {
        recorder.record_send_lag(Instant::now().saturating_duration_since(job.intended));
        let outcome = client.send(&mut conn, timer.as_mut(), &job.request).await;
        let key = Key {
            op: Arc::clone(&job.request.op),
            phase: Arc::clone(&phase),
            outcome,
        };
        recorder.record(&key, job.intended.elapsed());
    }
}
