//! The cached-load request path, in process: router → handler → cache hit
//! (shard read lock + stat) → JSON response. No socket, so this is the
//! server's own cost per request.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use somon_system::server::{router, AppState};
use somon_system::{generate, Config, CorpusSpec, Startup};
use tower::ServiceExt;

fn cached_load(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    let corpus = generate(
        root.path(),
        &CorpusSpec {
            modules: 100,
            seed: 5,
            ..CorpusSpec::default()
        },
    )
    .unwrap();
    let startup = Startup {
        host: "127.0.0.1".parse().unwrap(),
        port: 0,
        module_root: root.path().to_path_buf(),
        admin_token: None,
        config: Config::default(),
    };
    let state = AppState::new(&startup, None).unwrap();
    state.set_warmed();
    let app = router(state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let uri = format!("/modules/load?path={}", corpus.entries[0]);
    let request = || Request::get(&uri).body(Body::empty()).unwrap();
    // Fill the cache so every measured request is a hit.
    let first = runtime.block_on(app.clone().oneshot(request())).unwrap();
    assert_eq!(first.status(), 200);

    let mut group = c.benchmark_group("server");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("cached_load_request", |b| {
        b.iter(|| {
            let response = runtime.block_on(app.clone().oneshot(request())).unwrap();
            assert_eq!(response.status(), 200);
            runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        })
    });
    group.finish();
}

criterion_group!(benches, cached_load);
criterion_main!(benches);
