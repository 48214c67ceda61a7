//! Capacity search: run a scenario once per step of its
//! `[capacity]` plan, with the stepped phase's arrival rate (or users) set
//! to the step, until a step fails; the knee is the highest step where
//! every claim passed on a valid run. The documents' scaling figures are
//! then judged against the curve.
//!
//! Each step is a whole run — its own target, corpus and steady-state
//! checks — so no step inherits another's queues, cache or leaks.

mod figures;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    execute, CapacitySpec, Exit, Load, Outcome, RunError, RunOptions, RunReport, Scenario, Verdict,
};

pub use figures::judge_figures;

/// What a step's load counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadUnit {
    /// Arrivals per second (an open phase).
    PerSecond,
    /// Concurrent users (a closed phase).
    Users,
}

impl LoadUnit {
    /// The unit as a suffix: `/s` or ` users`.
    pub fn suffix(self) -> &'static str {
        match self {
            LoadUnit::PerSecond => "/s",
            LoadUnit::Users => " users",
        }
    }
}

/// One step to run.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPlan {
    /// The offered load.
    pub load: f64,
    /// How long the stepped phase runs.
    pub hold: Duration,
}

/// How a step came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOutcome {
    /// Every claim passed on a valid, complete run.
    Pass,
    /// A claim failed.
    Fail,
    /// The run proved nothing: the generator could not keep up, it was cut
    /// short, or a verdict is unknown.
    Inconclusive,
}

/// One step as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The offered load.
    pub load: f64,
    /// How it came out.
    pub outcome: StepOutcome,
    /// Why, in words (the failed claims or what voided the run).
    pub reason: String,
    /// p99 latency of the stepped phase over every request, seconds.
    pub p99_s: Option<f64>,
    /// Requests per second the stepped phase achieved.
    pub achieved_rps: f64,
    /// Errors ÷ requests in the stepped phase.
    pub error_rate: f64,
    /// Highest resident memory of the target sampled in the phase, bytes.
    pub peak_rss_bytes: Option<f64>,
    /// Modules in the target's cache at the phase's last sample.
    pub cached_modules: Option<f64>,
    /// Mean CPU the target used in the phase, millicores.
    pub cpu_millicores: Option<f64>,
    /// The step's claim verdicts.
    pub verdicts: Vec<Verdict>,
}

/// Why the search stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// A step failed a claim: the knee is the step before it.
    Failed,
    /// A step proved nothing (e.g. the generator saturated): the knee is a
    /// lower bound.
    Inconclusive,
    /// Every planned step passed: the knee is a lower bound.
    Exhausted,
    /// Cancelled (Ctrl-C).
    Cancelled,
}

/// The result of a capacity search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    /// Scenario name.
    pub scenario: String,
    /// The stepped phase.
    pub phase: String,
    /// What the loads count.
    pub unit: LoadUnit,
    /// The steps run, in order.
    pub steps: Vec<StepResult>,
    /// Index into `steps` of the knee: the highest step with every claim
    /// passing, all steps before it passing too.
    pub knee: Option<usize>,
    /// The knee's load (what scripts and charts read).
    pub knee_load: Option<f64>,
    /// Why the search ended.
    pub stop: Stop,
    /// The scaling figures, judged.
    pub figures: Vec<Verdict>,
}

impl CapacityReport {
    /// The knee's load, if any step passed.
    pub fn knee_load(&self) -> Option<f64> {
        self.knee.map(|i| self.steps[i].load)
    }

    /// Exit code: a failure when a figure failed or no step passed a
    /// claim it failed; inconclusive when nothing is known either way.
    pub fn exit_code(&self) -> Exit {
        let figures: Vec<Outcome> = self.figures.iter().map(|v| v.outcome).collect();
        if figures.contains(&Outcome::Fail) || (self.knee.is_none() && self.stop == Stop::Failed) {
            Exit::Fail
        } else if self.knee.is_none() || figures.contains(&Outcome::Unknown) {
            Exit::Inconclusive
        } else {
            Exit::Pass
        }
    }
}

