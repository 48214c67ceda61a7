//! Faults that are real on the wire, replayable by seed and stamped on the
//! same clock as the load, so reports can shade them.
//!
//! - [`FakeRegistry`]: a wiremock external-module registry whose responder
//!   reads a [`RegistryFaults`] state (latency, [`Jitter`], error status,
//!   hang, malformed JSON, wrong hash) with seeded per-request decisions.
//! - [`FaultProxy`]: a TCP proxy with [`ProxyFault`]s (reset, refused,
//!   blackhole, bandwidth, truncate, slow close).
//! - [`ChildTarget`]: a spawned process to pause, kill -9 and restart, or
//!   terminate.
//! - [`Operator`]: [`OperatorAction`]s against the management API.
//! - [`Timeline`]: `(at, duration, step)` entries run on a [`RunClock`],
//!   each apply/remove an [`Event`] in the [`History`]; rollback on stop.
//!
//! ```no_run
//! # async fn demo() -> somon_chaos::Result<()> {
//! use std::time::Duration;
//! use somon_chaos::*;
//!
//! let registry = FakeRegistry::start(RegistryConfig::new(Package::named(&["lodash"]), 42)).await?;
//! let proxy = FaultProxy::start(registry.addr()).await?;
//! let run = Timeline::new()
//!     .then(Duration::from_secs(5), Some(Duration::from_secs(10)), Step::Proxy(ProxyFault::Reset))
//!     .start(
//!         RunClock::new(),
//!         Targets::default().with_registry(registry.control()).with_proxy(proxy.control()),
//!     );
//! // … point the load at `proxy.addr()` …
//! let history = run.finish().await;
//! print!("{}", history.to_jsonl());
//! # Ok(()) }
//! ```
//!
//! The library only emits `tracing` events; it never installs a subscriber.

pub use actions::{ActionReply, Operator, OperatorAction};
pub use error::{Error, Result};
pub use process::{listening_address, ChildTarget, ProcessControl, ProcessFault};
pub use proxy::{FaultProxy, ProxyControl, ProxyFault};
pub use registry::{
    sha256_hex, Decision, ErrorStatus, FakeRegistry, Jitter, Package, RegistryConfig,
    RegistryControl, RegistryFaults, RegistryReply, DECISION_LOG_CAPACITY, DEFAULT_RECYCLE_AFTER,
    HANG_DELAY, RECYCLE_CHECK_INTERVAL,
};
pub use timeline::{
    Entry, Event, EventKind, History, RunClock, Step, Targets, Timeline, TimelineRun,
    PROCESS_STEP_TIMEOUT,
};

mod actions;
mod error;
mod process;
mod proxy;
mod registry;
mod timeline;
