//! Per-request cost of the open-model engine against a trivial local
//! endpoint (axum "hello" on 127.0.0.1:0, same process), plus its parts.
//!
//! `cpu_per_request`: runs of 10 000 requests at 20 000/s; the time
//! reported is process CPU (generator + in-process target), so the
//! throughput line is requests per CPU-second.
//!
//! Run: `cargo bench -p somon-benches --bench loadgen`.

use std::hint::black_box;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use somon_loadgen::{
    ArrivalSchedule, Key, OpenModel, Recorder, Request, RequestOutcome, StopCondition,
};

fn hello_target(runtime: &tokio::runtime::Runtime) -> String {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/hello", get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    })
}

/// CPU time of this process so far (user + system), from sysinfo.
fn process_cpu() -> Duration {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
    let pid = sysinfo::get_current_pid().unwrap();
    let mut system = System::new().unwrap();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_cpu(),
    );
    Duration::from_millis(system.process(pid).unwrap().accumulated_cpu_time())
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

    // One iteration = one run of BATCH requests at a rate the box sustains
    // (every request due at once would open BATCH connections and overflow
    // the listen backlog). The time reported is the process's CPU time
    // (generator + the in-process target), so the throughput line is
    // requests per CPU-second and its inverse the CPU cost of one request.
    const BATCH: u64 = 10_000;
    const RATE: f64 = 20_000.0;
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("cpu_per_request", |b| {
        b.iter_custom(|iters| {
            let mut cpu = Duration::ZERO;
            for _ in 0..iters {
                let schedule = ArrivalSchedule::constant(RATE, Duration::from_secs(1)).unwrap();
                let stop = StopCondition::new(Duration::from_secs(60), BATCH).unwrap();
                let model = OpenModel::new(&base, schedule, stop);
                let before = process_cpu();
                let run = runtime
                    .block_on(model.run(Request::get("hello", "/hello")))
                    .unwrap();
                cpu += process_cpu().saturating_sub(before);
                assert_eq!(run.errors.total(), 0);
            }
            cpu
        })
    });
    group.throughput(Throughput::Elements(1));

    let recorder = Recorder::new();
    let key = Key::new("hello", "main", RequestOutcome::Ok);
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
