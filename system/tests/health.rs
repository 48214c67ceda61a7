//! Health checks: each threshold's boundaries, overall status, HTTP status.

mod util;

use std::time::{Duration, Instant};

use somon_system::*;
use util::breaker;

const TIMESTAMP: u64 = 1_700_000_000_123;

fn cache(size: usize, memory_usage: u64) -> CacheStats {
    CacheStats {
        size,
        max_size: 100,
        memory_usage,
        max_memory: 1_000,
        hits: 0,
        misses: 0,
        evictions: 0,
        compilations: 0,
        hit_rate: 0.0,
        most_accessed: vec![],
    }
}

/// A report where every check passes.
fn healthy() -> MetricsReport {
    let start = Instant::now();
    MetricsReport::build(
        &Metrics::new(start),
        &cache(10, 100),
        vec![breaker("react", BreakerState::Closed)],
        0,
        SystemMetrics {
            memory_usage: 45.0,
            rss_bytes: 450,
            memory_limit_bytes: 1_000,
            cpu_usage: 20.0,
        },
        start + Duration::from_secs(5),
    )
}

fn check(report: &MetricsReport, name: &str) -> Check {
    evaluate(report, &HealthThresholds::default(), TIMESTAMP)
        .checks
        .into_iter()
        .find(|check| check.name == name)
        .unwrap()
}

#[test]
fn a_healthy_report() {
    let health = evaluate(&healthy(), &HealthThresholds::default(), TIMESTAMP);
    let names: Vec<_> = health
        .checks
        .iter()
        .map(|check| check.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["memory", "cpu", "cache", "errors", "circuitBreakers"]
    );
    assert!(health
        .checks
        .iter()
        .all(|check| check.status == CheckStatus::Pass));
    assert!(health.checks.iter().all(|check| check.duration >= 0.0));
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.http_status(), 200);
    assert_eq!(health.uptime, 5.0);
    assert_eq!(health.timestamp, TIMESTAMP);
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.checks[0].message, "Memory usage: 45%");

    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(json["status"], "healthy");
    assert_eq!(json["checks"][0]["status"], "pass");
    assert_eq!(json["checks"][4]["name"], "circuitBreakers");
}

#[test]
fn default_thresholds_are_the_runbooks() {
    let t = HealthThresholds::default();
    assert_eq!(
        (
            t.memory_warn,
            t.memory_fail,
            t.cpu_warn,
            t.error_warn,
            t.error_fail,
            t.cache_warn
        ),
        (85.0, 95.0, 80.0, 0.05, 0.10, 0.95)
    );
}

#[test]
fn memory_boundaries() {
    let cases = [
        (85.0, CheckStatus::Pass),
        (85.01, CheckStatus::Warn),
        (95.0, CheckStatus::Warn),
        (95.01, CheckStatus::Fail),
    ];
    for (usage, expected) in cases {
        let mut report = healthy();
        report.system_metrics.memory_usage = usage;
        assert_eq!(check(&report, "memory").status, expected, "{usage}");
    }
}

#[test]
fn cpu_boundaries() {
    for (usage, expected) in [
        (80.0, CheckStatus::Pass),
        (80.5, CheckStatus::Warn),
        (100.0, CheckStatus::Warn),
    ] {
        let mut report = healthy();
        report.system_metrics.cpu_usage = usage;
        let cpu = check(&report, "cpu");
        assert_eq!(cpu.status, expected, "{usage}");
        assert!(cpu.message.starts_with("CPU usage: "));
    }
}

#[test]
fn cache_boundaries_on_entries_and_bytes() {
    // (entries of 100, bytes of 1000)
    let cases = [
        (67, 100, CheckStatus::Pass, "Cache utilization: 67%"),
        (95, 950, CheckStatus::Pass, "Cache utilization: 95%"),
        (96, 100, CheckStatus::Warn, "Cache utilization: 96%"),
        (10, 960, CheckStatus::Warn, "Cache utilization: 96%"),
        (100, 1_000, CheckStatus::Warn, "Cache utilization: 100%"),
    ];
    for (size, bytes, expected, message) in cases {
        let mut report = healthy();
        report.cache_size = size;
        report.cache_memory_usage = bytes;
        let cache = check(&report, "cache");
        assert_eq!(cache.status, expected, "{size} {bytes}");
        assert!(cache.message.starts_with(message), "{}", cache.message);
    }
}

