//! The one error type of the crate.

use std::time::Duration;

/// Everything that can go wrong while configuring or running load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An [`ArrivalSchedule`](crate::ArrivalSchedule) has no steps, a negative
    /// or non-finite rate, or never sends a request. Fix the schedule's steps.
    #[error("invalid arrival schedule: {reason}")]
    InvalidSchedule {
        /// What is wrong with it.
        reason: String,
    },
    /// A run setting is out of range (zero users, a zero in-flight cap, a
    /// request ceiling of zero, a bad base URL, …). The message names it.
    #[error("invalid load setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A histogram could not be created (bounds) — a bug in this crate's
    /// fixed bounds if it ever happens.
    #[error("histogram: {source}")]
    Histogram {
        /// The error from `hdrhistogram`.
        #[source]
        source: hdrhistogram::CreationError,
    },
    /// An interval log could not be written (serialization failed).
    #[error("writing the interval log: {reason}")]
    IntervalLogWrite {
        /// The writer's message.
        reason: String,
    },
    /// An interval log could not be parsed or one of its histograms could
    /// not be decoded: the text is not a V2 HdrHistogram interval log.
    #[error("reading the interval log at byte {offset}: {reason}")]
    IntervalLogRead {
        /// Byte offset of the offending line (0 when unknown).
        offset: usize,
        /// What failed.
        reason: String,
    },
    /// An interval-log tag is not a [`Key`](crate::Key) tag
    /// (`op/phase/outcome` with a known outcome): the log was not written
    /// by this crate's recorder, or its tags were rewritten.
    #[error("interval log tag `{tag}` is not op/phase/outcome")]
    KeyTag {
        /// The tag as read.
        tag: String,
    },
    /// The Goose closed model refused its configuration or failed while
    /// running. The message comes from Goose.
    #[error("goose: {source}")]
    Goose {
        /// Goose's error.
        #[source]
        source: Box<goose::GooseError>,
    },
    /// A run did not drain its in-flight requests within the grace period
    /// after its stop condition (the target hangs). The partial record is lost.
    #[error("{in_flight} requests still in flight {waited:?} after the run stopped")]
    DrainTimeout {
        /// Requests still outstanding.
        in_flight: u64,
        /// How long the run waited.
        waited: Duration,
    },
    /// The open model's pacer thread could not be started or panicked.
    #[error("pacer thread: {reason}")]
    Pacer {
        /// What happened.
        reason: String,
    },
}

impl From<goose::GooseError> for Error {
    fn from(source: goose::GooseError) -> Error {
        Error::Goose {
            source: Box::new(source),
        }
    }
}
