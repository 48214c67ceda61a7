//! Verdicts from synthetic run records: each metric's PASS, FAIL and
//! UNKNOWN, and the windowed alert form.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use serde_json::json;
use somon_loadgen::{
    ErrorCounts, IntervalLogWriter, IntervalPoint, Key, Measurement, Model, PollFailure,
    RequestOutcome, RunOutput, Sample, SelfCheck, Validity,
};
use somon_record::{
    judge, judge_alert, Claim, FaultEvent, Outcome, PhaseRun, ProbeEvent, RunRecord,
};

fn claim(expect: &str) -> Claim {
    Claim {
        id: "c".into(),
        source: "a test".into(),
        expect: expect.parse().unwrap(),
        phase: Some("p".into()),
    }
}

/// A phase whose `op` requests took the given latencies (µs), `failed` of
/// them failing; one series point per second with `errors_per_second`.
fn phase(
    op: &str,
    latencies_us: &[u64],
    failed: u64,
    seconds: &[(u64, u64)],
    samples: Vec<Sample>,
) -> PhaseRun {
    let mut ok = Histogram::<u64>::new(3).unwrap();
    for v in latencies_us {
        ok.record(*v).unwrap();
    }
    let mut histograms = HashMap::new();
    histograms.insert(Key::new(op, "p", RequestOutcome::Ok), ok);
    if failed > 0 {
        let mut bad = Histogram::<u64>::new(3).unwrap();
        bad.record_n(1000, failed).unwrap();
        histograms.insert(Key::new(op, "p", RequestOutcome::Status5xx), bad);
    }
    let series: Vec<IntervalPoint> = seconds
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
    let elapsed = Duration::from_secs(seconds.len().max(1) as u64);
    let measurement = Measurement {
        histograms,
        series: series.clone(),
        elapsed,
        ..Measurement::default()
    };
    PhaseRun {
        name: "p".into(),
        start: Duration::ZERO,
        output: RunOutput {
            model: Model::Open,
            phase: "p".into(),
            elapsed,
            requests: latencies_us.len() as u64 + failed,
            errors: ErrorCounts::default(),
            summaries: Vec::new(),
            interval_log: String::new(),
            series,
            self_check: SelfCheck::default(),
            validity: Validity::Valid,
            samples,
            measurement,
        },
    }
}

fn record(phase: PhaseRun) -> RunRecord {
    RunRecord {
        phases: vec![phase],
        faults: Vec::new(),
        probes: Vec::new(),
    }
}

