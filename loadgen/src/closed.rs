//! The closed model: a fixed number of users (Goose 0.19) each running
//! journeys back to back, with optional think time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::goose::{GooseUser, Scenario, Transaction, TransactionError};
use goose::GooseAttack;
use tokio::sync::watch;

use crate::base_url::BaseUrl;
use crate::journeys::JourneySource;
use crate::measure::{Key, Recorder};
use crate::request::Request;
use crate::run::{Model, RunOutput, StopCondition};
use crate::sampler::Sampler;
use crate::self_check::{CpuMeter, SelfCheck, ValidityLimits};
use crate::{Error, RequestOutcome, RunControl};

/// Goose keeps a process-wide killswitch and Ctrl-C handler: one attack at
/// a time.
static ONE_ATTACK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many users run, and how they start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Users {
    /// `count` users started at `per_sec` users per second, then held for
    /// `hold` (Goose's run time, counted once all users started).
    Fixed {
        /// Number of users.
        count: usize,
        /// Users started per second (Goose's increase rate).
        per_sec: u32,
        /// How long all users run together.
        hold: Duration,
    },
    /// A Goose test plan: `users,duration` steps, e.g. `"10,30s;1000,2m;0,0s"`.
    Plan(String),
}

/// A closed-model run.
///
/// ```no_run
/// # async fn demo() -> Result<(), somon_loadgen::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use somon_loadgen::{ClosedModel, StopCondition, Users, Workload};
///
/// let workload = Arc::new(Workload::new(vec!["main.som".into()], vec![], vec![], 1));
/// let stop = StopCondition::new(Duration::from_secs(30), 1_000_000)?;
/// let users = Users::Fixed { count: 100, per_sec: 50, hold: Duration::from_secs(20) };
/// let run = ClosedModel::new("http://127.0.0.1:8080", users, stop).run(workload).await?;
/// println!("p99 {:?}", run.overall().p99);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClosedModel {
    /// `http://host:port` of the target.
    pub base_url: String,
    /// Users and their start-up.
    pub users: Users,
    /// Hard bounds of the whole run, start-up included. Goose builds one
    /// HTTP client per user (with TLS roots): in a debug build 1000 users
    /// take ~20 s to start, so leave room beyond `hold`.
    pub stop: StopCondition,
    /// Wait between two journeys of a user, uniform in `[min, max]`
    /// (default none: back to back).
    pub think: (Duration, Duration),
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Phase name recorded in every key (default `main`).
    pub phase: String,
    /// Self-check thresholds (only CPU and drops apply here).
    pub limits: ValidityLimits,
    /// Whether to poll the target's `/metrics` and breaker status.
    pub sample_target: bool,
    /// Early stop and live intervals.
    pub control: RunControl,
}

/// What every Goose user shares.
struct Shared {
    /// Where requests go (reqwest is given whole URLs: Goose's own join
    /// would drop the base URL's path).
    base: BaseUrl,
    journeys: Arc<dyn JourneySource>,
    recorder: Recorder,
    phase: Arc<str>,
    issued: AtomicU64,
    max_requests: u64,
}

impl ClosedModel {
    /// A run without think time, default timeout, phase and limits.
    pub fn new(base_url: &str, users: Users, stop: StopCondition) -> ClosedModel {
        ClosedModel {
            base_url: base_url.to_owned(),
            users,
            stop,
            think: (Duration::ZERO, Duration::ZERO),
            timeout: Duration::from_secs(10),
            phase: "main".to_owned(),
            limits: ValidityLimits::default(),
            sample_target: false,
            control: RunControl::default(),
        }
    }

