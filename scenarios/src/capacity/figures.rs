//! The documents' scaling figures judged against a capacity curve: a knee
//! they promise, and the runbook's memory and CPU formulas against what the
//! target used at the steps that held.

use super::{LoadUnit, StepOutcome, StepResult, Stop};
use crate::{Figure, FigureCheck, Outcome, Verdict, VerdictKind};

const MIB: f64 = 1024.0 * 1024.0;

/// One verdict per figure.
pub fn judge_figures(
    figures: &[Figure],
    steps: &[StepResult],
    knee: Option<usize>,
    stop: Stop,
    unit: LoadUnit,
) -> Vec<Verdict> {
    figures
        .iter()
        .map(|figure| {
            let (outcome, expected, measured, samples, evidence) = match &figure.check {
                FigureCheck::KneeAtLeast(at_least) => {
                    knee_at_least(*at_least, steps, knee, stop, unit)
                }
                FigureCheck::MemoryEstimate {
                    base_bytes,
                    per_module_bytes,
                    factor,
                } => memory(steps, *base_bytes, *per_module_bytes, *factor),
                FigureCheck::CpuEstimate {
                    millicores_per_1000_rps,
                } => cpu(steps, *millicores_per_1000_rps),
            };
            Verdict {
                kind: VerdictKind::CapacityFigure,
                claim: figure.id.clone(),
                source: figure.source.clone(),
                phase: None,
                outcome,
                expected,
                measured,
                samples,
                evidence,
            }
        })
        .collect()
}

type Judged = (Outcome, String, Option<f64>, u64, String);

fn knee_at_least(
    at_least: f64,
    steps: &[StepResult],
    knee: Option<usize>,
    stop: Stop,
    unit: LoadUnit,
) -> Judged {
    let u = unit.suffix();
    let expected = format!("knee >= {at_least}{u}");
    let knee_load = knee.map(|i| steps[i].load);
    let n = steps.len() as u64;
    if let Some(load) = knee_load.filter(|l| *l >= at_least) {
        let evidence = format!("every claim passed up to {load}{u}");
        return (Outcome::Pass, expected, Some(load), n, evidence);
    }
    // The first step that did not pass, when it failed a claim at or
    // below the promised load, refutes it; above it, the promise lies
    // between two steps and is not decided.
    let first_bad = steps.iter().find(|s| s.outcome != StepOutcome::Pass);
    let below = knee_load.map_or("no step passed".to_owned(), |l| {
        format!("every claim passed up to {l}{u}")
    });
    match first_bad {
        Some(bad) if stop == Stop::Failed && bad.load <= at_least => (
            Outcome::Fail,
            expected,
            knee_load,
            n,
            format!("{below}; at {}{u} {}", bad.load, bad.reason),
        ),
        Some(bad) if stop == Stop::Failed => (
            Outcome::Unknown,
            expected,
            knee_load,
            n,
            format!(
                "{below} and failed at {}{u}: {at_least}{u} lies between two steps (add it as a step)",
                bad.load
            ),
        ),
        _ => (
            Outcome::Unknown,
            expected,
            knee_load,
            n,
            format!("{below}, and the search ended before {at_least}{u} ({stop:?})"),
        ),
    }
}

/// The held steps: those that passed every claim.
fn held(steps: &[StepResult]) -> impl Iterator<Item = &StepResult> {
    steps.iter().filter(|s| s.outcome == StepOutcome::Pass)
}

fn memory(steps: &[StepResult], base: f64, per_module: f64, factor: f64) -> Judged {
    let expected = format!(
        "peak RSS <= ({:.0} MiB + modules x {} MiB) x {factor}",
        base / MIB,
        per_module / MIB
    );
    // The step where the target came closest to (or furthest past) the
    // formula decides.
    let worst = held(steps)
        .filter_map(|s| {
            let rss = s.peak_rss_bytes?;
            let modules = s.cached_modules?;
            let estimate = (base + modules * per_module) * factor;
            Some((rss / estimate, rss, estimate, modules, s.load))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let n = held(steps).count() as u64;
    match worst {
        None => (
            Outcome::Unknown,
            expected,
            None,
            n,
            "no step that held has /metrics samples of RSS and cache size".to_owned(),
        ),
        Some((ratio, rss, estimate, modules, load)) => (
            if ratio <= 1.0 {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            expected,
            Some(rss),
            n,
            format!(
                "at {load}: peak RSS {:.1} MiB vs estimate {:.1} MiB for {modules:.0} cached modules ({:.0} % of it)",
                rss / MIB,
                estimate / MIB,
                ratio * 100.0
            ),
        ),
    }
}

fn cpu(steps: &[StepResult], millicores_per_1000: f64) -> Judged {
    let expected = format!("CPU <= ceil(rps / 1000) x {millicores_per_1000}m");
    let worst = held(steps)
        .filter_map(|s| {
            let used = s.cpu_millicores?;
            let estimate = (s.achieved_rps / 1000.0).ceil().max(1.0) * millicores_per_1000;
            Some((used / estimate, used, estimate, s.achieved_rps))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let n = held(steps).count() as u64;
    match worst {
        None => (
            Outcome::Unknown,
            expected,
            None,
            n,
            "no step that held has /metrics samples of CPU".to_owned(),
        ),
        Some((ratio, used, estimate, rps)) => (
            if ratio <= 1.0 {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            expected,
            Some(used / 1000.0),
            n,
            format!(
                "at {rps:.0} req/s the target used {used:.0}m CPU vs the formula's {estimate:.0}m ({:.1}x)",
                ratio
            ),
        ),
    }
}
