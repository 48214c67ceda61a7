//! Side by side on a trivial endpoint: `wrk` (if installed) and the open
//! model at a high constant rate, for the same time; prints both requests/s
//! and their ratio.
//!
//! ```text
//! apt-get install wrk     # Debian's package
//! cargo run --release -p somon-loadgen --example wrk_compare -- [SECONDS] [RATE_PER_SEC] [MAX_IN_FLIGHT]
//! ```
//!
//! `MAX_IN_FLIGHT` defaults to 64, the same concurrency bound as
//! `wrk -c64`.

use std::process::Command;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use somon_loadgen::{ArrivalSchedule, OpenModel, Request, StopCondition};

/// Starts the "hello" target on its own 1-worker runtime thread and returns
/// its base URL.
fn start_target() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hello-target")
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = Router::new().route("/hello", get(|| async { "hello" }));
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// Runs `wrk` and returns its requests/s, or `None` when it is missing.
fn run_wrk(base: &str, seconds: u64) -> Option<f64> {
    let output = Command::new("wrk")
        .args([
            "-t1",
            "-c64",
            &format!("-d{seconds}s"),
            &format!("{base}/hello"),
        ])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        _ => {
            println!("wrk is not installed: `apt-get install wrk` (Debian), then run again");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    println!("--- wrk ---\n{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rate: f64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150_000.0);
    let max_in_flight: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let base = start_target();

    let wrk = run_wrk(&base, seconds);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("generator")
        .enable_all()
        .build()
        .unwrap();
    let schedule = ArrivalSchedule::constant(rate, Duration::from_secs(seconds)).unwrap();
    let stop = StopCondition::new(Duration::from_secs(seconds), u64::MAX).unwrap();
    let mut model = OpenModel::new(&base, schedule, stop);
    model.max_in_flight = max_in_flight;
    let run = runtime
        .block_on(model.run(Request::get("hello", "/hello")))
        .unwrap();
    let ours = run.requests as f64 / run.elapsed.as_secs_f64();
    let all = run.overall();
    println!(
        "--- somon-loadgen open model at {rate:.0}/s for {seconds} s, at most {max_in_flight} in flight ---\n\
         completed {} in {:?} = {ours:.0} req/s; dropped at the cap {}; errors {}; \
         p50 {:?} p99 {:?} (from intended send times); send lag p50 {:?} p99 {:?}; {:?}",
        run.requests,
        run.elapsed,
        run.self_check.dropped,
        run.errors.total(),
        all.p50,
        all.p99,
        run.self_check.send_lag.p50,
        run.self_check.send_lag.p99,
        run.validity
    );
    match wrk {
        Some(wrk) => println!(
            "wrk {wrk:.0} req/s, open model {ours:.0} req/s, ratio {:.2} (aim ≥ 0.7)",
            ours / wrk
        ),
        None => println!("open model {ours:.0} req/s (no wrk to compare with)"),
    }
}
