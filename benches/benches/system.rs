//! The reference system's hot paths, in process: cache hit, resolve,
//! compile per KB, bundle per KB, breaker call, metrics record, and the
//! whole cached-load request through the router (no socket).
//!
//! Run: `cargo bench -p somon-benches --bench system` (add `-- --quick`
//! for a fast pass).

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use somon_system::server::{router, AppState};
use somon_system::{
    bundle, compile, generate, Breaker, BreakerSettings, BundleOptions, CacheLimits, CallOutcome,
    Config, Corpus, CorpusSpec, GraphOptions, Loader, Metrics, ModuleCache, ModuleGraph,
    ModuleKind, Op, OpOutcome, Resolver, ResolverConfig, Startup, Validation,
};
use tower::ServiceExt;

fn corpus(modules: usize) -> (tempfile::TempDir, Corpus) {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = generate(
        dir.path(),
        &CorpusSpec {
            modules,
            seed: 5,
            ..CorpusSpec::default()
        },
    )
    .expect("corpus");
    (dir, corpus)
}

fn loader(root: &std::path::Path) -> Loader {
    let resolver = Resolver::new(root, ResolverConfig::default()).expect("resolver");
    let cache = ModuleCache::new(
        resolver.root().to_path_buf(),
        CacheLimits::default(),
        Validation::Stat,
    );
    Loader::new(resolver, cache)
}

fn module_paths(c: &mut Criterion) {
    let (dir, corpus) = corpus(200);
    let loader = loader(dir.path());
    let entry = corpus.entries[0].as_str();
    loader.load(entry, Instant::now()).expect("load");
    let mut group = c.benchmark_group("system");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cache_hit", |b| {
        b.iter(|| {
            let hit = loader.load_if_cached(black_box(entry), Instant::now());
            assert!(hit.is_some_and(|l| l.cached));
        })
    });
    let resolver = Resolver::new(dir.path(), ResolverConfig::default()).expect("resolver");
    // Extension probing included: the specifier has no `.som`.
    let bare = entry.trim_end_matches(".som").to_owned();
    group.bench_function("resolve", |b| {
        b.iter(|| resolver.resolve(black_box(&bare), None).expect("resolve"))
    });

    let largest = corpus
        .modules
        .iter()
        .max_by_key(|m| m.bytes)
        .expect("modules");
    let source = std::fs::read_to_string(dir.path().join(largest.id.as_str())).expect("source");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_function("compile_per_kb", |b| {
        b.iter(|| compile(ModuleKind::Som, black_box(&source)).expect("compile"))
    });

    let graph = ModuleGraph::build(&loader, entry, &GraphOptions::default(), Instant::now())
        .expect("graph");
    let source_bytes: u64 = graph.modules.iter().map(|m| m.source_bytes).sum();
    group.throughput(Throughput::Bytes(source_bytes));
    group.bench_function("bundle_per_kb_warm", |b| {
        b.iter(|| {
            let graph =
                ModuleGraph::build(&loader, entry, &GraphOptions::default(), Instant::now())
                    .expect("graph");
            bundle(&graph, &BundleOptions::default())
        })
    });
    group.finish();
}

fn breaker_and_metrics(c: &mut Criterion) {
    let mut group = c.benchmark_group("system");
    group.throughput(Throughput::Elements(1));
    let breaker = Breaker::new("lodash", BreakerSettings::default(), Instant::now());
    group.bench_function("breaker_call", |b| {
        b.iter(|| {
            let now = Instant::now();
            let permit = breaker.try_acquire(now).expect("closed");
            breaker.record(permit, CallOutcome::Success, now);
        })
    });
    let metrics = Metrics::new(Instant::now());
    group.bench_function("metrics_record", |b| {
        b.iter(|| {
            metrics.record(
                Op::Load,
                OpOutcome::Ok,
                black_box(Duration::from_micros(420)),
                Instant::now(),
            )
        })
    });
    group.finish();
}

/// The cached-load request path: router → handler → cache hit (shard read
/// lock + stat) → JSON response. No socket, so this is the server's own
/// cost per request.
fn cached_load_request(c: &mut Criterion) {
    let (dir, corpus) = corpus(100);
    let startup = Startup {
        host: [127, 0, 0, 1].into(),
        port: 0,
        module_root: dir.path().to_path_buf(),
        admin_token: None,
        config: Config::default(),
    };
    let state = AppState::new(&startup, None).expect("state");
    state.set_warmed();
    let app = router(state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let uri = format!("/modules/load?path={}", corpus.entries[0]);
    let request = || Request::get(&uri).body(Body::empty()).expect("request");
    // Fill the cache so every measured request is a hit.
    let first = runtime
        .block_on(app.clone().oneshot(request()))
        .expect("first");
    assert_eq!(first.status(), 200);

    let mut group = c.benchmark_group("server");
    group.throughput(Throughput::Elements(1));
    // The reference of P1: a bare axum route answering "hello".
    let hello = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    group.bench_function("hello_request", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(
                    hello
                        .clone()
                        .oneshot(Request::get("/hello").body(Body::empty()).expect("request")),
                )
                .expect("response");
            runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        })
    });
    group.bench_function("cached_load_request", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(app.clone().oneshot(request()))
                .expect("response");
            assert_eq!(response.status(), 200);
            runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = module_paths, breaker_and_metrics, cached_load_request
}
criterion_main!(benches);
