//! Watching a run while it runs: abort conditions over the live one-second
//! intervals, and a spawned target dying outside any planned fault.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use somon_chaos::{ChildTarget, RunClock};
use somon_loadgen::{IntervalPoint, RunControl};
use tokio::sync::mpsc::UnboundedReceiver;

use super::faults;
use crate::{Expectation, FaultStep, Metric};

/// Why the run was cut short, when it was (first reason wins).
#[derive(Clone, Debug, Default)]
pub(crate) struct Stopped(Arc<Mutex<Option<(StopReason, String)>>>);

/// Who cut the run short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// An abort condition held.
    Abort,
    /// The target died.
    Crash,
    /// A phase could not run.
    Failure,
}

impl Stopped {
    /// Records `reason` (unless one is already recorded) and cancels.
    pub(crate) fn stop(&self, control: &RunControl, reason: StopReason, why: String) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            tracing::warn!(reason = ?reason, "{why}");
            *slot = Some((reason, why));
        }
        control.cancel();
    }

    /// The recorded reason.
    pub(crate) fn get(&self) -> Option<(StopReason, String)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Whether `condition` holds over the trailing intervals of `seen`: the
/// error rate of each of the last `window` seconds (one second without a
/// window) compares as written. Intervals without requests break a streak.
pub(crate) fn abort_holds(condition: &Expectation, seen: &[IntervalPoint]) -> bool {
    let Metric::ErrorRate {
        journey: None,
        class: None,
    } = condition.metric
    else {
        return false;
    };
    let window = condition.window.map_or(1, |w| w.as_secs().max(1) as usize);
    if seen.len() < window {
        return false;
    }
    seen[seen.len() - window..].iter().all(|point| {
        point.requests > 0
            && condition.cmp.holds(
                point.errors.total() as f64 / point.requests as f64,
                condition.threshold.value(),
            )
    })
}

/// Reads live intervals until the run ends, stopping it when an abort
/// condition holds.
pub(crate) fn spawn_abort_watch(
    mut live: UnboundedReceiver<IntervalPoint>,
    conditions: Vec<Expectation>,
    control: RunControl,
    stopped: Stopped,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: Vec<IntervalPoint> = Vec::new();
        while let Some(point) = live.recv().await {
            seen.push(point);
            if let Some(hit) = conditions.iter().find(|c| abort_holds(c, &seen)) {
                stopped.stop(
                    &control,
                    StopReason::Abort,
                    format!("abort condition held: {hit}"),
                );
            }
        }
    })
}

/// Polls a spawned target every 250 ms; its exit outside a planned
/// terminate stops the run.
pub(crate) fn spawn_crash_watch(
    child: Arc<tokio::sync::Mutex<ChildTarget>>,
    steps: Vec<FaultStep>,
    clock: RunClock,
    control: RunControl,
    stopped: Stopped,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = control.cancelled() => return,
            }
            // A kill-and-restart holds the lock while the process is down.
            let Ok(mut child) = child.try_lock() else {
                continue;
            };
            if let Some(status) = child.try_exit_status() {
                if faults::terminated_by(&steps, clock.elapsed()) {
                    return;
                }
                stopped.stop(
                    &control,
                    StopReason::Crash,
                    format!(
                        "the target exited ({status}) at {:.1} s with no fault planned",
                        clock.elapsed().as_secs_f64()
                    ),
                );
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(requests: u64, errors: u64) -> IntervalPoint {
        let counts = somon_loadgen::ErrorCounts {
            status_5xx: errors,
            ..Default::default()
        };
        IntervalPoint {
            start: Duration::ZERO,
            duration: Duration::from_secs(1),
            requests,
            errors: counts,
            in_flight: 0,
            in_flight_peak: 0,
            dropped: 0,
        }
    }

    #[test]
    fn a_windowed_abort_needs_every_second_of_the_window() {
        let c: Expectation = "error_rate > 50% for 3s".parse().unwrap();
        let mut seen = vec![point(10, 9), point(10, 9)];
        assert!(!abort_holds(&c, &seen));
        seen.push(point(10, 2));
        assert!(!abort_holds(&c, &seen));
        seen.extend([point(10, 6), point(10, 10), point(4, 3)]);
        assert!(abort_holds(&c, &seen));
        seen.push(point(0, 0));
        assert!(!abort_holds(&c, &seen));
    }

    #[test]
    fn other_metrics_never_abort() {
        let c: Expectation = "p99(load_cached) > 1ms".parse().unwrap();
        assert!(!abort_holds(&c, &[point(10, 10)]));
    }
}
