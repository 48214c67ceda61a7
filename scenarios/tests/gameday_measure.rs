//! Drill measurement on synthetic records: time-to-detect, time-to-recover,
//! deadlines, refused remedies, alerts, and the fault windows read from the
//! timeline's history. No target, no clock, no sleeping.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use somon_chaos::{Event, EventKind, OperatorAction, ProcessFault, Step};
use somon_loadgen::{
    new_histogram, ErrorCounts, IntervalLogWriter, IntervalPoint, Key, Measurement, Model,
    RequestOutcome, RunOutput, SelfCheck, Validity,
};
use somon_scenarios::gameday::{
    alert_fired_at, measure_drill, Anchor, Drill, FaultRef, FaultWindow, Observation, Plan,
    RemedyTaken, Signal,
};
use somon_scenarios::{Claim, Outcome, PhaseRun, RunRecord};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn breaker(at: u64, state: &str) -> Observation {
    Observation {
        at: ms(at),
        endpoint: "/circuit-breakers/status".into(),
        status: Some(200),
        body: json!({ "breakers": { "lodash": { "state": state } } }),
    }
}

fn answer(at: u64, endpoint: &str, status: Option<u16>, body: Value) -> Observation {
    Observation {
        at: ms(at),
        endpoint: endpoint.into(),
        status,
        body,
    }
}

fn outage_drill(remedy: bool) -> Drill {
    Drill {
        id: "outage".into(),
        source: "SomonScript Module System - Operational Runbook › Circuit Breakers Open".into(),
        fault: FaultRef::Step(0),
        detect: "breaker_open(external:lodash)".parse().unwrap(),
        detect_within: Some(Duration::from_secs(5)),
        remedy: remedy.then(|| somon_scenarios::gameday::Remedy {
            action: OperatorAction::BreakerReset(Some("lodash".into())),
            at: Anchor::FaultEnd(Duration::from_secs(2)),
        }),
        verify: "breaker_closed(external:lodash)".parse().unwrap(),
        recover_within: Duration::from_secs(20),
    }
}

fn window() -> Result<FaultWindow, String> {
    Ok(FaultWindow {
        start: ms(8_000),
        end: Some(ms(18_000)),
    })
}

fn taken(at_s: f64, ok: bool) -> RemedyTaken {
    RemedyTaken {
        drill: "outage".into(),
        at_s,
        action: "POST /circuit-breakers/reset/lodash".into(),
        ok,
        detail: if ok {
            "200 {}".into()
        } else {
            "403 locked".into()
        },
    }
}

/// Closed until 9.5 s, open until 20.25 s, closed after.
fn outage_series() -> Vec<Observation> {
    (0..120)
        .map(|i| {
            let at = i * 250;
            breaker(
                at,
                if (9_500..20_250).contains(&at) {
                    "open"
                } else {
                    "closed"
                },
            )
        })
        .collect()
}

#[test]
fn detection_and_recovery_count_from_the_fault_start() {
    let obs = outage_series();
    let record = RunRecord::default();
    let r = measure_drill(
        &outage_drill(true),
        "registry 503",
        window(),
        &obs,
        &record,
        &[],
        Some(&taken(20.0, true)),
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.evidence);
    assert_eq!(r.detected_at_s, Some(9.5));
    assert_eq!(r.time_to_detect_s, Some(1.5));
    assert_eq!(r.remedy_at_s, Some(20.0));
    // The breaker was closed before the fault too: only after the remedy counts.
    assert_eq!(r.recovered_at_s, Some(20.25));
    assert_eq!(r.time_to_recover_s, Some(12.25));
}

