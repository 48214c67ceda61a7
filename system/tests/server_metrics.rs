//! After a scripted mix of hits, misses and errors
//! the counters are exact, in JSON and in the Prometheus text.

mod util;

use std::collections::HashMap;

use somon_system::Config;
use util::server::{call, get, state};
use util::Tree;

const MISSES: usize = 7;
const HITS: usize = 23;

#[tokio::test]
async fn counters_are_exact_after_a_scripted_mix() {
    let tree = Tree::new();
    for i in 0..MISSES {
        tree.write(&format!("m{i}.som"), &format!("содир собит v{i} = {i};\n"));
    }
    tree.write("bad.som", "содир собит x = \"unterminated;\n");
    let state = state(tree.root(), Config::default(), None);

    for i in 0..MISSES {
        let reply = get(&state, &format!("/modules/load?path=m{i}.som")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["cached"], false);
    }
    for i in 0..HITS {
        let reply = get(&state, &format!("/modules/load?path=m{}.som", i % MISSES)).await;
        assert_eq!(reply.body["cached"], true, "{}", reply.text);
    }
    let errors = [
        ("/modules/load?path=missing.som", 404),
        ("/modules/load?path=bad.som", 400),
        ("/modules/load?path=../../etc/passwd", 403),
        ("/modules/load?path=a%00b", 400),
        ("/modules/load", 400),
    ];
    for (uri, status) in errors {
        let reply = get(&state, uri).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.text);
        assert!(
            reply.body["error"]["code"].is_string(),
            "{uri}: {}",
            reply.text
        );
    }
    let bad_body = call(
        &state,
        axum::http::Method::POST,
        "/modules/load",
        Some(b"{\"path\": 3}"),
        &[],
    )
    .await;
    assert_eq!(bad_body.status, 400);
    let k = errors.len() + 1;

    let metrics = get(&state, "/metrics").await.body;
    let total = MISSES + HITS + k;
    assert_eq!(metrics["totalLoads"], total);
    assert_eq!(metrics["cacheHits"], HITS);
    assert_eq!(metrics["cacheMisses"], MISSES);
    assert_eq!(metrics["loadErrors"], k);
    // Each module compiled once; the failed parse of bad.som is not one.
    assert_eq!(metrics["moduleCompilations"], MISSES);
    let rate = metrics["cacheHitRate"].as_f64().unwrap();
    assert!(
        (rate - HITS as f64 / (HITS + MISSES) as f64).abs() < 1e-12,
        "{rate}"
    );
    let error_rate = metrics["errorRate"].as_f64().unwrap();
    assert!((error_rate - k as f64 / total as f64).abs() < 1e-12);
    assert_eq!(metrics["loadLatency"]["count"], total);

    let stats = get(&state, "/cache/stats").await.body;
    assert_eq!(stats["hits"], HITS);
    assert_eq!(stats["misses"], MISSES);
    assert_eq!(stats["hitRate"], metrics["cacheHitRate"]);

    // The same numbers in the Prometheus text, read by a Prometheus parser.
    let text = get(&state, "/metrics/prometheus").await.text;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let mut values: HashMap<String, f64> = HashMap::new();
    for sample in &scrape.samples {
        if let prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) =
            sample.value
        {
            values.insert(sample.metric.clone(), v);
        }
    }
    assert_eq!(values["somon_loads_total"], total as f64);
    assert_eq!(values["somon_cache_hits_total"], HITS as f64);
    assert_eq!(values["somon_cache_misses_total"], MISSES as f64);
    assert_eq!(values["somon_load_errors_total"], k as f64);
    assert_eq!(values["somon_module_compilations_total"], MISSES as f64);
    assert!((values["somon_cache_hit_rate"] - rate).abs() < 1e-9);
    assert!((values["somon_load_errors_rate"] - error_rate).abs() < 1e-9);
    for gauge in [
        "somon_load_latency_p99",
        "somon_memory_usage_percent",
        "somon_cpu_usage_percent",
    ] {
        assert!(values.contains_key(gauge), "{gauge} missing:\n{text}");
    }
    let histogram = scrape
        .samples
        .iter()
        .find(|s| s.metric == "somon_load_duration_seconds")
        .expect("a real histogram");
    match &histogram.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let inf = buckets.iter().find(|b| b.less_than.is_infinite()).unwrap();
            assert_eq!(inf.count, total as f64);
        }
        other => panic!("not a histogram: {other:?}"),
    }

    // Accept: text/plain on /metrics gives the same exposition.
    let negotiated = call(
        &state,
        axum::http::Method::GET,
        "/metrics",
        None,
        &[("accept", "text/plain;version=0.0.4")],
    )
    .await;
    assert!(negotiated.text.contains("# TYPE somon_loads_total counter"));
}
