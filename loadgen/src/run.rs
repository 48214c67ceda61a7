//! What every run shares: its stop condition and its output record.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::measure::{ErrorCounts, IntervalPoint, KeySummary, Measurement};
use crate::sampler::Sample;
use crate::self_check::{SelfCheck, Validity};
use crate::Error;

/// When a run stops: after `max_duration` or `max_requests` requests
/// (sent or dropped), whichever comes first. Every run has both bounds.
///
/// ```
/// use std::time::Duration;
/// use somon_loadgen::StopCondition;
///
/// let stop = StopCondition::new(Duration::from_secs(10), 5_000).unwrap();
/// assert_eq!(stop.max_requests, 5_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCondition {
    /// Longest run.
    pub max_duration: Duration,
    /// Most requests.
    pub max_requests: u64,
}

impl StopCondition {
    /// Both bounds.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] when either is zero.
    pub fn new(max_duration: Duration, max_requests: u64) -> Result<StopCondition, Error> {
        if max_duration.is_zero() {
            return Err(Error::InvalidSetting {
                setting: "max_duration",
                reason: "must be positive".into(),
            });
        }
        if max_requests == 0 {
            return Err(Error::InvalidSetting {
                setting: "max_requests",
                reason: "must be positive".into(),
            });
        }
        Ok(StopCondition {
            max_duration,
            max_requests,
        })
    }
}

/// Which load model produced a [`RunOutput`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Fixed arrival rate.
    Open,
    /// Fixed users (Goose).
    Closed,
    /// No load: the target is only watched (recovery waits, steady state).
    Idle,
}

/// The record of one run: per-key summaries, the interval log, the time
/// series, the self-checks and the target's own view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunOutput {
    /// The model.
    pub model: Model,
    /// Phase name every key of this run carries.
    pub phase: String,
    /// Run clock at the end.
    pub elapsed: Duration,
    /// Requests completed (any outcome).
    pub requests: u64,
    /// Errors by kind.
    pub errors: ErrorCounts,
    /// Figures per (op, phase, outcome).
    pub summaries: Vec<KeySummary>,
    /// Standard HdrHistogram interval log (V2 + deflate, µs), one line per
    /// key and second.
    pub interval_log: String,
    /// Per-second requests, errors, in-flight, dropped.
    pub series: Vec<IntervalPoint>,
    /// Achieved rate, send lag, generator CPU.
    pub self_check: SelfCheck,
    /// Whether the generator kept up.
    pub validity: Validity,
    /// The target's `/metrics` and `/circuit-breakers/status` over the run.
    pub samples: Vec<Sample>,
    /// Whole-run histograms, for further queries (not serialised: the
    /// interval log holds the same data).
    #[serde(skip)]
    pub measurement: Measurement,
}

impl RunOutput {
    /// Assembles the output of a finished run from its measurement.
    pub(crate) fn finish(
        model: Model,
        phase: String,
        measurement: Measurement,
        self_check: SelfCheck,
        validity: Validity,
        samples: Vec<Sample>,
    ) -> RunOutput {
        RunOutput {
            model,
            phase,
            elapsed: measurement.elapsed,
            requests: measurement.requests(),
            errors: measurement.errors(),
            summaries: measurement.summaries(),
            interval_log: measurement.interval_log.clone(),
            series: measurement.series.clone(),
            self_check,
            validity,
            samples,
            measurement,
        }
    }

    /// Summary over every key passing `keep` (e.g. one op, all outcomes).
    pub fn summary_where(&self, keep: impl Fn(&crate::Key) -> bool) -> crate::Summary {
        crate::Summary::of(&self.measurement.merged(keep), self.elapsed)
    }

    /// Summary of all requests of the run.
    pub fn overall(&self) -> crate::Summary {
        self.summary_where(|_| true)
    }

    /// Errors ÷ requests, in `[0, 1]`.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors.total() as f64 / self.requests as f64
        }
    }
}
