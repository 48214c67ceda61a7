//! The run record: everything a run measured that verdicts are judged on.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use somon_loadgen::RunOutput;

/// One load phase as it ran.
#[derive(Debug, Serialize, Deserialize)]
pub struct PhaseRun {
    /// The phase's name.
    pub name: String,
    /// When it started on the run clock.
    pub start: Duration,
    /// What the load generator recorded (its clock starts at `start`).
    pub output: RunOutput,
}

/// A fault or action as it happened on the run clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// Run-clock time.
    pub at: Duration,
    /// `true` when the fault was applied, `false` when removed.
    pub applied: bool,
    /// What it hit: `external:NAME` for registry and proxy faults,
    /// `target` for process faults.
    pub hits: String,
}

/// A check the harness made itself during the run (a probe step): it
/// changed something and looked whether the target took it right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeEvent {
    /// Run-clock time of the change.
    pub at: Duration,
    /// `module-edit` or `config-invalid-patch`.
    pub kind: String,
    /// Whether the target behaved.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// Everything a run measured that claims are judged on.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RunRecord {
    /// The phases, in order.
    pub phases: Vec<PhaseRun>,
    /// Fault applications and removals.
    pub faults: Vec<FaultEvent>,
    /// The harness's own checks (module edits, refused config patches).
    #[serde(default)]
    pub probes: Vec<ProbeEvent>,
}
