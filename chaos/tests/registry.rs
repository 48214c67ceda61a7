//! Registry faults at the HTTP level: the fake registry's faults as
//! a client sees them, the measured latency distribution, and seeded
//! reproducibility of per-request decisions.

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use somon_chaos::{
    sha256_hex, ErrorStatus, FakeRegistry, Jitter, Package, RegistryConfig, RegistryFaults,
    RegistryReply,
};
use util::{chain, quantile};

async fn registry(seed: u64) -> FakeRegistry {
    FakeRegistry::start(RegistryConfig::new(
        Package::named(&["lodash", "dayjs"]),
        seed,
    ))
    .await
    .unwrap()
}

/// Distribution tests measure time on a shared 2-core box: one at a time.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `total` GETs of `/modules/lodash` with `in_flight` concurrent workers,
/// after `faults` are set on warmed-up connections; returns each request's
/// latency (send to end of body), sorted.
async fn measure(
    registry: &FakeRegistry,
    seed: u64,
    faults: RegistryFaults,
    total: usize,
    in_flight: usize,
) -> Vec<Duration> {
    let _one_at_a_time = MEASURING.lock().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = Arc::new(format!("{}/modules/lodash", registry.uri()));
    // Open the connections first so connection set-up is not measured.
    let mut warm = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, url) = (client.clone(), url.clone());
        warm.spawn(async move {
            client
                .get(url.as_str())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
    }
    warm.join_all().await;
    // Forget the warm-up decisions; start the measured sequence from `seed`.
    registry.control().reseed(seed);
    registry.control().set(faults);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (client, url) = (client.clone(), url.clone());
        workers.spawn(async move {
            let mut out = Vec::new();
            for _ in 0..total / in_flight {
                let started = Instant::now();
                let reply = client.get(url.as_str()).send().await.unwrap();
                assert_eq!(reply.status(), 200);
                reply.bytes().await.unwrap();
                out.push(started.elapsed());
            }
            out
        });
    }
    let mut all: Vec<Duration> = workers.join_all().await.into_iter().flatten().collect();
    all.sort();
    all
}

