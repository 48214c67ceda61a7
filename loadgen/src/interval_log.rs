//! Standard HdrHistogram interval logs (V2 + deflate): one line per
//! (interval, key), readable by HdrHistogram's `HistogramLogAnalyzer`.
//!
//! Each line's tag is its [`Key`] (see [`Key::tag`]); read a log back with
//! its keys through [`keyed`], [`Interval::key`], or per second of the log's
//! clock through [`per_second`] and [`per_second_by`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::{Error, Key};

/// One interval histogram read back from a log.
#[derive(Clone, Debug)]
pub struct Interval {
    /// Start of the interval, relative to the log's start.
    pub start: Duration,
    /// Length of the interval.
    pub duration: Duration,
    /// The tag (a [`Key`] rendered by [`Key::tag`]), if any.
    pub tag: Option<String>,
    /// The latencies recorded in the interval, in µs.
    pub histogram: Histogram<u64>,
}

impl Interval {
    /// The key the interval was recorded under, read from its tag; `None`
    /// for an untagged line or a tag that is not a key's.
    pub fn key(&self) -> Option<Key> {
        self.tag.as_deref()?.parse().ok()
    }
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

/// Reads a log into its intervals with their keys, in log order. Untagged
/// lines and tags that are not a [`Key`]'s are left out.
///
/// # Errors
/// As [`read`].
pub fn keyed(text: &str) -> Result<impl Iterator<Item = (Key, Interval)>, Error> {
    Ok(read(text)?
        .into_iter()
        .filter_map(|interval| Some((interval.key()?, interval))))
}

/// The intervals of one second of a log's clock, added up.
#[derive(Clone, Debug)]
pub struct Second {
    /// Their latencies (µs).
    pub histogram: Histogram<u64>,
    /// The longest of them: 1 s, or less for a run's last, partial
    /// interval.
    pub duration: Duration,
}

/// Per second of the log's clock, the intervals whose key passes `keep`,
/// added up: slot `s` holds the intervals starting in `[s, s + 1)` seconds,
/// `None` when none of them passes. The series ends at the last second
/// holding one. Lines without a key are left out (as by [`keyed`]).
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::{interval_log, Key, RequestOutcome, Recorder};
///
/// let recorder = Recorder::new();
/// recorder.record(&Key::new("get", "main", RequestOutcome::Ok), Duration::from_millis(20));
/// recorder.record(&Key::new("put", "main", RequestOutcome::Ok), Duration::from_millis(30));
/// let log = recorder.finish().interval_log;
/// let gets = interval_log::per_second(&log, |key| &*key.op == "get").unwrap();
/// assert_eq!(gets.len(), 1);
/// assert_eq!(gets[0].as_ref().unwrap().histogram.len(), 1);
/// ```
///
/// # Errors
/// As [`read`], and [`Error::IntervalLogRead`] when a histogram does not
/// fit this crate's bounds.
pub fn per_second(text: &str, keep: impl Fn(&Key) -> bool) -> Result<Vec<Option<Second>>, Error> {
    Ok(per_second_by(text, |key| keep(key).then_some(()))?
        .remove(&())
        .unwrap_or_default())
}

/// [`per_second`] for several groups of keys at once: each interval goes
/// to the group `group` names for its key (none: left out), and every group
/// gets its own series.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::{interval_log, Key, RequestOutcome, Recorder};
///
/// let recorder = Recorder::new();
/// recorder.record(&Key::new("get", "main", RequestOutcome::Ok), Duration::from_millis(20));
/// recorder.record(&Key::new("get", "main", RequestOutcome::Timeout), Duration::from_secs(5));
/// recorder.record(&Key::new("put", "main", RequestOutcome::Ok), Duration::from_millis(30));
/// let log = recorder.finish().interval_log;
/// let by_op = interval_log::per_second_by(&log, |key| Some(key.op.clone())).unwrap();
/// assert_eq!(by_op.len(), 2);
/// assert_eq!(by_op["get"][0].as_ref().unwrap().histogram.len(), 2);
/// ```
///
/// # Errors
/// As [`per_second`].
pub fn per_second_by<G: Ord>(
    text: &str,
    group: impl Fn(&Key) -> Option<G>,
) -> Result<BTreeMap<G, Vec<Option<Second>>>, Error> {
    let mut out: BTreeMap<G, Vec<Option<Second>>> = BTreeMap::new();
    for (key, interval) in keyed(text)? {
        let Some(g) = group(&key) else { continue };
        let series = out.entry(g).or_default();
        let slot = usize::try_from(interval.start.as_secs()).unwrap_or(usize::MAX);
        if series.len() <= slot {
            series.resize_with(slot + 1, || None);
        }
        let second = series[slot].get_or_insert_with(|| Second {
            histogram: crate::measure::new_histogram(),
            duration: Duration::ZERO,
        });
        second
            .histogram
            .add(&interval.histogram)
            .map_err(|e| Error::IntervalLogRead {
                offset: 0,
                reason: format!("merge: {e:?}"),
            })?;
        second.duration = second.duration.max(interval.duration);
    }
    Ok(out)
}
