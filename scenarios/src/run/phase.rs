//! Running one phase's load model against the target.

use std::sync::Arc;
use std::time::Duration;

use somon_loadgen::{
    observe, ArrivalSchedule, ClosedModel, JourneySource, OpenModel, Request, RunControl,
    RunOutput, Step, StopCondition, Users, ValidityLimits, Workload,
};

use super::setup::{self, Modules};
use super::RunError;
use crate::{Load, Phase, Shard};

/// Headroom past a closed phase's planned length for Goose to start its
/// users (each builds an HTTP client) and wind down.
const CLOSED_SLACK: Duration = Duration::from_secs(30);

/// Most requests any phase may send: a bound, never the stopping reason of
/// a sane scenario.
const REQUEST_CEILING: u64 = 50_000_000;

/// What every phase of a run shares.
pub(crate) struct PhaseContext<'a> {
    pub(crate) base: &'a str,
    pub(crate) modules: &'a Modules,
    pub(crate) zipf: f64,
    pub(crate) seed: u64,
    pub(crate) control: &'a RunControl,
    pub(crate) limits: &'a ValidityLimits,
    /// Which share of each phase's load this run sends.
    pub(crate) shard: Shard,
}

/// Runs `phase` and returns what the generator recorded, target samples
/// included. Cancelling the run's control cuts it short with a partial
/// record.
pub(crate) async fn run(phase: &Phase, cx: &PhaseContext<'_>) -> Result<RunOutput, RunError> {
    let load_error = |e: somon_loadgen::Error| RunError::Load(format!("phase {}: {e}", phase.name));
    let load = cx.shard.load(&phase.load);
    match &load {
        Load::Idle => Ok(observe(cx.base, &phase.name, phase.duration, cx.control).await),
        Load::Open {
            steps,
            max_in_flight,
            journeys,
        } => {
            let workload = setup::workload(cx.modules, journeys, cx.zipf, cx.seed)?;
            let schedule = schedule(steps, phase.duration).map_err(load_error)?;
            let planned = (schedule_rate_bound(steps) * phase.duration.as_secs_f64()) as u64;
            let stop = StopCondition::new(
                phase.duration,
                planned.saturating_mul(2).clamp(1_000, REQUEST_CEILING),
            )
            .map_err(load_error)?;
            let mut model = OpenModel::new(cx.base, schedule, stop);
            model.max_in_flight = u64::from(*max_in_flight);
            open(open_limits(model, cx), phase, cx, workload)
                .await
                .map_err(load_error)
        }
        Load::Burst { count, journey } => {
            let workload = setup::workload(cx.modules, &[(journey.clone(), 1)], cx.zipf, cx.seed)?;
            // Every request due within the same millisecond: released
            // together, each timed from that common start, so the slowest
            // shows how long the whole burst took to be served.
            let count = u64::from(*count);
            let schedule =
                ArrivalSchedule::constant(count as f64 * 1000.0, Duration::from_millis(1))
                    .map_err(load_error)?;
            let stop = StopCondition::new(phase.duration, count).map_err(load_error)?;
            let mut model = OpenModel::new(cx.base, schedule, stop);
            model.max_in_flight = count;
            let mut model = open_limits(model, cx);
            // Sending a thousand requests at once lags by design; the lag
            // is inside each latency (timed from the common start), so it
            // does not make the burst's measurement wrong.
            model.limits.max_send_lag_p99 = phase.duration;
            open(model, phase, cx, workload).await.map_err(load_error)
        }
        Load::Closed {
            users,
            ramp,
            think,
            journeys,
        } => {
            let workload = setup::workload(cx.modules, journeys, cx.zipf, cx.seed)?;
            let ramp_secs = ramp.as_secs_f64().max(1.0);
            let users = Users::Fixed {
                count: *users as usize,
                per_sec: ((f64::from(*users) / ramp_secs).ceil() as u32).max(1),
                hold: phase
                    .duration
                    .saturating_sub(*ramp)
                    .max(Duration::from_secs(1)),
            };
            let stop = StopCondition::new(phase.duration + CLOSED_SLACK, REQUEST_CEILING)
                .map_err(load_error)?;
            let mut model = ClosedModel::new(cx.base, users, stop);
            model.think = (*think, *think);
            model.phase = phase.name.clone();
            model.sample_target = true;
            model.control = cx.control.clone();
            model.limits = *cx.limits;
            model
                .run(workload as Arc<dyn JourneySource>)
                .await
                .map_err(load_error)
        }
    }
}

fn open_limits(mut model: OpenModel, cx: &PhaseContext<'_>) -> OpenModel {
    model.limits = *cx.limits;
    model
}

async fn open(
    mut model: OpenModel,
    phase: &Phase,
    cx: &PhaseContext<'_>,
    workload: Arc<Workload>,
) -> Result<RunOutput, somon_loadgen::Error> {
    model.phase = phase.name.clone();
    model.sample_target = true;
    model.control = cx.control.clone();
    // A journey may be several requests (ops: /health then /metrics); the
    // open model sends them as consecutive arrivals.
    let mut pending: Vec<Request> = Vec::new();
    let source = move || loop {
        if let Some(next) = pending.pop() {
            return next;
        }
        pending = workload.next_requests();
        pending.reverse();
    };
    model.run(source).await
}

/// The arrival schedule of `steps` (`(rate, ZERO)` first when the phase
/// gave a plain `rate`): constant for the whole phase, or linear ramps.
fn schedule(
    steps: &[(f64, Duration)],
    phase: Duration,
) -> Result<ArrivalSchedule, somon_loadgen::Error> {
    let start = steps.first().map_or(0.0, |(rate, _)| *rate);
    let ramps: Vec<Step> = steps
        .iter()
        .filter(|(_, d)| !d.is_zero())
        .map(|(rate, d)| Step {
            per_sec: *rate,
            duration: *d,
        })
        .collect();
    if ramps.is_empty() {
        ArrivalSchedule::constant(start, phase)
    } else {
        ArrivalSchedule::ramping(start, ramps)
    }
}

/// The highest rate the steps reach.
fn schedule_rate_bound(steps: &[(f64, Duration)]) -> f64 {
    steps.iter().map(|(rate, _)| *rate).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_rate_holds_for_the_phase_and_steps_ramp() {
        let s = schedule(&[(100.0, Duration::ZERO)], Duration::from_secs(10)).unwrap();
        assert_eq!(s.duration(), Duration::from_secs(10));
        let s = schedule(
            &[
                (10.0, Duration::ZERO),
                (100.0, Duration::from_secs(5)),
                (100.0, Duration::from_secs(5)),
            ],
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(s.duration(), Duration::from_secs(10));
    }
}
