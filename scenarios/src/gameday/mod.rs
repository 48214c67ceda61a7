//! Game days (the harness's third use, beside the CI gate and capacity
//! validation): a [`Plan`] is a scenario — steady load, a
//! fault timeline, steady-state hypothesis, abort conditions, rollback —
//! plus `[[drills]]`. Each drill names one of the scenario's faults, the
//! signal that should detect it, the runbook remedy an operator applies
//! (at a run-clock time, or `detected + 2s`, `fault_end + 1s`), and the
//! signal that shows recovery, with deadlines.
//!
//! [`run`] executes the scenario with the orchestrator while it polls the
//! target's `/health`, `/ready`, `/metrics` and `/circuit-breakers/status`
//! every 250 ms on the run clock, acts on the live signal (a remedy waiting
//! for detection), and afterwards measures every drill from the record:
//! time-to-detect = first observation where the detection signal holds
//! minus the fault's start; time-to-recover = first observation where the
//! verify signal holds, at or after the remedy (or, without one, the
//! fault's end) and after detection, minus the fault's start.

mod measure;
mod parse;
mod runner;
mod signal;

use std::time::Duration;

use crate::{Claim, Scenario};

pub use measure::{alert_fired_at, measure_drill, FaultWindow};
pub use runner::{run, Live};
pub use signal::{restarts, Gauge, Signal, SignalError};
pub use somon_record::gameday::{DrillResult, GameDay, Observation, RemedyTaken};

/// A checked game-day plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The scenario it runs (its `[[alerts]]` that drills detect with are
    /// moved to [`Plan::detection_alerts`]: they are expected to fire).
    pub scenario: Scenario,
    /// The drills, in file order.
    pub drills: Vec<Drill>,
    /// Alert rules drills detect faults with.
    pub detection_alerts: Vec<Claim>,
}

/// One fault drilled end to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Drill {
    /// Unique id.
    pub id: String,
    /// The runbook procedure it drills (document and section).
    pub source: String,
    /// What it drills: a `[[faults]]` entry or a phase's own load.
    pub fault: FaultRef,
    /// What should notice the fault.
    pub detect: Signal,
    /// Deadline on time-to-detect.
    pub detect_within: Option<Duration>,
    /// The operator's action, if the procedure has one.
    pub remedy: Option<Remedy>,
    /// What shows recovery.
    pub verify: Signal,
    /// Deadline on time-to-recover (from the fault's start).
    pub recover_within: Duration,
}

/// What a drill drills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultRef {
    /// The scenario's `[[faults]]` entry with this index.
    Step(usize),
    /// The load of the phase with this name (memory pressure from cold
    /// loads, an overload): its window is the phase's.
    Phase(String),
}

impl Plan {
    /// The planned start and length of what `drill` drills, on the run
    /// clock (`None`: until rollback).
    pub fn planned(&self, drill: &Drill) -> (Duration, Option<Duration>) {
        match &drill.fault {
            FaultRef::Step(i) => {
                let step = &self.scenario.faults[*i];
                (step.at, step.duration)
            }
            FaultRef::Phase(name) => {
                let mut start = Duration::ZERO;
                for phase in &self.scenario.phases {
                    if phase.name == *name {
                        return (start, Some(phase.duration));
                    }
                    start += phase.duration;
                }
                (start, None)
            }
        }
    }

    /// What `drill` drills, in words.
    pub fn describe(&self, drill: &Drill) -> String {
        match &drill.fault {
            FaultRef::Step(i) => {
                let step = &self.scenario.faults[*i];
                format!(
                    "faults[{i}]: {:?} at {:?}{}",
                    step.fault,
                    step.at,
                    step.duration
                        .map_or(String::new(), |d| format!(" for {d:?}"))
                )
            }
            FaultRef::Phase(name) => {
                let load = self
                    .scenario
                    .phases
                    .iter()
                    .find(|p| p.name == *name)
                    .map(|p| format!("{:?}", p.load))
                    .unwrap_or_default();
                format!("phase {name}: {load}")
            }
        }
    }
}

/// The runbook action of a drill and when to take it.
#[derive(Clone, Debug, PartialEq)]
pub struct Remedy {
    /// The management-API call.
    pub action: somon_chaos::OperatorAction,
    /// When.
    pub at: Anchor,
}

/// When a remedy is taken.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Anchor {
    /// At this run-clock time.
    At(Duration),
    /// This long after the detection signal was first seen live.
    Detected(Duration),
    /// This long after the fault's planned end.
    FaultEnd(Duration),
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Anchor::At(at) => write!(f, "{at:?}"),
            Anchor::Detected(d) => write!(f, "detected + {d:?}"),
            Anchor::FaultEnd(d) => write!(f, "fault_end + {d:?}"),
        }
    }
}

/// Seconds as `f64`, for the JSON.
fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
