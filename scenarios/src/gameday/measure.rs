//! Measuring a drill after the run: the fault's window from the timeline's
//! history, the first observation where the detection signal holds, the
//! first where the verify signal holds after the remedy, and the verdict
//! against the deadlines. Pure functions of the record: no clock, no I/O.

use std::time::Duration;

use somon_chaos::{Event, EventKind};
use somon_loadgen::interval_log;
use somon_record::TimeToState;

use super::{secs, Anchor, Drill, DrillResult, FaultRef, Observation, RemedyTaken, Signal};
use crate::{Claim, Cmp, Metric, Outcome, PhaseRun, RunRecord, Scenario};

/// When a drilled fault was on, as the timeline recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultWindow {
    /// Applied (a lasting fault) or started (an instant step: its planned
    /// time, when the timeline fired it).
    pub start: Duration,
    /// Removed, or the instant step completed (a kill's restart done).
    pub end: Option<Duration>,
}

impl FaultWindow {
    /// The window of the scenario's fault in `history` (of a phase: in
    /// `record`), or why there is none (never applied, failed).
    ///
    /// # Errors
    /// The fault never happened or its step failed, in words.
    pub fn of(
        scenario: &Scenario,
        fault: &FaultRef,
        history: &[Event],
        record: &RunRecord,
    ) -> Result<FaultWindow, String> {
        let index = match fault {
            FaultRef::Step(i) => *i,
            FaultRef::Phase(name) => {
                let phase = record
                    .phases
                    .iter()
                    .find(|p| p.name == *name)
                    .ok_or_else(|| format!("phase {name} did not run"))?;
                return Ok(FaultWindow {
                    start: phase.start,
                    end: Some(phase.start + phase.output.elapsed),
                });
            }
        };
        let step = scenario.faults.get(index).ok_or("no such fault")?;
        // The timeline holds the non-probe steps, in order.
        let entry = scenario.faults[..index]
            .iter()
            .filter(|s| !s.fault.is_probe())
            .count();
        let mine: Vec<&Event> = history.iter().filter(|e| e.entry == Some(entry)).collect();
        if let Some(failed) = mine.iter().find(|e| e.kind == EventKind::Failed) {
            return Err(format!(
                "the fault's step failed at {:.1} s: {}",
                secs(failed.at),
                failed.message.clone().unwrap_or_default()
            ));
        }
        let applied = mine.iter().find(|e| e.kind == EventKind::Applied);
        let removed = mine.iter().find(|e| e.kind == EventKind::Removed);
        let action = mine.iter().find(|e| e.kind == EventKind::Action);
        match (applied, action) {
            (Some(a), _) => Ok(FaultWindow {
                start: a.at,
                end: removed.map(|r| r.at),
            }),
            (None, Some(done)) => Ok(FaultWindow {
                start: step.at.min(done.at),
                end: Some(done.at),
            }),
            (None, None) => Err("the fault was never applied (the run ended first?)".into()),
        }
    }
}

/// The first time at or after `from` that alert rule `alert` fires: the end
/// of the first run of window-many consecutive seconds (each ending after
/// `from`) in which its condition held. `None` when it never fired (or the
/// rule is not an error-rate or latency-quantile rule).
pub fn alert_fired_at(alert: &Claim, record: &RunRecord, from: Duration) -> Option<Duration> {
    let e = &alert.expect;
    let window = e.window?.as_secs().max(1) as usize;
    let mut streak = 0;
    for (start, value) in per_second(&e.metric, &record.phases) {
        let end = start + Duration::from_secs(1);
        match value {
            Some(v) if end > from && e.cmp.holds(v, e.threshold.value()) => {
                streak += 1;
                if streak >= window {
                    return Some(end);
                }
            }
            _ => streak = 0,
        }
    }
    None
}

/// `(second start on the run clock, value)` of an error-rate or latency
/// metric over the phases, from the generator's one-second intervals.
fn per_second(metric: &Metric, phases: &[PhaseRun]) -> Vec<(Duration, Option<f64>)> {
    let mut out = Vec::new();
    for phase in phases {
        match metric {
            Metric::ErrorRate {
                journey: None,
                class: None,
            } => out.extend(phase.output.series.iter().map(|i| {
                (
                    phase.start + i.start,
                    (i.requests > 0).then(|| i.errors.total() as f64 / i.requests as f64),
                )
            })),
            Metric::Latency { quantile, journey } => {
                let log = &phase.output.interval_log;
                let Ok(seconds) = interval_log::per_second(log, |k| *k.op == **journey) else {
                    continue;
                };
                out.extend(seconds.into_iter().enumerate().map(|(s, second)| {
                    (
                        phase.start + Duration::from_secs(s as u64),
                        second
                            .filter(|s| !s.histogram.is_empty())
                            .map(|s| s.histogram.value_at_quantile(*quantile) as f64 / 1e6),
                    )
                }));
            }
            _ => {}
        }
    }
    out
}

