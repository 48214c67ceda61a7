//! The steady-state hypothesis (Chaos Toolkit's term): probes that must
//! hold before the method, so a fault's effect is not mistaken for a target
//! that was unwell anyway, and again after it, so recovery is checked.

use std::time::Duration;

use crate::{
    judge_steady_state, Claim, Journey, Load, Phase, PhaseRun, RunRecord, Scenario, Verdict,
};

use super::phase::{self, PhaseContext};

/// How long a probe loads the target, and how hard: enough requests for
/// an error rate, few enough not to disturb it.
const PROBE: Duration = Duration::from_secs(3);
const PROBE_RATE: f64 = 50.0;

/// Runs a short probe of the scenario's first loaded journeys and judges
/// every steady-state expression on it; the verdicts' phase is
/// `steady-state-{when}`. No probes, no verdicts.
pub(crate) async fn verify(scenario: &Scenario, when: &str, cx: &PhaseContext<'_>) -> Vec<Verdict> {
    if scenario.steady_state.is_empty() {
        return Vec::new();
    }
    let name = format!("steady-state-{when}");
    let journeys = scenario
        .phases
        .iter()
        .find_map(|p| match &p.load {
            Load::Open { journeys, .. } | Load::Closed { journeys, .. } => Some(journeys.clone()),
            Load::Burst { journey, .. } => Some(vec![(journey.clone(), 1)]),
            Load::Idle => None,
        })
        .unwrap_or_else(|| vec![(Journey::Health, 1)]);
    let probe = Phase {
        name: name.clone(),
        duration: PROBE,
        load: Load::Open {
            steps: vec![(PROBE_RATE, Duration::ZERO)],
            max_in_flight: 100,
            journeys,
        },
    };
    let mut record = RunRecord::default();
    let failed_to_run = match phase::run(&probe, cx).await {
        Ok(output) => {
            record.phases.push(PhaseRun {
                name: name.clone(),
                start: Duration::ZERO,
                output,
            });
            None
        }
        Err(e) => Some(e.to_string()),
    };
    scenario
        .steady_state
        .iter()
        .map(|expect| {
            let claim = Claim {
                id: format!("steady-state {when}: {expect}"),
                source: "scenario steady_state.probes".into(),
                expect: expect.clone(),
                phase: Some(name.clone()),
            };
            let mut verdict = judge_steady_state(&claim, &record);
            if let Some(why) = &failed_to_run {
                verdict.evidence = format!("the probe could not run: {why}");
            }
            verdict
        })
        .collect()
}