#[test]
fn late_detection_late_recovery_and_a_refused_remedy_fail() {
    let obs = outage_series();
    let record = RunRecord::default();
    let mut drill = outage_drill(true);
    drill.detect_within = Some(Duration::from_secs(1));
    let r = measure_drill(
        &drill,
        "f",
        window(),
        &obs,
        &record,
        &[],
        Some(&taken(20.0, true)),
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(
        r.evidence.contains("detected after 1.50 s, deadline 1 s"),
        "{}",
        r.evidence
    );

    let mut drill = outage_drill(true);
    drill.recover_within = Duration::from_secs(10);
    let r = measure_drill(
        &drill,
        "f",
        window(),
        &obs,
        &record,
        &[],
        Some(&taken(20.0, true)),
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(
        r.evidence
            .contains("recovered after 12.25 s, deadline 10 s"),
        "{}",
        r.evidence
    );

    let r = measure_drill(
        &outage_drill(true),
        "f",
        window(),
        &obs,
        &record,
        &[],
        Some(&taken(20.0, false)),
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(
        r.evidence.contains("the remedy was refused: 403 locked"),
        "{}",
        r.evidence
    );
}

#[test]
fn a_fault_nobody_saw_fails_and_one_nothing_watched_is_unknown() {
    let never_open: Vec<Observation> = (0..120).map(|i| breaker(i * 250, "closed")).collect();
    let record = RunRecord::default();
    let r = measure_drill(
        &outage_drill(false),
        "f",
        window(),
        &never_open,
        &record,
        &[],
        None,
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(r.evidence.contains("not detected"), "{}", r.evidence);

    let r = measure_drill(
        &outage_drill(false),
        "f",
        window(),
        &[],
        &record,
        &[],
        None,
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Unknown);

    let r = measure_drill(
        &outage_drill(false),
        "f",
        Err("the fault was never applied".into()),
        &never_open,
        &record,
        &[],
        None,
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Unknown);
    assert_eq!(r.evidence, "the fault was never applied");
}

/// Closed until 9.5 s, open from then until `until_ms`.
fn open_until(until_ms: u64) -> Vec<Observation> {
    (0..=until_ms / 250)
        .map(|i| breaker(i * 250, if i * 250 >= 9_500 { "open" } else { "closed" }))
        .collect()
}

#[test]
fn a_record_that_ends_before_the_deadline_leaves_recovery_unknown() {
    // The fault runs 8–18 s, the recovery deadline is 28 s.
    let judged = |obs: &[Observation], until_ms| {
        measure_drill(
            &outage_drill(false),
            "f",
            window(),
            obs,
            &RunRecord::default(),
            &[],
            None,
            ms(until_ms),
        )
    };
    // Nothing watched after the fault's end.
    let r = judged(&open_until(15_000), 15_000);
    assert_eq!(r.outcome, Outcome::Unknown, "{}", r.evidence);
    // Still open when the record ends at 27 s: it may yet close in time.
    let r = judged(&open_until(27_000), 27_000);
    assert_eq!(r.outcome, Outcome::Unknown, "{}", r.evidence);
    assert!(r.evidence.contains("before the deadline"), "{}", r.evidence);
    assert_eq!(r.time_to_recover_s, None);
    // Still open at 40 s: the deadline passed without it.
    let r = judged(&open_until(40_000), 40_000);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.evidence);
    assert!(
        r.evidence
            .contains("recovery took at least 32.000 s (never observed)"),
        "{}",
        r.evidence
    );
    assert_eq!(r.time_to_recover_s, None);
    // A record reaching 40 s with no breaker state after the fault's end
    // proves nothing.
    let r = judged(&open_until(15_000), 40_000);
    assert_eq!(r.outcome, Outcome::Unknown, "{}", r.evidence);
}

#[test]
fn a_signal_never_seen_is_never_a_pass() {
    let closed = |until_ms: u64| -> Vec<Observation> {
        (0..=until_ms / 250)
            .map(|i| breaker(i * 250, "closed"))
            .collect()
    };
    let judged = |drill: &Drill, obs: &[Observation], until_ms| {
        measure_drill(
            drill,
            "f",
            window(),
            obs,
            &RunRecord::default(),
            &[],
            None,
            ms(until_ms),
        )
    };
    // Not open 3 s into the fault, detection deadline 5 s: undecided.
    let r = judged(&outage_drill(false), &closed(11_000), 11_000);
    assert_eq!(r.outcome, Outcome::Unknown, "{}", r.evidence);
    assert!(
        r.evidence
            .contains("detection took at least 3.000 s (never observed)"),
        "{}",
        r.evidence
    );
    // Not open 6 s into it: the detection deadline passed.
    let r = judged(&outage_drill(false), &closed(14_000), 14_000);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.evidence);
    assert!(r.evidence.contains("not detected"), "{}", r.evidence);
    // Without its own deadline, detection has the recovery deadline.
    let mut drill = outage_drill(false);
    drill.detect_within = None;
    let r = judged(&drill, &closed(27_000), 27_000);
    assert_eq!(r.outcome, Outcome::Unknown, "{}", r.evidence);
    let r = judged(&drill, &closed(29_000), 29_000);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.evidence);
    // Detected late, recovery not yet seen: the missed detection deadline
    // already fails the drill.
    let mut drill = outage_drill(false);
    drill.detect_within = Some(Duration::from_secs(1));
    let r = judged(&drill, &open_until(27_000), 27_000);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.evidence);
    assert!(
        r.evidence.contains("detected after 1.50 s, deadline 1 s"),
        "{}",
        r.evidence
    );
}

