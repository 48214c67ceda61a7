//! Defect twin `busy-poll`: background pollers with a zero interval.
//!
//! The bug it models is the classic idle server at 100 % CPU: a poll loop
//! whose interval was meant to be a few seconds but reads as zero, written
//! as `loop { check(); yield_now().await }`. Here each cache shard gets a
//! poller that checks whether any entry is due for revalidation and yields
//! at once, forever. Requests are still served (yielding lets the runtime
//! poll sockets), so latency barely moves; what shows is the CPU figure.

use tokio::task::JoinHandle;

use super::AppState;

/// One poller per cache shard, as a sharded cache would run them; more
/// pollers than runtime workers keeps every worker busy.
const POLLERS: usize = 16;

/// The running pollers; dropping this stops them.
pub(super) struct BusyPollers(Vec<JoinHandle<()>>);

impl Drop for BusyPollers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts the pollers on the current runtime.
pub(super) fn start(state: &AppState) -> BusyPollers {
    tracing::warn!(
        pollers = POLLERS,
        "defect twin busy-poll: revalidation pollers run with no interval"
    );
    BusyPollers(
        (0..POLLERS)
            .map(|_| {
                let state = state.clone();
                tokio::spawn(async move {
                    loop {
                        // "Anything due?" — never, and asked again at once.
                        std::hint::black_box(state.loader.cache().len());
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect(),
    )
}
