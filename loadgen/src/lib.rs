//! Drives HTTP load in a closed model (fixed users, via Goose) or an open
//! model (fixed arrival rate) and records latency in HdrHistograms.
//!
//! Main types: [`OpenModel`] with its [`ArrivalSchedule`] and
//! [`RequestSource`]; [`ClosedModel`] with its [`Journey`]s; both bounded by a
//! [`StopCondition`] and recording into a [`Recorder`] keyed by
//! (op, phase, [`RequestOutcome`]). A run returns a [`RunOutput`]: per-key
//! [`Summary`]s, a standard HdrHistogram interval log, a per-second time
//! series, [`SelfCheck`] figures with a [`Validity`], and the target's own
//! `/metrics` [`Sample`]s.
//!
//! The open model times every request from its *intended* send time, as
//! wrk2 does, so a stalled target shows up in the latencies instead of
//! silently slowing the generator down (coordinated omission).
//!
//! ```no_run
//! # async fn demo() -> Result<(), somon_loadgen::Error> {
//! use std::time::Duration;
//! use somon_loadgen::{ArrivalSchedule, OpenModel, Request, StopCondition};
//!
//! let schedule = ArrivalSchedule::constant(200.0, Duration::from_secs(10))?;
//! let stop = StopCondition::new(Duration::from_secs(12), 5_000)?;
//! let run = OpenModel::new("http://127.0.0.1:8080", schedule, stop)
//!     .run(Request::get("load", "/modules/load?path=main.som"))
//!     .await?;
//! let all = run.overall();
//! println!("{} requests, p99 {:?}, {:?}", all.count, all.p99, run.validity);
//! # Ok(()) }
//! ```

pub use base_url::BaseUrl;
pub use closed::{ClosedModel, Users};
pub use control::RunControl;
pub use error::Error;
pub use interval_log::{Interval, IntervalLogWriter};
pub use journeys::{Journey, JourneySource, Workload};
pub use measure::{
    new_histogram, ErrorCounts, InFlight, IntervalPoint, Key, KeySummary, Measurement, Recorder,
    RequestOutcome, MAX_LATENCY_MICROS, SIGNIFICANT_DIGITS,
};
pub use observe::observe;
pub use open::OpenModel;
pub use request::{percent_encode, Header, Method, Request, RequestSource};
pub use run::{Model, RunOutput, StopCondition};
pub use sampler::{PollFailure, Sample, Sampler, DEFAULT_ENDPOINTS};
pub use schedule::{ArrivalSchedule, Pacer, Step};
pub use self_check::{SelfCheck, Validity, ValidityLimits};
pub use summary::Summary;

mod base_url;
mod client;
mod closed;
mod control;
mod dispatch;
mod error;
pub mod interval_log;
mod journeys;
mod measure;
mod observe;
mod open;
mod request;
mod run;
mod sampler;
mod schedule;
mod self_check;
mod summary;
