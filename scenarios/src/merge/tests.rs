//! Merge exactness (the shards' records add up to what one run of the
//! whole load would record) and the refusals.

use std::path::Path;

use proptest::prelude::*;
use somon_loadgen::{Model, RequestOutcome, Sample};

use super::*;
use crate::{judge, Manifest, Outcome, Shard};

const SCENARIO: &str = r#"
name = "merge-test"
seed = 9
[target]
kind = "url"
url = "http://127.0.0.1:9"
[[phases]]
name = "steady"
duration = "10s"
load = { model = "open", rate = 100, journeys = { ops = 1 } }
[[claims]]
id = "p50"
expect = "p50(ops) < 1s"
phase = "steady"
[[claims]]
id = "p99"
expect = "p99(ops) < 1s"
phase = "steady"
[[claims]]
id = "errors"
expect = "error_rate < 50%"
phase = "steady"
"#;

fn scenario() -> Scenario {
    Scenario::from_toml(Path::new("merge-test.toml"), SCENARIO).expect("a valid scenario")
}

/// One request: its second on the shard's phase clock, whether it failed,
/// its latency in µs.
type Request = (u64, bool, u64);

/// The record a shard would write after sending `requests`: interval log,
/// series and counters as the recorder builds them, read back through
/// JSON as `merge` reads record.json (whole-run histograms not included).
fn shard_report(shard: Shard, clock_ms: u64, requests: &[Request]) -> RunReport {
    let mut per: BTreeMap<(u64, bool), Histogram<u64>> = BTreeMap::new();
    for (sec, failed, micros) in requests {
        per.entry((*sec, *failed))
            .or_insert_with(new_histogram)
            .record(*micros)
            .unwrap();
    }
    let mut log = IntervalLogWriter::new(SystemTime::UNIX_EPOCH + Duration::from_millis(clock_ms));
    let mut series: BTreeMap<u64, IntervalPoint> = BTreeMap::new();
    for ((sec, failed), h) in &per {
        let outcome = if *failed {
            RequestOutcome::Status5xx
        } else {
            RequestOutcome::Ok
        };
        let key = Key::new("ops", "steady", outcome);
        let at = Duration::from_secs(*sec);
        log.write(at, Duration::from_secs(1), Some(&key.tag()), h)
            .unwrap();
        let point = series.entry(*sec).or_insert_with(|| IntervalPoint {
            start: at,
            duration: Duration::from_secs(1),
            requests: 0,
            errors: ErrorCounts::default(),
            in_flight: 0,
            in_flight_peak: 0,
            dropped: 0,
        });
        point.requests += h.len();
        if *failed {
            point.errors.status_5xx += h.len();
        }
    }
    let failed = requests.iter().filter(|r| r.1).count() as u64;
    let output = RunOutput {
        model: Model::Open,
        phase: "steady".into(),
        elapsed: Duration::from_secs(10),
        requests: requests.len() as u64,
        errors: ErrorCounts {
            status_5xx: failed,
            ..ErrorCounts::default()
        },
        summaries: Vec::new(),
        interval_log: log.finish(),
        series: series.into_values().collect(),
        self_check: SelfCheck {
            intended: requests.len() as u64,
            sent: requests.len() as u64,
            intended_per_sec: 10.0,
            achieved_per_sec: 10.0,
            rate_ratio: 1.0,
            cores: 2,
            ..SelfCheck::default()
        },
        validity: Validity::Valid,
        samples: vec![Sample {
            at: Duration::from_millis(500),
            endpoint: "/metrics".into(),
            body: serde_json::json!({ "shard": shard.index }),
            failed: None,
        }],
        measurement: Measurement::default(),
    };
    let report = RunReport {
        manifest: Manifest {
            scenario: "merge-test".into(),
            seed: 9,
            target: "http://127.0.0.1:9".into(),
            shard: Some(ShardManifest {
                count: shard.count,
                indices: vec![shard.index],
                seeds: vec![shard.seed(9)],
                start_at: None,
                clock_started_unix_ms: vec![clock_ms],
            }),
            ..Manifest::default()
        },
        status: RunStatus::Completed,
        reason: None,
        validity: Vec::new(),
        steady_state: Vec::new(),
        verdicts: Vec::new(),
        record: RunRecord {
            phases: vec![PhaseRun {
                name: "steady".into(),
                start: Duration::from_millis(100),
                output,
            }],
            ..RunRecord::default()
        },
        history: Vec::new(),
        regression: None,
    };
    let json = serde_json::to_string(&report).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn shards(
    count: u32,
    clock_ms: impl Fn(u32) -> u64,
    requests: &[(u32, Request)],
) -> Vec<(String, RunReport)> {
    (0..count)
        .map(|i| {
            let mine: Vec<Request> = requests.iter().filter(|r| r.0 == i).map(|r| r.1).collect();
            let shard = Shard::new(i, count).unwrap();
            (
                format!("shard-{i}"),
                shard_report(shard, clock_ms(i), &mine),
            )
        })
        .collect()
}

const QUANTILES: [f64; 9] = [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Exactness: samples split at random over N shards' histograms and
    /// interval logs merge into exactly the single histogram's percentiles.
    #[test]
    fn merged_percentiles_equal_the_single_histogram(
        count in 1u32..6,
        requests in prop::collection::vec(
            (0u32..6, 0u64..10, prop::bool::weighted(0.1), 1u64..5_000_000),
            1..2_000,
        ),
    ) {
        let requests: Vec<(u32, Request)> = requests
            .into_iter()
            .map(|(shard, sec, failed, micros)| (shard % count, (sec, failed, micros)))
            .collect();
        let mut single = new_histogram();
        let mut per_second: BTreeMap<u64, Histogram<u64>> = BTreeMap::new();
        for (_, (sec, _, micros)) in &requests {
            single.record(*micros).unwrap();
            per_second.entry(*sec).or_insert_with(new_histogram).record(*micros).unwrap();
        }
        let merged = merge(&scenario(), shards(count, |_| 1_000, &requests)).unwrap();
        let phase = &merged.record.phases[0];
        let whole = phase.output.measurement.merged(|k| &*k.op == "ops");
        prop_assert_eq!(whole.len(), single.len());
        for q in QUANTILES {
            prop_assert_eq!(whole.value_at_quantile(q), single.value_at_quantile(q), "q = {}", q);
        }
        prop_assert_eq!(whole.min(), single.min());
        prop_assert_eq!(whole.max(), single.max());
        prop_assert!((whole.mean() - single.mean()).abs() < 1e-6);

        // The merged interval log, read back, holds the same histogram,
        // and the same histogram per second.
        let from_log = interval_log::merge(&phase.output.interval_log, |_| true).unwrap();
        for q in QUANTILES {
            prop_assert_eq!(from_log.value_at_quantile(q), single.value_at_quantile(q));
        }
        let mut by_second: BTreeMap<u64, Histogram<u64>> = BTreeMap::new();
        for interval in interval_log::read(&phase.output.interval_log).unwrap() {
            by_second.entry(interval.start.as_secs()).or_insert_with(new_histogram).add(&interval.histogram).unwrap();
        }
        prop_assert_eq!(by_second.len(), per_second.len());
        for (sec, h) in &per_second {
            prop_assert_eq!(by_second[sec].value_at_quantile(0.99), h.value_at_quantile(0.99));
            prop_assert_eq!(by_second[sec].len(), h.len());
        }

        // Counters summed, and the judge sees the single histogram's p50.
        let failed = requests.iter().filter(|r| r.1 .1).count() as u64;
        prop_assert_eq!(phase.output.requests, requests.len() as u64);
        prop_assert_eq!(phase.output.errors.status_5xx, failed);
        prop_assert_eq!(phase.output.series.iter().map(|p| p.requests).sum::<u64>(), requests.len() as u64);
        let p50 = merged.verdicts.iter().find(|v| v.claim == "p50").unwrap();
        let expected = (single.len() >= crate::samples_needed(0.5))
            .then(|| single.value_at_quantile(0.5) as f64 / 1e6);
        prop_assert_eq!(p50.measured, expected);
        prop_assert_eq!(p50.samples, single.len());
        let claim = &scenario().claims[0];
        prop_assert_eq!(&judge(claim, &merged.record), p50);
    }
}

#[test]
fn shards_are_aligned_on_the_run_clock() {
    // Shard 1's clock started 1.2 s after shard 0's: its second 0 is the
    // merged clock's second 1 (nearest second), its samples move with it.
    let requests = [
        (0, (0, false, 1_000)),
        (1, (0, false, 2_000)),
        (1, (3, true, 3_000)),
    ];
    let merged = merge(
        &scenario(),
        shards(2, |i| 10_000 + 1_200 * u64::from(i), &requests),
    )
    .unwrap();
    let phase = &merged.record.phases[0];
    assert_eq!(phase.start, Duration::from_millis(100));
    let seconds: Vec<(u64, u64)> = phase
        .output
        .series
        .iter()
        .map(|p| (p.start.as_secs(), p.requests))
        .collect();
    assert_eq!(seconds, [(0, 1), (1, 1), (4, 1)]);
    assert_eq!(phase.output.series[2].errors.status_5xx, 1);
    let at: Vec<Duration> = phase.output.samples.iter().map(|s| s.at).collect();
    assert_eq!(
        at,
        [Duration::from_millis(500), Duration::from_millis(1_700)]
    );
    assert_eq!(phase.output.elapsed, Duration::from_millis(11_200));
    let manifest = merged.manifest.shard.as_ref().unwrap();
    assert_eq!(manifest.indices, [0, 1]);
    assert_eq!(manifest.clock_started_unix_ms, [10_000, 11_200]);
    assert_eq!(phase.output.self_check.intended_per_sec, 20.0);
    let errors = merged
        .verdicts
        .iter()
        .find(|v| v.claim == "errors")
        .unwrap();
    assert_eq!(errors.samples, 3);
    assert_eq!(errors.outcome, Outcome::Pass);
}

#[test]
fn an_invalid_shard_makes_the_phase_invalid_and_a_cut_short_one_the_run() {
    let requests: Vec<(u32, Request)> = (0..2000).map(|i| (i % 2, (0, false, 500))).collect();
    let mut parts = shards(2, |_| 0, &requests);
    parts[1].1.record.phases[0].output.validity = Validity::Invalid {
        reasons: vec!["send lag p99 80ms exceeds 50ms".into()],
    };
    parts[1].1.status = RunStatus::Interrupted;
    parts[1].1.reason = Some("interrupted".into());
    let merged = merge(&scenario(), parts).unwrap();
    assert_eq!(merged.status, RunStatus::Interrupted);
    assert_eq!(merged.reason.as_deref(), Some("shard-1: interrupted"));
    assert_eq!(
        merged.validity[0].reasons,
        ["shard-1: send lag p99 80ms exceeds 50ms"]
    );
    let p99 = merged.verdicts.iter().find(|v| v.claim == "p99").unwrap();
    assert_eq!(p99.outcome, Outcome::Unknown, "{p99:?}");
}

#[test]
fn a_shard_stopped_by_its_steady_state_still_merges_and_says_so() {
    let requests = [(0, (0, false, 1_000))];
    let mut parts = shards(2, |_| 5_000, &requests);
    let stopped = &mut parts[1].1;
    stopped.status = RunStatus::SteadyStateFailed;
    stopped.reason = Some("the steady-state hypothesis did not hold".into());
    stopped.record.phases.clear();
    stopped
        .manifest
        .shard
        .as_mut()
        .unwrap()
        .clock_started_unix_ms
        .clear();
    let merged = merge(&scenario(), parts).unwrap();
    assert_eq!(merged.status, RunStatus::SteadyStateFailed);
    assert!(merged.reason.unwrap().starts_with("shard-1: "));
    assert_eq!(merged.record.phases[0].output.requests, 1);
    assert_eq!(
        merged.manifest.shard.unwrap().clock_started_unix_ms,
        [5_000]
    );
}

#[test]
fn refuses_records_that_are_not_one_runs_shards() {
    let requests = [
        (0, (0, false, 1_000)),
        (1, (0, false, 1_000)),
        (2, (0, false, 1_000)),
    ];
    let err = |parts: Vec<(String, RunReport)>| merge(&scenario(), parts).unwrap_err().to_string();

    let mut parts = shards(3, |_| 0, &requests);
    parts[2].1.manifest.seed = 10;
    assert!(err(parts).contains("shard-2: seed is `10`, but shard-0 has `9`"));

    let mut parts = shards(3, |_| 0, &requests);
    parts[1].1.manifest.scenario = "other".into();
    assert!(err(parts).contains("scenario is `other`"));

    let mut parts = shards(3, |_| 0, &requests);
    parts[1].1.manifest.target = "http://127.0.0.1:10".into();
    assert!(err(parts).contains("target is"));

    let mut parts = shards(3, |_| 0, &requests);
    parts[2].1.manifest.shard.as_mut().unwrap().indices = vec![1];
    assert_eq!(
        err(parts),
        "shard 1 is in both shard-1 and shard-2: each shard may be merged once"
    );

    let mut parts = shards(3, |_| 0, &requests);
    parts.pop();
    assert!(err(parts).contains("shards [2] of 3 are missing"));

    let mut parts = shards(3, |_| 0, &requests);
    parts[0].1.manifest.shard = None;
    assert!(err(parts).contains("shard-0: not a shard's record"));

    let mut parts = shards(3, |_| 0, &requests);
    parts[1].1.record.phases[0].output.requests = 5;
    assert!(err(parts).contains("holds 1 latencies but the record counts 5"));

    let mut parts = shards(3, |_| 0, &requests);
    let log = &mut parts[1].1.record.phases[0].output.interval_log;
    *log = log.replace("Tag=ops/steady/ok,", "Tag=ops/steady/bogus,");
    assert!(err(parts).contains("interval log tag `ops/steady/bogus` is not op/phase/outcome"));

    assert!(err(Vec::new()).contains("nothing to merge"));
}

#[test]
fn a_merged_record_merges_again_with_the_rest() {
    let requests: Vec<(u32, Request)> = (0..300)
        .map(|i| (i % 3, (u64::from(i % 7), false, 100 + u64::from(i))))
        .collect();
    let mut parts = shards(3, |_| 0, &requests);
    let last = parts.pop().unwrap();
    let first_two = merge_partial(parts);
    let all = merge(&scenario(), vec![("0+1".into(), first_two), last]).unwrap();
    let whole = all.record.phases[0].output.measurement.merged(|_| true);
    assert_eq!(whole.len(), 300);
    assert_eq!(all.manifest.shard.unwrap().indices, [0, 1, 2]);
}

/// Merges shards 0 and 1 of 3 as if they were all there, by telling the
/// merge there are two: what a staged merge (per node, then overall) does.
fn merge_partial(mut parts: Vec<(String, RunReport)>) -> RunReport {
    for (_, r) in &mut parts {
        r.manifest.shard.as_mut().unwrap().count = 2;
    }
    let mut merged = merge(&scenario(), parts).unwrap();
    merged.manifest.shard.as_mut().unwrap().count = 3;
    let json = serde_json::to_string(&merged).unwrap();
    serde_json::from_str(&json).unwrap()
}