/// The steps of `spec` for `scenario`: each holds at least `spec.hold`,
/// and long enough that about `spec.min_samples` requests arrive (a p99
/// at 50/s needs 20 s, at 1000/s one).
pub fn plan(scenario: &Scenario, spec: &CapacitySpec) -> Vec<StepPlan> {
    let phase = scenario.phases.iter().find(|p| p.name == spec.phase);
    spec.steps
        .iter()
        .map(|&load| {
            let per_second = match phase.map(|p| &p.load) {
                Some(Load::Closed { think, .. }) => load / think.as_secs_f64().max(0.001),
                _ => load,
            };
            let ramp = match phase.map(|p| &p.load) {
                Some(Load::Closed { ramp, .. }) => *ramp,
                _ => Duration::ZERO,
            };
            let for_samples = Duration::from_secs_f64(spec.min_samples as f64 / per_second);
            StepPlan {
                load,
                hold: spec.hold.max(ramp + for_samples),
            }
        })
        .collect()
}

/// `scenario` with the stepped phase's load set to `step`.
///
/// # Panics
/// Never for a scenario whose `[capacity]` passed its checks (the phase
/// exists and is open or closed); other phases are left alone.
pub fn step_scenario(scenario: &Scenario, spec: &CapacitySpec, step: &StepPlan) -> Scenario {
    let mut stepped = scenario.clone();
    for phase in stepped.phases.iter_mut().filter(|p| p.name == spec.phase) {
        phase.duration = step.hold;
        match &mut phase.load {
            Load::Open { steps, .. } => *steps = vec![(step.load, step.hold)],
            Load::Closed { users, .. } => *users = step.load.round().max(1.0) as u32,
            Load::Burst { .. } | Load::Idle => {}
        }
    }
    stepped
}

/// The load unit of the stepped phase.
pub fn unit(scenario: &Scenario, spec: &CapacitySpec) -> LoadUnit {
    match scenario.phases.iter().find(|p| p.name == spec.phase) {
        Some(p) if matches!(p.load, Load::Closed { .. }) => LoadUnit::Users,
        _ => LoadUnit::PerSecond,
    }
}

/// What one step's run measured.
pub fn measure_step(report: &RunReport, phase: &str, load: f64) -> StepResult {
    let run = report.record.phases.iter().find(|p| p.name == phase);
    let (p99_s, achieved_rps, error_rate) = run.map_or((None, 0.0, 0.0), |run| {
        let overall = run.output.overall();
        let p99 = (overall.count > 0).then_some(overall.p99.as_secs_f64());
        (p99, overall.per_sec, run.output.error_rate())
    });
    let metrics: Vec<&serde_json::Value> = run
        .map(|run| {
            run.output
                .samples
                .iter()
                .filter(|s| s.endpoint == "/metrics")
                .filter_map(|s| s.data())
                .collect()
        })
        .unwrap_or_default();
    let peak_rss_bytes = metrics
        .iter()
        .filter_map(|b| b["systemMetrics"]["rssBytes"].as_f64())
        .reduce(f64::max);
    let cached_modules = metrics.iter().rev().find_map(|b| b["cacheSize"].as_f64());
    let cpu: Vec<f64> = metrics
        .iter()
        .filter_map(|b| b["systemMetrics"]["cpuUsage"].as_f64())
        .collect();
    let cores = report.manifest.host.cores.max(1) as f64;
    let cpu_millicores = (!cpu.is_empty())
        .then(|| cpu.iter().sum::<f64>() / cpu.len() as f64 / 100.0 * cores * 1000.0);
    let (outcome, reason) = judge_step(report, phase);
    StepResult {
        load,
        outcome,
        reason,
        p99_s,
        achieved_rps,
        error_rate,
        peak_rss_bytes,
        cached_modules,
        cpu_millicores,
        verdicts: report.verdicts.clone(),
    }
}