/// First `(time, evidence)` at or after `from` where `signal` holds.
fn first_holding(
    signal: &Signal,
    from: Duration,
    observations: &[Observation],
    record: &RunRecord,
    alerts: &[Claim],
) -> Option<(Duration, String)> {
    match signal {
        Signal::Alert(id) => {
            let alert = alerts.iter().find(|a| a.id == *id)?;
            let at = alert_fired_at(alert, record, from)?;
            Some((at, format!("alert {id} ({}) fired", alert.expect)))
        }
        Signal::ErrorRate { .. } => {
            let Signal::ErrorRate { cmp, threshold } = signal else {
                return None;
            };
            let metric = Metric::ErrorRate {
                journey: None,
                class: None,
            };
            per_second(&metric, &record.phases)
                .into_iter()
                .find(|(start, v)| *start >= from && v.is_some_and(|v| cmp.holds(v, *threshold)))
                .map(|(start, v)| {
                    (
                        start + Duration::from_secs(1),
                        format!(
                            "error rate {:.2} % in the second from {:.1} s",
                            v.unwrap_or(0.0) * 100.0,
                            secs(start)
                        ),
                    )
                })
        }
        Signal::Restarted => super::restarts(observations)
            .find(|o| o.at >= from)
            .map(|o| {
                (
                    o.at,
                    format!(
                        "/health uptime went back to {:.2} s: the process restarted",
                        o.body["uptime"].as_f64().unwrap_or(0.0)
                    ),
                )
            }),
        Signal::Drop { gauge, at_least } => {
            let series: Vec<(Duration, f64)> = observations
                .iter()
                .filter(|o| o.endpoint == "/metrics" && o.status == Some(200))
                .filter_map(|o| Some((o.at, gauge.read(&o.body)?)))
                .collect();
            let (_, baseline) = *series.iter().rev().find(|(at, _)| *at <= from)?;
            let wanted = baseline * (1.0 - at_least);
            series
                .iter()
                .find(|(at, v)| *at >= from && *v <= wanted)
                .map(|(at, v)| {
                    (
                        *at,
                        format!("{signal}: {baseline:.0} before the remedy → {v:.0} (needed ≤ {wanted:.0})"),
                    )
                })
        }
        _ => observations
            .iter()
            .find(|o| o.at >= from && signal.holds(o) == Some(true))
            .map(|o| {
                let answer = o
                    .status
                    .map_or("no answer".to_owned(), |s| format!("HTTP {s}"));
                (o.at, format!("{signal} seen on {} ({answer})", o.endpoint))
            }),
    }
}

/// Whether anything could have shown `signal` after `from`.
fn observed_after(
    signal: &Signal,
    from: Duration,
    observations: &[Observation],
    record: &RunRecord,
) -> bool {
    match signal.endpoint() {
        Some(endpoint) => observations
            .iter()
            .any(|o| o.at >= from && o.endpoint == endpoint),
        None => record
            .phases
            .iter()
            .any(|p| p.start + p.output.elapsed > from),
    }
}

/// A `signal` never seen: it took at least as long as the record runs
/// after the fault's `start` — a bound, not a time (`None`: nothing could
/// have shown it after `from`).
fn never_seen(
    signal: &Signal,
    start: Duration,
    from: Duration,
    observations: &[Observation],
    record: &RunRecord,
    observed_until: Duration,
) -> Option<TimeToState> {
    observed_after(signal, from, observations, record).then(|| TimeToState::NotSeen {
        watched: observed_until.saturating_sub(start),
    })
}

