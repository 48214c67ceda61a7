//! P1 (cached-load throughput against a trivial endpoint's) and P3 (our
//! open-model generator's ceiling against `wrk`'s).

use std::time::Duration;

use somon_loadgen::{ArrivalSchedule, OpenModel, Request, StopCondition};
use somon_system::{generate, Config, CorpusSpec, Validation};

use super::{generator_runtime, median, wrk, Error, Goal, Options, Ratio, Raw};
use crate::targets;

pub(super) const P1: &str = "P1";
pub(super) const P1_TITLE: &str =
    "cached-load req/s ÷ trivial axum \"hello\" req/s (same generator and connections)";
pub(super) const P1_GOAL: Goal = Goal::AtLeast(0.8);
pub(super) const P3: &str = "P3";
pub(super) const P3_TITLE: &str = "open-model generator's max req/s ÷ wrk's, same hello endpoint";
pub(super) const P3_GOAL: Goal = Goal::AtLeast(0.7);

/// Far above what one core can generate: the open model then runs at its
/// ceiling, shedding what exceeds the in-flight cap.
const FLOOD_RATE: f64 = 400_000.0;

/// Our open model flat out against `url`: completed requests per second
/// of its schedule window, and how many failed.
pub(super) fn open_model_max(
    base: &str,
    path: &str,
    options: &Options,
) -> Result<(f64, u64), Error> {
    let runtime = generator_runtime()?;
    let schedule = ArrivalSchedule::constant(FLOOD_RATE, options.run_time)?;
    let stop = StopCondition::new(options.run_time, u64::MAX)?;
    let mut model = OpenModel::new(base, schedule, stop);
    model.max_in_flight = u64::from(options.connections);
    let run = runtime.block_on(model.run(Request::get("flood", path)))?;
    Ok((run.self_check.achieved_per_sec, run.errors.total()))
}

pub(super) fn p1(options: &Options) -> Result<Ratio, Error> {
    let corpus_dir = tempfile::tempdir()?;
    let corpus = generate(
        corpus_dir.path(),
        &CorpusSpec {
            modules: 100,
            seed: 11,
            ..CorpusSpec::default()
        },
    )
    .map_err(Error::System)?;
    // A module of median size: the typical cached load.
    let mut by_size: Vec<_> = corpus.modules.iter().collect();
    by_size.sort_by_key(|m| m.bytes);
    let module = by_size[by_size.len() / 2];
    let hello = targets::hello()?;
    let system = targets::system(corpus_dir.path(), Config::default())?;
    let state = system
        .state()
        .ok_or_else(|| Error::Failed("no system state".into()))?;
    state
        .loader
        .load(module.id.as_str(), std::time::Instant::now())
        .map_err(Error::System)?;
    let misses_before = state.loader.cache().stats().misses;
    // The same system with hits trusted (`cacheValidation: none`): shows
    // how much of the gap is the per-hit stat.
    let trusting = targets::system(
        corpus_dir.path(),
        Config {
            cache_validation: Validation::None,
            ..Config::default()
        },
    )?;
    trusting
        .state()
        .ok_or_else(|| Error::Failed("no system state".into()))?
        .loader
        .load(module.id.as_str(), std::time::Instant::now())
        .map_err(Error::System)?;
    let cached_path = format!("/modules/load?path={}", module.id.as_str());
    let hello_url = format!("{}/hello", hello.base_url());
    let cached_url = format!("{}{cached_path}", system.base_url());
    let trusting_url = format!("{}{cached_path}", trusting.base_url());

    let use_wrk = wrk::wrk(&hello_url, Duration::from_secs(1), options.connections).is_ok();
    let (mut hello_rates, mut cached_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut trusting_rates = Vec::new();
    for _ in 0..options.repeats.max(1) {
        let (h, c, t) = if use_wrk {
            let h = wrk::wrk(&hello_url, options.run_time, options.connections)?;
            let c = wrk::wrk(&cached_url, options.run_time, options.connections)?;
            let t = wrk::wrk(&trusting_url, options.run_time, options.connections)?;
            if h.errors + c.errors + t.errors > 0 {
                return Err(Error::Failed(format!(
                    "wrk saw errors: hello {}, cached load {}, unvalidated {}",
                    h.errors, c.errors, t.errors
                )));
            }
            (h.requests_per_sec, c.requests_per_sec, t.requests_per_sec)
        } else {
            let (h, he) = open_model_max(&hello.base_url(), "/hello", options)?;
            let (c, ce) = open_model_max(&system.base_url(), &cached_path, options)?;
            let (t, te) = open_model_max(&trusting.base_url(), &cached_path, options)?;
            if he + ce + te > 0 {
                return Err(Error::Failed(format!(
                    "the open model saw errors: hello {he}, cached load {ce}, unvalidated {te}"
                )));
            }
            (h, c, t)
        };
        hello_rates.push(h);
        cached_rates.push(c);
        trusting_rates.push(t / h);
        ratios.push(c / h);
    }
    let misses = state.loader.cache().stats().misses - misses_before;
    if misses > 0 {
        return Err(Error::Failed(format!(
            "{misses} cache misses during the cached-load runs"
        )));
    }
    let generator = if use_wrk {
        format!("wrk -t1 -c{}", options.connections)
    } else {
        format!(
            "wrk not installed: both sides driven by the open model (cap {})",
            options.connections
        )
    };
    Ok(Ratio::measured(
        P1,
        P1_TITLE,
        P1_GOAL,
        ratios,
        vec![
            Raw::new("hello req/s", median(&hello_rates).unwrap_or(0.0), "req/s"),
            Raw::new(
                "cached load req/s",
                median(&cached_rates).unwrap_or(0.0),
                "req/s",
            ),
            Raw::new("module source", module.bytes as f64, "bytes"),
            Raw::new(
                "ratio with cacheValidation none (no stat per hit)",
                median(&trusting_rates).unwrap_or(0.0),
                "",
            ),
        ],
        format!(
            "{generator}; each target on its own 1-worker runtime; GET {cached_path} (cache hit, stat-validated)"
        ),
    ))
}

pub(super) fn p3(options: &Options) -> Result<Ratio, Error> {
    let hello = targets::hello()?;
    let url = format!("{}/hello", hello.base_url());
    let (mut wrk_rates, mut ours_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.repeats.max(1) {
        let reference = wrk::wrk(&url, options.run_time, options.connections)?;
        let (ours, errors) = open_model_max(&hello.base_url(), "/hello", options)?;
        if errors > 0 || reference.errors > 0 {
            return Err(Error::Failed(format!(
                "errors against the hello endpoint: wrk {}, open model {errors}",
                reference.errors
            )));
        }
        wrk_rates.push(reference.requests_per_sec);
        ours_rates.push(ours);
        ratios.push(ours / reference.requests_per_sec);
    }
    Ok(Ratio::measured(
        P3,
        P3_TITLE,
        P3_GOAL,
        ratios,
        vec![
            Raw::new("wrk req/s", median(&wrk_rates).unwrap_or(0.0), "req/s"),
            Raw::new("open model req/s", median(&ours_rates).unwrap_or(0.0), "req/s"),
        ],
        format!(
            "wrk -t1 -c{c} vs open model (1 runtime worker + pacer thread) at {FLOOD_RATE:.0}/s offered, at most {c} in flight",
            c = options.connections
        ),
    ))
}
