//! Standard HdrHistogram interval logs (V2 + deflate): one line per
//! (interval, key), readable by HdrHistogram's `HistogramLogAnalyzer`.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::Error;

/// One interval histogram read back from a log.
#[derive(Clone, Debug)]
pub struct Interval {
    /// Start of the interval, relative to the log's start.
    pub start: Duration,
    /// Length of the interval.
    pub duration: Duration,
    /// The tag (a [`Key`](crate::Key) rendered by `Key::tag`), if any.
    pub tag: Option<String>,
    /// The latencies recorded in the interval, in µs.
    pub histogram: Histogram<u64>,
}

/// Writes interval histograms into an in-memory interval log.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::{interval_log, IntervalLogWriter};
///
/// let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
/// h.record(20_000).unwrap();
/// let mut log = IntervalLogWriter::new(std::time::SystemTime::now());
/// log.write(Duration::ZERO, Duration::from_secs(1), Some("get/main/ok"), &h).unwrap();
/// let text = log.finish();
/// let merged = interval_log::merge(&text, |_| true).unwrap();
/// assert_eq!(merged.len(), 1);
/// ```
#[derive(Debug)]
pub struct IntervalLogWriter {
    start: SystemTime,
    lines: Vec<(Duration, Duration, Option<String>, Vec<u8>)>,
}

impl IntervalLogWriter {
    /// An empty log whose `StartTime` header is `start`.
    pub fn new(start: SystemTime) -> IntervalLogWriter {
        IntervalLogWriter {
            start,
            lines: Vec::new(),
        }
    }

    /// Adds one interval histogram. Tags may not contain `,`, spaces or line
    /// breaks (they are replaced by `_`).
    ///
    /// The histogram is kept compressed (V2 + deflate, a few KB) until
    /// [`finish`](Self::finish).
    ///
    /// # Errors
    /// [`Error::IntervalLogWrite`] when the histogram does not serialise.
    pub fn write(
        &mut self,
        start: Duration,
        duration: Duration,
        tag: Option<&str>,
        histogram: &Histogram<u64>,
    ) -> Result<(), Error> {
        let tag = tag.map(sanitize_tag);
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(|e| Error::IntervalLogWrite {
                reason: format!("{e:?}"),
            })?;
        self.lines.push((start, duration, tag, bytes));
        Ok(())
    }

    /// Number of interval lines so far.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no interval was written.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Renders the log text.
    pub fn finish(&self) -> String {
        render(self.start, &self.lines).unwrap_or_else(|e| format!("#[error: {e}]\n"))
    }
}

fn sanitize_tag(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn render(
    start: SystemTime,
    lines: &[(Duration, Duration, Option<String>, Vec<u8>)],
) -> Result<String, Error> {
    let mut buf = Vec::new();
    let mut deserializer = Deserializer::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut writer = IntervalLogWriterBuilder::new()
            .add_comment("somon-loadgen latency log, values in microseconds")
            .with_start_time(start)
            .begin_log_with(&mut buf, &mut serializer)
            .map_err(|e| Error::IntervalLogWrite {
                reason: e.to_string(),
            })?;
        for (at, duration, tag, bytes) in lines {
            let histogram: Histogram<u64> = deserializer
                .deserialize(&mut bytes.as_slice())
                .map_err(|e| Error::IntervalLogWrite {
                    reason: format!("{e:?}"),
                })?;
            let tag = tag.as_deref().and_then(Tag::new);
            writer
                .write_histogram(&histogram, *at, *duration, tag)
                .map_err(|e| Error::IntervalLogWrite {
                    reason: e.to_string(),
                })?;
        }
    }
    // The writer only emits ASCII (base64 and numbers).
    String::from_utf8(buf).map_err(|e| Error::IntervalLogWrite {
        reason: e.to_string(),
    })
}

/// Parses an interval log into its interval histograms.
///
/// # Errors
/// [`Error::IntervalLogRead`] when a line does not parse or a histogram does
/// not decode.
pub fn read(text: &str) -> Result<Vec<Interval>, Error> {
    let mut out = Vec::new();
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(text.as_bytes()) {
        let entry = entry.map_err(|e| match e {
            hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } => {
                Error::IntervalLogRead {
                    offset,
                    reason: "unparsable line".into(),
                }
            }
        })?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| Error::IntervalLogRead {
                offset: 0,
                reason: format!("base64: {e}"),
            })?;
        let histogram: Histogram<u64> =
            deserializer
                .deserialize(&mut bytes.as_slice())
                .map_err(|e| Error::IntervalLogRead {
                    offset: 0,
                    reason: format!("histogram: {e:?}"),
                })?;
        out.push(Interval {
            start: interval.start_timestamp(),
            duration: interval.duration(),
            tag: interval.tag().map(|t| t.as_str().to_owned()),
            histogram,
        });
    }
    Ok(out)
}

/// Reads a log and adds up the intervals whose tag passes `keep`.
///
/// # Errors
/// As [`read`].
pub fn merge(text: &str, keep: impl Fn(Option<&str>) -> bool) -> Result<Histogram<u64>, Error> {
    let mut total = crate::measure::new_histogram();
    for interval in read(text)? {
        if keep(interval.tag.as_deref()) {
            total
                .add(&interval.histogram)
                .map_err(|e| Error::IntervalLogRead {
                    offset: 0,
                    reason: format!("merge: {e:?}"),
                })?;
        }
    }
    Ok(total)
}
