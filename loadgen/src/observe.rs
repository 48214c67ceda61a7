//! A phase without load: the target is only sampled, so what it does on
//! its own (a breaker closing after an outage, memory settling) is still
//! on the record.

use std::time::Duration;

use tokio::sync::watch;

use crate::measure::Recorder;
use crate::run::{Model, RunOutput};
use crate::sampler::Sampler;
use crate::self_check::{SelfCheck, Validity};
use crate::RunControl;

/// Watches `base_url` for `duration` (or until `control` is cancelled),
/// polling its `/metrics` and breaker status as a loaded run would, and
/// returns a [`RunOutput`] with no requests and those samples.
///
/// ```no_run
/// # async fn demo() {
/// use std::time::Duration;
/// use somon_loadgen::{observe, RunControl};
///
/// let run = observe("http://127.0.0.1:8080", "recovery", Duration::from_secs(30), &RunControl::new()).await;
/// println!("{} samples", run.samples.len());
/// # }
/// ```
pub async fn observe(
    base_url: &str,
    phase: &str,
    duration: Duration,
    control: &RunControl,
) -> RunOutput {
    let recorder = Recorder::new();
    control.attach(&recorder);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ticker = recorder.spawn_ticker(stop_rx.clone());
    let sampler = Sampler::new(base_url).spawn(recorder.started(), stop_rx);
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = control.cancelled() => {}
    }
    let _ = stop_tx.send(true);
    let _ = ticker.await;
    let samples = sampler.await.unwrap_or_default();
    RunOutput::finish(
        Model::Idle,
        phase.to_owned(),
        recorder.finish(),
        SelfCheck::default(),
        Validity::Valid,
        samples,
    )
}
