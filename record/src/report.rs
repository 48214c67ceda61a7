//! What a finished (or cut-short) run hands to the reports: the manifest,
//! how the run ended, the verdicts and the full record they were judged on.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Outcome, RunRecord, Verdict};

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Every phase ran to its end.
    Completed,
    /// Ctrl-C (SIGINT) cut it short; the record is partial.
    Interrupted,
    /// An abort condition held; the record is partial.
    Aborted,
    /// The target process died outside any planned process fault.
    TargetCrashed,
    /// The steady-state hypothesis did not hold before the method, so the
    /// phases were not run.
    SteadyStateFailed,
}

impl RunStatus {
    /// Whether the run went as planned (the record is whole).
    pub fn is_complete(self) -> bool {
        self == RunStatus::Completed
    }
}

/// The machine the run was measured on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Logical cores.
    pub cores: usize,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
    /// Operating system and version.
    pub os: String,
    /// CPU model.
    pub cpu: String,
}

/// Everything needed to know what was run, where, and by which build.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// The scenario file, when the run came from one.
    pub file: Option<String>,
    /// The scenario's seed.
    pub seed: u64,
    /// `git rev-parse HEAD` of the working tree, when inside one.
    pub git_sha: Option<String>,
    /// Versions of the harness and its parts (`somon-verify`, `rustc`, …).
    pub versions: BTreeMap<String, String>,
    /// The machine.
    pub host: Host,
    /// What was under test: `embedded`, `spawn` or the URL, plus any
    /// defect twins switched on.
    pub target: String,
    /// Defect twins (deliberate bugs) switched on in the target.
    pub defects: Vec<String>,
    /// Wall-clock start, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock length of the whole run (set-up and steady-state checks
    /// included).
    pub wall_time: Duration,
    /// For a `--shard I/N` run or a merge of shards: which shards, their
    /// seeds and clocks; `None` for a whole run.
    #[serde(default)]
    pub shard: Option<ShardManifest>,
}

/// One phase's load-generator self-check, for the validity table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseValidity {
    /// The phase.
    pub phase: String,
    /// Whether its generator kept up.
    pub valid: bool,
    /// Why not, per failed check.
    pub reasons: Vec<String>,
}

/// The result of one run: what the reports render and CI acts on.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// What ran where.
    pub manifest: Manifest,
    /// How it ended.
    pub status: RunStatus,
    /// Why it ended early, in words.
    pub reason: Option<String>,
    /// Per-phase generator self-checks.
    pub validity: Vec<PhaseValidity>,
    /// Steady-state probes before (phase `before`) and after (`after`) the
    /// method.
    pub steady_state: Vec<Verdict>,
    /// One verdict per claim and alert.
    pub verdicts: Vec<Verdict>,
    /// The measurements and fault events the verdicts were judged on.
    pub record: RunRecord,
    /// The fault timeline's history (applied, removed, actions, failures).
    pub history: Vec<somon_chaos::Event>,
    /// The comparison with a saved baseline (`gate --baseline`), whose
    /// verdicts are among `verdicts`; `None` for a run compared with none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<crate::regression::Regression>,
}

/// What a command's process exit code says. Every command maps its
/// result to one of these; nothing else is a valid exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: every verdict PASS on a valid, complete run.
    Pass = 0,
    /// 1: a verdict FAILED (a claim, a drill, a regression, …).
    Fail = 1,
    /// 2: bad usage or a bad scenario file.
    Usage = 2,
    /// 3: the run proves nothing either way: it was invalid (the
    /// generator could not keep up), cut short, or a verdict is UNKNOWN.
    Inconclusive = 3,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code a set of outcomes comes to: any FAIL is a failure,
    /// else any UNKNOWN proves nothing, else all passed.
    pub fn of(outcomes: impl IntoIterator<Item = Outcome>) -> Exit {
        let mut exit = Exit::Pass;
        for outcome in outcomes {
            match outcome {
                Outcome::Fail => return Exit::Fail,
                Outcome::Unknown => exit = Exit::Inconclusive,
                Outcome::Pass => {}
            }
        }
        exit
    }
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit.code()
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

impl RunReport {
    /// Whether every phase's generator kept up.
    pub fn is_valid(&self) -> bool {
        self.validity.iter().all(|v| v.valid)
    }

    /// Whether the generator kept its own schedule in `phase` (send lag p99
    /// and its CPU within the default limits), valid run or not. An invalid
    /// run where it did was invalidated by the target falling behind (a
    /// shortfall of completed requests, drops at the in-flight cap): that
    /// is evidence against the target, not the generator.
    pub fn generator_kept_up(&self, phase: &str) -> bool {
        let limits = somon_loadgen::ValidityLimits::default();
        self.record
            .phases
            .iter()
            .filter(|p| p.name == phase)
            .all(|p| {
                let check = &p.output.self_check;
                check.send_lag.p99 <= limits.max_send_lag_p99
                    && check.cpu_fraction <= limits.max_cpu_fraction
            })
    }

    /// The run's exit code: a run that did not complete or was invalid
    /// proves nothing either way; otherwise a failed claim or steady state
    /// is a failure, an unknown verdict proves nothing, and all PASS pass.
    pub fn exit_code(&self) -> Exit {
        if !self.status.is_complete() || !self.is_valid() {
            return Exit::Inconclusive;
        }
        Exit::of(
            self.verdicts
                .iter()
                .chain(&self.steady_state)
                .map(|v| v.outcome),
        )
    }

    /// Counts of PASS, FAIL and UNKNOWN verdicts (steady state excluded).
    pub fn tally(&self) -> (usize, usize, usize) {
        let count = |o: Outcome| self.verdicts.iter().filter(|v| v.outcome == o).count();
        (
            count(Outcome::Pass),
            count(Outcome::Fail),
            count(Outcome::Unknown),
        )
    }
}

/// What a shard's manifest records, and a merged run's: which shards of
/// how many, the agreed start time, and when each run clock started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// How many shards shared the load.
    pub count: u32,
    /// The shards this record holds: one for a shard's own run, all of
    /// them for a merged one.
    pub indices: Vec<u32>,
    /// The journey seed of each shard in `indices`.
    pub seeds: Vec<u64>,
    /// The shared start time the shards waited for (`--start-at`), RFC
    /// 3339 UTC.
    pub start_at: Option<String>,
    /// Wall-clock time the run clock started, in ms since the Unix epoch,
    /// per shard in `indices`: what the merge of shards aligns the
    /// shards' time series on. Empty when the run stopped before its
    /// clock started (its steady state failed).
    pub clock_started_unix_ms: Vec<u64>,
}
