//! Metrics: counters, latency summaries, the 60 s window, concurrency,
//! export round trip and the Prometheus exposition.

mod util;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use somon_system::*;
use util::breaker;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Relative precision of a 3-significant-digit HDR histogram.
fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= expected * 0.001 + 1e-9
}

fn cache_stats() -> CacheStats {
    CacheStats {
        size: 40,
        max_size: 100,
        memory_usage: 3_000,
        max_memory: 10_000,
        hits: 80,
        misses: 20,
        evictions: 5,
        compilations: 45,
        hit_rate: 0.8,
        most_accessed: vec![],
    }
}

#[test]
fn counters_are_exact_after_a_scripted_mix() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    for i in 0..10 {
        let outcome = if i % 5 == 0 {
            OpOutcome::Error
        } else {
            OpOutcome::Ok
        };
        metrics.record(Op::Load, outcome, ms(1), start + Duration::from_secs(i));
    }
    metrics.record(Op::Compile, OpOutcome::Error, ms(3), start);
    metrics.record(Op::Compile, OpOutcome::Ok, ms(3), start);
    metrics.record(Op::Bundle, OpOutcome::Ok, ms(9), start);

    let now = start + Duration::from_secs(10);
    let load = metrics.op(Op::Load, now);
    assert_eq!((load.total, load.errors), (10, 2));
    assert_eq!((load.window_total, load.window_errors), (10, 2));
    assert_eq!(load.latency.count, 10);
    let compile = metrics.op(Op::Compile, now);
    assert_eq!((compile.total, compile.errors), (2, 1));
    let bundle = metrics.op(Op::Bundle, now);
    assert_eq!((bundle.total, bundle.errors), (1, 0));
    let external = metrics.op(Op::External, now);
    assert_eq!(external.total, 0);
    assert_eq!(external.latency, LatencySummary::default());

    let report = MetricsReport::build(
        &metrics,
        &cache_stats(),
        vec![],
        0,
        SystemMetrics::default(),
        now,
    );
    assert_eq!(report.total_loads, 10);
    assert_eq!(report.load_errors, 2);
    assert_eq!(report.compile_errors, 1);
    assert_eq!(report.bundle_errors, 0);
    assert_eq!(report.error_rate, 0.2);
    assert_eq!(report.recent_error_rate, 0.2);
    assert_eq!(report.uptime, 10.0);
}

#[test]
fn summaries_match_known_percentiles() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    // 1..=1000 ms, one each: p50 = 500, p95 = 950, p99 = 990, p999 = 999.
    for n in 1..=1000 {
        metrics.record(Op::Load, OpOutcome::Ok, ms(n), start);
    }
    let summary = metrics.op(Op::Load, start).latency;
    assert_eq!(summary.count, 1000);
    assert!(close(summary.min, 1.0), "{summary:?}");
    assert!(close(summary.max, 1000.0), "{summary:?}");
    assert!(close(summary.mean, 500.5), "{summary:?}");
    assert!(close(summary.p50, 500.0), "{summary:?}");
    assert!(close(summary.p95, 950.0), "{summary:?}");
    assert!(close(summary.p99, 990.0), "{summary:?}");
    assert!(close(summary.p999, 999.0), "{summary:?}");
}

#[test]
fn latencies_above_sixty_seconds_are_clamped() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    metrics.record(
        Op::External,
        OpOutcome::Error,
        Duration::from_secs(3600),
        start,
    );
    let summary = metrics.op(Op::External, start).latency;
    assert!(close(summary.max, 60_000.0), "{summary:?}");
}