#[test]
fn a_planned_remedy_never_taken_fails_the_drill() {
    let obs = outage_series();
    let r = measure_drill(
        &outage_drill(true),
        "f",
        window(),
        &obs,
        &RunRecord::default(),
        &[],
        None,
        ms(30_000),
    );
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(r.evidence.contains("never taken"), "{}", r.evidence);
}

#[test]
fn a_drop_is_measured_against_the_value_before_the_remedy() {
    let metrics = |at: u64, bytes: u64| {
        answer(
            at,
            "/metrics",
            Some(200),
            json!({ "cacheMemoryUsage": bytes, "cacheSize": bytes / 1000 }),
        )
    };
    let obs = vec![
        metrics(1_000, 100_000),
        metrics(2_000, 2_000_000),
        metrics(3_000, 4_000_000),
        metrics(3_250, 3_000_000), // dropped by 25 %: not enough
        metrics(3_500, 300_000),   // by 92.5 %
    ];
    let drill = Drill {
        id: "clear".into(),
        source: "SomonScript Module System - Operational Runbook › Memory Leak - Continuous Memory Growth".into(),
        fault: FaultRef::Phase("fill".into()),
        detect: "cache_memory > 3MB".parse().unwrap(),
        detect_within: None,
        remedy: Some(somon_scenarios::gameday::Remedy {
            action: OperatorAction::CacheClear,
            at: Anchor::Detected(Duration::from_millis(100)),
        }),
        verify: "cache_memory_drop >= 90%".parse().unwrap(),
        recover_within: Duration::from_secs(5),
    };
    let w = Ok(FaultWindow {
        start: ms(0),
        end: Some(ms(4_000)),
    });
    let mut remedy = taken(3.1, true);
    remedy.drill = "clear".into();
    let r = measure_drill(
        &drill,
        "phase fill",
        w,
        &obs,
        &RunRecord::default(),
        &[],
        Some(&remedy),
        ms(4_000),
    );
    assert_eq!(r.detected_at_s, Some(3.0));
    assert_eq!(r.recovered_at_s, Some(3.5), "{}", r.evidence);
    assert!(
        r.evidence.contains("4000000 before the remedy → 300000"),
        "{}",
        r.evidence
    );
    assert_eq!(r.outcome, Outcome::Pass);
}

#[test]
fn an_unanswered_ready_probe_detects_a_kill() {
    let obs = vec![
        answer(7_750, "/ready", Some(200), json!({ "ready": true })),
        answer(8_250, "/ready", None, Value::Null),
        answer(8_500, "/ready", Some(503), json!({ "ready": false })),
        answer(8_750, "/ready", Some(200), json!({ "ready": true })),
    ];
    let drill = Drill {
        id: "kill".into(),
        source: "SomonScript Module System - Operational Runbook › System Down - Module Loading Completely Failing".into(),
        fault: FaultRef::Step(0),
        detect: Signal::NotReady,
        detect_within: Some(Duration::from_secs(2)),
        remedy: None,
        verify: Signal::Ready,
        recover_within: Duration::from_secs(30),
    };
    // The kill fired at 8 s; the restart completed at 8.6 s.
    let w = Ok(FaultWindow {
        start: ms(8_000),
        end: Some(ms(8_600)),
    });
    let r = measure_drill(
        &drill,
        "kill",
        w,
        &obs,
        &RunRecord::default(),
        &[],
        None,
        ms(40_000),
    );
    assert_eq!(r.time_to_detect_s, Some(0.25));
    assert_eq!(r.time_to_recover_s, Some(0.75));
    assert_eq!(r.outcome, Outcome::Pass);
}

