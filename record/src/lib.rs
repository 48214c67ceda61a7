//! The run record and its judgement: what a run measured, the claims made
//! about it, and the one [`judge`] that turns the two into [`Verdict`]s.
//!
//! Everything that decides PASS, FAIL or UNKNOWN lives here, so a verdict
//! cannot be earned by a path that skips the evidence rules:
//!
//! - the claim language: a claim's `expect` text (`p99(load_cached) <
//!   100ms`, `recovery_time(external:lodash) < 30s`, `p99(load_cached) >
//!   1000ms for 2m`) parsed into a typed [`Expectation`] whose threshold
//!   carries its unit, so a latency can never be compared with a
//!   percentage; a [`Claim`] is one with its id, source and phase;
//! - the [`RunRecord`]: the load phases as `somon-loadgen` measured them,
//!   the fault events and the harness's own probes;
//! - [`Verdict`], with a typed [`VerdictKind`] (claim, alert, steady-state
//!   probe, regression, drill, capacity figure, performance ratio) and an
//!   [`Outcome`];
//! - [`judge`], and the validity rule (a phase whose generator could not
//!   keep up never yields PASS) written once, in [`Verdict::earned`];
//! - [`RunReport`], what reports render and CI acts on, and [`Exit`], the
//!   process exit codes;
//! - [`Secrets`], the values a run was given that no artefact may show;
//! - the result types of the regression gate ([`regression`]) and of game
//!   days ([`gameday`]).
//!
//! It knows nothing of how a run is driven (that is `somon-scenarios`) nor
//! of the reference module system, so rendering a report builds neither.
//!
//! ```
//! use std::time::Duration;
//! use somon_record::{Cmp, Expectation, Metric, Threshold};
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
mod judge;
mod record;
pub mod regression;
mod report;
mod secrets;
mod verdict;

pub use claim::{
    parse_duration, Claim, ClaimError, Cmp, Dependency, Expectation, Metric, StatusClass, Threshold,
};
pub use judge::{
    judge, judge_alert, judge_run, judge_steady_state, judge_value, samples_needed, TimeToState,
    ValueFigure,
};
pub use record::{FaultEvent, PhaseRun, ProbeEvent, RunRecord};
pub use report::{Exit, Host, Manifest, PhaseValidity, RunReport, RunStatus, ShardManifest};
pub use secrets::{Secrets, REDACTED};
pub use verdict::{Outcome, Verdict, VerdictKind};
