//! The JSON body of `GET /metrics`.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{LatencySummary, Metrics, Op};
use crate::{BreakerStatus, CacheStats, SystemMetrics};

/// Exactly the JSON of `GET /metrics`; the runbook reads it with
/// jq (`.loadLatency.p99`, `.cacheHitRate`, `.systemMetrics.memoryUsage`).
///
/// Build it with [`MetricsReport::build`]; render the Prometheus form with
/// [`MetricsReport::prometheus`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsReport {
    /// Load requests since start, failed ones included.
    pub total_loads: u64,
    /// Failed load requests since start.
    pub load_errors: u64,
    /// Failed compilations since start.
    pub compile_errors: u64,
    /// Failed bundles since start.
    pub bundle_errors: u64,
    /// `load_errors / total_loads`, in `[0, 1]`; 0 before any load.
    pub error_rate: f64,
    /// The same ratio over the last 60 s; 0 when there was no load then.
    pub recent_error_rate: f64,
    /// Load latency since start, ms.
    pub load_latency: LatencySummary,
    /// Compile latency since start, ms.
    pub compile_latency: LatencySummary,
    /// Bundle latency since start, ms.
    pub bundle_latency: LatencySummary,
    /// External fetch latency since start, ms.
    pub external_latency: LatencySummary,
    /// Load latency over the last 60 s, ms.
    pub recent_load_latency: LatencySummary,
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Lookups that had to load a module.
    pub cache_misses: u64,
    /// `hits / (hits + misses)`, in `[0, 1]`.
    pub cache_hit_rate: f64,
    /// Modules cached.
    pub cache_size: usize,
    /// The cache's entry limit (the health check's utilisation needs it).
    pub cache_max_size: usize,
    /// Bytes cached.
    pub cache_memory_usage: u64,
    /// The cache's byte limit.
    pub cache_memory_limit: u64,
    /// Entries evicted to respect the limits.
    pub cache_evictions: u64,
    /// Modules compiled for the cache ([`CacheStats::compilations`]):
    /// with single-flight, one per module that entered the
    /// cache, however many requests missed it at once.
    pub module_compilations: u64,
    /// Every breaker, by name.
    pub circuit_breakers: BTreeMap<String, BreakerStatus>,
    /// Times any breaker opened since start.
    pub circuit_breaker_trips: u64,
    /// Process memory and CPU.
    pub system_metrics: SystemMetrics,
    /// Seconds since start.
    pub uptime: f64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl MetricsReport {
    /// Gathers the report at `now` from its sources.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use somon_system::*;
    ///
    /// let start = Instant::now();
    /// let metrics = Metrics::new(start);
    /// metrics.record(Op::Load, OpOutcome::Error, Duration::from_millis(2), start);
    /// let cache = CacheStats { size: 0, max_size: 10, memory_usage: 0, max_memory: 1024,
    ///     hits: 3, misses: 1, evictions: 0, compilations: 1, hit_rate: 0.75, most_accessed: vec![] };
    /// let report = MetricsReport::build(&metrics, &cache, vec![], 0, SystemMetrics::default(), start);
    /// assert_eq!(report.error_rate, 1.0);
    /// assert_eq!(serde_json::to_value(&report).unwrap()["cacheHitRate"], 0.75);
    /// ```
    pub fn build(
        metrics: &Metrics,
        cache: &CacheStats,
        breakers: Vec<BreakerStatus>,
        trips: u64,
        system: SystemMetrics,
        now: Instant,
    ) -> MetricsReport {
        let load = metrics.op(Op::Load, now);
        let compile = metrics.op(Op::Compile, now);
        let bundle = metrics.op(Op::Bundle, now);
        let external = metrics.op(Op::External, now);
        MetricsReport {
            total_loads: load.total,
            load_errors: load.errors,
            compile_errors: compile.errors,
            bundle_errors: bundle.errors,
            error_rate: ratio(load.errors, load.total),
            recent_error_rate: ratio(load.window_errors, load.window_total),
            load_latency: load.latency,
            compile_latency: compile.latency,
            bundle_latency: bundle.latency,
            external_latency: external.latency,
            recent_load_latency: load.window,
            cache_hits: cache.hits,
            cache_misses: cache.misses,
            cache_hit_rate: cache.hit_rate,
            cache_size: cache.size,
            cache_max_size: cache.max_size,
            cache_memory_usage: cache.memory_usage,
            cache_memory_limit: cache.max_memory,
            cache_evictions: cache.evictions,
            module_compilations: cache.compilations,
            circuit_breakers: breakers
                .into_iter()
                .map(|status| (status.name.clone(), status))
                .collect(),
            circuit_breaker_trips: trips,
            system_metrics: system,
            uptime: metrics.uptime(now).as_secs_f64(),
        }
    }
}
