//! P2: cached-load p99 with 1000 concurrent closed-model users (Goose:
//! "1000+ concurrent loads" read as 1000 users, each pacing its loads)
//! against 100 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use somon_loadgen::{ClosedModel, StopCondition, Users, Workload};
use somon_system::{generate, Config, CorpusSpec};

use super::{generator_runtime, Error, Goal, Options, Ratio, Raw};
use crate::targets;

pub(super) const ID: &str = "P2";
pub(super) const TITLE: &str = "cached-load p99 at 1000 concurrent users ÷ 100 ms";
pub(super) const GOAL: Goal = Goal::AtMost(0.1);

const USERS: usize = 1000;
const CLAIM: Duration = Duration::from_millis(100);

pub(super) fn measure(options: &Options) -> Result<Ratio, Error> {
    let corpus_dir = tempfile::tempdir()?;
    let corpus = generate(
        corpus_dir.path(),
        &CorpusSpec {
            modules: 400,
            seed: 42,
            ..CorpusSpec::default()
        },
    )
    .map_err(Error::System)?;
    let ids: Vec<String> = corpus.modules.iter().map(|m| m.id.to_string()).collect();
    let system = targets::system(corpus_dir.path(), Config::default())?;
    let state = system
        .state()
        .ok_or_else(|| Error::Failed("no system state".into()))?;
    let warmed = state.loader.warm(&ids, Instant::now());
    if !warmed.failed.is_empty() {
        return Err(Error::Failed(format!(
            "{} modules failed to load while warming",
            warmed.failed.len()
        )));
    }
    let misses_before = state.loader.cache().stats().misses;

    let workload = Arc::new(Workload::new(ids, Vec::new(), Vec::new(), 42));
    let hold = options.run_time.max(Duration::from_secs(3)) * 3;
    let users = Users::Fixed {
        count: USERS,
        per_sec: 500,
        hold,
    };
    let stop = StopCondition::new(hold + Duration::from_secs(30), u64::MAX)?;
    let mut model = ClosedModel::new(&system.base_url(), users, stop);
    model.think = (Duration::from_millis(250), Duration::from_millis(750));
    let runtime = generator_runtime()?;
    let run = runtime.block_on(model.run(workload))?;
    let misses = state.loader.cache().stats().misses - misses_before;
    let all = run.overall();
    if all.count == 0 {
        return Err(Error::Failed("no request completed".into()));
    }
    let ratio = all.p99.as_secs_f64() / CLAIM.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(Ratio::measured(
        ID,
        TITLE,
        GOAL,
        vec![ratio],
        vec![
            Raw::new("p99", ms(all.p99), "ms"),
            Raw::new("p50", ms(all.p50), "ms"),
            Raw::new("max", ms(all.max), "ms"),
            Raw::new("requests", all.count as f64, "requests"),
            Raw::new("errors", run.errors.total() as f64, "requests"),
            Raw::new("cache misses during the run", misses as f64, "misses"),
        ],
        format!(
            "{USERS} Goose users (500/s start, {} s hold, think 250–750 ms) on 400 warm modules, Zipf popularity; time to first byte; one run",
            hold.as_secs()
        ),
    ))
}
