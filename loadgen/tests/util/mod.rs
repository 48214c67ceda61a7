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

/// A platform-stall meter in the manner of jHiccup: a plain thread asks
/// to sleep 1 ms over and over and keeps the worst oversleep. A shared VM
/// that stops the process (steal time, a neighbour's burst) shows up here
/// independently of the generator and the target, which tells a measuring
/// error apart from a machine that really stalled.
pub struct Hiccups {
    worst_us: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hiccups {
    /// Starts metering.
    pub fn start() -> Self {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let worst_us = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (worst_us, stop) = (worst_us.clone(), stop.clone());
            std::thread::spawn(move || {
                let tick = Duration::from_millis(1);
                while !stop.load(Ordering::Relaxed) {
                    let before = Instant::now();
                    // The sleep is the measuring instrument, not a wait.
                    std::thread::sleep(tick);
                    let over = before.elapsed().saturating_sub(tick);
                    worst_us.fetch_max(over.as_micros() as u64, Ordering::Relaxed);
                }
            })
        };
        Self {
            worst_us,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops metering and returns the worst stall seen.
    pub fn finish(mut self) -> Duration {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        Duration::from_micros(self.worst_us.load(Ordering::Relaxed))
    }
}
