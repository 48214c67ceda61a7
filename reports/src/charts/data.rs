//! What the charts plot, read out of a run report: latency per journey
//! and second from the interval logs, throughput from the time series,
//! fault windows, breaker states and the claims' thresholds.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use somon_record::{Expectation, FaultEvent, Metric, RunReport};

/// A stretch of the run clock (seconds) during which a fault was on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaultWindow {
    /// Applied.
    pub(crate) from: f64,
    /// Removed, or the end of the run when it never was.
    pub(crate) to: f64,
    /// What it hit (`external:lodash`, `target`).
    pub(crate) hits: String,
}

/// One journey's latencies: per interval (run-clock seconds at the
/// interval's start) and over the whole run, all outcomes together as the
/// verdicts judge them.
pub(crate) struct JourneyLatency {
    pub(crate) intervals: BTreeMap<Duration, Histogram<u64>>,
    pub(crate) whole: Histogram<u64>,
}

/// A latency claim's threshold on one journey.
pub(super) struct Threshold {
    /// `p99-cached: p99(load_cached) < 100ms`.
    pub(super) label: String,
    pub(super) millis: f64,
}

/// End of the run on its clock: the last phase's end or the last fault
/// event, whichever is later.
pub(crate) fn run_end(report: &RunReport) -> f64 {
    let phases = report
        .record
        .phases
        .iter()
        .map(|p| (p.start + p.output.elapsed).as_secs_f64());
    let faults = report.record.faults.iter().map(|f| f.at.as_secs_f64());
    phases.chain(faults).fold(0.0, f64::max)
}

/// Pairs each application with the next removal of the same target; a
/// fault never removed (the run was cut short) lasts until `end`.
pub(crate) fn fault_windows(faults: &[FaultEvent], end: f64) -> Vec<FaultWindow> {
    let mut events: Vec<&FaultEvent> = faults.iter().collect();
    // Stable: events at one instant keep their recorded order.
    events.sort_by_key(|f| f.at);
    let mut open: Vec<(f64, &str)> = Vec::new();
    let mut windows = Vec::new();
    for event in events {
        let at = event.at.as_secs_f64();
        if event.applied {
            open.push((at, &event.hits));
        } else if let Some(i) = open.iter().position(|(_, hits)| *hits == event.hits) {
            let (from, hits) = open.remove(i);
            windows.push(FaultWindow {
                from,
                to: at,
                hits: hits.to_string(),
            });
        }
    }
    windows.extend(open.into_iter().map(|(from, hits)| FaultWindow {
        from,
        to: end.max(from),
        hits: hits.to_string(),
    }));
    windows.sort_by(|a, b| a.from.total_cmp(&b.from).then_with(|| a.hits.cmp(&b.hits)));
    windows
}

/// Latencies per journey from every phase's interval log, each interval
/// moved onto the run clock by its phase's start. The logs, not the
/// whole-run histograms, because only the logs survive in `record.json`.
///
/// # Errors
/// A log that does not parse, with the phase's name.
pub(crate) fn latencies(report: &RunReport) -> Result<BTreeMap<String, JourneyLatency>, String> {
    let mut journeys: BTreeMap<String, JourneyLatency> = BTreeMap::new();
    for phase in &report.record.phases {
        let intervals = somon_loadgen::interval_log::keyed(&phase.output.interval_log)
            .map_err(|e| format!("interval log of phase {}: {e}", phase.name))?;
        for (key, interval) in intervals {
            let journey = journeys
                .entry(key.op.to_string())
                .or_insert_with(|| JourneyLatency {
                    intervals: BTreeMap::new(),
                    whole: somon_loadgen::new_histogram(),
                });
            let at = phase.start + interval.start;
            add(
                journey
                    .intervals
                    .entry(at)
                    .or_insert_with(somon_loadgen::new_histogram),
                &interval.histogram,
            )?;
            add(&mut journey.whole, &interval.histogram)?;
        }
    }
    Ok(journeys)
}

fn add(total: &mut Histogram<u64>, h: &Histogram<u64>) -> Result<(), String> {
    total
        .add(h)
        .map_err(|e| format!("merging latencies: {e:?}"))
}