#[test]
fn the_window_forgets_old_samples_and_keeps_recent_ones() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    let at = |secs| start + Duration::from_secs(secs);
    metrics.record(Op::Load, OpOutcome::Error, ms(500), at(0));
    metrics.record(Op::Load, OpOutcome::Ok, ms(2), at(45));

    let early = metrics.op(Op::Load, at(50));
    assert_eq!((early.window_total, early.window_errors), (2, 1));
    assert!(close(early.window.max, 500.0));

    // 70 s on, the first sample has left the window, the second has not.
    let later = metrics.op(Op::Load, at(70));
    assert_eq!((later.window_total, later.window_errors), (1, 0));
    assert!(close(later.window.max, 2.0), "{:?}", later.window);
    assert_eq!((later.total, later.errors), (2, 1));
    assert_eq!(later.latency.count, 2);

    // Recording later folds old slots into the cumulative histogram.
    metrics.record(Op::Load, OpOutcome::Ok, ms(7), at(130));
    let end = metrics.op(Op::Load, at(130));
    assert_eq!((end.window_total, end.window_errors), (1, 0));
    assert!(close(end.window.max, 7.0));
    assert_eq!(end.latency.count, 3);
    assert!(close(end.latency.max, 500.0));

    let report = MetricsReport::build(
        &metrics,
        &cache_stats(),
        vec![],
        0,
        SystemMetrics::default(),
        at(130),
    );
    assert_eq!(report.recent_error_rate, 0.0);
    assert!(close(report.error_rate, 1.0 / 3.0));
    assert_eq!(report.recent_load_latency.count, 1);
}

#[test]
fn samples_with_an_older_now_still_count() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    let at = |secs| start + Duration::from_secs(secs);
    metrics.record(Op::Load, OpOutcome::Ok, ms(1), at(30));
    // A concurrent caller whose clock reading is older.
    metrics.record(Op::Load, OpOutcome::Error, ms(1), at(5));
    let snapshot = metrics.op(Op::Load, at(30));
    assert_eq!((snapshot.window_total, snapshot.window_errors), (2, 1));
    assert_eq!(snapshot.latency.count, 2);
    assert_eq!(metrics.op(Op::Load, at(62)).window_total, 1);
}

#[test]
fn concurrent_recording_from_eight_threads_loses_nothing() {
    let start = Instant::now();
    let metrics = Arc::new(Metrics::new(start));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                for i in 0..5_000u64 {
                    let outcome = if i % 10 == 0 {
                        OpOutcome::Error
                    } else {
                        OpOutcome::Ok
                    };
                    // Time advances so slots rotate while others record.
                    let now = start + Duration::from_millis(i * 10 + t);
                    metrics.record(Op::Load, outcome, Duration::from_micros(100 + i), now);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let now = start + Duration::from_secs(50);
    let load = metrics.op(Op::Load, now);
    assert_eq!((load.total, load.errors), (40_000, 4_000));
    assert_eq!(load.latency.count, 40_000);
    assert_eq!(metrics.histogram(Op::Load).len(), 40_000);
    // Every sample is within the last 60 s.
    assert_eq!((load.window_total, load.window_errors), (40_000, 4_000));
}

fn decode(encoded: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

#[test]
fn export_decodes_back_to_the_original_histograms() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    let at = |secs| start + Duration::from_secs(secs);
    for n in 0..200 {
        metrics.record(
            Op::Load,
            OpOutcome::Ok,
            Duration::from_micros(n * 137 + 5),
            at(n / 2),
        );
    }
    metrics.record(Op::Compile, OpOutcome::Error, ms(40), at(1));
    let now = at(100);
    let export = metrics.export(now);
    assert_eq!(export.window_seconds, 60);
    assert_eq!(export.uptime, 100.0);

    let load = &export.ops["load"];
    let cumulative = decode(&load.histogram);
    assert_eq!(cumulative, metrics.histogram(Op::Load));
    assert_eq!(cumulative.len(), 200);
    assert_eq!(load.latency, LatencySummary::from_histogram(&cumulative));

    let window = decode(&load.window_histogram);
    let snapshot = metrics.op(Op::Load, now);
    assert_eq!(window.len(), snapshot.window_total);
    assert!(!window.is_empty() && window.len() < 200);
    assert_eq!(LatencySummary::from_histogram(&window), snapshot.window);

    assert_eq!(
        decode(&export.ops["compile"].histogram),
        metrics.histogram(Op::Compile)
    );
    assert_eq!(export.ops["compile"].errors, 1);
    assert!(decode(&export.ops["bundle"].histogram).is_empty());
    assert_eq!(decode_histogram(&load.histogram).unwrap(), cumulative);
    assert!(decode_histogram("not base64!").is_err());

    let json = serde_json::to_value(&export).unwrap();
    assert!(json["ops"]["load"]["windowHistogram"].is_string());
}

fn scrape(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap()
}

fn value_of(scrape: &prometheus_parse::Scrape, name: &str) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|sample| sample.metric == name && sample.labels.is_empty())
        .unwrap_or_else(|| panic!("{name} missing"));
    match sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name} is {other:?}"),
    }
}

