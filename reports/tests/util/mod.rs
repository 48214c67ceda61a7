//! A synthetic run with everything the charts draw: one 20 s phase of
//! `load_cached` starting at 2 s on the run clock whose latencies rise
//! while a fault on `external:lodash` is on (7 s to 13 s), the breaker
//! opening and half-opening meanwhile, and a latency claim.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::json;
use somon_chaos::{Event, EventKind, ProcessFault, Step};
use somon_loadgen::{
    new_histogram, ErrorCounts, IntervalLogWriter, IntervalPoint, Key, Model, RequestOutcome,
    RunOutput, Sample, SelfCheck, Validity,
};
use somon_record::{
    FaultEvent, Manifest, Outcome, PhaseRun, PhaseValidity, RunRecord, RunReport, RunStatus,
    Verdict,
};

/// Where the phase starts on the run clock.
pub(crate) const PHASE_START: Duration = Duration::from_secs(2);
/// Seconds of load.
pub(crate) const SECONDS: u64 = 20;
/// The fault window on the run clock.
pub(crate) const FAULT: (u64, u64) = (7, 13);

fn in_fault(run_clock: f64) -> bool {
    run_clock >= FAULT.0 as f64 && run_clock < FAULT.1 as f64
}

fn phase() -> PhaseRun {
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
    let mut series = Vec::new();
    let mut samples = Vec::new();
    let ok = Key::new("load_cached", "steady", RequestOutcome::Ok).tag();
    let failed = Key::new("load_cached", "steady", RequestOutcome::Status5xx).tag();
    for second in 0..SECONDS {
        let start = Duration::from_secs(second);
        let run_clock = (PHASE_START + start).as_secs_f64();
        let slow = in_fault(run_clock);
        let mut h = new_histogram();
        for i in 0..200u64 {
            // 1–5 ms normally; during the fault a tail up to 150 ms.
            let micros = if slow && i % 10 == 0 {
                50_000 + i * 500
            } else {
                1_000 + i * 20
            };
            h.record(micros).unwrap();
        }
        log.write(start, Duration::from_secs(1), Some(&ok), &h)
            .unwrap();
        let errors = if slow { 20 } else { 0 };
        if errors > 0 {
            let mut e = new_histogram();
            e.record_n(2_000, errors).unwrap();
            log.write(start, Duration::from_secs(1), Some(&failed), &e)
                .unwrap();
        }
        series.push(IntervalPoint {
            start,
            duration: Duration::from_secs(1),
            requests: 200 + errors,
            errors: ErrorCounts {
                status_5xx: errors,
                ..ErrorCounts::default()
            },
            in_flight: 3,
            in_flight_peak: 5,
            dropped: 0,
        });
        for quarter in 0..4u32 {
            let at = start + Duration::from_millis(250) * quarter;
            let t = (PHASE_START + at).as_secs_f64();
            let state = match t {
                t if (8.0..11.0).contains(&t) => "open",
                t if (11.0..12.0).contains(&t) => "half-open",
                _ => "closed",
            };
            samples.push(Sample {
                at,
                endpoint: "/circuit-breakers/status".into(),
                body: json!({"breakers": {"lodash": {"state": state}, "axios": {"state": "closed"}}}),
                failed: None,
            });
            samples.push(Sample {
                at,
                endpoint: "/metrics".into(),
                body: json!({"totalLoads": 1}),
                failed: None,
            });
        }
    }
    let requests = series.iter().map(|p| p.requests).sum();
    PhaseRun {
        name: "steady".into(),
        start: PHASE_START,
        output: RunOutput {
            model: Model::Open,
            phase: "steady".into(),
            elapsed: Duration::from_secs(SECONDS),
            requests,
            errors: ErrorCounts::default(),
            summaries: Vec::new(),
            interval_log: log.finish(),
            series,
            self_check: SelfCheck::default(),
            validity: Validity::Valid,
            samples,
            measurement: Default::default(),
        },
    }
}

fn event(at: u64, kind: EventKind) -> Event {
    Event {
        at: Duration::from_secs(at),
        kind,
        entry: Some(0),
        step: "registry lodash: error 503".into(),
        detail: Step::Process(ProcessFault::Pause),
        message: None,
    }
}

/// The whole synthetic report.
pub(crate) fn report() -> RunReport {
    RunReport {
        manifest: Manifest {
            scenario: "breaker-drill".into(),
            description: "lodash fails; cached loads stay fast".into(),
            seed: 7,
            target: "embedded".into(),
            ..Manifest::default()
        },
        status: RunStatus::Completed,
        reason: None,
        validity: vec![PhaseValidity {
            phase: "steady".into(),
            valid: true,
            reasons: vec![],
        }],
        steady_state: vec![],
        verdicts: vec![Verdict {
            kind: Default::default(),
            claim: "p99-cached".into(),
            source: "README.md §Performance".into(),
            phase: Some("steady".into()),
            outcome: Outcome::Pass,
            expected: "p99(load_cached) < 100ms".into(),
            measured: Some(0.0912),
            samples: 4_120,
            evidence: "4120 requests of load_cached: p99 = 91.2 ms".into(),
        }],
        record: RunRecord {
            phases: vec![phase()],
            faults: vec![
                FaultEvent {
                    at: Duration::from_secs(FAULT.0),
                    applied: true,
                    hits: "external:lodash".into(),
                },
                FaultEvent {
                    at: Duration::from_secs(FAULT.1),
                    applied: false,
                    hits: "external:lodash".into(),
                },
            ],
            probes: vec![],
        },
        history: vec![
            event(FAULT.0, EventKind::Applied),
            event(FAULT.1, EventKind::Removed),
        ],
        regression: None,
    }
}

/// The fill plotters writes for a fault window (`style::FAULT`).
pub(crate) const FAULT_FILL: &str = r##"fill="#F2A33A""##;

/// A file of a run directory as text.
pub(crate) fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Says that the running test skips and why, as a line
/// `SKIPPED: <test>: <reason>` at column 0: `.ci/run` counts these lines as
/// skipped tests rather than passed ones. It writes through the stderr
/// handle in one piece, as the harness captures `println!` and `eprintln!`
/// of a passing test; the leading newline ends the harness's
/// `test NAME ... ` (one test at a time). Once per test.
pub(crate) fn skip(reason: &str) {
    use std::io::Write as _;
    thread_local!(static SAID: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if SAID.with(|said| said.replace(true)) {
        return;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let line = format!("\nSKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}