/// The latency thresholds claimed for `journey`, in claim order.
pub(super) fn thresholds(report: &RunReport, journey: &str) -> Vec<Threshold> {
    let mut out: Vec<Threshold> = Vec::new();
    for verdict in &report.verdicts {
        // Claims and alerts alike hold their expression as written.
        let Ok(e) = verdict.expected.parse::<Expectation>() else {
            continue;
        };
        let on_journey = match &e.metric {
            Metric::Latency { journey: j, .. }
            | Metric::MeanLatency { journey: j }
            | Metric::MaxLatency { journey: j } => j == journey,
            _ => false,
        };
        if !on_journey {
            continue;
        }
        let millis = e.threshold.value() * 1e3;
        let label = format!("{}: {}", verdict.claim, verdict.statement());
        // The same claim judged per phase draws one line, not one per phase.
        if !out.iter().any(|t| t.label == label) {
            out.push(Threshold { label, millis });
        }
    }
    out
}

/// Breaker states per dependency from the `/circuit-breakers/status`
/// samples, on the run clock, in dependency-name order.
pub(super) fn breaker_states(report: &RunReport) -> BTreeMap<String, Vec<(f64, String)>> {
    let mut out: BTreeMap<String, Vec<(f64, String)>> = BTreeMap::new();
    for phase in &report.record.phases {
        for sample in &phase.output.samples {
            if sample.endpoint != "/circuit-breakers/status" {
                continue;
            }
            // A failed poll has no states to read.
            let Some(breakers) = sample.data().and_then(|b| b["breakers"].as_object()) else {
                continue;
            };
            let at = (phase.start + sample.at).as_secs_f64();
            for (name, breaker) in breakers {
                if let Some(state) = breaker["state"].as_str() {
                    out.entry(name.clone())
                        .or_default()
                        .push((at, state.to_string()));
                }
            }
        }
    }
    for states in out.values_mut() {
        states.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// Requests and errors per second, per series point, on the run clock.
pub(crate) fn throughput(report: &RunReport) -> Vec<(f64, f64, f64)> {
    let mut points = Vec::new();
    for phase in &report.record.phases {
        for point in &phase.output.series {
            let seconds = point.duration.as_secs_f64();
            if seconds <= 0.0 {
                continue;
            }
            let at = (phase.start + point.start).as_secs_f64();
            points.push((
                at,
                point.requests as f64 / seconds,
                point.errors.total() as f64 / seconds,
            ));
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// Error kinds in the order the errors chart draws them, with their
/// names as in the interval log tags.
pub(crate) const ERROR_KINDS: [&str; 6] = [
    "status_4xx",
    "status_5xx",
    "timeout",
    "connect",
    "reset",
    "other",
];

/// Errors per second by kind (in [`ERROR_KINDS`] order), per series
/// point, on the run clock.
pub(super) fn errors(report: &RunReport) -> Vec<(f64, [f64; 6])> {
    let mut points = Vec::new();
    for phase in &report.record.phases {
        for point in &phase.output.series {
            let seconds = point.duration.as_secs_f64();
            if seconds <= 0.0 {
                continue;
            }
            let e = &point.errors;
            let counts = [
                e.status_4xx,
                e.status_5xx,
                e.timeout,
                e.connect,
                e.reset,
                e.other,
            ];
            points.push((
                (phase.start + point.start).as_secs_f64(),
                counts.map(|n| n as f64 / seconds),
            ));
        }
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: u64, applied: bool, hits: &str) -> FaultEvent {
        FaultEvent {
            at: Duration::from_secs(at),
            applied,
            hits: hits.into(),
        }
    }

    #[test]
    fn windows_pair_by_target_and_run_to_the_end_when_never_removed() {
        let faults = [
            event(5, true, "external:a"),
            event(7, true, "target"),
            event(9, false, "external:a"),
            event(12, true, "external:a"),
        ];
        let w = fault_windows(&faults, 20.0);
        let got: Vec<(f64, f64, &str)> = w.iter().map(|w| (w.from, w.to, &*w.hits)).collect();
        assert_eq!(
            got,
            [
                (5.0, 9.0, "external:a"),
                (7.0, 20.0, "target"),
                (12.0, 20.0, "external:a")
            ]
        );
    }
}