fn report_with_loads() -> (Metrics, MetricsReport, Instant) {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    for n in 0..300u64 {
        let outcome = if n % 30 == 0 {
            OpOutcome::Error
        } else {
            OpOutcome::Ok
        };
        metrics.record(
            Op::Load,
            outcome,
            Duration::from_micros(n * n * 7 + 100),
            start,
        );
    }
    metrics.record(Op::Compile, OpOutcome::Error, ms(4), start);
    metrics.record(Op::Bundle, OpOutcome::Error, ms(4), start);
    let system = SystemMetrics {
        memory_usage: 42.5,
        rss_bytes: 123_456_789,
        memory_limit_bytes: 1 << 30,
        cpu_usage: 12.25,
    };
    let breakers = vec![
        breaker("left-pad", BreakerState::Open),
        breaker("lodash", BreakerState::HalfOpen),
        breaker("react", BreakerState::Closed),
    ];
    let now = start + Duration::from_secs(42);
    let report = MetricsReport::build(&metrics, &cache_stats(), breakers, 7, system, now);
    (metrics, report, now)
}

#[test]
fn prometheus_values_equal_the_report() {
    let (metrics, report, _) = report_with_loads();
    let text = report.prometheus(&metrics.histogram(Op::Load));
    let parsed = scrape(&text);

    let expected: [(&str, f64); 21] = [
        ("somon_loads_total", report.total_loads as f64),
        ("somon_load_errors_total", report.load_errors as f64),
        ("somon_compile_errors_total", 1.0),
        ("somon_bundle_errors_total", 1.0),
        ("somon_cache_hits_total", 80.0),
        ("somon_cache_misses_total", 20.0),
        ("somon_cache_evictions_total", 5.0),
        ("somon_circuit_breaker_trips_total", 7.0),
        ("somon_module_compilations_total", 45.0),
        ("somon_load_latency_p99", report.load_latency.p99),
        ("somon_cache_hit_rate", 0.8),
        ("somon_load_errors_rate", report.error_rate),
        ("somon_memory_usage_percent", 42.5),
        ("somon_cpu_usage_percent", 12.25),
        ("somon_cache_size", 40.0),
        ("somon_cache_memory_bytes", 3_000.0),
        ("somon_cache_memory_limit_bytes", 10_000.0),
        ("somon_process_resident_memory_bytes", 123_456_789.0),
        ("somon_memory_limit_bytes", (1u64 << 30) as f64),
        ("somon_uptime_seconds", 42.0),
        ("somon_load_duration_seconds_count", 300.0),
    ];
    for (name, value) in expected {
        assert_eq!(value_of(&parsed, name), value, "{name}");
    }
    assert_eq!(report.total_loads, 300);
    assert_eq!(report.load_errors, 10);
    assert!(report.load_latency.p99 > 100.0, "p99 is in ms");

    for (name, _) in &expected[..9] {
        assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
    }
    assert!(text.contains("# TYPE somon_load_duration_seconds histogram\n"));
    for line in text.lines().filter(|line| line.starts_with("# TYPE")) {
        let name = line.split_whitespace().nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }

    let states: HashMap<_, _> = parsed
        .samples
        .iter()
        .filter(|sample| sample.metric == "somon_circuit_breaker_state")
        .map(|sample| {
            (
                sample.labels.get("name").unwrap().to_owned(),
                sample.value.clone(),
            )
        })
        .collect();
    assert_eq!(states["left-pad"], prometheus_parse::Value::Gauge(2.0));
    assert_eq!(states["lodash"], prometheus_parse::Value::Gauge(1.0));
    assert_eq!(states["react"], prometheus_parse::Value::Gauge(0.0));
    assert!(text.contains("somon_circuit_breaker_open{name=\"left-pad\"} 1\n"));
    assert!(text.contains("somon_circuit_breaker_open{name=\"lodash\"} 0\n"));
}

