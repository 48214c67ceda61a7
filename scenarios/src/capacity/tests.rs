use std::path::Path;
use std::time::Duration;

use super::*;
use crate::{Figure, FigureCheck};

fn scenario(capacity: &str) -> Scenario {
    let text = format!(
        r#"
name = "cap"
[[phases]]
name = "warm"
duration = "2s"
load = {{ model = "open", rate = 10, journeys = {{ load_cached = 1 }} }}
[[phases]]
name = "step"
duration = "5s"
load = {{ model = "open", rate = 100, journeys = {{ load_cached = 1 }} }}
[[claims]]
id = "p99"
expect = "p99(load_cached) < 100ms"
phase = "step"
{capacity}
"#
    );
    Scenario::from_toml(Path::new("cap.toml"), &text).unwrap()
}

fn step(load: f64, outcome: StepOutcome) -> StepResult {
    StepResult {
        load,
        outcome,
        reason: format!("{outcome:?}"),
        p99_s: Some(0.01),
        achieved_rps: load,
        error_rate: 0.0,
        peak_rss_bytes: Some(100.0 * MIB),
        cached_modules: Some(1000.0),
        cpu_millicores: Some(load),
        verdicts: Vec::new(),
    }
}

const MIB: f64 = 1024.0 * 1024.0;

#[test]
fn low_steps_hold_long_enough_for_a_p99() {
    let s = scenario("[capacity]\nphase = \"step\"\nsteps = [50, 1000]\nhold = \"10s\"");
    let spec = s.capacity.clone().unwrap();
    let plan = plan(&s, &spec);
    assert_eq!(plan[0].hold, Duration::from_secs(22));
    assert_eq!(plan[1].hold, Duration::from_secs(10));
}

#[test]
fn a_step_replaces_only_the_stepped_phase() {
    let s = scenario("[capacity]\nsteps = [400]\nhold = \"12s\"");
    let spec = s.capacity.clone().unwrap();
    assert_eq!(spec.phase, "step", "the last phase is stepped by default");
    let stepped = step_scenario(&s, &spec, &plan(&s, &spec)[0]);
    assert_eq!(stepped.phases[0], s.phases[0]);
    assert_eq!(stepped.phases[1].duration, Duration::from_secs(12));
    match &stepped.phases[1].load {
        Load::Open { steps, .. } => assert_eq!(steps, &vec![(400.0, Duration::from_secs(12))]),
        other => panic!("{other:?}"),
    }
    assert_eq!(stepped.claims, s.claims);
}

#[test]
fn closed_phases_step_users() {
    let text = r#"
name = "users"
[[phases]]
name = "users"
duration = "5s"
load = { model = "closed", users = 10, ramp = "2s", think = "500ms", journeys = { load_cached = 1 } }
[capacity]
steps = [100, 1000]
hold = "5s"
"#;
    let s = Scenario::from_toml(Path::new("u.toml"), text).unwrap();
    let spec = s.capacity.clone().unwrap();
    assert_eq!(unit(&s, &spec), LoadUnit::Users);
    let plan = plan(&s, &spec);
    // 100 users at one request per 0.5 s: 200/s, 1100 samples in 5.5 s
    // after the 2 s ramp.
    assert_eq!(plan[0].hold, Duration::from_millis(7500));
    let stepped = step_scenario(&s, &spec, &plan[1]);
    assert!(matches!(
        stepped.phases[0].load,
        Load::Closed { users: 1000, .. }
    ));
}

#[test]
fn the_knee_is_the_last_of_the_leading_passes() {
    use StepOutcome::*;
    assert_eq!(knee(&[]), None);
    assert_eq!(knee(&[step(1.0, Fail)]), None);
    assert_eq!(
        knee(&[step(1.0, Pass), step(2.0, Pass), step(4.0, Fail)]),
        Some(1)
    );
    assert_eq!(knee(&[step(1.0, Pass), step(2.0, Inconclusive)]), Some(0));
}

fn figure(check: FigureCheck) -> Vec<Figure> {
    vec![Figure {
        id: "f".into(),
        source: "seed".into(),
        check,
    }]
}