/// PASS only for a complete, valid run whose every claim and steady-state
/// check passed. A run marked invalid still FAILS its step when claims
/// failed while the generator itself kept its schedule (send lag and its
/// own CPU within limits): a shortfall in completed requests or drops at
/// the in-flight cap are then the target falling behind — what a capacity
/// search looks for — not the generator. Anything else invalid proves
/// nothing either way.
fn judge_step(report: &RunReport, phase: &str) -> (StepOutcome, String) {
    let failed: Vec<String> = report
        .verdicts
        .iter()
        .chain(&report.steady_state)
        .filter(|v| v.outcome == Outcome::Fail)
        .map(|v| format!("{} ({})", v.claim, v.evidence))
        .collect();
    if !report.status.is_complete() {
        let why = report.reason.clone().unwrap_or_default();
        return (
            StepOutcome::Inconclusive,
            format!("{:?}: {why}", report.status),
        );
    }
    if !report.is_valid() {
        let why: Vec<String> = report
            .validity
            .iter()
            .flat_map(|v| v.reasons.iter().map(move |r| format!("{}: {r}", v.phase)))
            .collect();
        if !failed.is_empty() && generator_kept_up(report, phase) {
            return (
                StepOutcome::Fail,
                format!(
                    "failed: {} — the target fell behind ({})",
                    failed.join("; "),
                    why.join("; ")
                ),
            );
        }
        return (
            StepOutcome::Inconclusive,
            format!("run invalid: {}", why.join("; ")),
        );
    }
    if !failed.is_empty() {
        return (StepOutcome::Fail, format!("failed: {}", failed.join("; ")));
    }
    let unknown: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Unknown)
        .map(|v| v.claim.as_str())
        .collect();
    if unknown.is_empty() {
        (StepOutcome::Pass, "every claim passed".to_owned())
    } else {
        (
            StepOutcome::Inconclusive,
            format!("unknown: {}", unknown.join(", ")),
        )
    }
}

/// Whether the generator kept its own schedule in the stepped phase and
/// every other phase was valid.
fn generator_kept_up(report: &RunReport, stepped: &str) -> bool {
    report
        .validity
        .iter()
        .filter(|v| v.phase != stepped)
        .all(|v| v.valid)
        && report.generator_kept_up(stepped)
}

/// The knee: the last step of the leading run of passes.
pub fn knee(steps: &[StepResult]) -> Option<usize> {
    steps
        .iter()
        .take_while(|s| s.outcome == StepOutcome::Pass)
        .count()
        .checked_sub(1)
}

/// Runs the search. `options` gives each step's run options (its own
/// scratch directory); `on_step` sees each step's result and full report
/// as soon as it is measured (to write its run directory, print progress).
///
/// # Errors
/// A step that could not start (bad options, target never ready).
pub async fn search(
    scenario: &Scenario,
    spec: &CapacitySpec,
    mut options: impl FnMut(&StepPlan) -> RunOptions,
    mut on_step: impl FnMut(&StepResult, &RunReport),
) -> Result<CapacityReport, RunError> {
    let mut steps = Vec::new();
    let mut stop = Stop::Exhausted;
    for step in plan(scenario, spec) {
        let step_options = options(&step);
        let control = step_options.control.clone();
        let report = execute(&step_scenario(scenario, spec, &step), &step_options).await?;
        let result = measure_step(&report, &spec.phase, step.load);
        on_step(&result, &report);
        let outcome = result.outcome;
        steps.push(result);
        if control.is_cancelled() {
            stop = Stop::Cancelled;
            break;
        }
        match outcome {
            StepOutcome::Pass => {}
            StepOutcome::Fail => {
                stop = Stop::Failed;
                break;
            }
            StepOutcome::Inconclusive => {
                stop = Stop::Inconclusive;
                break;
            }
        }
    }
    let knee = knee(&steps);
    let unit = unit(scenario, spec);
    let figures = judge_figures(&spec.figures, &steps, knee, stop, unit);
    Ok(CapacityReport {
        scenario: scenario.name.clone(),
        phase: spec.phase.clone(),
        unit,
        knee_load: knee.map(|i| steps[i].load),
        steps,
        knee,
        stop,
        figures,
    })
}

#[cfg(test)]
mod tests;
