//! Stopping a run early and watching it while it runs.

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::measure::{IntervalPoint, Recorder};

/// Lets the caller cut a run short (Ctrl-C, an abort condition) and see
/// each one-second interval as it closes. Cancelling stops new requests;
/// those in flight finish, and the run returns its partial record as
/// usual. Cheap to clone; clones share the cancellation.
///
/// ```
/// use somon_loadgen::RunControl;
///
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
/// let control = RunControl::new().with_live(tx);
/// assert!(!control.is_cancelled());
/// control.cancel();
/// assert!(control.is_cancelled());
/// # drop(rx.try_recv());
/// ```
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    cancel: CancellationToken,
    live: Option<UnboundedSender<IntervalPoint>>,
}

impl RunControl {
    /// A control that is not cancelled and reports nothing live.
    pub fn new() -> RunControl {
        RunControl::default()
    }

    /// Also sends every closed interval to `live`.
    pub fn with_live(mut self, live: UnboundedSender<IntervalPoint>) -> RunControl {
        self.live = Some(live);
        self
    }

    /// Stops the run: no request is started after this.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Connects the live channel to a run's recorder.
    pub(crate) fn attach(&self, recorder: &Recorder) {
        if let Some(live) = &self.live {
            recorder.set_live(live.clone());
        }
    }
}