fn phase_with_errors(per_second: &[(u64, u64)]) -> PhaseRun {
    let series: Vec<IntervalPoint> = per_second
        .iter()
        .enumerate()
        .map(|(i, (requests, errors))| IntervalPoint {
            start: Duration::from_secs(i as u64),
            duration: Duration::from_secs(1),
            requests: *requests,
            errors: ErrorCounts {
                status_5xx: *errors,
                ..ErrorCounts::default()
            },
            in_flight: 0,
            in_flight_peak: 0,
            dropped: 0,
        })
        .collect();
    let elapsed = Duration::from_secs(per_second.len() as u64);
    PhaseRun {
        name: "p".into(),
        start: Duration::from_secs(10),
        output: RunOutput {
            model: Model::Open,
            phase: "p".into(),
            elapsed,
            requests: 0,
            errors: ErrorCounts::default(),
            summaries: Vec::new(),
            interval_log: String::new(),
            series: series.clone(),
            self_check: SelfCheck::default(),
            validity: Validity::Valid,
            samples: Vec::new(),
            measurement: Measurement {
                series,
                elapsed,
                ..Measurement::default()
            },
        },
    }
}

#[test]
fn an_alert_fires_at_the_end_of_its_first_full_window() {
    let alert = Claim {
        id: "errors".into(),
        source: "SomonScript Module System - Operational Runbook › Alert Thresholds".into(),
        expect: "error_rate > 10% for 3s".parse().unwrap(),
        phase: None,
    };
    // Seconds 10..: 0 %, 50 %, 50 %, 0 %, 50 %, 50 %, 50 %, 50 %.
    let record = RunRecord {
        phases: vec![phase_with_errors(&[
            (10, 0),
            (10, 5),
            (10, 5),
            (10, 0),
            (10, 5),
            (10, 5),
            (10, 5),
            (10, 5),
        ])],
        ..RunRecord::default()
    };
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::ZERO),
        Some(Duration::from_secs(17))
    );
    // Seconds ending before `from` do not count toward the window.
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::from_secs(15)),
        Some(Duration::from_secs(18))
    );
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::from_secs(16)),
        None
    );
}

#[test]
fn a_latency_alert_reads_its_journey_per_second_from_the_interval_log() {
    let alert = Claim {
        id: "slow".into(),
        source: "a latency alert rule".into(),
        expect: "p99(x) > 50ms for 2s".parse().unwrap(),
        phase: None,
    };
    // Phase seconds (from 10 s on the run clock), p99 of x: 80 ms, 80 ms
    // (a slow failure among fast successes), 5 ms (while y, another
    // journey, is slow), 80 ms, 80 ms.
    let lines: [(u64, Key, u64); 7] = [
        (0, Key::new("x", "p", RequestOutcome::Ok), 80_000),
        (1, Key::new("x", "p", RequestOutcome::Ok), 1_000),
        (1, Key::new("x", "p", RequestOutcome::Status5xx), 80_000),
        (2, Key::new("x", "p", RequestOutcome::Ok), 5_000),
        (2, Key::new("y", "p", RequestOutcome::Ok), 900_000),
        (3, Key::new("x", "p", RequestOutcome::Ok), 80_000),
        (4, Key::new("x", "p", RequestOutcome::Ok), 80_000),
    ];
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
    for (second, key, micros) in &lines {
        let mut h = new_histogram();
        h.record(*micros).unwrap();
        let start = Duration::from_secs(*second);
        log.write(start, Duration::from_secs(1), Some(&key.tag()), &h)
            .unwrap();
    }
    let mut phase = phase_with_errors(&[]);
    phase.output.interval_log = log.finish();
    let record = RunRecord {
        phases: vec![phase],
        ..RunRecord::default()
    };
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::ZERO),
        Some(Duration::from_secs(12))
    );
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::from_secs(12)),
        Some(Duration::from_secs(15))
    );
    assert_eq!(
        alert_fired_at(&alert, &record, Duration::from_secs(14)),
        None
    );
}