/// Judges one drill. `observed_until` is the run-clock time the record
/// reaches. Its deadlines follow the rule of every time to a state: a
/// signal seen is compared by its time; one never seen is never a PASS —
/// FAIL when the record already runs past the deadline, UNKNOWN when it
/// ends before.
#[allow(clippy::too_many_arguments)] // each is one part of the record
pub fn measure_drill(
    drill: &Drill,
    fault: &str,
    window: Result<FaultWindow, String>,
    observations: &[Observation],
    record: &RunRecord,
    alerts: &[Claim],
    remedy: Option<&RemedyTaken>,
    observed_until: Duration,
) -> DrillResult {
    let mut result = DrillResult {
        id: drill.id.clone(),
        source: drill.source.clone(),
        fault: fault.to_owned(),
        fault_start_s: None,
        fault_end_s: None,
        detect: drill.detect.to_string(),
        detected_at_s: None,
        time_to_detect_s: None,
        detect_within_s: drill.detect_within.map(secs),
        remedy: drill
            .remedy
            .as_ref()
            .map(|r| format!("{} at {}", r.action, r.at)),
        remedy_at_s: remedy.map(|r| r.at_s),
        verify: drill.verify.to_string(),
        recovered_at_s: None,
        time_to_recover_s: None,
        recover_within_s: secs(drill.recover_within),
        outcome: Outcome::Unknown,
        evidence: String::new(),
    };
    let window = match window {
        Ok(w) => w,
        Err(why) => {
            result.evidence = why;
            return result;
        }
    };
    result.fault_start_s = Some(secs(window.start));
    result.fault_end_s = window.end.map(secs);
    let mut notes = Vec::new();

    // A signal first seen after the recovery deadline did not detect this
    // fault (the target stopping at the end of the run is not_ready too),
    // and detection cannot come later than recovery.
    let detected = first_holding(&drill.detect, window.start, observations, record, alerts)
        .filter(|(at, _)| *at <= window.start + drill.recover_within);
    let detect_deadline = drill
        .detect_within
        .map_or(drill.recover_within, |d| d.min(drill.recover_within));
    let Some((detected_at, seen)) = detected else {
        match never_seen(
            &drill.detect,
            window.start,
            window.start,
            observations,
            record,
            observed_until,
        ) {
            Some(bound) => {
                result.outcome = bound.outcome(Cmp::Le, detect_deadline);
                let seen_for = format!(
                    "{} not seen in the record up to {:.1} s: detection took {bound}",
                    drill.detect,
                    secs(observed_until)
                );
                result.evidence = if result.outcome == Outcome::Fail {
                    format!(
                        "{seen_for}, past its {:.0} s deadline: not detected",
                        secs(detect_deadline)
                    )
                } else {
                    format!(
                        "{seen_for}; the record ends before its {:.0} s deadline",
                        secs(detect_deadline)
                    )
                };
            }
            None => {
                result.evidence =
                    format!("nothing observed {} after the fault started", drill.detect);
            }
        }
        return result;
    };
    let ttd = detected_at.saturating_sub(window.start);
    result.detected_at_s = Some(secs(detected_at));
    result.time_to_detect_s = Some(secs(ttd));
    notes.push(format!("detected: {seen} at {:.2} s", secs(detected_at)));
    let mut failed = Vec::new();
    if let Some(limit) = drill.detect_within {
        if TimeToState::Seen(ttd).outcome(Cmp::Le, limit) == Outcome::Fail {
            failed.push(format!(
                "detected after {:.2} s, deadline {:.0} s",
                secs(ttd),
                secs(limit)
            ));
        }
    }

    // Recovery counts from the remedy (or the fault's end), never before
    // the fault was seen.
    let mut from = detected_at.max(window.start);
    match (&drill.remedy, remedy) {
        (Some(_), Some(taken)) => {
            from = from.max(Duration::from_secs_f64(taken.at_s));
            notes.push(format!(
                "remedy {} at {:.2} s: {}",
                taken.action, taken.at_s, taken.detail
            ));
            if !taken.ok {
                failed.push(format!("the remedy was refused: {}", taken.detail));
            }
        }
        (Some(r), None) => {
            notes.push(format!(
                "the remedy ({} at {}) was never taken",
                r.action, r.at
            ));
            notes.extend(failed.iter().cloned());
            result.evidence = notes.join("; ");
            if matches!(r.at, Anchor::At(_))
                || observed_until > window.start + drill.recover_within
                || !failed.is_empty()
            {
                result.outcome = Outcome::Fail;
            }
            return result;
        }
        (None, _) => {
            if let Some(end) = window.end {
                from = from.max(end);
            }
        }
    }
    match first_holding(&drill.verify, from, observations, record, alerts) {
        Some((at, seen)) => {
            let ttr = at.saturating_sub(window.start);
            result.recovered_at_s = Some(secs(at));
            result.time_to_recover_s = Some(secs(ttr));
            notes.push(format!("recovered: {seen} at {:.2} s", secs(at)));
            if TimeToState::Seen(ttr).outcome(Cmp::Le, drill.recover_within) == Outcome::Fail {
                failed.push(format!(
                    "recovered after {:.2} s, deadline {:.0} s",
                    secs(ttr),
                    secs(drill.recover_within)
                ));
            }
        }
        None => {
            let bound = never_seen(
                &drill.verify,
                window.start,
                from,
                observations,
                record,
                observed_until,
            );
            match bound.map(|b| (b, b.outcome(Cmp::Le, drill.recover_within))) {
                Some((bound, Outcome::Fail)) => failed.push(format!(
                    "{} never held after {:.2} s (observed until {:.1} s, deadline {:.0} s after the fault): recovery took {bound}",
                    drill.verify,
                    secs(from),
                    secs(observed_until),
                    secs(drill.recover_within)
                )),
                _ => {
                    notes.push(format!(
                        "{} not yet seen when the record ends at {:.1} s, before the deadline",
                        drill.verify,
                        secs(observed_until)
                    ));
                    // A deadline already missed fails the drill; otherwise
                    // its recovery is not decided yet.
                    if failed.is_empty() {
                        result.evidence = notes.join("; ");
                        return result;
                    }
                }
            }
        }
    }
    result.outcome = if failed.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    notes.extend(failed);
    result.evidence = notes.join("; ");
    result
}
