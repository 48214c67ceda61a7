//! Scenarios and the engine that runs them: from a scenario file to a
//! judged run.
//!
//! - [`Scenario`], the checked form of a scenario TOML file (target, corpus,
//!   phases with a [`Load`] model, [`Fault`] steps, steady state, abort
//!   conditions, claims, alerts), built once by [`Scenario::from_toml`],
//!   which reports every problem with `file:line:col`.
//! - [`execute`], the orchestrator: target, corpus, fake registry and
//!   fault proxy, steady state, phases under the fault timeline, rollback,
//!   and the verdicts of the one judge (`somon-record`) — a [`RunReport`]
//!   even when the run is cut short.
//! - [`Shard`] and [`merge`]: `--shard I/N` runs one N-th of every
//!   phase's load; the shards' records add up again exactly (HDR
//!   histograms and interval logs merged, counters summed, time series
//!   aligned on the run clock) into one record judged as one run.
//! - [`capacity`], the capacity search: one run per step of a scenario's
//!   `[capacity]` plan until a claim fails, the knee, and the documents'
//!   scaling figures judged against the curve.
//! - [`gameday`]: game-day plans (a scenario plus drills: fault → detection
//!   → runbook remedy → verified recovery), run with live remedies and
//!   measured time-to-detect and time-to-recover.
//! - [`TwinMap`]: which defect twins each shipped claim must catch.
//!
//! The claim language, the record, verdicts and the judge live in
//! `somon-record` and are re-exported here, so code that drives a
//! scenario needs one import:
//!
//! ```
//! use std::time::Duration;
//! use somon_scenarios::{Cmp, Expectation, Metric, Threshold};
//!
//! let e: Expectation = "p99(load_cached) < 100ms".parse().unwrap();
//! assert_eq!(e.metric, Metric::Latency { quantile: 0.99, journey: "load_cached".into() });
//! assert_eq!(e.cmp, Cmp::Lt);
//! assert_eq!(e.threshold, Threshold::Duration(Duration::from_millis(100)));
//! assert_eq!(e.to_string(), "p99(load_cached) < 100ms");
//!
//! let err = "p99(load_cached) < 5%".parse::<Expectation>().unwrap_err();
//! assert_eq!(err.column, 20);
//! ```

pub mod gameday;
mod merge;
mod run;
mod scenario;
mod shard;
mod twins;

pub mod capacity;

pub use merge::{merge, MergeError};
pub use run::{execute, MethodStart, RunError, RunOptions, SpawnCommand};
pub use shard::{Shard, ShardError};

pub use scenario::{
    CapacitySpec, CorpusShape, EndpointCheck, Fault, FaultStep, Figure, FigureCheck, Journey, Load,
    Phase, Problem, Scenario, ScenarioError, Target,
};
pub use twins::{Falsifies, KnobEntry, StandInProfile, TwinEntry, TwinMap, Uncovered};

// The record and its judgement live in `somon-record`; they are re-exported
// here so that code driving a scenario needs one import.
pub use somon_record::regression::{self, RegressionSettings};
pub use somon_record::{
    judge, judge_alert, judge_run, judge_steady_state, parse_duration, samples_needed, Claim,
    ClaimError, Cmp, Dependency, Exit, Expectation, FaultEvent, Host, Manifest, Metric, Outcome,
    PhaseRun, PhaseValidity, ProbeEvent, RunRecord, RunReport, RunStatus, Secrets, ShardManifest,
    Threshold, Verdict, VerdictKind, REDACTED,
};
