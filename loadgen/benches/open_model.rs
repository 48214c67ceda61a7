//! Per-request cost of the open-model engine against a trivial local
//! endpoint (axum "hello" on 127.0.0.1:0, same process), plus its parts.
//!
//! `run_saturated`: N requests all due at once (rate far above capacity,
//! in-flight cap above N): wall time ÷ N is the cost of one request through
//! pacer → task → pooled client → target → recorder, on this box's cores.
//!
//! Run: `cargo bench -p somon-loadgen --bench open_model`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use somon_loadgen::{ArrivalSchedule, Key, OpenModel, Outcome, Recorder, Request, StopCondition};

fn hello_target(runtime: &tokio::runtime::Runtime) -> String {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/hello", get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    })
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = hello_target(&runtime);

    let mut group = c.benchmark_group("open_model");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.warm_up_time(Duration::from_secs(1));

    group.bench_function("run_saturated", |b| {
        b.iter_custom(|iters| {
            let n = iters.max(1);
            let schedule = ArrivalSchedule::constant(1e9, Duration::from_secs(1)).unwrap();
            let stop = StopCondition::new(Duration::from_secs(60), n).unwrap();
            let mut model = OpenModel::new(&base, schedule, stop);
            model.max_in_flight = n + 1;
            let started = Instant::now();
            let run = runtime
                .block_on(model.run(Request::get("hello", "/hello")))
                .unwrap();
            let took = started.elapsed();
            assert_eq!(run.errors.total(), 0);
            took
        })
    });

    let recorder = Recorder::new();
    let key = Key::new("hello", "main", Outcome::Ok);
    group.bench_function("recorder_record", |b| {
        b.iter(|| recorder.record(black_box(&key), black_box(Duration::from_micros(1234))))
    });

    let schedule = ArrivalSchedule::constant(100_000.0, Duration::from_secs(3600)).unwrap();
    let mut pacer = schedule.pacer();
    group.bench_function("pacer_next", |b| b.iter(|| black_box(pacer.next())));
    group.finish();
}

criterion_group!(open_model, benches);
criterion_main!(open_model);