fn within(measured: Duration, expected: Duration, tolerance: f64) -> bool {
    let (m, e) = (measured.as_secs_f64(), expected.as_secs_f64());
    (m - e).abs() <= e * tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniform_jitter_matches_at_p50_and_p99() {
    let registry = registry(11).await;
    let faults = RegistryFaults {
        latency: Duration::from_millis(300),
        jitter: Jitter::Uniform {
            plus_minus: Duration::from_millis(100),
        },
        ..Default::default()
    };
    let samples = measure(&registry, 11, faults, 2000, 200).await;
    assert_eq!(samples.len(), 2000);
    // Uniform on [200, 400] ms: p50 = 300 ms, p99 = 200 + 0.99 × 200 = 398 ms.
    // Delays of a few hundred ms keep the harness's own few-ms overhead
    // (2 shared cores, debug build, 200 in flight) well inside 5 %.
    let (p50, p99) = (quantile(&samples, 0.5), quantile(&samples, 0.99));
    eprintln!("uniform: p50 {p50:?} (want 300 ms), p99 {p99:?} (want 398 ms)");
    assert!(within(p50, Duration::from_millis(300), 0.05), "p50 {p50:?}");
    assert!(within(p99, Duration::from_millis(398), 0.05), "p99 {p99:?}");
    assert_eq!(registry.control().decisions().len(), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_tail_jitter_matches_at_p50_and_p99() {
    let registry = registry(12).await;
    // 100 ms fixed + log-normal (p50 200 ms, p99 400 ms): p50 300, p99 500.
    let faults = RegistryFaults {
        latency: Duration::from_millis(100),
        jitter: Jitter::LogNormal {
            p50: Duration::from_millis(200),
            p99: Duration::from_millis(400),
        },
        ..Default::default()
    };
    let samples = measure(&registry, 12, faults, 4000, 400).await;
    let (p50, p99) = (quantile(&samples, 0.5), quantile(&samples, 0.99));
    let mut decided: Vec<Duration> = registry
        .control()
        .decisions()
        .iter()
        .map(|d| d.delay)
        .collect();
    decided.sort();
    eprintln!(
        "long tail: client p50 {p50:?} p99 {p99:?}; decided p50 {:?} p99 {:?}; want 300 ms / 500 ms",
        quantile(&decided, 0.5),
        quantile(&decided, 0.99)
    );
    assert!(within(p50, Duration::from_millis(300), 0.05), "p50 {p50:?}");
    assert!(within(p99, Duration::from_millis(500), 0.05), "p99 {p99:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_have_correct_hashes_and_unknown_names_are_404() {
    let registry = registry(1).await;
    let client = reqwest::Client::new();
    let body: Value = client
        .get(format!("{}/modules/dayjs", registry.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["name"], "dayjs");
    assert!(body["version"].is_string());
    let source = body["source"].as_str().unwrap();
    assert!(source.contains("module.exports"));
    assert_eq!(body["sha256"], sha256_hex(source.as_bytes()));
    let missing = client
        .get(format!("{}/modules/nope", registry.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_hang_malformed_and_wrong_hash_as_a_client_sees_them() {
    let registry = registry(1).await;
    let control = registry.control();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}/modules/lodash", registry.uri());

    control.set(RegistryFaults {
        error: Some(ErrorStatus {
            status: 503,
            probability: 1.0,
        }),
        ..Default::default()
    });
    assert_eq!(client.get(&url).send().await.unwrap().status(), 503);

    control.set(RegistryFaults {
        hang_probability: 1.0,
        ..Default::default()
    });
    let started = Instant::now();
    let error = client.get(&url).send().await.expect_err("hangs");
    assert!(error.is_timeout(), "{:#?}", chain(&error));
    assert!(started.elapsed() < Duration::from_secs(2));

    control.set(RegistryFaults {
        malformed_probability: 1.0,
        ..Default::default()
    });
    let reply = client.get(&url).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let error = reply.json::<Value>().await.expect_err("malformed JSON");
    assert!(error.is_decode(), "{:#?}", chain(&error));

    control.set(RegistryFaults {
        wrong_hash_probability: 1.0,
        ..Default::default()
    });
    let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_ne!(
        body["sha256"],
        sha256_hex(body["source"].as_str().unwrap().as_bytes())
    );

    control.clear();
    let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        body["sha256"],
        sha256_hex(body["source"].as_str().unwrap().as_bytes())
    );
    let kinds: Vec<RegistryReply> = control.decisions().iter().map(|d| d.outcome).collect();
    assert_eq!(
        kinds,
        [
            RegistryReply::Status { status: 503 },
            RegistryReply::Hang,
            RegistryReply::Malformed,
            RegistryReply::WrongHash,
            RegistryReply::Ok
        ]
    );
}

/// What a client observed for one request, coarse enough to compare runs.
#[derive(Debug, PartialEq)]
enum Seen {
    Status(u16),
    Malformed,
    WrongHash,
    Good,
}

async fn observe(seed: u64) -> (Vec<Seen>, Vec<somon_chaos::Decision>) {
    let registry = registry(seed).await;
    registry.control().set(RegistryFaults {
        jitter: Jitter::Uniform {
            plus_minus: Duration::from_millis(2),
        },
        error: Some(ErrorStatus {
            status: 503,
            probability: 0.2,
        }),
        malformed_probability: 0.1,
        wrong_hash_probability: 0.1,
        ..Default::default()
    });
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for i in 0..200 {
        let name = if i % 2 == 0 { "lodash" } else { "dayjs" };
        let reply = client
            .get(format!("{}/modules/{name}", registry.uri()))
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap();
        seen.push(match (status, serde_json::from_str::<Value>(&text)) {
            (200, Err(_)) => Seen::Malformed,
            (200, Ok(v)) if v["sha256"] != sha256_hex(v["source"].as_str().unwrap().as_bytes()) => {
                Seen::WrongHash
            }
            (200, Ok(_)) => Seen::Good,
            (other, _) => Seen::Status(other),
        });
    }
    (seen, registry.control().decisions())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_reproduces_the_same_decisions() {
    let (seen_a, decided_a) = observe(2024).await;
    let (seen_b, decided_b) = observe(2024).await;
    let (seen_c, decided_c) = observe(2025).await;
    assert_eq!(decided_a.len(), 200);
    assert_eq!(
        decided_a, decided_b,
        "same seed, same decisions (delays included)"
    );
    assert_eq!(seen_a, seen_b, "same seed, same client-visible outcomes");
    assert_ne!(decided_a, decided_c, "another seed decides differently");
    assert_ne!(seen_a, seen_c);
    // Every kind occurred, and the client saw what was decided.
    for (seen, decision) in seen_a.iter().zip(&decided_a) {
        let expected = match decision.outcome {
            RegistryReply::Status { status } => Seen::Status(status),
            RegistryReply::Malformed => Seen::Malformed,
            RegistryReply::WrongHash => Seen::WrongHash,
            RegistryReply::Ok => Seen::Good,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(*seen, expected, "request {}", decision.seq);
    }
    for kind in [
        Seen::Status(503),
        Seen::Malformed,
        Seen::WrongHash,
        Seen::Good,
    ] {
        assert!(seen_a.contains(&kind), "{kind:?} never happened");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recycling_keeps_serving_and_counting() {
    let registry = registry(3).await;
    let client = reqwest::Client::new();
    let url = format!("{}/modules/lodash", registry.uri());
    for _ in 0..5 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    assert_eq!(registry.retained_requests().await, 5);
    registry.recycle().await;
    assert_eq!(registry.retained_requests().await, 0);
    for _ in 0..5 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    assert_eq!(registry.control().requests(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recycler_bounds_retained_requests_by_itself() {
    let mut config = RegistryConfig::new(Package::named(&["lodash"]), 4);
    config.recycle_after = 10;
    let registry = FakeRegistry::start(config).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/modules/lodash", registry.uri());
    for _ in 0..25 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    // The recycler checks once per RECYCLE_CHECK_INTERVAL (1 s); allow three.
    let deadline = Instant::now() + 3 * somon_chaos::RECYCLE_CHECK_INTERVAL;
    while registry.retained_requests().await > 0 {
        assert!(Instant::now() < deadline, "never recycled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(registry.control().requests(), 25);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
}