#[test]
fn errors_use_the_last_sixty_seconds() {
    let start = Instant::now();
    let metrics = Metrics::new(start);
    // Old failures: 100 % error rate, but outside the window at t = 120 s.
    for _ in 0..10 {
        metrics.record(Op::Load, OpOutcome::Error, Duration::from_millis(1), start);
    }
    let now = start + Duration::from_secs(120);
    let report = |metrics: &Metrics| {
        MetricsReport::build(
            metrics,
            &cache(0, 0),
            vec![],
            0,
            SystemMetrics::default(),
            now,
        )
    };
    let errors = check(&report(&metrics), "errors");
    assert_eq!(errors.status, CheckStatus::Pass);
    assert_eq!(errors.message, "No loads in the last 60 s");

    // 100 recent loads: 5 errors pass, 6 warn, 10 warn, 11 fail.
    for (failed, expected) in [
        (5, CheckStatus::Pass),
        (6, CheckStatus::Warn),
        (10, CheckStatus::Warn),
        (11, CheckStatus::Fail),
    ] {
        let metrics = Metrics::new(start);
        for i in 0..100 {
            let outcome = if i < failed {
                OpOutcome::Error
            } else {
                OpOutcome::Ok
            };
            metrics.record(Op::Load, outcome, Duration::from_millis(1), now);
        }
        let report = report(&metrics);
        assert_eq!(report.recent_error_rate, failed as f64 / 100.0);
        assert_eq!(check(&report, "errors").status, expected, "{failed}");
    }

    // Too few loads to call it an outage: 1 error in 4 only warns.
    let metrics = Metrics::new(start);
    for i in 0..4 {
        let outcome = if i == 0 {
            OpOutcome::Error
        } else {
            OpOutcome::Ok
        };
        metrics.record(Op::Load, outcome, Duration::from_millis(1), now);
    }
    assert_eq!(check(&report(&metrics), "errors").status, CheckStatus::Warn);
}

#[test]
fn open_breakers_warn_and_are_named() {
    let mut report = healthy();
    for (name, state) in [
        ("lodash", BreakerState::HalfOpen),
        ("left-pad", BreakerState::Open),
        ("axios", BreakerState::Open),
    ] {
        report
            .circuit_breakers
            .insert(name.to_owned(), breaker(name, state));
    }
    let breakers = check(&report, "circuitBreakers");
    assert_eq!(breakers.status, CheckStatus::Warn);
    assert_eq!(breakers.message, "Circuit breakers open: axios, left-pad");

    report.circuit_breakers.remove("axios");
    report.circuit_breakers.remove("left-pad");
    assert_eq!(check(&report, "circuitBreakers").status, CheckStatus::Pass);
}

#[test]
fn overall_status_is_the_worst_check() {
    let mut degraded = healthy();
    degraded.system_metrics.cpu_usage = 90.0;
    let health = evaluate(&degraded, &HealthThresholds::default(), TIMESTAMP);
    assert_eq!(health.status, HealthStatus::Degraded);
    assert_eq!(health.http_status(), 200);

    let mut unhealthy = degraded.clone();
    unhealthy.system_metrics.memory_usage = 99.0;
    let health = evaluate(&unhealthy, &HealthThresholds::default(), TIMESTAMP);
    assert_eq!(health.status, HealthStatus::Unhealthy);
    assert_eq!(health.http_status(), 503);
    assert_eq!(
        serde_json::to_value(&health).unwrap()["status"],
        "unhealthy"
    );

    let strict = HealthThresholds {
        cpu_warn: 10.0,
        ..HealthThresholds::default()
    };
    assert_eq!(
        evaluate(&healthy(), &strict, TIMESTAMP).status,
        HealthStatus::Degraded
    );
}
