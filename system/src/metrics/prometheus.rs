//! The Prometheus text exposition format (0.0.4) of a [`MetricsReport`].

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use super::MetricsReport;
use crate::BreakerState;

/// Upper bounds of `somon_load_duration_seconds`: the label text and the
/// bound in microseconds (the histogram's unit).
const LOAD_BUCKETS: [(&str, u64); 14] = [
    ("0.0005", 500),
    ("0.001", 1_000),
    ("0.0025", 2_500),
    ("0.005", 5_000),
    ("0.01", 10_000),
    ("0.025", 25_000),
    ("0.05", 50_000),
    ("0.1", 100_000),
    ("0.25", 250_000),
    ("0.5", 500_000),
    ("1", 1_000_000),
    ("2.5", 2_500_000),
    ("5", 5_000_000),
    ("10", 10_000_000),
];

/// Escapes a label value: backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Accumulates families; each starts with its HELP and TYPE lines.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // Help texts are our own constants: no backslashes or newlines.
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "{name}{labels} {value}");
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, "", value);
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, "gauge", help);
        self.sample(name, "", value);
    }
}

impl MetricsReport {
    /// Renders the report in the Prometheus text exposition format 0.0.4
    /// (what `promtool check metrics` accepts), with the gauges the
    /// runbook's dashboard queries and the histogram
    /// `somon_load_duration_seconds` built from `load_histogram` (the
    /// cumulative load histogram in µs, [`Metrics::histogram`]).
    ///
    /// Bucket counts are read from the HDR histogram at each bound: a
    /// bucket counts the samples whose 0.1 %-wide HDR bucket starts at or
    /// below the bound. `_sum` is the histogram's mean times its count.
    ///
    /// [`Metrics::histogram`]: crate::Metrics::histogram
    pub fn prometheus(&self, load_histogram: &Histogram<u64>) -> String {
        let mut out = Exposition(String::with_capacity(4096));
        let system = &self.system_metrics;

        out.counter(
            "somon_loads_total",
            "Module load requests served, failed ones included.",
            self.total_loads,
        );
        out.counter(
            "somon_load_errors_total",
            "Module load requests that failed.",
            self.load_errors,
        );
        out.counter(
            "somon_compile_errors_total",
            "Module compilations that failed.",
            self.compile_errors,
        );
        out.counter(
            "somon_bundle_errors_total",
            "Bundle builds that failed.",
            self.bundle_errors,
        );
        out.counter(
            "somon_cache_hits_total",
            "Module lookups answered from the cache.",
            self.cache_hits,
        );
        out.counter(
            "somon_cache_misses_total",
            "Module lookups that had to load the module.",
            self.cache_misses,
        );
        out.counter(
            "somon_cache_evictions_total",
            "Cache entries evicted to respect the limits.",
            self.cache_evictions,
        );
        out.counter(
            "somon_module_compilations_total",
            "Modules compiled for the cache (single-flight: once per module however many requests miss it at once).",
            self.module_compilations,
        );
        out.counter(
            "somon_circuit_breaker_trips_total",
            "Times any circuit breaker opened.",
            self.circuit_breaker_trips,
        );

        out.gauge(
            "somon_load_latency_p99",
            "99th percentile of module load latency since start, in milliseconds (the dashboard threshold is 100 ms).",
            self.load_latency.p99,
        );
        out.gauge(
            "somon_cache_hit_rate",
            "Cache hits over counted lookups, ratio 0..1.",
            self.cache_hit_rate,
        );
        out.gauge(
            "somon_load_errors_rate",
            "Failed over all module loads since start, ratio 0..1.",
            self.error_rate,
        );
        out.gauge(
            "somon_memory_usage_percent",
            "Process resident memory as a percentage of somon_memory_limit_bytes.",
            system.memory_usage,
        );
        out.gauge(
            "somon_cpu_usage_percent",
            "Process CPU usage as a percentage of the available cores.",
            system.cpu_usage,
        );
        out.gauge(
            "somon_cache_size",
            "Modules held in the cache.",
            self.cache_size,
        );
        out.gauge(
            "somon_cache_memory_bytes",
            "Bytes held in the cache.",
            self.cache_memory_usage,
        );
        out.gauge(
            "somon_cache_memory_limit_bytes",
            "The cache's byte limit.",
            self.cache_memory_limit,
        );
        out.gauge(
            "somon_process_resident_memory_bytes",
            "Resident set size of the process.",
            system.rss_bytes,
        );
        out.gauge(
            "somon_memory_limit_bytes",
            "The memory limit: the smallest of the cgroup limit, the machine's memory and memoryLimit.",
            system.memory_limit_bytes,
        );
        out.gauge(
            "somon_uptime_seconds",
            "Seconds since the module system started.",
            self.uptime,
        );

        out.family(
            "somon_circuit_breaker_state",
            "gauge",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
        );
        for (name, status) in &self.circuit_breakers {
            let state = match status.state {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            };
            let labels = format!("{{name=\"{}\"}}", escape_label(name));
            out.sample("somon_circuit_breaker_state", &labels, state);
        }
        out.family(
            "somon_circuit_breaker_open",
            "gauge",
            "1 while the circuit breaker is open, else 0.",
        );
        for (name, status) in &self.circuit_breakers {
            let open = u8::from(status.state == BreakerState::Open);
            let labels = format!("{{name=\"{}\"}}", escape_label(name));
            out.sample("somon_circuit_breaker_open", &labels, open);
        }

        let name = "somon_load_duration_seconds";
        out.family(
            name,
            "histogram",
            "Module load latency since start, in seconds.",
        );
        let bucket = format!("{name}_bucket");
        for (label, micros) in LOAD_BUCKETS {
            let count = load_histogram.count_between(0, micros);
            out.sample(&bucket, &format!("{{le=\"{label}\"}}"), count);
        }
        let count = load_histogram.len();
        out.sample(&bucket, "{le=\"+Inf\"}", count);
        let sum_seconds = load_histogram.mean() * count as f64 / 1e6;
        out.sample(&format!("{name}_sum"), "", sum_seconds);
        out.sample(&format!("{name}_count"), "", count);
        out.0
    }
}

#[cfg(test)]
mod tests {
    use super::escape_label;

    #[test]
    fn escapes_backslash_quote_newline() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
