//! Scenarios and the claims they check (SPEC §5).
//!
//! So far this crate holds the claim language and the scenario format:
//!
//! - the `expect` text of a claim (`p99(load_cached) < 100ms`,
//!   `recovery_time(external:lodash) < 30s`, `p99(load_cached) > 1000ms for
//!   2m`) parsed into a typed [`Expectation`] whose threshold carries its
//!   unit, so a latency can never be compared with a percentage;
//! - [`Scenario`], the checked form of a scenario TOML file (target, corpus,
//!   phases with a [`Load`] model, [`Fault`] steps, steady state, abort
//!   conditions, claims, alerts), built once by [`Scenario::from_toml`],
//!   which reports every problem with `file:line:col`.
//!
//! - [`judge`], which turns a claim and a [`RunRecord`] (the load phases as
//!   `somon-loadgen` measured them, plus fault events) into a [`Verdict`]:
//!   PASS, FAIL or UNKNOWN with the measured value, the sample count and the
//!   evidence.
//!
//! - [`execute`], the orchestrator: target, corpus, fake registry and
//!   fault proxy, steady state, phases under the fault timeline, rollback,
//!   verdicts — a [`RunReport`] even when the run is cut short.
//!
//! - [`gameday`]: game-day plans (a scenario plus drills: fault → detection
//!   → runbook remedy → verified recovery), run with live remedies and
//!   measured time-to-detect and time-to-recover.
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

mod claim;
pub mod gameday;
mod report;
mod run;
mod scenario;
mod twins;
mod verdict;

pub use report::{exit, Host, Manifest, PhaseValidity, RunReport, RunStatus};
pub use run::{execute, MethodStart, RunError, RunOptions, SpawnCommand};

pub use claim::{parse_duration, ClaimError, Cmp, Dependency, Expectation, Metric, Threshold};
pub use scenario::{
    Claim, CorpusShape, Fault, FaultStep, Journey, Load, Phase, Problem, Scenario, ScenarioError,
    Target,
};
pub use twins::{TwinEntry, TwinMap};
pub use verdict::{
    judge, samples_needed, FaultEvent, Outcome, PhaseRun, ProbeEvent, RunRecord, Verdict,
};
