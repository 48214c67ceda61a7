//! The open model: requests arrive on an [`ArrivalSchedule`], whatever the
//! target's latency, and each is timed from its intended send time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::client::HttpClient;
use crate::dispatch::{Dispatch, Setup};
use crate::measure::Recorder;
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
        let dispatch = Dispatch::new(
            Setup {
                schedule: self.schedule.clone(),
                stop: self.stop,
                max_in_flight: self.max_in_flight,
                recorder: recorder.clone(),
                client,
                phase: self.phase.as_str().into(),
                runtime: tokio::runtime::Handle::current(),
            },
            Box::new(source),
        );
        let control = self.control.clone();
        std::thread::Builder::new()
            .name("loadgen-pacer".into())
            .spawn(move || {
                let paced = dispatch.pace(&control);
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