#[test]
fn a_p99_needs_a_thousand_samples_and_is_judged_from_the_histogram() {
    let fast: Vec<u64> = (0..2000).map(|i| 1000 + i % 50).collect();
    let v = judge(
        &claim("p99(load_cached) < 100ms"),
        &record(phase("load_cached", &fast, 0, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    assert_eq!(v.samples, 2000);
    assert!((v.measured.unwrap() - 0.00105).abs() < 0.00002, "{v:?}");

    let mut slow = fast.clone();
    slow.extend(std::iter::repeat_n(150_000, 30));
    let v = judge(
        &claim("p99(load_cached) < 100ms"),
        &record(phase("load_cached", &slow, 0, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    assert!(v.measured.unwrap() >= 0.149);

    let v = judge(
        &claim("p99(load_cached) < 100ms"),
        &record(phase("load_cached", &fast[..999], 0, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    let v = judge(
        &claim("p99(other) < 100ms"),
        &record(phase("load_cached", &fast, 0, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Unknown);
}

#[test]
fn error_rate_counts_failed_outcomes() {
    let ok = vec![1000; 990];
    let v = judge(
        &claim("error_rate < 1%"),
        &record(phase("x", &ok, 10, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    assert_eq!(v.measured, Some(0.01));
    let v = judge(
        &claim("error_rate < 2%"),
        &record(phase("x", &ok, 10, &[], vec![])),
    );
    assert_eq!(v.outcome, Outcome::Pass);
}

fn metrics(at_ms: u64, hits: u64, misses: u64, rss: u64, size: u64) -> Sample {
    Sample {
        at: Duration::from_millis(at_ms),
        endpoint: "/metrics".into(),
        body: json!({ "cacheHits": hits, "cacheMisses": misses, "cacheSize": size,
                      "cacheHitRate": hits as f64 / (hits + misses) as f64,
                      "systemMetrics": { "rssBytes": rss, "memoryUsage": 40.0, "cpuUsage": 20.0 } }),
        failed: None,
    }
}

/// Eleven `/metrics` samples a second apart (10 s), counters and memory
/// rising evenly from the first figures to the last.
fn eleven_seconds(from: (u64, u64, u64, u64), to: (u64, u64, u64, u64)) -> Vec<Sample> {
    let at = |a: u64, b: u64, i: u64| a + (b - a) * i / 10;
    (0..=10)
        .map(|i| {
            metrics(
                i * 1000,
                at(from.0, to.0, i),
                at(from.1, to.1, i),
                at(from.2, to.2, i),
                at(from.3, to.3, i),
            )
        })
        .collect()
}

#[test]
fn server_side_figures_come_from_the_samples() {
    let samples = eleven_seconds((100, 100, 50_000_000, 100), (1000, 200, 70_000_000, 1100));
    let r = record(phase("x", &[], 0, &[], samples.clone()));
    // The figure the server reports at the end: 1000 / 1200; the phase's
    // own (1000 − 100) / ((1000 − 100) + (200 − 100)) = 0.9 is evidence.
    let v = judge(&claim("cache_hit_rate > 0.8"), &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Pass, Some(1000.0 / 1200.0)),
        "{v:?}"
    );
    assert!(v.evidence.contains("(0.9000)"), "{v:?}");
    // A server whose reported rate is wrong (the hit-rate-zero twin) fails,
    // and the evidence says its counters disagree.
    let mut wrong = samples;
    wrong[10].body["cacheHitRate"] = json!(0.0);
    let v = judge(
        &claim("cache_hit_rate > 0.8"),
        &record(phase("x", &[], 0, &[], wrong)),
    );
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, Some(0.0)), "{v:?}");
    assert!(v.evidence.contains("disagrees"), "{v:?}");
    // 50 MB → 70 MB.
    let v = judge(&claim("memory_growth < 16MB"), &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Fail, Some(20_000_000.0)),
        "{v:?}"
    );
    // 20 MB over 1000 modules = 20 000 bytes each.
    let v = judge(&claim("bytes_per_cached_module < 50KB"), &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Pass, Some(20_000.0)),
        "{v:?}"
    );
    let v = judge(&claim("memory_usage < 35%"), &r);
    assert_eq!(v.outcome, Outcome::Fail);
    let v = judge(&claim("cpu_usage < 80%"), &r);
    assert_eq!(v.outcome, Outcome::Pass);
}

/// A `/metrics` sample with the cache counters `compilations_per_module`
/// reads.
fn compiled(at_ms: u64, compilations: u64, size: u64, evictions: u64) -> Sample {
    Sample {
        at: Duration::from_millis(at_ms),
        endpoint: "/metrics".into(),
        body: json!({ "moduleCompilations": compilations, "cacheSize": size,
                      "cacheEvictions": evictions }),
        failed: None,
    }
}

#[test]
fn compilations_per_module_counts_duplicate_compiles_between_the_first_and_last_sample() {
    let judged = |samples: Vec<Sample>| {
        judge(
            &claim("compilations_per_module <= 1"),
            &record(phase("x", &[], 0, &[], samples)),
        )
    };
    // Sound: 20 compiled, 20 entered (a cache that was not empty before).
    let v = judged(vec![compiled(0, 5, 5, 0), compiled(500, 25, 25, 0)]);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(1.0)), "{v:?}");
    assert_eq!(v.samples, 20);
    // Concurrent misses each compiling: 57 compilations for 20 modules.
    let v = judged(vec![
        compiled(0, 0, 0, 0),
        compiled(250, 30, 9, 0),
        compiled(500, 57, 20, 0),
    ]);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    assert_eq!(v.measured, Some(57.0 / 20.0));
    assert!(
        v.evidence.contains("57 compilations for 20 modules"),
        "{v:?}"
    );
    // Evicted entries entered the cache too: 30 compiled, size +20, 10 evicted.
    let v = judged(vec![compiled(0, 0, 0, 0), compiled(500, 30, 20, 10)]);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(1.0)), "{v:?}");
    assert!(v.evidence.contains("10 of them evicted"), "{v:?}");
    // The Prometheus text of a target scraped as text.
    let text = |at_ms: u64, compilations: u64, size: u64| Sample {
        at: Duration::from_millis(at_ms),
        endpoint: "/metrics".into(),
        body: json!(format!(
            "somon_module_compilations_total {compilations}\nsomon_cache_size {size}\n"
        )),
        failed: None,
    };
    let v = judged(vec![text(0, 0, 0), text(500, 24, 12)]);
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, Some(2.0)), "{v:?}");
}

#[test]
fn compilations_per_module_is_unknown_without_counters_or_new_modules() {
    let judged = |samples: Vec<Sample>| {
        judge(
            &claim("compilations_per_module <= 1"),
            &record(phase("x", &[], 0, &[], samples)),
        )
    };
    let v = judged(vec![]);
    assert_eq!(v.outcome, Outcome::Unknown);
    assert!(v.evidence.contains("no /metrics samples"), "{v:?}");
    // A target that does not count its compilations.
    let v = judged(vec![metrics(0, 1, 1, 1, 1), metrics(500, 2, 2, 2, 2)]);
    assert_eq!(v.outcome, Outcome::Unknown);
    assert!(v.evidence.contains("none of 2 /metrics samples"), "{v:?}");
    // Everything was cached already: nothing to divide by.
    let v = judged(vec![compiled(0, 20, 20, 0), compiled(500, 20, 20, 0)]);
    assert_eq!(v.outcome, Outcome::Unknown);
    assert!(v.evidence.contains("no module entered the cache"), "{v:?}");
}

fn breaker(at_ms: u64, state: &str) -> Sample {
    Sample {
        at: Duration::from_millis(at_ms),
        endpoint: "/circuit-breakers/status".into(),
        body: json!({ "breakers": { "lodash": { "state": state } } }),
        failed: None,
    }
}

/// A registry fault on lodash applied at `from` s and removed at `to` s.
fn lodash_outage(from: u64, to: u64) -> Vec<FaultEvent> {
    [(from, true), (to, false)]
        .into_iter()
        .map(|(at, applied)| FaultEvent {
            at: Duration::from_secs(at),
            applied,
            hits: "external:lodash".into(),
        })
        .collect()
}

#[test]
fn breaker_times_run_from_the_fault_to_the_state_change() {
    let samples = vec![
        breaker(0, "closed"),
        breaker(2000, "closed"),
        breaker(3500, "open"),
        breaker(9000, "half-open"),
        breaker(12_250, "closed"),
    ];
    let mut r = record(phase("external", &[], 0, &[], samples));
    r.faults = lodash_outage(1, 8);
    let v = judge(&claim("time_to_open(external:lodash) < 10s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(2.5)), "{v:?}");
    // It rests on the samples up to the first open one.
    assert_eq!(v.samples, 2, "{v:?}");
    assert!(v.evidence.ends_with("the 2nd sample after it"), "{v:?}");
    let v = judge(&claim("recovery_time(external:lodash) < 4s"), &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Fail, Some(4.25)),
        "{v:?}"
    );
    let v = judge(&claim("recovery_time(external:dayjs) < 30s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown);
}

/// `phase` renamed and moved to start at `start_s` on the run clock.
fn at(mut p: PhaseRun, name: &str, start_s: u64) -> PhaseRun {
    p.name = name.into();
    p.start = Duration::from_secs(start_s);
    p
}

#[test]
fn a_breaker_never_seen_closed_is_a_bound_that_fails_once_past_the_deadline_never_a_pass() {
    // The gate's shape: the claim's phase ends 14 s after the fault ends,
    // the breaker stays open through every later phase.
    let outage = at(
        phase(
            "external",
            &[],
            0,
            &[(1, 0); 25],
            vec![
                breaker(0, "closed"),
                breaker(4000, "open"),
                breaker(24_750, "open"),
            ],
        ),
        "outage",
        5,
    );
    let later = |name, start, until_ms: u64| {
        let samples = (0..=until_ms / 250)
            .map(|i| breaker(i * 250, "open"))
            .collect();
        at(phase("x", &[], 0, &[], samples), name, start)
    };
    let mut r = RunRecord {
        phases: vec![outage, later("cached", 30, 30_000)],
        faults: lodash_outage(8, 16),
        probes: Vec::new(),
    };
    let mut c = claim("recovery_time(external:lodash) < 30s");
    c.phase = Some("outage".into());
    // Watched up to 60 s, 44 s after the fault ended: the deadline passed.
    let v = judge(&c, &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, None), "{v:?}");
    assert!(
        v.evidence
            .contains("recovery took at least 44.000 s (never observed)"),
        "{v:?}"
    );
    // Watched only until 29.75 s (13.75 s after): not yet decided, and the
    // bound is not a value that passes `< 30s`.
    r.phases.truncate(1);
    let v = judge(&c, &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Unknown, None), "{v:?}");
    assert!(v.evidence.contains("at least 13.750 s"), "{v:?}");
    assert!(v.evidence.contains("before the deadline"), "{v:?}");
    // Nor does a bound pass the other way round.
    let v = judge(&claim("recovery_time(external:lodash) > 5s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
}

#[test]
fn a_breaker_that_closes_after_the_claims_phase_is_seen_in_the_next() {
    let outage = at(
        phase(
            "external",
            &[],
            0,
            &[(1, 0); 25],
            vec![breaker(4000, "open"), breaker(24_750, "open")],
        ),
        "outage",
        5,
    );
    let next = at(
        phase(
            "x",
            &[],
            0,
            &[],
            vec![breaker(0, "open"), breaker(6000, "closed")],
        ),
        "cached",
        30,
    );
    let r = RunRecord {
        phases: vec![outage, next],
        faults: lodash_outage(8, 16),
        probes: Vec::new(),
    };
    let mut c = claim("recovery_time(external:lodash) < 30s");
    c.phase = Some("outage".into());
    let v = judge(&c, &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Pass, Some(20.0)),
        "{v:?}"
    );
    let v = judge(&claim("recovery_time(external:lodash) < 10s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "no phase p: {v:?}");
    c.expect = "recovery_time(external:lodash) < 10s".parse().unwrap();
    assert_eq!(judge(&c, &r).outcome, Outcome::Fail);
}

#[test]
fn a_breaker_never_seen_open_fails_once_watched_past_the_deadline() {
    let samples = (0..=40).map(|i| breaker(i * 250, "closed")).collect();
    let mut r = record(phase("external", &[], 0, &[], samples));
    r.faults = lodash_outage(1, 8);
    // Watched 9 s after the fault began.
    let v = judge(&claim("time_to_open(external:lodash) < 10s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Unknown, None), "{v:?}");
    let v = judge(&claim("time_to_open(external:lodash) < 9s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, None), "{v:?}");
    assert!(
        v.evidence
            .contains("never open in 37 samples up to 10.000 s: opening took at least 9.000 s"),
        "{v:?}"
    );
}

#[test]
fn a_status_class_counts_only_its_own_failures() {
    // 1000 requests: 960 OK, 10 answered 5xx, 30 answered 4xx.
    let mut p = phase("x", &vec![1000; 960], 10, &[], vec![]);
    let mut refused = Histogram::<u64>::new(3).unwrap();
    refused.record_n(1000, 30).unwrap();
    p.output
        .measurement
        .histograms
        .insert(Key::new("x", "p", RequestOutcome::Status4xx), refused);
    let r = record(p);
    let measured = |expect: &str| {
        let v = judge(&claim(expect), &r);
        (v.outcome, v.measured, v.evidence)
    };
    let (outcome, value, evidence) = measured("error_rate(x, 5xx) < 1%");
    assert_eq!((outcome, value), (Outcome::Fail, Some(0.01)), "{evidence}");
    assert_eq!(evidence, "10 answered 5xx of 1000 requests");
    assert_eq!(measured("error_rate(5xx) < 2%").0, Outcome::Pass);
    assert_eq!(measured("error_rate(4xx) < 2%").1, Some(0.03));
    assert_eq!(measured("error_rate < 5%").1, Some(0.04), "every failure");
    assert_eq!(
        measured("error_rate(y, 5xx) < 1%").0,
        Outcome::Unknown,
        "no request of y"
    );

    // Per second, in the alert form: the fixture's failures are 5xx.
    let seconds = [(100, 20), (100, 20), (100, 20)];
    let r = record(phase("x", &[], 0, &seconds, vec![]));
    let v = judge(&claim("error_rate(5xx) > 10% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Pass, "held: {v:?}");
    let v = judge(&claim("error_rate(4xx) > 10% for 3s"), &r);
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Fail, Some(0.0)),
        "never held: {v:?}"
    );
}

#[test]
fn the_alert_form_needs_the_condition_for_the_whole_window() {
    // Error rates per second: 0, 20 %, 20 %, 0, 20 %, 20 %, 20 %.
    let seconds = [
        (100, 0),
        (100, 20),
        (100, 20),
        (100, 0),
        (100, 20),
        (100, 20),
        (100, 20),
    ];
    let r = record(phase("x", &[], 0, &seconds, vec![]));
    let v = judge(&claim("error_rate > 10% for 3s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(3.0)), "{v:?}");
    let v = judge(&claim("error_rate > 10% for 4s"), &r);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    let v = judge(&claim("error_rate > 10% for 1m"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
}

#[test]
fn the_alert_form_reads_a_journeys_latency_per_second_from_the_interval_log() {
    // p99 of x per second: 80 ms, 80 ms (a slow failure among fast
    // successes), 5 ms (while y, another journey, is slow), 80 ms.
    let lines: [(u64, Key, u64); 6] = [
        (0, Key::new("x", "p", RequestOutcome::Ok), 80_000),
        (1, Key::new("x", "p", RequestOutcome::Ok), 1_000),
        (1, Key::new("x", "p", RequestOutcome::Status5xx), 80_000),
        (2, Key::new("x", "p", RequestOutcome::Ok), 5_000),
        (2, Key::new("y", "p", RequestOutcome::Ok), 900_000),
        (3, Key::new("x", "p", RequestOutcome::Ok), 80_000),
    ];
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH);
    for (second, key, micros) in &lines {
        let mut h = somon_loadgen::new_histogram();
        h.record(*micros).unwrap();
        let start = Duration::from_secs(*second);
        log.write(start, Duration::from_secs(1), Some(&key.tag()), &h)
            .unwrap();
    }
    let mut p = phase("x", &[], 0, &[], vec![]);
    p.output.interval_log = log.finish();
    let r = record(p);
    let v = judge(&claim("p99(x) > 50ms for 2s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(2.0)), "{v:?}");
    let v = judge(&claim("p99(x) > 50ms for 3s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, Some(2.0)), "{v:?}");
    let v = judge(&claim("p99(x) > 50ms for 5s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
}

#[test]
fn a_recovery_needs_a_breaker_that_opened() {
    let samples = vec![
        breaker(0, "closed"),
        breaker(5000, "closed"),
        breaker(9000, "closed"),
    ];
    let mut r = record(phase("external", &[], 0, &[], samples));
    r.faults = lodash_outage(1, 6);
    let v = judge(&claim("recovery_time(external:lodash) < 30s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(v.evidence.contains("never opened"), "{v:?}");
}

#[test]
fn probe_metrics_are_the_share_of_probes_that_passed_in_the_phase() {
    let mut r = record(phase("x", &[], 0, &[(10, 0), (10, 0), (10, 0)], vec![]));
    let probe = |at: u64, kind: &str, passed: bool| ProbeEvent {
        at: Duration::from_secs(at),
        kind: kind.into(),
        passed,
        detail: format!("probe at {at}"),
    };
    r.probes = vec![
        probe(1, "module-edit", true),
        probe(2, "module-edit", false),
        probe(2, "config-invalid-patch", true),
        // After the phase ended (3 s): not counted.
        probe(9, "module-edit", false),
    ];
    let v = judge(&claim("freshness >= 100%"), &r);
    assert_eq!(
        (v.outcome, v.measured, v.samples),
        (Outcome::Fail, Some(0.5), 2),
        "{v:?}"
    );
    assert!(v.evidence.contains("probe at 2"), "{v:?}");
    let v = judge(&claim("config_atomicity >= 100%"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(1.0)), "{v:?}");
    r.probes.clear();
    assert_eq!(
        judge(&claim("freshness >= 100%"), &r).outcome,
        Outcome::Unknown
    );
}

/// A poll of `endpoint` at `at_ms` that gave no data: `status` when the
/// target answered, and what happened.
fn failed(at_ms: u64, endpoint: &str, status: Option<u16>, error: &str) -> Sample {
    Sample {
        at: Duration::from_millis(at_ms),
        endpoint: endpoint.into(),
        body: serde_json::Value::Null,
        failed: Some(PollFailure {
            status,
            error: error.into(),
        }),
    }
}

#[test]
fn memory_and_cpu_figures_need_ten_samples_over_ten_seconds() {
    let judged = |expect: &str, samples: &[Sample]| {
        judge(
            &claim(expect),
            &record(phase("x", &[], 0, &[], samples.to_vec())),
        )
    };
    let claims = [
        "memory_growth < 16MB",
        "bytes_per_cached_module < 50KB",
        "memory_usage < 90%",
        "cpu_usage < 90%",
    ];
    // Three samples in half a second: nothing to judge on.
    let short = [
        metrics(0, 1, 1, 50_000_000, 100),
        metrics(250, 2, 2, 51_000_000, 600),
        metrics(500, 3, 3, 52_000_000, 1100),
    ];
    // Forty samples, but over 9.75 s.
    let brief: Vec<Sample> = (0..40)
        .map(|i| metrics(i * 250, i, i, 50_000_000 + i * 10_000, 100 + i * 50))
        .collect();
    // Nine samples over 16 s.
    let sparse: Vec<Sample> = (0..9)
        .map(|i| metrics(i * 2000, i, i, 50_000_000 + i * 10_000, 100 + i * 150))
        .collect();
    for expect in claims {
        for (samples, seen) in [
            (&short[..], "3 samples"),
            (&brief[..], "40 samples"),
            (&sparse[..], "9 samples"),
        ] {
            let v = judged(expect, samples);
            assert_eq!((v.outcome, v.measured), (Outcome::Unknown, None), "{v:?}");
            assert!(v.evidence.contains(seen), "{v:?}");
            assert!(v.evidence.contains("needs 10 over 10 s"), "{v:?}");
        }
    }
    // Ten samples over ten seconds are enough.
    let enough: Vec<Sample> = (0..10)
        .map(|i| metrics(i * 1112, i, i, 50_000_000 + i * 10_000, 100 + i * 150))
        .collect();
    for expect in claims {
        let v = judged(expect, &enough);
        assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    }
    // No samples: the polls say why.
    let v = judged(
        "memory_usage < 90%",
        &[failed(0, "/metrics", Some(404), "404 Not Found")],
    );
    assert_eq!(v.outcome, Outcome::Unknown);
    assert!(
        v.evidence
            .contains("/metrics answered 404 Not Found on 1 of 1 polls"),
        "{v:?}"
    );
}

#[test]
fn a_failed_polls_body_is_never_read_as_data() {
    // A failed poll carrying a body (as a hand-edited record might): it is
    // still no data, for every reader of /metrics.
    let mut lying = eleven_seconds((100, 0, 50_000_000, 100), (1100, 0, 90_000_000, 1100));
    for sample in &mut lying {
        sample.failed = Some(PollFailure {
            status: Some(503),
            error: "503 Service Unavailable".into(),
        });
    }
    let r = record(phase("x", &[], 0, &[(0, 0); 11], lying));
    for expect in [
        "memory_growth < 1GB",
        "memory_usage < 90%",
        "cache_hit_rate > 0.5",
        "metric(cacheSize) < 100000",
        "compilations_per_module <= 1",
        "memory_usage > 95% for 2s",
    ] {
        let v = judge(&claim(expect), &r);
        assert_eq!(v.outcome, Outcome::Unknown, "{expect}: {v:?}");
        assert!(
            v.evidence
                .contains("/metrics answered 503 Service Unavailable on 11 of 11 polls"),
            "{expect}: {v:?}"
        );
    }
}

/// A phase of `seconds` seconds without requests whose `/metrics` samples
/// report `memory[i]` % memory in second `i` (`None`: no sample that
/// second), four samples a second.
fn memory_by_second(memory: &[Option<f64>]) -> RunRecord {
    let mut samples = Vec::new();
    for (second, percent) in memory.iter().enumerate() {
        let Some(percent) = percent else { continue };
        for quarter in 0..4 {
            samples.push(Sample {
                at: Duration::from_millis(second as u64 * 1000 + quarter * 250),
                endpoint: "/metrics".into(),
                body: json!({ "systemMetrics": { "memoryUsage": percent } }),
                failed: None,
            });
        }
    }
    let idle = vec![(0, 0); memory.len()];
    record(phase("x", &[], 0, &idle, samples))
}

#[test]
fn an_alert_fires_when_its_condition_held_on_every_second_of_a_window() {
    let r = memory_by_second(&[Some(40.0), Some(97.0), Some(98.0), Some(99.0), Some(40.0)]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Fail, Some(3.0)), "{v:?}");
    assert!(
        v.evidence.starts_with("the alert would have FIRED"),
        "{v:?}"
    );
    // Seconds without data around the window do not matter.
    let r = memory_by_second(&[None, Some(97.0), Some(98.0), Some(99.0), None]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    assert_eq!(v.samples, 3, "seconds with data: {v:?}");
}

#[test]
fn an_alert_stays_quiet_only_where_data_shows_it() {
    // Every 3 s window has a second with data below the threshold, though
    // two seconds have none.
    let r = memory_by_second(&[Some(40.0), None, Some(97.0), Some(40.0), None, Some(40.0)]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Pass, Some(1.0)), "{v:?}");
    assert!(v.evidence.starts_with("the alert stayed quiet"), "{v:?}");
    assert_eq!(v.samples, 4, "seconds with data, not slots: {v:?}");
    // Two seconds that held and one unseen between them: it may have fired.
    let r = memory_by_second(&[Some(40.0), Some(97.0), None, Some(97.0), Some(40.0)]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!((v.outcome, v.measured), (Outcome::Unknown, None), "{v:?}");
    assert!(v.evidence.contains("not covered by data"), "{v:?}");
    assert!(v.evidence.contains("4 of 5 seconds had data"), "{v:?}");
    // Three unseen seconds in a row are a window it may have held on.
    let r = memory_by_second(&[Some(40.0), None, None, None, Some(40.0)]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(v.evidence.contains("2 of 5 seconds had data"), "{v:?}");
}

#[test]
fn an_alert_without_data_is_unknown_and_says_why() {
    // The target's /metrics answers 404 (once: it is not polled again).
    let mut r = memory_by_second(&[None; 6]);
    r.phases[0].output.samples = vec![
        failed(0, "/metrics", Some(404), "404 Not Found (not polled again)"),
        failed(0, "/circuit-breakers/status", Some(404), "404 Not Found"),
    ];
    for alert in [
        "memory_usage > 95% for 3s",
        "cpu_usage > 80% for 3s",
        "cache_hit_rate < 70% for 3s",
        "metric(queue_depth) > 100 for 3s",
    ] {
        let v = judge_alert(&claim(alert), &r);
        assert_eq!(
            (v.outcome, v.samples),
            (Outcome::Unknown, 0),
            "{alert}: {v:?}"
        );
        assert!(v.evidence.contains("0 of 6 seconds had data"), "{v:?}");
        assert!(
            v.evidence
                .contains("/metrics answered 404 Not Found (not polled again) on 1 of 1 polls"),
            "{alert}: {v:?}"
        );
    }
    // A target that stopped answering: each failure kind counted.
    r.phases[0].output.samples = (0..6)
        .flat_map(|s| {
            [
                failed(
                    s * 1000,
                    "/metrics",
                    None,
                    "Connection refused (os error 111)",
                ),
                failed(
                    s * 1000 + 500,
                    "/metrics",
                    Some(503),
                    "503 Service Unavailable",
                ),
            ]
        })
        .collect();
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(
        v.evidence.contains(
            "/metrics failed 12 of 12 polls: answered 503 Service Unavailable ×6, \
             did not answer (Connection refused (os error 111)) ×6"
        ),
        "{v:?}"
    );
    // A run shorter than the window proves nothing either way.
    let r = memory_by_second(&[Some(40.0), Some(40.0)]);
    let v = judge_alert(&claim("memory_usage > 95% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(v.evidence.contains("shorter"), "{v:?}");
}

#[test]
fn the_windowed_claim_is_judged_by_the_same_three_answers() {
    let claim_of = |memory: &[Option<f64>]| {
        judge(
            &claim("memory_usage > 95% for 2s"),
            &memory_by_second(memory),
        )
        .outcome
    };
    assert_eq!(
        claim_of(&[Some(97.0), Some(97.0), Some(40.0)]),
        Outcome::Pass
    );
    assert_eq!(
        claim_of(&[Some(97.0), Some(40.0), Some(97.0)]),
        Outcome::Fail
    );
    assert_eq!(claim_of(&[Some(97.0), None, Some(40.0)]), Outcome::Unknown);
    assert_eq!(claim_of(&[None, None, None]), Outcome::Unknown);

    // Client-side: a second without requests has no error rate.
    let r = record(phase(
        "x",
        &[],
        0,
        &[(100, 20), (100, 20), (0, 0), (100, 20), (100, 0)],
        vec![],
    ));
    let v = judge_alert(&claim("error_rate > 10% for 3s"), &r);
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(v.evidence.contains("without requests"), "{v:?}");
    let v = judge_alert(&claim("error_rate > 10% for 2s"), &r);
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
}

/// A record of `seconds` of Prometheus text samples, four a second: the
/// pool's connections (two label sets) of its maximum, and a failure
/// counter growing by `per_second(s)` each second.
fn prometheus_by_second(seconds: u64, active: f64, per_second: impl Fn(u64) -> f64) -> RunRecord {
    let mut samples = Vec::new();
    let mut failures = 0.0;
    for second in 0..seconds {
        for quarter in 0..4 {
            failures += per_second(second) / 4.0;
            let text = format!(
                "# TYPE pg_stat_database_numbackends gauge\n\
                 pg_stat_database_numbackends{{datname=\"a\"}} {}\n\
                 pg_stat_database_numbackends{{datname=\"b\"}} {}\n\
                 pg_settings_max_connections 100\n\
                 template_generation_failures_total {failures}\n",
                active / 2.0,
                active / 2.0
            );
            samples.push(Sample {
                at: Duration::from_millis(second * 1000 + quarter * 250),
                endpoint: "/metrics".into(),
                body: serde_json::Value::String(text),
                failed: None,
            });
        }
    }
    let idle = vec![(0, 0); seconds as usize];
    record(phase("x", &[], 0, &idle, samples))
}

#[test]
fn a_ratio_of_two_series_is_judged_per_sample() {
    let r = prometheus_by_second(6, 85.0, |_| 0.0);
    let v = judge(
        &claim("metric(pg_stat_database_numbackends / pg_settings_max_connections) < 0.8"),
        &r,
    );
    assert_eq!(
        (v.outcome, v.measured),
        (Outcome::Fail, Some(0.85)),
        "{v:?}"
    );
    assert_eq!(v.samples, 24);
    let v = judge(
        &claim("metric(pg_stat_database_numbackends/pg_settings_max_connections) < 0.9"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Pass, "{v:?}");
    // The alert form: above 80 % for 5 s.
    let v = judge_alert(
        &claim("metric(pg_stat_database_numbackends / pg_settings_max_connections) > 0.8 for 5s"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Fail, "fired: {v:?}");
    let v = judge(
        &claim("metric(pg_stat_database_numbackends / missing_series) < 0.8"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
    assert!(v.evidence.contains("had both series"), "{v:?}");
}

#[test]
fn a_counter_rate_needs_its_window_of_samples() {
    // 0.05 failures a second for 4 s, then 0.4 a second for 6 s.
    let r = prometheus_by_second(10, 10.0, |s| if s < 4 { 0.05 } else { 0.4 });
    let v = judge(
        &claim("rate(template_generation_failures_total[2s]) < 0.1"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Fail, "{v:?}");
    let worst = v.measured.unwrap();
    assert!((worst - 0.4).abs() < 1e-9, "{v:?}");
    // The runbook's rule: above 0.1 a second for 3 s.
    let v = judge_alert(
        &claim("rate(template_generation_failures_total[2s]) > 0.1 for 3s"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Fail, "fired: {v:?}");
    let quiet = prometheus_by_second(10, 10.0, |_| 0.05);
    let v = judge_alert(
        &claim("rate(template_generation_failures_total[2s]) > 0.1 for 3s"),
        &quiet,
    );
    assert_eq!(v.outcome, Outcome::Pass, "quiet: {v:?}");
    // A window longer than the run has no value.
    let v = judge(
        &claim("rate(template_generation_failures_total[1m]) < 0.1"),
        &r,
    );
    assert_eq!(v.outcome, Outcome::Unknown, "{v:?}");
}
