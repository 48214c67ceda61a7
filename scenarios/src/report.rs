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
    /// Defect twins switched on in the target (SPEC §8).
    pub defects: Vec<String>,
    /// Wall-clock start, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock length of the whole run (set-up and steady-state checks
    /// included).
    pub wall_time: Duration,
    /// For a `--shard I/N` run or a merge of shards: which shards, their
    /// seeds and clocks; `None` for a whole run.
    #[serde(default)]
    pub shard: Option<crate::ShardManifest>,
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
}

/// Process exit codes of SPEC §7.
pub mod exit {
    /// Every claim passed on a valid, complete run.
    pub const PASS: u8 = 0;
    /// A claim failed (or a regression was found).
    pub const FAIL: u8 = 1;
    /// Usage or scenario error.
    pub const USAGE: u8 = 2;
    /// The run was invalid, cut short, or a verdict is unknown.
    pub const INCONCLUSIVE: u8 = 3;
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

    /// The exit code of SPEC §7: a run that did not complete or was invalid
    /// proves nothing either way (3); otherwise a failed claim or steady
    /// state is 1, an unknown verdict 3, and all PASS 0.
    pub fn exit_code(&self) -> u8 {
        if !self.status.is_complete() || !self.is_valid() {
            return exit::INCONCLUSIVE;
        }
        let all = self.verdicts.iter().chain(&self.steady_state);
        let outcomes: Vec<Outcome> = all.map(|v| v.outcome).collect();
        if outcomes.contains(&Outcome::Fail) {
            exit::FAIL
        } else if outcomes.contains(&Outcome::Unknown) {
            exit::INCONCLUSIVE
        } else {
            exit::PASS
        }
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