#[test]
fn a_knee_figure_fails_only_when_a_step_at_or_below_it_failed() {
    use StepOutcome::*;
    let judge = |steps: &[StepResult], stop, at| {
        let k = knee(steps);
        judge_figures(
            &figure(FigureCheck::KneeAtLeast(at)),
            steps,
            k,
            stop,
            LoadUnit::PerSecond,
        )[0]
        .outcome
    };
    let passed_to_1000 = [step(500.0, Pass), step(1000.0, Pass), step(2000.0, Fail)];
    assert_eq!(judge(&passed_to_1000, Stop::Failed, 1000.0), Outcome::Pass);
    let failed_at_1000 = [step(500.0, Pass), step(1000.0, Fail)];
    assert_eq!(judge(&failed_at_1000, Stop::Failed, 1000.0), Outcome::Fail);
    let between = [step(500.0, Pass), step(2000.0, Fail)];
    assert_eq!(judge(&between, Stop::Failed, 1000.0), Outcome::Unknown);
    let saturated = [step(500.0, Pass), step(1000.0, Inconclusive)];
    assert_eq!(
        judge(&saturated, Stop::Inconclusive, 1000.0),
        Outcome::Unknown
    );
}

#[test]
fn the_memory_formula_is_judged_at_the_worst_held_step() {
    use StepOutcome::*;
    // (50 MiB + 1000 × 0.05 MiB) × 1.5 = 150 MiB.
    let check = FigureCheck::MemoryEstimate {
        base_bytes: 50.0 * MIB,
        per_module_bytes: 0.05 * MIB,
        factor: 1.5,
    };
    let mut steps = vec![step(1.0, Pass), step(2.0, Pass), step(4.0, Fail)];
    let verdict = &judge_figures(
        &figure(check.clone()),
        &steps,
        Some(1),
        Stop::Failed,
        LoadUnit::PerSecond,
    )[0];
    assert_eq!(verdict.outcome, Outcome::Pass, "{}", verdict.evidence);
    // A failed step's memory does not count; a held one's does.
    steps[2].peak_rss_bytes = Some(900.0 * MIB);
    steps[1].peak_rss_bytes = Some(151.0 * MIB);
    let verdict = &judge_figures(
        &figure(check),
        &steps,
        Some(1),
        Stop::Failed,
        LoadUnit::PerSecond,
    )[0];
    assert_eq!(verdict.outcome, Outcome::Fail, "{}", verdict.evidence);
    assert_eq!(verdict.measured, Some(151.0 * MIB));
}

#[test]
fn the_cpu_formula_gives_100m_per_started_1000_rps() {
    use StepOutcome::*;
    let check = FigureCheck::CpuEstimate {
        millicores_per_1000_rps: 100.0,
    };
    let mut held = step(500.0, Pass);
    held.cpu_millicores = Some(100.0);
    let v = &judge_figures(
        &figure(check.clone()),
        &[held.clone()],
        Some(0),
        Stop::Exhausted,
        LoadUnit::PerSecond,
    )[0];
    assert_eq!(v.outcome, Outcome::Pass, "{}", v.evidence);
    held.cpu_millicores = Some(250.0);
    let v = &judge_figures(
        &figure(check),
        &[held],
        Some(0),
        Stop::Exhausted,
        LoadUnit::PerSecond,
    )[0];
    assert_eq!(v.outcome, Outcome::Fail, "{}", v.evidence);
}

#[test]
fn exit_codes_follow_the_knee_and_the_figures() {
    use StepOutcome::*;
    let report = |steps: Vec<StepResult>, stop, figures: Vec<Verdict>| CapacityReport {
        scenario: "s".into(),
        phase: "p".into(),
        unit: LoadUnit::PerSecond,
        knee: knee(&steps),
        knee_load: None,
        steps,
        stop,
        figures,
    };
    assert_eq!(
        report(vec![step(1.0, Pass), step(2.0, Fail)], Stop::Failed, vec![]).exit_code(),
        crate::Exit::Pass
    );
    assert_eq!(
        report(vec![step(1.0, Fail)], Stop::Failed, vec![]).exit_code(),
        crate::Exit::Fail
    );
    assert_eq!(
        report(vec![step(1.0, Inconclusive)], Stop::Inconclusive, vec![]).exit_code(),
        crate::Exit::Inconclusive
    );
}
