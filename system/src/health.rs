//! `GET /health`: checks of a [`MetricsReport`] against the runbook's
//! thresholds.

use std::time::Instant;

use serde::Serialize;

use crate::{BreakerState, MetricsReport};

/// Overall health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Every check passed.
    Healthy,
    /// Some check warned, none failed; still served with 200.
    Degraded,
    /// Some check failed; served with 503.
    Unhealthy,
}

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Within the thresholds.
    Pass,
    /// Above a warning threshold.
    Warn,
    /// Above a failure threshold.
    Fail,
}

/// One line of [`HealthReport::checks`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// `memory`, `cpu`, `cache`, `errors` or `circuitBreakers`.
    pub name: String,
    /// Its verdict.
    pub status: CheckStatus,
    /// What was measured, e.g. `Memory usage: 45%`.
    pub message: String,
    /// How long the check took, ms.
    pub duration: f64,
}

/// The body of `GET /health`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthReport {
    /// The worst of the checks.
    pub status: HealthStatus,
    /// Seconds since start.
    pub uptime: f64,
    /// This crate's version.
    pub version: String,
    /// When the report was made, Unix milliseconds.
    pub timestamp: u64,
    /// `memory`, `cpu`, `cache`, `errors`, `circuitBreakers`, in this order.
    pub checks: Vec<Check>,
}

impl HealthReport {
    /// 200 while healthy or degraded, 503 when unhealthy (so load balancers
    /// keep a degraded instance in rotation).
    pub fn http_status(&self) -> u16 {
        match self.status {
            HealthStatus::Healthy | HealthStatus::Degraded => 200,
            HealthStatus::Unhealthy => 503,
        }
    }
}

/// Where checks turn to warn or fail. A value *above* a threshold trips it,
/// as the runbook's alerts read ("memory usage > 85 %"); a value exactly at
/// it passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthThresholds {
    /// Memory usage, percent of the limit, above which `memory` warns.
    pub memory_warn: f64,
    /// Memory usage, percent of the limit, above which `memory` fails.
    pub memory_fail: f64,
    /// CPU usage, percent, above which `cpu` warns (it never fails).
    pub cpu_warn: f64,
    /// Load error ratio over the last 60 s above which `errors` warns.
    pub error_warn: f64,
    /// Load error ratio over the last 60 s above which `errors` fails.
    pub error_fail: f64,
    /// Fewer loads than this in the last 60 s only ever warn on errors: one
    /// 404 in a quiet minute is not an outage, and a health check that
    /// flaps on it would get a healthy pod pulled.
    pub error_min_loads: u64,
    /// Cache utilisation (the larger of entries and bytes over their
    /// limits), ratio, above which `cache` warns.
    pub cache_warn: f64,
}

impl Default for HealthThresholds {
    /// The runbook's numbers: memory 85 % / 95 %, CPU 80 %, error rate 5 % /
    /// 10 %, cache 95 % full.
    fn default() -> Self {
        HealthThresholds {
            memory_warn: 85.0,
            memory_fail: 95.0,
            cpu_warn: 80.0,
            error_warn: 0.05,
            error_fail: 0.10,
            error_min_loads: 20,
            cache_warn: 0.95,
        }
    }
}

fn grade(value: f64, warn: f64, fail: Option<f64>) -> CheckStatus {
    if fail.is_some_and(|fail| value > fail) {
        CheckStatus::Fail
    } else if value > warn {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    }
}

fn memory(report: &MetricsReport, t: &HealthThresholds) -> (CheckStatus, String) {
    let usage = report.system_metrics.memory_usage;
    let status = grade(usage, t.memory_warn, Some(t.memory_fail));
    (status, format!("Memory usage: {usage:.0}%"))
}

fn cpu(report: &MetricsReport, t: &HealthThresholds) -> (CheckStatus, String) {
    let usage = report.system_metrics.cpu_usage;
    (
        grade(usage, t.cpu_warn, None),
        format!("CPU usage: {usage:.0}%"),
    )
}

