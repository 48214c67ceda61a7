//! Shared helpers: a loopback axum target answering after a fixed delay,
//! with an optional stall window (a gate in the handler).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::Router;

/// A stall: requests arriving in `[from, until)` wait until `until`.
#[derive(Default)]
pub struct Gate {
    window: Mutex<Option<(Instant, Instant)>>,
}

impl Gate {
    /// Stalls the target from `from` for `length`.
    pub fn stall(&self, from: Instant, length: Duration) {
        *self.window.lock().unwrap() = Some((from, from + length));
    }

    async fn pass(&self) {
        let window = *self.window.lock().unwrap();
        if let Some((from, until)) = window {
            let now = Instant::now();
            if now >= from && now < until {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
            }
        }
    }
}

struct Target {
    delay: Duration,
    gate: Arc<Gate>,
}

/// A running loopback target.
pub struct Slow {
    /// The listening address.
    pub addr: SocketAddr,
    /// Its stall gate.
    pub gate: Arc<Gate>,
}

impl Slow {
    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Starts a target on 127.0.0.1:0 whose `/` answers "ok" after `delay`
/// (a precise thread sleep on the blocking pool)
/// (and `/hello` at once); it lives as long as the test process.
pub fn slow_target(delay: Duration) -> Slow {
    let gate = Arc::new(Gate::default());
    let state = Arc::new(Target {
        delay,
        gate: gate.clone(),
    });
    let app = Router::new()
        .route(
            "/",
            get(|State(t): State<Arc<Target>>| async move {
                t.gate.pass().await;
                // Tokio's timer has 1 ms ticks and rounds up (a 20 ms
                // `tokio::time::sleep` takes ~21.5 ms); a thread sleep is
                // precise to ~0.1 ms, so the known answer stays known.
                let delay = t.delay;
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
                "ok"
            }),
        )
        .route("/hello", get(|| async { "hello" }))
        .with_state(state);
    // The target gets its own runtime thread, so its timers and I/O do not
    // queue behind the generator's tasks.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    Slow { addr, gate }
}