#[test]
fn prometheus_histogram_buckets_are_cumulative_and_exact() {
    let (metrics, report, _) = report_with_loads();
    let histogram = metrics.histogram(Op::Load);
    let parsed = scrape(&report.prometheus(&histogram));
    let buckets = parsed
        .samples
        .iter()
        .find(|sample| sample.metric == "somon_load_duration_seconds")
        .map(|sample| match &sample.value {
            prometheus_parse::Value::Histogram(buckets) => buckets.clone(),
            other => panic!("not a histogram: {other:?}"),
        })
        .unwrap();
    assert_eq!(buckets.len(), 15);
    assert!(buckets
        .windows(2)
        .all(|pair| pair[0].less_than < pair[1].less_than));
    assert!(buckets
        .windows(2)
        .all(|pair| pair[0].count <= pair[1].count));
    let last = buckets.last().unwrap();
    assert!(last.less_than.is_infinite());
    assert_eq!(
        last.count,
        value_of(&parsed, "somon_load_duration_seconds_count")
    );

    // Each bound's count is what the HDR histogram holds at or below it.
    for bucket in &buckets[..buckets.len() - 1] {
        let micros = (bucket.less_than * 1e6).round() as u64;
        assert_eq!(bucket.count, histogram.count_between(0, micros) as f64);
    }
    // The samples are 100 µs + 7 n² µs: 0.5 ms holds n ≤ 7, 0.1 s n ≤ 119.
    assert_eq!(buckets[0].count, 8.0);
    assert_eq!(buckets[7].count, 120.0);

    let sum = value_of(&parsed, "somon_load_duration_seconds_sum");
    let exact: f64 = (0..300u64).map(|n| (n * n * 7 + 100) as f64 / 1e6).sum();
    assert!((sum - exact).abs() <= exact * 0.001, "{sum} vs {exact}");
}

#[test]
fn prometheus_escapes_label_values() {
    let (metrics, mut report, _) = report_with_loads();
    let name = "we\"ird\\dep\nx";
    report
        .circuit_breakers
        .insert(name.to_owned(), breaker(name, BreakerState::Open));
    let text = report.prometheus(&metrics.histogram(Op::Load));
    assert!(text.contains("somon_circuit_breaker_state{name=\"we\\\"ird\\\\dep\\nx\"} 2\n"));
    // Every sample still sits on one line and parses.
    let parsed = scrape(&text);
    let escaped = parsed
        .samples
        .iter()
        .find(|sample| {
            sample.metric == "somon_circuit_breaker_open"
                && sample
                    .labels
                    .get("name")
                    .is_some_and(|n| n.starts_with("we"))
        })
        .unwrap();
    let unescaped = escaped
        .labels
        .get("name")
        .unwrap()
        .replace("\\n", "\n")
        .replace("\\\"", "\"")
        .replace("\\\\", "\\");
    assert_eq!(unescaped, name);
    assert_eq!(escaped.value, prometheus_parse::Value::Gauge(1.0));
}

#[test]
fn report_json_has_the_runbook_paths() {
    let (_, report, _) = report_with_loads();
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["loadLatency"]["p99"].is_f64());
    assert_eq!(json["cacheHitRate"], 0.8);
    assert_eq!(json["loadErrors"], 10);
    assert_eq!(json["totalLoads"], 300);
    assert_eq!(json["systemMetrics"]["memoryUsage"], 42.5);
    assert_eq!(json["systemMetrics"]["rssBytes"], 123_456_789);
    assert_eq!(json["circuitBreakers"]["left-pad"]["state"], "open");
    assert_eq!(json["circuitBreakerTrips"], 7);
    assert_eq!(json["cacheMemoryLimit"], 10_000);
    assert_eq!(json["moduleCompilations"], 45);
    assert_eq!(json["uptime"], 42.0);
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Metrics>();
    assert_send_sync::<SystemSampler>();
}