    /// Runs the users, each repeating journeys from `journeys`, against the
    /// target until the plan ends or the stop
    /// condition is reached. Goose never sees the process's arguments; it
    /// runs quietly (no telnet controller, no metrics print,
    /// no report files). Waits for any other closed-model run in the process
    /// to finish first.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for zero users, a bad think time or base
    /// URL ([`BaseUrl::parse`]), and
    /// [`Error::Goose`] when Goose rejects the configuration or fails.
    #[tracing::instrument(skip_all, fields(load.model = "closed", load.phase = %self.phase))]
    pub async fn run(&self, journeys: Arc<dyn JourneySource>) -> Result<RunOutput, Error> {
        if let Users::Fixed { count: 0, .. } | Users::Fixed { per_sec: 0, .. } = self.users {
            return Err(Error::InvalidSetting {
                setting: "users",
                reason: "users and their start rate must be positive".into(),
            });
        }
        let base = BaseUrl::parse(&self.base_url).map_err(|reason| Error::InvalidSetting {
            setting: "base_url",
            reason,
        })?;
        let _one = ONE_ATTACK.lock().await;
        let recorder = Recorder::new();
        self.control.attach(&recorder);
        let shared = Arc::new(Shared {
            base,
            journeys,
            recorder: recorder.clone(),
            phase: self.phase.as_str().into(),
            issued: AtomicU64::new(0),
            max_requests: self.stop.max_requests,
        });
        let attack = self.attack(Arc::clone(&shared))?;

        let (stop_tx, stop_rx) = watch::channel(false);
        let ticker = recorder.spawn_ticker(stop_rx.clone());
        let sampler = self
            .sample_target
            .then(|| Sampler::new(&self.base_url).spawn(recorder.started(), stop_rx.clone()));
        // Goose bounds the run by its run time; this watchdog also holds
        // the plan form to `max_duration`.
        let max_duration = self.stop.max_duration;
        let control = self.control.clone();
        let watchdog = tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(max_duration) => {
                    goose::trigger_killswitch("somon-loadgen: max duration reached");
                }
                _ = control.cancelled() => {
                    goose::trigger_killswitch("somon-loadgen: run cancelled");
                }
            }
        });
        let mut cpu = CpuMeter::start();
        let result = attack.execute().await;
        watchdog.abort();
        goose::reset_killswitch();
        let _ = stop_tx.send(true);
        let _ = ticker.await;
        let samples = match sampler {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        result?;
        let (cpu_fraction, cores) = cpu.fraction();
        let measurement = recorder.finish();
        let completed = measurement.requests();
        let secs = measurement.elapsed.as_secs_f64().max(1e-9);
        let issued = shared.issued.load(Ordering::Relaxed);
        let self_check = SelfCheck {
            intended: issued,
            sent: issued,
            dropped: 0,
            intended_per_sec: completed as f64 / secs,
            achieved_per_sec: completed as f64 / secs,
            rate_ratio: 1.0,
            send_lag: crate::Summary::default(),
            cpu_fraction,
            cores,
        };
        let validity = self_check.validity(&self.limits, false);
        tracing::info!(
            load.requests = completed,
            load.per_sec = self_check.achieved_per_sec,
            load.valid = validity.is_valid(),
            "closed-model run finished"
        );
        Ok(RunOutput::finish(
            Model::Closed,
            self.phase.clone(),
            measurement,
            self_check,
            validity,
            samples,
        ))
    }

    /// Builds the Goose attack: one scenario, one transaction that runs a
    /// journey picked from the workload.
    fn attack(&self, shared: Arc<Shared>) -> Result<GooseAttack, Error> {
        let config = GooseConfiguration::parse_args_default(&[] as &[&str])?;
        let transaction = Transaction::new(Arc::new(move |user: &mut GooseUser| {
            let shared = Arc::clone(&shared);
            Box::pin(async move { shared.iterate(user).await })
        }))
        .set_name("journey");
        let mut scenario = Scenario::new("somon").register_transaction(transaction);
        let (min, max) = self.think;
        if !max.is_zero() {
            scenario = scenario.set_wait_time(min, max)?;
        }
        let timeout = format!("{}", self.timeout.as_secs_f64());
        let mut attack = GooseAttack::initialize_with_config(config)?
            .register_scenario(scenario)
            .set_default(GooseDefault::Host, self.base_url.as_str())?
            .set_default(GooseDefault::NoTelnet, true)?
            .set_default(GooseDefault::NoPrintMetrics, true)?
            .set_default(GooseDefault::NoErrorSummary, true)?
            .set_default(GooseDefault::NoAutoStart, false)?
            .set_default(GooseDefault::Quiet, 1usize)?
            .set_default(GooseDefault::Timeout, timeout.as_str())?;
        attack = match &self.users {
            Users::Fixed {
                count,
                per_sec,
                hold,
            } => attack
                .set_default(GooseDefault::Users, *count)?
                .set_default(GooseDefault::IncreaseRate, per_sec.to_string().as_str())?
                .set_default(
                    GooseDefault::RunTime,
                    usize::try_from(hold.as_secs().max(1)).unwrap_or(usize::MAX),
                )?,
            Users::Plan(plan) => attack.set_default(GooseDefault::TestPlan, plan.as_str())?,
        };
        Ok(*attack)
    }
}

impl Shared {
    /// One journey of one user: its requests in order, each timed around
    /// the whole exchange (send to last body byte) and recorded.
    async fn iterate(&self, user: &mut GooseUser) -> Result<(), Box<TransactionError>> {
        for request in self.journeys.next_requests() {
            let issued = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
            if issued > self.max_requests {
                goose::trigger_killswitch("somon-loadgen: request ceiling reached");
                // Goose calls the transaction again until it sees the
                // killswitch: without an await here a user past the ceiling
                // spins on its worker thread, starving the tasks that end
                // the attack (and a target on the same runtime).
                tokio::task::yield_now().await;
                return Ok(());
            }
            let in_flight = self.recorder.in_flight();
            let started = Instant::now();
            let outcome = send(user, &self.base, &request).await;
            drop(in_flight);
            let key = Key {
                op: Arc::clone(&request.op),
                phase: Arc::clone(&self.phase),
                outcome,
            };
            self.recorder.record(&key, started.elapsed());
            if issued == self.max_requests {
                goose::trigger_killswitch("somon-loadgen: request ceiling reached");
            }
        }
        Ok(())
    }
}

/// Sends `request` with the user's reqwest client directly rather than
/// through `GooseUser::request`, which takes only the six methods Goose
/// names; the latency is timed and recorded by the caller either way (the
/// run does not use Goose's own metrics).
async fn send(user: &mut GooseUser, base: &BaseUrl, request: &Request) -> RequestOutcome {
    if !request.is_well_formed() {
        return RequestOutcome::Other;
    }
    let url = base.url_of(&request.path);
    let mut builder = user.client.request(request.method.clone(), url);
    for (name, value) in request.headers.iter() {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &request.body {
        if request.header("content-type").is_none() {
            builder = builder.header("content-type", "application/json");
        }
        builder = builder.body(body.clone());
    } else if request.says_empty_body() {
        builder = builder.body(bytes::Bytes::new());
    }
    if let Some(timeout) = request.timeout {
        builder = builder.timeout(timeout);
    }
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(_) => RequestOutcome::from_status(status),
                Err(e) => classify_reqwest(&e),
            }
        }
        Err(e) => classify_reqwest(&e),
    }
}

fn classify_reqwest(error: &reqwest::Error) -> RequestOutcome {
    if error.is_timeout() {
        RequestOutcome::Timeout
    } else if error.is_connect() {
        RequestOutcome::Connect
    } else {
        crate::client::classify(error)
    }
}
