//! P7: how long the breaker takes to close after its dependency returns,
//! against the wait it is configured with.
//!
//! The reference system fetches `lodash` from a fake registry on every
//! load (external cache off) while an open-loop client loads a module
//! importing it every 5 ms. Each repetition: the registry answers 503
//! until the breaker opens, then is healthy again at once (the
//! dependency's return); the time from there until the breaker reports
//! closed is divided by the configured wait (`retryDelayMs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use somon_chaos::{ErrorStatus, FakeRegistry, Package, RegistryConfig, RegistryFaults};
use somon_system::{generate, BreakerState, Config, CorpusSpec};

use super::{generator_runtime, median, Error, Goal, Options, Ratio, Raw};
use crate::targets;

pub(super) const ID: &str = "P7";
pub(super) const TITLE: &str =
    "breaker recovery after the dependency returns ÷ configured wait (retryDelayMs)";
pub(super) const GOAL: Goal = Goal::AtMost(1.1);

const WAIT: Duration = Duration::from_secs(2);
const EXTERNAL: &str = "lodash";
const TICK: Duration = Duration::from_millis(5);

/// Polls `breaker_state` every millisecond until it equals `want`.
fn wait_for(
    want: BreakerState,
    limit: Duration,
    mut state: impl FnMut() -> Option<BreakerState>,
) -> Result<Instant, Error> {
    let began = Instant::now();
    loop {
        if state() == Some(want) {
            return Ok(Instant::now());
        }
        if began.elapsed() > limit {
            return Err(Error::Failed(format!(
                "the breaker was not {want:?} within {limit:?} (last {:?})",
                state()
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub(super) fn measure(options: &Options) -> Result<Ratio, Error> {
    let runtime = generator_runtime()?;
    let registry = runtime.block_on(FakeRegistry::start(RegistryConfig::new(
        Package::named(&[EXTERNAL]),
        7,
    )))?;
    let dir = tempfile::tempdir()?;
    let corpus = generate(
        dir.path(),
        &CorpusSpec {
            modules: 30,
            seed: 3,
            externals: vec![EXTERNAL.to_owned()],
            external_fraction: 0.5,
            ..CorpusSpec::default()
        },
    )
    .map_err(Error::System)?;
    let module = corpus
        .modules
        .iter()
        .find(|m| !m.externals.is_empty())
        .ok_or_else(|| Error::Failed("no generated module imports the external".into()))?;
    let config = Config {
        externals: vec![EXTERNAL.to_owned()],
        external_registry: Some(registry.uri()),
        external_timeout_ms: 500,
        enable_external_cache: false,
        failure_threshold: 5,
        retry_delay_ms: WAIT.as_millis() as u64,
        timeout_ms: 30_000,
        half_open_max_calls: 3,
        ..Config::default()
    };
    let system = targets::system(dir.path(), config)?;
    let state = system
        .state()
        .ok_or_else(|| Error::Failed("no system state".into()))?
        .clone();
    let url = format!(
        "{}/modules/load?path={}",
        system.base_url(),
        module.id.as_str()
    );

    // Open-loop load: one request every TICK, none waiting for another.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        let client = reqwest::Client::new();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let _ = client.get(&url).send().await;
                });
            }
        })
    };
    let breaker_state = || {
        state
            .externals
            .breakers
            .get(EXTERNAL)
            .map(|b| b.state(Instant::now()))
    };
    let control = registry.control();
    let mut result = Ok(());
    let (mut recoveries, mut ratios, mut waits) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.repeats.max(1) {
        if let Err(e) = wait_for(BreakerState::Closed, Duration::from_secs(10), breaker_state) {
            result = Err(e);
            break;
        }
        control.set(RegistryFaults {
            error: Some(ErrorStatus {
                status: 503,
                probability: 1.0,
            }),
            ..RegistryFaults::default()
        });
        if let Err(e) = wait_for(BreakerState::Open, Duration::from_secs(10), breaker_state) {
            result = Err(e);
            break;
        }
        control.clear();
        let returned = Instant::now();
        if let Some(breaker) = state.externals.breakers.get(EXTERNAL) {
            waits.push(breaker.status(Instant::now()).current_wait_ms as f64);
        }
        match wait_for(BreakerState::Closed, WAIT * 5, breaker_state) {
            Ok(closed) => {
                let recovery = closed - returned;
                recoveries.push(recovery.as_secs_f64() * 1e3);
                ratios.push(recovery.as_secs_f64() / WAIT.as_secs_f64());
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = runtime.block_on(load);
    result?;
    Ok(Ratio::measured(
        ID,
        TITLE,
        GOAL,
        ratios,
        vec![
            Raw::new("recovery", median(&recoveries).unwrap_or(0.0), "ms"),
            Raw::new("configured wait (retryDelayMs)", WAIT.as_secs_f64() * 1e3, "ms"),
            Raw::new(
                "breaker's current wait when opened",
                median(&waits).unwrap_or(0.0),
                "ms",
            ),
        ],
        format!(
            "fake registry 503 until the breaker opens, then healthy; a load importing `{EXTERNAL}` every {} ms (external cache off); state polled every 1 ms; 3 trial successes close it",
            TICK.as_millis()
        ),
    ))
}