#[test]
fn the_fault_window_comes_from_the_timeline_history() {
    let text = r#"name = "w"
[[phases]]
name = "p"
duration = "30s"
load = { model = "idle" }
[[faults]]
at = "2s"
kind = "module-edit"
[[faults]]
at = "5s"
duration = "4s"
kind = "registry-hang"
[[faults]]
at = "10s"
kind = "process-kill"
[[drills]]
id = "d"
fault = 2
detect = "not_ready"
verify = "ready"
recover_within = "10s"
"#;
    let plan = Plan::from_toml(Path::new("w.toml"), text).unwrap();
    let event = |at: u64, kind, entry, detail: Step| Event {
        at: ms(at),
        kind,
        entry: Some(entry),
        step: detail.to_string(),
        detail,
        message: None,
    };
    let hang = Step::Registry(Default::default());
    let kill = Step::Process(ProcessFault::Kill9Restart);
    // The probe is not on the timeline: the hang is entry 0, the kill entry 1.
    let history = vec![
        event(5_001, EventKind::Applied, 0, hang.clone()),
        event(9_002, EventKind::Removed, 0, hang),
        event(10_700, EventKind::Action, 1, kill.clone()),
    ];
    let record = RunRecord::default();
    let w = FaultWindow::of(&plan.scenario, &FaultRef::Step(1), &history, &record).unwrap();
    assert_eq!(
        w,
        FaultWindow {
            start: ms(5_001),
            end: Some(ms(9_002))
        }
    );
    let w = FaultWindow::of(&plan.scenario, &FaultRef::Step(2), &history, &record).unwrap();
    assert_eq!(
        w,
        FaultWindow {
            start: ms(10_000),
            end: Some(ms(10_700))
        }
    );
    let failed = vec![Event {
        message: Some("no process".into()),
        ..event(10_001, EventKind::Failed, 1, kill)
    }];
    let e = FaultWindow::of(&plan.scenario, &FaultRef::Step(2), &failed, &record).unwrap_err();
    assert!(e.contains("no process"), "{e}");
    assert!(FaultWindow::of(&plan.scenario, &FaultRef::Step(2), &[], &record).is_err());
}

#[test]
fn a_restart_faster_than_the_polls_shows_as_uptime_going_back() {
    let health = |at: u64, uptime: f64| {
        answer(
            at,
            "/health",
            Some(200),
            json!({ "status": "healthy", "uptime": uptime }),
        )
    };
    let obs = vec![
        health(7_750, 12.0),
        health(8_000, 12.25),
        health(8_250, 0.2),
        answer(8_260, "/ready", Some(200), json!({ "ready": true })),
        health(8_500, 0.45),
    ];
    let restarts: Vec<u64> = somon_scenarios::gameday::restarts(&obs)
        .map(|o| o.at.as_millis() as u64)
        .collect();
    assert_eq!(restarts, [8_250]);
    let drill = Drill {
        id: "kill".into(),
        source: "SomonScript Module System - Operational Runbook › System Down - Module Loading Completely Failing".into(),
        fault: FaultRef::Step(0),
        detect: Signal::Restarted,
        detect_within: Some(Duration::from_secs(2)),
        remedy: None,
        verify: Signal::Ready,
        recover_within: Duration::from_secs(30),
    };
    let w = Ok(FaultWindow {
        start: ms(8_000),
        end: Some(ms(8_020)),
    });
    let r = measure_drill(
        &drill,
        "kill",
        w,
        &obs,
        &RunRecord::default(),
        &[],
        None,
        ms(40_000),
    );
    assert_eq!(r.time_to_detect_s, Some(0.25));
    assert_eq!(r.recovered_at_s, Some(8.26));
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.evidence);
    // No restart seen: not detected.
    let r = measure_drill(
        &drill,
        "kill",
        Ok(FaultWindow {
            start: ms(8_300),
            end: None,
        }),
        &obs,
        &RunRecord::default(),
        &[],
        None,
        ms(40_000),
    );
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.evidence);
}
