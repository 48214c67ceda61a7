//! Latency summaries and the histogram encoding used by `/metrics/export`.

use base64::Engine as _;
use hdrhistogram::serialization::{
    DeserializeError, Deserializer, Serializer as _, V2DeflateSerializer,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Significant decimal digits every latency histogram keeps (0.1 % precision).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// The largest latency recorded as itself, in microseconds (60 s); larger
/// latencies are clamped to it so one hung request cannot grow every
/// histogram it touches.
pub const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// An empty microsecond histogram that grows on demand.
///
/// Auto-resize keeps idle and fast operations cheap: the counts array starts
/// at 16 KiB (values up to ~2 ms at full precision) and only reaches the
/// 136 KiB of a full 1 µs..60 s histogram once a 30 s+ latency is recorded.
pub(crate) fn new_histogram() -> Histogram<u64> {
    let mut histogram = Histogram::new_with_bounds(1, 2, SIGNIFICANT_DIGITS)
        .expect("1..2 at 3 significant digits is a valid histogram");
    histogram.auto(true);
    histogram
}

/// Records one latency (µs), clamped to [`MAX_LATENCY_MICROS`].
pub(crate) fn record_micros(histogram: &mut Histogram<u64>, micros: u64) {
    let micros = micros.min(MAX_LATENCY_MICROS);
    // `record` resizes an auto histogram; it can only fail on a counter
    // overflow, where saturating is the best we can do.
    if histogram.record(micros).is_err() {
        histogram.saturating_record(micros);
    }
}

/// Adds `source` into `target`. Both are auto-resizing histograms with the
/// same precision, so this cannot fail short of counter overflow.
pub(crate) fn merge(target: &mut Histogram<u64>, source: &Histogram<u64>) {
    if let Err(error) = target.add(source) {
        tracing::warn!(%error, "latency histogram merge failed");
    }
}

/// A latency distribution in milliseconds, as `/metrics` reports it.
///
/// Every field is 0 when nothing was recorded. Values come from an HDR
/// histogram in microseconds, so each is exact to within 0.1 % (3
/// significant digits); `min` and `max` are the bounds of the extreme
/// occupied buckets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Smallest latency, ms.
    pub min: f64,
    /// Mean latency, ms.
    pub mean: f64,
    /// Largest latency, ms.
    pub max: f64,
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// 99.9th percentile, ms.
    pub p999: f64,
}

impl LatencySummary {
    /// Summarises a microsecond histogram in milliseconds.
    ///
    /// ```
    /// use somon_system::LatencySummary;
    /// let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    /// h.record(2_000).unwrap();
    /// assert_eq!(LatencySummary::from_histogram(&h).p99, 2.0);
    /// ```
    pub fn from_histogram(histogram: &Histogram<u64>) -> LatencySummary {
        if histogram.is_empty() {
            return LatencySummary::default();
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        LatencySummary {
            count: histogram.len(),
            min: ms(histogram.min()),
            mean: histogram.mean() / 1000.0,
            max: ms(histogram.max()),
            p50: ms(histogram.value_at_quantile(0.5)),
            p95: ms(histogram.value_at_quantile(0.95)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
        }
    }
}

/// Why [`decode_histogram`] refused its input.
#[derive(Debug, thiserror::Error)]
pub enum HistogramDecodeError {
    /// The text is not standard, padded base64; pass the field of a
    /// [`MetricsExport`](crate::MetricsExport) unchanged.
    #[error("histogram is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 (optionally deflated) encoding.
    #[error("histogram is not a V2 HdrHistogram encoding")]
    Histogram(#[source] DeserializeError),
}

/// Encodes a histogram as base64 of its V2+deflate encoding (the
/// HdrHistogram log format), readable by every HdrHistogram implementation.
pub(crate) fn encode_histogram(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail; the encoder itself only fails on counts
    // above i64::MAX, which no latency histogram reaches.
    if let Err(error) = V2DeflateSerializer::new().serialize(histogram, &mut bytes) {
        tracing::warn!(?error, "latency histogram could not be encoded");
        return String::new();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a histogram from a [`MetricsExport`](crate::MetricsExport) field
/// (base64 of the V2 or V2+deflate encoding).
///
/// Fails when the text is not base64 or the bytes are not an HdrHistogram
/// V2 encoding.
///
/// ```
/// use std::time::{Duration, Instant};
/// use somon_system::{decode_histogram, Metrics, Op, OpOutcome};
/// let start = Instant::now();
/// let metrics = Metrics::new(start);
/// metrics.record(Op::Load, OpOutcome::Ok, Duration::from_millis(3), start);
/// let export = metrics.export(start);
/// let histogram = decode_histogram(&export.ops["load"].histogram).unwrap();
/// assert_eq!(histogram, metrics.histogram(Op::Load));
/// ```
pub fn decode_histogram(encoded: &str) -> Result<Histogram<u64>, HistogramDecodeError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(HistogramDecodeError::Base64)?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HistogramDecodeError::Histogram)
}