fn cache(report: &MetricsReport, t: &HealthThresholds) -> (CheckStatus, String) {
    let fraction = |used: f64, limit: f64| if limit > 0.0 { used / limit } else { 0.0 };
    let entries = fraction(report.cache_size as f64, report.cache_max_size as f64);
    let bytes = fraction(
        report.cache_memory_usage as f64,
        report.cache_memory_limit as f64,
    );
    let utilisation = entries.max(bytes);
    let message = format!(
        "Cache utilization: {:.0}% ({} of {} entries, {} of {} bytes)",
        utilisation * 100.0,
        report.cache_size,
        report.cache_max_size,
        report.cache_memory_usage,
        report.cache_memory_limit
    );
    (grade(utilisation, t.cache_warn, None), message)
}

fn errors(report: &MetricsReport, t: &HealthThresholds) -> (CheckStatus, String) {
    let loads = report.recent_load_latency.count;
    if loads == 0 {
        return (CheckStatus::Pass, "No loads in the last 60 s".to_owned());
    }
    let rate = report.recent_error_rate;
    let fail = (loads >= t.error_min_loads).then_some(t.error_fail);
    let status = grade(rate, t.error_warn, fail);
    let message = format!(
        "Error rate: {:.1}% of {loads} loads in the last 60 s",
        rate * 100.0
    );
    (status, message)
}

fn circuit_breakers(report: &MetricsReport) -> (CheckStatus, String) {
    let open: Vec<&str> = report
        .circuit_breakers
        .values()
        .filter(|status| status.state == BreakerState::Open)
        .map(|status| status.name.as_str())
        .collect();
    if open.is_empty() {
        let count = report.circuit_breakers.len();
        (
            CheckStatus::Pass,
            format!("No circuit breaker open ({count} in total)"),
        )
    } else {
        (
            CheckStatus::Warn,
            format!("Circuit breakers open: {}", open.join(", ")),
        )
    }
}

/// Runs the checks `memory`, `cpu`, `cache`, `errors` and
/// `circuitBreakers` on `report`, in this order. Any fail makes the report
/// unhealthy, else any warn makes it degraded.
///
/// ```
/// use std::time::Instant;
/// use somon_system::*;
///
/// let start = Instant::now();
/// let cache = CacheStats { size: 0, max_size: 10, memory_usage: 0, max_memory: 1024,
///     hits: 0, misses: 0, evictions: 0, compilations: 0, hit_rate: 0.0, most_accessed: vec![] };
/// let system = SystemMetrics { memory_usage: 90.0, ..SystemMetrics::default() };
/// let report = MetricsReport::build(&Metrics::new(start), &cache, vec![], 0, system, start);
///
/// let health = evaluate(&report, &HealthThresholds::default(), 1_700_000_000_000);
/// assert_eq!(health.status, HealthStatus::Degraded);
/// assert_eq!(health.checks[0].message, "Memory usage: 90%");
/// assert_eq!(health.http_status(), 200);
/// ```
pub fn evaluate(
    report: &MetricsReport,
    thresholds: &HealthThresholds,
    timestamp_unix_ms: u64,
) -> HealthReport {
    type CheckFn = fn(&MetricsReport, &HealthThresholds) -> (CheckStatus, String);
    let checks: [(&str, CheckFn); 5] = [
        ("memory", memory),
        ("cpu", cpu),
        ("cache", cache),
        ("errors", errors),
        ("circuitBreakers", |report, _| circuit_breakers(report)),
    ];
    let checks: Vec<Check> = checks
        .into_iter()
        .map(|(name, check)| {
            let started = Instant::now();
            let (status, message) = check(report, thresholds);
            Check {
                name: name.to_owned(),
                status,
                message,
                duration: started.elapsed().as_secs_f64() * 1000.0,
            }
        })
        .collect();
    let worst = |wanted| checks.iter().any(|check| check.status == wanted);
    let status = if worst(CheckStatus::Fail) {
        HealthStatus::Unhealthy
    } else if worst(CheckStatus::Warn) {
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    };
    HealthReport {
        status,
        uptime: report.uptime,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        timestamp: timestamp_unix_ms,
        checks,
    }
}
