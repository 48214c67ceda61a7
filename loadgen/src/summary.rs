//! Figures computed from a histogram; rendering belongs to the reports.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Count, extremes, mean, quantiles and rate of one histogram of µs.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::Summary;
///
/// let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
/// for v in 1..=100u64 { h.record(v * 1000).unwrap(); }
/// let s = Summary::of(&h, Duration::from_secs(10));
/// assert_eq!(s.count, 100);
/// assert!((s.per_sec - 10.0).abs() < 1e-9);
/// assert!(s.p99 >= Duration::from_millis(99));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub count: u64,
    /// Smallest value.
    pub min: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
    /// Largest value.
    pub max: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// `count` divided by the period it was measured over.
    pub per_sec: f64,
}

impl Summary {
    /// Figures of `histogram` (values in µs) measured over `over`.
    pub fn of(histogram: &Histogram<u64>, over: Duration) -> Summary {
        if histogram.is_empty() {
            return Summary::default();
        }
        let q = |quantile: f64| Duration::from_micros(histogram.value_at_quantile(quantile));
        let secs = over.as_secs_f64();
        Summary {
            count: histogram.len(),
            min: Duration::from_micros(histogram.min()),
            mean: Duration::from_secs_f64(histogram.mean() / 1e6),
            max: Duration::from_micros(histogram.max()),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            per_sec: if secs > 0.0 {
                histogram.len() as f64 / secs
            } else {
                0.0
            },
        }
    }

    /// The value at `quantile` in `[0, 1]` of a histogram of µs.
    pub fn quantile(histogram: &Histogram<u64>, quantile: f64) -> Duration {
        Duration::from_micros(histogram.value_at_quantile(quantile.clamp(0.0, 1.0)))
    }
}
